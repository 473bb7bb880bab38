"""Behaviour behind the answers keyed in quiz/bank/rest_api.toml.

One test per question whose keyed answer can be demonstrated with the installed Flask/Werkzeug;
each is named after the question slug. code_output questions are checked by test_bank_content.
"""

import json

import pytest
from flask import Blueprint, Flask, abort, request, url_for
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response


def make_app(**config):
    app = Flask(__name__)
    app.config.update(config)
    return app


def allow_set(resp):
    return set(resp.headers["Allow"].split(", "))


# --------------------------------------------------------------------------- junior


def test_rest_api_status_created():
    app = make_app()

    @app.post("/api/books")
    def create_book():
        return {"id": 7}, 201, {"Location": url_for("get_book", book_id=7)}

    @app.get("/api/books/<int:book_id>")
    def get_book(book_id):
        return {"id": book_id}

    resp = app.test_client().post("/api/books", json={"title": "Dune"})
    assert resp.status_code == 201
    assert resp.headers["Location"] == "/api/books/7"
    assert resp.get_json() == {"id": 7}


def test_rest_api_return_list():
    app = make_app()

    @app.get("/items")
    def items():
        return [{"id": 1}, {"id": 2}]

    @app.get("/tags")
    def tags():
        return {"a", "b"}  # other types are still rejected

    client = app.test_client()
    resp = client.get("/items")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json() == [{"id": 1}, {"id": 2}]
    assert client.get("/tags").status_code == 500


def test_rest_api_get_json_name():
    app = make_app()
    seen = {}

    @app.post("/echo")
    def echo():
        seen["default"] = request.get_json()
        seen["silent"] = request.get_json(silent=True)
        seen["force"] = request.get_json(force=True)
        return "ok"

    assert app.test_client().post("/echo", json={"a": [1, 2]}).status_code == 200
    assert seen == {"default": {"a": [1, 2]}, "silent": {"a": [1, 2]}, "force": {"a": [1, 2]}}


def test_rest_api_no_content():
    app = make_app(TESTING=True)

    @app.delete("/ok")
    def ok():
        return "", 204

    @app.delete("/none")
    def none():
        return None

    client = app.test_client()
    resp = client.delete("/ok")
    assert resp.status_code == 204
    assert resp.data == b""
    with pytest.raises(TypeError):
        client.delete("/none")
    with pytest.raises(LookupError):
        abort(204)


def test_rest_api_url_versioning():
    app = make_app()
    v1 = Blueprint("v1", __name__, url_prefix="/api/v1")
    v2 = Blueprint("v2", __name__, url_prefix="/api/v2")

    @v1.get("/books/<int:book_id>")
    def book_v1(book_id):
        return {"id": book_id, "author": "Herbert"}

    @v2.get("/books/<int:book_id>")
    def book_v2(book_id):
        return {"id": book_id, "author": {"name": "Herbert"}}

    app.register_blueprint(v1)
    app.register_blueprint(v2)
    client = app.test_client()
    assert client.get("/api/v1/books/1").get_json()["author"] == "Herbert"
    assert client.get("/api/v2/books/1").get_json()["author"] == {"name": "Herbert"}
    with app.test_request_context():
        assert url_for("v1.book_v1", book_id=1) == "/api/v1/books/1"
        assert url_for("v2.book_v2", book_id=1) == "/api/v2/books/1"


# --------------------------------------------------------------------------- mid


def test_rest_api_get_json_options():
    app = make_app()

    @app.post("/silent")
    def silent():
        return {"data": request.get_json(silent=True)}

    @app.post("/force")
    def force():
        return {"data": request.get_json(force=True)}

    @app.post("/prop")
    def prop():
        return {"data": request.json}

    @app.post("/plain")
    def plain():
        return {"data": request.get_json()}

    client = app.test_client()
    bad = client.post("/silent", data='{"a": 1', content_type="application/json")
    assert bad.status_code == 200 and bad.get_json() == {"data": None}
    wrong_type = client.post("/silent", data='{"a": 1}', content_type="text/plain")
    assert wrong_type.get_json() == {"data": None}

    forced = client.post("/force", data='{"a": 1}', content_type="text/plain")
    assert forced.get_json() == {"data": {"a": 1}}
    # force does not make malformed JSON acceptable
    assert client.post("/force", data='{"a": 1', content_type="text/plain").status_code == 400

    assert client.post("/prop", data='{"a": 1}', content_type="text/plain").status_code == 415
    assert client.post("/plain", data='{"a": 1}', content_type="text/plain").status_code == 415


