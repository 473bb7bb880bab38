"""Recruiter pages. Recruiters see their own invitations; admins see all."""

import re
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for

from .. import attempts, clock, confirm, mail
from ..auth.users import current_user, roles_required
from ..db import database
from ..errors import fail
from ..models import RESULT_VIEWS, Attempt, Invitation, Quiz
from ..parsing import whole_number
from . import bp, service

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PAGE = 50  # invitations per page


def _visible():
    """Invitations the signed-in user may see."""
    return service.visible_to(current_user())


def _own(invitation_id: int) -> Invitation:
    invitation = _visible().where(Invitation.id == invitation_id).first()
    if invitation is None:
        fail(404, "There is no such invitation.")
    return invitation


def link_for(token: str) -> str:
    return url_for("candidate.invitation", token=token, _external=True)


@bp.get("")
@roles_required("recruiter")
def index():
    wanted = request.args.get("status", "")
    quiz_slug = request.args.get("quiz", "")
    search = request.args.get("q", "").strip()[:100]
    page = whole_number(request.args.get("page", "1"), 1, 10**6) or 1  # as the other lists
    attempts.close_all_due(current_app.config["LEVEL_THRESHOLD"])
    query = service.with_status(_visible(), wanted)
    if quiz_slug:
        query = query.where(Quiz.slug == quiz_slug)
    if search:
        query = query.where(
            Invitation.candidate_name.contains(search) | Invitation.candidate_email.contains(search)
        )
    total = query.count()
    pages = max(1, -(-total // PAGE))
    page = min(page, pages)
    query = query.order_by(Invitation.created_at.desc(), Invitation.id.desc())
    invitations = list(query.paginate(page, PAGE))
    latest = {
        a.invitation_id: a
        for a in Attempt.select()
        .where(Attempt.invitation.in_([i.id for i in invitations]))
        .order_by(Attempt.id)
    }
    rows = []
    for inv in invitations:
        attempt = latest.get(inv.id)
        rows.append((inv, service.status(inv, attempt), attempt))
    args = {k: v for k, v in (("q", search), ("status", wanted), ("quiz", quiz_slug)) if v}
    quizzes = Quiz.select().where(Quiz.active == True).order_by(Quiz.title)  # noqa: E712
    return render_template(
        "invitations/list.html",
        rows=rows,
        statuses=service.STATUSES,
        quizzes=quizzes,
        wanted=wanted,
        quiz_slug=quiz_slug,
        search=search,
        total=total,
        page=page,
        pages=pages,
        first=(page - 1) * PAGE + 1,
        last=(page - 1) * PAGE + len(rows),
        args=args,
    )


def _form_errors(form) -> dict[str, str]:
    errors = {}
    if not form["name"] or len(form["name"]) > 200:
        errors["name"] = "Enter the candidate's name (up to 200 characters)."
    if not EMAIL.match(form["email"]) or len(form["email"]) > 254:
        errors["email"] = "Enter an e-mail address such as name@example.com."
    if form["quiz"] is None:
        errors["quiz"] = "Choose a quiz."
    if whole_number(form["days"], 1, service.MAX_DAYS) is None:
        errors["days"] = f"Enter a whole number of days from 1 to {service.MAX_DAYS}."
    limit = form["time_limit"]
    if limit and whole_number(limit, 1, 600) is None:
        errors["time_limit"] = "Enter minutes from 1 to 600, or leave empty for the quiz's own."
    if form["result"] not in RESULT_VIEWS:
        errors["result"] = "Choose what the candidate sees at the end."
    return errors


def _quizzes():
    return Quiz.select().where(Quiz.active == True).order_by(Quiz.title)  # noqa: E712


@bp.get("/new")
@roles_required("recruiter")
def new():
    form = {"days": "7", "send_email": True, "result": "none"}  # e-mailing: the usual case
    return _new_page(form)


def _new_page(form, errors=None, status=200):
    return render_template(
        "invitations/new.html",
        quizzes=_quizzes(),
        errors=errors or {},
        form=form,
        result_views=RESULT_VIEWS,
    ), status


@bp.post("")
@roles_required("recruiter")
def create():
    slug = request.form.get("quiz", "")
    form = {
        "name": request.form.get("name", "").strip(),
        "email": request.form.get("email", "").strip().lower(),
        "quiz": Quiz.get_or_none(Quiz.slug == slug[:120], Quiz.active == True),  # noqa: E712
        "quiz_slug": slug,
        "days": request.form.get("days", "7").strip(),
        "time_limit": request.form.get("time_limit", "").strip(),
        "result": request.form.get("result", "none"),
        "send_email": request.form.get("send_email") == "1",
    }
    errors = _form_errors(form)
    if errors:
        return _new_page(form, errors, 400)
    invitation, token = service.create(
        form["quiz"],
        form["name"],
        form["email"],
        current_user(),
        int(form["days"]),
        int(form["time_limit"]) if form["time_limit"] else None,
        form["result"],
    )
    # The token is shown once, on the next page; only its hash stays in the database.
    session["new_link"] = {"id": invitation.id, "token": token}
    if form["send_email"]:
        send_link(invitation, token)
    return redirect(url_for(".created", invitation_id=invitation.id), 303)


def send_link(invitation: Invitation, token: str) -> None:
    """E-mail the link now (or leave it in the outbox) and say what happened."""
    message = mail.invitation_email(invitation, link_for(token))
    if mail.deliver(current_app.config, [message]):
        flash(f"The link was e-mailed to {invitation.candidate_email}.")
    elif current_app.config.get("MAIL_SERVER"):
        flash("The e-mail could not be sent; it waits in the outbox. Copy the link below.")
    else:
        flash("No mail server is configured: the e-mail waits in the outbox for an admin.")


@bp.get("/<int:invitation_id>/link")
@roles_required("recruiter")
def created(invitation_id):
    invitation = _own(invitation_id)
    pending = session.get("new_link") or {}
    token = pending.get("token") if pending.get("id") == invitation.id else None
    if token:
        session.pop("new_link")
    return render_template(
        "invitations/created.html", invitation=invitation, link=link_for(token) if token else None
    )


@bp.post("/<int:invitation_id>/revoke")
@roles_required("recruiter")
def revoke(invitation_id):
    invitation = _own(invitation_id)
    who = invitation.candidate_name
    page = confirm.ask(
        f"Revoke the invitation of {who}",
        [
            "The link stops working for good.",
            f"If {who} is taking the quiz, the attempt ends now, scored with the answers saved.",
        ],
        "Revoke the invitation",
        url_for(".index"),
    )
    if page is not None:
        return page
    service.revoke(invitation)
    flash(f"Revoked the invitation of {invitation.candidate_name}.")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:invitation_id>/extend")
@roles_required("recruiter")
def extend(invitation_id):
    invitation = _own(invitation_id)
    days = request.form.get("days", "7")
    if whole_number(days, 1, service.MAX_DAYS) is None:
        fail(400, f"Extend by 1 to {service.MAX_DAYS} days.")
    new_expiry = max(invitation.expires_at, clock.now()) + timedelta(days=int(days))
    with database.atomic():
        Invitation.update(expires_at=new_expiry).where(Invitation.id == invitation.id).execute()
    when = f"{new_expiry:%Y-%m-%d %H:%M} UTC"
    flash(f"The link of {invitation.candidate_name} now expires on {when}.")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:invitation_id>/reissue")
@roles_required("recruiter")
def reissue(invitation_id):
    invitation = _own(invitation_id)
    if invitation.revoked:
        fail(409, "This invitation is revoked; create a new one instead.")
    who = invitation.candidate_name
    page = confirm.ask(
        f"Send {who} a new link",
        [
            "The current link stops working, in every browser that opened it.",
            f"If {who} is taking the quiz, the attempt ends now, scored with the answers saved.",
        ],
        "Make a new link",
        url_for(".index"),
    )
    if page is not None:
        return page
    token = service.reissue(invitation)
    session["new_link"] = {"id": invitation.id, "token": token}
    if request.form.get("send_email") == "1":
        send_link(invitation, token)
    return redirect(url_for(".created", invitation_id=invitation.id), 303)


@bp.post("/<int:invitation_id>/erase")
@roles_required("admin")
def erase(invitation_id):
    """Erase the candidate's name and e-mail; the anonymised answers stay."""
    from ..privacy import erase_invitation

    invitation = _own(invitation_id)
    page = confirm.ask(
        f"Erase the personal data of {invitation.candidate_name}",
        [
            "The candidate's name and e-mail address, on the invitation and its attempts.",
            "The answers stay, anonymised, in the statistics and the attempts table.",
        ],
        "Erase the personal data",
        url_for(".index"),
    )
    if page is not None:
        return page
    erase_invitation(invitation)
    flash("The candidate's personal data was erased; the anonymised answers stay.")
    return redirect(url_for(".index"), 303)
