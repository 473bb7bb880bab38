"""Erasing candidates' personal data; anonymised answers stay for the statistics."""

from datetime import timedelta

from . import clock
from .db import database
from .models import Attempt, Invitation

ERASED = "(erased)"


def erase_invitation(invitation: Invitation) -> None:
    """Remove the name and e-mail of an invitation and of its attempts."""
    with database.atomic():
        Invitation.update(candidate_name=ERASED, candidate_email="").where(
            Invitation.id == invitation.id
        ).execute()
        Attempt.update(candidate_name=ERASED, candidate_email="").where(
            Attempt.invitation == invitation
        ).execute()


def purge(retention_days: int) -> int:
    """Erase personal data of invitations created more than `retention_days` ago; returns
    how many invitations were erased now."""
    cutoff = clock.now() - timedelta(days=retention_days)
    old = Invitation.select(Invitation.id).where(
        Invitation.created_at < cutoff, Invitation.candidate_name != ERASED
    )
    ids = [i.id for i in old]
    with database.atomic():
        Attempt.update(candidate_name=ERASED, candidate_email="").where(
            Attempt.invitation.in_(ids)
            | (
                (Attempt.started_at < cutoff)
                & (Attempt.candidate_name != ERASED)
                & (Attempt.candidate_name != "")
            )
        ).execute()
        Invitation.update(candidate_name=ERASED, candidate_email="").where(
            Invitation.id.in_(ids)
        ).execute()
    return len(ids)
