"""Attempts: start, answer, finish, and read back. Models in, models out; no request/session."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from . import clock, events, scoring
from .db import database, is_sqlite
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
    with database.atomic():
        return Attempt.create(
            public_id=new_token(16),
            owner_key=owner_key,
            quiz=quiz,
            question_ids=draw(quiz, _rng),
            started_at=now,
            deadline=now + timedelta(minutes=limit) if limit else None,
            **extra,
        )


def questions(attempt: Attempt) -> list[Question]:
    """The attempt's questions in its frozen order."""
    by_id = {q.id: q for q in Question.select().where(Question.id.in_(attempt.question_ids))}
    return [by_id[i] for i in attempt.question_ids if i in by_id]


def keys(question_ids: list[int]) -> dict[int, list[Key]]:
    """Question id -> its choices as scoring keys, in position order."""
    result: dict[int, list[Key]] = {i: [] for i in question_ids}
    query = Choice.select().where(Choice.question.in_(question_ids)).order_by(Choice.position)
    for c in query:
        result[c.question_id].append(Key(c.id, c.text, c.correct, c.position))
    return result


def answers(attempt: Attempt) -> dict[int, Answer]:
    """Question id -> the saved answer row."""
    return {a.question_id: a for a in Answer.select().where(Answer.attempt == attempt)}


def _lock(attempt: Attempt) -> Attempt:
    """Re-read the attempt inside the current write transaction (row lock on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already holds the database write lock)."""
    query = Attempt.select().where(Attempt.id == attempt.id)
    return (query if is_sqlite() else query.for_update()).get()


def due(attempt: Attempt, now: datetime | None = None) -> bool:
    """True when an open attempt has passed its deadline."""
    now = now or clock.now()
    return attempt.open and attempt.deadline is not None and now >= attempt.deadline


def save_answer(
    attempt: Attempt,
    question: Question,
    response: dict | None,
    flagged: bool,
    spent: int = 0,
    choice_keys: list[Key] | None = None,
) -> None:
    """Score and upsert one answer, committed before returning. Raises AttemptClosed.
    `choice_keys`: the question's keys when the caller has them already (saves a query)."""
    now = clock.now()
    if choice_keys is None:
        choice_keys = keys([question.id])[question.id]
    scored = scoring.score_answer(question.kind, question.points, choice_keys, response)
    with database.atomic():
        current = _lock(attempt)
        if not current.open or due(current, now):
            raise AttemptClosed
        values = {
            Answer.response: response,
            Answer.correct: scored.correct,
            Answer.score: scored.score,
            Answer.flagged: flagged,
            Answer.answered_at: now if response else None,
        }
        if response is None and not flagged:
            # Nothing given: clear an earlier answer if there is one, create nothing.
            Answer.update({**values, Answer.time_spent: Answer.time_spent + spent}).where(
                Answer.attempt == attempt, Answer.question == question
            ).execute()
            return
        row = {Answer.attempt: attempt, Answer.question: question, Answer.time_spent: spent}
        Answer.insert({**row, **values}).on_conflict(
            conflict_target=[Answer.attempt, Answer.question],
            update={**values, Answer.time_spent: Answer.time_spent + spent},
        ).execute()


def finish(attempt: Attempt, threshold: float = 0.6) -> Attempt:
    """Close and score the attempt (once: a second call changes nothing).

    Past its deadline, the attempt closes as "expired" with the deadline as finish time."""
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
        current.save()
        events.attempt_completed(current)  # listeners write in this transaction
    return current


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


def progress(attempt: Attempt) -> Progress:
    """How many questions there are, are answered and are flagged."""
    row = (
        Answer.select(
            fn.COUNT(Answer.response).alias("answered"),
            fn.SUM(Answer.flagged.cast("integer")).alias("flagged"),
        )
        .where(Answer.attempt == attempt)
        .dicts()
        .get()
    )
    return Progress(len(attempt.question_ids), row["answered"] or 0, int(row["flagged"] or 0))
