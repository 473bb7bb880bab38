"""Behaviour behind the keyed answers in quiz/bank/extensions.toml.

Flask-Login, Flask-SQLAlchemy and Flask-Migrate are not installed, so questions about them are
covered only where the underlying Flask mechanism can be shown (sessions, current_app). Flask-WTF
is a project dependency, so its CSRF behaviour is exercised directly.
"""

import functools
import re

import pytest
from flask import Blueprint, Flask, current_app, g, render_template_string, request, session
from flask.views import MethodView
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import BadRequest, Unauthorized


def _token_from(html: str) -> str:
    match = re.search(r'value="([^"]+)"', html)
    assert match, f"no token in {html!r}"
    return match.group(1)


def _csrf_app(**config) -> tuple[Flask, CSRFProtect]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", **config)
    csrf = CSRFProtect(app)
    return app, csrf


# --------------------------------------------------------------------------- junior


def test_extensions_init_app_factory():
    class Ext:
        def init_app(self, app):
            app.config.setdefault("EXT_NAME", "default")
            app.extensions["ext"] = self

        def name(self):
            return current_app.config["EXT_NAME"]

    ext = Ext()  # module-level style: created before any app exists

    def create_app(name):
        app = Flask(__name__)
        app.config["EXT_NAME"] = name
        ext.init_app(app)

        @app.route("/")
        def index():
            return ext.name()

        return app

    first, second = create_app("first"), create_app("second")
    assert first.test_client().get("/").get_data(as_text=True) == "first"
    assert second.test_client().get("/").get_data(as_text=True) == "second"
    assert first.extensions["ext"] is second.extensions["ext"] is ext

    # The distractor: Flask does not call init_app on objects stored in the config.
    class Recorder:
        apps = []

        def init_app(self, app):
            Recorder.apps.append(app)

    in_config = Flask(__name__)
    in_config.config["DB"] = Recorder()
    assert in_config.test_client().get("/").status_code == 404  # the app has run a request
    assert Recorder.apps == [] and in_config.extensions == {}


def test_extensions_login_secret_key():
    def make(secret_key):
        app = Flask(__name__)
        app.config.update(TESTING=True, SECRET_KEY=secret_key)

        @app.route("/login")
        def login():
            session["_user_id"] = "42"  # what login_user() stores
            return "ok"

        return app

    with pytest.raises(RuntimeError, match="secret key"):
        make(None).test_client().get("/login")

    response = make("k").test_client().get("/login")
    assert response.status_code == 200
    assert "session=" in response.headers["Set-Cookie"]


def test_extensions_csrf_token_field():
    app, _ = _csrf_app()
    templates = {
        "csrf_token": "{{ form.csrf_token }}",
        "hidden_tag": "{{ form.hidden_tag() }}",
        "global": '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">',
    }

    @app.route("/<kind>", methods=["GET", "POST"])
    def form(kind):
        f = FlaskForm()
        if f.validate_on_submit():
            return "valid"
        return render_template_string(templates[kind], form=f)

    client = app.test_client()
    for kind in templates:
        html = client.get(f"/{kind}").get_data(as_text=True)
        assert 'name="csrf_token"' in html
        token = _token_from(html)
        assert client.post(f"/{kind}", data={"csrf_token": token}).get_data(as_text=True) == "valid"

    # Distractors: nothing added automatically, and the secret key is not a token.
    assert client.post("/global").status_code == 400
    assert client.post("/global", data={"secret_key": "test-secret"}).status_code == 400


# --------------------------------------------------------------------------- mid


def test_extensions_current_app():
    class StoresApp:
        def init_app(self, app):
            self.app = app

        def url(self):
            return self.app.config["MYEXT_URL"]

    class UsesCurrentApp:
        def init_app(self, app):
            pass

        def url(self):
            return current_app.config["MYEXT_URL"]

    bad, good = StoresApp(), UsesCurrentApp()
    apps = []
    for url in ("sqlite:///one", "sqlite:///two"):
        app = Flask(__name__)
        app.config["MYEXT_URL"] = url
        bad.init_app(app)
        good.init_app(app)
        apps.append(app)

    assert bad.app is apps[1]  # the second init_app raised nothing, it just rebound
    with apps[0].app_context():
        assert good.url() == "sqlite:///one"
        assert bad.url() == "sqlite:///two"  # reads the last app's config
    with apps[1].app_context():
        assert good.url() == "sqlite:///two"


def test_extensions_csrf_protect():
    app, _ = _csrf_app()

    @app.route("/", methods=["GET", "POST"])
    def index():
        return render_template_string("{{ csrf_token() }}")

    client = app.test_client()
    get = client.get("/")
    assert get.status_code == 200  # GET needs no token
    token = get.get_data(as_text=True)

    assert client.post("/").status_code == 400
    assert client.post("/", headers={"X-CSRFToken": token}).status_code == 200

    assert issubclass(CSRFError, BadRequest) and CSRFError.code == 400

    no_key = Flask(__name__)
    CSRFProtect(no_key)
    with no_key.test_request_context(), pytest.raises(RuntimeError, match="secret key"):
        generate_csrf()


