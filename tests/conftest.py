"""Fixtures in the flaskr style: an app on a SQLite file in tmp_path, a client, a runner."""

import json
import os
import re
from pathlib import Path

import pytest
from peewee import AutoField, sort_models

from quiz import bank, create_app, layout
from quiz.db import close_all, create_schema, database
from quiz.models import MODELS, Choice, Question

TEST_BANK = Path(__file__).parent / "data" / "bank"
# Test accounts' passwords: one PBKDF2 round instead of scrypt (production keeps scrypt:
# tests/test_auth.py::test_production_hashes_passwords_with_scrypt).
FAST_HASH = "pbkdf2:sha256:1"
HX = {"HX-Request": "true"}


# Run the suite on another engine: QUIZ_TEST_DATABASE_URL=postgresql+pool://...
SERVER_DATABASE = os.environ.get("QUIZ_TEST_DATABASE_URL")
# ... and keep sessions and rate limits in Redis: QUIZ_TEST_REDIS_URL=redis://127.0.0.1:6379/13.
# Keys carry this process's prefix and only they are deleted between tests (never a FLUSHDB).
SERVER_REDIS = os.environ.get("QUIZ_TEST_REDIS_URL")
REDIS_PREFIX = f"quiz-test-{os.getpid()}-"
if SERVER_REDIS:
    # The rate limiter is one object per process and keeps the first app's key prefix, so
    # every app of this process (even one built without make_app) must use the same one.
    os.environ.setdefault("QUIZ_RATELIMIT_KEY_PREFIX", REDIS_PREFIX + "limits")
sqlite_only = pytest.mark.skipif(
    bool(SERVER_DATABASE), reason="SQLite-specific (the server run uses QUIZ_TEST_DATABASE_URL)"
)
file_sessions_only = pytest.mark.skipif(
    bool(SERVER_REDIS), reason="session files only (the server run keeps sessions in Redis)"
)


def forget_redis_keys(url: str) -> None:
    """Delete this test process's sessions and rate-limit counters from Redis."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"*{REDIS_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


_server_tables_created = False


def empty_server_database() -> None:
    """Drop and recreate the tables once per test process (a fresh schema from the models),
    then empty them before each test: DROP/CREATE or TRUNCATE of every table takes ~0.6 s on
    PostgreSQL, which made the server run ten minutes long; DELETE takes ~20 ms."""
    global _server_tables_created
    with database.connection_context():
        if not _server_tables_created:
            database.drop_tables(MODELS, cascade=True)
            _server_tables_created = True
            return  # make_app creates them
        with database.atomic():
            for model in reversed(sort_models(MODELS)):
                model.delete().execute()
            for model in MODELS:  # ids restart at 1, as in a new SQLite file
                key = model._meta.primary_key
                if isinstance(key, AutoField):
                    database.execute_sql(
                        "SELECT setval(pg_get_serial_sequence(%s, %s), 1, false)",
                        (model._meta.table_name, key.column_name),
                    )


def stored_session(app, sid: str) -> dict | None:
    """The server-side session `sid` as the store holds it (file or Redis), or None."""
    key = app.config.get("SESSION_KEY_PREFIX", "session:") + sid
    if app.config.get("SESSION_REDIS") is not None:
        raw = app.config["SESSION_REDIS"].get(key)
        return None if raw is None else json.loads(raw)
    return app.config["SESSION_CACHELIB"].get(key)


def make_app(tmp_path: Path, **config):
    settings = {
        "INSTANCE_PATH": tmp_path / "instance",
        "TESTING": True,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "DATABASE_URL": SERVER_DATABASE or f"sqlite+pool:///{tmp_path / 'test.sqlite3'}",
    }
    if SERVER_REDIS:
        settings["REDIS_URL"] = SERVER_REDIS
        settings["SESSION_KEY_PREFIX"] = REDIS_PREFIX + "session:"
    settings.update(config)
    app = create_app(settings)
    if SERVER_REDIS and settings["REDIS_URL"] == SERVER_REDIS:
        forget_redis_keys(SERVER_REDIS)  # a clean session store and rate limits for every test
    if SERVER_DATABASE and settings["DATABASE_URL"] == SERVER_DATABASE:
        empty_server_database()  # a clean database for every test
    create_schema()
    with database.connection_context():
        bank.seed(config.get("BANK", TEST_BANK))
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    close_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def choice_id(slug: str, text: str) -> int:
    """The id of the choice of question `slug` whose text is `text`."""
    return (
        Choice.select(Choice.id)
        .join(Question)
        .where(Question.slug == slug, Question.current == True, Choice.text == text)  # noqa: E712
        .scalar()
    )


def question_id(slug: str) -> int:
    """The id of the current version of question `slug`."""
    return Question.get(Question.slug == slug, Question.current == True).id  # noqa: E712


class Candidate:
    """A browser: a test client that knows how to read CSRF tokens and walk a quiz."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def csrf(self, page: str = "/quizzes/basics") -> str:
        html = self.client.get(page).get_data(as_text=True)
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return self.token

    def start(self, slug: str = "basics") -> str:
        """Start a quiz; returns the attempt's public id."""
        token = self.csrf(f"/quizzes/{slug}")
        r = self.client.post(f"/quizzes/{slug}/start", data={"csrf_token": token})
        assert r.status_code == 303, r.get_data(as_text=True)
        return re.search(r"/attempts/([^?]+)\?q=1$", r.headers["Location"]).group(1)

    def answer(self, pid: str, n: int, slug: str, nav: str = "next", htmx=False, **fields):
        """Post the form of question n (question `slug`) with extra fields."""
        data = {
            "csrf_token": self.token or self.csrf(),
            "q": str(n),
            "question": str(question_id(slug)),
            "nav": nav,
        }
        data.update(self.named(pid, fields))
        headers = dict(HX) if htmx else {}
        return self.client.post(f"/attempts/{pid}/answers", data=data, headers=headers)

    def choice_token(self, pid: str, choice_id: int) -> str:
        """What the attempt's page calls this choice."""
        with self.client.application.app_context():
            return layout.token(pid, choice_id)

    def named(self, pid: str, fields: dict) -> dict:
        """Form fields with choice ids (as the tests name choices) turned into the attempt's
        opaque tokens, as the page names them (quiz.layout)."""

        def name(value):
            value = str(value)
            return self.choice_token(pid, int(value)) if value.isdecimal() else value

        out = {}
        for key, value in fields.items():
            if key.startswith("order-") and key[6:].isdecimal():
                key = "order-" + name(key[6:])
            elif key in ("choice", "choices"):
                value = [name(v) for v in value] if isinstance(value, list) else name(value)
            out[key] = value
        return out

    def finish(self, pid: str, confirm: bool = True):
        data = {"csrf_token": self.token or self.csrf()}
        if confirm:
            data["confirm"] = "1"
        return self.client.post(f"/attempts/{pid}/finish", data=data)


@pytest.fixture
def candidate(client):
    return Candidate(client)


@pytest.fixture
def make_candidate(app):
    """Another browser (its own cookie jar)."""
    return lambda: Candidate(app.test_client())


def pytest_collection_modifyitems(config, items):
    """In the server run, skip the browser tests: their live server keeps its own SQLite file."""
    if not SERVER_DATABASE:
        return
    skip = pytest.mark.skip(
        reason="browser tests drive a live server on its own SQLite file (tests/browser.py); "
        "they ran in the SQLite run"
    )
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Leave nothing of this run in Redis."""
    if SERVER_REDIS:
        forget_redis_keys(SERVER_REDIS)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (skipped without it; a failure in CI)."""
    from browser import CHROMIUM_ARGS, require_chromium
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()
