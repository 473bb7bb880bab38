"""The JSON API: bearer tokens (CLI and admin page), every endpoint, visibility by role,
JSON errors, and the OpenAPI document checked against the app by schemathesis."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from test_auth import login, make_user, token

from quiz import attempts, security
from quiz.api import tokens
from quiz.integration_commands import COMMANDS
from quiz.invitations import service
from quiz.models import Answer, ApiToken, Attempt, Invitation, Quiz

ROLES = ("admin", "reviewer", "recruiter")


@pytest.fixture
def world(app):
    """A user and a token per role, another recruiter, and attempts: one public, one on each
    recruiter's invitation (finished), one open."""
    users = {role: make_user(f"{role}@example.com", role=role) for role in ROLES}
    other = make_user("other@example.com", role="recruiter")
    keys = {role: tokens.create(user, role)[1] for role, user in users.items()}
    keys["other"] = tokens.create(other, "other")[1]
    quiz = Quiz.get(Quiz.slug == "basics")
    mine, _ = service.create(quiz, "Mine", "mine@example.com", users["recruiter"])
    theirs, _ = service.create(quiz, "Theirs", "theirs@example.com", other)
    made = {}
    for name, invitation in (("public", None), ("mine", mine), ("theirs", theirs)):
        attempt = attempts.start(
            quiz, f"owner-{name}", invitation=invitation, candidate_name=name.title()
        )
        first = attempt.question_ids[0]
        Answer.create(attempt=attempt, question=first, response={"choice": 1}, score=1.0)
        made[name] = attempts.finish(attempt)
    made["open"] = attempts.start(quiz, "owner-open")
    return {"users": users, "keys": keys, "attempts": made, "quiz": quiz}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def get(client, url, key):
    return client.get(url, headers=bearer(key))


# --------------------------------------------------------------------------- tokens


def test_tokens_are_stored_hashed_and_shown_once_by_the_command(app, runner):
    for command in COMMANDS:  # registered by quiz.cli once the lead wires them in
        app.cli.commands.setdefault(command.name, command)
    make_user("rev@example.com", role="reviewer")
    result = runner.invoke(args=["api-token", "REV@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert key.startswith("qz_") and len(key) > 40
    row = ApiToken.get(ApiToken.name == "ci")
    assert row.token_hash == security.token_hash(key) and key not in row.token_hash
    client = app.test_client()
    assert get(client, "/api/v1/attempts", key).status_code == 200
    bad = runner.invoke(args=["api-token", "nobody@example.com"])
    assert bad.exit_code != 0 and "no active user" in bad.output


def test_admin_creates_and_revokes_tokens_in_the_ui(app, client):
    make_user("admin@example.com", role="admin")
    make_user("rev@example.com", role="reviewer")
    login(client, "admin@example.com")
    csrf = token(client, "/bank/api-tokens")
    r = client.post(
        "/bank/api-tokens", data={"csrf_token": csrf, "user": "rev@example.com", "name": "BI"}
    )
    assert r.status_code == 200
    key = re.search(r'id="new-token"[^>]*value="(qz_[^"]+)"', r.get_data(as_text=True)).group(1)
    assert get(app.test_client(), "/api/v1/attempts", key).status_code == 200
    # The list never shows the token again.
    assert key not in client.get("/bank/api-tokens").get_data(as_text=True)
    row = ApiToken.get(ApiToken.name == "BI")
    r = client.post(f"/bank/api-tokens/{row.id}/revoke", data={"csrf_token": csrf, "confirm": "1"})
    assert r.status_code == 303
    assert get(app.test_client(), "/api/v1/attempts", key).status_code == 401
    bad = client.post("/bank/api-tokens", data={"csrf_token": csrf, "user": "x@example.com"})
    assert bad.status_code == 400 and "Choose an active account" in bad.get_data(as_text=True)
    assert client.post("/bank/api-tokens/999/revoke", data={"csrf_token": csrf}).status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic abc", "Bearer qz_not-a-token", "bearer " + "x" * 500],
)
def test_missing_or_bad_tokens_get_a_json_401(world, client, header):
    headers = {"Authorization": header} if header is not None else {}
    r = client.get("/api/v1/attempts", headers=headers)
    assert r.status_code == 401 and r.is_json
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json["status"] == 401 and "token" in r.json["message"]
    assert "Set-Cookie" not in r.headers  # the API never starts a session


def test_tokens_of_deactivated_users_stop_working(world, client):
    user = world["users"]["reviewer"]
    user.active = False
    user.save()
    assert get(client, "/api/v1/attempts", world["keys"]["reviewer"]).status_code == 401


def test_cookies_are_not_credentials(world, app):
    client = app.test_client()
    login(client, "admin@example.com")
    assert client.get("/api/v1/attempts").status_code == 401


# --------------------------------------------------------------------------- attempts


def ids(response) -> set[str]:
    return {a["id"] for a in response.json["items"]}


def test_list_attempts_by_role(world, client):
    made = {k: a.public_id for k, a in world["attempts"].items()}
    everyone = set(made.values())
    keys = world["keys"]
    r = get(client, "/api/v1/attempts", keys["admin"])
    assert ids(r) == everyone and "Set-Cookie" not in r.headers  # no session, ever
    assert ids(get(client, "/api/v1/attempts", keys["reviewer"])) == everyone
    assert ids(get(client, "/api/v1/attempts", keys["recruiter"])) == {made["mine"]}
    assert ids(get(client, "/api/v1/attempts", keys["other"])) == {made["theirs"]}


def test_list_attempts_filters_and_pages(world, client):
    key = world["keys"]["reviewer"]
    r = get(client, "/api/v1/attempts?status=in_progress", key)
    assert ids(r) == {world["attempts"]["open"].public_id}
    assert get(client, "/api/v1/attempts?quiz=timed", key).json["total"] == 0
    r = get(client, "/api/v1/attempts?quiz=basics&status=submitted&per_page=2", key)
    assert r.json["total"] == 3 and len(r.json["items"]) == 2 and r.json["pages"] == 2
    second = get(client, "/api/v1/attempts?quiz=basics&status=submitted&per_page=2&page=2", key)
    assert len(second.json["items"]) == 1 and not ids(r) & ids(second)
    first = r.json["items"][0]
    assert first["quiz"] == "basics" and first["status"] == "submitted"
    assert first["finished_at"].endswith("Z") and first["max_score"] > 0


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("per_page=101", "per_page"),
        ("status=done", "status"),
        ("quiz=no-such-quiz", "quiz"),
    ],
)
def test_bad_parameters_get_400_with_field_messages(world, client, query, field):
    r = get(client, f"/api/v1/attempts?{query}", world["keys"]["admin"])
    assert r.status_code == 400 and set(r.json["fields"]) == {field}


