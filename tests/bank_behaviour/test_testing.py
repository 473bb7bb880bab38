"""Behaviour behind the keyed answers of quiz/bank/testing.toml.

Each test is named after the question slug it backs and demonstrates the marked answer with the
installed Flask / Werkzeug / Click / pytest, plus, where cheap, that a distractor is false.
Questions about pytest itself are checked by running a tiny suite in a subprocess under tmp_path.
"""

import json
import os
import subprocess
import sys
import textwrap

import click
import pytest
from flask import Flask, abort, current_app, g, redirect, request, session, url_for


def _run_pytest(tmp_path, files: dict[str, str]) -> subprocess.CompletedProcess:
    """Write a throwaway suite under tmp_path and run it with this interpreter's pytest."""
    root = tmp_path / "suite"
    for name, body in {"pytest.ini": "[pytest]\n", **files}.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "FLASK_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------------- junior


def test_testing_client_basics():
    app = Flask(__name__)

    @app.route("/hello/<name>")
    def hello(name):
        return f"Hello, {name}!"

    client = app.test_client()
    resp = client.get("/hello/ada")
    assert (resp.status_code, resp.text, resp.data) == (200, "Hello, ada!", b"Hello, ada!")
    assert client.get("/hello/").status_code == 404


def test_testing_fixture_decorator(tmp_path):
    result = _run_pytest(
        tmp_path,
        {
            "tests/conftest.py": """
                import pytest

                @pytest.fixture
                def client():
                    return "a client"

                def plain():
                    return "not a fixture"
            """,
            "tests/test_a.py": """
                def test_uses_fixture(client):
                    assert client == "a client"

                def test_uses_plain(plain):
                    pass
            """,
        },
    )
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "fixture 'plain' not found" in result.stdout


def test_testing_test_client_method():
    app = Flask(__name__)
    calls = []

    @app.before_request
    def hook():
        calls.append("before_request")

    @app.route("/")
    def index():
        calls.append("view")
        return "home"

    assert app.test_client().get("/").text == "home"
    assert calls == ["before_request", "view"]

    calls.clear()
    with app.test_request_context("/"):
        assert request.path == "/"
    assert calls == []


def test_testing_post_json():
    app = Flask(__name__)

    @app.post("/api/items")
    def create():
        return {"content_type": request.content_type, "got": request.get_json()}

    resp = app.test_client().post("/api/items", json={"name": "pen"})
    assert resp.get_json() == {"content_type": "application/json", "got": {"name": "pen"}}
    assert resp.request.headers["Content-Type"] == "application/json"


def test_testing_conftest_location(tmp_path):
    fixture = """
        import pytest

        @pytest.fixture
        def client():
            return "shared"
    """
    uses = """
        def test_one(client):
            assert client == "shared"
    """
    good = _run_pytest(
        tmp_path / "good",
        {"tests/conftest.py": fixture, "tests/test_a.py": uses, "tests/test_b.py": uses},
    )
    assert "2 passed" in good.stdout, good.stdout

    # The same fixture in tests/fixtures.py is not loaded automatically.
    bad = _run_pytest(tmp_path / "bad", {"tests/fixtures.py": fixture, "tests/test_a.py": uses})
    assert "fixture 'client' not found" in bad.stdout, bad.stdout


def test_testing_form_post():
    app = Flask(__name__)

    @app.post("/login")
    def login():
        return f"hello {request.form['username']}"

    client = app.test_client()
    assert client.post("/login", data={"username": "ada"}).text == "hello ada"
    assert client.post("/login", json={"username": "ada"}).status_code == 400
    assert client.post("/login", query_string={"username": "ada"}).status_code == 400
    assert client.post("/login", headers={"username": "ada"}).status_code == 400


# --------------------------------------------------------------------------- mid


def test_testing_session_transaction():
    app = Flask(__name__)
    app.secret_key = "test"

    @app.route("/me")
    def me():
        return session.get("user", "anonymous")

    client = app.test_client()
    assert client.get("/me").text == "anonymous"
    with client.session_transaction() as sess:
        sess["user"] = "ada"
    assert client.get("/me").text == "ada"


def test_testing_follow_redirects():
    app = Flask(__name__)

    @app.route("/old")
    def old():
        return redirect(url_for("new"))

    @app.route("/new")
    def new():
        return "new page"

    client = app.test_client()
    resp = client.get("/old")
    assert (resp.status_code, resp.location) == (302, "/new")
    resp = client.get("/old", follow_redirects=True)
    assert (resp.status_code, resp.request.path, resp.text) == (200, "/new", "new page")
    assert [r.status_code for r in resp.history] == [302]


def test_testing_cli_runner():
    app = Flask(__name__)

    @app.cli.command("greet")
    @click.argument("name")
    def greet(name):
        click.echo(f"Hello, {name}")

    runner = app.test_cli_runner()
    ok = runner.invoke(args=["greet", "Ada"])
    assert (ok.exit_code, ok.output) == (0, "Hello, Ada\n")
    missing = runner.invoke(args=["greet"])
    assert missing.exit_code == 2
    assert "Missing argument" in missing.output


