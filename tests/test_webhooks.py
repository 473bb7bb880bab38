"""Webhooks against a real HTTP receiver on 127.0.0.1: the admin page and its secret, the
signed payload, retries with exponential backoff, no duplicates, and finishing an attempt
that never waits for (or fails because of) the receiver."""

import hashlib
import hmac
import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import question_id
from test_auth import login, make_user, token

from quiz import attempts, clock, webhooks
from quiz.db import database
from quiz.integration_commands import COMMANDS
from quiz.models import Answer, Attempt, Quiz, Webhook, WebhookDelivery


class Receiver:
    """An HTTP server in a thread that records every POST and answers `statuses` in turn
    (then 200), optionally after a delay."""

    def __init__(self, statuses=(), delay=0.0):
        self.requests = []
        self.statuses = list(statuses)
        self.delay = delay
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with receiver.arrived:
                    receiver.requests.append((dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/quiz"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(), delay=0.0):
        made.append(Receiver(statuses, delay))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def admin(app, client):
    make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    for command in COMMANDS:  # registered by quiz.cli once the lead wires them in
        app.cli.commands.setdefault(command.name, command)
    return client


def set_webhook(client, url: str) -> str:
    """Save the webhook on the admin page; returns the secret shown (once)."""
    r = client.post(
        "/bank/webhook",
        data={"csrf_token": token(client, "/bank/webhook"), "url": url, "active": "1"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    return re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', r.get_data(as_text=True)).group(1)


def finish_attempt(candidate, slug="basics"):
    """A candidate answers the first question right and finishes; returns the attempt."""
    pid = candidate.start(slug)
    choice = candidate.client.get(f"/attempts/{pid}?q=1").get_data(as_text=True)
    value = re.search(r'name="choice" value="([^"]+)"', choice)
    fields = {"choice": value.group(1)} if value else {}
    candidate.answer(pid, 1, "t-single", **fields)
    started = time.monotonic()
    r = candidate.finish(pid)
    assert r.status_code == 303
    return Attempt.get(Attempt.public_id == pid), time.monotonic() - started


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def delivery_of(attempt) -> WebhookDelivery:
    return WebhookDelivery.get(WebhookDelivery.attempt == attempt.id)


# --------------------------------------------------------------------------- the page


def test_secret_is_shown_once_and_signs(admin, receiver):
    hook = receiver()
    secret = set_webhook(admin, hook.url)
    assert secret.startswith("whsec_")
    page = admin.get("/bank/webhook").get_data(as_text=True)
    assert secret not in page and hook.url in page
    assert Webhook.get().secret == secret  # kept: every body is signed with it
    # A new secret replaces the old one, shown once too.
    r = admin.post(
        "/bank/webhook/rotate", data={"csrf_token": token(admin, "/bank/webhook"), "confirm": "1"}
    )
    new = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', r.get_data(as_text=True)).group(1)
    assert new != secret and Webhook.get().secret == new


@pytest.mark.parametrize("url", ["", "ftp://example.com/x", "javascript:alert(1)", "http://"])
def test_bad_urls_are_refused(admin, url):
    r = admin.post("/bank/webhook", data={"csrf_token": token(admin, "/bank/webhook"), "url": url})
    assert r.status_code == 400 and "http:// or https://" in r.get_data(as_text=True)
    assert Webhook.select().count() == 0


def test_only_admins(app, world_users):
    for email, code in (("reviewer@example.com", 403), ("recruiter@example.com", 403)):
        client = app.test_client()
        login(client, email)
        assert client.get("/bank/webhook").status_code == code
        assert client.get("/bank/webhook/deliveries").status_code == code


@pytest.fixture
def world_users(app):
    for role in ("reviewer", "recruiter"):
        make_user(f"{role}@example.com", role=role)


# --------------------------------------------------------------------------- delivery


def test_completed_attempt_is_posted_signed(admin, receiver, make_candidate):
    hook = receiver()
    secret = set_webhook(admin, hook.url)
    attempt, _ = finish_attempt(make_candidate())
    (headers, body), *more = hook.wait_for(1)
    assert not more
    # What a receiver does, computed here independently of the app's code:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Quiz-Signature"], expected)
    assert webhooks.verify(secret, body, headers["X-Quiz-Signature"])
    assert not webhooks.verify("whsec_wrong", body, headers["X-Quiz-Signature"])
    assert not webhooks.verify(secret, body + b" ", headers["X-Quiz-Signature"])
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Quiz-Event"] == "attempt.completed"
    data = json.loads(body)["attempt"]
    attempt = Attempt.get_by_id(attempt.id)
    assert data["id"] == attempt.public_id and data["quiz"] == "basics"
    assert (data["score"], data["max_score"], data["level"]) == (
        attempt.score,
        attempt.max_score,
        attempt.level,
    )
    assert data["finished_at"] == attempt.finished_at.replace(microsecond=0).isoformat() + "Z"
    assert set(data["candidate"]) == {"name", "email"}
    assert wait_until(lambda: delivery_of(attempt).status == "delivered")
    d = delivery_of(attempt)
    assert (d.tries, d.response_status) == (1, 200)
    assert headers["X-Quiz-Delivery"] == str(d.id)


def test_failing_receiver_is_retried_with_backoff_until_delivered(
    admin, receiver, make_candidate, runner, monkeypatch
):
    hook = receiver(statuses=[500, 503])
    set_webhook(admin, hook.url)
    attempt, _ = finish_attempt(make_candidate())
    hook.wait_for(1)
    assert wait_until(lambda: delivery_of(attempt).tries == 1)
    first = delivery_of(attempt)
    assert first.status == "pending" and first.response_status == 500
    assert first.next_try_at - first.created_at >= timedelta(seconds=29)  # 30 s backoff

    def deliver_at(moment):
        monkeypatch.setattr(clock, "now", lambda: moment)
        result = runner.invoke(args=["deliver-webhooks"])
        assert result.exit_code == 0, result.output
        return result.output

    # Not due yet: nothing is sent.
    assert "0 delivered, 0 to retry" in deliver_at(first.next_try_at - timedelta(seconds=1))
    assert len(hook.requests) == 1
    # Due: sent again, fails again; the next pause doubles (60 s).
    assert "1 to retry later" in deliver_at(first.next_try_at)
    second = delivery_of(attempt)
    assert second.tries == 2 and second.response_status == 503
    assert second.next_try_at - first.next_try_at == timedelta(seconds=60)
    assert len(hook.requests) == 2
    # Due again: the receiver answers 200 this time.
    assert "1 delivered" in deliver_at(second.next_try_at)
    done = delivery_of(attempt)
    assert done.status == "delivered" and done.tries == 3 and done.delivered_at
    # Later runs send nothing more.
    deliver_at(second.next_try_at + timedelta(days=1))
    assert len(hook.requests) == 3
    bodies = {body for _, body in hook.requests}
    signatures = {h["X-Quiz-Signature"] for h, _ in hook.requests}
    assert len(bodies) == 1 and len(signatures) == 1  # the same signed bytes each time
    log = admin.get("/bank/webhook/deliveries").get_data(as_text=True)
    assert f"#{done.id}" in log and "delivered" in log


def test_gives_up_after_the_last_try_and_an_admin_can_retry(
    admin, receiver, make_candidate, app, monkeypatch
):
    app.config["WEBHOOK_MAX_TRIES"] = 2
    webhooks.configure(app.config)
    hook = receiver(statuses=[500, 500])
    set_webhook(admin, hook.url)
    attempt, _ = finish_attempt(make_candidate())
    assert wait_until(lambda: delivery_of(attempt).tries == 1)
    later = delivery_of(attempt).next_try_at
    monkeypatch.setattr(clock, "now", lambda: later)
    with database.connection_context():
        assert webhooks.deliver_due() == {"delivered": 0, "retry": 0, "failed": 1, "skipped": 0}
    assert delivery_of(attempt).status == "failed"
    monkeypatch.undo()
    csrf = token(admin, "/bank/webhook/deliveries")
    d = delivery_of(attempt)
    r = admin.post(f"/bank/webhook/deliveries/{d.id}/retry", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert wait_until(lambda: delivery_of(attempt).status == "delivered")
    assert len(hook.wait_for(3)) == 3
    r = admin.post("/bank/webhook/deliveries/99999/retry", data={"csrf_token": csrf})
    assert r.status_code == 404


def test_no_duplicates_when_senders_race(admin, receiver, app):
    """Four senders (commands on four workers) run at once: one POST per delivery."""
    app.config["WEBHOOK_SEND_AFTER_COMMIT"] = False
    webhooks.configure(app.config)
    hook = receiver(delay=0.3)
    set_webhook(admin, hook.url)
    quiz = Quiz.get(Quiz.slug == "basics")
    for n in range(3):
        attempts.finish(attempts.start(quiz, f"owner-{n}"))
    assert WebhookDelivery.select().count() == 3
    assert hook.requests == []  # nothing sent until a sender runs

    def sender():
        with database.connection_context():
            webhooks.deliver_due()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    time.sleep(0.5)
    delivered = [h["X-Quiz-Delivery"] for h, _ in hook.requests]
    assert sorted(delivered) == sorted({str(d.id) for d in WebhookDelivery.select()})
    assert WebhookDelivery.select().where(WebhookDelivery.status == "delivered").count() == 3


def test_finishing_twice_queues_one_delivery(admin, receiver, app):
    hook = receiver()
    set_webhook(admin, hook.url)
    attempt = attempts.start(Quiz.get(Quiz.slug == "basics"), "owner")
    attempts.finish(attempt)
    attempts.finish(attempt)
    hook.wait_for(1)
    time.sleep(0.3)
    assert WebhookDelivery.select().count() == 1 and len(hook.requests) == 1


def test_finishing_never_waits_for_a_slow_receiver(admin, receiver, make_candidate):
    hook = receiver(delay=2.0)
    set_webhook(admin, hook.url)
    attempt, took = finish_attempt(make_candidate())
    assert took < 1.0  # the receiver takes 2 s; the candidate does not wait for it
    assert Attempt.get_by_id(attempt.id).status == "submitted"
    hook.wait_for(1, timeout=5)
    assert wait_until(lambda: delivery_of(attempt).status == "delivered")


def test_unreachable_receiver_never_breaks_finishing(admin, make_candidate, receiver):
    gone = receiver()
    url = gone.url
    gone.close()  # nothing listens there any more
    set_webhook(admin, url)
    attempt, took = finish_attempt(make_candidate())
    assert took < 1.0 and Attempt.get_by_id(attempt.id).status == "submitted"
    assert wait_until(lambda: delivery_of(attempt).tries == 1)
    d = delivery_of(attempt)
    assert d.status == "pending" and d.response_status is None and "Error" in d.error


def test_a_failing_queue_never_stops_an_attempt_closing(admin, receiver, monkeypatch):
    hook = receiver()
    set_webhook(admin, hook.url)

    def broken(*args):
        raise RuntimeError("payload bug")

    monkeypatch.setattr(webhooks, "payload", broken)
    attempt = attempts.finish(attempts.start(Quiz.get(Quiz.slug == "basics"), "owner"))
    assert Attempt.get_by_id(attempt.id).status == "submitted"  # committed all the same
    assert WebhookDelivery.select().count() == 0


def test_expired_attempts_are_announced_too(admin, receiver, monkeypatch):
    hook = receiver()
    set_webhook(admin, hook.url)
    attempt = attempts.start(Quiz.get(Quiz.slug == "timed"), "owner")
    Answer.create(attempt=attempt, question=question_id("t-single"), response={"x": 1}, score=1)
    later = attempt.deadline + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    closed = attempts.close_if_due(attempt)
    assert closed.status == "expired"
    (_, body), *_ = hook.wait_for(1)
    data = json.loads(body)["attempt"]
    assert data["status"] == "expired" and data["score"] == 1.0


def test_switched_off_webhook_sends_nothing(admin, receiver):
    hook = receiver()
    set_webhook(admin, hook.url)
    r = admin.post(
        "/bank/webhook", data={"csrf_token": token(admin, "/bank/webhook"), "url": hook.url}
    )
    assert r.status_code == 303 and not Webhook.get().active
    attempts.finish(attempts.start(Quiz.get(Quiz.slug == "basics"), "owner"))
    time.sleep(0.3)
    assert hook.requests == [] and WebhookDelivery.select().count() == 0