def test_read_one_attempt_with_answers(world, client):
    attempt = world["attempts"]["mine"]
    r = get(client, f"/api/v1/attempts/{attempt.public_id}", world["keys"]["recruiter"])
    assert r.status_code == 200
    body = r.json
    assert body["id"] == attempt.public_id and body["candidate"]["name"] == "Mine"
    assert [a["position"] for a in body["answers"]] == list(range(1, len(attempt.question_ids) + 1))
    answered = [a for a in body["answers"] if a["answered"]]
    assert len(answered) == 1 and answered[0]["response"] == {"choice": 1}
    assert answered[0]["score"] == 1.0 and body["score"] == 1.0
    assert all(a["score"] == 0 and a["response"] is None for a in body["answers"][1:])


def test_others_attempts_are_404_for_recruiters(world, client):
    theirs = world["attempts"]["theirs"].public_id
    public = world["attempts"]["public"].public_id
    for pid in (theirs, public, "nope"):
        r = get(client, f"/api/v1/attempts/{pid}", world["keys"]["recruiter"])
        assert r.status_code == 404 and r.is_json
    assert get(client, f"/api/v1/attempts/{theirs}", world["keys"]["reviewer"]).status_code == 200


# --------------------------------------------------------------------------- invitations


def test_list_invitations_by_role(world, client):
    keys = world["keys"]
    names = lambda r: {i["candidate"]["name"] for i in r.json["items"]}  # noqa: E731
    assert names(get(client, "/api/v1/invitations", keys["admin"])) == {"Mine", "Theirs"}
    mine = get(client, "/api/v1/invitations", keys["recruiter"])
    assert names(mine) == {"Mine"}
    item = mine.json["items"][0]
    assert item["status"] == "completed"
    assert item["attempt"] == world["attempts"]["mine"].public_id
    r = get(client, "/api/v1/invitations", keys["reviewer"])
    assert r.status_code == 403 and r.is_json


