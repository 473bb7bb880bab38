"""The attempts table's sort orders as index reads (no Flask).

A page is 25 rows of up to 100,000 attempts: sorting them all for each page took 40-600 ms,
so every order here is one that an index returns as it stands, and a page reads 25 entries
(or skips through the index for later pages). Each sort column has an index on (column, id):

- a column that is never NULL sorts by (column, id), either way round;
- a column that may be NULL (in-progress attempts have no score yet) puts the NULLs last
  either way round, which no one index returns on both engines (PostgreSQL sorts NULL as the
  largest value, SQLite as the smallest); so the order is two runs: the rows with a value by
  (column, id), then the rows without by id;
- the quiz title: a run per title (quiz, id), in title order (quizzes sharing a title share a
  run: their attempts are merged by id, the one sort left, over those quizzes only);
- integrity events: the attempts without events (by id), and those with events grouped from the
  event table (by their number, then id): the first run for ascending, the second for descending.

One query counts every run; the counts also give the page's total. A page may span two runs.
A page nearer the end of a run is read from its end, backwards: the last page costs the first's.
"""

from collections.abc import Callable
from dataclasses import dataclass

from peewee import SQL, Asc, Desc, Select, fn

from ..db import database, is_sqlite
from ..models import Attempt, Event, Quiz, attempt_percent

# Sort name -> its columns. NOT NULL columns: one run; nullable ones: two.
PLAIN = {
    "candidate": (Attempt.candidate_name, Attempt.candidate_email),
    "status": (Attempt.status,),
    "started": (Attempt.started_at,),
}
NULLABLE = {
    "finished": Attempt.finished_at,
    "score": Attempt.score,
    "percent": attempt_percent(),
    # LEVELS (junior, mid, senior) sort alphabetically in their own order.
    "level": Attempt.level,
}

# (conditions, offset, limit, backwards) -> ids, in the run's order or (backwards) reversed.
Reader = Callable[[list, int, int, bool], list[int]]


@dataclass
class Run:
    """A part of the order: `count` rows, read with `ids` under the conditions they were
    counted with (maybe wrapped by `hinted`)."""

    count: int
    ids: Reader


def _matching(conditions: list, *more):
    """Attempts (ids) meeting every condition."""
    found = [*conditions, *more]
    query = Attempt.select(Attempt.id)
    return query.where(*found) if found else query


def _counts(*queries) -> list[int]:
    """The counts of several queries in one round trip: SELECT (SELECT COUNT(*) ...), ..."""
    columns = [Select([q], [fn.COUNT(SQL("*"))]) for q in queries]
    return [n or 0 for n in database.execute(Select(columns=columns)).fetchone()]


def _way(descending: bool, backwards: bool):
    return Desc if descending != backwards else Asc


def _reader(descending: bool, keys: tuple, *more) -> Reader:
    """Reads the attempts meeting the conditions and `more`, ordered by `keys` then id."""

    def ids(conditions: list, offset: int, limit: int, backwards: bool) -> list[int]:
        way = _way(descending, backwards)
        query = _matching(conditions, *more).order_by(*[way(k) for k in (*keys, Attempt.id)])
        return [i for (i,) in query.limit(limit).offset(offset).tuples()]

    return ids


def runs(sort: str, descending: bool, conditions: list) -> list[Run]:
    """The runs of the order `sort` over the attempts meeting `conditions`, counted."""
    if sort in PLAIN:
        (total,) = _counts(_matching(conditions))
        return [Run(total, _reader(descending, PLAIN[sort]))]
    if sort in NULLABLE:
        key = NULLABLE[sort]
        # The NULLs are the few attempts in progress: counted off the sort column's index.
        empty = _matching(_likely(conditions), key.is_null())
        total, nulls = _counts(_matching(conditions), empty)
        return [
            Run(total - nulls, _reader(descending, (key,), key.is_null(False))),
            Run(nulls, _reader(descending, (), key.is_null())),
        ]
    if sort == "quiz":
        return _quiz_runs(descending, conditions)
    if sort == "events":
        return _event_runs(descending, conditions)
    raise ValueError(sort)


def _quiz_runs(descending: bool, conditions: list) -> list[Run]:
    """One run per quiz title (quizzes sharing a title share a run, by id)."""
    per_quiz = _matching(conditions).select(Attempt.quiz, fn.COUNT(SQL("*")))
    counts = dict(per_quiz.group_by(Attempt.quiz).tuples())
    titles: dict[str, list[int]] = {}
    for quiz_id, title in Quiz.select(Quiz.id, Quiz.title).tuples():
        if counts.get(quiz_id):
            titles.setdefault(title, []).append(quiz_id)
    return [
        Run(
            sum(counts[i] for i in titles[title]),
            _reader(descending, (), Attempt.quiz.in_(titles[title])),
        )
        for title in sorted(titles, reverse=descending)
    ]


def _flagged(conditions: list):
    """The attempts with events (ids) among those meeting the conditions, grouped."""
    events = Event.select(Event.attempt)
    if conditions:
        events = events.where(Event.attempt.in_(_matching(conditions)))
    return events.group_by(Event.attempt)


def _event_runs(descending: bool, conditions: list) -> list[Run]:
    """Attempts without events (by id), then those with events by their number (reversed
    when descending). Only the event table is grouped, never every attempt."""
    total, some = _counts(_matching(conditions), _flagged(conditions))

    def grouped(conditions: list, offset: int, limit: int, backwards: bool) -> list[int]:
        way = _way(descending, backwards)
        page = _flagged(conditions).order_by(way(fn.COUNT(SQL("*"))), way(Event.attempt))
        return [i for (i,) in page.limit(limit).offset(offset).tuples()]

    quiet = _reader(descending, (), Attempt.id.not_in(Event.select(Event.attempt)))
    order = [Run(total - some, quiet), Run(some, grouped)]
    return order[::-1] if descending else order


def hinted(conditions: list, matches: int, needed: int) -> list:
    """The conditions to read `needed` rows of an order with. SQLite keeps no statistics of
    how many rows a filter keeps, so it takes an index on a filtered column and sorts every
    match (30-60 ms for 90,000 matches) where reading the sort's index and skipping the rows
    that do not match reads a few hundred. When the matches are that many, say so."""
    if not conditions or not is_sqlite():
        return conditions
    size = Attempt.select(fn.MAX(Attempt.id)).scalar() or 0
    # Reading in order visits about needed * size / matches rows; sorting, all the matches.
    if matches * matches < 2 * needed * size:
        return conditions
    return _likely(conditions)


def _likely(conditions: list) -> list:
    """On SQLite, the conditions marked as true for most rows, so that an index on another
    column is preferred to theirs (PostgreSQL has statistics: the conditions as they are)."""
    return [fn.likely(c) for c in conditions] if is_sqlite() else conditions


def page_ids(order: list[Run], conditions: list, offset: int, limit: int) -> list[int]:
    """The ids of rows offset .. offset + limit - 1 of the runs, in order."""
    total = sum(run.count for run in order)
    conditions = hinted(conditions, total, min(offset, max(0, total - offset - limit)) + limit)
    ids: list[int] = []
    for run in order:
        if offset >= run.count:
            offset -= run.count
            continue
        wanted = min(limit - len(ids), run.count - offset)
        after = run.count - offset - wanted  # rows of the run after the ones wanted
        if after < offset:
            ids += run.ids(conditions, after, wanted, True)[::-1]
        else:
            ids += run.ids(conditions, offset, wanted, False)
        offset = 0
        if len(ids) >= limit:
            break
    return ids[:limit]
