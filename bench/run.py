#!/usr/bin/env python3
"""Benchmarks: our pages against a bare Flask "hello" app on the same gunicorn configuration.

    python bench/run.py [--quick] [--json FILE]

Everything runs on 127.0.0.1 in a temporary folder, for a fixed time, and stops by itself.
See bench/README.md for what is measured and how to read the figures.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
HOST = "127.0.0.1"
PG_URL = "postgresql+pool://postgres@127.0.0.1:5432/{name}"
REDIS_URL = "redis://127.0.0.1:6379/11"
QUIZ = "junior-flask"
REVIEWER = ("rev@example.com", "bench-reviewer-password-1")
HELLO = """from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
"""

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="(q|question|shown)" value="([^"]*)"')
CHOICE = re.compile(r'<input type="radio" name="choice" value="([^"]+)"')


# ---------------------------------------------------------------- HTTP client with cookies


class Client:
    """One keep-alive connection to 127.0.0.1 with its own cookies (one browser)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, form=None, headers=None):
        """(status, body text, response headers); reconnects once if the server closed."""
        body = urllib.parse.urlencode(form, doseq=True) if form is not None else None
        hdrs = dict(headers or {})
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for retry in (True, False):
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if not retry:
                    raise
        for header in resp.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return resp.status, data.decode("utf-8", "replace"), resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        return self.request("POST", path, form=form, **kw)

    def follow(self, status, resp):
        """GET the redirect target (preparation steps only)."""
        if status not in (301, 302, 303):
            raise RuntimeError(f"expected a redirect, got {status}")
        location = urllib.parse.urlsplit(resp.getheader("Location"))
        path = location.path + (f"?{location.query}" if location.query else "")
        return self.get(path)

    def close(self):
        self.conn.close()


def expect(status, text, what):
    if not 200 <= status < 300:
        raise RuntimeError(f"{what}: HTTP {status}: {text[:200]}")
    return text


def csrf(text: str) -> str:
    found = CSRF.search(text)
    if not found:
        raise RuntimeError("no csrf_token in the page")
    return found.group(1)


# ---------------------------------------------------------------- scenarios


def _start(c: Client) -> tuple[str, str]:
    page = expect(*c.get(f"/quizzes/{QUIZ}")[:2], "quiz page")
    status, text, resp = c.post(f"/quizzes/{QUIZ}/start", {"csrf_token": csrf(page)})
    if status != 303:
        raise RuntimeError(f"start: HTTP {status}: {text[:200]}")
    public_id = urllib.parse.urlsplit(resp.getheader("Location")).path.rsplit("/", 1)[-1]
    status, text, _ = c.get(f"/attempts/{public_id}?q=1")
    return public_id, csrf(expect(status, text, "first question"))


def prep_catalogue(c: Client):
    return lambda: c.get("/")


def prep_question(c: Client):
    public_id, _ = _start(c)
    path = f"/attempts/{public_id}?q=1"
    return lambda: c.get(path)


def prep_answer(c: Client):
    """Find a single-choice question of a fresh attempt; re-save the same answer (nav=stay)."""
    public_id, token = _start(c)
    for n in range(1, 100):
        status, text, _ = c.get(f"/attempts/{public_id}?q={n}")
        if status == 404:
            break
        choices = CHOICE.findall(expect(status, text, f"question {n}"))
        if choices:
            form = dict(HIDDEN.findall(text))
            form.update(csrf_token=token, nav="stay", choice=choices[0])
            headers = {
                "HX-Request": "true",
                "HX-Current-URL": f"http://{HOST}:{c.port}/attempts/{public_id}?q={n}",
                "HX-Target": "question",
                "X-CSRFToken": token,
            }
            path = f"/attempts/{public_id}/answers"
            return lambda: c.post(path, form, headers=headers)
    raise RuntimeError(f"no single-choice question in {QUIZ}")


def prep_result(c: Client):
    public_id, token = _start(c)
    status, text, _ = c.post(f"/attempts/{public_id}/finish", {"csrf_token": token, "confirm": "1"})
    if status >= 400:
        raise RuntimeError(f"finish: HTTP {status}: {text[:200]}")
    path = f"/attempts/{public_id}/result"
    expect(*c.get(path)[:2], "result page")
    return lambda: c.get(path)


def sign_in(c: Client):
    page = expect(*c.get("/login")[:2], "login page")
    email, password = REVIEWER
    form = {"csrf_token": csrf(page), "email": email, "password": password}
    status, text, _ = c.post("/login", form)
    if status != 303:
        raise RuntimeError(f"sign in: HTTP {status}: {text[:200]}")


