"""Attempts: start, answer, finish, and read back. Models in, models out; no request/session."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from peewee import EXCLUDED, fn

from . import clock, events, layout, scoring
from .db import Prepared, database, is_sqlite
from .models import Answer, Attempt, Choice, Question, Quiz
from .quizzes import draw
from .scoring import Key
from .security import new_token

_rng = random.SystemRandom()


class AttemptClosed(Exception):
    """The attempt no longer accepts answers (finished, or past its deadline)."""


def start(quiz: Quiz, owner_key: str, time_limit: int | None = None, **extra) -> Attempt:
    """Create an attempt with its question order frozen now."""
    now = clock.now()
    limit = time_limit if time_limit is not None else quiz.time_limit
    question_ids = draw(quiz, _rng)
    shown = layout.freeze(content(question_ids), question_ids, _rng, quiz.shuffle_choices)
    with database.atomic():
        return Attempt.create(
            public_id=new_token(16),
            owner_key=owner_key,
            quiz=quiz,
            question_ids=question_ids,
            layout=shown,
            started_at=now,
            deadline=now + timedelta(minutes=limit) if limit else None,
            **extra,
        )


# Questions cached per app, by row id. A question row's content and choices never change (an
# edit stores a new version), so a cached copy stays right; its `active` and `current` flags
# can go stale and are never read from here. Bounded: the cache empties when it is full.
CACHE_SIZE = 4096


def _cache() -> dict:
    if not has_app_context():
        return {}
    return current_app.extensions.setdefault("quiz.questions", {})


def forget_questions() -> None:
    """Empty this app's question cache (for code that rewrites a row in place: tests only)."""
    _cache().clear()


def content(question_ids: list[int]) -> dict[int, tuple[Question, tuple[Key, ...]]]:
    """Question id -> (question row, its choices as scoring keys in position order)."""
    cache = _cache()
    missing = [i for i in dict.fromkeys(question_ids) if i not in cache]
    if missing:
        if len(cache) + len(missing) > CACHE_SIZE:
            cache.clear()
        found: dict[int, list[Key]] = {i: [] for i in missing}
        columns = (Choice.question, Choice.id, Choice.text, Choice.correct, Choice.position)
        query = Choice.select(*columns).where(Choice.question.in_(missing))
        for question_id, *key in query.order_by(Choice.position).tuples():
            found[question_id].append(Key(*key))
        for q in Question.select().where(Question.id.in_(missing)):
            cache[q.id] = (q, tuple(found[q.id]))
    return {i: cache[i] for i in question_ids if i in cache}


def questions(attempt: Attempt) -> list[Question]:
    """The attempt's questions in its frozen order."""
    loaded = content(attempt.question_ids)
    return [loaded[i][0] for i in attempt.question_ids if i in loaded]


def keys(question_ids: list[int]) -> dict[int, tuple[Key, ...]]:
    """Question id -> its choices as scoring keys, in position order."""
    loaded = content(question_ids)
    return {i: loaded[i][1] if i in loaded else () for i in question_ids}


def answers(attempt: Attempt) -> dict[int, Answer]:
    """Question id -> the saved answer row."""
    return {a.question_id: a for a in Answer.select().where(Answer.attempt == attempt)}


def _lock(attempt: Attempt) -> Attempt:
    """Re-read the attempt inside the current write transaction (row lock on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already holds the database write lock)."""
    query = Attempt.select().where(Attempt.id == attempt.id)
    return (query if is_sqlite() else query.for_update()).get()


def _select_state(attempt_id: int):
    query = Attempt.select(Attempt.id, Attempt.status, Attempt.deadline, Attempt.started_at)
    query = query.where(Attempt.id == attempt_id)
    return query if is_sqlite() else query.for_update()


_state = Prepared(_select_state)


def due(attempt: Attempt, now: datetime | None = None) -> bool:
    """True when an open attempt has passed its deadline."""
    now = now or clock.now()
    return attempt.open and attempt.deadline is not None and now >= attempt.deadline


# Insert the answer, or replace the saved one, add the time spent and keep the last stamp.
UPSERTED = (
    Answer.attempt,
    Answer.question,
    Answer.response,
    Answer.correct,
    Answer.score,
    Answer.flagged,
    Answer.answered_at,
    Answer.time_spent,
    Answer.shown_at,
)  # in the model's order, as peewee renders an insert
_upsert = Prepared(
    lambda *values: Answer.insert(dict(zip(UPSERTED, values, strict=True))).on_conflict(
        conflict_target=[Answer.attempt, Answer.question],
        update={
            **{f: getattr(EXCLUDED, f.column_name) for f in UPSERTED[2:-2]},
            Answer.shown_at: fn.COALESCE(EXCLUDED.shown_at, Answer.shown_at),
            Answer.time_spent: Answer.time_spent + EXCLUDED.time_spent,
        },
    ),
    fields=UPSERTED,
)
_timing = Prepared(
    lambda attempt_id: (
        Answer.select(Answer.question, Answer.time_spent, Answer.shown_at)
        .where(Answer.attempt == attempt_id)
        .tuples()
    )
)
MAX_SPELL = 2 * 60 * 60  # seconds; longer "time on a question" means the page sat open


