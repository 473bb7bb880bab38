"""The JSON API under /api/v1: bearer tokens (never cookies, so no CSRF), JSON for every
answer including errors, and an OpenAPI 3 document at /api/v1/openapi.json."""

import functools

from flask import Blueprint, current_app, g, jsonify, request
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, Unauthorized, default_exceptions

from ..errors import MESSAGES, drop_connection
from ..security import csrf
from . import tokens

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
PREFIX = "/api/v1"


def error(code: int, message: str, fields: dict | None = None):
    """Abort with a JSON error; `fields` maps a parameter or body field to what is wrong."""
    exc = default_exceptions[code](description=message)
    exc.fields = fields
    raise exc


def json_error(e: HTTPException):
    generic = e.description == type(e).description
    message = MESSAGES.get(e.code, (e.name, f"{e.name}."))[1] if generic else e.description
    body = {"status": e.code, "error": e.name, "message": message}
    if getattr(e, "fields", None):
        body["fields"] = e.fields
    response = jsonify(body)
    response.status_code = e.code
    for name, value in e.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    if e.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


for _code in (400, 401, 403, 404, 405, 409, 413, 415, 429, 500):
    bp.register_error_handler(_code, json_error)


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_unavailable(e):
    if current_app.testing:
        raise e
    current_app.logger.error("database unavailable: %s", e)
    drop_connection()  # a broken connection must not go back to the pool
    return json_error(default_exceptions[503]("The database cannot be reached; try again."))


@bp.before_app_request
def routing_errors():
    """Unknown paths and methods under /api/v1 answer JSON too (Flask finds no blueprint
    for a request that matches no route, so the blueprint's handlers would not run)."""
    exc = request.routing_exception
    under = request.path == PREFIX or request.path.startswith(PREFIX + "/")
    if under and isinstance(exc, HTTPException) and (exc.code or 0) >= 400:
        return json_error(exc)
    return None


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized("Send an API token in the header `Authorization: Bearer <token>`.")
    user = tokens.authenticate(raw.strip())
    if user is None:
        raise Unauthorized(
            "This API token is not valid: unknown, revoked, or of a deactivated user."
        )
    g.api_user = user


def allow(*roles: str):
    """Only users with one of `roles` (admins always) may call the operation."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = g.api_user
            if user.role != "admin" and user.role not in roles:
                error(403, f"A {user.role}'s token cannot use this operation.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


from . import views  # noqa: E402,F401  (routes register on bp)
