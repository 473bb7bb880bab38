"""Which attempts belong to this browser, and where it was in each (session: ids only)."""

from flask import session
from peewee import JOIN

from ..db import Prepared
from ..errors import fail
from ..models import Attempt, Invitation, Quiz
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


WITHDRAWN = (
    "The hiring team withdrew this invitation. The answers you gave were saved and "
    "submitted; nothing more can be added."
)
REPLACED = (
    "The hiring team replaced this invitation's link, so this browser can no longer open the "
    "attempt. The answers you gave were saved. Use the newest link you were sent."
)


def _link(invitation: Invitation) -> str:
    """Names the invitation's current link: it changes when the link is re-issued."""
    return invitation.token_hash[:16]


def _granted() -> dict:
    granted = session.get("granted")
    return granted if isinstance(granted, dict) else {}  # a list: from before links were named


def grant(attempt: Attempt, invitation: Invitation) -> None:
    """Let this browser use the attempt of the invitation link it holds, while that link
    is the invitation's current one (the link is the key, in any browser)."""
    granted = _granted()
    if granted.get(attempt.public_id) != _link(invitation):
        kept = [(pid, link) for pid, link in granted.items() if pid != attempt.public_id]
        session["granted"] = dict([*kept[-19:], (attempt.public_id, _link(invitation))])


_by_public_id = Prepared(
    lambda public_id: (
        Attempt.select(Attempt, Quiz, Invitation)
        .join(Quiz)
        .switch(Attempt)
        .join(Invitation, JOIN.LEFT_OUTER)
        .where(Attempt.public_id == public_id)
    )
)


def load(public_id: str) -> Attempt:
    """The attempt if this browser started it (a public quiz) or holds its invitation's
    current link; a 404 otherwise (never reveal that it exists), or a 410 to the browser of
    a link that was withdrawn or replaced."""
    attempt = _by_public_id.first(public_id[:64])
    if attempt is None:
        fail(404, NOT_FOUND)
    if attempt.invitation_id is None:
        key = owner_key()
        if key is None or not same(attempt.owner_key, key):
            fail(404, NOT_FOUND)
        return attempt
    link = _granted().get(attempt.public_id)
    if link is None:
        fail(404, NOT_FOUND)
    if attempt.invitation.revoked:
        fail(410, WITHDRAWN)
    if not same(link, _link(attempt.invitation)):
        fail(410, REPLACED)
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
