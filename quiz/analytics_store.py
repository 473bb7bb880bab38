"""Quiz statistics kept up to date as attempts complete, so the analytics page reads a few
hundred rows of counts instead of a million answers (a full aggregation over 100,000
attempts took 4-8 s on SQLite; reading the counts takes milliseconds).

When an attempt completes (quiz.events, inside the finishing transaction) its contribution
is added to the `all` counts, and to the `first` counts when it is its candidate's first
completed attempt (by id: if an earlier-started attempt completes later, it takes the place
of the one counted so far). A quiz's counts are built from scratch (analytics_queries) the
first time they are read, when they hold fewer completed attempts than the database (a
listener missed), or on request (`rebuild`).

The figures worked out from the counts are kept (per process) until the quiz's state changes:
a view then costs a few index-only counts (the freshness check and the number who started).
"""

from dataclasses import dataclass, replace

from peewee import EXCLUDED, SQL, Select, fn

from . import analytics, analytics_queries, clock, events
from .db import database, is_sqlite
from .models import Answer, Attempt, Question, Quiz, StatCell, StatSlot, StatState, StatTotal

COMPLETED = analytics_queries.COMPLETED


@dataclass
class Contribution:
    """What one completed attempt adds to the counts."""

    score: float
    max_score: float
    cells: list[tuple[int, float]]  # (question version, its score)
    slots: dict[str, float]  # (topic, level) group -> the attempt's score in it


def contribution(attempt: Attempt, grouped: bool = True) -> Contribution:
    """An attempt's total, its score on every question it was given, and (`grouped`) its
    score per (topic, level) group."""
    scores = dict(
        Answer.select(Answer.question, Answer.score).where(Answer.attempt == attempt.id).tuples()
    )
    ids = list(attempt.question_ids or [])
    groups = {
        q.id: analytics_queries.slot_key(q.topic, q.level)
        for q in Question.select(Question.id, Question.topic, Question.level).where(
            Question.id.in_(ids)
        )
    }
    cells = [(qid, float(scores.get(qid) or 0.0)) for qid in ids if qid in groups]
    slots: dict[str, float] = {}
    for qid, x in cells if grouped else ():
        slots[groups[qid]] = slots.get(groups[qid], 0.0) + x
    return Contribution(float(attempt.score or 0.0), float(attempt.max_score or 0.0), cells, slots)


def _add(quiz_id: int, first: bool, c: Contribution, sign: int) -> None:
    """Add (sign 1) or remove (sign -1) one attempt's contribution."""
    StatTotal.insert(
        quiz=quiz_id, first=first, score=c.score, max_score=c.max_score, count=sign
    ).on_conflict(
        conflict_target=[StatTotal.quiz, StatTotal.first, StatTotal.score, StatTotal.max_score],
        update={StatTotal.count: StatTotal.count + EXCLUDED.count},
    ).execute()
    if c.cells:
        rows = [
            {
                "quiz": quiz_id,
                "first": first,
                "question": q,
                "score": x,
                "total": c.score,
                "count": sign,
            }
            for q, x in c.cells
        ]
        StatCell.insert_many(rows).on_conflict(
            conflict_target=[
                StatCell.quiz,
                StatCell.first,
                StatCell.question,
                StatCell.score,
                StatCell.total,
            ],
            update={StatCell.count: StatCell.count + EXCLUDED.count},
        ).execute()
    if c.slots:
        rows = [
            {"quiz": quiz_id, "first": first, "slot": k, "total": sign * v, "squares": sign * v * v}
            for k, v in c.slots.items()
        ]
        StatSlot.insert_many(rows).on_conflict(
            conflict_target=[StatSlot.quiz, StatSlot.first, StatSlot.slot],
            update={
                StatSlot.total: StatSlot.total + EXCLUDED.total,
                StatSlot.squares: StatSlot.squares + EXCLUDED.squares,
            },
        ).execute()


def _same_candidate(attempt: Attempt):
    """Attempts of the same quiz by the same candidate (invitation, or browser key)."""
    where = Attempt.quiz == attempt.quiz_id
    if attempt.invitation_id is not None:
        return where & (Attempt.invitation == attempt.invitation_id)
    return where & Attempt.invitation.is_null() & (Attempt.owner_key == attempt.owner_key)