def prep_dashboard(c: Client):
    sign_in(c)
    return lambda: c.get("/dashboard/")


def prep_analytics(c: Client):
    sign_in(c)
    path = f"/dashboard/quizzes/{QUIZ}"
    return lambda: c.get(path)


SCENARIOS = [
    ("catalogue", prep_catalogue),
    ("question page", prep_question),
    ("answer (htmx)", prep_answer),
    ("result page", prep_result),
    ("dashboard", prep_dashboard),
    ("analytics", prep_analytics),
]


# ---------------------------------------------------------------- load generator


@dataclass
class Result:
    name: str
    engine: str
    latencies: list = field(default_factory=list)
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0
    failure: str | None = None

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        data = sorted(self.latencies)
        if not data:
            return 0.0
        return data[min(len(data) - 1, max(0, round(p * len(data)) - 1))] * 1000


def ok(status) -> bool:
    """A 2xx response (connection failures are recorded by exception name)."""
    return isinstance(status, int) and 200 <= status < 300


def measure(name, engine, port, prepare, connections, duration) -> Result:
    """`connections` threads, each with its own keep-alive connection, for `duration` seconds."""
    result = Result(name, engine)
    lock = threading.Lock()
    box = {}
    # The clock starts when every connection is prepared (the barrier's action runs once).
    ready = threading.Barrier(connections + 1, action=lambda: box.update(start=time.perf_counter()))
    failures = []

    def worker():
        client = Client(port)
        try:
            try:
                send = prepare(client)
            except Exception as e:  # noqa: BLE001  (reported, the run goes on)
                failures.append(f"{type(e).__name__}: {e}")
                send = None
            ready.wait()
            if send is None:
                return
            deadline = box["start"] + duration
            latencies, statuses = [], {}
            now = time.perf_counter()
            while now < deadline:
                try:
                    status = send()[0]
                except (OSError, http.client.HTTPException) as e:
                    status = type(e).__name__
                    client.close()
                end = time.perf_counter()
                latencies.append(end - now)
                statuses[status] = statuses.get(status, 0) + 1
                now = end
            with lock:
                result.latencies.extend(latencies)
                for status, count in statuses.items():
                    result.statuses[status] = result.statuses.get(status, 0) + count
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    ready.wait(timeout=300)
    for t in threads:
        t.join(timeout=duration + 60)
    result.seconds = time.perf_counter() - box["start"]
    result.errors = sum(n for s, n in result.statuses.items() if not ok(s))
    if failures:
        result.failure = (
            f"{len(failures)} of {connections} connections failed to prepare: {failures[0]}"
        )
    return result


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with deploy/gunicorn.conf.py, 2 workers x 4 threads, on a free port."""

    def __init__(self, app: str, env: dict, log: Path, health: str, pythonpath: str | None = None):
        self.port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--workers", "2"]
        cmd += ["--threads", "4", "--bind", f"{HOST}:{self.port}"]
        if pythonpath:
            cmd += ["--pythonpath", pythonpath]
        cmd.append(app)
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait(health)

    def _wait(self, path: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{path} did not answer 200 within {timeout:.0f} s; see {self.log}")

    def workers_rss_mb(self) -> list[float]:
        """Resident memory of each worker process (children of the master), from /proc."""
        sizes = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(self.proc.pid) and "VmRSS" in fields:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
        return sizes

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the master, by PID; it stops its workers
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def manage(env: dict, *args: str):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


# ---------------------------------------------------------------- engines


def postgres_redis_down() -> str | None:
    """Why the PostgreSQL + Redis rows cannot run, or None."""
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        try:
            socket.create_connection((HOST, port), timeout=2).close()
        except OSError as e:
            return f"{name} is not answering on {HOST}:{port} ({e.strerror or e})"
    try:
        import psycopg2  # noqa: F401
        import redis  # noqa: F401
    except ImportError as e:
        return f"{e.name} is not installed"
    return None


def pg_admin(sql: str):
    import psycopg2

    conn = psycopg2.connect(host=HOST, port=5432, user="postgres", dbname="postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def run_app(engine, env, folder, args, baseline_rps, results):
    """Seed, load demo data, start our app and measure every scenario."""
    t0 = time.monotonic()
    manage(env, "init-db")
    manage(env, "seed")
    manage(env, "create-user", REVIEWER[0], "--role", "reviewer", "--password", REVIEWER[1])
    manage(env, "demo-data", "--attempts", str(args.attempts))
    print(f"  [{engine}] seeded, {args.attempts} demo attempts in {time.monotonic() - t0:.0f} s")
    server = Server("quiz:create_app()", env, folder / f"gunicorn-{engine}.log", "/healthz")
    try:
        for name, prepare in SCENARIOS:
            r = measure(name, engine, server.port, prepare, args.connections, args.duration)
            results.append(r)
            show(r, baseline_rps)
        rss = server.workers_rss_mb()
        print(f"  [{engine}] worker memory after the run: " + ", ".join(f"{m:.0f} MB" for m in rss))
    finally:
        server.stop()


# ---------------------------------------------------------------- output

COLUMNS = (
    f"{'scenario':<16} {'engine':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    f" {'ratio':>6} {'errors':>7}"
)


def row(r: Result, baseline_rps: float) -> str:
    ratio = r.rps / baseline_rps if baseline_rps else 0.0
    mark = " !" if r.errors or r.failure else ""
    return (
        f"{r.name:<16} {r.engine:<18} {r.rps:>8.0f} {r.pct(0.50):>8.1f} {r.pct(0.99):>8.1f}"
        f" {ratio:>6.2f} {r.errors:>7}{mark}"
    )


def show(r: Result, baseline_rps: float):
    print("  " + row(r, baseline_rps), flush=True)
    if r.failure:
        print(f"    ! {r.failure}")
    if r.errors:
        bad = {s: n for s, n in r.statuses.items() if not ok(s)}
        print(f"    ! {r.errors} errors (non-2xx or connection failures): {bad}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 8 connections")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress lines show up in CI logs at once
    quick, full = (3, 8, 5000), (10, 16, 100_000)  # seconds, connections, demo attempts
    args.duration, args.connections, args.attempts = quick if args.quick else full
    started = time.monotonic()
    print(
        f"bench: {args.connections} connections, {args.duration} s per scenario, "
        f"{args.attempts} demo attempts, "
        f"gunicorn -c {CONFIG.relative_to(ROOT)} --workers 2 --threads 4",
        flush=True,
    )

    folder = Path(tempfile.mkdtemp(prefix="quiz-bench-"))
    results: list[Result] = []
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
    base_env.update(PYTHONUNBUFFERED="1", QUIZ_RATELIMIT_ENABLED="false")
    base_env.pop("WEB_CONCURRENCY", None)
    base_env.pop("GUNICORN_CMD_ARGS", None)
    try:
        (folder / "hello.py").write_text(HELLO)
        server = Server("hello:app", base_env, folder / "gunicorn-hello.log", "/", str(folder))
        try:
            baseline = measure(
                "flask hello", "-", server.port, prep_catalogue, args.connections, args.duration
            )
        finally:
            server.stop()
        baseline_rps = baseline.rps
        results.append(baseline)
        print("  " + COLUMNS)
        show(baseline, baseline_rps)

        env = dict(base_env, QUIZ_INSTANCE_PATH=str(folder / "sqlite"))
        run_app("sqlite", env, folder, args, baseline_rps, results)

        down = postgres_redis_down()
        if down:
            print(f"  [postgresql+redis] SKIPPED: {down}")
        else:
            db = f"quiz_bench_{os.getpid()}"
            pg_admin(f"CREATE DATABASE {db}")
            try:
                env = dict(
                    base_env,
                    QUIZ_INSTANCE_PATH=str(folder / "postgresql"),
                    QUIZ_DATABASE_URL=PG_URL.format(name=db),
                    QUIZ_REDIS_URL=REDIS_URL,
                )
                run_app("postgresql+redis", env, folder, args, baseline_rps, results)
            finally:
                pg_admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
                import redis

                redis.Redis.from_url(REDIS_URL).flushdb()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print()
    print(COLUMNS)
    for r in results:
        print(row(r, baseline_rps))
    elapsed = time.monotonic() - started
    print(f"(ratio = req/s over the baseline's; ! = errors; total {elapsed:.0f} s)")
    if args.json:
        payload = {
            "baseline_rps": round(baseline_rps, 1),
            "connections": args.connections,
            "seconds": args.duration,
            "demo_attempts": args.attempts,
            "results": [
                {
                    "name": r.name,
                    "engine": r.engine,
                    "rps": round(r.rps, 1),
                    "p50_ms": round(r.pct(0.50), 2),
                    "p99_ms": round(r.pct(0.99), 2),
                    "ratio": round(r.rps / baseline_rps, 3) if baseline_rps else 0.0,
                    "errors": r.errors + (1 if r.failure else 0),
                }
                for r in results
            ],
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    failed = any(r.errors or r.failure for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
