#!/usr/bin/env python3
"""Benchmarks: our pages against a bare Flask "hello" app on the same gunicorn configuration.

    python bench/run.py [--quick] [--json FILE]

Everything runs on 127.0.0.1 in a temporary folder, for a fixed time, and stops by itself.
See bench/README.md for what is measured and how to read the figures.
"""

import argparse
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import random
import re
import selectors
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


@dataclass(frozen=True)
class Request:
    """What a connection sends again and again once it is prepared."""

    method: str
    path: str
    form: dict | None = None
    headers: dict = field(default_factory=dict)


def prep_catalogue(c: Client) -> Request:
    return Request("GET", "/")


def prep_question(c: Client) -> Request:
    public_id, _ = _start(c)
    return Request("GET", f"/attempts/{public_id}?q=1")


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
            return Request("POST", f"/attempts/{public_id}/answers", form, headers)
    raise RuntimeError(f"no single-choice question in {QUIZ}")


def prep_result(c: Client):
    public_id, token = _start(c)
    status, text, _ = c.post(f"/attempts/{public_id}/finish", {"csrf_token": token, "confirm": "1"})
    if status >= 400:
        raise RuntimeError(f"finish: HTTP {status}: {text[:200]}")
    path = f"/attempts/{public_id}/result"
    expect(*c.get(path)[:2], "result page")
    return Request("GET", path)


def sign_in(c: Client):
    page = expect(*c.get("/login")[:2], "login page")
    email, password = REVIEWER
    form = {"csrf_token": csrf(page), "email": email, "password": password}
    status, text, _ = c.post("/login", form)
    if status != 303:
        raise RuntimeError(f"sign in: HTTP {status}: {text[:200]}")


def prep_dashboard(c: Client) -> Request:
    sign_in(c)
    return Request("GET", "/dashboard/")


def prep_analytics(c: Client) -> Request:
    sign_in(c)
    return Request("GET", f"/dashboard/quizzes/{QUIZ}")


# (name, preparation, who): candidates arrive in crowds (an invitation sent to 2,000 people),
# reviewers are a few people at a time, so their pages are measured with fewer connections.
SCENARIOS = [
    ("catalogue", prep_catalogue, "candidates"),
    ("question page", prep_question, "candidates"),
    ("answer (htmx)", prep_answer, "candidates"),
    ("result page", prep_result, "candidates"),
    ("dashboard", prep_dashboard, "reviewers"),
    ("analytics", prep_analytics, "reviewers"),
]


# ---------------------------------------------------------------- load generator


@dataclass
class Result:
    name: str
    engine: str
    connections: int = 0
    cpu_ms: float = 0.0  # the server workers' CPU time per measured request
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


