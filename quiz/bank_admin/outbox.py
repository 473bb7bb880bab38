"""The outbox: every e-mail the app wrote, whether it was sent, and why not."""

from flask import current_app, flash, redirect, render_template, url_for

from .. import mail
from ..auth.users import roles_required
from ..models import Email
from . import bp


@bp.get("/outbox")
@roles_required("admin")
def outbox():
    messages = Email.select().order_by(Email.created_at.desc(), Email.id.desc()).limit(200)
    return render_template(
        "bank_admin/outbox.html", messages=messages, server=current_app.config.get("MAIL_SERVER")
    )


@bp.post("/outbox/send")
@roles_required("admin")
def send_waiting():
    waiting = list(Email.select().where(Email.sent_at.is_null()).limit(1000))
    sent = mail.deliver(current_app.config, waiting)
    flash(f"Sent {sent} of {len(waiting)} waiting e-mails.")
    return redirect(url_for(".outbox"), 303)
