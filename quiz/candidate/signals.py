"""Integrity signals: time spent per question and events (facts for reviewers, not verdicts)."""

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from .. import clock
from ..db import database
from ..models import Attempt, Event

EVENT_KINDS = ("focus_lost", "paste")
MAX_EVENTS = 500  # per attempt: a runaway script cannot fill the database
MAX_SPELL = 2 * 60 * 60  # seconds; longer "time on a question" means the page sat open


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="question-shown")


def shown_stamp(attempt: Attempt, question_id: int) -> str:
    """A signed note of when this question was shown, carried by its form."""
    return _serializer().dumps([attempt.public_id, question_id, int(clock.now().timestamp())])


def seconds_since(stamp: str | None, attempt: Attempt, question_id: int) -> int:
    """Seconds since the stamp was made for this question; 0 if it is missing or not ours."""
    try:
        public_id, qid, at = _serializer().loads(stamp or "")
    except (BadData, ValueError, TypeError):
        return 0
    if public_id != attempt.public_id or qid != question_id:
        return 0
    return max(0, min(MAX_SPELL, int(clock.now().timestamp()) - int(at)))


def record(attempt: Attempt, kind: str, detail: str) -> bool:
    """Store one event; False when the attempt already has the maximum number of events."""
    with database.atomic():
        if Event.select().where(Event.attempt == attempt).count() >= MAX_EVENTS:
            return False
        Event.create(attempt=attempt, kind=kind, detail=detail[:200], at=clock.now())
    return True
