"""API tokens: created for a user, shown once, stored as a SHA-256 hash. No Flask."""

from datetime import timedelta

from .. import clock
from ..db import database
from ..models import ApiToken, User
from ..security import new_token, token_hash

PREFIX = "qz_"  # recognisable in logs and by secret scanners
TOUCH_EVERY = timedelta(minutes=1)  # how often "last used" is written (not on every request)


def create(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token acting as `user`; the token itself is returned once and never stored."""
    token = PREFIX + new_token(32)
    with database.atomic():
        row = ApiToken.create(user=user, name=name.strip()[:100], token_hash=token_hash(token))
    return row, token


def authenticate(raw: str) -> User | None:
    """The active user of a valid, unrevoked token; None otherwise."""
    if not raw or len(raw) > 200:
        return None
    row = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .where(
            ApiToken.token_hash == token_hash(raw),
            ApiToken.revoked == False,  # noqa: E712 (SQL)
            User.active == True,  # noqa: E712
        )
        .first()
    )
    if row is None:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        with database.atomic():
            ApiToken.update(last_used_at=now).where(ApiToken.id == row.id).execute()
    return row.user


def revoke(token_id: int) -> bool:
    """Revoke a token; False if there is no such token."""
    with database.atomic():
        return ApiToken.update(revoked=True).where(ApiToken.id == token_id).execute() == 1
