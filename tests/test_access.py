"""Who may do what: every staff route against every role, plus ownership of ids."""

import pytest
from test_auth import login, make_user, token

from quiz.invitations import service
from quiz.models import Quiz, User

ROLES = ("anonymous", "reviewer", "recruiter", "admin")
OK = "ok"  # a 2xx, or the 303 of a successful POST
LOGIN = "login"  # 303 to the sign-in page

# (method, url template, expected for anonymous, reviewer, recruiter, admin)
MATRIX = [
    ("GET", "/invitations", LOGIN, 403, OK, OK),
    ("GET", "/invitations/new", LOGIN, 403, OK, OK),
    ("POST", "/invitations", LOGIN, 403, 400, 400),  # empty form: validated, refused
    ("GET", "/invitations/{mine}/link", LOGIN, 403, OK, OK),
    ("GET", "/invitations/{theirs}/link", LOGIN, 403, 404, OK),
    ("POST", "/invitations/{mine}/extend", LOGIN, 403, OK, OK),
    ("POST", "/invitations/{theirs}/extend", LOGIN, 403, 404, OK),
    ("POST", "/invitations/{mine}/reissue", LOGIN, 403, OK, OK),
    ("POST", "/invitations/{theirs}/reissue", LOGIN, 403, 404, OK),
    ("POST", "/invitations/{theirs}/revoke", LOGIN, 403, 404, OK),
    ("POST", "/invitations/{mine}/erase", LOGIN, 403, 403, OK),
    ("GET", "/invitations/bulk", LOGIN, 403, OK, OK),
    ("POST", "/invitations/bulk", LOGIN, 403, 400, 400),  # no file: refused
    ("GET", "/invitations/bulk/links", LOGIN, 403, OK, OK),
    ("GET", "/bank/outbox", LOGIN, 403, 403, OK),
    ("POST", "/bank/outbox/send", LOGIN, 403, 403, OK),
    ("GET", "/bank/users", LOGIN, 403, 403, OK),
    ("POST", "/bank/users", LOGIN, 403, 403, 400),
    ("POST", "/bank/users/{other_user}", LOGIN, 403, 403, OK),
    ("GET", "/dashboard/", LOGIN, OK, OK, OK),
    ("GET", "/dashboard/attempts/{mine_attempt}", LOGIN, OK, OK, OK),
    ("GET", "/dashboard/attempts/{theirs_attempt}", LOGIN, OK, 404, OK),
    ("GET", "/dashboard/compare", LOGIN, 400, 400, 400),  # no ids: refused
    ("GET", "/dashboard/compare?ids={mine_attempt}&ids={theirs_attempt}", LOGIN, OK, 404, OK),
    ("GET", "/dashboard/export/attempts.csv", LOGIN, OK, OK, OK),
    ("GET", "/dashboard/export/answers.csv", LOGIN, OK, OK, OK),
    ("GET", "/bank/questions", LOGIN, 403, 403, OK),
    ("GET", "/bank/questions?q=t-&kind=single&page=2", LOGIN, 403, 403, OK),
    ("GET", "/bank/questions/new", LOGIN, 403, 403, OK),
    ("POST", "/bank/questions", LOGIN, 403, 403, 400),  # empty form: validated, refused
    ("GET", "/bank/questions/t-single/edit", LOGIN, 403, 403, OK),
    ("GET", "/bank/questions/nope/edit", LOGIN, 403, 403, 404),
    ("POST", "/bank/questions/t-single/edit", LOGIN, 403, 403, 400),
    ("POST", "/bank/questions/preview", LOGIN, 403, 403, OK),
    ("POST", "/bank/questions/t-single/active", LOGIN, 403, 403, 400),  # no active=0/1
    ("GET", "/bank/quizzes", LOGIN, 403, 403, OK),
    ("GET", "/bank/quizzes/new", LOGIN, 403, 403, OK),
    ("POST", "/bank/quizzes", LOGIN, 403, 403, 400),
    ("GET", "/bank/quizzes/basics/edit", LOGIN, 403, 403, OK),
    ("POST", "/bank/quizzes/basics/edit", LOGIN, 403, 403, 400),
    ("POST", "/bank/quizzes/count", LOGIN, 403, 403, OK),
    ("GET", "/bank/import", LOGIN, 403, 403, OK),
    ("POST", "/bank/import", LOGIN, 403, 403, 400),  # no file: refused
    ("GET", "/bank/export", LOGIN, 403, 403, OK),
    ("GET", "/dashboard/quizzes", LOGIN, OK, 403, OK),
    ("GET", "/dashboard/quizzes/basics", LOGIN, OK, 403, OK),
    ("GET", "/dashboard/quizzes/nope", LOGIN, 404, 403, 404),
    ("POST", "/dashboard/quizzes/basics/recalculate", LOGIN, OK, 403, OK),
    ("GET", "/bank/api-tokens", LOGIN, 403, 403, OK),
    ("POST", "/bank/api-tokens", LOGIN, 403, 403, 400),  # no user chosen: refused
    ("POST", "/bank/api-tokens/999999/revoke", LOGIN, 403, 403, 404),
    ("GET", "/bank/webhook", LOGIN, 403, 403, OK),
    ("POST", "/bank/webhook", LOGIN, 403, 403, 400),  # no URL: refused
    ("POST", "/bank/webhook/rotate", LOGIN, 403, 403, 404),  # no webhook set yet
    ("GET", "/bank/webhook/deliveries", LOGIN, 403, 403, OK),
    ("POST", "/bank/webhook/deliveries/999999/retry", LOGIN, 403, 403, 404),
]


