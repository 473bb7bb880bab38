"""Admins create API tokens for a user (shown once, stored hashed) and revoke them."""

from flask import flash, redirect, render_template, request, url_for

from .. import confirm
from ..api import tokens
from ..auth.users import roles_required
from ..errors import fail
from ..models import ApiToken, User
from . import bp


def _page(errors=None, form=None, created=None, status=200):
    rows = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .order_by(ApiToken.revoked, ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    users = User.select().where(User.active == True).order_by(User.email)  # noqa: E712
    context = {"rows": rows, "users": users, "errors": errors or {}, "form": form or {}}
    return render_template("bank_admin/api_tokens.html", created=created, **context), status


@bp.get("/api-tokens")
@roles_required("admin")
def api_tokens():
    return _page()


@bp.post("/api-tokens")
@roles_required("admin")
def create_api_token():
    form = {
        "user": request.form.get("user", "").strip().lower()[:254],
        "name": request.form.get("name", "").strip(),
    }
    errors = {}
    user = User.get_or_none(User.email == form["user"], User.active == True)  # noqa: E712
    if user is None:
        errors["user"] = "Choose an active account: the token acts as this user."
    if len(form["name"]) > 100:
        errors["name"] = "Keep the label under 100 characters."
    if errors:
        return _page(errors, form, status=400)
    row, token = tokens.create(user, form["name"])
    # Shown in this answer only (never stored, never in the session): copy it now.
    return _page(created={"row": row, "token": token, "user": user})


@bp.post("/api-tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_api_token(token_id):
    row = ApiToken.get_or_none(ApiToken.id == token_id)
    if row is None:
        fail(404, "There is no such API token.")
    page = confirm.ask(
        f"Revoke the API token “{row.name or row.id}”",
        ["Every program that uses this token gets 401 from now on; a new token is a new secret."],
        "Revoke the token",
        url_for(".api_tokens"),
    )
    if page is not None:
        return page
    tokens.revoke(row.id)
    flash(f"Revoked the token “{row.name or row.id}”: it no longer works.")
    return redirect(url_for(".api_tokens"), 303)
