"""Which attempts belong to this browser, and where it was in each (session: ids only)."""

from flask import session

from ..db import Prepared
from ..errors import fail
from ..models import Attempt, Quiz
from ..security import new_token, same, token_hash

NOT_FOUND = "There is no attempt at this address. Check the link, or start the quiz again."


def owner_key(create: bool = False) -> str | None:
    """The hash of this browser's candidate key; the key lives only in the server session."""
    key = session.get("candidate")
    if key is None:
        if not create:
            return None
        key = session["candidate"] = new_token(32)
    return token_hash(key)


def grant(attempt: Attempt) -> None:
    """Let this browser use an attempt it did not start (it holds the invitation link)."""
    granted = session.get("granted", [])
    if attempt.public_id not in granted:
        session["granted"] = [*granted[-19:], attempt.public_id]


_by_public_id = Prepared(
    lambda public_id: Attempt.select(Attempt, Quiz).join(Quiz).where(Attempt.public_id == public_id)
)


def load(public_id: str) -> Attempt:
    """The attempt if this browser owns it or holds its invitation; a 404 otherwise (never
    reveal that it exists)."""
    attempt = _by_public_id.first(public_id[:64])
    if attempt is None:
        fail(404, NOT_FOUND)
    key = owner_key()
    owned = key is not None and same(attempt.owner_key, key)
    if not owned and attempt.public_id not in session.get("granted", []):
        fail(404, NOT_FOUND)
    return attempt


def position(attempt: Attempt) -> int:
    """The question this browser was last on (1-based)."""
    n = session.get("pos", {}).get(attempt.public_id, 1)
    return n if isinstance(n, int) and 1 <= n <= len(attempt.question_ids) else 1


def remember(attempt: Attempt, n: int | None) -> None:
    """Store the position (None forgets it); writes the session only on change."""
    positions = session.get("pos", {})
    if positions.get(attempt.public_id) == n:
        return
    positions = dict(positions)
    if n is None:
        positions.pop(attempt.public_id, None)
    else:
        positions[attempt.public_id] = n
    session["pos"] = positions
