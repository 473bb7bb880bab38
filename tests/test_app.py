"""The application factory: config layers, instance folder, secret key, errors, headers."""

import json

import pytest
from conftest import HX, make_app, sqlite_only
from flask import abort

from quiz import create_app
from quiz.db import close_all, database


@pytest.fixture
def close_db():
    yield
    close_all()


def test_config_layers_in_order(tmp_path, monkeypatch, close_db):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text(
        "LEVEL_THRESHOLD = 0.7\nMAX_TEXT_ANSWER = 100\nSESSION_COOKIE_NAME = 'from_file'\n"
    )
    monkeypatch.setenv("QUIZ_MAX_TEXT_ANSWER", "200")
    monkeypatch.setenv("QUIZ_SESSION_COOKIE_NAME", "from_env")
    app = create_app({"INSTANCE_PATH": instance, "SESSION_COOKIE_NAME": "from_test"})
    assert app.config["LEVEL_THRESHOLD"] == 0.7  # instance file over defaults
    assert app.config["MAX_TEXT_ANSWER"] == 200  # QUIZ_* over the instance file
    assert app.config["SESSION_COOKIE_NAME"] == "from_test"  # test dict over everything
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None  # default kept


def test_instance_folder_and_secret_key_are_created_once(tmp_path, close_db):
    instance = tmp_path / "fresh" / "instance"
    app = create_app({"INSTANCE_PATH": instance})
    key = app.config["SECRET_KEY"]
    assert instance.is_dir() and len(key) == 64
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    again = create_app({"INSTANCE_PATH": instance})
    assert again.config["SECRET_KEY"] == key  # sessions survive restarts


def test_configured_secret_key_wins(tmp_path, close_db):
    app = create_app({"INSTANCE_PATH": tmp_path, "SECRET_KEY": "configured"})
    assert app.config["SECRET_KEY"] == "configured"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_is_honoured(tmp_path, close_db):
    path = tmp_path / "elsewhere.db"
    make_app(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    assert path.exists()


def test_default_database_lives_in_the_instance_folder(tmp_path, close_db):
    app = create_app({"INSTANCE_PATH": tmp_path / "i"})
    from quiz.db import create_schema

    create_schema()
    assert (tmp_path / "i" / "quiz.sqlite3").exists()
    assert app.config["SESSION_TYPE"] == "cachelib"


SECURITY_HEADERS = [
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "X-Frame-Options",
]


@pytest.mark.parametrize("url", ["/", "/quizzes/basics", "/nope", "/healthz"])
def test_security_headers_on_every_response(client, url):
    r = client.get(url)
    for name in SECURITY_HEADERS:
        assert name in r.headers
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp


def test_session_cookie_flags(candidate):
    candidate.start()
    cookie = candidate.client.get_cookie("quiz_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert cookie.expires is not None  # survives closing the browser


def test_pages_have_no_inline_script_or_style(candidate):
    pid = candidate.start()
    for url in ("/", "/quizzes/basics", f"/attempts/{pid}?q=5", f"/attempts/{pid}/review"):
        html = candidate.client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert " hx-on" not in html and "javascript:" not in html


@pytest.mark.parametrize("code", [400, 403, 404, 405, 409, 410, 429, 500])
def test_error_pages_full_and_fragment(tmp_path, code, close_db):
    app = make_app(tmp_path, TESTING=False)

    @app.get("/boom")
    def boom():
        if code == 500:
            raise RuntimeError("secret detail")
        abort(code)

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == code
    body = page.get_data(as_text=True)
    assert "<html" in body and "data-error-message" in body
    assert "Traceback" not in body and "secret detail" not in body
    fragment = client.get("/boom", headers=HX)
    assert fragment.status_code == code
    assert "<html" not in fragment.get_data(as_text=True)
    assert "data-error-message" in fragment.get_data(as_text=True)


@sqlite_only  # tests/test_stateless.py takes PostgreSQL away instead
def test_database_down_is_a_503_page(tmp_path, close_db):
    app = make_app(tmp_path, TESTING=False)
    database.obj.close_all()
    (tmp_path / "test.sqlite3").unlink()
    (tmp_path / "test.sqlite3").mkdir()  # a directory cannot be opened as a database
    r = app.test_client().get("/")
    assert r.status_code == 503
    assert "cannot reach its storage" in r.get_data(as_text=True)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert json.loads(r.data)["checks"] == {"database": "ok", "sessions": "ok"}
