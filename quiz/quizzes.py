"""Which questions a quiz asks, and how it is described in the catalogue."""

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from peewee import fn

from .bank import topic_title
from .models import LEVELS, Question, Quiz

MINUTES_PER_QUESTION = {"junior": 1.0, "mid": 1.5, "senior": 2.0}


@dataclass(frozen=True)
class Row:
    """A question that can be asked: the current version of an active slug.

    `first` is the id of the slug's first version, so a new version keeps its place in
    the fixed order of a quiz (0: use `id`)."""

    id: int
    slug: str
    topic: str
    level: str
    first: int = 0


def pick(selection: dict, rows: list[Row], rng: random.Random | None = None) -> list[Row]:
    """Apply a quiz's selection rules to the active questions.

    {"questions": [slugs]} is a fixed list in that order; otherwise questions are filtered by
    "topics" and "levels", and "per_topic_level": n draws n per (topic, level) group, at
    random with `rng`, or the first n without one (for counting).
    """
    if selection.get("questions"):
        by_slug = {r.slug: r for r in rows}
        return [by_slug[s] for s in selection["questions"] if s in by_slug]
    topics, levels = selection.get("topics"), selection.get("levels")
    chosen = [
        r for r in rows if (not topics or r.topic in topics) and (not levels or r.level in levels)
    ]
    per_group = selection.get("per_topic_level")
    if per_group:
        groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in chosen:
            groups[(r.topic, r.level)].append(r)
        chosen = []
        for key in sorted(groups):
            members = groups[key]
            n = min(per_group, len(members))
            chosen += rng.sample(members, n) if rng else members[:n]
    return sorted(chosen, key=lambda r: (r.topic, LEVELS.index(r.level), r.first or r.id))


def active_rows() -> list[Row]:
    """The current version of every active question (one row per slug), in bank order."""
    first = dict(
        Question.select(Question.slug, fn.MIN(Question.id)).group_by(Question.slug).tuples()
    )
    query = Question.select(Question.id, Question.slug, Question.topic, Question.level).where(
        Question.current == True,  # noqa: E712 (a SQL expression)
        Question.active == True,  # noqa: E712
    )
    rows = [Row(i, slug, topic, level, first[slug]) for i, slug, topic, level in query.tuples()]
    return sorted(rows, key=lambda r: r.first)


def draw(quiz: Quiz, rng: random.Random) -> list[int]:
    """The question ids for a new attempt, in the order they will be asked."""
    chosen = pick(quiz.selection or {}, active_rows(), rng)
    if quiz.shuffle:
        rng.shuffle(chosen)
    return [r.id for r in chosen]


@dataclass(frozen=True)
class Summary:
    count: int
    topics: list[str]
    levels: list[str]
    minutes: int


# How long a worker keeps what the public catalogue shows. The catalogue is the same page for
# every visitor and computing it reads every active question; another worker may show a bank
# or quiz edit up to this many seconds late (the worker that made it forgets at once).
# Starting an attempt always reads the bank afresh.
LISTING_SECONDS = 5.0


@dataclass
class _Listing:
    expires: float
    rows: list[Row]
    summaries: dict = field(default_factory=dict)
    pages: dict = field(default_factory=dict)


def _listing() -> _Listing:
    now = time.monotonic()
    cached = current_app.extensions.get("quiz.listing")
    if cached is None or cached.expires <= now:
        cached = _Listing(now + LISTING_SECONDS, active_rows())
        current_app.extensions["quiz.listing"] = cached
    return cached


def listing(quiz: Quiz) -> Summary:
    """summarise(quiz) for the public pages, from this worker's short-lived cache."""
    cached = _listing()
    key = (quiz.id, json.dumps(quiz.selection, sort_keys=True), quiz.time_limit)
    if key not in cached.summaries:
        cached.summaries[key] = summarise(quiz, rows=cached.rows)
    return cached.summaries[key]


def shared_page(name: str, build: Callable[[], str]) -> str:
    """A page that is the same for every visitor without a session, built at most once per
    LISTING_SECONDS by this worker."""
    pages = _listing().pages
    if name not in pages:
        pages[name] = build()
    return pages[name]


def forget_listing() -> None:
    """Drop this worker's cached listing and pages (after the bank or a quiz changed)."""
    if has_app_context():
        current_app.extensions.pop("quiz.listing", None)


def summarise(quiz: Quiz, rows: list[Row] | None = None) -> Summary:
    """Number of questions, topics, levels and estimated minutes, for the catalogue."""
    chosen = pick(quiz.selection or {}, active_rows() if rows is None else rows)
    topics = sorted({r.topic for r in chosen})
    levels = [lv for lv in LEVELS if any(r.level == lv for r in chosen)]
    estimate = math.ceil(sum(MINUTES_PER_QUESTION[r.level] for r in chosen))
    minutes = min(estimate, quiz.time_limit) if quiz.time_limit else estimate
    return Summary(len(chosen), [topic_title(t) for t in topics], levels, minutes)
