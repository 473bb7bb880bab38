"""Staff sign-in: hashing, session regeneration, sign-out, next=, roles, throttling, users page."""

import re

import pytest
from conftest import FAST_HASH, stored_session
from werkzeug.security import generate_password_hash

from quiz.models import User

PASSWORD = "correct horse battery"


def make_user(email, role="admin", active=True, password=PASSWORD):
    return User.create(
        email=email,
        name=email.split("@")[0],
        role=role,
        active=active,
        password_hash=generate_password_hash(password, method=FAST_HASH),
    )


def token(client, url="/login"):
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, email, password=PASSWORD, next_url=None):
    data = {"csrf_token": token(client), "email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def sid(client):
    cookie = client.get_cookie("quiz_session")
    return cookie.value if cookie else None


def test_passwords_are_stored_hashed(app, client):
    admin_client(client)
    t = token(client, "/bank/users")
    form = {"csrf_token": t, "email": "n@example.com", "role": "reviewer", "password": PASSWORD}
    assert client.post("/bank/users", data=form).status_code == 303
    user = User.get(User.email == "n@example.com")
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("pbkdf2:")
    assert login(app.test_client(), "n@example.com").status_code == 303


def test_production_hashes_passwords_with_scrypt(tmp_path):
    """The cheap method is the tests' alone: the default is scrypt."""
    from quiz import create_app
    from quiz.auth.users import hash_password

    app = create_app({"INSTANCE_PATH": tmp_path / "instance", "TESTING": True})
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with app.app_context():
        assert hash_password(PASSWORD).startswith("scrypt:")


def test_sign_in_regenerates_the_session_id(client, app):
    make_user("a@example.com")
    token(client)
    before = sid(client)
    assert before
    r = login(client, "a@example.com")
    assert r.status_code == 303 and r.headers["Location"] == "/invitations"
    after = sid(client)
    assert after and after != before
    assert stored_session(app, before) is None  # the old session is gone from the store
    assert client.get("/bank/users").status_code == 200


@pytest.mark.parametrize(
    "email, password, active",
    [
        ("a@example.com", "wrong password", True),
        ("nobody@example.com", PASSWORD, True),
        ("a@example.com", PASSWORD, False),
    ],
)
def test_failed_sign_in_is_401_with_one_message(client, email, password, active):
    make_user("a@example.com", active=active)
    r = login(client, email, password)
    assert r.status_code == 401
    assert "do not match an active account" in r.get_data(as_text=True)
    assert client.get("/bank/users").status_code == 303


@pytest.mark.parametrize(
    "target, landed",
    [
        ("/quizzes/basics", "/quizzes/basics"),
        ("//evil.example/x", "/invitations"),
        ("https://evil.example/", "/invitations"),
        ("/\\evil.example", "/invitations"),
        ("javascript:alert(1)", "/invitations"),
    ],
)
def test_next_cannot_leave_the_site(client, target, landed):
    make_user("a@example.com")
    r = login(client, "a@example.com", next_url=target)
    assert r.headers["Location"] == landed


def test_anonymous_staff_page_goes_to_sign_in_and_back(client):
    make_user("a@example.com")
    r = client.get("/bank/users")
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/bank/users"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/bank/users"' in html
    assert (
        login(client, "a@example.com", next_url="/bank/users").headers["Location"] == "/bank/users"
    )


@pytest.mark.parametrize("role", ["recruiter", "reviewer"])
def test_lower_roles_get_403_on_admin_pages(client, role):
    make_user("r@example.com", role=role)
    login(client, "r@example.com")
    r = client.get("/bank/users")
    assert r.status_code == 403 and "does not have access" in r.get_data(as_text=True)
    assert client.post("/bank/users", data={"csrf_token": token(client, "/")}).status_code == 403


def test_sign_out_deletes_the_server_side_session(client, app):
    make_user("a@example.com")
    login(client, "a@example.com")
    session_id = sid(client)
    assert client.get("/logout").status_code == 405  # only POST signs out
    assert client.post("/logout").status_code == 400  # ... with a CSRF token
    r = client.post("/logout", data={"csrf_token": token(client, "/")})
    assert r.status_code == 303
    assert stored_session(app, session_id) is None
    assert sid(client) is None
    assert client.get("/bank/users").status_code == 303


def test_deactivation_ends_access_at_once(client):
    user = make_user("a@example.com")
    make_user("b@example.com")
    login(client, "a@example.com")
    User.update(active=False).where(User.id == user.id).execute()
    assert client.get("/bank/users").status_code == 303


def test_failed_sign_ins_are_throttled_per_account(client, make_candidate):
    make_user("a@example.com")
    for _ in range(5):
        assert login(client, "a@example.com", "wrong password").status_code == 401
    r = login(client, "a@example.com")  # even the right password waits now
    assert r.status_code == 429 and "Too many requests" in r.get_data(as_text=True)
    assert "Retry-After" in r.headers
    make_user("b@example.com")
    assert login(client, "b@example.com").status_code == 303  # other accounts unaffected


def test_failed_sign_ins_are_throttled_per_ip(client):
    for i in range(20):
        assert login(client, f"user{i}@example.com", "wrong").status_code == 401
    assert login(client, "another@example.com", "wrong").status_code == 429


def test_successful_sign_ins_do_not_count(client):
    make_user("a@example.com")
    for _ in range(8):
        assert login(client, "a@example.com").status_code == 303
        client.post("/logout", data={"csrf_token": token(client, "/")})


def admin_client(client):
    make_user("admin@example.com")
    login(client, "admin@example.com")
    return client


def test_admin_adds_a_user(client):
    admin_client(client)
    data = {
        "csrf_token": token(client, "/bank/users"),
        "email": " New@Example.com ",
        "name": "",
        "role": "recruiter",
        "password": "a long password",
    }
    r = client.post("/bank/users", data=data)
    assert r.status_code == 303
    user = User.get(User.email == "new@example.com")
    assert user.role == "recruiter" and user.name == "new"
    assert "Added recruiter new@example.com" in client.get("/bank/users").get_data(as_text=True)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("email", "not-an-email", "Enter an e-mail address"),
        ("email", "admin@example.com", "already exists"),
        ("password", "short", "at least 10 characters"),
        ("role", "boss", "Choose a role"),
    ],
)
def test_add_user_validation(client, field, value, message):
    admin_client(client)
    data = {
        "csrf_token": token(client, "/bank/users"),
        "email": "x@example.com",
        "name": "X",
        "role": "reviewer",
        "password": "a long password",
        field: value,
    }
    r = client.post("/bank/users", data=data)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert User.select().count() == 1


