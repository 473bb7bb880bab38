"""E-mail: delivered to a real SMTP server on 127.0.0.1, or kept in the outbox; reminders."""

import re
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from browser import free_port
from conftest import make_app
from test_auth import login, make_user, token

from quiz import clock
from quiz.db import close_all
from quiz.models import Email, Invitation


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def mailing_app(tmp_path, smtp):
    controller, _ = smtp
    app = make_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield app
    close_all()


def recruiter_client(app):
    client = app.test_client()
    make_user("rec@example.com", role="recruiter")
    login(client, "rec@example.com")
    return client


def invite(client, send="1", email="grace@example.com"):
    data = {
        "csrf_token": token(client, "/invitations/new"),
        "name": "Grace",
        "email": email,
        "quiz": "timed",
        "days": "7",
        "send_email": send,
    }
    return client.post("/invitations", data=data)


def body(message) -> str:
    """The text as a mail client shows it (quoted-printable decoded)."""
    return message.get_payload(decode=True).decode()


def link_in(message) -> str:
    return re.search(r"http://localhost/i/[A-Za-z0-9_-]{43}", body(message)).group(0)


def test_invitation_is_delivered_over_smtp(mailing_app, smtp):
    _, inbox = smtp
    client = recruiter_client(mailing_app)
    r = invite(client)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The link was e-mailed to grace@example.com" in page
    (message,) = inbox.messages
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == "Your invitation: Timed basics"
    assert "5 minutes" in body(message) and "Hello Grace" in body(message)
    link = link_in(message)
    assert link in page  # the same link the recruiter sees once
    assert mailing_app.test_client().get(link).status_code == 200
    assert Email.get().sent_at is not None


def test_the_e_mail_box_is_ticked_by_default(app):
    html = recruiter_client(app).get("/invitations/new").get_data(as_text=True)
    assert re.search(r'name="send_email" value="1" checked', html)


def test_unchecked_box_sends_nothing(mailing_app, smtp):
    client = recruiter_client(mailing_app)
    invite(client, send="")
    assert smtp[1].messages == [] and Email.select().count() == 0


def test_without_a_mail_server_the_outbox_keeps_it(app):
    client = recruiter_client(app)
    r = invite(client)
    assert "waits in the outbox" in client.get(r.headers["Location"]).get_data(as_text=True)
    message = Email.get()
    assert message.sent_at is None and message.error == ""
    admin = app.test_client()
    make_user("admin@example.com")
    login(admin, "admin@example.com")
    html = admin.get("/bank/outbox").get_data(as_text=True)
    assert "grace@example.com" in html and "waiting" in html and "/i/" in html
    assert client.get("/bank/outbox").status_code == 403  # recruiters do not read it


def test_a_dead_mail_server_loses_nothing(tmp_path):
    app = make_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    try:
        client = recruiter_client(app)
        r = invite(client)
        assert r.status_code == 303
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "could not be sent" in page and "/i/" in page  # the link is still shown
        message = Email.get()
        assert message.sent_at is None and "mail server" in message.error
        assert Invitation.select().count() == 1
    finally:
        close_all()


def test_waiting_messages_are_sent_from_the_outbox(mailing_app, smtp):
    from quiz import mail

    with mailing_app.app_context():
        mail.queue("a@example.com", "Hello", "Body")
    admin = mailing_app.test_client()
    make_user("admin@example.com")
    login(admin, "admin@example.com")
    r = admin.post("/bank/outbox/send", data={"csrf_token": token(admin, "/bank/outbox")})
    assert r.status_code == 303 and len(smtp[1].messages) == 1
    assert Email.get().sent_at is not None


def test_bulk_invitations_are_e_mailed(mailing_app, smtp):
    import io

    client = recruiter_client(mailing_app)
    data = {
        "csrf_token": token(client, "/invitations/bulk"),
        "quiz": "basics",
        "days": "7",
        "send_email": "1",
        "file": (io.BytesIO(b"name,email\nAda,ada@example.com\nAlan,alan@example.com\n"), "c.csv"),
    }
    r = client.post("/invitations/bulk", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    assert sorted(m["To"] for m in smtp[1].messages) == ["ada@example.com", "alan@example.com"]


def test_remind_sends_a_fresh_link_once(mailing_app, smtp, monkeypatch):
    _, inbox = smtp
    client = recruiter_client(mailing_app)
    invite(client, email="late@example.com")
    invite(client, email="started@example.com")
    first_link = link_in(inbox.messages[0])
    started_link = link_in(inbox.messages[1])
    candidate = mailing_app.test_client()
    html = candidate.get(started_link).get_data(as_text=True)
    t = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    candidate.post(
        started_link.replace("http://localhost", "") + "/start",
        data={"csrf_token": t, "name": "S", "consent": "1"},
    )
    runner = mailing_app.test_cli_runner()
    assert "Reminded 0 candidates" in runner.invoke(args=["remind", "--after-days", "2"]).output
    later = clock.now() + timedelta(days=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = runner.invoke(args=["remind", "--after-days", "2"])
    assert "Reminded 1 candidates; 1 e-mails sent" in result.output, result.output
    reminder = inbox.messages[-1]
    assert reminder["To"] == "late@example.com" and reminder["Subject"].startswith("Reminder:")
    new_link = re.search(r"http://127.0.0.1:5000/i/[A-Za-z0-9_-]{43}", body(reminder)).group(0)
    assert "earlier links for this invitation no longer work" in body(reminder)
    assert mailing_app.test_client().get(first_link).status_code == 404  # replaced
    path = new_link.replace("http://127.0.0.1:5000", "")
    assert mailing_app.test_client().get(path).status_code == 200
    assert "Reminded 0 candidates" in runner.invoke(args=["remind", "--after-days", "2"]).output
