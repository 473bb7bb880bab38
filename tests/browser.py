"""Shared set-up for the browser tests: a live server and Debian's Chromium via Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for name in (os.environ.get("QUIZ_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; skip when absent, except in CI where a missing browser fails."""
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the browser tests: {message}")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`manage.py serve` in a subprocess on a free port with a fresh instance folder."""

    def __init__(self, instance: Path, bank: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        env = {**os.environ, "QUIZ_INSTANCE_PATH": str(instance)}
        if bank:
            env["QUIZ_BANK_DIR"] = str(bank)
        self.log = open(instance.parent / "server.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait()
        except RuntimeError:
            self.stop()
            raise

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited; see server.log")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer in time")

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this server's instance folder."""
        env = {**os.environ, "QUIZ_INSTANCE_PATH": str(self.instance)}
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout

    def execute(self, sql: str, params: tuple = ()) -> None:
        """Change the live server's SQLite database (to move a deadline, say)."""
        import sqlite3

        with sqlite3.connect(self.instance / "quiz.sqlite3") as conn:
            conn.execute(sql, params)

    def query(self, sql: str) -> list[tuple]:
        """Read the live server's SQLite database."""
        import sqlite3

        with sqlite3.connect(self.instance / "quiz.sqlite3") as conn:
            return conn.execute(sql).fetchall()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Watch:
    """Collects what must never happen on a page: console errors, CSP violations, failures."""

    def __init__(self, page, expected_statuses=()):
        self.problems: list[str] = []
        self.expected = set(expected_statuses)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _failed(self, request):
        # ERR_ABORTED: the test navigated away while a sub-resource was loading.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed: {request.url} {request.failure}")

    def _console(self, msg):
        if msg.type == "error" and not any(str(code) in msg.text for code in self.expected):
            self.problems.append(f"console: {msg.text}")

    def _response(self, response):
        if response.status >= 400 and response.status not in self.expected:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def audit(page) -> list[str]:
    """axe-core's serious and critical accessibility violations on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def scroll_width_at(page, width: int) -> int:
    """The page's full width when the viewport is `width` pixels wide."""
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": size["height"]})
    try:
        return page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size(size)


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches `selector` (keyboard-only navigation)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
