"""One helper decides between a full page and a fragment; views never read HX-* headers."""

from flask import make_response, redirect, render_template, request
from htmx_flask import Htmx

htmx = Htmx()


def init_app(app) -> None:
    htmx.init_app(app)

    @app.after_request
    def _vary(response):
        # One URL answers both a page and a fragment: caches must keep them apart.
        response.vary.add("HX-Request")
        return response


def wants_fragment() -> bool:
    """True for an htmx request that is neither boosted nor a history restore."""
    h = getattr(request, "htmx", None)
    return bool(h) and not h.boosted and not h.history_restore_request


def render(page: str, fragment: str | None = None, status: int = 200, headers=None, **context):
    """Render `fragment` for htmx requests, `page` (which includes it) otherwise."""
    template = fragment if fragment and wants_fragment() else page
    return make_response(render_template(template, **context), status, headers or {})


def go(url: str):
    """After a successful POST: 303 for plain requests, HX-Redirect for htmx."""
    if wants_fragment():
        return make_response("", 200, {"HX-Redirect": url})
    return redirect(url, 303)
