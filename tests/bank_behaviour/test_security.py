"""Behaviour behind the keyed answers of quiz/bank/security.toml.

Each test is named after the question slug it backs and demonstrates the marked answer with the
installed Flask / Werkzeug / Jinja2 / itsdangerous (and Flask-WTF, a project dependency), plus,
where cheap, that a distractor is false.
"""

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask, redirect, render_template_string, request, send_from_directory, session
from markupsafe import Markup
from werkzeug.debug import DebuggedApplication
from werkzeug.exceptions import NotFound
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.test import Client
from werkzeug.utils import secure_filename


def _session_app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update({"SECRET_KEY": "test-key", **config})

    @app.route("/login")
    def login():
        session["uid"] = 7
        return "ok"

    @app.route("/me")
    def me():
        return str(session.get("uid"))

    return app


def _set_cookie(resp) -> str:
    headers = resp.headers.getlist("Set-Cookie")
    assert len(headers) == 1, headers
    return headers[0]


def _render(source: str, **context) -> str:
    app = Flask(__name__)
    with app.app_context():
        return render_template_string(source, **context)


# --------------------------------------------------------------------------- junior


def test_security_autoescape_output():
    app = Flask(__name__)

    @app.route("/")
    def greet():
        return render_template_string("<p>Hi {{ name }}</p>", name="<b>Bob</b>")

    assert app.test_client().get("/").text == "<p>Hi &lt;b&gt;Bob&lt;/b&gt;</p>"


def test_security_password_storage():
    stored = generate_password_hash("correct horse")
    assert "correct horse" not in stored
    assert stored != hashlib.sha256(b"correct horse").hexdigest()
    assert check_password_hash(stored, "correct horse")
    assert not check_password_hash(stored, "wrong horse")
    # A bare SHA-256 is unsalted: equal passwords give equal digests, unlike the salted hash.
    assert hashlib.sha256(b"pw").hexdigest() == hashlib.sha256(b"pw").hexdigest()
    assert generate_password_hash("pw") != generate_password_hash("pw")
    # check_password_hash only reads method$salt$hash strings: a bare digest never verifies.
    assert not check_password_hash(hashlib.sha256(b"pw").hexdigest(), "pw")


def test_security_session_not_encrypted():
    app = _session_app()
    client = app.test_client()
    client.get("/login")
    value = client.get_cookie("session").value
    payload = value.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    # Anyone holding the cookie can read the data without the secret key.
    assert json.loads(decoded) == {"uid": 7}


def test_security_secure_filename():
    assert secure_filename("../../etc/passwd") == "etc_passwd"
    assert secure_filename("My CV (final).pdf") == "My_CV_final.pdf"
    assert secure_filename("résumé.pdf") == "resume.pdf"
    assert secure_filename("...") == ""


def test_security_debugger_production():
    app = _session_app()
    app.debug = True

    @app.route("/crash")
    def crash():
        raise RuntimeError("boom")

    # What `flask run --debug` serves: the app wrapped in the debugger with evalex on.
    app.logger.disabled = True
    resp = Client(DebuggedApplication(app, evalex=True)).get("/crash")
    assert resp.status_code == 500
    # The traceback page offers the console that runs Python code in the server process.
    assert "EVALEX = true" in resp.get_data(as_text=True)

    # Distractors: debug mode keeps autoescaping and the session signature check.
    with app.test_request_context():
        assert render_template_string("{{ x }}", x="<b>") == "&lt;b&gt;"
    client = app.test_client()
    client.get("/login")
    value = client.get_cookie("session").value
    forged = base64.urlsafe_b64encode(b'{"uid":1}').rstrip(b"=").decode()
    client.set_cookie("session", forged + value[value.index(".") :])
    assert client.get("/me").text == "None"


def test_security_httponly_name():
    assert Flask(__name__).config["SESSION_COOKIE_HTTPONLY"] is True
    header = _set_cookie(_session_app().test_client().get("/login"))
    assert "HttpOnly" in header
    off = _set_cookie(_session_app(SESSION_COOKIE_HTTPONLY=False).test_client().get("/login"))
    assert "HttpOnly" not in off


# --------------------------------------------------------------------------- mid


def test_security_session_cookie_defaults():
    app = _session_app()
    client = app.test_client()
    header = _set_cookie(client.get("/login"))
    attributes = [part.strip().split("=")[0].lower() for part in header.split(";")[1:]]
    assert "httponly" in attributes
    assert "secure" not in attributes
    assert "samesite" not in attributes
    assert "expires" not in attributes and "max-age" not in attributes
    assert client.get("/me").text == "7"

    # Edit the signed payload: the signature no longer matches and the session reads as empty.
    value = client.get_cookie("session").value
    forged_payload = base64.urlsafe_b64encode(b'{"uid":1}').rstrip(b"=").decode()
    client.set_cookie("session", forged_payload + value[value.index(".") :])
    assert client.get("/me").text == "None"

    # SESSION_REFRESH_EACH_REQUEST is True, but it only refreshes permanent sessions: a later
    # request that only reads the session sends no Set-Cookie.
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is True
    client = app.test_client()
    client.get("/login")
    later = client.get("/me")
    assert later.text == "7"
    assert later.headers.getlist("Set-Cookie") == []