def _count(attempt: Attempt, grouped: bool, not_counted: list[int] = ()) -> None:
    """Add a just-completed attempt to the counts. `not_counted`: completed attempts that
    are not in the counts yet (while rebuilding), so they cannot be "first" already."""
    c = contribution(attempt, grouped)
    _add(attempt.quiz_id, False, c, 1)
    where = _same_candidate(attempt) & Attempt.status.in_(COMPLETED) & (Attempt.id != attempt.id)
    if not_counted:
        where &= Attempt.id.not_in(list(not_counted))
    earliest = Attempt.select(fn.MIN(Attempt.id)).where(where).scalar()
    if earliest is None:
        _add(attempt.quiz_id, True, c, 1)
    elif earliest > attempt.id:  # it started before the one counted as first so far
        _add(attempt.quiz_id, True, contribution(Attempt.get_by_id(earliest), grouped), -1)
        _add(attempt.quiz_id, True, c, 1)
    StatState.update(completed=StatState.completed + 1).where(
        StatState.quiz == attempt.quiz_id
    ).execute()


def _lock_state(quiz_id: int) -> StatState | None:
    """The quiz's state row, locked for this transaction on PostgreSQL (SQLite's BEGIN
    IMMEDIATE already holds the write lock), so counting and rebuilding never interleave."""
    query = StatState.select().where(StatState.quiz == quiz_id)
    return (query if is_sqlite() else query.for_update()).first()


@events.on_attempt_completed
def record(attempt: Attempt) -> None:
    """Listener: count a completed attempt, if its quiz's counts exist (else the first read
    builds them, this attempt included)."""
    if attempt.status not in COMPLETED:
        return
    state = _lock_state(attempt.quiz_id)
    if state is not None:
        _count(attempt, state.grouped)


def _completed_ids(quiz: Quiz) -> set[int]:
    return {
        i
        for (i,) in Attempt.select(Attempt.id)
        .where(Attempt.quiz == quiz, Attempt.status.in_(COMPLETED))
        .tuples()
    }


def _snapshot():
    """A read-only transaction seeing one consistent state, without blocking writers."""
    if is_sqlite():
        return database.atomic(lock_type="DEFERRED")
    return database.atomic(isolation_level="REPEATABLE READ")


def rebuild(quiz: Quiz) -> None:
    """Recount a quiz's statistics from its attempts and answers.

    The slow aggregation reads a snapshot without blocking candidates; the short write
    transaction then replaces the counts and adds the attempts completed meanwhile."""
    grouped = analytics_queries.grouped(quiz)
    for first_only in (True, False):  # a rebuild within one tick of a frozen clock
        _analysed.pop((quiz.id, first_only), None)
    with _snapshot():
        counted = _completed_ids(quiz)
        scopes = analytics_queries.aggregate(quiz, grouped)
    with database.atomic():
        if _lock_state(quiz.id) is None:
            StatState.insert(quiz=quiz.id, completed=0).on_conflict_ignore().execute()
            _lock_state(quiz.id)
        for model in (StatTotal, StatCell, StatSlot):
            model.delete().where(model.quiz == quiz).execute()
        for first, counts in scopes.items():
            _insert(quiz.id, first, *counts.rows())
        StatState.update(completed=len(counted), grouped=grouped, built_at=clock.now()).where(
            StatState.quiz == quiz
        ).execute()
        late = sorted(_completed_ids(quiz) - counted)
        for i, attempt_id in enumerate(late):
            _count(Attempt.get_by_id(attempt_id), grouped, late[i + 1 :])


def _insert(quiz_id: int, first: bool, totals, cells, slots) -> None:
    rows = [
        {"quiz": quiz_id, "first": first, "score": s or 0.0, "max_score": m or 0.0, "count": n}
        for s, m, n in totals
    ]
    for i in range(0, len(rows), 200):
        StatTotal.insert_many(rows[i : i + 200]).on_conflict(
            conflict_target=[StatTotal.quiz, StatTotal.first, StatTotal.score, StatTotal.max_score],
            update={StatTotal.count: StatTotal.count + EXCLUDED.count},
        ).execute()
    rows = [
        {"quiz": quiz_id, "first": first, "question": q, "score": x, "total": t, "count": n}
        for q, x, t, n in cells
    ]
    for i in range(0, len(rows), 200):
        StatCell.insert_many(rows[i : i + 200]).execute()
    rows = [
        {"quiz": quiz_id, "first": first, "slot": k, "total": s, "squares": sq}
        for k, (s, sq) in slots.items()
    ]
    for i in range(0, len(rows), 200):
        StatSlot.insert_many(rows[i : i + 200]).execute()


