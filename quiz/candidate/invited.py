"""The invited candidate's link: landing, consent, start or resume (from any browser)."""

from flask import redirect, render_template, request, url_for

from ..errors import fail
from ..invitations import service
from ..models import User
from ..quizzes import summarise
from . import bp, ownership


def _gone(invitation) -> None:
    contact = User.get_or_none(User.id == invitation.created_by_id)
    who = f" Contact {contact.email} if you need a new link." if contact else ""
    fail(410, f"This invitation link has expired or was withdrawn.{who}")


def _load(token: str):
    invitation = service.by_token(token)
    if invitation is None:
        fail(404, "There is no invitation at this address. Check the link you were sent.")
    attempt = service.latest_attempt(invitation)
    if invitation.revoked or (attempt is None and not service.usable(invitation, None)):
        _gone(invitation)
    return invitation, attempt


def _landing(invitation, attempt, errors=None, name=None, status=200):
    return render_template(
        "candidate/invitation.html",
        invitation=invitation,
        attempt=attempt,
        quiz=invitation.quiz,
        summary=summarise(invitation.quiz),
        time_limit=invitation.time_limit or invitation.quiz.time_limit,
        errors=errors or {},
        name=invitation.candidate_name if name is None else name,
    ), status


@bp.get("/i/<token>")
def invitation(token):
    invitation, attempt = _load(token)
    service.mark_opened(invitation)
    if attempt is not None:
        ownership.grant(attempt, invitation)  # the link is the key: resume from any browser
    return _landing(invitation, attempt)


@bp.post("/i/<token>/start")
def start_invited(token):
    invitation, attempt = _load(token)
    if attempt is None:
        name = request.form.get("name", "").strip()
        errors = {}
        if not name or len(name) > 200:
            errors["name"] = "Enter your name as it should appear to the hiring team."
        if request.form.get("consent") != "1":
            errors["consent"] = "Please confirm that you have read how your answers are used."
        if errors:
            return _landing(invitation, None, errors, name, 400)
        if not summarise(invitation.quiz).count:  # every question switched off meanwhile
            fail(409, "This quiz has no questions at the moment. Please try again later.")
        attempt = service.start(invitation, ownership.owner_key(create=True), name)
    ownership.grant(attempt, invitation)
    if not attempt.open:
        return redirect(url_for(".result", public_id=attempt.public_id), 303)
    n = ownership.position(attempt)
    ownership.remember(attempt, n)
    return redirect(url_for(".question", public_id=attempt.public_id, q=n), 303)
