"""Behaviour behind the answers keyed in quiz/bank/performance.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask/Werkzeug
(and Gunicorn and cachelib, dependencies of the project); each is named after the question slug.
code_output questions are checked by test_bank_content.
"""

import functools
import inspect
import io
import multiprocessing
from datetime import UTC, datetime
from email.utils import format_datetime

import gunicorn.workers.gthread
import gunicorn.workers.sync
from cachelib import SimpleCache
from flask import Flask, g, make_response, request, session, url_for
from gunicorn.config import Config
from werkzeug.middleware.profiler import ProfilerMiddleware
from werkzeug.wrappers import Response


def make_app(**config):
    app = Flask(__name__)
    app.config.update(config)
    return app


def static_app(tmp_path, **config):
    static = tmp_path / "static"
    static.mkdir(parents=True)
    (static / "app.css").write_text("body { color: black; }\n")
    app = Flask(__name__, static_folder=str(static))
    app.config.update(config)
    return app


# --------------------------------------------------------------------------- junior


def test_performance_profiler_middleware(tmp_path):
    app = make_app()

    @app.get("/slow")
    def slow():
        return str(sum(i * i for i in range(1000)))

    stream = io.StringIO()
    app.wsgi_app = ProfilerMiddleware(app.wsgi_app, stream=stream, profile_dir=str(tmp_path))
    assert isinstance(app, Flask)  # the Flask object itself is untouched

    resp = app.test_client().get("/slow")
    assert resp.status_code == 200
    assert "function calls" in stream.getvalue()
    assert "PATH: '/slow'" in stream.getvalue()
    assert len(list(tmp_path.glob("GET.slow.*.prof"))) == 1


def test_performance_static_web_server(tmp_path):
    # The distractor: Flask does not hand static files to the front-end server by default.
    app = static_app(tmp_path)
    assert app.config["USE_X_SENDFILE"] is False
    resp = app.test_client().get("/static/app.css", buffered=True)
    assert "X-Sendfile" not in resp.headers
    assert resp.data == b"body { color: black; }\n"  # the worker sent the bytes itself


def test_performance_stream_generator():
    app = make_app()
    state = {"finished": False}

    @app.get("/export.csv")
    def export():
        def rows():
            yield "id\n"
            yield "1\n"
            state["finished"] = True

        return rows()

    resp = app.test_client().get("/export.csv")
    assert resp.is_streamed
    assert "Content-Length" not in resp.headers
    # Nothing collected the whole body up front: the generator is still suspended.
    assert state["finished"] is False
    assert resp.get_data(as_text=True) == "id\n1\n"
    assert state["finished"] is True


def test_performance_gunicorn_sync_worker():
    cfg = Config()
    assert cfg.worker_class_str == "sync"
    assert cfg.threads == 1
    # The distractor: worker_connections defaults to 1000 but the sync worker never reads it.
    assert cfg.worker_connections == 1000
    assert "worker_connections" not in inspect.getsource(gunicorn.workers.sync)
    # The distractor: a sync worker starts no thread per request (it never imports threading).
    source = inspect.getsource(gunicorn.workers.sync)
    assert "threading" not in source and "futures" not in source


def test_performance_cached_decorator_order():
    calls = []

    def caching(view):
        """A stand-in for @cache.cached: serves the first result for every later call."""
        stored = []

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not stored:
                stored.append(view(*args, **kwargs))
            return stored[0]

        return wrapper

    def compute_stats():
        calls.append(1)
        return f"computed {len(calls)}"

    wrong = make_app()

    @caching
    @wrong.route("/stats")
    def stats_wrong():
        return compute_stats()

    client = wrong.test_client()
    assert [client.get("/stats").get_data(as_text=True) for _ in range(2)] == [
        "computed 1",
        "computed 2",
    ]  # the registered view is the undecorated function

    calls.clear()
    right = make_app()

    @right.route("/stats")
    @caching
    def stats_right():
        return compute_stats()

    client = right.test_client()
    assert [client.get("/stats").get_data(as_text=True) for _ in range(2)] == [
        "computed 1",
        "computed 1",
    ]
    assert len(calls) == 1


# --------------------------------------------------------------------------- mid


def test_performance_gunicorn_threads():
    cfg = Config()
    cfg.set("workers", 3)
    cfg.set("threads", 4)  # no worker_class set, as without -k
    assert cfg.worker_class_str == "gthread"
    assert cfg.worker_class is gunicorn.workers.gthread.ThreadWorker
    # The distractors: -w stays the process count and --threads the threads in each one.
    assert (cfg.workers, cfg.threads) == (3, 4)
    assert cfg.workers * cfg.threads == 12

    single = Config()
    single.set("threads", 1)
    assert single.worker_class_str == "sync"


def test_performance_conditional_get_flow():
    app = make_app()
    builds = []

    @app.get("/report")
    def report():
        builds.append(1)
        resp = make_response("quarterly numbers")
        resp.add_etag()
        return resp.make_conditional(request)

    client = app.test_client()
    first = client.get("/report")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/report", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert len(builds) == 2  # the body was still built: 304 saves bandwidth, not work


