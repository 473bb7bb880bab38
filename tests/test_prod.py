"""Production serving: `serve --prod` (gunicorn and its config file), fingerprinted static files
with long cache lifetimes, and ProxyFix behind nginx."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_app
from test_auth import token

from quiz import cli
from quiz.db import close_all
from quiz.static_files import IMMUTABLE, Fingerprints

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "deploy" / "gunicorn.conf.py"


def sha12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# --- serve --prod and the gunicorn configuration -------------------------------------------


def test_serve_prod_help(runner):
    result = runner.invoke(args=["serve", "--prod", "--help"])
    assert result.exit_code == 0
    assert "--prod" in result.output and "gunicorn" in result.output
    assert "8000 with --prod" in result.output


class Exec(Exception):
    """Raised instead of replacing the test process with gunicorn."""


@pytest.fixture
def execv(monkeypatch):
    calls = []

    def fake_execv(path, argv):
        calls.append(argv)
        raise Exec

    monkeypatch.setattr(cli.os, "execv", fake_execv)
    return calls


@pytest.mark.parametrize(
    "args, bind",
    [
        ([], "127.0.0.1:8000"),
        (["--host", "0.0.0.0", "--port", "9000"], "0.0.0.0:9000"),
        (["--host", "::1", "--port", "9001"], "[::1]:9001"),
    ],
)
def test_serve_prod_runs_gunicorn_with_the_config_file(runner, execv, args, bind):
    result = runner.invoke(args=["serve", "--prod", "--no-seed", *args])
    assert isinstance(result.exception, Exec), result.output
    (argv,) = execv
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
    assert argv[argv.index("--config") + 1] == str(CONF)
    assert argv[argv.index("--bind") + 1] == bind
    assert argv[-1] == "quiz:create_app()"
    assert f"+ -m gunicorn --config {CONF} --bind {bind}" in result.output


def test_serve_prod_creates_tables_and_seeds_first(runner, execv):
    result = runner.invoke(args=["serve", "--prod"])
    assert isinstance(result.exception, Exec)
    assert "Question bank:" in result.output
    assert "http://127.0.0.1:8000/login" in result.output  # the demo admin, on the prod port


def gunicorn_settings(tmp_path, **env) -> dict[str, str]:
    """gunicorn's own view of deploy/gunicorn.conf.py (`--print-config` loads the config and
    the app, as `serve --prod` would)."""
    out = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "-c", str(CONF), "quiz:create_app()"],
        cwd=ROOT,
        env={**os.environ, "QUIZ_INSTANCE_PATH": str(tmp_path / "inst"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return dict(re.findall(r"^(\w+)\s+= (.*)$", out, re.M))


def test_gunicorn_config_loads(tmp_path):
    cpus = len(os.sched_getaffinity(0))
    settings = gunicorn_settings(tmp_path)
    assert settings["workers"] == str(2 * cpus + 1)
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] == "4"
    assert settings["timeout"] == "30" and settings["graceful_timeout"] == "30"
    assert settings["accesslog"] == "-"
    assert settings["control_socket_disable"] == "True"
    assert settings["bind"] == "['127.0.0.1:8000']"
    assert "RedactingLogger" in settings["logger_class"]
    custom = gunicorn_settings(tmp_path, WEB_CONCURRENCY="3", QUIZ_THREADS="8")
    assert (custom["workers"], custom["threads"]) == ("3", "8")


# --- fingerprinted static files ----------------------------------------------------------------


def test_static_urls_carry_a_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    for name in ("css/app.css", "js/app.js", "js/vendor/htmx-2.0.11.min.js"):
        assert f"/static/{name}?v={sha12(ROOT / 'static' / name)}" in html
    assert not re.search(r'/static/[^"?]+"', html)  # no static URL without its hash


def test_fingerprinted_static_files_are_cached_for_a_year(client, app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/app.css")
    with client.get(url) as r:  # closes the static file
        assert r.status_code == 200
        assert r.data == (ROOT / "static" / "css" / "app.css").read_bytes()
        assert r.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert r.headers["X-Content-Type-Options"] == "nosniff"  # security headers stay
    with client.get(url, headers={"If-None-Match": r.headers["ETag"]}) as again:
        assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize("query", ["", "?v=000000000000", "?v="])
def test_other_static_urls_get_a_short_cache(client, query):
    with client.get("/static/css/app.css" + query) as r:
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "public, max-age=300"


def test_pages_are_still_never_cached(client):
    assert client.get("/").headers["Cache-Control"] == "no-store"
    r = client.get("/static/css/nope.css")
    assert r.status_code == 404 and "immutable" not in r.headers.get("Cache-Control", "")


def test_a_changed_file_gets_a_new_hash(tmp_path):
    (tmp_path / "a.css").write_text("body { color: red }")
    fingerprints = Fingerprints(str(tmp_path))
    first = fingerprints("a.css")
    assert first == sha12(tmp_path / "a.css")
    assert fingerprints("a.css") == first
    (tmp_path / "a.css").write_text("body { color: blue }")
    assert fingerprints("a.css") == sha12(tmp_path / "a.css") != first
    assert fingerprints("missing.css") is None
    assert fingerprints("../outside.css") is None


def test_production_hashes_a_file_once(tmp_path):
    """Without debug mode there is no stat per URL: a deployment restarts the workers."""
    (tmp_path / "a.css").write_text("body { color: red }")
    fingerprints = Fingerprints(str(tmp_path), watch=False)
    first = fingerprints("a.css")
    (tmp_path / "a.css").write_text("body { color: blue }")
    assert fingerprints("a.css") == first


# --- ProxyFix ----------------------------------------------------------------------------------


def whoami_app(tmp_path, proxies: int):
    app = make_app(tmp_path, PROXY_FIX=proxies)

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return f"{request.remote_addr} {request.scheme} {request.host}"

    return app


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "quiz.example.com",
}


def test_without_proxy_fix_forwarded_headers_are_ignored(tmp_path):
    app = whoami_app(tmp_path, 0)
    try:
        r = app.test_client().get("/_whoami", headers=FORWARDED)
        assert r.get_data(as_text=True) == "127.0.0.1 http localhost"
    finally:
        close_all()


def test_behind_one_proxy_the_client_address_and_scheme_are_right(tmp_path):
    app = whoami_app(tmp_path, 1)
    try:
        client = app.test_client()
        r = client.get("/_whoami", headers=FORWARDED)
        assert r.get_data(as_text=True) == "203.0.113.7 https quiz.example.com"
        # Only the proxy's own (last) value is trusted: a client cannot pick its address.
        r = client.get("/_whoami", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.9"})
        assert r.get_data(as_text=True).split()[0] == "198.51.100.9"
    finally:
        close_all()


def failed_sign_in(client, email: str) -> int:
    data = {"csrf_token": token(client), "email": email, "password": "wrong"}
    return client.post("/login", data=data).status_code


@pytest.mark.parametrize("proxies, other_client", [(1, 401), (0, 429)])
def test_rate_limits_count_the_forwarded_client(tmp_path, proxies, other_client):
    # RATELIMIT_ENABLED: the limiter is one object per process and keeps the last app's choice
    # (tests/test_fuzz.py turns it off).
    app = make_app(tmp_path, PROXY_FIX=proxies, RATELIMIT_ENABLED=True)
    try:
        first, second = app.test_client(), app.test_client()
        first.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        second.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.9"
        for i in range(20):  # the per-address limit: 20 failed sign-ins in 15 minutes
            assert failed_sign_in(first, f"user{i}@example.com") == 401
        assert failed_sign_in(first, "another@example.com") == 429
        # Another client behind the proxy: its own count with ProxyFix, the proxy's without.
        assert failed_sign_in(second, "someone@example.com") == other_client
    finally:
        close_all()
