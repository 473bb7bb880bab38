"""Sign in and sign out."""

from flask import flash, redirect, render_template, request, url_for

from ..security import limiter
from . import bp
from .users import authenticate, current_user, home_for, safe_next, sign_in, sign_out


def _account_key() -> str:
    return "account:" + request.form.get("email", "").strip().lower()[:254]


def _failed(response) -> bool:
    return response.status_code == 401


# Failed sign-ins only (deduct_when): per IP and per account. The storage is Redis when
# configured, so every worker shares the counts.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per 15 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login():
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        user = current_user()
        if user is not None:
            return redirect(target or home_for(user), 303)
        return render_template("auth/login.html", next=target, email="", error=None)
    email = request.form.get("email", "")
    user = authenticate(email, request.form.get("password", ""))
    if user is None:
        error = "That e-mail and password do not match an active account."
        return render_template("auth/login.html", next=target, email=email, error=error), 401
    sign_in(user)
    flash(f"Signed in as {user.email}.")
    return redirect(target or home_for(user), 303)


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("candidate.catalogue"), 303)
