"""The quiz statistics page reads its figures from the stored counts and works them out again
only when the counts change; the number who started is counted on every view."""

import logging

import pytest
from test_analytics import basics, current_questions, finish_with, reviewer, same_report  # noqa: F401

from quiz import analytics, analytics_queries, analytics_store, attempts


@pytest.fixture
def analysed(monkeypatch):
    """How many times the figures were worked out."""
    calls = []
    work = analytics.analyse

    def counted(data):
        calls.append(data)
        return work(data)

    monkeypatch.setattr(analytics, "analyse", counted)
    return calls


def test_figures_are_worked_out_once_per_state_of_the_counts(basics, analysed):  # noqa: F811
    quiz, *_ = basics
    first = analytics_store.report(quiz)
    again = analytics_store.report(quiz)
    assert len(analysed) == 1
    same_report(again, first)
    analytics_store.report(quiz, first_only=False)
    assert len(analysed) == 2  # the other scope has figures of its own

    # A candidate starts: counted at once, the figures stay as they were.
    attempts.start(quiz, "newcomer")
    started = analytics_store.report(quiz)
    assert len(analysed) == 2
    assert started.started == first.started + 1
    assert started.completion_rate == pytest.approx(first.completed / (first.started + 1))

    # An attempt completes: the counts change, so do the figures.
    ids = [q.id for q in current_questions()]
    attempts.finish(finish_with(quiz, "finisher", dict.fromkeys(ids, 1.0)))
    changed = analytics_store.report(quiz)
    assert len(analysed) == 3
    same_report(changed, analytics_queries.report(quiz))

    analytics_store.rebuild(quiz)  # recalculated: worked out again, even within a clock tick
    rebuilt = analytics_store.report(quiz)
    assert len(analysed) == 5  # the reference above, then this
    same_report(rebuilt, changed)


def test_a_second_view_sends_a_few_queries(basics, reviewer, analysed):  # noqa: F811
    sent = []

    class Keep(logging.Handler):
        def emit(self, record):
            if isinstance(record.msg, tuple):
                sent.append(record.msg[0])

    assert reviewer.get("/dashboard/quizzes/basics").status_code == 200
    log, handler = logging.getLogger("peewee"), Keep()
    level = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    try:
        assert reviewer.get("/dashboard/quizzes/basics").status_code == 200
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert len(analysed) == 1
    # The user, the quiz, the counts of attempts (one round trip), the counts' state.
    assert len(sent) <= 4, sent
