"""Admins set the webhook URL (the signing secret is shown once) and read the delivery log."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for

from .. import confirm, webhooks
from ..auth.users import roles_required
from ..db import database
from ..errors import fail
from ..models import Webhook, WebhookDelivery
from . import bp

LOG_SIZE = 100


# WEBHOOK_* settings (timeout, backoff, tries) are read when the app registers this blueprint.
bp.record_once(lambda state: webhooks.configure(state.app.config))


def _url_error(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter an http:// or https:// address, such as https://example.com/hooks/quiz."
    if len(url) > 500:
        return "Keep the address under 500 characters."
    return None


def _page(errors=None, form=None, secret=None, status=200):
    webhook = webhooks.current()
    recent = []
    if webhook is not None:
        recent = list(
            WebhookDelivery.select()
            .where(WebhookDelivery.webhook == webhook)
            .order_by(WebhookDelivery.id.desc())
            .limit(5)
        )
    form = form or {"url": webhook.url if webhook else "", "active": not webhook or webhook.active}
    context = {"webhook": webhook, "recent": recent, "errors": errors or {}, "form": form}
    return render_template("bank_admin/webhook.html", secret=secret, **context), status


@bp.get("/webhook")
@roles_required("admin")
def webhook():
    return _page()


@bp.post("/webhook")
@roles_required("admin")
def save_webhook():
    form = {"url": request.form.get("url", "").strip(), "active": request.form.get("active") == "1"}
    problem = _url_error(form["url"])
    if problem:
        return _page({"url": problem}, form, status=400)
    with database.atomic():
        current = webhooks.current()
        if current is None:
            secret = webhooks.new_secret()
            Webhook.create(url=form["url"], active=form["active"], secret=secret)
        else:
            Webhook.update(url=form["url"], active=form["active"]).where(
                Webhook.id == current.id
            ).execute()
    if current is None:  # shown in this answer only: the receiver needs it to verify
        return _page(secret=secret)
    flash("Saved the webhook." if form["active"] else "Saved; the webhook is switched off.")
    return redirect(url_for(".webhook"), 303)


@bp.post("/webhook/rotate")
@roles_required("admin")
def rotate_webhook_secret():
    current = webhooks.current()
    if current is None:
        fail(404, "Set a webhook address first.")
    page = confirm.ask(
        "Replace the webhook's signing secret",
        [
            "The receiver must switch to the new secret: deliveries signed from now on fail "
            "its check with the old one."
        ],
        "Make a new secret",
        url_for(".webhook"),
    )
    if page is not None:
        return page
    secret = webhooks.new_secret()
    with database.atomic():
        Webhook.update(secret=secret).where(Webhook.id == current.id).execute()
    return _page(secret=secret)


@bp.get("/webhook/deliveries")
@roles_required("admin")
def webhook_deliveries():
    status = request.args.get("status", "")
    query = WebhookDelivery.select().order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)
    if status in ("pending", "delivered", "failed"):
        query = query.where(WebhookDelivery.status == status)
    else:
        status = ""
    return render_template(
        "bank_admin/webhook_deliveries.html", deliveries=list(query), status=status
    )


@bp.post("/webhook/deliveries/<int:delivery_id>/retry")
@roles_required("admin")
def retry_webhook_delivery(delivery_id):
    if WebhookDelivery.get_or_none(WebhookDelivery.id == delivery_id) is None:
        fail(404, "There is no such delivery.")
    if webhooks.retry_now(delivery_id):
        webhooks.send_soon([delivery_id])
        flash(f"Delivery {delivery_id} is being sent again; reload to see the outcome.")
    else:
        flash(f"Delivery {delivery_id} was already delivered.")
    return redirect(url_for(".webhook_deliveries"), 303)
