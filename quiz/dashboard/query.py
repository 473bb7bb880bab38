"""The attempts table in SQL: scope, filters, sort and pages (no Flask).

Sorting goes through the SORTS whitelist of orders: user input never becomes SQL. The page
reads its rows off indexes (see `order`); `filtered` is the whole sorted selection, for exports."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from peewee import SQL, Asc, Case, Desc, fn

from ..db import is_sqlite
from ..models import Attempt, Event, Invitation, Quiz, attempt_percent
from . import order
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
    return attempt_percent()


def events_expr():
    """How many integrity events the attempt has (a correlated subquery: use it on a page of
    rows, or in an export that reads every row anyway, never to sort or filter)."""
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
        "level": [Attempt.level],  # LEVELS sort alphabetically in their own order
        "events": [events_expr()],
    }[name]


def visible(user_id: int | None):
    """Attempts (with their quiz) one may see: all when `user_id` is None, else those of
    invitations the user created."""
    query = Attempt.select(Attempt, Quiz).join(Quiz).switch(Attempt)
    scope = _scope(user_id)
    return query.where(*scope) if scope else query


def _scope(user_id: int | None) -> list:
    if user_id is None:
        return []
    mine = Invitation.select(Invitation.id).where(Invitation.created_by == user_id)
    return [Attempt.invitation.in_(mine)]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def conditions(f: Filters, user_id: int | None) -> list:
    """The scope and the filters as conditions on the attempt alone (the quiz by a subquery,
    not a join), so that counting and sorting read the attempt's indexes only."""
    found = _scope(user_id)
    if f.quiz:
        found.append(Attempt.quiz == Quiz.select(Quiz.id).where(Quiz.slug == f.quiz))
    if f.status:
        found.append(Attempt.status == f.status)
    if f.level:
        found.append(Attempt.level == f.level)
    if f.started_from:
        found.append(Attempt.started_at >= _day_start(f.started_from))
    if f.started_to and f.started_to < date.max:
        found.append(Attempt.started_at < _day_start(f.started_to + timedelta(days=1)))
    if f.min_percent is not None:
        found.append(percent_expr() >= f.min_percent)
    if f.max_percent is not None:
        found.append(percent_expr() <= f.max_percent)
    if f.search:
        found.append(
            _contains(Attempt.candidate_name, f.search)
            | _contains(Attempt.candidate_email, f.search)
        )
    return found


def _contains(column, text: str):
    """The column holds `text`, whatever the case. On PostgreSQL strpos(lower(...)), which
    takes half the time of ILIKE per row (a search reads every attempt) and needs no escaping."""
    if is_sqlite():
        return column.contains(text)
    return fn.strpos(fn.lower(column), fn.lower(text)) > 0


def _sorted(query, f: Filters):
    keys = [*_sort_keys(f.sort), Attempt.id]
    direction = Asc if f.direction == "asc" else Desc
    return query.order_by(*[direction(k, nulls="last") for k in keys])


def filtered(f: Filters, user_id: int | None):
    """Visible attempts matching the filters, sorted (newest first by default), NULLs last:
    the same order as the table's pages."""
    query = Attempt.select(Attempt, Quiz).join(Quiz).switch(Attempt)
    found = conditions(f, user_id)
    return _sorted(query.where(*found) if found else query, f)


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


def _numbered(total: int, wanted: int) -> tuple[int, int]:
    """(the page to show, the number of pages): a page past the end shows the last one."""
    pages = max(1, -(-total // PER_PAGE))
    return min(wanted, pages), pages


def page(f: Filters, user_id: int | None) -> Page:
    """One page of the table; a page past the end shows the last page."""
    found = conditions(f, user_id)
    if f.search:
        return _searched(f, found)
    runs = order.runs(f.sort, f.direction == "desc", found)
    total = sum(run.count for run in runs)
    number, pages = _numbered(total, f.page)
    ids = order.page_ids(runs, found, (number - 1) * PER_PAGE, PER_PAGE)
    return Page(rows(ids), total, number, pages)


def _searched(f: Filters, found: list) -> Page:
    """A search reads every attempt, whatever the order (no index finds a word inside a name),
    so one pass both counts the matches (COUNT(*) OVER ()) and sorts them: half the reading of
    a count and then a page."""
    query = Attempt.select(Attempt.id, fn.COUNT(SQL("*")).over())
    if f.sort == "quiz":
        query = query.join(Quiz)
    ordered = _sorted(query.where(*found), f)

    def fetch(number: int) -> list[tuple[int, int]]:
        return list(ordered.paginate(number, PER_PAGE).tuples())

    got = fetch(f.page)
    if got or f.page == 1:
        total = got[0][1] if got else 0
        number, pages = _numbered(total, f.page)
    else:  # a page past the end
        total = Attempt.select(fn.COUNT(SQL("*"))).where(*found).scalar() or 0
        number, pages = _numbered(total, f.page)
        got = fetch(number) if total else []
    return Page(rows([i for i, _ in got]), total, number, pages)


def rows(ids: list[int]) -> list[Attempt]:
    """The table's rows of these attempts in this order, with their quiz and their number of
    integrity events (counted for these rows only)."""
    if not ids:
        return []
    found = (
        Attempt.select(
            *TABLE_COLUMNS, Quiz.id, Quiz.slug, Quiz.title, events_expr().alias("events")
        )
        .join(Quiz)
        .where(Attempt.id.in_(ids))
    )
    by_id = {a.id: a for a in found}
    return [by_id[i] for i in ids if i in by_id]


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
