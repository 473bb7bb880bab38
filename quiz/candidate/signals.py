"""Integrity signals: time spent per question and events (facts for reviewers, not verdicts).

Time is measured by the server: each question page carries a signed "shown" stamp (the
attempt, the question, the time in milliseconds), and the answer it sends back counts the time
since then (quiz.attempts.save_answer: each stamp once, never past the wall clock)."""

from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from .. import clock
from ..db import database
from ..models import Attempt, Event

EVENT_KINDS = ("focus_lost", "paste")
MAX_EVENTS = 500  # per attempt: a runaway script cannot fill the database


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="question-shown")


def _ms(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp() * 1000)


def shown_stamp(attempt: Attempt, question_id: int) -> str:
    """A signed note of when this question was shown, carried by its form."""
    return _serializer().dumps([attempt.public_id, question_id, _ms(clock.now())])


def shown_at(stamp: str | None, attempt: Attempt, question_id: int) -> datetime | None:
    """When this question was shown, from its stamp; None when the stamp is missing, forged,
    of another attempt or question, or from the future (the time is then unknown)."""
    try:
        public_id, qid, ms = _serializer().loads(stamp or "")
        at = datetime.fromtimestamp(int(ms) / 1000, UTC).replace(tzinfo=None)
    except (BadData, ValueError, TypeError, OverflowError, OSError):
        return None
    if public_id != attempt.public_id or qid != question_id or at > clock.now():
        return None
    return at


def record(attempt: Attempt, kind: str, detail: str) -> bool:
    """Store one event; False when the attempt already has the maximum number of events."""
    with database.atomic():
        if Event.select().where(Event.attempt == attempt).count() >= MAX_EVENTS:
            return False
        Event.create(attempt=attempt, kind=kind, detail=detail[:200], at=clock.now())
    return True