def test_testing_fixture_yield_order(tmp_path):
    result = _run_pytest(
        tmp_path,
        {
            "tests/conftest.py": """
                import pytest

                @pytest.fixture
                def app():
                    print("EVENT app-setup")
                    yield "app"
                    print("EVENT app-teardown")

                @pytest.fixture
                def client(app):
                    print("EVENT client")
                    return "client for " + app
            """,
            "tests/test_a.py": """
                def test_body(client):
                    print("EVENT test-body")
            """,
        },
    )
    assert "1 passed" in result.stdout, result.stdout
    events = [line.split()[-1] for line in result.stdout.splitlines() if "EVENT" in line]
    assert events == ["app-setup", "client", "test-body", "app-teardown"]


def test_testing_json_helpers():
    app = Flask(__name__)
    expected = {"id": 3, "tags": ["a"]}

    @app.route("/item")
    def item():
        return {"id": 3, "tags": ["a"]}

    resp = app.test_client().get("/item")
    assert resp.get_json() == expected
    assert resp.json == expected
    assert json.loads(resp.data) == expected
    assert isinstance(resp.text, str) and resp.text != expected
    assert isinstance(resp.data, bytes) and resp.data != expected


def test_testing_factory_config(tmp_path):
    def create_app(test_config=None):
        app = Flask(__name__)
        app.config.from_mapping(DATABASE="instance/dev.sqlite")
        if test_config is not None:
            app.config.from_mapping(test_config)
        return app

    dev = create_app()
    one = create_app({"TESTING": True, "DATABASE": str(tmp_path / "one.sqlite")})
    two = create_app({"TESTING": True, "DATABASE": str(tmp_path / "two.sqlite")})
    assert not dev.testing and one.testing and two.testing
    assert len({dev.config["DATABASE"], one.config["DATABASE"], two.config["DATABASE"]}) == 3
    assert not one.debug


# --------------------------------------------------------------------------- senior


def test_testing_preserved_context():
    app = Flask(__name__)
    app.secret_key = "dev"

    @app.post("/login")
    def login():
        session["user"] = request.form["name"]
        g.seen = True
        return "ok"

    with app.test_client() as client:
        client.post("/login", data={"name": "ada"})
        assert (request.path, session["user"], g.seen) == ("/login", "ada", True)

    with pytest.raises(RuntimeError):
        session.get("user")


def test_testing_exception_propagation():
    def make() -> Flask:
        app = Flask(__name__)
        app.config["TESTING"] = True

        @app.route("/bug")
        def bug():
            raise ValueError("boom")

        @app.route("/missing")
        def missing():
            abort(404)

        return app

    app = make()
    assert app.config["PROPAGATE_EXCEPTIONS"] is None

    @app.errorhandler(500)
    def custom_500(e):
        return "custom 500", 500

    client = app.test_client()
    with pytest.raises(ValueError):  # the 500 handler is not consulted
        client.get("/bug")
    assert client.get("/missing").status_code == 404
    assert app.debug is False

    handled = make()

    @handled.errorhandler(ValueError)
    def handle_value_error(e):
        return "handled", 422

    resp = handled.test_client().get("/bug")
    assert (resp.status_code, resp.text) == (422, "handled")

    # A handler for a base class is found along the MRO too: it is not skipped.
    broad = make()

    @broad.errorhandler(Exception)
    def handle_any(e):
        return f"handled {type(e).__name__}", 422

    resp = broad.test_client().get("/bug")
    assert (resp.status_code, resp.text) == (422, "handled ValueError")

    # Contrast: with testing off, the same 500 handler does produce the page.
    app.config["TESTING"] = False
    app.logger.disabled = True
    resp = client.get("/bug")
    assert (resp.status_code, resp.text) == (500, "custom 500")


def test_testing_before_request_context():
    app = Flask(__name__)
    calls = []

    @app.before_request
    def load_user():
        calls.append("before")
        g.user = "ada"

    @app.route("/")
    def index():
        return g.user

    assert app.test_client().get("/").text == "ada"
    assert calls == ["before"]

    calls.clear()
    with app.test_request_context("/"):
        assert calls == []
        assert "user" not in g
        app.preprocess_request()
        assert calls == ["before"] and g.user == "ada"

    calls.clear()
    with app.app_context():
        pass
    assert calls == []


def test_testing_client_request_steps():
    app = Flask(__name__)

    @app.route("/a")
    def a():
        resp = redirect("/b")
        resp.set_cookie("flavour", "oat")
        return resp

    @app.route("/b")
    def b():
        return f"{request.cookies.get('flavour')} {request.cookies.get('seen')}"

    client = app.test_client()
    client.set_cookie("seen", "yes")  # stored before the request, sent with it
    resp = client.get("/a", follow_redirects=True)
    # The redirected request already carried the cookie that /a set.
    assert resp.text == "oat yes"
    assert [r.status_code for r in resp.history] == [302]
    assert resp.history[0].request.cookies.get("seen") == "yes"
    assert client.get_cookie("flavour").value == "oat"


def test_testing_session_transaction_save():
    app = Flask(__name__)
    app.secret_key = "test"

    @app.route("/me")
    def me():
        return str(session.get("uid"))

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["uid"] = 1
        assert client.get("/me").text == "None"
    assert client.get("/me").text == "1"


def test_testing_cli_app_context(monkeypatch):
    monkeypatch.delenv("FLASK_APP", raising=False)
    app = Flask(__name__)
    app.config["DATABASE"] = "instance/test.sqlite"

    @app.cli.command("seed")
    def seed():
        click.echo(current_app.config["DATABASE"])
        click.echo(current_app._get_current_object() is app)

    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert result.output == "instance/test.sqlite\nTrue\n"
