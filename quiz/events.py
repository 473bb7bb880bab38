"""Domain events: a module subscribes a function; the domain announces what happened.

`attempt_completed` is called by quiz.attempts.finish inside its write transaction, so a
listener's writes (statistics, a queued webhook delivery) commit or roll back with the
attempt. Each listener runs in its own savepoint and its failure is logged, never raised:
a listener can never stop an attempt from closing. Work that must wait for the commit
(network calls) belongs in `database.after_commit`.
"""

import logging
from collections.abc import Callable

from .db import database

log = logging.getLogger(__name__)

_completed: list[Callable] = []


def on_attempt_completed(fn: Callable) -> Callable:
    """Subscribe `fn(attempt)` to completed attempts (finished or closed at the deadline)."""
    if fn not in _completed:
        _completed.append(fn)
    return fn


def attempt_completed(attempt) -> None:
    """Tell every subscriber that `attempt` has just been closed and scored."""
    for fn in list(_completed):
        try:
            with database.atomic():  # a savepoint: a failed listener leaves nothing behind
                fn(attempt)
        except Exception:
            log.exception("listener %s failed for attempt %s", fn.__qualname__, attempt.id)
