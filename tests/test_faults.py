"""Faults: a worker killed with SIGKILL, a server restart, the database unreachable or
read-only, Redis down, and the same answer sent twice. Nothing acknowledged is lost, and the
app recovers by itself."""

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser import free_port
from conftest import HX, Candidate, choice_id, make_app, question_id
from test_auth import login, make_user
from test_reliability import Browser, Server, answer_form, check_all_stored, csrf_of, take_quiz

from quiz import create_app
from quiz.db import close_all
from quiz.models import Answer, Attempt

UNAVAILABLE = "Temporarily unavailable"


def assert_503_page(r, fragment: bool = False):
    body = r.get_data(as_text=True)
    assert r.status_code == 503, (r.status_code, body[:500])
    assert UNAVAILABLE in body and "try again in a moment" in body
    assert "Traceback" not in body and "Error" not in body.split("Error 503")[0][-200:]
    assert ("<html" in body) is not fragment
    assert r.headers.get("Retry-After")


def storage_log_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "storage unavailable" in r.getMessage()]


# A worker killed with SIGKILL -------------------------------------------------------------


def test_a_killed_worker_loses_no_acknowledged_answer(tmp_path):
    server = Server(tmp_path, workers=2, threads=2)
    try:
        kills, done = [], threading.Event()
        expected = 24 * (6 + 3)  # basics has six questions, "draw" one per level

        def killer():
            # Kill a worker when a quarter, then two thirds, of the answers are in: always
            # in the middle of the run, however fast the machine is.
            for share in (0.25, 0.66):
                while server.query("SELECT COUNT(*) FROM answer")[0][0] < share * expected:
                    if done.wait(0.02):
                        return
                pids = server.worker_pids()
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    kills.append(pids[0])

        def candidate(i):
            # Two quizzes each, retrying a dropped request like a person pressing again.
            return [take_quiz(server.url, i, slug, retries=8) for slug in ("basics", "draw")]

        thread = threading.Thread(target=killer)
        thread.start()
        with ThreadPoolExecutor(max_workers=24) as pool:
            results = [r for rs in pool.map(candidate, range(24)) for r in rs]
        done.set()
        thread.join()
        acknowledged, stored = check_all_stored(server, results)
        dropped = [f for _, _, fs in results for f in fs]
        print(
            f"\nkilled workers {kills}; {acknowledged} answers acknowledged, {stored} stored, "
            f"{len(dropped)} requests dropped and retried"
        )
        assert len(kills) >= 2, "the run ended before the workers were killed"
        assert all(len(acked) >= 1 for _, acked, _ in results)  # everyone carried on
        assert acknowledged == stored == expected
        assert "database is locked" not in server.log().lower()
        # Every attempt is whole: each question answered once, nothing duplicated.
        assert server.query(
            "SELECT COUNT(*) FROM (SELECT attempt_id, question_id, COUNT(*) AS n FROM answer "
            "GROUP BY attempt_id, question_id HAVING n > 1)"
        ) == [(0,)]
        assert "signal 9" in server.log() or "SIGKILL" in server.log()
    finally:
        server.stop()


# A restart in the middle of an attempt ----------------------------------------------------


def time_left(html: str) -> int:
    minutes, seconds = re.search(r"Time left: <time[^>]*>(\d+):(\d\d)</time>", html).groups()
    return int(minutes) * 60 + int(seconds)


