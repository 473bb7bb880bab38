"""Fixtures in the flaskr style: an app on a SQLite file in tmp_path, a client, a runner."""

import os
import re
from pathlib import Path

import pytest

from quiz import bank, create_app
from quiz.db import close_all, create_schema, database
from quiz.models import MODELS, Choice, Question

TEST_BANK = Path(__file__).parent / "data" / "bank"
HX = {"HX-Request": "true"}


# Run the suite on another engine: QUIZ_TEST_DATABASE_URL=postgresql+pool://...
SERVER_DATABASE = os.environ.get("QUIZ_TEST_DATABASE_URL")


def make_app(tmp_path: Path, **config):
    settings = {
        "INSTANCE_PATH": tmp_path / "instance",
        "TESTING": True,
        "DATABASE_URL": SERVER_DATABASE or f"sqlite+pool:///{tmp_path / 'test.sqlite3'}",
    }
    settings.update(config)
    app = create_app(settings)
    if SERVER_DATABASE and settings["DATABASE_URL"] == SERVER_DATABASE:
        with database.connection_context():
            database.drop_tables(MODELS, cascade=True)  # a clean database for every test
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
        data.update(fields)
        headers = dict(HX) if htmx else {}
        return self.client.post(f"/attempts/{pid}/answers", data=data, headers=headers)

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
