"""Behaviour behind the answers keyed in quiz/bank/routing.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask/Werkzeug;
each is named after the question slug.
"""

import io
import uuid

import pytest
from flask import Flask, abort, redirect, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename


def make_app(**config):
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_routing_default_methods():
    app = make_app()
    called = []

    @app.route("/login")
    def login():
        called.append(request.method)
        return "form"

    resp = app.test_client().post("/login", data={"user": "ada"})
    assert resp.status_code == 405  # not 404: the URL exists, the method does not
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert called == []  # the view never ran


def test_routing_url_for_name():
    app = make_app()

    @app.route("/user/<username>")
    def profile(username):
        return username

    with app.test_request_context():
        assert url_for("profile", username="ada") == "/user/ada"
        assert url_for("profile", username="ada", tab="posts") == "/user/ada?tab=posts"


def test_routing_query_args():
    app = make_app()
    seen = {}

    @app.route("/search")
    def search():
        seen["args"] = request.args.get("q")
        seen["form"] = request.form.get("q")
        return "results"

    assert app.test_client().get("/search?q=flask+routing").status_code == 200
    assert seen == {"args": "flask routing", "form": None}


def test_routing_trailing_slash_redirect():
    app = make_app()

    @app.route("/projects/")
    def projects():
        return "projects"

    @app.route("/about")
    def about():
        return "about"

    client = app.test_client()
    resp = client.get("/projects")
    assert resp.status_code == 308  # a redirect, not a 404
    assert resp.headers["Location"].endswith("/projects/")
    assert client.get("/projects", follow_redirects=True).get_data(as_text=True) == "projects"
    # The reverse does not hold: an unexpected trailing slash is a 404.
    assert client.get("/about/").status_code == 404


def test_routing_return_dict():
    app = make_app(TESTING=True)

    @app.route("/user")
    def user():
        return {"id": 7, "name": "Ada"}

    @app.route("/tags")
    def tags():
        return {"a", "b"}  # a set is not a valid return value

    client = app.test_client()
    resp = client.get("/user")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json() == {"id": 7, "name": "Ada"}
    with pytest.raises(TypeError):
        client.get("/tags")


def test_routing_builtin_converters():
    app = make_app()

    @app.route("/docs/<path:subpath>")
    def docs(subpath):
        return subpath

    @app.route("/keys/<uuid:key>")
    def key(key):
        return type(key).__name__

    @app.route("/price/<float:price>")
    def price(price):
        return repr(price)

    @app.route("/n/<int:n>")
    def number(n):
        return str(n)

    @app.route("/delta/<int(signed=True):delta>")
    def delta(delta):
        return repr(delta)

    client = app.test_client()
    assert client.get("/docs/api/v2").get_data(as_text=True) == "api/v2"
    assert client.get(f"/keys/{uuid.UUID(int=1)}").get_data(as_text=True) == "UUID"
    assert client.get("/price/9.5").get_data(as_text=True) == "9.5"
    assert client.get("/n/3").status_code == 200
    assert client.get("/n/-3").status_code == 404  # int is unsigned by default
    assert client.get("/delta/-3").get_data(as_text=True) == "-3"  # unless signed=True
    assert "slug" not in app.url_map.converters
    assert {"path", "uuid", "float", "int", "string", "any"} <= set(app.url_map.converters)


def test_routing_missing_form_key():
    app = make_app()  # debug and testing off

    @app.route("/login", methods=["POST"])
    def login():
        return request.form["email"]

    @app.route("/optional", methods=["POST"])
    def optional():
        return repr(request.form.get("email"))

    client = app.test_client()
    resp = client.post("/login", data={"password": "x"})
    assert resp.status_code == 400  # not a 500, and not a 200 with None
    # Only .get() reads a missing key as None.
    assert client.post("/optional", data={"password": "x"}).get_data(as_text=True) == "None"


def test_routing_getlist():
    app = make_app()

    with app.test_request_context("/products?tag=red&tag=sale"):
        assert request.args["tag"] == "red"
        assert request.args.get("tag") == "red"
        assert request.args.getlist("tag") == ["red", "sale"]
        assert request.args.getlist("colour") == []


def test_routing_json_request_data():
    app = make_app()
    seen = {}

    @app.route("/items", methods=["POST"])
    def items():
        seen["dry_run"] = request.args["dry_run"]
        seen["json"] = request.get_json()
        seen["form"] = dict(request.form)
        seen["values"] = dict(request.values)
        return "ok"

    @app.route("/form-lookup", methods=["POST"])
    def form_lookup():
        return request.form["name"]

    @app.route("/values-lookup", methods=["POST"])
    def values_lookup():
        return request.values["name"]

    client = app.test_client()
    assert client.post("/items?dry_run=1", json={"name": "lamp"}).status_code == 200
    assert seen == {
        "dry_run": "1",
        "json": {"name": "lamp"},
        "form": {},
        "values": {"dry_run": "1"},  # args and form only, never the JSON body
    }
    assert seen["dry_run"] != 1
    assert client.post("/form-lookup", json={"name": "lamp"}).status_code == 400
    assert client.post("/values-lookup?dry_run=1", json={"name": "lamp"}).status_code == 400


