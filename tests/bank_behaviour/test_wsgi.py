"""Behaviour behind the answers keyed in quiz/bank/wsgi.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask, Werkzeug,
Gunicorn and the standard library; each is named after the question slug. Only the questions
whose choices were last revised are covered.
"""

import os
import sys
from wsgiref.validate import check_environ

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request


def make_app():
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    return app


def test_wsgi_callable_signature():
    app = make_app()
    statuses = []
    environ = EnvironBuilder("/").get_environ()
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["200 OK"] and list(body) == [b"ok"]
    with pytest.raises(TypeError):
        app(Request(environ))  # not a Request -> Response callable
    with pytest.raises(TypeError):
        app(environ)  # environ alone is not enough: start_response is required


def test_wsgi_wrap_wsgi_app():
    class Count:
        def __init__(self, wsgi_app):
            self.wsgi_app, self.calls = wsgi_app, 0

        def __call__(self, environ, start_response):
            self.calls += 1
            return self.wsgi_app(environ, start_response)

    outer = Count(make_app())  # app = Middleware(app)
    assert Client(outer).get("/").text == "ok"
    assert outer.calls == 1 and not hasattr(outer, "route")

    app = make_app()
    app.wsgi_app = inner = Count(app.wsgi_app)  # app.wsgi_app = Middleware(app.wsgi_app)
    assert app.test_client().get("/").text == "ok"
    assert inner.calls == 1 and isinstance(app, Flask)

    # ProxyFix wraps a Flask object as happily as Flask.wsgi_app; only the result differs.
    wrapped = ProxyFix(make_app())
    assert Client(wrapped).get("/").text == "ok" and not hasattr(wrapped, "route")


@pytest.mark.skipif("WEB_CONCURRENCY" in os.environ, reason="WEB_CONCURRENCY sets the default")
def test_wsgi_gunicorn_facts(tmp_path, monkeypatch):
    from gunicorn import util
    from gunicorn.config import Config

    assert Config().workers == 1  # not one per CPU core

    (tmp_path / "hello_factory.py").write_text(
        "from flask import Flask\n\n"
        "def create_app():\n"
        "    app = Flask(__name__)\n"
        "    app.config['FROM_FACTORY'] = True\n"
        "    return app\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        app = util.import_app("hello_factory:create_app()")
        assert isinstance(app, Flask) and app.config["FROM_FACTORY"] is True
    finally:
        sys.modules.pop("hello_factory", None)


def test_wsgi_environ_required():
    environ = EnvironBuilder("/").get_environ()
    check_environ(dict(environ))
    for key in ("REQUEST_METHOD", "SERVER_NAME", "wsgi.input"):
        without = {k: v for k, v in environ.items() if k != key}
        with pytest.raises(AssertionError, match=key):
            check_environ(without)
    without_scheme = {k: v for k, v in environ.items() if k != "wsgi.url_scheme"}
    with pytest.raises(KeyError):
        check_environ(without_scheme)
    # HTTP_* keys are only there when the client sent the header.
    assert "HTTP_X_FORWARDED_FOR" not in environ