class Wire:
    """One connection of the measured loop: a non-blocking keep-alive socket, the request's
    bytes built once (again when the server changes a cookie) and just enough parsing to read
    the status, the cookies and the body. http.client parses every response's headers with the
    email package: as the load generator shares the 2 CPUs with the servers, its own cost per
    request must be small next to the cheapest request measured (the baseline's)."""

    def __init__(self, port: int, request: Request, cookies: dict):
        self.port, self.request, self.cookies = port, request, dict(cookies)
        self.sock = None
        self.data = b""
        self.buf = b""
        self.sent_at = 0.0  # when the request in flight was due (or sent)
        self.must_close = False  # the server said Connection: close
        self._build()

    def _build(self):
        r = self.request
        headers = {"Host": f"{HOST}:{self.port}", **r.headers}
        body = b""
        if r.form is not None:
            body = urllib.parse.urlencode(r.form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Content-Length"] = str(len(body))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        lines = [f"{r.method} {r.path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        self.data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def send(self, due: float):
        """Send the request (connecting first if needed); the latency will count from `due`."""
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.setblocking(False)
        self.sent_at, self.buf = due, b""
        self.sock.sendall(self.data)  # a few hundred bytes: the socket buffer takes them

    def feed(self) -> int | None:
        """Read what arrived; the status once the whole response is in, else None."""
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        length, close, cookies = None, False, {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                cookies[key] = val
            elif name == "connection":
                close = value.lower() == "close"
        if length is None:
            raise http.client.HTTPException("a response without Content-Length")
        if len(self.buf) < end + 4 + length:
            return None
        if any(self.cookies.get(k) != v for k, v in cookies.items()):
            self.cookies.update(cookies)
            self._build()
        self.must_close = close
        return int(lines[0].split(" ", 2)[1])

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


GENERATORS = 2  # load generator processes (the machine has 2 cores)
# 2,000 invited candidates at once, each answering a question every 20 seconds.
PACED_RATE = 100


def _prepare(port, prepare, failures) -> Wire | None:
    """One connection's own state (an attempt, a sign-in), made with http.client."""
    client = Client(port)
    try:
        return Wire(port, prepare(client), client.cookies)
    except Exception as e:  # noqa: BLE001  (reported, the run goes on)
        failures.append(f"{type(e).__name__}: {e}")
        return None
    finally:
        client.close()


def _drive(wires: list[Wire], start: float, duration: float, interval: float | None) -> dict:
    """Send on every connection from one thread (a selector loop, like wrk): back to back, or
    each every `interval` seconds (latency then counts from the planned send time, so a late
    server is not excused by the requests it delayed). Requests due before `start` are the
    warm-up and are not counted."""
    deadline = start + duration
    latencies, statuses = [], {}
    selector = selectors.DefaultSelector()
    now = time.perf_counter()
    # Paced connections start spread over one interval.
    due = {w: now + (random.random() * interval if interval else 0.0) for w in wires}
    waiting: set[Wire] = set(wires)  # connections with no request in flight

    def record(w: Wire, status, at: float):
        if w.sent_at >= start:
            latencies.append(at - w.sent_at)
            statuses[status] = statuses.get(status, 0) + 1
        if w.sock is not None:
            selector.unregister(w.sock)
            if w.must_close or not ok(status):
                w.close()  # a new connection for the next request
        waiting.add(w)
        due[w] = max(at, w.sent_at + interval) if interval else at

    last = now
    while waiting or selector.get_map():
        now = time.perf_counter()
        for w in [w for w in waiting if due[w] <= now]:
            waiting.discard(w)
            if due[w] >= deadline:
                continue  # this connection is done
            try:
                w.send(due[w])
                selector.register(w.sock, selectors.EVENT_READ, w)
            except OSError as e:
                w.close()
                record(w, type(e).__name__, time.perf_counter())
        if not selector.get_map():
            pending = [due[w] for w in waiting if due[w] < deadline]
            if not pending:
                break
            time.sleep(max(0.0, min(pending) - time.perf_counter()))
            continue
        pending = [due[w] for w in waiting if due[w] < deadline]
        timeout = max(0.0, min(pending) - time.perf_counter()) if pending else 30.0
        for key, _ in selector.select(timeout):
            w = key.data
            try:
                status = w.feed()
            except (OSError, http.client.HTTPException, ValueError) as e:
                record(w, type(e).__name__, time.perf_counter())
                continue
            if status is not None:
                last = time.perf_counter()
                record(w, status, last)
    for w in wires:
        w.close()
    return {"latencies": latencies, "statuses": statuses, "last": last}


def _generator(port, prepare, connections, duration, interval, go, start, pipe):
    """A load generator process: prepares its share of the connections (one thread each, as
    preparing waits on the server), then drives them all from one thread."""
    failures, wires = [], []
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for wire in pool.map(lambda _: _prepare(port, prepare, failures), range(connections)):
            if wire is not None:
                wires.append(wire)
    pipe.send("ready")
    go.wait(timeout=300)
    report = _drive(wires, start.value, duration, interval)
    pipe.send({**report, "failures": failures})
    pipe.close()


def measure(server, name, engine, prepare, connections, duration, warmup=1.0, rate=None) -> Result:
    """`connections` keep-alive connections, spread over GENERATORS processes, sending requests
    back to back (or `rate` requests per second in all) for `warmup` seconds (not counted) and
    then `duration` seconds. The workers' CPU time is read when the clock starts and after the
    last request."""
    interval = connections / rate if rate else None
    port = server.port
    ctx = multiprocessing.get_context("fork")
    go, start = ctx.Event(), ctx.Value("d", 0.0)
    shares = [connections // GENERATORS + (i < connections % GENERATORS) for i in range(GENERATORS)]
    procs, pipes = [], []
    for share in filter(None, shares):
        ours, theirs = ctx.Pipe(duplex=False)
        args = (port, prepare, share, duration, interval, go, start, theirs)
        proc = ctx.Process(target=_generator, args=args)
        proc.start()
        theirs.close()
        procs.append(proc)
        pipes.append(ours)
    result = Result(name, engine, connections)
    try:
        for pipe in pipes:  # every connection is prepared: the clock can start
            if not pipe.poll(300) or pipe.recv() != "ready":
                raise RuntimeError("a load generator did not get ready")
        start.value = time.perf_counter() + warmup
        go.set()
        time.sleep(max(0.0, start.value - time.perf_counter()))
        cpu_before = server.workers_cpu_seconds()
        failures, last = [], start.value
        for pipe in pipes:
            if not pipe.poll(warmup + duration + 180):
                raise RuntimeError("a load generator did not report")
            report = pipe.recv()
            failures += report["failures"]
            result.latencies.extend(report["latencies"])
            last = max(last, report["last"])
            for status, count in report["statuses"].items():
                result.statuses[status] = result.statuses.get(status, 0) + count
        cpu = server.workers_cpu_seconds() - cpu_before
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    result.seconds = last - start.value
    result.cpu_ms = 1000 * cpu / len(result.latencies) if result.latencies else 0.0
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

    def workers(self) -> list[Path]:
        """The /proc folders of the worker processes (children of the master)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{self.proc.pid}\n" in status:
                found.append(entry)
        return found

    def workers_cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far."""
        total = 0
        for entry in self.workers():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / os.sysconf("SC_CLK_TCK")

    def workers_rss_mb(self) -> list[float]:
        """Resident memory of each worker process, from /proc."""
        sizes = []
        for entry in self.workers():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if "VmRSS" in fields:
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


def run_app(engine, env, folder, args, baseline_rps, results, extras):
    """Seed, load demo data, start our app, measure every scenario and the CSV export."""
    t0 = time.monotonic()
    manage(env, "init-db")
    manage(env, "seed")
    manage(env, "create-user", REVIEWER[0], "--role", "reviewer", "--password", REVIEWER[1])
    manage(env, "demo-data", "--attempts", str(args.attempts))
    print(f"  [{engine}] seeded, {args.attempts} demo attempts in {time.monotonic() - t0:.0f} s")
    server = Server("quiz:create_app()", env, folder / f"gunicorn-{engine}.log", "/healthz")
    try:
        for name, prepare, who in SCENARIOS:
            connections = args.connections if who == "candidates" else args.reviewers
            r = measure(server, name, engine, prepare, connections, args.duration)
            results.append(r)
            show(r, baseline_rps)
            if name == "answer (htmx)":
                # The same connections at a steady PACED_RATE: the latency candidates see on a
                # busy server that is not saturated (back to back, 32 connections keep 32
                # requests queued whatever the server does: p50 is at least 32 / (req/s)).
                paced = measure(
                    server, "answer, paced", engine, prepare, connections, args.duration,
                    rate=PACED_RATE,
                )  # fmt: skip
                results.append(paced)
                show(paced, baseline_rps)
        export = export_check(server)
        print(
            f"  [{engine}] CSV export of every attempt: {export['lines']} lines, "
            f"{export['mb']:.1f} MB in {export['seconds']:.1f} s, "
            f"worker memory at most {export['peak_worker_rss_mb']:.0f} MB while streaming"
        )
        rss = server.workers_rss_mb()
        print(f"  [{engine}] worker memory after the run: " + ", ".join(f"{m:.0f} MB" for m in rss))
        extras[engine] = {"csv_export": export, "worker_rss_mb": [round(m, 1) for m in rss]}
    finally:
        server.stop()


def export_check(server: Server) -> dict:
    """Download /dashboard/export/attempts.csv (every attempt) as a reviewer, reading it as it
    streams, while another thread samples the workers' resident memory every 20 ms."""
    client = Client(server.port)
    sign_in(client)
    peak, done = [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max([peak[0], *server.workers_rss_mb()])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        conn = http.client.HTTPConnection(HOST, server.port, timeout=300)
        conn.request("GET", "/dashboard/export/attempts.csv", headers={"Cookie": cookie})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"CSV export: HTTP {resp.status}")
        size = lines = 0
        while chunk := resp.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
        conn.close()
    finally:
        done.set()
        sampler.join()
        client.close()
    return {
        "lines": lines,
        "mb": round(size / 1e6, 2),
        "seconds": round(time.perf_counter() - started, 2),
        "peak_worker_rss_mb": round(peak[0], 1),
    }


# ---------------------------------------------------------------- output

COLUMNS = (
    f"{'scenario':<16} {'engine':<18} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    f" {'ratio':>6} {'cpu ms':>7} {'errors':>7}"
)


def row(r: Result, baseline_rps: float) -> str:
    ratio = r.rps / baseline_rps if baseline_rps else 0.0
    mark = " !" if r.errors or r.failure else ""
    return (
        f"{r.name:<16} {r.engine:<18} {r.connections:>5} {r.rps:>8.0f} {r.pct(0.50):>8.1f}"
        f" {r.pct(0.99):>8.1f} {ratio:>6.2f} {r.cpu_ms:>7.2f} {r.errors:>7}{mark}"
    )


def show(r: Result, baseline_rps: float):
    print("  " + row(r, baseline_rps), flush=True)
    if r.failure:
        print(f"    ! {r.failure}")
    if r.errors:
        bad = {s: n for s, n in r.statuses.items() if not ok(s)}
        print(f"    ! {r.errors} errors (non-2xx or connection failures): {bad}")


def targets(results: list[Result], baseline_rps: float, extras: dict) -> list[tuple[bool, str]]:
    """The issue's targets for this machine, each with the figure it was judged on."""
    found = {(r.name, r.engine): r for r in results}
    checks = []

    def ratio_at_least(name, engine, low, p99=None):
        r = found.get((name, engine))
        if r is None:
            return
        ratio = r.rps / baseline_rps if baseline_rps else 0.0
        good = ratio >= low and (p99 is None or r.pct(0.99) < p99)
        text = f"{name} on {engine}: ratio {ratio:.2f} (target >= {low:.2f})"
        if p99 is not None:
            text += f", p99 {r.pct(0.99):.0f} ms at {r.connections} connections (< {p99} ms)"
        checks.append((good, text))

    ratio_at_least("answer (htmx)", "sqlite", 0.35, p99=50)
    paced = found.get(("answer, paced", "sqlite"))
    if paced is not None:
        text = (
            f"answer on sqlite at a steady {PACED_RATE} req/s: p99 "
            f"{paced.pct(0.99):.0f} ms at {paced.connections} connections (< 50 ms)"
        )
        checks.append((paced.pct(0.99) < 50, text))
    ratio_at_least("catalogue", "sqlite", 0.50)
    ratio_at_least("question page", "sqlite", 0.50)
    for (name, engine), r in found.items():
        if name in ("dashboard", "analytics"):
            good = r.pct(0.99) < 250
            text = f"{name} on {engine}: p50 {r.pct(0.5):.0f} ms, p99 {r.pct(0.99):.0f} ms (< 250)"
            checks.append((good, text))
    for engine, extra in extras.items():
        peak = extra["csv_export"]["peak_worker_rss_mb"]
        checks.append((peak < 100, f"CSV export on {engine}: worker at most {peak:.0f} MB (< 100)"))
        most = max(extra["worker_rss_mb"], default=0)
        checks.append((most < 100, f"worker memory after the run on {engine}: {most:.0f} MB"))
    return checks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 8 connections")
    parser.add_argument("--only", choices=["sqlite", "postgresql+redis"], help="one engine only")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # progress lines show up in CI logs at once
    # seconds per scenario, candidate connections, reviewer connections, demo attempts
    quick, full = (3, 8, 2, 5000), (10, 32, 4, 100_000)
    args.duration, args.connections, args.reviewers, args.attempts = quick if args.quick else full
    started = time.monotonic()
    print(
        f"bench: {args.connections} candidate / {args.reviewers} reviewer connections, "
        f"{args.duration} s per scenario after 1 s of warm-up, "
        f"{args.attempts} demo attempts, "
        f"gunicorn -c {CONFIG.relative_to(ROOT)} --workers 2 --threads 4",
        flush=True,
    )

    folder = Path(tempfile.mkdtemp(prefix="quiz-bench-"))
    results: list[Result] = []
    extras: dict = {}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
    base_env.update(PYTHONUNBUFFERED="1", QUIZ_RATELIMIT_ENABLED="false")
    base_env.pop("WEB_CONCURRENCY", None)
    base_env.pop("GUNICORN_CMD_ARGS", None)
    try:
        (folder / "hello.py").write_text(HELLO)
        server = Server("hello:app", base_env, folder / "gunicorn-hello.log", "/", str(folder))
        # Flask's ceiling: the best of three connection counts. One measurement of the cheapest
        # request is fragile: the first after the server starts came out at ~945 req/s in two
        # runs (once at 32 connections, once at 8) against 2,200-2,500 for the others; taking
        # it alone as the baseline made our catalogue "1.46 times Flask".
        hello = []
        try:
            for n in (args.connections // 4, args.connections // 2, args.connections):
                hello.append(measure(server, "flask hello", "-", prep_catalogue, n, args.duration))
        finally:
            server.stop()
        baseline_rps = max(r.rps for r in hello)
        results.extend(hello)
        print("  " + COLUMNS)
        for r in hello:
            show(r, baseline_rps)

        if args.only != "postgresql+redis":
            env = dict(base_env, QUIZ_INSTANCE_PATH=str(folder / "sqlite"))
            run_app("sqlite", env, folder, args, baseline_rps, results, extras)

        down = postgres_redis_down()
        if args.only == "sqlite":
            pass
        elif down:
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
                run_app("postgresql+redis", env, folder, args, baseline_rps, results, extras)
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
    checks = targets(results, baseline_rps, extras)
    print(
        "\ntargets"
        + (
            " (--quick: smaller data and fewer connections than the targets assume)"
            if args.quick
            else ""
        )
        + ":"
    )
    for good, text in checks:
        print(f"  {'met   ' if good else 'MISSED'} {text}")
    if args.json:
        payload = {
            "baseline_rps": round(baseline_rps, 1),
            "connections": args.connections,
            "reviewer_connections": args.reviewers,
            "seconds": args.duration,
            "demo_attempts": args.attempts,
            "results": [
                {
                    "name": r.name,
                    "engine": r.engine,
                    "connections": r.connections,
                    "rps": round(r.rps, 1),
                    "p50_ms": round(r.pct(0.50), 2),
                    "p99_ms": round(r.pct(0.99), 2),
                    "ratio": round(r.rps / baseline_rps, 3) if baseline_rps else 0.0,
                    "cpu_ms_per_request": round(r.cpu_ms, 3),
                    "errors": r.errors + (1 if r.failure else 0),
                }
                for r in results
            ],
            "engines": extras,
            "targets": [{"met": good, "check": text} for good, text in checks],
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    failed = any(r.errors or r.failure for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