def test_admin_changes_role_and_deactivates(client):
    admin_client(client)
    other = make_user("o@example.com", role="reviewer")
    t = token(client, "/bank/users")
    assert (
        client.post(
            f"/bank/users/{other.id}",
            data={"csrf_token": t, "role": "recruiter", "active": "0", "confirm": "1"},
        ).status_code
        == 303
    )
    other = User.get_by_id(other.id)
    assert other.role == "recruiter" and not other.active
    assert client.post("/bank/users/9999", data={"csrf_token": t}).status_code == 404
    bad = client.post(f"/bank/users/{other.id}", data={"csrf_token": t, "role": "boss"})
    assert bad.status_code == 400


def test_admin_cannot_lock_themselves_out(client):
    admin_client(client)
    me = User.get(User.email == "admin@example.com")
    t = token(client, "/bank/users")
    r = client.post(f"/bank/users/{me.id}", data={"csrf_token": t, "role": "reviewer"})
    assert r.status_code == 409 and User.get_by_id(me.id).role == "admin"


def test_the_last_admin_stays(client):
    admin_client(client)
    second = make_user("second@example.com")
    t = token(client, "/bank/users")
    client.post(f"/bank/users/{second.id}", data={"csrf_token": t, "active": "0", "confirm": "1"})
    me = User.get(User.email == "admin@example.com")
    r = client.post(f"/bank/users/{me.id}", data={"csrf_token": t, "active": "0"})
    assert r.status_code == 409


def test_nav_shows_sign_in_or_sign_out(client):
    assert "Staff sign in" in client.get("/").get_data(as_text=True)
    admin_client(client)
    html = client.get("/").get_data(as_text=True)
    assert "Sign out" in html and 'href="/bank/users"' in html


def test_demo_login_is_created_once_and_shown_while_valid(app):
    from quiz.cli import demo_login

    login_1 = demo_login(app.instance_path)
    assert login_1 and login_1[0] == "admin@example.com"
    assert (app.instance_path + "/demo_login.txt") and User.select().count() == 1
    assert demo_login(app.instance_path) == login_1  # not created again
    User.update(password_hash=generate_password_hash("changed password")).execute()
    assert demo_login(app.instance_path) is None  # a changed password is never printed


def test_no_demo_login_when_accounts_exist(app):
    from quiz.cli import demo_login

    make_user("real@example.com")
    assert demo_login(app.instance_path) is None
    assert User.select().count() == 1


def test_deactivation_ends_sessions_and_api_tokens_for_good(app, client):
    """Reactivating an account brings back neither its old cookies nor its old tokens."""
    from quiz.api import tokens

    admin_client(client)
    other = make_user("o@example.com", role="reviewer")
    their_browser = app.test_client()
    login(their_browser, "o@example.com")
    _, key = tokens.create(other, "laptop")
    bearer = {"Authorization": f"Bearer {key}"}
    assert their_browser.get("/dashboard/").status_code == 200
    assert their_browser.get("/api/v1/attempts", headers=bearer).status_code == 200
    t = token(client, "/bank/users")
    for active in ("0", "1"):  # deactivate, then reactivate
        r = client.post(
            f"/bank/users/{other.id}",
            data={"csrf_token": t, "role": "reviewer", "active": active, "confirm": "1"},
        )
        assert r.status_code == 303
    assert User.get_by_id(other.id).active
    assert their_browser.get("/dashboard/").status_code == 303  # sent to sign in again
    assert their_browser.get("/api/v1/attempts", headers=bearer).status_code == 401
    login(their_browser, "o@example.com")  # a new sign-in works as before
    assert their_browser.get("/dashboard/").status_code == 200


def test_deactivating_asks_first_and_keeps_the_form_fields(app, client):
    admin_client(client)
    other = make_user("o@example.com", role="reviewer")
    t = token(client, "/bank/users")
    page = client.post(
        f"/bank/users/{other.id}", data={"csrf_token": t, "role": "recruiter", "active": "0"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Deactivate o@example.com?" in html
    assert "API tokens are revoked for good" in html
    assert User.get_by_id(other.id).active and User.get_by_id(other.id).role == "reviewer"
    card = html[html.index('class="card confirm"') :]
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', card))
    assert fields["role"] == "recruiter" and fields["active"] == "0" and fields["confirm"] == "1"
    assert client.post(f"/bank/users/{other.id}", data=fields).status_code == 303
    other = User.get_by_id(other.id)
    assert not other.active and other.role == "recruiter"
