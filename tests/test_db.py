"""db.Prepared (queries compiled once) and the number of queries of the candidate's hot path."""

import logging
import threading
import time
from contextlib import contextmanager

import pytest
from conftest import HX, choice_id, question_id, sqlite_only

from quiz import attempts
from quiz.db import Prepared, database, is_sqlite, stream
from quiz.models import Answer, Attempt, Question, Quiz

by_slug = Prepared(lambda slug: Quiz.select().where(Quiz.slug == slug))
with_quiz = Prepared(
    lambda public_id: Attempt.select(Attempt, Quiz).join(Quiz).where(Attempt.public_id == public_id)
)
slugs = Prepared(
    lambda level: (
        Question.select(Question.slug).where(Question.level == level).order_by(Question.id)
    )
)


@contextmanager
def sql_log():
    """The SQL statements peewee runs inside the block (BEGIN/COMMIT are not logged)."""
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            if isinstance(record.args, tuple) or "SELECT" in record.getMessage():
                seen.append(record.getMessage())

    logger, handler = logging.getLogger("peewee"), Keep()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def statements(log: list[str]) -> list[str]:
    return [s for s in log if s.startswith("(")]  # (sql, params) tuples, not pool messages


def test_prepared_returns_the_rows_peewee_would(app):
    with app.app_context(), database.connection_context():
        quiz = by_slug.first("basics")
        assert isinstance(quiz, Quiz) and quiz.slug == "basics" and quiz.selection
        assert by_slug.first("no-such-quiz") is None
        # The second call runs the SQL compiled by the first, with its own parameter.
        assert by_slug.first("timed").time_limit == 5
        expected = [q.slug for q in Question.select().where(Question.level == "junior")]
        assert [q.slug for q in slugs("junior")] == expected
        assert list(slugs.build("junior").tuples()) == [(s,) for s in expected]
        as_tuples = Prepared(lambda level: slugs.build(level).tuples())
        assert list(as_tuples("junior")) == [(s,) for s in expected]
        as_dicts = Prepared(lambda level: slugs.build(level).dicts())
        assert list(as_dicts("junior")) == [{"slug": s} for s in expected]


def test_prepared_join_fills_the_related_model(app, candidate):
    pid = candidate.start()
    with app.app_context(), database.connection_context():
        attempt = with_quiz.first(pid)
        assert attempt.public_id == pid and attempt.question_ids
        with sql_log() as log:
            assert attempt.quiz.slug == "basics"  # joined: no second query
        assert statements(log) == []


def test_prepared_write_converts_values_with_the_fields(app, candidate):
    pid = candidate.start()
    given = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "g"))
    assert given.status_code == 303
    save = Prepared(
        lambda response, attempt_id: Answer.update(response=response).where(
            Answer.attempt == attempt_id
        ),
        fields=(Answer.response, Answer.attempt),
    )
    with app.app_context(), database.connection_context():
        attempt = Attempt.get(Attempt.public_id == pid)
        save.run({"choice": 7}, attempt.id)  # JSON: converted by the field
        save.run({"choice": 8}, attempt.id)  # the same SQL, other values
        assert Answer.get(Answer.attempt == attempt).response == {"choice": 8}


def test_prepared_refuses_a_query_with_other_parameters(app):
    """Parameters the caller does not pass (LIMIT's, an insert's defaults) would be frozen
    into the compiled SQL: refused when it is first compiled."""
    limited = Prepared(lambda slug: Quiz.select().where(Quiz.slug == slug).limit(1))
    columns = (Answer.attempt, Answer.question, Answer.response)
    insert = Prepared(
        lambda *values: Answer.insert(dict(zip(columns, values, strict=True))), fields=columns
    )
    with app.app_context(), database.connection_context():
        with pytest.raises(ValueError):
            limited("basics")
        with pytest.raises(ValueError):  # `correct`, `score`... take their defaults
            insert(1, question_id("t-single"), None)


def test_question_content_is_read_once_per_app(app, candidate):
    pid = candidate.start()
    with app.app_context(), database.connection_context():
        attempt = Attempt.get(Attempt.public_id == pid)
        first = attempts.content(attempt.question_ids)
        with sql_log() as log:
            again = attempts.content(attempt.question_ids)
        assert statements(log) == [] and again == first
        question, keys = first[question_id("t-single")]
        assert question.slug == "t-single" and [k.text for k in keys] == [
            k.text for k in attempts.keys([question.id])[question.id]
        ]


def test_the_candidate_hot_path_makes_few_queries(app, candidate):
    """No query per row and no re-reads: catalogue 1, question page 2, answer 4 statements
    (+ BEGIN/COMMIT). More is a regression to find, not a number to raise."""
    pid = candidate.start()
    client = candidate.client
    form = {
        "csrf_token": candidate.token,
        "q": "1",
        "question": str(question_id("t-single")),
        "nav": "stay",
        "choice": candidate.choice_token(pid, choice_id("t-single", "request")),
    }
    client.get(f"/attempts/{pid}?q=1")  # the question content is cached from here on
    fresh = app.test_client()
    with sql_log() as log:
        assert fresh.get("/").status_code == 200
    assert len(statements(log)) == 1, statements(log)
    with sql_log() as log:
        assert client.get(f"/attempts/{pid}?q=1").status_code == 200
    assert len(statements(log)) == 2, statements(log)
    with sql_log() as log:
        r = client.post(f"/attempts/{pid}/answers", data=form, headers=HX)
    assert r.status_code == 200 and "checked" in r.get_data(as_text=True)
    assert len(statements(log)) == 4, statements(log)


@sqlite_only
def test_writers_of_one_process_queue_and_a_failed_one_lets_the_next_in(app):
    """db.OneWriterAtATime: a rolled-back transaction releases the queue at once, and a
    writer waiting behind a slow one starts as soon as it commits (SQLite's busy handler
    alone retries on a schedule: at 250 ms of waiting, the next retry is ~80 ms later)."""
    with app.app_context():
        with pytest.raises(RuntimeError), database.atomic():
            Quiz.update(title="never").where(Quiz.slug == "basics").execute()
            raise RuntimeError("a failing view")
        started, done = threading.Event(), {}

        def slow():
            with database.connection_context(), database.atomic():
                started.set()
                time.sleep(0.25)
            done["at"] = time.monotonic()

        t = threading.Thread(target=slow)
        t.start()
        started.wait(5)
        with database.connection_context(), database.atomic():
            late = time.monotonic() - done["at"]
        t.join()
        assert late < 0.04
        assert Quiz.get(Quiz.slug == "basics").title == "Basics"


def test_stream_gives_peewees_rows_from_a_server_side_cursor(app, candidate):
    """db.stream: the rows (converted as peewee converts them) without the whole result in the
    worker; on PostgreSQL through a named cursor, `batch` rows per round trip."""
    pid = candidate.start()
    for n, slug, choice in ((1, "t-single", "request"), (2, "t-multiple", None)):
        fields = {"choice": choice_id(slug, choice)} if choice else {}
        assert candidate.answer(pid, n, slug, **fields).status_code == 303
    with app.app_context(), database.connection_context():
        query = Answer.select(Answer.question, Answer.response).order_by(Answer.id).tuples()
        expected = [(q, r) for q, r in Answer.select(Answer.question, Answer.response).tuples()]
        rows = stream(query, batch=1)
        first = next(rows)
        if not is_sqlite():
            names = [n for (n,) in database.execute_sql("SELECT name FROM pg_cursors")]
            assert any(n.startswith("stream_") for n in names)
        assert [first, *rows] == expected
        assert isinstance(first[1], dict)  # JSON converted, as peewee does