def _figures(quiz: Quiz, first_only: bool) -> tuple[int, int]:
    """(completed attempts, candidates or attempts that started) of the quiz, in one round
    trip; each count reads an index of the attempt table (attempt_quiz_status, then
    attempt_quiz_candidate or attempt_quiz_id_id)."""
    of_quiz = Attempt.quiz == quiz
    if first_only:
        started = list(analytics_queries.candidate_counts(quiz))
    else:
        started = [Attempt.select(fn.COUNT(SQL("*"))).where(of_quiz)]
    done = Attempt.select(fn.COUNT(SQL("*"))).where(of_quiz, Attempt.status.in_(COMPLETED))
    completed, *counts = database.execute(Select(columns=[done, *started])).fetchone()
    return completed or 0, sum(n or 0 for n in counts)


def ensure(quiz: Quiz, completed: int | None = None) -> StatState:
    """The quiz's state, its counts built first if they are missing, hold fewer attempts than
    have `completed` (counted if not given), or were kept for another kind of selection (per
    question, or per drawn group)."""
    if completed is None:
        completed = _figures(quiz, False)[0]
    # Read after the count: an attempt completing in between can only raise `completed`.
    state = StatState.get_or_none(StatState.quiz == quiz)
    if (
        state is None
        or state.completed < completed
        or state.grouped != analytics_queries.grouped(quiz)
    ):
        rebuild(quiz)
        state = StatState.get(StatState.quiz == quiz)
    return state


def _rows(query) -> list[tuple]:
    """Plain rows as the driver returns them (no per-field conversion: thousands of cells)."""
    return list(database.execute(query).fetchall())


def load(quiz: Quiz, first_only: bool = True, started: int | None = None) -> analytics.Data:
    """The statistics' inputs from the stored counts (built first if needed)."""
    if started is None:
        completed, started = _figures(quiz, first_only)
        ensure(quiz, completed)
    totals = _rows(
        StatTotal.select(StatTotal.score, StatTotal.max_score, StatTotal.count).where(
            StatTotal.quiz == quiz, StatTotal.first == first_only, StatTotal.count > 0
        )
    )
    cells = _rows(
        StatCell.select(StatCell.question, StatCell.score, StatCell.total, StatCell.count).where(
            StatCell.quiz == quiz, StatCell.first == first_only, StatCell.count > 0
        )
    )
    slots = {
        k: (s, sq)
        for k, s, sq in _rows(
            StatSlot.select(StatSlot.slot, StatSlot.total, StatSlot.squares).where(
                StatSlot.quiz == quiz, StatSlot.first == first_only
            )
        )
    }
    completed = sum(n for *_, n in totals)
    return analytics_queries.to_data(quiz, started, completed, totals, cells, slots)


# (quiz id, first only) -> (the state it was computed from, the report without `started`).
# The counts change only with the state (`completed` grows with each attempt counted, a
# rebuild stamps `built_at`), so a report stays valid while its state is the current one.
_analysed: dict[tuple[int, bool], tuple[tuple, analytics.Report]] = {}


def _stamp(state: StatState) -> tuple:
    return state.completed, state.built_at, state.grouped


def report(quiz: Quiz, first_only: bool = True) -> analytics.Report:
    """The statistics report of a quiz, from the stored counts. The figures are worked out
    again only when the counts have changed since the last time (in this process); the
    number who started is counted on every call."""
    completed, started = _figures(quiz, first_only)
    state = ensure(quiz, completed)
    stamp, found = _analysed.get((quiz.id, first_only), (None, None))
    if stamp != _stamp(state):
        with _snapshot():  # the state and the counts it stamps, as of one moment
            state = StatState.get(StatState.quiz == quiz)
            found = analytics.analyse(load(quiz, first_only, started=0))
        _analysed[(quiz.id, first_only)] = (_stamp(state), found)
    rate = found.completed / started if started else None
    return replace(found, started=started, completion_rate=rate)