def test_rest_api_status_codes():
    app = make_app()

    @app.post("/books")
    def create_book():
        data = request.get_json()
        if data.get("title") == "Dune":
            abort(409)
        if data.get("quantity", 0) < 0:
            abort(422)
        return data, 201

    @app.get("/books/<int:book_id>")
    def get_book(book_id):
        return {"id": book_id}

    client = app.test_client()
    assert client.post("/books", data="{oops", content_type="application/json").status_code == 400
    xml = client.post("/books", data="<book/>", content_type="application/xml")
    assert xml.status_code == 415  # Unsupported Media Type, not 406 Not Acceptable
    assert client.post("/books", json={"title": "Dune"}).status_code == 409
    assert client.post("/books", json={"quantity": -3}).status_code == 422
    assert client.put("/books/1").status_code == 405  # not 404


def test_rest_api_location_relative():
    assert Response.autocorrect_location_header is False
    app = make_app()

    @app.post("/api/books")
    def create_book():
        return {"id": 7}, 201, {"Location": "/api/books/7"}

    @app.get("/api/books/<int:book_id>")
    def get_book(book_id):
        return {"id": book_id}

    resp = app.test_client().post("/api/books", base_url="http://api.example.com")
    assert resp.headers["Location"] == "/api/books/7"
    # An absolute URL has to be built explicitly.
    with app.test_request_context(base_url="http://api.example.com"):
        absolute = url_for("get_book", book_id=7, _external=True)
    assert absolute == "http://api.example.com/api/books/7"


def test_rest_api_problem_json():
    app = make_app()

    @app.post("/orders")
    def create_order():
        body = request.get_json()
        problem = {
            "type": "https://example.com/probs/out-of-stock",
            "title": "Out of stock",
            "status": 409,
            "detail": f"No {body['item']} left",
        }
        return Response(json.dumps(problem), 409, mimetype="application/problem+json")

    resp = app.test_client().post(
        "/orders", data='{"item": "lamp"}', content_type="application/problem+json"
    )
    assert resp.status_code == 409
    assert resp.mimetype == "application/problem+json"
    assert resp.is_json
    assert resp.get_json()["status"] == resp.status_code
    assert resp.get_json()["detail"] == "No lamp left"


def test_rest_api_cors_preflight():
    app = make_app()
    calls = []

    @app.put("/books/<int:book_id>")
    def update_book(book_id):
        calls.append(request.method)
        return {"id": book_id}

    client = app.test_client()
    preflight_headers = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type",
    }
    # Flask answers OPTIONS by itself, without the view and without CORS headers.
    bare = client.options("/books/7", headers=preflight_headers)
    assert bare.status_code == 200
    assert "PUT" in allow_set(bare)
    assert "Access-Control-Allow-Origin" not in bare.headers
    assert calls == []

    cors_app = make_app()

    @cors_app.put("/books/<int:book_id>")
    def update_book_cors(book_id):
        calls.append(request.method)
        return {"id": book_id}

    @cors_app.after_request
    def add_cors(resp):
        if request.headers.get("Origin") == "https://app.example":
            resp.headers["Access-Control-Allow-Origin"] = "https://app.example"
            resp.headers["Access-Control-Allow-Methods"] = "GET, PUT, DELETE"
            resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return resp

    client = cors_app.test_client()
    preflight = client.options("/books/7", headers=preflight_headers)
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert calls == []
    actual = client.put("/books/7", json={"title": "x"}, headers={"Origin": "https://app.example"})
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert calls == ["PUT"]


# --------------------------------------------------------------------------- senior


