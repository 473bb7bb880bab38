"""The signed-in user, session handling at sign-in/out, and role checks for views."""

import functools
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, has_app_context, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import database
from ..errors import fail
from ..models import ApiToken, User


def hash_password(password: str) -> str:
    """The stored form of a password (salted; PASSWORD_HASH_METHOD, scrypt by default)."""
    method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
    return generate_password_hash(password, method=method)


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked when the e-mail is unknown, so a wrong address costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (in constant-ish time)."""
    user = User.get_or_none(User.email == email.strip().lower()[:254])
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def current_user() -> User | None:
    """The signed-in, still active user for this request (read from the database)."""
    if "user" not in g:
        uid = session.get("uid")
        user = User.get_or_none(User.id == uid) if isinstance(uid, int) else None
        valid = user is not None and user.active and session.get("gen", 0) == user.generation
        g.user = user if valid else None
    return g.user


def sign_in(user: User) -> None:
    """New session id (no fixation), a fresh CSRF token, and the user's id."""
    current_app.session_interface.regenerate(session)
    session.pop("csrf_token", None)
    session["uid"] = user.id
    session["gen"] = user.generation
    g.user = user


def sign_out() -> None:
    """Forget everything: Flask-Session deletes the stored session and the cookie."""
    session.clear()
    g.user = None


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def roles_required(*roles: str):
    """Anonymous visitors go to sign-in; signed-in users without one of `roles` get 403.
    Admins may do everything."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                path = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("auth.login", next=path), 303)
            if user.role != "admin" and user.role not in roles:
                fail(403, "Your account does not have access to this page.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def deactivate(user: User) -> None:
    """End the account's access for good: its sessions (by moving its generation on) and its
    API tokens (revoked). Reactivating it later needs a new sign-in and new tokens."""
    with database.atomic():
        User.update(active=False, generation=User.generation + 1).where(
            User.id == user.id
        ).execute()
        ApiToken.update(revoked=True).where(ApiToken.user == user.id).execute()


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    if user.role == "reviewer":
        return url_for("dashboard.index")
    if user.role in ("admin", "recruiter"):
        return url_for("invitations.index")
    return url_for("candidate.catalogue")
