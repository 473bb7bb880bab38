#!/usr/bin/env python3
"""Scan a live local copy of the app with wapiti, sqlmap and bandit; exit 1 on high findings.

The app runs under gunicorn on a free 127.0.0.1 port from a fresh instance folder (tables
created, the shipped bank seeded, an admin created). The scanners get a signed-in session that
also owns an attempt in progress, and an API token, so they reach the staff pages, the
candidate's attempt pages, the htmx endpoints and the JSON API. Nothing leaves 127.0.0.1:
wapiti's modules that use its outside endpoints or databases (ssrf, xxe, log4shell, wapp,
nikto, ...) are not run, and its automatic bug reports are off.

    .venv/bin/python security/scan.py            # about 10 minutes at most
    .venv/bin/python security/scan.py --quick    # about 3 minutes: shorter crawl and attacks

See security/README.md for installing the tools.
"""

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN = "scanner@example.com"
WAPITI_MODULES = [
    "cookieflags",
    "csp",
    "csrf",
    "http_headers",
    "methods",
    "crlf",
    "exec",
    "file",
    "sql",
    "xss",
    "permanentxss",
    "redirect",
    "upload",
]


@dataclass
class Finding:
    tool: str
    severity: str  # high | medium | low | info
    title: str
    where: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_tool(name: str) -> str | None:
    """The tool from $SCAN_VENV, .venv-scan, this Python's venv, or PATH."""
    folders = [os.environ.get("SCAN_VENV"), ROOT / ".venv-scan", Path(sys.executable).parent]
    for folder in folders:
        if folder and (Path(folder) / "bin" / name).exists():
            return str(Path(folder) / "bin" / name)
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    return shutil.which(name)


class App:
    """The app under gunicorn, on its own instance folder, with a scanner's session."""

    def __init__(self, workdir: Path):
        self.instance = workdir / "instance"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")}
        self.env["QUIZ_INSTANCE_PATH"] = str(self.instance)
        self.password = secrets.token_urlsafe(18)
        self.log_path = workdir / "server.log"
        self.manage("init-db")
        self.manage("seed")
        self.manage("create-user", ADMIN, "--role", "admin", "--password", self.password)
        self.bearer = self.api_token()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--no-control-socket",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--timeout",
                    "30",
                    "--bind",
                    f"{HOST}:{self.port}",
                    "quiz:create_app()",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait()

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout

    def api_token(self) -> str | None:
        """A bearer token for the JSON API acting as the scanner's admin (None: no API)."""
        code = (
            "from quiz import create_app\nfrom quiz.api import tokens\n"
            "from quiz.db import database\nfrom quiz.models import User\n"
            "with create_app().app_context(), database.connection_context():\n"
            f"    print(tokens.create(User.get(User.email == {ADMIN!r}), 'scanner')[1])\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        return out.stdout.strip() if out.returncode == 0 else None

    def wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("the app did not start:\n" + self.log_path.read_text())
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("the app did not answer on /healthz in 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def session(self) -> dict:
        """Sign in, start an attempt and create an invitation; returns what the scanners need."""
        jar = http.cookiejar.CookieJar()

        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), Stay())

        def call(path, data=None):
            body = urllib.parse.urlencode(data).encode() if data is not None else None
            try:
                with opener.open(self.url + path, data=body, timeout=30) as r:
                    return r.status, r.headers, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.headers, e.read().decode()

        def csrf(path):
            return re.search(r'name="csrf_token" value="([^"]+)"', call(path)[2]).group(1)

        status, _, _ = call(
            "/login", {"csrf_token": csrf("/login"), "email": ADMIN, "password": self.password}
        )
        assert status == 303, f"sign-in failed: {status}"
        token = csrf("/")
        catalogue = call("/")[2]
        slug = re.search(r'href="/quizzes/([^"/]+)"', catalogue).group(1)
        _, headers, _ = call(f"/quizzes/{slug}/start", {"csrf_token": token})
        attempt = re.search(r"/attempts/([^?]+)", headers["Location"]).group(1)
        page = call(f"/attempts/{attempt}?q=1")[2]
        question = re.search(r'name="question" value="(\d+)"', page).group(1)
        choice = re.search(r'name="choices?" value="(\d+)"', page)
        invite = {
            "csrf_token": token,
            "name": "Scan Candidate",
            "email": "candidate@example.com",
            "quiz": slug,
            "days": "7",
        }
        _, headers, _ = call("/invitations", invite)
        link_page = call(headers["Location"])[2]
        invitation = re.search(r"/i/([A-Za-z0-9_-]{20,})", link_page).group(1)
        cookie = next(c for c in jar if c.name == "quiz_session")
        return {
            "cookie": f"{cookie.name}={cookie.value}",
            "csrf": token,
            "slug": slug,
            "attempt": attempt,
            "question": question,
            "choice": choice.group(1) if choice else "1",
            "invitation": invitation,
        }