def _spell(current: Attempt, question_id: int, shown: datetime | None, now: datetime):
    """(seconds to add, stamp to keep) for an answer to a question shown at `shown`.

    Each stamp counts once: one no newer than the question's last counted stamp (a replayed
    form, an older tab) adds nothing. The attempt's time never exceeds the wall-clock time
    since it started, however many tabs send answers. No stamp: nothing is known."""
    if shown is None:
        return 0, None
    total, last = 0, None
    for qid, spent, at in _timing(current.id):
        total += spent
        if qid == question_id:
            last = at
    if last is not None and shown <= last:
        return 0, None
    wall = int((now - current.started_at).total_seconds()) - total
    return max(0, min(MAX_SPELL, int((now - shown).total_seconds()), wall)), shown


def save_answer(
    attempt: Attempt,
    question: Question,
    response: dict | None,
    flagged: bool,
    shown: datetime | None = None,
    choice_keys: Sequence[Key] | None = None,
) -> None:
    """Score and upsert one answer, committed before returning. Raises AttemptClosed.
    `shown`: when the candidate was shown the question (a verified stamp), None if unknown.
    `choice_keys`: the question's keys when the caller has them already (saves a query)."""
    now = clock.now()
    if choice_keys is None:
        choice_keys = keys([question.id])[question.id]
    scored = scoring.score_answer(question.kind, question.points, choice_keys, response)
    with database.atomic():
        current = _state.first(attempt.id)  # status and deadline, locked as _lock() does
        if not current.open or due(current, now):
            raise AttemptClosed
        spent, stamp = _spell(current, question.id, shown, now)
        row = (attempt.id, question.id, response, scored.correct, scored.score, flagged)
        row += (now if response else None, spent, stamp)
        if response is None and not flagged:
            # Nothing given: clear an earlier answer if there is one, create nothing.
            values = dict(zip(UPSERTED[2:-2], row[2:-2], strict=True))
            Answer.update(
                {
                    **values,
                    Answer.shown_at: fn.COALESCE(stamp, Answer.shown_at),
                    Answer.time_spent: Answer.time_spent + spent,
                }
            ).where(Answer.attempt == attempt, Answer.question == question).execute()
            return
        _upsert.run(*row)


def finish(attempt: Attempt, threshold: float = 0.6, ended: str = "") -> Attempt:
    """Close and score the attempt (once: a second call changes nothing).

    Past its deadline, the attempt closes as "expired" with the deadline as finish time.
    `ended`: why the hiring team closed it before the candidate finished."""
    now = clock.now()
    with database.atomic():
        current = _lock(attempt)
        if not current.open:
            return current
        expired = due(current, now)
        rows = _level_rows(current)
        by_level = scoring.totals((lv, s, m) for lv, s, m in rows)
        current.score = round(sum(s for _, s, _ in rows), 4)
        current.max_score = sum(m for _, _, m in rows)
        current.level = scoring.estimate_level(by_level, threshold)
        current.status = "expired" if expired else "submitted"
        current.finished_at = current.deadline if expired else now
        current.ended = "" if expired else ended
        current.save()
        events.attempt_completed(current)  # listeners write in this transaction
    return current


def close_all_due(threshold: float = 0.6) -> list[Attempt]:
    """Close and score every open attempt whose deadline has passed."""
    due = Attempt.select().where(Attempt.status == "in_progress", Attempt.deadline <= clock.now())
    return [finish(a, threshold) for a in due]


def close_if_due(attempt: Attempt, threshold: float = 0.6) -> Attempt:
    """Close an attempt whose deadline has passed; returns the current attempt."""
    return finish(attempt, threshold) if due(attempt) else attempt


def _level_rows(attempt: Attempt) -> list[tuple[str, float, float]]:
    """(level, score, points) for every question of the attempt."""
    scores = dict(
        Answer.select(Answer.question, Answer.score).where(Answer.attempt == attempt).tuples()
    )
    query = Question.select(Question.id, Question.level, Question.points).where(
        Question.id.in_(attempt.question_ids)
    )
    return [(q.level, scores.get(q.id, 0.0), float(q.points)) for q in query]


@dataclass(frozen=True)
class Progress:
    total: int
    answered: int
    flagged: int


_states = Prepared(
    lambda attempt_id: (
        Answer.select(Answer.question, Answer.response, Answer.flagged)
        .where(Answer.attempt == attempt_id)
        .tuples()
    )
)


def states(attempt: Attempt) -> dict[int, tuple[dict | None, bool]]:
    """Question id -> (saved response or None, flagged) for the attempt's saved answers."""
    return {q: (r, bool(f)) for q, r, f in _states(attempt.id)}


def progress(attempt: Attempt, saved: dict | None = None) -> Progress:
    """How many questions there are, are answered and are flagged (`saved`: from states())."""
    saved = states(attempt) if saved is None else saved
    answered = sum(1 for response, _ in saved.values() if response is not None)
    flagged = sum(1 for _, flag in saved.values() if flag)
    return Progress(len(attempt.question_ids), answered, flagged)
