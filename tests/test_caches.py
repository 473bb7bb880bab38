"""What the per-worker caches show: the catalogue after bank edits, in this worker at once and
in another worker within quizzes.LISTING_SECONDS; question content never goes stale because a
question row is never edited (an edit is a new version)."""

import re

import pytest
from conftest import make_app
from test_auth import login, make_user, token

from quiz import quizzes
from quiz.db import close_all
from quiz.models import Quiz


def questions_shown(html: str, title: str) -> int:
    """The 'Questions' fact on the catalogue card of quiz `title`."""
    card = html.split(f">{title}</a>", 1)[1].split("</li>", 1)[0]
    return int(re.search(r"<dt>Questions</dt><dd>(\d+)</dd>", card).group(1))


@pytest.fixture
def admin(app):
    make_user("admin@example.com", role="admin")
    client = app.test_client()
    login(client, "admin@example.com")
    return client


def switch(admin, slug: str, active: str):
    data = {"csrf_token": token(admin, "/bank/questions"), "active": active}
    assert admin.post(f"/bank/questions/{slug}/active", data=data).status_code == 303


def test_a_first_visit_shares_the_page_and_edits_show_at_once(app, admin):
    visitor = app.test_client()
    page = visitor.get("/").get_data(as_text=True)
    assert questions_shown(page, "Basics") == 6
    assert visitor.get("/").get_data(as_text=True) == page  # the shared copy
    switch(admin, "t-text", "0")
    assert questions_shown(visitor.get("/").get_data(as_text=True), "Basics") == 5
    switch(admin, "t-text", "1")
    assert questions_shown(visitor.get("/").get_data(as_text=True), "Basics") == 6


def test_a_visitor_with_an_attempt_sees_it_beside_the_shared_page(app, candidate):
    anonymous = app.test_client().get("/").get_data(as_text=True)
    assert "In progress" not in anonymous
    pid = candidate.start()
    mine = candidate.client.get("/").get_data(as_text=True)
    assert "In progress" in mine and f"/attempts/{pid}?q=1" in mine
    assert "In progress" not in app.test_client().get("/").get_data(as_text=True)


def test_another_worker_shows_an_edit_within_the_listing_time(tmp_path, app, monkeypatch):
    """Two app objects on one database stand for two workers; the clock is moved by hand."""
    clock = [1000.0]
    monkeypatch.setattr(quizzes.time, "monotonic", lambda: clock[0])
    other = make_app(tmp_path / "other", DATABASE_URL=app.config["DATABASE_URL"])
    try:
        assert ">Basics</a>" in other.test_client().get("/").get_data(as_text=True)
        with app.app_context():
            # An edit in the first worker (or by `manage.py seed`): the other cannot know.
            Quiz.update(title="Basics, renamed").where(Quiz.slug == "basics").execute()
        clock[0] += quizzes.LISTING_SECONDS - 0.5
        assert ">Basics</a>" in other.test_client().get("/").get_data(as_text=True)
        clock[0] += 1
        assert ">Basics, renamed</a>" in other.test_client().get("/").get_data(as_text=True)
    finally:
        close_all()
