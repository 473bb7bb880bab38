"""Behaviour behind the answers keyed in quiz/bank/app_factory.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask; each is
named after the question slug. Only the questions whose choices were last revised are covered.
"""

import json
import sys

import click
import pytest
from flask import Blueprint, Flask, current_app


def test_app_factory_why(monkeypatch):
    monkeypatch.setenv("FLASK_PAGE_SIZE", "25")

    def create_app(test_config=None):
        app = Flask(__name__)
        app.config.from_mapping(DATABASE="app.sqlite")
        if test_config is not None:
            app.config.from_mapping(test_config)

        @app.cli.command("page-size")
        def page_size():
            click.echo(repr(app.config.get("PAGE_SIZE")))

        return app

    test_app, prod_app = create_app({"DATABASE": "test.sqlite"}), create_app()
    assert test_app is not prod_app
    assert (test_app.config["DATABASE"], prod_app.config["DATABASE"]) == (
        "test.sqlite",
        "app.sqlite",
    )

    # FLASK_* variables reach app.config only through from_prefixed_env(), factory or not,
    # and also not when the flask command is the one calling the factory.
    assert "PAGE_SIZE" not in prod_app.config
    assert "PAGE_SIZE" not in Flask(__name__).config
    result = prod_app.test_cli_runner().invoke(args=["page-size"])
    assert result.output.strip() == "None"
    prod_app.config.from_prefixed_env()
    assert prod_app.config["PAGE_SIZE"] == 25


def test_app_factory_facts():
    bp = Blueprint("bp", __name__)

    @bp.route("/name")
    def name():
        return current_app.config["NAME"]

    class Extension:  # the init_app pattern: one module-level object, state kept on each app
        def init_app(self, app):
            app.extensions["ext"] = self

    ext = Extension()

    def create_app(name):
        app = Flask(__name__)
        app.config["NAME"] = name
        ext.init_app(app)
        app.register_blueprint(bp)
        return app

    one, two = create_app("one"), create_app("two")
    assert one is not two and one.config is not two.config
    assert one.extensions["ext"] is two.extensions["ext"] is ext
    # The same blueprint object serves both apps; during a request current_app is the right one.
    assert one.test_client().get("/name").text == "one"
    assert two.test_client().get("/name").text == "two"

    # Creating an app pushes no application context.
    with pytest.raises(RuntimeError, match="application context"):
        current_app.config  # noqa: B018
    with one.app_context():
        assert current_app.config["NAME"] == "one"


def test_app_factory_config_loaders(tmp_path, monkeypatch):
    app = Flask(__name__, root_path=str(tmp_path))
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-pyfile'\n")
    (tmp_path / "config.json").write_text('{"PAGE_SIZE": 5}')
    monkeypatch.setenv("FLASK_SITE_NAME", "shop")

    (tmp_path / "loader_settings.py").write_text("class Production:\n    LEVEL = 'production'\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert app.config.from_pyfile("config.py")
    assert app.config.from_file("config.json", load=json.load)
    try:
        app.config.from_object("loader_settings.Production")  # an import string works too
    finally:
        sys.modules.pop("loader_settings", None)
    assert app.config.from_prefixed_env()
    assert app.config["SECRET_KEY"] == "from-pyfile"
    assert app.config["PAGE_SIZE"] == 5
    assert app.config["LEVEL"] == "production"
    assert app.config["SITE_NAME"] == "shop"

    # No dotenv (or YAML) loader exists on the config.
    assert not hasattr(app.config, "from_dotenv")
    assert not hasattr(app.config, "from_yaml")
