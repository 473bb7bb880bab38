"""Webhooks: when an attempt completes, POST a signed JSON payload to the admin's URL.

- Queued in the database in the transaction that closes the attempt (quiz.events), so a
  delivery exists exactly when the attempt is completed, once (unique per attempt).
- Sent after the commit, from a background thread with a short timeout: finishing an
  attempt never waits for the receiver and never fails because of it.
- Failures are retried with exponential backoff by `manage.py deliver-webhooks` (run it
  every minute); a sender claims a delivery first, so two senders never send one twice.
- Signed like GitHub's webhooks: `X-Quiz-Signature: sha256=<hex HMAC-SHA256 of the body>`
  with the shared secret; `X-Quiz-Delivery` lets receivers ignore a repeat after a timeout.
"""

import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from . import clock, events
from .db import database
from .models import Attempt, Quiz, Webhook, WebhookDelivery
from .security import new_token

log = logging.getLogger(__name__)

EVENT = "attempt.completed"
USER_AGENT = "flask-quiz-webhooks/1"


@dataclass
class Settings:
    timeout: float = 5.0  # seconds per POST
    backoff: int = 30  # seconds before the first retry; doubled each time
    max_backoff: int = 6 * 3600
    max_tries: int = 10  # then the delivery is marked failed (an admin can retry it)
    send_after_commit: bool = True  # False: leave every send to deliver-webhooks

    @property
    def lease(self) -> timedelta:
        """How long a sender's claim lasts: longer than any send can take."""
        return timedelta(seconds=self.timeout * 2 + 30)


settings = Settings()


def configure(config) -> None:
    """Read WEBHOOK_* settings from an app's config (called when the app is built)."""
    global settings
    settings = Settings(
        timeout=float(config.get("WEBHOOK_TIMEOUT", Settings.timeout)),
        backoff=int(config.get("WEBHOOK_BACKOFF", Settings.backoff)),
        max_backoff=int(config.get("WEBHOOK_MAX_BACKOFF", Settings.max_backoff)),
        max_tries=int(config.get("WEBHOOK_MAX_TRIES", Settings.max_tries)),
        send_after_commit=bool(config.get("WEBHOOK_SEND_AFTER_COMMIT", True)),
    )


def new_secret() -> str:
    return "whsec_" + new_token(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header or "")


def current() -> Webhook | None:
    """The configured webhook (one per installation)."""
    return Webhook.select().order_by(Webhook.id).first()


def payload(attempt: Attempt, quiz: Quiz) -> str:
    """The JSON body announcing a completed attempt."""
    finished = attempt.finished_at
    return json.dumps(
        {
            "event": EVENT,
            "attempt": {
                "id": attempt.public_id,
                "quiz": quiz.slug,
                "quiz_title": quiz.title,
                "status": attempt.status,
                "candidate": {"name": attempt.candidate_name, "email": attempt.candidate_email},
                "invitation": attempt.invitation_id,
                "score": attempt.score,
                "max_score": attempt.max_score,
                "level": attempt.level,
                "finished_at": finished.replace(microsecond=0).isoformat() + "Z"
                if finished
                else None,
            },
        },
        separators=(",", ":"),
    )


@events.on_attempt_completed
def queue(attempt: Attempt) -> None:
    """Listener: queue a delivery in the finishing transaction; send it after the commit."""
    webhook = Webhook.select().where(Webhook.active == True).order_by(Webhook.id).first()  # noqa: E712
    if webhook is None:
        return
    queued = WebhookDelivery.select().where(
        WebhookDelivery.webhook == webhook,
        WebhookDelivery.attempt == attempt.id,
        WebhookDelivery.event == EVENT,
    )
    if queued.exists():  # finishing is idempotent, and so is this: never twice
        return
    now = clock.now()
    delivery = WebhookDelivery.create(
        webhook=webhook,
        attempt=attempt.id,
        event=EVENT,
        body=payload(attempt, Quiz.get_by_id(attempt.quiz_id)),
        next_try_at=now,
        created_at=now,
    )
    if settings.send_after_commit:
        database.after_commit(lambda: send_soon([delivery.id]))


# At most this many background senders at once (a batch of closing attempts must not start
# a thread each); a send that finds no free slot is left to deliver-webhooks.
_senders = threading.BoundedSemaphore(8)


def send_soon(ids: list[int]) -> None:
    """Deliver in a background thread (never raises: it runs inside commit)."""
    if not _senders.acquire(blocking=False):
        return
    try:
        args = (database.obj, ids, settings)
        threading.Thread(target=_send_all, args=args, name="webhook", daemon=True).start()
    except Exception:
        _senders.release()
        log.exception("could not start the webhook sender")


