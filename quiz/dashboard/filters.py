"""The attempts table's filters and sort, parsed from query-string values (no Flask).

Every value is checked against a whitelist or parsed; a bad value is dropped with a note for
the reviewer, never an error."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ..models import LEVELS, STATUSES
from ..parsing import whole_number

SORTS = (
    "candidate",
    "quiz",
    "status",
    "started",
    "finished",
    "score",
    "percent",
    "level",
    "events",
)
DEFAULT_SORT, DEFAULT_DIR = "started", "desc"
MAX_SEARCH = 100
MAX_PAGE = 1_000_000

# Filters field -> query-string name (the form's field names).
PARAMS = {
    "quiz": "quiz",
    "status": "status",
    "level": "level",
    "started_from": "from",
    "started_to": "to",
    "min_percent": "min",
    "max_percent": "max",
    "search": "q",
    "sort": "sort",
    "direction": "dir",
    "page": "page",
}
DEFAULTS = {"sort": DEFAULT_SORT, "direction": DEFAULT_DIR, "page": 1}


@dataclass(frozen=True)
class Filters:
    quiz: str = ""  # a quiz slug
    status: str = ""
    level: str = ""
    started_from: date | None = None
    started_to: date | None = None  # inclusive
    min_percent: float | None = None
    max_percent: float | None = None
    search: str = ""
    sort: str = DEFAULT_SORT
    direction: str = DEFAULT_DIR
    page: int = 1
    notes: tuple[str, ...] = field(default=(), compare=False)

    def args(self, **changes) -> dict[str, str]:
        """Query-string values of the non-default settings (with `changes` applied)."""
        if changes.keys() - PARAMS.keys():
            raise TypeError(f"not a filter: {', '.join(changes.keys() - PARAMS.keys())}")
        out = {}
        for name, param in PARAMS.items():  # every field but the notes, in field order
            value = changes[name] if name in changes else getattr(self, name)
            if value in (None, "") or DEFAULTS.get(name) == value:
                continue
            out[param] = _text(value)
        return out

    def flip(self, column: str) -> dict[str, str]:
        """Args to sort by `column`: ascending first, or the other way if already sorted by it."""
        direction = "desc" if self.sort == column and self.direction == "asc" else "asc"
        return self.args(sort=column, direction=direction, page=1)


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return value.isoformat() if isinstance(value, date) else str(value)


def _choice(value: str, allowed, what: str, notes: list[str]) -> str:
    if value and value not in allowed:
        notes.append(f"Ignored the {what} “{value[:40]}”: it is not one of the choices.")
        return ""
    return value


def _date(value: str, what: str, notes: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        notes.append(f"Ignored the {what} “{value[:40]}”: enter a date as YYYY-MM-DD.")
        return None


def _percent(value: str, what: str, notes: list[str]) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= number <= 100:
        notes.append(f"Ignored the {what} “{value[:40]}”: enter a number from 0 to 100.")
        return None
    return number


def parse(args: Mapping[str, str], quiz_slugs) -> Filters:
    """Filters from query-string values; `quiz_slugs` are the quizzes one may filter by."""
    notes: list[str] = []

    def get(name: str) -> str:
        return (args.get(name) or "").strip()

    page_text = get("page") or "1"
    page = whole_number(page_text, 1, MAX_PAGE)
    if page is None:
        notes.append(f"Ignored the page “{page_text[:40]}”: showing page 1.")
    return Filters(
        quiz=_choice(get("quiz"), set(quiz_slugs), "quiz", notes),
        status=_choice(get("status"), STATUSES, "status", notes),
        level=_choice(get("level"), LEVELS, "level", notes),
        started_from=_date(get("from"), "start date", notes),
        started_to=_date(get("to"), "end date", notes),
        min_percent=_percent(get("min"), "lowest percent", notes),
        max_percent=_percent(get("max"), "highest percent", notes),
        search=get("q")[:MAX_SEARCH],
        sort=_choice(get("sort"), SORTS, "sort column", notes) or DEFAULT_SORT,
        direction=_choice(get("dir"), ("asc", "desc"), "sort order", notes) or DEFAULT_DIR,
        page=page or 1,
        notes=tuple(notes),
    )