def test_security_disable_escaping():
    bio = "<b>hi</b>"
    assert _render("{{ bio|safe }}", bio=bio) == bio
    assert _render("{{ bio }}", bio=Markup(bio)) == bio
    assert _render("{% autoescape false %}{{ bio }}{% endautoescape %}", bio=bio) == bio
    assert _render("{{ bio|e }}", bio=bio) == "&lt;b&gt;hi&lt;/b&gt;"
    assert _render("{{ bio|string }}", bio=bio) == "&lt;b&gt;hi&lt;/b&gt;"


def test_security_max_content_length():
    assert Flask(__name__).config["MAX_CONTENT_LENGTH"] is None
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 16

    @app.post("/note")
    def note():
        return f"{len(request.form['text'])} chars"

    client = app.test_client()
    assert client.post("/note", data={"text": "hi"}).status_code == 200
    assert client.post("/note", data={"text": "x" * 100}).status_code == 413


def test_security_csrf_token_flow():
    from flask_wtf.csrf import CSRFProtect

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test-key"
    CSRFProtect(app)
    changes = []

    @app.route("/form")
    def form():
        return render_template_string(
            '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
        )

    @app.post("/transfer")
    def transfer():
        changes.append("done")
        return "done"

    client = app.test_client()
    # Step 1-2: the GET stores a token in the session and renders it into the form.
    html = client.get("/form").text
    token = re.search(r'value="([^"]+)"', html).group(1)
    with client.session_transaction() as sess:
        assert "csrf_token" in sess

    # Step 4-5: a submission without the token (what a forged form sends) is refused...
    assert client.post("/transfer", data={}).status_code == 400
    assert changes == []
    # ...and one carrying the token from the page is processed.
    assert client.post("/transfer", data={"csrf_token": token}).status_code == 200
    assert changes == ["done"]


def test_security_send_from_directory(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "cat.png").write_bytes(b"png")
    (tmp_path / "config.py").write_text("SECRET = 1")
    app = Flask(__name__)

    with app.test_request_context():
        with pytest.raises(NotFound):
            send_from_directory(uploads, "../config.py")
        ok = send_from_directory(uploads, "cat.png")
        ok.direct_passthrough = False
        assert ok.status_code == 200 and ok.get_data() == b"png"
        ok.close()