def test_restart_mid_attempt_resumes_at_the_same_question_with_the_servers_time(tmp_path):
    server = Server(tmp_path, workers=2, threads=2)
    try:
        browser = Browser(server.url)
        _, _, page = browser.request("/quizzes/timed")
        status, headers, _ = browser.request("/quizzes/timed/start", {"csrf_token": csrf_of(page)})
        pid = re.search(r"/attempts/([^?]+)", headers["Location"]).group(1)
        _, _, page = browser.request(f"/attempts/{pid}?q=1")
        status, _, _ = browser.request(f"/attempts/{pid}/answers", answer_form(page, "x"))
        assert status == 303
        _, _, page = browser.request(f"/attempts/{pid}")
        assert "Question 2 of 2" in page
        left_before, stopped = time_left(page), time.time()

        server.stop()
        time.sleep(2.5)
        server.start()

        status, _, page = browser.request(f"/attempts/{pid}")  # no ?q=: where they were
        assert status == 200 and "Question 2 of 2" in page
        left_after = time_left(page)
        assert left_after <= left_before - 2  # the clock kept running while it was down
        [(deadline,)] = server.query("SELECT deadline FROM attempt WHERE public_id = ?", (pid,))
        from_server_clock = (
            time.mktime(time.strptime(deadline[:19], "%Y-%m-%d %H:%M:%S")) - time.timezone
        ) - time.time()
        assert abs(left_after - from_server_clock) <= 2
        assert time.time() - stopped >= 2.5
        assert len(server.query("SELECT * FROM answer WHERE response IS NOT NULL")) == 1
        # ... and carries on to the end.
        fields = answer_form(page, "SECRET_KEY", nav="review")
        status, _, _ = browser.request(f"/attempts/{pid}/answers", fields)
        assert status == 303
    finally:
        server.stop()


# The database unreachable or read-only ----------------------------------------------------


@pytest.fixture
def outage_app(tmp_path):
    """The app as in production (TESTING off: errors become pages), its SQLite file in its
    own folder so the folder can vanish."""
    (tmp_path / "db").mkdir()
    app = make_app(
        tmp_path, TESTING=False, DATABASE_URL=f"sqlite+pool:///{tmp_path / 'db' / 'q.sqlite3'}"
    )
    yield app
    close_all()


def test_database_unreachable_is_a_503_and_recovers_without_a_restart(outage_app, tmp_path, caplog):
    candidate = Candidate(outage_app.test_client())
    pid = candidate.start()
    assert candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "g")).status_code
    make_user("admin@example.com")
    staff = outage_app.test_client()
    login(staff, "admin@example.com")
    # The form the candidate has on screen (read now: the test's own queries fail later).
    form = {
        "csrf_token": candidate.token,
        "q": "2",
        "question": str(question_id("t-multiple")),
        "choices": candidate.choice_token(pid, choice_id("t-multiple", "request")),
    }

    close_all()  # every pooled connection: the next request must open the file again
    (tmp_path / "db").rename(tmp_path / "db-away")
    try:
        assert_503_page(candidate.client.get(f"/attempts/{pid}?q=2"))
        assert_503_page(candidate.client.get(f"/attempts/{pid}?q=2", headers=HX), fragment=True)
        r = candidate.client.post(f"/attempts/{pid}/answers", data=form)
        assert_503_page(r)
        assert "nothing you submitted just now was saved" in r.get_data(as_text=True)
        assert_503_page(staff.get("/dashboard/"))  # signed in: the page asks no database
        assert_503_page(staff.get("/invitations", headers=HX), fragment=True)
        assert outage_app.test_client().get("/healthz").status_code == 503
    finally:
        (tmp_path / "db-away").rename(tmp_path / "db")
    records = storage_log_lines(caplog)
    assert records and all(r.exc_info is None for r in records)  # one line each, no traceback

    # Back: the very next requests work, in the same process.
    assert candidate.client.get(f"/attempts/{pid}?q=2").status_code == 200
    assert candidate.client.post(f"/attempts/{pid}/answers", data=form).status_code == 303
    assert staff.get("/dashboard/").status_code == 200
    assert Answer.select().where(Answer.response.is_null(False)).count() == 2


def make_read_only(path: Path) -> None:
    if os.geteuid() == 0:  # root ignores file modes; the immutable flag stops root too
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    else:
        path.chmod(0o444)


def make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)
    path.chmod(0o644)


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("chattr"), reason="needs chattr")
def test_read_only_database_refuses_writes_with_a_503_and_recovers(outage_app, tmp_path):
    candidate = Candidate(outage_app.test_client())
    pid = candidate.start()
    right = choice_id("t-single", "request")
    form = {"csrf_token": candidate.token, "q": "1", "question": str(question_id("t-single"))}
    form["choice"] = candidate.choice_token(pid, right)
    url = f"/attempts/{pid}/answers"
    database_file = tmp_path / "db" / "q.sqlite3"
    close_all()  # connections opened from now on find the file read-only
    make_read_only(database_file)
    try:
        assert_503_page(candidate.client.post(url, data=form))
        assert_503_page(candidate.client.post(url, data=form, headers=HX), fragment=True)
    finally:
        make_writable(database_file)
    # Writable again: no restart; the connections opened read-only were dropped.
    assert candidate.client.post(url, data=form).status_code == 303
    assert [a.response for a in Answer.select()] == [{"choice": right}]