def test_create_invitation_returns_the_link_once(world, app, client):
    payload = {"quiz": "basics", "name": " Ada ", "email": "ADA@example.com", "days": 3}
    r = client.post("/api/v1/invitations", json=payload, headers=bearer(world["keys"]["recruiter"]))
    assert r.status_code == 201, r.json
    link = r.json["link"]
    key = re.search(r"/i/([^/?#]+)$", link).group(1)
    created = Invitation.get(Invitation.id == r.json["invitation"]["id"])
    assert created.candidate_name == "Ada" and created.candidate_email == "ada@example.com"
    assert created.created_by_id == world["users"]["recruiter"].id
    assert created.token_hash == security.token_hash(key) and key not in created.token_hash
    assert app.test_client().get(link.split("localhost", 1)[1]).status_code == 200
    listed = get(client, "/api/v1/invitations", world["keys"]["recruiter"]).get_data(as_text=True)
    assert key not in listed


@pytest.mark.parametrize(
    "extra, view",
    [({}, "none"), ({"show_score": True}, "topics"), ({"result": "review"}, "review")],
)
def test_create_invitation_chooses_what_the_candidate_sees(world, client, extra, view):
    payload = {"quiz": "basics", "name": "Ada", "email": "ada@example.com", **extra}
    r = client.post("/api/v1/invitations", json=payload, headers=bearer(world["keys"]["recruiter"]))
    assert r.status_code == 201, r.json
    assert r.json["invitation"]["result"] == view
    assert Invitation.get(Invitation.id == r.json["invitation"]["id"]).result_view == view


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"quiz", "name", "email"}),
        ({"quiz": "nope", "name": "A", "email": "a@example.com"}, {"quiz"}),
        ({"quiz": "basics", "name": "   ", "email": "a@example.com"}, {"name"}),
        ({"quiz": "basics", "name": "A", "email": "not-an-address"}, {"email"}),
        ({"quiz": "basics", "name": "A", "email": "a@example.com", "days": 0}, {"days"}),
        ({"quiz": "basics", "name": "A", "email": "a@example.com", "days": True}, {"days"}),
        ({"quiz": "basics", "name": "A", "email": "a@x.io", "time_limit": 601}, {"time_limit"}),
        ({"quiz": "basics", "name": "A", "email": "a@x.io", "show_score": "yes"}, {"show_score"}),
        ({"quiz": "basics", "name": "A", "email": "a@x.io", "result": "all"}, {"result"}),
        ({"quiz": 5, "name": ["A"], "email": None}, {"quiz", "name", "email"}),
        # A misspelt field is refused, not ignored (found by schemathesis).
        ({"quiz": "basics", "name": "A", "email": "a@x.io", "show_scor": True}, {"show_scor"}),
    ],
)
def test_create_invitation_validates_every_field(world, client, body, fields):
    before = Invitation.select().count()
    r = client.post("/api/v1/invitations", json=body, headers=bearer(world["keys"]["admin"]))
    assert r.status_code == 400 and set(r.json["fields"]) == fields
    assert Invitation.select().count() == before  # a bad request writes nothing


@pytest.mark.parametrize("data", ["not json", "[1, 2]", ""])
def test_create_invitation_needs_a_json_object(world, client, data):
    headers = {**bearer(world["keys"]["admin"]), "Content-Type": "application/json"}
    r = client.post("/api/v1/invitations", data=data, headers=headers)
    assert r.status_code == 400 and "JSON object" in r.json["message"]


def test_reviewers_cannot_invite(world, client):
    body = {"quiz": "basics", "name": "A", "email": "a@example.com"}
    r = client.post("/api/v1/invitations", json=body, headers=bearer(world["keys"]["reviewer"]))
    assert r.status_code == 403 and r.json["status"] == 403


# --------------------------------------------------------------------------- statistics


def test_stats_matches_the_analytics_report(world, client):
    from quiz import analytics_store

    r = get(client, "/api/v1/quizzes/basics/stats", world["keys"]["reviewer"])
    assert r.status_code == 200
    report = analytics_store.report(world["quiz"])
    body = r.json
    assert body["attempts"] == report.attempts == 3
    assert body["mean"] == pytest.approx(report.mean)
    assert body["alpha"] is None or body["alpha"] == pytest.approx(report.alpha)
    assert [q["slug"] for q in body["questions"]] == [q.slug for q in report.questions]
    for q in body["questions"]:
        assert set(q) >= {"slug", "facility", "discrimination", "flags"}
        assert all(set(f) == {"code", "reason"} for f in q["flags"])
    everyone = get(client, "/api/v1/quizzes/basics/stats?attempts=all", world["keys"]["admin"])
    assert everyone.json["scope"] == "all"


