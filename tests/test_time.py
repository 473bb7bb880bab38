"""Time, with the injectable clock (quiz.clock.now): the deadline closes an attempt exactly
once even when requests race, and an attempt open for hours still accepts answers."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from conftest import HX, Candidate, choice_id, make_app, question_id

from quiz import attempts, clock
from quiz.db import close_all
from quiz.models import Answer, Attempt


def move_clock(monkeypatch, to):
    monkeypatch.setattr(clock, "now", lambda: to)


def tab_of(app, candidate: Candidate) -> Candidate:
    """Another tab of the same browser (same session cookie, same CSRF token)."""
    tab = Candidate(app.test_client())
    tab.client.set_cookie("quiz_session", candidate.client.get_cookie("quiz_session").value)
    tab.token = candidate.token
    return tab


def test_racing_requests_close_the_attempt_at_its_deadline_exactly_once(
    app, candidate, monkeypatch
):
    pid = candidate.start("timed")
    right = choice_id("t-single", "request")
    assert candidate.answer(pid, 1, "t-single", choice=right).status_code == 303
    attempt = Attempt.get(Attempt.public_id == pid)
    deadline = attempt.deadline
    assert deadline - attempt.started_at == timedelta(minutes=5)

    computed = []
    real_rows = attempts._level_rows
    monkeypatch.setattr(attempts, "_level_rows", lambda a: computed.append(a.id) or real_rows(a))
    move_clock(monkeypatch, deadline + timedelta(seconds=1))
    tabs = [candidate] + [tab_of(app, candidate) for _ in range(5)]
    barrier = threading.Barrier(len(tabs))
    text_form = {"text": "SECRET_KEY"}

    def request(i):
        tab = tabs[i]
        barrier.wait(timeout=10)
        if i in (0, 1):
            return tab.client.get(f"/attempts/{pid}?q=2").status_code
        if i in (2, 3):
            return tab.answer(pid, 2, "t-text", **text_form).status_code
        return tab.finish(pid).status_code

    with ThreadPoolExecutor(max_workers=len(tabs)) as pool:
        statuses = list(pool.map(request, range(len(tabs))))
    assert statuses[:2] == [303, 303]  # the question page sends them to the result
    assert statuses[2:4] == [409, 409]  # too late to answer
    assert statuses[4:] == [303, 303]
    closed = Attempt.get(Attempt.public_id == pid)
    assert computed == [closed.id], "the score was computed more than once"
    assert closed.status == "expired" and closed.finished_at == deadline
    assert closed.score == 1 and closed.max_score == 2
    assert Answer.select().where(Answer.response.is_null(False)).count() == 1
    page = candidate.client.get(f"/attempts/{pid}/result").get_data(as_text=True)
    assert "1 of 2" in page or "1.0 of 2" in page or "50%" in page


def test_the_deadline_instant_itself_is_too_late(app, candidate, monkeypatch):
    pid = candidate.start("timed")
    deadline = Attempt.get(Attempt.public_id == pid).deadline
    right = choice_id("t-single", "request")
    move_clock(monkeypatch, deadline - timedelta(microseconds=1))
    assert candidate.answer(pid, 1, "t-single", choice=right).status_code == 303
    move_clock(monkeypatch, deadline)
    r = candidate.answer(pid, 2, "t-text", text="SECRET_KEY")
    assert r.status_code == 409 and "Time is up" in r.get_data(as_text=True)
    closed = Attempt.get(Attempt.public_id == pid)
    assert closed.status == "expired" and closed.finished_at == deadline
    assert Answer.select().count() == 1


@pytest.mark.parametrize("htmx", [False, True])
def test_an_attempt_open_for_hours_still_accepts_answers(app, candidate, monkeypatch, htmx):
    """Two hours after the page loaded, its CSRF token still works (Flask-WTF signs tokens
    with time.time(): that clock moves too)."""
    pid = candidate.start("basics")  # untimed
    html = candidate.client.get(f"/attempts/{pid}?q=6").get_data(as_text=True)
    assert 'name="csrf_token"' in html
    later = clock.now() + timedelta(hours=2)
    real_time = time.time
    move_clock(monkeypatch, later)
    monkeypatch.setattr(time, "time", lambda: real_time() + 2 * 3600)
    r = candidate.answer(pid, 6, "t-text", htmx=htmx, text="SECRET_KEY")
    assert r.status_code == (200 if htmx else 303), r.get_data(as_text=True)[:300]
    saved = Answer.get(Answer.question == question_id("t-text"))
    assert saved.response == {"text": "SECRET_KEY"} and saved.answered_at == later


def test_a_one_hour_token_limit_would_lose_that_answer(tmp_path, monkeypatch):
    """The control for the test above: with Flask-WTF's default (3600 s) the same answer is
    refused, so the test above really moved the clock Flask-WTF reads."""
    app = make_app(tmp_path, WTF_CSRF_TIME_LIMIT=3600)
    try:
        candidate = Candidate(app.test_client())
        pid = candidate.start("basics")
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 2 * 3600)
        r = candidate.answer(pid, 6, "t-text", text="SECRET_KEY")
        assert r.status_code == 400
        assert Answer.select().count() == 0
    finally:
        close_all()


def test_time_left_comes_from_the_server_clock(app, candidate, monkeypatch):
    pid = candidate.start("timed")
    deadline = Attempt.get(Attempt.public_id == pid).deadline
    move_clock(monkeypatch, deadline - timedelta(seconds=61))
    html = candidate.client.get(f"/attempts/{pid}?q=1", headers=HX).get_data(as_text=True)
    assert ">1:01</time>" in html