def test_rest_api_allow_header():
    naive = make_app()

    @naive.errorhandler(HTTPException)
    def json_error(e):
        return {"error": e.name, "detail": e.description}, e.code

    @naive.get("/books")
    def books():
        return []

    resp = naive.test_client().post("/books")
    assert resp.status_code == 405  # the distractors: the tuple's status is kept ...
    assert resp.mimetype == "application/json"  # ... and the dict is sent as JSON
    assert "Allow" not in resp.headers  # Flask does not copy the exception's headers over

    documented = make_app()

    @documented.errorhandler(HTTPException)
    def json_error_documented(e):
        response = e.get_response()
        response.data = json.dumps({"error": e.name, "detail": e.description})
        response.content_type = "application/json"
        return response

    @documented.get("/books")
    def books_documented():
        return []

    resp = documented.test_client().post("/books")
    assert resp.status_code == 405
    assert allow_set(resp) == {"GET", "HEAD", "OPTIONS"}
    assert resp.get_json()["error"] == "Method Not Allowed"


def test_rest_api_if_match_flow():
    app = make_app()
    book = {"title": "Dune", "version": 1}

    def tag():
        return f"v{book['version']}"

    @app.get("/api/books/7")
    def get_book():
        resp = app.json.response(book)
        resp.set_etag(tag())
        return resp

    @app.put("/api/books/7")
    def put_book():
        if not request.if_match.contains(tag()):
            abort(412)
        book.update(request.get_json(), version=book["version"] + 1)
        resp = app.json.response(book)
        resp.set_etag(tag())
        return resp

    client = app.test_client()
    etag = client.get("/api/books/7").headers["ETag"]
    assert etag == '"v1"'

    ok = client.put("/api/books/7", json={"title": "Dune Messiah"}, headers={"If-Match": etag})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"v2"'

    # A second client still holding the old tag must not overwrite the change.
    stale = client.put("/api/books/7", json={"title": "Lost update"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert book["title"] == "Dune Messiah"


def test_rest_api_json_provider():
    class Money:
        def __init__(self, cents):
            self.cents = cents

    class MoneyJSONProvider(DefaultJSONProvider):
        @staticmethod
        def default(o):
            if isinstance(o, Money):
                return f"{o.cents / 100:.2f}"
            return DefaultJSONProvider.default(o)

    class MoneyEncoder(json.JSONEncoder):
        def default(self, o):
            if isinstance(o, Money):
                return f"{o.cents / 100:.2f}"
            return super().default(o)

    old_style = make_app(TESTING=True)
    old_style.json_encoder = MoneyEncoder  # removed hook: has no effect in Flask 3.1

    @old_style.get("/price")
    def price_old():
        return {"price": Money(250)}

    with pytest.raises(TypeError, match="not JSON serializable"):
        old_style.test_client().get("/price")

    app = make_app(TESTING=True)
    app.json = MoneyJSONProvider(app)

    @app.get("/price")
    def price():
        return {"price": Money(250)}

    assert app.test_client().get("/price").get_json() == {"price": "2.50"}
    with app.app_context():
        assert app.json.dumps({"p": Money(5)}) == '{"p": "0.05"}'


def test_rest_api_trailing_slash_post():
    app = make_app()
    assert app.url_map.strict_slashes is True

    @app.post("/api/books/")
    def create_book():
        return {"got": request.get_json()}, 201

    client = app.test_client()
    resp = client.post("/api/books", json={"title": "Dune"})
    assert resp.status_code == 308
    assert resp.headers["Location"].endswith("/api/books/")

    followed = client.post("/api/books", json={"title": "Dune"}, follow_redirects=True)
    assert followed.status_code == 201
    assert followed.request.method == "POST"
    assert followed.get_json() == {"got": {"title": "Dune"}}

    # Only with strict_slashes switched off is the view called directly.
    lenient = make_app()
    lenient.url_map.strict_slashes = False

    @lenient.post("/api/books/")
    def create_book_lenient():
        return {"got": request.get_json()}, 201

    assert lenient.test_client().post("/api/books", json={"title": "Dune"}).status_code == 201
