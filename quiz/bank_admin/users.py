"""Admins add staff accounts, change roles, and deactivate or reactivate them."""

import re

from flask import flash, redirect, render_template, request, url_for

from .. import confirm
from ..auth.users import current_user, deactivate, hash_password, roles_required
from ..db import database
from ..errors import fail
from ..models import ROLES, User
from . import bp

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def _page(errors=None, form=None, status=200):
    users = User.select().order_by(User.active.desc(), User.email)
    return render_template(
        "bank_admin/users.html",
        users=users,
        roles=ROLES,
        errors=errors or {},
        form=form or {},
        me=current_user(),
    ), status


@bp.get("/users")
@roles_required("admin")
def users():
    return _page()


def _new_user_errors(form) -> dict[str, str]:
    errors = {}
    if not EMAIL.match(form["email"]) or len(form["email"]) > 254:
        errors["email"] = "Enter an e-mail address such as name@example.com."
    elif User.get_or_none(User.email == form["email"]):
        errors["email"] = "An account with this e-mail already exists."
    if form["role"] not in ROLES:
        errors["role"] = "Choose a role."
    if len(form["password"]) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters."
    if len(form["name"]) > 200:
        errors["name"] = "Keep the name under 200 characters."
    return errors


@bp.post("/users")
@roles_required("admin")
def add_user():
    form = {
        "email": request.form.get("email", "").strip().lower(),
        "name": request.form.get("name", "").strip(),
        "role": request.form.get("role", ""),
        "password": request.form.get("password", ""),
    }
    errors = _new_user_errors(form)
    if errors:
        return _page(errors, form, 400)
    with database.atomic():
        User.create(
            email=form["email"],
            name=form["name"] or form["email"].split("@")[0],
            role=form["role"],
            password_hash=hash_password(form["password"]),
        )
    flash(f"Added {form['role']} {form['email']}.")
    return redirect(url_for(".users"), 303)


def _active_admins() -> int:
    return User.select().where(User.role == "admin", User.active == True).count()  # noqa: E712


@bp.post("/users/<int:user_id>")
@roles_required("admin")
def update_user(user_id):
    user = User.get_or_none(User.id == user_id)
    if user is None:
        fail(404, "There is no such account.")
    role = request.form.get("role", user.role)
    active = {"1": True, "0": False}.get(request.form.get("active", "1" if user.active else "0"))
    if role not in ROLES or active is None:
        fail(400, "Choose one of the listed roles.")
    demoting = user.role == "admin" and user.active and (role != "admin" or not active)
    if user.id == current_user().id and demoting:
        fail(409, "You cannot remove your own admin access. Ask another admin.")
    if user.active and not active:
        page = confirm.ask(
            f"Deactivate {user.email}",
            [
                "Every session of this account ends now.",
                "Its API tokens are revoked for good: reactivating the account brings neither "
                "back (a new sign-in and new tokens are needed).",
            ],
            "Deactivate the account",
            url_for(".users"),
        )
        if page is not None:
            return page
    with database.atomic():
        if demoting and _active_admins() <= 1:
            fail(409, "This is the last active admin; add another admin first.")
        User.update(role=role).where(User.id == user.id).execute()
        if user.active and not active:
            deactivate(user)  # its sessions and API tokens end for good
        elif active and not user.active:
            User.update(active=True).where(User.id == user.id).execute()
    flash(f"Updated {user.email}: {role}, {'active' if active else 'deactivated'}.")
    return redirect(url_for(".users"), 303)
