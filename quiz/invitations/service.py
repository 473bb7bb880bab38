"""Invitations: tokens (only their hash is stored), status, and the attempt they lead to."""

from datetime import timedelta

from flask import current_app, has_app_context
from peewee import JOIN, fn

from .. import attempts, clock
from ..db import database, is_sqlite
from ..models import Attempt, Invitation, Quiz, User
from ..security import new_token, token_hash

STATUSES = ("invited", "opened", "started", "completed", "expired", "revoked")
MAX_DAYS = 90


def visible_to(user: User):
    """The invitations `user` may see: admins all, everyone else their own."""
    query = (
        Invitation.select(Invitation, Quiz, User)
        .join(Quiz)
        .switch(Invitation)
        .join(User, on=(Invitation.created_by == User.id), join_type=JOIN.LEFT_OUTER)
    )
    return query if user.role == "admin" else query.where(Invitation.created_by == user.id)


def create(
    quiz: Quiz,
    name: str,
    email: str,
    created_by: User | None,
    days: int = 7,
    time_limit: int | None = None,
    result_view: str = "none",
) -> tuple[Invitation, str]:
    """A new invitation and its token (256 random bits; shown once, stored as a hash)."""
    token = new_token(32)
    with database.atomic():
        invitation = Invitation.create(
            token_hash=token_hash(token),
            quiz=quiz,
            candidate_name=name,
            candidate_email=email,
            created_by=created_by,
            expires_at=clock.now() + timedelta(days=days),
            time_limit=time_limit,
            result_view=result_view,
            show_score=result_view != "none",
        )
    return invitation, token


REVOKED = "The hiring team withdrew the invitation"
REISSUED = "The hiring team replaced the invitation's link"


def end_attempts(invitation: Invitation, why: str) -> None:
    """Close the invitation's attempt in progress, scored with the answers it saved, and note
    why on it for reviewers (call inside the transaction that ends the invitation)."""
    threshold = current_app.config["LEVEL_THRESHOLD"] if has_app_context() else 0.6
    started = Attempt.invitation == invitation, Attempt.status == "in_progress"
    for attempt in Attempt.select().where(*started):
        attempts.finish(attempt, threshold, ended=why)


def revoke(invitation: Invitation) -> None:
    """The link stops working, and an attempt in progress ends."""
    with database.atomic():
        Invitation.update(revoked=True).where(Invitation.id == invitation.id).execute()
        end_attempts(invitation, REVOKED)


def reissue(invitation: Invitation) -> str:
    """A new token for the invitation: the old link, and every browser that used it, stop
    working, and an attempt in progress ends (the new link shows it as completed)."""
    token = new_token(32)
    with database.atomic():
        Invitation.update(token_hash=token_hash(token)).where(
            Invitation.id == invitation.id
        ).execute()
        end_attempts(invitation, REISSUED)
    return token


def by_token(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return Invitation.get_or_none(Invitation.token_hash == token_hash(token))


def latest_attempt(invitation: Invitation) -> Attempt | None:
    """The invitation's attempt, closed first if its deadline has passed."""
    attempt = (
        Attempt.select().where(Attempt.invitation == invitation).order_by(Attempt.id.desc()).first()
    )
    return attempts.close_if_due(attempt) if attempt else None


def status(invitation: Invitation, attempt: Attempt | None) -> str:
    """invited, opened, started, completed, expired or revoked."""
    if invitation.revoked:
        return "revoked"
    if attempt is not None:
        return "started" if attempt.open else "completed"
    if clock.now() >= invitation.expires_at:
        return "expired"
    return "opened" if invitation.opened_at else "invited"


def with_status(query, wanted: str):
    """Narrow an invitation query to one status, in SQL, as `status()` says it (so that a
    filtered list can be paged). Close due attempts first (`attempts.close_all_due`)."""
    now = clock.now()
    of_it = Attempt.select(Attempt.id).where(Attempt.invitation == Invitation.id)
    started = fn.EXISTS(of_it.where(Attempt.status == "in_progress"))
    none = ~fn.EXISTS(of_it)
    live = Invitation.revoked == False  # noqa: E712
    conditions = {
        "revoked": (Invitation.revoked == True,),  # noqa: E712
        "started": (live, started),
        "completed": (live, fn.EXISTS(of_it), ~started),
        "expired": (live, none, Invitation.expires_at <= now),
        "opened": (live, none, Invitation.expires_at > now, Invitation.opened_at.is_null(False)),
        "invited": (live, none, Invitation.expires_at > now, Invitation.opened_at.is_null()),
    }
    return query.where(*conditions[wanted]) if wanted in conditions else query


def usable(invitation: Invitation, attempt: Attempt | None) -> bool:
    """Whether the link may start (or resume) an attempt now."""
    return status(invitation, attempt) in ("invited", "opened", "started")


def mark_opened(invitation: Invitation) -> None:
    if invitation.opened_at is None:
        with database.atomic():
            Invitation.update(opened_at=clock.now()).where(
                Invitation.id == invitation.id, Invitation.opened_at.is_null()
            ).execute()


def start(invitation: Invitation, owner_key: str, name: str) -> Attempt:
    """The invitation's one attempt: started now, or the one already started."""
    with database.atomic():
        query = Invitation.select().where(Invitation.id == invitation.id)
        (query if is_sqlite() else query.for_update()).get()  # one starter at a time
        existing = Attempt.get_or_none(Attempt.invitation == invitation)
        if existing is not None:
            return existing
        quiz = Quiz.get_by_id(invitation.quiz_id)
        return attempts.start(
            quiz,
            owner_key,
            time_limit=invitation.time_limit or quiz.time_limit,
            invitation=invitation,
            candidate_name=name,
            candidate_email=invitation.candidate_email,
        )
