"""Outgoing e-mail: every message is stored first, then sent over SMTP when configured."""

import logging
import smtplib
from email.message import EmailMessage

from flask import render_template

from . import clock
from .db import database
from .models import Email, Invitation

log = logging.getLogger(__name__)


def queue(to: str, subject: str, body: str, invitation: Invitation | None = None) -> Email:
    with database.atomic():
        return Email.create(to_address=to, subject=subject, body=body, invitation=invitation)


def deliver(config, messages: list[Email]) -> int:
    """Send unsent messages over one SMTP connection; returns how many went out. Failures
    are recorded on the message (and it stays unsent); without MAIL_SERVER nothing is sent."""
    pending = [m for m in messages if m.sent_at is None]
    if not config.get("MAIL_SERVER") or not pending:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        ) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            for message in pending:
                sent += _send_one(smtp, config["MAIL_FROM"], message)
    except (OSError, smtplib.SMTPException) as e:
        log.warning("mail server unavailable: %s", e)
        _record_error([m for m in pending if m.sent_at is None], f"mail server: {e}")
    return sent


def _send_one(smtp: smtplib.SMTP, sender: str, message: Email) -> int:
    mime = EmailMessage()
    mime["From"], mime["To"], mime["Subject"] = sender, message.to_address, message.subject
    mime.set_content(message.body)
    try:
        smtp.send_message(mime)
    except smtplib.SMTPRecipientsRefused as e:
        _record_error([message], f"refused: {e.recipients}")
        return 0
    message.sent_at = clock.now()
    with database.atomic():
        Email.update(sent_at=message.sent_at, error="").where(Email.id == message.id).execute()
    return 1


def _record_error(messages: list[Email], error: str) -> None:
    with database.atomic():
        Email.update(error=error[:500]).where(Email.id.in_([m.id for m in messages])).execute()


def invitation_email(invitation: Invitation, link: str, reminder: bool = False) -> Email:
    """Queue the e-mail that carries an invitation link."""
    quiz = invitation.quiz
    subject = ("Reminder: " if reminder else "") + f"Your invitation: {quiz.title}"
    body = render_template(
        "mail/invitation.txt",
        invitation=invitation,
        quiz=quiz,
        link=link,
        reminder=reminder,
        time_limit=invitation.time_limit or quiz.time_limit,
    )
    return queue(invitation.candidate_email, subject, body, invitation)