def run(argv: list[str], seconds: float, log: Path) -> int | None:
    """Run a tool for at most `seconds`; None when it had to be stopped."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent, start_new_session=True
        )
        try:
            return proc.wait(timeout=max(1, seconds))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None


def wapiti(app: App, s: dict, workdir: Path, seconds: float, quick: bool) -> list[Finding]:
    exe = find_tool("wapiti")
    if exe is None:
        return [Finding("wapiti", "high", "wapiti is not installed (see security/README.md)")]
    report = workdir / "wapiti.json"
    starts = [
        "/",
        f"/quizzes/{s['slug']}",
        f"/attempts/{s['attempt']}?q=1",
        f"/attempts/{s['attempt']}/review",
        f"/i/{s['invitation']}",
        "/invitations",
        "/dashboard/?q=a&status=in_progress",
        "/dashboard/quizzes",
        f"/dashboard/quizzes/{s['slug']}",
        "/bank/questions?q=a",
        "/bank/questions/new",
        "/bank/quizzes",
        "/bank/users",
        "/bank/api-tokens",
        "/bank/webhook",
    ]
    argv = [exe, "-u", app.url + "/", "--scope", "folder", "--flush-session"]
    argv += ["--store-session", str(workdir / "wapiti-session")]
    argv += ["--store-config", str(workdir / "wapiti-config"), "--no-bugreport"]
    argv += ["-C", s["cookie"], "-m", ",".join(WAPITI_MODULES)]
    for path in starts:
        argv += ["-s", app.url + path]
    argv += ["-x", app.url + "/logout", "-x", app.url + "/login"]
    if app.bearer:
        argv += ["--swagger", app.url + "/api/v1/openapi.json"]
        argv += ["-H", f"Authorization: Bearer {app.bearer}"]
    argv += ["--tasks", "8", "-t", "15", "-d", "3" if quick else "5"]
    # wapiti overruns its own limits a little (the attack in progress finishes, then the
    # report is written): give it 60% of the time, stop it at 100%.
    attack = max(5, int(seconds * 0.6 / (len(WAPITI_MODULES) + 1)))
    argv += ["--max-scan-time", str(int(seconds * 0.6)), "--max-attack-time", str(attack)]
    argv += ["-x", app.url + "/bank/api-tokens/*"]  # revoking the scanner's token ends the scan
    argv += ["-f", "json", "-o", str(report), "-v", "1"]
    code = run(argv, seconds, workdir / "wapiti.log")
    if not report.exists():
        return [Finding("wapiti", "high", f"no report (exit {code}); see {workdir}/wapiti.log")]
    data = json.loads(report.read_text())
    findings = []
    levels = {4: "high", 3: "high", 2: "medium", 1: "low"}
    for kind, items in data.get("vulnerabilities", {}).items():
        for v in items:
            where = f"{v.get('method')} {v.get('path')} {v.get('parameter') or ''}".strip()
            findings.append(
                Finding("wapiti", levels.get(v.get("level"), "info"), f"{kind}: {v['info']}", where)
            )
    for kind, items in data.get("anomalies", {}).items():
        for v in items:
            # The app must never answer 500; a timeout is worth a look.
            severity = "high" if "Internal Server Error" in kind else "medium"
            where = f"{v.get('method')} {v.get('path')} {v.get('parameter') or ''}".strip()
            findings.append(Finding("wapiti", severity, f"{kind}: {v['info']}", where))
    crawled = data.get("infos", {}).get("crawled_pages_nbr", 0)
    findings.append(Finding("wapiti", "info", f"{crawled} pages crawled, exit {code}"))
    return findings


def sqlmap_targets(app: App, s: dict) -> list[tuple[str, list[str]]]:
    """(name, arguments): the catalogue and quiz slugs, the attempt and its answer form, the
    htmx fragments, the staff filters and searches, the JSON API's filters."""
    u = app.url
    cookie = ["--cookie", s["cookie"]]
    hx = ["--headers", "HX-Request: true"]
    answer = (
        f"csrf_token={s['csrf']}&q=1&question={s['question']}&choice={s['choice']}"
        f"&choices={s['choice']}&text=a&nav=stay&shown=x"
    )
    targets = [
        ("quiz slug", ["-u", f"{u}/quizzes/{s['slug']}*"]),
        ("attempt page", ["-u", f"{u}/attempts/{s['attempt']}?q=1", *cookie, "-p", "q"]),
        (
            "answer form (htmx)",
            ["-u", f"{u}/attempts/{s['attempt']}/answers", "--data", answer, *cookie, *hx]
            + ["-p", "q,question,choice,choices,text,nav", "--skip", "csrf_token"],
        ),
        (
            "dashboard filters",
            ["-u", f"{u}/dashboard/?q=a&quiz={s['slug']}&status=submitted&sort=score&page=1"]
            + [*cookie, "-p", "q,quiz,status,sort,page"],
        ),
        (
            "invitations search",
            ["-u", f"{u}/invitations?q=a&status=invited&quiz={s['slug']}", *cookie],
        ),
        (
            "question bank search (htmx)",
            ["-u", f"{u}/bank/questions?q=a&topic=blueprints&level=mid", *cookie, *hx],
        ),
    ]
    if app.bearer:
        api = f"{u}/api/v1/attempts?quiz={s['slug']}&status=submitted&page=1"
        bearer = f"Authorization: Bearer {app.bearer}"
        targets.append(("API filters", ["-u", api, "--headers", bearer]))
    return targets


