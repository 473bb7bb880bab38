"""Bulk invitations from a CSV upload: all rows are created, or none."""

from flask import current_app, flash, redirect, render_template, request, session, url_for

from .. import mail
from ..auth.users import current_user, roles_required
from ..db import database
from ..models import Invitation
from ..parsing import whole_number
from . import bp, csvfile, service
from .views import _quizzes, _visible, link_for


@bp.get("/bulk")
@roles_required("recruiter")
def bulk():
    return render_template("invitations/bulk.html", quizzes=_quizzes(), errors=[], form={})


@bp.post("/bulk")
@roles_required("recruiter")
def bulk_create():
    upload = request.files.get("file")
    form = {"quiz": request.form.get("quiz", ""), "days": request.form.get("days", "7")}
    quizzes = {q.slug: q for q in _quizzes()}
    errors = []
    if upload is None or not upload.filename:
        errors.append("Choose a CSV file to upload.")
    if whole_number(form["days"], 1, service.MAX_DAYS) is None:
        errors.append(f"Enter a whole number of days from 1 to {service.MAX_DAYS}.")
    rows = []
    if not errors:
        rows, errors = csvfile.parse(upload.read(), set(quizzes), form["quiz"] or None)
    if errors:
        return render_template(
            "invitations/bulk.html", quizzes=quizzes.values(), errors=errors, form=form
        ), 400
    created = []
    with database.atomic():  # all or nothing
        for row in rows:
            invitation, token = service.create(
                quizzes[row.quiz], row.name, row.email, current_user(), int(form["days"])
            )
            created.append([invitation.id, token])
    session["new_links"] = created  # shown once on the next page, then dropped
    if request.form.get("send_email") == "1":
        by_id = {
            i.id: i for i in Invitation.select().where(Invitation.id.in_([i for i, _ in created]))
        }
        messages = [mail.invitation_email(by_id[i], link_for(t)) for i, t in created]
        sent = mail.deliver(current_app.config, messages)
        flash(f"{sent} of {len(messages)} e-mails sent; the rest wait in the outbox.")
    return redirect(url_for(".bulk_created"), 303)


@bp.get("/bulk/links")
@roles_required("recruiter")
def bulk_created():
    pairs = session.pop("new_links", [])
    by_id = {i.id: i for i in _visible().where(Invitation.id.in_([p[0] for p in pairs]))}
    links = [(by_id[i], link_for(t)) for i, t in pairs if i in by_id]
    return render_template("invitations/bulk_created.html", links=links)
