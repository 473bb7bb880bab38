"""Error pages in one place: a full page, or a small fragment for htmx requests."""

import logging

from flask import current_app
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

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
    log.error("database unavailable: %s", e)
    return _page(503, None)


def handle_500(e: InternalServerError):
    log.exception("unhandled error", exc_info=e.original_exception or e)
    try:
        return _page(500, None)
    except Exception:  # the error page itself failed: answer plainly
        return "Something went wrong. Please try again.", 500, {"Content-Type": "text/plain"}


def init_app(app) -> None:
    for code in MESSAGES:
        if code not in (500, 503):
            app.register_error_handler(code, handle_http)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(OperationalError, handle_database)
    app.register_error_handler(InterfaceError, handle_database)
    app.register_error_handler(500, handle_500)


def fail(code: int, message: str, link: tuple[str, str] | None = None):
    """Abort with `code` and a message for the person; `link` is (url, label) to offer."""
    exc = default_exceptions[code](description=message)
    exc.link = link
    raise exc