def sqlmap(app: App, s: dict, workdir: Path, seconds: float, quick: bool) -> list[Finding]:
    exe = find_tool("sqlmap")
    if exe is None:
        return [Finding("sqlmap", "high", "sqlmap is not installed (see security/README.md)")]
    targets = sqlmap_targets(app, s)
    findings = []
    deadline = time.monotonic() + seconds
    for i, (name, args) in enumerate(targets):
        share = (deadline - time.monotonic()) / (len(targets) - i)
        log = workdir / f"sqlmap-{i}.log"
        argv = [exe, *args, "--batch", "--disable-coloring", "--flush-session"]
        argv += ["--output-dir", str(workdir / "sqlmap"), "--threads", "4", "--timeout", "10"]
        argv += ["--retries", "1", "--technique", "BEU" if quick else "BEUT", "--time-sec", "2"]
        argv += ["--level", "1" if quick else "2", "--risk", "1"]
        code = run(argv, share, log)
        out = log.read_text(errors="replace")
        if "identified the following injection point" in out:
            findings.append(Finding("sqlmap", "high", f"SQL injection: {name}", str(log)))
        errors = re.findall(r"HTTP error codes detected during run:\s*(.*)", out)
        if any("500" in e for e in errors):
            findings.append(Finding("sqlmap", "high", f"HTTP 500 under attack: {name}", errors[0]))
        if code is None:
            findings.append(Finding("sqlmap", "info", f"{name}: stopped after {share:.0f} s"))
        elif "all tested parameters do not appear to be injectable" in out:
            findings.append(Finding("sqlmap", "info", f"{name}: not injectable"))
        else:
            last = out.strip().splitlines()[-1:] or [""]
            findings.append(Finding("sqlmap", "info", f"{name}: exit {code}", last[0][:120]))
    return findings


def bandit(workdir: Path) -> list[Finding]:
    exe = find_tool("bandit")
    if exe is None:
        return [Finding("bandit", "high", "bandit is not installed (see security/README.md)")]
    report = workdir / "bandit.json"
    run([exe, "-r", str(ROOT / "quiz"), "-q", "-f", "json", "-o", str(report)], 120, report)
    data = json.loads(report.read_text())
    findings = []
    for r in data["results"]:
        severity = r["issue_severity"].lower()
        where = f"{Path(r['filename']).relative_to(ROOT)}:{r['line_number']}"
        title = f"{r['test_id']} {r['issue_text']} (confidence {r['issue_confidence'].lower()})"
        findings.append(Finding("bandit", severity, title, where))
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 3 minutes in all")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (reports)")
    parser.add_argument("--skip", action="append", default=[], choices=["wapiti", "sqlmap"])
    args = parser.parse_args()
    budget = 180 if args.quick else 600  # seconds for the whole scan
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="quiz-scan-"))
    findings = bandit(workdir)
    app = App(workdir)
    try:
        session = app.session()
        # sqlmap first: wapiti's crawl submits every form it finds (it may finish the
        # attempt, revoke invitations, change users), sqlmap only reads and tests.
        remaining = budget - (time.monotonic() - started) - 15
        if "sqlmap" not in args.skip:
            share = remaining * (0.4 if "wapiti" not in args.skip else 1)
            findings += sqlmap(app, session, workdir, share, args.quick)
        if "wapiti" not in args.skip:
            remaining = budget - (time.monotonic() - started) - 10
            findings += wapiti(app, session, workdir, remaining, args.quick)
    finally:
        app.stop()
    server_log = app.log_path.read_text(errors="replace")
    tracebacks = server_log.count("Traceback")
    if tracebacks:
        findings.append(Finding("server", "high", f"{tracebacks} tracebacks in the server log"))

    order = {"high": 0, "medium": 1, "low": 2, "info": 3}
    print(f"\nSecurity scan of {app.url} ({time.monotonic() - started:.0f} s; work: {workdir})")
    for f in sorted(findings, key=lambda f: (order.get(f.severity, 4), f.tool)):
        print(f"  [{f.severity:6}] {f.tool:7} {f.title}" + (f"  @ {f.where}" if f.where else ""))
    counts = {s: sum(f.severity == s for f in findings) for s in order}
    print("  " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if not args.keep and not counts["high"]:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if counts["high"] else 0


if __name__ == "__main__":
    sys.exit(main())