def test_performance_make_conditional():
    app = make_app()
    modified = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

    @app.get("/feed")
    def feed():
        resp = make_response("0123456789")
        resp.last_modified = modified
        resp.add_etag()
        return resp.make_conditional(request, accept_ranges=True, complete_length=10)

    client = app.test_client()
    since = format_datetime(modified, usegmt=True)
    assert client.get("/feed", headers={"If-Modified-Since": since}).status_code == 304
    assert client.get("/feed").status_code == 200
    partial = client.get("/feed", headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206
    assert partial.data == b"0123"


def test_performance_cache_private():
    resp = Response("balance")
    resp.cache_control.private = True
    assert resp.headers["Cache-Control"] == "private"

    resp = Response("balance")
    resp.cache_control.no_store = True
    assert resp.headers["Cache-Control"] == "no-store"

    resp = Response("balance")
    resp.cache_control.s_maxage = 600
    assert resp.headers["Cache-Control"] == "s-maxage=600"


# --------------------------------------------------------------------------- senior


def _store_in_cache(cache, queue):
    cache.set("stats", "computed in the child")
    queue.put(cache.get("stats"))


def test_performance_horizontal_scaling():
    def instance(secret):
        app = make_app(SECRET_KEY=secret)

        @app.post("/login")
        def login():
            session["uid"] = 7
            g.note = "per request"
            return "ok"

        @app.get("/me")
        def me():
            return {"uid": session.get("uid"), "note": g.get("note")}

        return app

    first, second, other_key = instance("shared"), instance("shared"), instance("different")
    browser = first.test_client()
    browser.post("/login")
    cookie = browser.get_cookie("session").value

    # The same client (and cookie) on the same instance: `g` is empty again.
    assert browser.get("/me").get_json() == {"uid": 7, "note": None}

    for app, expected in ((second, 7), (other_key, None)):
        client = app.test_client()
        client.set_cookie("session", cookie)
        assert client.get("/me").get_json()["uid"] == expected

    # The distractor: Flask-Caching's SimpleCache is cachelib's, and a forked worker gets its
    # own copy of it.
    cache = SimpleCache()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_store_in_cache, args=(cache, queue))
    worker.start()
    assert queue.get(timeout=10) == "computed in the child"
    worker.join(timeout=10)
    assert worker.exitcode == 0
    assert cache.get("stats") is None  # the parent (or a sibling worker) never sees it


def test_performance_profiler_buffering():
    def build(profiled):
        app = make_app()
        state = {"finished": False}

        @app.get("/export.csv")
        def export():
            def rows():
                yield "a\n"
                yield "b\n"
                state["finished"] = True

            return rows()

        if profiled:
            app.wsgi_app = ProfilerMiddleware(app.wsgi_app, stream=None)
        return app, state

    app, state = build(profiled=False)
    resp = app.test_client().get("/export.csv")
    assert state["finished"] is False  # still streaming
    assert resp.get_data(as_text=True) == "a\nb\n"

    app, state = build(profiled=True)
    resp = app.test_client().get("/export.csv")
    assert state["finished"] is True  # the middleware already consumed the whole body
    assert resp.get_data(as_text=True) == "a\nb\n"
    assert "Content-Encoding" not in resp.headers  # buffered, not compressed


def test_performance_static_cache_busting(tmp_path):
    default = static_app(tmp_path / "a")
    resp = default.test_client().get("/static/app.css", buffered=True)
    assert resp.headers["Cache-Control"] == "no-cache"

    tuned = static_app(tmp_path / "b", SEND_FILE_MAX_AGE_DEFAULT=31536000)
    resp = tuned.test_client().get("/static/app.css", buffered=True)
    assert resp.headers["Cache-Control"] == "public, max-age=31536000"
    with tuned.test_request_context():
        assert url_for("static", filename="app.css", v="3f2a") == "/static/app.css?v=3f2a"
    versioned = tuned.test_client().get("/static/app.css?v=3f2a", buffered=True)
    assert versioned.status_code == 200

    # The distractor: without validators the browser still must ask (no-cache), and every
    # answer is the whole file.
    stripped = static_app(tmp_path / "c")

    @stripped.after_request
    def strip_validators(resp):
        resp.headers.pop("ETag", None)
        resp.headers.pop("Last-Modified", None)
        return resp

    client = stripped.test_client()
    for _ in range(2):
        resp = client.get("/static/app.css", buffered=True)
        assert resp.headers["Cache-Control"] == "no-cache"
        assert "ETag" not in resp.headers and "Last-Modified" not in resp.headers
        assert resp.status_code == 200 and len(resp.data) == 23


def test_performance_static_defaults(tmp_path):
    app = static_app(tmp_path)
    assert app.config["SEND_FILE_MAX_AGE_DEFAULT"] is None
    assert app.config["USE_X_SENDFILE"] is False

    client = app.test_client()
    resp = client.get("/static/app.css", buffered=True)
    assert resp.status_code == 200
    assert resp.headers["ETag"] and resp.headers["Last-Modified"]
    assert resp.headers["Cache-Control"] == "no-cache"
    assert "max-age" not in resp.headers["Cache-Control"]
    assert "X-Sendfile" not in resp.headers
    assert resp.data == b"body { color: black; }\n"  # Flask sent the bytes itself

    etag = resp.headers["ETag"]
    again = client.get("/static/app.css", headers={"If-None-Match": etag}, buffered=True)
    assert again.status_code == 304

    part = client.get("/static/app.css", headers={"Range": "bytes=0-3"}, buffered=True)
    assert part.status_code == 206
    assert part.data == b"body"


def test_performance_vary_cookie():
    app = make_app(SECRET_KEY="dev")

    @app.get("/themed")
    def themed():
        return session.get("theme", "light")

    @app.get("/public")
    def public():
        return "same for everyone"

    client = app.test_client()
    read = client.get("/themed")
    assert "Cookie" in read.headers.get("Vary", "")
    assert read.headers.get("Set-Cookie") is None  # only read, nothing saved
    assert "Vary" not in client.get("/public").headers