def test_routing_post_redirect_get():
    app = make_app()
    saved = []

    @app.route("/create", methods=["GET", "POST"])
    def create():
        if request.method == "POST":
            saved.append(request.form["title"])
            return redirect(url_for("index"))
        return "form"

    @app.route("/")
    def index():
        return f"{request.method} index: {', '.join(saved)}"

    resp = app.test_client().post("/create", data={"title": "Hello"}, follow_redirects=True)
    assert [r.status_code for r in resp.history] == [302]
    assert resp.request.method == "GET"
    assert resp.get_data(as_text=True) == "GET index: Hello"
    assert saved == ["Hello"]


def test_routing_file_upload():
    app = make_app()
    seen = {}

    @app.route("/profile", methods=["POST"])
    def profile():
        photo = request.files.get("photo")
        seen["file"] = photo
        seen["filename"] = photo.filename if photo else None
        seen["form"] = dict(request.form)
        return "ok"

    client = app.test_client()
    # multipart/form-data: the file arrives in request.files as a FileStorage
    client.post("/profile", data={"photo": (io.BytesIO(b"\x89PNG"), "me.png")})
    assert isinstance(seen["file"], FileStorage)
    assert seen["filename"] == "me.png"
    assert hasattr(seen["file"], "save")
    assert seen["form"] == {}
    # without multipart encoding only the name arrives, as an ordinary form field
    client.post("/profile", data="photo=me.png", content_type="application/x-www-form-urlencoded")
    assert seen["file"] is None
    assert seen["form"] == {"photo": "me.png"}
    # no size limit unless configured, and secure_filename strips path tricks
    assert app.config["MAX_CONTENT_LENGTH"] is None
    assert secure_filename("../../etc/passwd") == "etc_passwd"


def test_routing_json_content_type():
    app = make_app()

    @app.route("/strict", methods=["POST"])
    def strict():
        return {"got": request.get_json()}

    @app.route("/silent", methods=["POST"])
    def silent():
        return {"got": request.get_json(silent=True)}

    @app.route("/force", methods=["POST"])
    def force():
        return {"got": request.get_json(force=True)}

    client = app.test_client()
    body = '{"a": 1}'
    assert client.post("/strict", data=body, content_type="text/plain").status_code == 415
    bad = client.post("/strict", data="{oops", content_type="application/json")
    assert bad.status_code == 400
    assert client.post("/silent", data=body, content_type="text/plain").get_json() == {"got": None}
    forced = client.post("/force", data=body, content_type="text/plain").get_json()
    assert forced == {"got": {"a": 1}}


def test_routing_automatic_head_options():
    app = make_app()
    calls = []

    @app.route("/report")
    def report():
        calls.append(request.method)
        return "report body"

    @app.route("/manual", provide_automatic_options=False)
    def manual():
        return "manual"

    client = app.test_client()
    head = client.head("/report")
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["Content-Length"] == str(len("report body"))
    assert calls == ["HEAD"]

    options = client.options("/report")
    assert options.status_code == 200
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert calls == ["HEAD"]  # the view was not called for OPTIONS

    assert client.options("/manual").status_code == 405


def test_routing_abort_handler_order():
    app = make_app()
    events = []

    @app.route("/missing")
    def missing():
        events.append("view")
        abort(404)
        events.append("after abort")  # never reached

    @app.errorhandler(404)
    def not_found(e):
        events.append(f"handler {type(e).__name__}")
        return "custom not found", 404

    @app.after_request
    def after(resp):
        events.append(f"after_request {resp.status_code}")
        return resp

    @app.teardown_request
    def teardown(exc):
        events.append(f"teardown {exc!r}")

    resp = app.test_client().get("/missing")
    assert resp.status_code == 404
    assert resp.get_data(as_text=True) == "custom not found"
    assert events == [
        "view",
        "handler NotFound",
        "after_request 404",
        "teardown None",
    ]


def test_routing_strict_slashes_false():
    app = make_app()

    @app.route("/about", strict_slashes=False)
    def about():
        return "about"

    @app.route("/team/", strict_slashes=False)
    def team():
        return "team"

    @app.route("/contact")
    def contact():
        return "contact"

    client = app.test_client()
    assert client.get("/about/").status_code == 200
    assert client.get("/about").status_code == 200
    assert client.get("/team").status_code == 200  # matched without a redirect
    assert client.get("/contact/").status_code == 404  # the default, strict behaviour