def test_database_server_down_is_a_503_for_a_separate_app(tmp_path):
    pytest.importorskip("psycopg2")
    app = create_app(
        {
            "INSTANCE_PATH": tmp_path / "instance",
            "DATABASE_URL": f"postgresql+pool://quiz@127.0.0.1:{free_port()}/quiz",
        }
    )
    try:
        client = app.test_client()
        assert_503_page(client.get("/"))
        assert_503_page(client.get("/quizzes/basics", headers=HX), fragment=True)
        assert client.get("/healthz").status_code == 503
        api = client.get("/api/v1/attempts", headers={"Authorization": "Bearer qz_x"})
        assert api.status_code == 503 and api.is_json
    finally:
        close_all()


# Redis down while it holds the sessions ---------------------------------------------------


class RedisServer:
    """A private redis-server on a free port; append-only file so a restart keeps sessions."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        folder.mkdir(exist_ok=True)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")
def test_redis_down_is_a_503_and_recovers_when_it_returns(tmp_path, caplog):
    redis_server = RedisServer(tmp_path / "redis")
    app = make_app(
        tmp_path,
        TESTING=False,
        REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        SESSION_KEY_PREFIX="faults:",
    )
    try:
        candidate = Candidate(app.test_client())
        pid = candidate.start()
        right = str(choice_id("t-single", "request"))
        assert candidate.answer(pid, 1, "t-single", choice=right).status_code == 303

        redis_server.kill()
        assert_503_page(candidate.client.get(f"/attempts/{pid}"))
        assert_503_page(candidate.client.get(f"/attempts/{pid}", headers=HX), fragment=True)
        assert_503_page(candidate.answer(pid, 2, "t-multiple", choices=right))
        assert app.test_client().get("/healthz").status_code == 503
        assert Answer.select().count() == 1  # nothing written while the session was unknown
        records = storage_log_lines(caplog)
        assert records and all(r.exc_info is None for r in records)
        assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere

        redis_server.start()  # same port, same append-only file: the sessions come back
        page = candidate.client.get(f"/attempts/{pid}")
        assert page.status_code == 200 and "Question 2 of 6" in page.get_data(as_text=True)
        choice = str(choice_id("t-multiple", "request"))
        assert candidate.answer(pid, 2, "t-multiple", choices=choice).status_code == 303
        assert Answer.select().count() == 2
    finally:
        redis_server.kill()
        close_all()


# The same answer twice (two tabs, a retry) ------------------------------------------------


def test_the_same_answer_twice_is_one_row_and_one_result(app, candidate):
    pid = candidate.start()
    tab = Candidate(app.test_client())
    tab.client.set_cookie("quiz_session", candidate.client.get_cookie("quiz_session").value)
    tab.token = candidate.csrf()
    right = str(choice_id("t-single", "request"))
    barrier = threading.Barrier(2)

    def send(who):
        barrier.wait(timeout=10)
        return who.answer(pid, 1, "t-single", nav="stay", choice=right).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(send, (candidate, tab))) == [303, 303]
    assert candidate.answer(pid, 1, "t-single", nav="stay", choice=right).status_code == 303
    rows = list(Answer.select())
    assert len(rows) == 1 and rows[0].score == 1 and rows[0].question_id == question_id("t-single")

    barrier = threading.Barrier(2)

    def finish(who):
        barrier.wait(timeout=10)
        return who.finish(pid).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(finish, (candidate, tab))) == [303, 303]
    first = Attempt.get(Attempt.public_id == pid)
    assert candidate.finish(pid).status_code == 303  # a retry after the result was shown
    again = Attempt.get(Attempt.public_id == pid)
    assert first.status == again.status == "submitted"
    assert first.finished_at == again.finished_at and first.score == again.score == 1
    assert Answer.select().count() == 1