def test_security_upload_pipeline(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    app = Flask(__name__)
    app.config.update(UPLOAD_FOLDER=uploads, MAX_CONTENT_LENGTH=1024)

    @app.post("/upload")
    def upload():
        file = request.files["file"]
        name = secure_filename(file.filename)
        if not name.endswith(".txt"):
            return "bad type", 400
        file.save(uploads / name)
        return name

    @app.get("/uploads/<path:name>")
    def download(name):
        return send_from_directory(app.config["UPLOAD_FOLDER"], name)

    client = app.test_client()
    resp = client.post(
        "/upload",
        data={"file": (io.BytesIO(b"hello"), "../../notes.txt")},
        content_type="multipart/form-data",
    )
    assert resp.text == "notes.txt"
    assert (uploads / "notes.txt").read_bytes() == b"hello"
    assert not (tmp_path / "notes.txt").exists()

    big = client.post(
        "/upload",
        data={"file": (io.BytesIO(b"x" * 5000), "big.txt")},
        content_type="multipart/form-data",
    )
    assert big.status_code == 413

    served = client.get("/uploads/notes.txt")
    assert served.status_code == 200 and served.data == b"hello"
    served.close()


def test_security_password_hash_format():
    a = generate_password_hash("hunter2")
    b = generate_password_hash("hunter2")
    assert a.split("$")[0] == "scrypt:32768:8:1"
    assert a != b
    assert check_password_hash(a, "hunter2") and check_password_hash(b, "hunter2")


# --------------------------------------------------------------------------- senior


def test_security_serializer_salt():
    from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer

    reset = URLSafeSerializer("secret-key", salt="reset")
    token = reset.dumps({"user": 42})
    assert reset.loads(token) == {"user": 42}
    with pytest.raises(BadSignature) as info:
        URLSafeSerializer("secret-key", salt="activate").loads(token)
    assert not isinstance(info.value, SignatureExpired)


def test_security_open_redirect_prefix():
    app = Flask(__name__)

    @app.route("/login")
    def login():
        target = request.args.get("next", "/")
        return redirect(target if target.startswith("/") else "/")

    client = app.test_client()
    resp = client.get("/login", query_string={"next": "//evil.example/login"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "//evil.example/login"
    # A browser resolves the scheme-relative Location against the current page: another host.
    assert urljoin("https://shop.example/login", resp.headers["Location"]) == (
        "https://evil.example/login"
    )
    # The distractors stay on the site (or are caught by the prefix check).
    assert client.get("/login?next=https://evil.example/").headers["Location"] == "/"
    local = client.get("/login", query_string={"next": "/login?next=https://evil.example/"})
    assert local.headers["Location"] == "/login?next=https://evil.example/"
    assert urlsplit(urljoin("https://shop.example/login", local.headers["Location"])).netloc == (
        "shop.example"
    )
    assert client.get(local.headers["Location"]).headers["Location"] == "/"  # the next hop
    climb = client.get("/login", query_string={"next": "/../../etc/passwd"})
    assert urljoin("https://shop.example/login", climb.headers["Location"]) == (
        "https://shop.example/etc/passwd"
    )


def test_security_secret_key_fallbacks():
    old = _session_app(SECRET_KEY="old-key")
    old_client = old.test_client()
    old_client.get("/login")
    cookie = old_client.get_cookie("session").value

    rotated = _session_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    client = rotated.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/me").text == "7"

    # Re-signing on every request does not rescue a cookie signed with the old key.
    refreshed = _session_app(SECRET_KEY="new-key", SESSION_REFRESH_EACH_REQUEST=True)
    client = refreshed.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/me").text == "None"


def test_security_escaping_gaps():
    href = _render('<a href="{{ x }}">profile</a>', x="javascript:alert(1)")
    assert href == '<a href="javascript:alert(1)">profile</a>'

    unquoted = _render("<input value={{ x }}>", x="a onfocus=alert(1) autofocus")
    assert unquoted == "<input value=a onfocus=alert(1) autofocus>"

    safe = _render("<div>{{ x|safe }}</div>", x="<img src=x onerror=alert(1)>")
    assert safe == "<div><img src=x onerror=alert(1)></div>"

    # In an event-handler attribute the quote is escaped, but the browser's HTML parser decodes
    # the entity before the code runs (html.parser decodes attribute values the same way).
    handler = _render("""<body onload="greet('{{ x }}')">""", x="');alert(1);//")
    assert handler == """<body onload="greet('&#39;);alert(1);//')">"""
    attrs = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, found: attrs.extend(found)
    parser.feed(handler)
    assert attrs == [("onload", "greet('');alert(1);//')")]

    # After a path prefix the value cannot pick the scheme: it stays a relative path.
    prefixed = _render('<a href="/users/{{ x }}">profile</a>', x="javascript:alert(1)")
    assert prefixed == '<a href="/users/javascript:alert(1)">profile</a>'
    target = urljoin("https://shop.example/page", "/users/javascript:alert(1)")
    assert urlsplit(target)[:2] == ("https", "shop.example")

    quoted = _render('<input value="{{ x }}">', x='" onfocus="alert(1)')
    assert quoted == '<input value="&#34; onfocus=&#34;alert(1)">'

    text = _render("<p>{{ x }}</p>", x="<script>alert(1)</script>")
    assert "<script>" not in text


def test_security_csrf_defences():
    from flask_wtf.csrf import CSRFProtect

    def make(csrf: bool, **config) -> tuple[Flask, list]:
        app = _session_app(**config)
        if csrf:
            CSRFProtect(app)
        done = []

        @app.post("/delete")
        def delete():
            done.append(session.get("uid"))
            return "deleted"

        return app, done

    forged = {"Origin": "https://evil.example"}

    # HttpOnly + Secure cookie, no token check: the forged POST with the cookie goes through.
    app, done = make(False, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    client.get("/login", base_url="https://localhost")
    resp = client.post("/delete", headers=forged, base_url="https://localhost")
    assert resp.status_code == 200 and done == [7]

    # A token requirement stops it.
    app, done = make(True)
    client = app.test_client()
    client.get("/login")
    assert client.post("/delete", headers=forged).status_code == 400
    assert done == []

    # SameSite=Lax is sent on the cookie when configured (the browser then withholds it on
    # cross-site POSTs).
    app, _ = make(False, SESSION_COOKIE_SAMESITE="Lax")
    assert "SameSite=Lax" in _set_cookie(app.test_client().get("/login"))


def test_security_cors_not_a_csrf_guard():
    app = _session_app()
    done = []

    @app.post("/transfer")
    def transfer():
        done.append(session.get("uid"))
        return "moved"

    client = app.test_client()
    client.get("/login")
    resp = client.post(
        "/transfer",
        data={"amount": "100"},
        headers={"Origin": "https://evil.example"},
    )
    # No CORS headers at all, yet the cross-origin form POST reached the view with the cookie.
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert resp.status_code == 200 and done == [7]


def test_security_headers_on_errors():
    app = Flask(__name__)

    @app.after_request
    def security_headers(resp):
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        return resp

    @app.route("/")
    def index():
        return "home"

    @app.route("/crash")
    def crash():
        raise RuntimeError("db down")

    app.logger.disabled = True
    client = app.test_client()
    for path, status in (("/", 200), ("/nope", 404), ("/crash", 500)):
        resp = client.get(path)
        assert resp.status_code == status
        assert resp.headers.get("X-Frame-Options") == "SAMEORIGIN"

    # When the exception propagates (testing mode), there is no response to decorate.
    app.config["TESTING"] = True
    with pytest.raises(RuntimeError):
        client.get("/crash")
