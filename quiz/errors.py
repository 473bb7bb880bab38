"""Error pages in one place: a full page, or a small fragment for htmx requests."""

import logging

from flask import current_app, g, jsonify, request
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from peewee import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from .db import database
from .htmx import render

log = logging.getLogger(__name__)

# (title, what the person can do about it) for werkzeug's generic descriptions.
MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Not found", "There is nothing at this address. Check the link you followed."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Conflict", "This action no longer fits the current state. Reload the page."),
    410: ("Gone", "This link is no longer valid."),
    413: ("Too large", "What you sent is too large."),
    429: ("Too many requests", "Slow down and try again in a minute."),
    500: ("Something went wrong", "An unexpected error occurred; it has been logged."),
    503: (
        "Temporarily unavailable",
        "The service cannot reach its storage right now. Please try again in a moment; "
        "nothing you submitted just now was saved.",
    ),
}
CSRF_MESSAGE = (
    "This form has expired or did not come from this site. Reload the page and try again."
)
# The session store (Redis) or the database cannot be reached: an outage, not a bug.
SESSION_ERRORS = (RedisConnectionError, RedisTimeoutError)
STORAGE_ERRORS = (OperationalError, InterfaceError, StorageError, *SESSION_ERRORS)
SESSION_FAILED = "quiz.session_store_failed"  # WSGI environ key
RETRY_AFTER = "5"  # seconds; storage outages are usually short


def _page(code: int, description: str | None, link: tuple[str, str] | None = None):
    title, default = MESSAGES.get(code, (f"Error {code}", ""))
    context = {"code": code, "title": title, "message": description or default, "link": link}
    return render("errors/error.html", "errors/_error.html", status=code, **context)


def handle_http(e: HTTPException):
    generic = e.description == type(e).description
    return _page(e.code, None if generic else e.description, getattr(e, "link", None))


def handle_csrf(e: CSRFError):
    return _page(400, CSRF_MESSAGE)


def handle_database(e: Exception):
    if current_app.testing:
        raise e  # in tests a broken query is a bug to see, not an outage to hide
    return unavailable(e)


def unavailable(e: Exception):
    """503 for a storage outage: a page or fragment (JSON under /api/), one log line, no
    traceback; the next request tries the storage again, so recovery needs no restart."""
    log.error("storage unavailable: %s: %s", type(e).__name__, e)
    if isinstance(e, OperationalError | InterfaceError):
        drop_connection()
    if isinstance(e, SESSION_ERRORS):
        request.environ[SESSION_FAILED] = e  # answer without saving the session
    g.user = None  # the page must not ask the database who is signed in
    headers = {"Retry-After": RETRY_AFTER}
    if request.path.startswith("/api/"):
        body = {"status": 503, "error": "Service Unavailable", "message": MESSAGES[503][1]}
        return jsonify(body), 503, headers
    response = _page(503, None)
    response.headers.update(headers)
    return response


def drop_connection() -> None:
    """Close this thread's connection for good instead of returning it to the pool: it may
    be broken, or opened read-only while the file was, and would fail every later request."""
    obj = database.obj
    try:
        if obj is not None and not obj.is_closed():
            (obj.manual_close if hasattr(obj, "manual_close") else obj.close)()
        if hasattr(obj, "close_idle"):
            obj.close_idle()  # the pool's idle connections date from the outage too
    except Exception as e:  # closing a broken connection may fail too; it is gone either way
        log.warning("could not close the failed connection: %s", e)


def guard_sessions(app) -> None:
    """A session store outage becomes an ordinary error of the request.

    Flask opens the session before any handler can catch an error, and saves it after the
    error page is built: an unreachable Redis would give a bare 500 and a traceback. Here
    opening fails softly (an empty, never-saved session), and the first before_request hook
    raises the error where the 503 handler catches it."""
    interface = app.session_interface
    plain_open, plain_save = interface.open_session, interface.save_session

    def open_session(app_, req):
        try:
            return plain_open(app_, req)
        except SESSION_ERRORS as e:
            req.environ[SESSION_FAILED] = e
            return interface.make_null_session(app_)

    def save_session(app_, session, response):
        if SESSION_FAILED in request.environ:
            return  # the store is down: do not fail a second time while answering 503
        try:
            plain_save(app_, session, response)
        except SESSION_ERRORS as e:
            request.environ[SESSION_FAILED] = e
            raise

    def session_store_down():
        e = request.environ.get(SESSION_FAILED)
        if e is not None:
            raise e

    interface.open_session, interface.save_session = open_session, save_session
    app.before_request_funcs.setdefault(None, []).insert(0, session_store_down)


def handle_500(e: InternalServerError):
    original = e.original_exception
    if isinstance(original, STORAGE_ERRORS):
        # Raised where Flask does not look for our handlers (opening or saving the
        # session happens outside the view): still an outage.
        return unavailable(original)
    log.exception("unhandled error", exc_info=original or e)
    try:
        return _page(500, None)
    except Exception:  # the error page itself failed: answer plainly
        return "Something went wrong. Please try again.", 500, {"Content-Type": "text/plain"}


def init_app(app) -> None:
    for code in MESSAGES:
        if code not in (500, 503):
            app.register_error_handler(code, handle_http)
    app.register_error_handler(CSRFError, handle_csrf)
    for error in STORAGE_ERRORS:
        app.register_error_handler(error, handle_database)
    app.register_error_handler(500, handle_500)
    guard_sessions(app)


def fail(code: int, message: str, link: tuple[str, str] | None = None):
    """Abort with `code` and a message for the person; `link` is (url, label) to offer."""
    exc = default_exceptions[code](description=message)
    exc.link = link
    raise exc
