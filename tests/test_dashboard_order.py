"""The attempts table's sorts read pages off indexes (quiz.dashboard.order): every sort, both
ways, with filters and a recruiter's scope, page after page, against the order worked out in
Python; the queries a page sends; and the SQLite plans (no sort of every attempt)."""

import logging
import random
from datetime import datetime, timedelta

import pytest
from conftest import SERVER_DATABASE
from test_auth import make_user

from quiz.dashboard import order, query
from quiz.dashboard.filters import SORTS, Filters
from quiz.db import database
from quiz.models import LEVELS, Attempt, Event, Invitation, Quiz

sqlite_only = pytest.mark.skipif(bool(SERVER_DATABASE), reason="SQLite query plans")


@pytest.fixture
def attempts(app):
    """90 attempts with ties on every column, NULLs (in progress, or no points), two quizzes
    sharing a title, events on some, and a recruiter's invitations on some."""
    rng = random.Random(5)
    rec = make_user("rec@example.com", role="recruiter")
    Quiz.create(slug="twin-a", title="Twins")
    Quiz.create(slug="twin-b", title="Twins")
    quizzes = list(Quiz.select())
    names = [("Ada", "ada@example.org"), ("Bob", "bob@example.com"), ("Cy", "cy@example.com")]
    days = [datetime(2024, 1, d, 9, 0) for d in (1, 2, 3)]
    rows = []
    for n in range(90):
        quiz = rng.choice(quizzes)
        status = rng.choice(["submitted", "submitted", "expired", "in_progress"])
        done = status != "in_progress"
        invitation = None
        if rng.random() < 0.4:
            invitation = Invitation.create(
                token_hash=f"t{n}",
                quiz=quiz,
                candidate_name="x",
                candidate_email="x@example.com",
                created_by=rec,
                expires_at=days[0] + timedelta(days=30),
            ).id
        name, email = rng.choice(names)
        rows.append(
            {
                "public_id": f"a{n}",
                "owner_key": "k",
                "quiz": quiz.id,
                "invitation": invitation,
                "candidate_name": name,
                "candidate_email": email,
                "question_ids": [],
                "started_at": rng.choice(days),
                "status": status,
                "finished_at": rng.choice(days) + timedelta(hours=1) if done else None,
                "score": float(rng.randint(0, 4)) if done else None,
                "max_score": rng.choice([4.0, 4.0, 6.0, 0.0]) if done else None,
                "level": rng.choice(LEVELS) if done else None,
            }
        )
    with database.atomic():
        Attempt.insert_many(rows).execute()
        ids = [a.id for a in Attempt.select(Attempt.id)]
        events = [
            {"attempt": i, "kind": "paste"} for i in ids for _ in range(rng.choice([0, 0, 1, 2, 3]))
        ]
        Event.insert_many(events).execute()
    return rec


def _key(a: Attempt, sort: str, events: dict[int, int]):
    percent = a.score * 100.0 / a.max_score if a.max_score else None
    return {
        "candidate": (a.candidate_name, a.candidate_email),
        "quiz": a.quiz.title,
        "status": a.status,
        "started": a.started_at,
        "finished": a.finished_at,
        "score": a.score,
        "percent": percent,
        "level": None if a.level is None else LEVELS.index(a.level),
        "events": events.get(a.id, 0),
    }[sort]


def expected(f: Filters, user_id: int | None) -> list[int]:
    """The table's order worked out in Python: by the column, then id, NULLs last."""
    events: dict[int, int] = {}
    for e in Event.select(Event.attempt):
        events[e.attempt_id] = events.get(e.attempt_id, 0) + 1
    mine = {i.id for i in Invitation.select().where(Invitation.created_by == user_id)}
    chosen = []
    for a in Attempt.select(Attempt, Quiz).join(Quiz):
        percent = _key(a, "percent", events)
        if user_id is not None and a.invitation_id not in mine:
            continue
        if (f.quiz and a.quiz.slug != f.quiz) or (f.status and a.status != f.status):
            continue
        if f.min_percent is not None and (percent is None or percent < f.min_percent):
            continue
        chosen.append(a)
    valued = [a for a in chosen if _key(a, f.sort, events) is not None]
    empty = [a for a in chosen if _key(a, f.sort, events) is None]
    down = f.direction == "desc"
    valued.sort(key=lambda a: (_key(a, f.sort, events), a.id), reverse=down)
    empty.sort(key=lambda a: a.id, reverse=down)
    return [a.id for a in valued + empty]


FILTERS = [{}, {"status": "submitted"}, {"quiz": "twin-a"}, {"min_percent": 50.0}]


