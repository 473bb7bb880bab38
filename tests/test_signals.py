"""Integrity signals: time spent per question, focus-lost and paste events."""

import re
from datetime import timedelta

import pytest
from conftest import HX, choice_id
from test_auth import login, make_user

from quiz import attempts, clock
from quiz.candidate import signals
from quiz.models import Answer, Event


@pytest.fixture
def frozen(monkeypatch):
    """A clock the test moves by hand."""
    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


def shown_field(candidate, pid, n):
    html = candidate.client.get(f"/attempts/{pid}?q={n}").get_data(as_text=True)
    return re.search(r'name="shown" value="([^"]+)"', html).group(1)


def test_time_spent_is_measured_by_the_server_and_accumulates(candidate, frozen):
    pid = candidate.start()
    stamp = shown_field(candidate, pid, 1)
    frozen["now"] += timedelta(seconds=42)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    assert Answer.get().time_spent == 42
    stamp = shown_field(candidate, pid, 1)
    frozen["now"] += timedelta(seconds=10)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "request"))
    assert Answer.get().time_spent == 52


@pytest.mark.parametrize("stamp", ["", "forged.value", "WyJ4IiwxLDBd.abc"])
def test_a_bad_stamp_counts_no_time_but_keeps_the_answer(candidate, stamp):
    pid = candidate.start()
    r = candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    assert r.status_code == 303
    assert Answer.get().time_spent == 0 and Answer.get().response is not None


def test_a_stamp_of_another_question_counts_no_time(candidate, frozen):
    pid = candidate.start()
    stamp = shown_field(candidate, pid, 2)
    frozen["now"] += timedelta(seconds=30)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    assert Answer.get().time_spent == 0


def test_time_on_a_question_is_capped(candidate, frozen):
    pid = candidate.start()
    stamp = shown_field(candidate, pid, 1)
    frozen["now"] += timedelta(days=2)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    assert Answer.get().time_spent == attempts.MAX_SPELL


def post_event(candidate, pid, kind="focus_lost", detail="question 1", **extra):
    data = {"csrf_token": candidate.token, "kind": kind, "detail": detail, **extra}
    return candidate.client.post(f"/attempts/{pid}/events", data=data, headers=HX)


def test_events_are_recorded_as_facts(candidate):
    pid = candidate.start()
    assert post_event(candidate, pid).status_code == 204
    assert post_event(candidate, pid, "paste", "question 6").status_code == 204
    assert [(e.kind, e.detail) for e in Event.select().order_by(Event.id)] == [
        ("focus_lost", "question 1"),
        ("paste", "question 6"),
    ]


def test_event_bad_input(candidate, make_candidate):
    pid = candidate.start()
    assert post_event(candidate, pid, "keylogger").status_code == 400
    other = make_candidate()
    other.csrf()
    assert post_event(other, pid).status_code == 404
    r = candidate.client.post(f"/attempts/{pid}/events", data={"kind": "paste"})
    assert r.status_code == 400  # no CSRF token
    long = post_event(candidate, pid, detail="x" * 5000)
    assert long.status_code == 204 and len(Event.get().detail) == 200
    candidate.finish(pid)
    assert post_event(candidate, pid).status_code == 409


def test_events_per_attempt_are_capped(candidate, monkeypatch):
    monkeypatch.setattr(signals, "MAX_EVENTS", 3)
    pid = candidate.start()
    codes = [post_event(candidate, pid).status_code for _ in range(4)]
    assert codes == [204, 204, 204, 429]
    assert Event.select().count() == 3


def test_a_replayed_stamp_counts_once(candidate, frozen):
    """Sending the same form again (a script, a double submit) adds no time."""
    pid = candidate.start()
    stamp = shown_field(candidate, pid, 1)
    frozen["now"] += timedelta(seconds=30)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    for _ in range(3):
        frozen["now"] += timedelta(seconds=30)
        candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "app"))
    assert Answer.get().time_spent == 30


def test_time_spent_never_exceeds_the_wall_clock(candidate, frozen):
    """Questions opened side by side in tabs: a minute of wall clock is at most a minute."""
    pid = candidate.start()
    stamps = [shown_field(candidate, pid, n) for n in (1, 2, 6)]
    frozen["now"] += timedelta(seconds=60)
    candidate.answer(pid, 1, "t-single", shown=stamps[0], choice=choice_id("t-single", "g"))
    candidate.answer(pid, 2, "t-multiple", shown=stamps[1], choices=[choice_id("t-multiple", "g")])
    candidate.answer(pid, 6, "t-text", shown=stamps[2], text="SECRET_KEY")
    spent = [a.time_spent for a in Answer.select().order_by(Answer.id)]
    assert spent == [60, 0, 0] and sum(spent) <= 60


def test_a_missing_stamp_is_unknown_time_not_zero(app, candidate, frozen):
    pid = candidate.start()
    stamp = shown_field(candidate, pid, 1)
    frozen["now"] += timedelta(seconds=20)
    candidate.answer(pid, 1, "t-single", shown=stamp, choice=choice_id("t-single", "g"))
    candidate.answer(pid, 2, "t-multiple", choices=[choice_id("t-multiple", "g")])  # no stamp
    candidate.finish(pid)
    reviewer = app.test_client()
    make_user("rev@example.com", role="reviewer")
    login(reviewer, "rev@example.com")
    html = reviewer.get(f"/dashboard/attempts/{pid}").get_data(as_text=True)
    spent = re.findall(r'<span class="spent">Time spent: ([^<]+)</span>', html)
    assert spent[:2] == ["20 s", "unknown"]
