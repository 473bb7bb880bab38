"""Behaviour behind the answers keyed in quiz/bank/blueprints.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask; each is
named after the question slug. Only the questions whose choices were last revised are covered.
"""

import click
from flask import Blueprint, Flask, jsonify, request, url_for


def test_blueprints_capabilities():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "app-wide"
    reports = Blueprint("reports", __name__, template_folder="templates", static_folder="static")

    @reports.route("/r")
    def view():
        raise KeyError("missing")

    @reports.errorhandler(KeyError)
    def handle(e):
        return "handled by reports", 400

    @reports.cli.command("build")
    def build():
        click.echo("built")

    @app.route("/app")
    def app_view():
        raise KeyError("missing")

    app.register_blueprint(reports)
    client = app.test_client()
    assert client.get("/r").text == "handled by reports"
    assert client.get("/app").status_code == 500  # the handler is scoped to the blueprint
    assert "reports.static" in {rule.endpoint for rule in app.url_map.iter_rules()}

    # CLI commands are added under a group named after the blueprint.
    result = app.test_cli_runner().invoke(args=["reports", "build"])
    assert result.exit_code == 0 and result.output.strip() == "built"

    # No config of its own.
    assert not hasattr(reports, "config")


def test_blueprints_404_handler():
    app = Flask(__name__)
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.route("/ok")
    def ok():
        return "ok"

    @api.errorhandler(404)
    def not_found(e):
        return jsonify(error="not found"), 404

    app.register_blueprint(api)  # no error at registration
    resp = app.test_client().get("/api/does-not-exist")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"  # Flask's default page, not the blueprint's JSON
    with app.test_request_context("/api/does-not-exist"):
        assert request.blueprint is None  # not guessed from the url_prefix


def test_blueprints_relative_endpoint():
    app = Flask(__name__)
    auth = Blueprint("auth", __name__)

    @auth.route("/login")
    def login():
        return url_for(".logout")

    @auth.route("/logout")
    def logout():
        return "auth logout"

    app.add_url_rule("/logout", endpoint="logout", view_func=lambda: "app logout")

    @app.route("/home")
    def home():
        return url_for(".logout")

    app.register_blueprint(auth, url_prefix="/auth")
    client = app.test_client()
    assert client.get("/auth/login").text == "/auth/logout"  # same blueprint, not the app's
    assert client.get("/home").text == "/logout"  # outside a blueprint: the app-level endpoint


def test_blueprints_static_no_prefix(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "admin" / "static").mkdir(parents=True)
    (tmp_path / "admin" / "static" / "admin.css").write_text("body {}")
    app = Flask(__name__, root_path=str(tmp_path))
    admin = Blueprint("admin", __name__, static_folder="static", root_path=str(tmp_path / "admin"))
    app.register_blueprint(admin)  # two rules on the same path: no ValueError

    rules = [(r.rule, r.endpoint) for r in app.url_map.iter_rules()]
    assert ("/static/<path:filename>", "static") in rules
    assert ("/static/<path:filename>", "admin.static") in rules
    assert app.test_client().get("/static/admin.css").status_code == 404
