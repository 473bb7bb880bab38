"""64 candidates answering at once on SQLite behind gunicorn (several worker processes):
no "database is locked", and every acknowledged answer is in the database."""

import http.client
import http.cookiejar
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path

import pytest
from browser import free_port

ROOT = Path(__file__).resolve().parent.parent
TEST_BANK = Path(__file__).parent / "data" / "bank"
CANDIDATES = 64
RUN_LIMIT = 240  # seconds for the whole load run: a hang fails instead of blocking CI


class Server:
    """gunicorn serving the app from a fresh instance folder (tables created, bank seeded)."""

    def __init__(self, tmp: Path, workers: int = 2, threads: int = 4, **env):
        self.instance = tmp / "instance"
        self.log_path = tmp / "gunicorn.log"
        self.workers, self.threads = workers, threads
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
        self.env.update(QUIZ_INSTANCE_PATH=str(self.instance), QUIZ_BANK_DIR=str(TEST_BANK))
        self.env.update(env)
        for command in ("init-db", "seed"):
            self.manage(command)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.start()

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--no-control-socket",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--graceful-timeout",
                "5",
                "--bind",
                f"127.0.0.1:{self.port}",
                "quiz:create_app()",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log())
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                if len(self.worker_pids()) == self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer in time:\n" + self.log())

    def worker_pids(self) -> list[int]:
        """The master's children (gunicorn's workers)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.instance / "quiz.sqlite3", timeout=30) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is an answer to read, not to follow


class Browser:
    """One candidate's browser: a cookie jar, urllib, no redirects followed."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | list | None = None, headers=None, timeout=60):
        """(status, headers, body); a dropped connection raises OSError."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read().decode(errors="replace")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def answer_form(html: str, text: str, nav: str = "next") -> list[tuple[str, str]]:
    """The fields a person would send from a question page: hidden fields, the first choice
    (or every item in the shown order, or `text`), and the navigation button."""
    form = re.search(r'<form method="post" action="[^"]*/answers".*?</form>', html, re.S).group(0)
    fields = [
        (name, unescape(value))
        for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)
    ]
    choice = re.search(r'name="(choices?)" value="([^"]+)"', form)
    orders = re.findall(r'name="(order-[^"]+)"', form)
    if choice:
        fields.append(choice.groups())
    elif orders:
        fields += [(name, str(rank)) for rank, name in enumerate(orders, 1)]
    elif 'name="text"' in form:
        fields.append(("text", text))
    fields.append(("nav", nav))
    return fields


def take_quiz(base: str, i: int, slug: str = "basics", retries: int = 0):
    """One candidate: start, then answer every question. Returns (public id or None,
    acknowledged answers as (question id, text sent), failures). With `retries`, a dropped
    connection or a 5xx is retried like a person pressing the button again; a request that
    still fails is a failure, and the candidate goes on to the next question if it can."""
    browser = Browser(base)
    acked, failures = [], []

    def call(path, data=None):
        for attempt in range(retries + 1):
            try:
                status, headers, body = browser.request(path, data)
            except (OSError, http.client.HTTPException) as e:  # the worker died under it
                failures.append(f"{path}: {type(e).__name__}")
            else:
                if status < 500:
                    return status, headers, body
                failures.append(f"{path}: {status}")
            if attempt < retries:
                time.sleep(0.2)
        return None, None, ""

    _, _, page = call(f"/quizzes/{slug}")
    status, headers, _ = call(f"/quizzes/{slug}/start", {"csrf_token": csrf_of(page)})
    if status != 303:
        return None, acked, failures + [f"start: {status}"]
    pid = re.search(r"/attempts/([^?]+)", headers["Location"]).group(1)
    n = total = 1
    while n <= total:
        status, _, page = call(f"/attempts/{pid}?q={n}")
        if status != 200:
            return pid, acked, failures + [f"question {n}: {status}"]
        total = int(re.search(r"Question \d+ of (\d+)", page).group(1))
        text = f"candidate {i} answer {n}"
        fields = answer_form(page, text, "next" if n < total else "review")
        status, headers, _ = call(f"/attempts/{pid}/answers", fields)
        if status == 303:  # acknowledged: the server says it is saved
            acked.append((int(dict(fields)["question"]), text if ("text", text) in fields else ""))
        elif status is not None:
            failures.append(f"answer {n}: {status}")
        n += 1
    return pid, acked, failures


def stored_answers(server: Server, pid: str) -> dict[int, str | None]:
    rows = server.query(
        "SELECT answer.question_id, answer.response FROM answer "
        "JOIN attempt ON attempt.id = answer.attempt_id "
        "WHERE attempt.public_id = ? AND answer.response IS NOT NULL",
        (pid,),
    )
    return dict(rows)


def check_all_stored(server: Server, results) -> tuple[int, int]:
    """Every acknowledged answer is in the database, text answers with their exact text.
    Returns (acknowledged, stored)."""
    acknowledged = stored = 0
    for pid, acked, _ in results:
        rows = stored_answers(server, pid) if pid else {}
        for qid, text in acked:
            acknowledged += 1
            assert qid in rows, f"acknowledged answer to question {qid} of {pid} is missing"
            if text:
                assert f'"text":"{text}"' in rows[qid], rows[qid]
        stored += len(rows)
    return acknowledged, stored


def test_64_concurrent_candidates_lose_nothing(server):
    assert len(server.worker_pids()) >= 2
    started = time.monotonic()
    barrier = threading.Barrier(CANDIDATES)

    def candidate(i):
        barrier.wait(timeout=60)  # everyone starts together
        return take_quiz(server.url, i)

    with ThreadPoolExecutor(max_workers=CANDIDATES) as pool:
        futures = [pool.submit(candidate, i) for i in range(CANDIDATES)]
        results = [f.result(timeout=RUN_LIMIT) for f in futures]
    elapsed = time.monotonic() - started
    failures = [f for _, _, fs in results for f in fs]
    acknowledged, stored = check_all_stored(server, results)
    log = server.log()
    print(
        f"\n{CANDIDATES} candidates, {server.workers} workers x {server.threads} threads: "
        f"{acknowledged} answers acknowledged, {stored} stored, {len(failures)} errors, "
        f"{elapsed:.1f} s"
    )
    assert not failures, failures[:5]
    assert acknowledged == CANDIDATES * 6 == stored
    assert "database is locked" not in log.lower()
    assert "Traceback" not in log