def _send_all(db, ids: list[int], options: Settings) -> None:
    try:
        if database.obj is not db:  # the app was rebuilt meanwhile (tests): not ours
            return
        with database.connection_context():
            for delivery_id in ids:
                deliver(delivery_id, options)
    except Exception:
        log.exception("webhook sender failed")
    finally:
        _senders.release()


def _claim(delivery_id: int, options: Settings) -> WebhookDelivery | None:
    """Take a due delivery for this sender, or None if another sender has it or it is not
    due. The claim is a conditional update, so exactly one sender wins."""
    now = clock.now()
    with database.atomic():
        taken = (
            WebhookDelivery.update(locked_until=now + options.lease)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_try_at <= now,
                WebhookDelivery.locked_until.is_null() | (WebhookDelivery.locked_until < now),
            )
            .execute()
        )
    return WebhookDelivery.get_by_id(delivery_id) if taken else None


def _post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str]:
    """POST without following redirects; (status, error text)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as e:
        return e.code, f"HTTP {e.code} {e.reason}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return None, f"{type(e).__name__}: {reason}"[:500]


def deliver(delivery_id: int, options: Settings | None = None) -> str | None:
    """Send one due delivery; returns "delivered", "retry", "failed", or None when it was
    not ours to send (not due, taken by another sender, already done)."""
    options = options or settings
    delivery = _claim(delivery_id, options)
    if delivery is None:
        return None
    webhook = Webhook.get_or_none(Webhook.id == delivery.webhook_id)
    if webhook is None or not webhook.active:
        with database.atomic():  # keep it for when the webhook is switched on again
            WebhookDelivery.update(locked_until=None).where(
                WebhookDelivery.id == delivery_id
            ).execute()
        return None
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Quiz-Event": delivery.event,
        "X-Quiz-Delivery": str(delivery.id),
        "X-Quiz-Signature": sign(webhook.secret, body),
    }
    status, problem = _post(webhook.url, body, headers, options.timeout)
    return _record(delivery, status, problem, options)


def _record(delivery: WebhookDelivery, status: int | None, problem: str, options) -> str:
    now = clock.now()
    tries = delivery.tries + 1
    values = {
        WebhookDelivery.tries: tries,
        WebhookDelivery.response_status: status,
        WebhookDelivery.locked_until: None,
    }
    if status is not None and 200 <= status < 300:
        outcome = "delivered"
        values.update({WebhookDelivery.status: outcome, WebhookDelivery.delivered_at: now})
        values[WebhookDelivery.error] = ""
    elif tries >= options.max_tries:
        outcome = "failed"
        values.update({WebhookDelivery.status: outcome, WebhookDelivery.error: problem})
    else:
        outcome = "retry"
        wait = min(options.backoff * 2 ** (tries - 1), options.max_backoff)
        values.update(
            {
                WebhookDelivery.next_try_at: now + timedelta(seconds=wait),
                WebhookDelivery.error: problem or f"HTTP {status}",
            }
        )
    with database.atomic():
        WebhookDelivery.update(values).where(WebhookDelivery.id == delivery.id).execute()
    return outcome


def due_ids(limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come, oldest first."""
    now = clock.now()
    query = (
        WebhookDelivery.select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_try_at <= now)
        .order_by(WebhookDelivery.next_try_at, WebhookDelivery.id)
        .limit(limit)
    )
    return [i for (i,) in query.tuples()]


def deliver_due(options: Settings | None = None, limit: int = 500) -> dict[str, int]:
    """Send every due delivery once; counts per outcome."""
    counts = {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0}
    for delivery_id in due_ids(limit):
        counts[deliver(delivery_id, options) or "skipped"] += 1
    return counts


def retry_now(delivery_id: int) -> bool:
    """Make a pending or failed delivery due now (an admin's "Retry"); False if unknown or
    already delivered."""
    with database.atomic():
        changed = (
            WebhookDelivery.update(status="pending", next_try_at=clock.now())
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status != "delivered")
            .execute()
        )
    return changed == 1


def prune(days: int) -> int:
    """Delete deliveries older than `days` (their bodies hold candidates' names)."""
    cutoff = clock.now() - timedelta(days=days)
    with database.atomic():
        return (
            WebhookDelivery.delete()
            .where(WebhookDelivery.created_at < cutoff, WebhookDelivery.status != "pending")
            .execute()
        )