@pytest.fixture
def world(app):
    """One user per role, and one invitation each for two recruiters."""
    users = {role: make_user(f"{role}@example.com", role=role) for role in ROLES[1:]}
    other = make_user("other@example.com", role="recruiter")
    quiz = Quiz.get(Quiz.slug == "basics")
    mine, _ = service.create(quiz, "Mine", "m@example.com", users["recruiter"])
    theirs, _ = service.create(quiz, "Theirs", "t@example.com", other)
    world = {"mine": mine.id, "theirs": theirs.id, "other_user": other.id}
    for name, invitation in (("mine", mine), ("theirs", theirs)):  # the dashboard's attempts
        world[f"{name}_attempt"] = service.start(invitation, name, name).public_id
    return world


def client_as(app, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, f"{role}@example.com")
    return client


@pytest.mark.parametrize(
    "method, url, expected",
    [(m, u, tuple(e)) for m, u, *e in MATRIX],
    ids=[f"{m} {u}" for m, u, *_ in MATRIX],
)
def test_role_by_route(app, world, method, url, expected):
    for role, want in zip(ROLES, expected, strict=True):
        client = client_as(app, role)
        path = url.format(**world)
        if method == "GET":
            r = client.get(path, buffered=True)  # read streamed downloads to the end
        else:
            page = "/login" if role == "anonymous" else "/"
            data = {"csrf_token": token(client, page), "days": "1", "role": "reviewer"}
            r = client.post(path, data=data)
        if want == OK:
            assert r.status_code in (200, 303) and "/login" not in r.headers.get("Location", ""), (
                role,
                path,
                r.status_code,
            )
        elif want == LOGIN:
            assert r.status_code == 303 and r.headers["Location"].startswith("/login"), (
                role,
                path,
                r.status_code,
            )
        else:
            assert r.status_code == want, (role, path, r.status_code)


def test_every_staff_route_is_in_the_matrix(app):
    """A new staff route must be added to the matrix above (or this test fails)."""
    covered = {url.split("{")[0].rstrip("/") for _, url, *_ in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("invitations", "bank_admin", "dashboard", "analytics"):
            prefix = str(rule).split("<")[0].rstrip("/")
            assert prefix in covered, f"{rule} is missing from the access matrix"


def test_signing_out_requires_a_signed_in_session_to_matter(app, world):
    client = client_as(app, "recruiter")
    assert client.post("/logout", data={"csrf_token": token(client, "/")}).status_code == 303
    assert client.get("/invitations").status_code == 303
    assert User.select().count() == 4