def test_extensions_sqlalchemy_app_context():
    class DB:
        """Like Flask-SQLAlchemy: nothing stored in init_app, the app comes from current_app."""

        def init_app(self, app):
            app.extensions["db"] = self

        def uri(self):
            return current_app.config["SQLALCHEMY_DATABASE_URI"]

    db = DB()
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(app)

    assert not hasattr(db, "app")
    with pytest.raises(RuntimeError, match="application context"):
        db.uri()
    with app.app_context():
        assert db.uri() == "sqlite://"


# --------------------------------------------------------------------------- senior


def test_extensions_g_namespace():
    events = []

    class Conn:
        def __init__(self, n):
            self.n, self.closed = n, False

        def close(self):
            self.closed = True
            events.append(("closed", self.n))

    class MyExt:
        opened = 0

        def init_app(self, app):
            app.teardown_appcontext(self.teardown)

        def conn(self):
            if "_myext_conn" not in g:
                MyExt.opened += 1
                g._myext_conn = Conn(MyExt.opened)
            return g._myext_conn

        def teardown(self, exc):
            conn = g.pop("_myext_conn", None)
            if conn is not None:
                conn.close()

    ext = MyExt()
    app = Flask(__name__)
    ext.init_app(app)
    app.extensions["myext"] = {"requests": 0}
    seen = []

    @app.route("/")
    def index():
        assert ext.conn() is ext.conn()  # lazily opened once per request
        seen.append(ext.conn())
        current_app.extensions["myext"]["requests"] += 1
        return "ok"

    @app.route("/boom")
    def boom():
        ext.conn()
        raise ValueError("view failed")

    @app.route("/unused")
    def unused():
        return "no connection"

    client = app.test_client()
    client.get("/")
    client.get("/")
    client.get("/unused")
    assert [c.n for c in seen] == [1, 2]  # a fresh connection per request
    assert all(c.closed for c in seen)
    assert MyExt.opened == 2
    # The distractor: app.extensions lives as long as the app and is never emptied per request.
    assert app.extensions["myext"] == {"requests": 2}

    assert client.get("/boom").status_code == 500
    assert events[-1] == ("closed", 3)  # closed even when the view raised


def test_extensions_csrf_api_exempt():
    app, csrf = _csrf_app()
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.post("/items")
    def create_item():
        return {"ok": True}, 201

    csrf.exempt(api)
    app.register_blueprint(api)

    @app.post("/profile")
    def profile():
        return "saved"

    client = app.test_client()
    assert client.post("/api/items", headers={"Authorization": "Bearer t"}).status_code == 201
    assert client.post("/profile").status_code == 400  # HTML forms stay protected

    # The distractor: WTF_CSRF_ENABLED = False switches protection off everywhere,
    # including the token check of FlaskForm.
    off, _ = _csrf_app(WTF_CSRF_ENABLED=False)
    off.add_url_rule("/profile", "profile", lambda: "saved", methods=["POST"])

    @off.post("/form")
    def form():
        return "valid" if FlaskForm().validate_on_submit() else "invalid"

    client = off.test_client()
    assert client.post("/profile").status_code == 200
    assert client.post("/form").get_data(as_text=True) == "valid"


def test_extensions_methodview_rest():
    def require_token(view):
        # Like flask_login.login_required: functools.wraps keeps view.methods for the router.
        @functools.wraps(view)
        def wrapped(**kwargs):
            if request.headers.get("Authorization") != "Bearer ok":
                raise Unauthorized()
            return view(**kwargs)

        return wrapped

    instances = []

    class ItemAPI(MethodView):
        decorators = [require_token]

        def __init__(self):
            instances.append(self)

        def get(self):
            return "list"

        def post(self):
            return "created", 201

    class PlainAPI(MethodView):
        def get(self):
            return "list"

        def post(self):
            return "created", 201

    app = Flask(__name__)
    app.add_url_rule("/items", view_func=ItemAPI.as_view("items"))
    app.add_url_rule("/plain", view_func=require_token(PlainAPI.as_view("plain")))
    client = app.test_client()
    auth = {"Authorization": "Bearer ok"}

    for path in ("/items", "/plain"):
        assert client.get(path).status_code == 401
        assert client.post(path).status_code == 401
        assert client.get(path, headers=auth).status_code == 200
        assert client.post(path, headers=auth).status_code == 201
        # HEAD falls back to get() without a head() method.
        assert client.head(path, headers=auth).status_code == 200

    assert ItemAPI.init_every_request is True
    assert len(instances) == 3 and len({id(i) for i in instances}) == 3
