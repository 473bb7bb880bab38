"""The attempts table in SQL: scope, filters, sort and pages (no Flask).

Sorting goes through the SORTS whitelist of expressions: user input never becomes SQL."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from peewee import Asc, Case, Desc, fn

from ..models import LEVELS, Attempt, Event, Invitation, Quiz
from .filters import Filters

PER_PAGE = 25
COMPLETED = ("submitted", "expired")
# What the table shows of an attempt (not its question order or owner key).
TABLE_COLUMNS = (
    Attempt.id,
    Attempt.public_id,
    Attempt.quiz,
    Attempt.invitation,
    Attempt.candidate_name,
    Attempt.candidate_email,
    Attempt.started_at,
    Attempt.finished_at,
    Attempt.status,
    Attempt.score,
    Attempt.max_score,
    Attempt.level,
)


def percent_expr():
    """The attempt's score as a percentage of its points (NULL while in progress)."""
    return Case(None, ((Attempt.max_score > 0, Attempt.score * 100.0 / Attempt.max_score),), None)


def events_expr():
    """How many integrity events the attempt has (a correlated subquery)."""
    return Event.select(fn.COUNT(Event.id)).where(Event.attempt == Attempt.id)


def _sort_keys(name: str) -> list:
    return {
        "candidate": [Attempt.candidate_name, Attempt.candidate_email],
        "quiz": [Quiz.title],
        "status": [Attempt.status],
        "started": [Attempt.started_at],
        "finished": [Attempt.finished_at],
        "score": [Attempt.score],
        "percent": [percent_expr()],
        "level": [Case(Attempt.level, [(lv, n) for n, lv in enumerate(LEVELS)], None)],
        "events": [events_expr()],
    }[name]


def visible(user_id: int | None):
    """Attempts (with their quiz) one may see: all when `user_id` is None, else those of
    invitations the user created."""
    query = Attempt.select(Attempt, Quiz).join(Quiz).switch(Attempt)
    if user_id is not None:
        mine = Invitation.select(Invitation.id).where(Invitation.created_by == user_id)
        query = query.where(Attempt.invitation.in_(mine))
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def filtered(f: Filters, user_id: int | None):
    """Visible attempts matching the filters, sorted (newest first by default)."""
    query = visible(user_id)
    if f.quiz:
        query = query.where(Quiz.slug == f.quiz)
    if f.status:
        query = query.where(Attempt.status == f.status)
    if f.level:
        query = query.where(Attempt.level == f.level)
    if f.started_from:
        query = query.where(Attempt.started_at >= _day_start(f.started_from))
    if f.started_to and f.started_to < date.max:
        query = query.where(Attempt.started_at < _day_start(f.started_to + timedelta(days=1)))
    if f.min_percent is not None:
        query = query.where(percent_expr() >= f.min_percent)
    if f.max_percent is not None:
        query = query.where(percent_expr() <= f.max_percent)
    if f.search:
        query = query.where(
            Attempt.candidate_name.contains(f.search) | Attempt.candidate_email.contains(f.search)
        )
    keys = [*_sort_keys(f.sort), Attempt.id]
    direction = Asc if f.direction == "asc" else Desc
    order = [direction(k, nulls="last") for k in keys]
    return query.order_by(*order)


@dataclass
class Page:
    rows: list  # Attempt rows; each has .events (the number of integrity events)
    total: int
    number: int
    pages: int

    @property
    def first(self) -> int:
        return (self.number - 1) * PER_PAGE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.number * PER_PAGE, self.total)


def page(f: Filters, user_id: int | None) -> Page:
    """One page of the table; a page past the end shows the last page."""
    query = filtered(f, user_id)
    total = query.order_by().count()
    pages = max(1, -(-total // PER_PAGE))
    number = min(f.page, pages)
    # Sort and cut narrow rows (ids only), then read the 25 rows in full: sorting whole rows
    # of 100,000 attempts cost 4-10 times more on SQLite.
    ids = [i for (i,) in query.select(Attempt.id).paginate(number, PER_PAGE).tuples()]
    by_id = {
        a.id: a
        for a in Attempt.select(*TABLE_COLUMNS, Quiz.id, Quiz.slug, Quiz.title)
        .join(Quiz)
        .where(Attempt.id.in_(ids))
    }
    rows = [by_id[i] for i in ids]
    counts = dict(
        Event.select(Event.attempt, fn.COUNT(Event.id))
        .where(Event.attempt.in_([a.id for a in rows]))
        .group_by(Event.attempt)
        .tuples()
    )
    for attempt in rows:
        attempt.events = counts.get(attempt.id, 0)
    return Page(rows, total, number, pages)


@dataclass(frozen=True)
class Percentile:
    lower: int  # completed attempts of the quiz with a lower share of the points
    total: int  # completed attempts of the quiz, this one included

    @property
    def value(self) -> int:
        return round(100 * self.lower / self.total) if self.total else 0


def percentile(attempt: Attempt, minimum: int = 20) -> Percentile | None:
    """Where a completed attempt stands among the completed attempts of its quiz, once there
    are at least `minimum`. Compares shares of the points (cross-multiplied: no rounding), which
    is the score itself when every attempt has the same points."""
    if attempt.status not in COMPLETED or not attempt.max_score:
        return None
    lower = (Attempt.score * attempt.max_score) < (attempt.score * Attempt.max_score)
    row = (
        Attempt.select(
            fn.COUNT(Attempt.id).alias("total"),
            fn.SUM(Case(None, ((lower, 1),), 0)).alias("lower"),
        )
        .where(
            Attempt.quiz == attempt.quiz_id,
            Attempt.status.in_(COMPLETED),
            Attempt.max_score > 0,
        )
        .dicts()
        .get()
    )
    if row["total"] < minimum:
        return None
    return Percentile(int(row["lower"] or 0), row["total"])