def test_stats_errors(world, client):
    keys = world["keys"]
    assert get(client, "/api/v1/quizzes/basics/stats", keys["recruiter"]).status_code == 403
    assert get(client, "/api/v1/quizzes/nope/stats", keys["reviewer"]).status_code == 404
    r = get(client, "/api/v1/quizzes/basics/stats?attempts=some", keys["reviewer"])
    assert r.status_code == 400 and set(r.json["fields"]) == {"attempts"}


# --------------------------------------------------------------------------- JSON errors


@pytest.mark.parametrize(
    "method, url, code",
    [
        ("GET", "/api/v1", 404),
        ("GET", "/api/v1/", 404),
        ("GET", "/api/v1/nothing/here", 404),
        ("DELETE", "/api/v1/attempts", 405),
        ("PUT", "/api/v1/invitations", 405),
        ("POST", "/api/v1/quizzes/basics/stats", 405),
    ],
)
def test_every_failure_is_json(world, client, method, url, code):
    r = client.open(url, method=method, headers=bearer(world["keys"]["admin"]))
    assert r.status_code == code and r.is_json and r.json["status"] == code
    assert "<html" not in r.get_data(as_text=True)
    if code == 405:
        assert "GET" in r.headers["Allow"] or "POST" in r.headers["Allow"]


def test_no_csrf_needed_for_token_posts(world, app):
    client = app.test_client()  # no session, no CSRF token: the bearer token is the proof
    body = {"quiz": "basics", "name": "A", "email": "a@example.com"}
    r = client.post("/api/v1/invitations", json=body, headers=bearer(world["keys"]["admin"]))
    assert r.status_code == 201


def test_openapi_document_lists_every_route(world, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {
        (method.upper(), "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", path))
        for path, ops in doc["paths"].items()
        for method in ops
    }
    routed = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule).replace("<public_id>", "<id>"))
        for rule in client.application.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed
    quiz_enum = doc["components"]["schemas"]["NewInvitation"]["properties"]["quiz"]["enum"]
    assert "basics" in quiz_enum


# --------------------------------------------------------------------------- schemathesis

OPERATIONS = [
    ("GET", "/attempts"),
    ("GET", "/attempts/{id}"),
    ("GET", "/invitations"),
    ("POST", "/invitations"),
    ("GET", "/quizzes/{slug}/stats"),
]  # GET /openapi.json, the document itself, schemathesis leaves out


def load_schema(app, key: str | None = None):
    """The app's OpenAPI document as schemathesis sees it; `key`: the bearer token to use
    (schemathesis then knows when its negative cases leave authentication out)."""
    auth = {"auth": {"openapi": {"bearer": {"bearer": key}}}} if key else {}
    config = SchemathesisConfig.from_dict(auth)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def test_schemathesis_sees_every_operation(world, app):
    loaded = load_schema(app)
    seen = {(op.ok().method.upper(), op.ok().path) for op in loaded.get_all_operations()}
    assert seen == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_openapi_document(world, app, method, path, mode):
    """Generated valid and invalid requests to every operation answer as documented:
    status codes, content types, headers and bodies; no server error; invalid input
    refused; valid input accepted; authentication enforced (schemathesis' checks)."""
    operation = load_schema(app, world["keys"]["admin"])[path][method]
    statuses = []
    known = {}
    if path == "/attempts/{id}" and mode == GenerationMode.POSITIVE:
        known = {"id": world["attempts"]["mine"].public_id}  # random ids would all be 404

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known or None))
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case):
        statuses.append(case.call_and_validate().status_code)

    run()
    # The token was used: valid requests succeed (not just "401, as documented").
    if mode == GenerationMode.POSITIVE:
        assert {200, 201} & set(statuses), statuses
    else:
        assert any(400 <= s < 500 for s in statuses), statuses


def test_nothing_was_left_open(world):
    assert Attempt.select().where(Attempt.status == "in_progress").count() == 1