@pytest.mark.parametrize("sort", SORTS)
def test_every_page_of_every_sort_follows_the_order(attempts, monkeypatch, sort):
    monkeypatch.setattr(query, "PER_PAGE", 7)
    for direction in ("asc", "desc"):
        for extra in FILTERS:
            for user_id in (None, attempts.id):
                f = Filters(sort=sort, direction=direction, **extra)
                want = expected(f, user_id)
                got, number = [], 1
                while True:
                    page = query.page(
                        Filters(sort=sort, direction=direction, page=number, **extra), user_id
                    )
                    assert page.total == len(want)
                    got += [a.id for a in page.rows]
                    if number >= page.pages:
                        break
                    number += 1
                where = (sort, direction, extra, user_id)
                assert got == want, where
                assert [a.id for a in query.filtered(f, user_id)] == want, where  # CSV order
                last = query.page(
                    Filters(sort=sort, direction=direction, page=999, **extra), user_id
                )
                assert [a.id for a in last.rows] == want[(last.number - 1) * 7 :], where


def test_a_search_counts_and_sorts_its_matches_in_one_pass(attempts, monkeypatch):
    monkeypatch.setattr(query, "PER_PAGE", 7)
    bobs = [
        a.id
        for a in Attempt.select()
        .where(Attempt.candidate_name == "Bob")
        .order_by(Attempt.score.asc(nulls="last"), Attempt.id)
    ]
    f = Filters(search="BOB", sort="score", direction="asc")
    page = query.page(f, None)
    assert page.total == len(bobs) and [a.id for a in page.rows] == bobs[:7]
    last = query.page(Filters(search="bob", sort="score", direction="asc", page=99), None)
    assert last.number == page.pages and [a.id for a in last.rows] == bobs[(page.pages - 1) * 7 :]
    nothing = query.page(Filters(search="nobody"), None)
    assert (nothing.total, nothing.rows, nothing.pages) == (0, [], 1)


@pytest.fixture
def statements():
    """The SQL statements sent while the test runs."""
    sent: list[tuple] = []

    class Keep(logging.Handler):
        def emit(self, record):
            if isinstance(record.msg, tuple):
                sent.append(record.msg)

    log, handler = logging.getLogger("peewee"), Keep()
    level = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    yield sent
    log.removeHandler(handler)
    log.setLevel(level)


@pytest.mark.parametrize("sort", SORTS)
def test_a_page_takes_a_few_queries_whatever_its_rows(attempts, statements, sort):
    """Counts, the ids of the page (two runs at most on a page of 25) and the rows with their
    events: never a query per row."""
    page = query.page(Filters(sort=sort), None)
    assert len(page.rows) == 25
    assert len(statements) <= 5, [sql for sql, _ in statements]
    events = {a.id: a.events for a in page.rows}
    for a in page.rows:
        assert events[a.id] == Event.select().where(Event.attempt == a.id).count()


@sqlite_only
@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_pages_are_read_off_an_index_not_sorted(attempts, statements, sort, direction):
    """Each page read walks an index in order: no sort of every attempt (which is what a page
    of 100,000 attempts cost 40-600 ms). Only the events are grouped (the event table)."""
    for number in (1, 2, 4):  # 4: the last page, read backwards
        query.page(Filters(sort=sort, direction=direction, page=number), None)
    reads = [
        (sql, params)
        for sql, params in statements
        if "ORDER BY" in sql and 'FROM "attempt"' in sql.split("ORDER BY")[0][:80]
    ]
    assert reads
    for sql, params in reads:
        if '"quiz_id" IN (?, ?' in sql:
            continue  # quizzes sharing a title: their attempts merged by id (sorted)
        plan = " / ".join(r[-1] for r in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert "TEMP B-TREE" not in plan, (sql, plan)
        if sort == "percent" and "IS NOT NULL" in sql:
            assert "attempt_percent_id" in plan, plan  # the index on the very expression


@sqlite_only
def test_many_matches_read_the_sort_index_few_use_the_filter(attempts):
    """SQLite assumes a filter keeps few rows; when it keeps most, the page is read off the
    sort's index with the filter marked likely()."""
    found = query.conditions(Filters(status="submitted"), None)

    def sql(conditions) -> str:
        return Attempt.select(Attempt.id).where(*conditions).sql()[0]

    size = Attempt.select().count()
    assert "likely(" in sql(order.hinted(found, size, 25))  # most rows match
    assert sql(order.hinted(found, 3, 25)) == sql(found)  # a few: SQLite's own choice


def test_levels_sort_alphabetically_in_their_own_order():
    """The level sort reads the column's index: alphabetical must be junior < mid < senior."""
    assert list(LEVELS) == sorted(LEVELS)
