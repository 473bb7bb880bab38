"""Security matrix: headers, CSRF, IDOR, roles, stored and reflected XSS, injection, next=,
tokens. Routes are enumerated from `app.url_map`, so routes added later are covered too;
the exceptions are explicit allow-lists below."""

import hmac
import io
import json
import math
import re
import subprocess
import sys
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import HX, Candidate, make_app, question_id
from test_auth import login, make_user, token

from quiz import attempts, errors
from quiz.db import database
from quiz.invitations import service
from quiz.models import MODELS, Answer, Attempt, Invitation, Question, Quiz, User
from quiz.security import new_token, token_hash

# Blueprints whose routes anyone may call (each checks its own ids).
PUBLIC_BLUEPRINTS = {"candidate", "auth", "health", "static", None}
# The JSON API authenticates with bearer tokens, not cookies: CSRF-exempt by design (a
# cross-site page cannot attach the Authorization header). Checked separately below.
API_BLUEPRINTS = {"api"}
# Who may use each staff blueprint besides admins (admins may do everything).
STAFF_ROLES = {
    "invitations": {"recruiter"},
    "dashboard": {"reviewer", "recruiter"},
    "analytics": {"reviewer"},
    "bank_admin": set(),
}
ENDPOINT_ROLES = {"invitations.erase": set()}  # exceptions inside a blueprint
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def blueprint_of(rule) -> str | None:
    return rule.endpoint.split(".")[0] if "." in rule.endpoint else None


def rules(app, methods=None):
    """Every rule but static files, with the methods it answers (HEAD/OPTIONS left out)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if methods is None or method in methods:
                yield rule, method


def snapshot() -> dict:
    """Every row of every table: a refused request must leave this exactly as it was."""
    return {
        m.__name__: database.execute_sql(
            f'SELECT * FROM "{m._meta.table_name}" ORDER BY 1'
        ).fetchall()
        for m in MODELS
    }


def build(app, rule, values: dict, method: str = "GET") -> str:
    """The rule's URL with `values` for its arguments (a slug is a question's under
    /questions/, else a quiz's)."""
    args = {}
    for name in rule.arguments:
        if name == "slug":
            args[name] = values["question_slug" if "/questions/" in rule.rule else "quiz_slug"]
        elif name in values:
            args[name] = values[name]
        else:
            args[name] = 1 if "int:" in rule.rule else "x"  # unknown kind of id: see test_idor
    with app.test_request_context():
        return app.url_map.bind("localhost").build(rule.endpoint, args, method=method)


def start_invited(client, invite_token: str, name: str = "Invited Person"):
    """Open an invitation link and start its quiz; returns the attempt's public id."""
    page = client.get(f"/i/{invite_token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        f"/i/{invite_token}/start", data={"csrf_token": csrf, "name": name, "consent": "1"}
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    return re.search(r"/attempts/([^?/]+)", r.headers["Location"]).group(1)


def new_client(app):
    """A test client that reads every body at once (streamed CSV exports included), so no
    response is left half-read when the next request starts."""
    client = app.test_client()
    plain_open = client.open
    client.open = lambda *args, **kw: plain_open(*args, buffered=True, **kw)
    return client


def signed_in(app, email: str):
    client = new_client(app)
    assert login(client, email).status_code == 303
    return client


@pytest.fixture
def world(app):
    return build_world(app)


def build_world(app) -> dict:
    """Staff of every role, two recruiters' invitations and attempts, two candidates."""
    for role in ("admin", "reviewer", "recruiter"):
        make_user(f"{role}@example.com", role=role)
    rival = make_user("rival@example.com", role="recruiter")
    recruiter = User.get(User.email == "recruiter@example.com")
    quiz = Quiz.get(Quiz.slug == "basics")
    mine, mine_token = service.create(quiz, "Mine", "m@example.com", recruiter)
    theirs, theirs_token = service.create(quiz, "Theirs", "t@example.com", rival)
    owner, other = Candidate(new_client(app)), Candidate(new_client(app))
    w = {
        "quiz_slug": "basics",
        "question_slug": "t-single",
        "invitation_id": mine.id,
        "theirs_invitation_id": theirs.id,
        "token": mine_token,
        "theirs_token": theirs_token,
        "user_id": rival.id,
        "owner": owner,
        "other": other,
        "public_id": owner.start(),
        "other_public_id": other.start(),
    }
    w["mine_attempt"] = start_invited(new_client(app), mine_token, "Mine")
    w["theirs_attempt"] = start_invited(new_client(app), theirs_token, "Theirs")
    return w


# 1. Headers -------------------------------------------------------------------------------


def cookies_of(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_hsts_and_secure_cookies_over_https_only(client):
    https = client.get("/login", base_url="https://quiz.example")
    assert https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    [cookie] = [c for c in cookies_of(https) if c.startswith("quiz_session=")]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "SameSite=Lax" in cookie

    plain = Candidate(client.application.test_client())
    r = plain.client.get("/login")  # the embedded default: http://127.0.0.1
    assert "Strict-Transport-Security" not in r.headers
    [cookie] = [c for c in cookies_of(r) if c.startswith("quiz_session=")]
    assert "secure" not in cookie.lower() and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_every_cookie_is_secure_over_https(app, world):
    """Not only the session cookie: every Set-Cookie of an HTTPS response (sign-in, sign-out)."""
    client = new_client(app)
    base = "https://quiz.example"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf, "email": "admin@example.com", "password": "correct horse battery"}
    referer = {"Referer": base + "/login"}
    r = client.post("/login", data=data, base_url=base, headers=referer)
    assert r.status_code == 303
    home = client.get("/", base_url=base).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    out = client.post("/logout", data={"csrf_token": csrf}, base_url=base, headers=referer)
    assert out.status_code == 303
    sent = cookies_of(r) + cookies_of(out)
    assert sent and all("; Secure" in c for c in sent), sent


def test_https_forms_work_because_same_origin_referers_are_kept(client):
    """Flask-WTF refuses HTTPS POSTs without a same-origin Referer (WTF_CSRF_SSL_STRICT), so
    the Referrer-Policy must let browsers send one to this site, and only to this site."""
    base = "https://quiz.example"
    r = client.get("/quizzes/basics", base_url=base)
    assert r.headers["Referrer-Policy"] in ("same-origin", "strict-origin", "origin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    ok = client.post(
        "/quizzes/basics/start",
        data={"csrf_token": csrf},
        base_url=base,
        headers={"Referer": base + "/quizzes/basics"},
    )
    assert ok.status_code == 303
    foreign = client.post(
        "/quizzes/basics/start",
        data={"csrf_token": csrf},
        base_url=base,
        headers={"Referer": "https://evil.example/"},
    )
    assert foreign.status_code == 400
    assert Attempt.select().count() == 1


def test_behind_a_proxy_https_is_recognised_only_when_trusted(client, tmp_path):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "quiz.example"}
    r = client.get("/login", headers=forwarded)
    assert "Strict-Transport-Security" not in r.headers  # nobody trusted: the header is spoofable
    assert all("secure" not in c.lower() for c in cookies_of(r))
    # The scale-out set-up: QUIZ_PROXY_FIX=1 trusts one proxy's X-Forwarded-* headers.
    behind = make_app(tmp_path / "proxied", PROXY_FIX=1)
    proxied = new_client(behind)
    r = proxied.get("/quizzes/basics", headers=forwarded)
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert cookies_of(r) and all("; Secure" in c for c in cookies_of(r))
    # ... and its forms still work (the browser sends the same-origin Referer).
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    referer = {**forwarded, "Referer": "https://quiz.example/quizzes/basics"}
    proxied.set_cookie("quiz_session", proxied.get_cookie("quiz_session", "localhost").value)
    started = proxied.post("/quizzes/basics/start", data={"csrf_token": csrf}, headers=referer)
    assert started.status_code == 303, started.get_data(as_text=True)[:300]


def test_security_headers_and_no_store_on_every_page(app, world):
    """Every GET page, anonymous or staff: CSP, no-store, Vary: HX-Request (also fragments)."""
    admin = signed_in(app, "admin@example.com")
    owner = world["owner"].client
    values = {**world, "public_id": world["public_id"]}
    seen = 0
    for rule, _ in rules(app, {"GET"}):
        client = owner if blueprint_of(rule) in PUBLIC_BLUEPRINTS else admin
        url = build(app, rule, values)
        for headers in ({}, HX):
            r = client.get(url, headers=headers)
            where = f"{url} {headers}: {r.status_code}"
            assert r.headers.get("Cache-Control") == "no-store", where
            assert "HX-Request" in r.headers.get("Vary", ""), where
            csp = r.headers["Content-Security-Policy"]
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
            for part in ("default-src 'self'", "object-src 'none'", "base-uri 'none'"):
                assert part in csp, where
            for part in ("frame-ancestors 'none'", "form-action 'self'"):
                assert part in csp, where
            assert r.headers["X-Content-Type-Options"] == "nosniff", where
            assert "Permissions-Policy" in r.headers and "Referrer-Policy" in r.headers, where
            seen += r.status_code == 200
    assert seen >= 20  # the crawl really reached the pages


def test_attempt_result_and_staff_pages_are_never_cached(app, world):
    owner = world["owner"]
    pid = world["public_id"]
    owner.finish(pid)
    admin = signed_in(app, "admin@example.com")
    pages = [
        (owner.client, f"/attempts/{world['other_public_id']}"),  # 404 page: not cached either
        (owner.client, f"/attempts/{pid}/result"),
        (world["other"].client, f"/attempts/{world['other_public_id']}?q=2"),
        (world["other"].client, f"/attempts/{world['other_public_id']}/review"),
        (admin, "/invitations"),
        (admin, "/dashboard/"),
        (admin, f"/dashboard/attempts/{pid}"),
        (admin, "/bank/users"),
    ]
    for client, url in pages:
        for headers in ({}, HX):
            r = client.get(url, headers=headers)
            assert r.status_code in (200, 404), url
            assert r.headers["Cache-Control"] == "no-store", url
            assert "HX-Request" in r.headers["Vary"], url


# 2a. CSRF ---------------------------------------------------------------------------------


def csrf_targets(app):
    for rule, method in rules(app, WRITE_METHODS):
        if blueprint_of(rule) not in API_BLUEPRINTS:
            yield rule, method


def is_csrf_refusal(r) -> bool:
    return r.status_code == 400 and errors.CSRF_MESSAGE in r.get_data(as_text=True)


def test_every_state_changing_route_refuses_missing_and_foreign_csrf_tokens(app, world):
    """Signed in as an admin who also owns the attempt: the request would be allowed, yet
    without its own session's token nothing happens. A control request with the right token
    proves the refusal came from CSRF (so the test fails if the protection goes)."""
    client = signed_in(app, "admin@example.com")
    pid = Candidate(client).start()
    stranger = new_client(app)
    foreign = token(stranger, "/login")  # valid, signed, but of another session
    values = {**world, "public_id": pid}
    targets = sorted(csrf_targets(app), key=lambda t: t[0].endpoint == "auth.logout")
    assert len(targets) >= 15
    for rule, method in targets:
        url = build(app, rule, values, method)
        before = snapshot()
        attempts = [
            ({}, {}),
            ({"csrf_token": foreign}, {}),
            ({}, {"X-CSRFToken": foreign, **HX}),
            ({"csrf_token": "x" * 80}, {}),
        ]
        for data, headers in attempts:
            r = client.open(url, method=method, data=data, headers=headers)
            assert is_csrf_refusal(r), (method, url, data, headers, r.status_code)
        assert snapshot() == before, f"{method} {url} wrote without a valid CSRF token"
        good = client.open(url, method=method, data={"csrf_token": token(client, "/")})
        assert not is_csrf_refusal(good), f"{method} {url}: the control request was refused"


def test_csrf_exempt_api_routes_ignore_cookies_and_need_a_bearer_token(app, world):
    """CSRF exemption is safe only if a browser's cookies grant nothing: a signed-in
    admin's browser without a bearer token gets 401 on every API route."""
    browser = signed_in(app, "admin@example.com")
    checked = 0
    for rule, method in rules(app):
        if blueprint_of(rule) not in API_BLUEPRINTS or rule.endpoint == "api.openapi":
            continue
        url = build(app, rule, world, method)
        before = snapshot()
        for client in (new_client(app), browser):
            r = client.open(url, method=method, json={"name": "N", "email": "n@example.com"})
            assert r.status_code == 401, (method, url, r.status_code)
        assert snapshot() == before
        checked += 1
    assert checked >= 1 or not any(blueprint_of(r) in API_BLUEPRINTS for r, _ in rules(app))


def test_api_tokens_see_only_their_users_attempts(app, world):
    from quiz.api import tokens

    _, bearer = tokens.create(User.get(User.email == "recruiter@example.com"))
    auth = {"Authorization": f"Bearer {bearer}"}
    client = new_client(app)
    assert client.get(f"/api/v1/attempts/{world['mine_attempt']}", headers=auth).status_code == 200
    for other in (world["theirs_attempt"], world["public_id"]):
        assert client.get(f"/api/v1/attempts/{other}", headers=auth).status_code == 404
    listed = client.get("/api/v1/attempts", headers=auth).get_json()
    assert [a["id"] for a in listed["items"]] == [world["mine_attempt"]]
    wrong = {"Authorization": f"Bearer {bearer[:-1]}"}
    assert client.get("/api/v1/attempts", headers=wrong).status_code == 401


# 2b. Roles: anonymous -> sign-in, lower roles -> 403 (every staff route, not only MATRIX's) --


def staff_rules(app):
    for rule, method in rules(app):
        bp = blueprint_of(rule)
        if bp not in PUBLIC_BLUEPRINTS and bp not in API_BLUEPRINTS:
            yield rule, method


def test_every_staff_blueprint_has_a_role_policy(app):
    unknown = {blueprint_of(r) for r, _ in staff_rules(app)} - set(STAFF_ROLES)
    assert not unknown, f"add the roles of {unknown} to STAFF_ROLES in this file"


def allowed(rule, role: str) -> bool:
    if role == "admin":
        return True
    roles = ENDPOINT_ROLES.get(rule.endpoint, STAFF_ROLES.get(blueprint_of(rule), set()))
    return role in roles


def test_every_staff_route_sends_anonymous_to_sign_in_and_lower_roles_403(app, world):
    clients = {role: signed_in(app, f"{role}@example.com") for role in STAFF_ROLES_ORDER}
    anonymous = new_client(app)
    anon_token = token(anonymous, "/login")
    checked = 0
    for rule, method in staff_rules(app):
        url = build(app, rule, world, method)
        before = snapshot()
        if method == "GET":
            r = anonymous.get(url)
            assert r.status_code == 303, url
            assert r.headers["Location"].startswith("/login?next="), url
            assert urlsplit(r.headers["Location"]).query.endswith(urlsplit(url).path), url
        else:
            r = anonymous.open(url, method=method, data={"csrf_token": anon_token})
            assert r.status_code == 303 and r.headers["Location"] == "/login", (method, url)
        assert snapshot() == before, f"anonymous {method} {url} wrote"
        for role, client in clients.items():
            data = {} if method == "GET" else {"csrf_token": token(client, "/")}
            if allowed(rule, role):
                continue
            before = snapshot()
            r = client.open(url, method=method, data=data)
            assert r.status_code == 403, (role, method, url, r.status_code)
            assert "does not have access" in r.get_data(as_text=True)
            assert snapshot() == before, f"{role} {method} {url} wrote"
        # Control: a role that may use the route is let in (no 403, no sign-in redirect).
        role = next(r for r in ("reviewer", "recruiter", "admin") if allowed(rule, r))
        client = clients[role]
        data = {} if method == "GET" else {"csrf_token": token(client, "/")}
        r = client.open(url, method=method, data=data)
        assert r.status_code != 403 and "/login" not in r.headers.get("Location", ""), (
            role,
            method,
            url,
        )
        checked += 1
    assert checked >= 25


STAFF_ROLES_ORDER = ("reviewer", "recruiter", "admin")


# 2c. IDOR: other people's ids are 404 ------------------------------------------------------

# Arguments that name no one's private data. (Ids in admin-only routes need no ownership
# check: admins may see everything, and the role test proves only admins get in.)
NOT_PRIVATE = {"slug": "quiz slugs: public quizzes, or quiz statistics every reviewer reads"}


def admin_only(rule) -> bool:
    bp = blueprint_of(rule)
    return (
        bp not in PUBLIC_BLUEPRINTS
        and bp not in API_BLUEPRINTS
        and not any(allowed(rule, role) for role in ("reviewer", "recruiter"))
    )


def test_every_id_in_a_url_is_checked_for_ownership(app):
    """A route with a new kind of id must get an IDOR check below (or a reason here)."""
    handled = {"public_id", "token", "invitation_id", *NOT_PRIVATE}
    for rule, _ in rules(app):
        if admin_only(rule):
            continue
        unknown = set(rule.arguments) - handled
        assert not unknown, f"{rule}: add an ownership check for {unknown} to test_security_matrix"


def test_candidate_routes_refuse_another_browsers_attempt(app, world):
    """The other browser owns a real attempt; this browser asks for it: always 404."""
    owner = world["owner"]
    own_token = owner.csrf()
    theirs = world["other_public_id"]
    checked = 0
    for rule, method in rules(app):
        if "public_id" not in rule.arguments or blueprint_of(rule) != "candidate":
            continue
        for pid in (theirs, world["theirs_attempt"]):
            url = build(app, rule, {"public_id": pid}, method)
            before = snapshot()
            data = {"csrf_token": own_token, "q": "1", "kind": "paste", "confirm": "1"}
            for headers in ({}, HX):
                r = owner.client.open(url, method=method, data=data, headers=headers)
                assert r.status_code == 404, (method, url, r.status_code)
            assert snapshot() == before
        # Control: the owner's own attempt is not a 404.
        mine = build(app, rule, {"public_id": world["public_id"]}, method)
        r = owner.client.open(mine, method=method, data={"csrf_token": own_token, "q": "1"})
        assert r.status_code != 404, (method, mine)
        checked += 1
    assert checked >= 6
    assert Attempt.get(Attempt.public_id == theirs).status == "in_progress"


def test_recruiters_cannot_reach_other_recruiters_invitations_or_attempts(app, world):
    recruiter = signed_in(app, "recruiter@example.com")
    csrf = token(recruiter, "/")
    checked = 0
    for rule, method in rules(app):
        bp = blueprint_of(rule)
        if bp in PUBLIC_BLUEPRINTS or bp in API_BLUEPRINTS:
            continue
        if "invitation_id" in rule.arguments:
            mine = {"invitation_id": world["invitation_id"]}
            theirs = {"invitation_id": world["theirs_invitation_id"]}
        elif "public_id" in rule.arguments:
            mine = {"public_id": world["mine_attempt"]}
            theirs = {"public_id": world["theirs_attempt"]}
        else:
            continue
        data = {} if method == "GET" else {"csrf_token": csrf, "days": "1"}
        before = snapshot()
        other = recruiter.open(build(app, rule, theirs, method), method=method, data=data)
        assert snapshot() == before, f"{method} {rule} wrote for another recruiter's id"
        own = recruiter.open(build(app, rule, mine, method), method=method, data=data)
        if own.status_code == 403:  # a role refusal (admin-only): the same for any id
            assert other.status_code == 403, (method, rule)
        else:
            assert own.status_code != 404, (method, rule)
            assert other.status_code == 404, (method, rule, other.status_code)
        checked += 1
    assert checked >= 6
    # The anonymous self-assessment is not the recruiter's either.
    assert recruiter.get(f"/dashboard/attempts/{world['public_id']}").status_code == 404
    ids = f"ids={world['mine_attempt']}&ids={world['theirs_attempt']}"
    assert recruiter.get(f"/dashboard/compare?{ids}").status_code == 404
    assert Invitation.get_by_id(world["theirs_invitation_id"]).revoked is False


def test_unknown_or_guessed_tokens_and_ids_are_404(app, world):
    client = new_client(app)
    for url in (
        f"/i/{new_token(32)}",
        f"/i/{world['token'][:-1]}",
        f"/attempts/{new_token(16)}",
        f"/attempts/{world['public_id'][:-2]}",
        "/quizzes/private",  # exists, but not public
    ):
        assert client.get(url).status_code == 404, url


# 2d. Stored and reflected XSS --------------------------------------------------------------

PAYLOADS = [
    '<script>alert("{m}-xss1")</script>',
    '<img src=x onerror=alert("{m}-xss2")>',
    "<a href=\"javascript:alert('{m}-xss3')\">{m}-xss3</a>",
    '<svg onload=alert("{m}-xss4")><circle r=1 /></svg>',
    '<div hx-get="/{m}-xss5" hx-trigger="load">{m}-xss5</div>',
    '<button hx-on:click="alert(\'{m}-xss6\')" data-hx-on-click="alert(6)">{m}-xss6</button>',
    "{m}-tpl{{{{7*7}}}}",
    '"><script>alert("{m}-xss8")</script><input value="',
    "'><img src=x onerror=alert('{m}-xss9')>",
    "[{m}-xss10](javascript:alert('{m}-xss10')) [{m}-j](JaVaScRiPt:alert(1))",
    '<iframe src="javascript:alert(\'{m}-xss11\')"></iframe><object data="x"></object>',
    "<a href=\" &#14;javascript:alert('{m}-xss12')\">x</a> <math><mtext><style>x</style></math>",
]


def payloads(mark: str) -> list[str]:
    return [p.format(m=mark) for p in PAYLOADS]


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}
SCRIPT_URL = re.compile(r"^(javascript|vbscript|data):")


class InertCheck(HTMLParser):
    """Collects anything that could run: script elements, on* and hx-on attributes, hx-*
    attributes carrying payload data, javascript:/data: URLs, frames and objects."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        where = f"<{tag} {attrs}>"
        found = dict(attrs)
        if tag == "script" and not (found.get("src") or "").startswith("/static/"):
            self.problems.append("script element " + where)
        if tag in FORBIDDEN_TAGS or tag == "foreignobject":
            self.problems.append("embedding element " + where)
        if tag == "meta" and (found.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("meta refresh " + where)
        for name, value in attrs:
            value = value or ""
            bare = name.removeprefix("data-")
            if name.startswith("on"):
                self.problems.append("event handler " + where)
            if bare.startswith("hx-on"):
                self.problems.append("hx-on attribute " + where)
            if bare.startswith("hx-") and "xss" in value.lower():
                self.problems.append("hx attribute from data " + where)
            if name in URL_ATTRIBUTES or bare in ("hx-get", "hx-post", "hx-put", "hx-delete"):
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                if SCRIPT_URL.match(squeezed):
                    self.problems.append("script URL " + where)

    handle_startendtag = handle_starttag


def problems_in(html: str) -> list[str]:
    check = InertCheck()
    check.feed(html)
    check.close()
    found = check.problems
    if re.search(r"-tpl49", html):
        found.append("template injection: {{7*7}} was evaluated")
    return found


def test_inert_check_catches_live_payloads():
    """The checker itself: raw payloads are caught, escaped ones pass."""
    from markupsafe import escape

    for payload in payloads("t"):
        if "tpl" in payload:
            assert problems_in(payload.replace("{{7*7}}", "49"))
            continue
        if "<" in payload:  # Markdown link payloads are only dangerous once rendered
            assert problems_in(f"<p>{payload}</p>"), payload
        assert not problems_in(f"<p>{escape(payload)}</p>"), payload
        assert not problems_in(f'<input value="{escape(payload)}">'), payload
    assert not problems_in('<script src="/static/js/app.js" defer></script>')


def seed_payloads(app, world) -> dict:
    """Store payloads through the forms (names, answers, users, CSV) and in the bank rows
    (quiz titles and descriptions, question Markdown); returns clients and attempt ids."""
    recruiter = signed_in(app, "recruiter@example.com")
    for i, name in enumerate(payloads("inv")):
        data = {
            "csrf_token": token(recruiter, "/invitations/new"),
            "name": name,
            "email": f"inv{i}@example.com",
            "quiz": "basics",
            "days": "7",
        }
        assert recruiter.post("/invitations", data=data).status_code == 303, name
    csv_text = "name,email\n" + "".join(
        '"{}",csv{}@example.com\n'.format(p.replace('"', '""'), i)
        for i, p in enumerate(payloads("csv"))
    )
    bulk = recruiter.post(
        "/invitations/bulk",
        data={
            "csrf_token": token(recruiter, "/invitations/bulk"),
            "quiz": "basics",
            "days": "7",
            "file": (io.BytesIO(csv_text.encode()), "candidates.csv"),
        },
        content_type="multipart/form-data",
    )
    assert bulk.status_code == 303, bulk.get_data(as_text=True)
    links_page = recruiter.get(bulk.headers["Location"])

    admin = signed_in(app, "admin@example.com")
    for i, name in enumerate(payloads("usr")):
        data = {
            "csrf_token": token(admin, "/bank/users"),
            "email": f"usr{i}@example.com",
            "name": name[:200],
            "role": "reviewer",
            "password": "a long password",
        }
        assert admin.post("/bank/users", data=data).status_code == 303

    # The bank as an import or an editor could store it: Markdown with every payload.
    markdown = "\n\n".join(payloads("md"))
    question = Question.get(Question.slug == "t-single", Question.current == True)  # noqa: E712
    Question.update(prompt=markdown, explanation=markdown, code=markdown).where(
        Question.id == question.id
    ).execute()
    for choice in question.choices:
        choice.text = payloads("chc")[choice.position % len(PAYLOADS)]
        choice.save()
    for i, text in enumerate(payloads("quiz")):
        Quiz.create(
            slug=f"xss-{i}",
            title=text,
            description=text,
            public=True,
            selection={"topics": ["basics"]},
        )
    basics = Quiz.get(Quiz.slug == "basics")
    basics.description = markdown
    basics.save()

    # A candidate answers with every payload, reports an event with one, and finishes;
    # an invited candidate gives a payload as their name.
    owner = world["owner"]
    pid = world["public_id"]
    answer = "\n".join(payloads("ans"))
    assert owner.answer(pid, 6, "t-text", text=answer).status_code == 303
    event = {"csrf_token": owner.csrf(), "kind": "paste", "detail": payloads("evt")[1]}
    assert owner.client.post(f"/attempts/{pid}/events", data=event).status_code == 204
    owner.finish(pid)
    open_pid = owner.start()
    invitation, invite_token = service.create(
        basics,
        payloads("cand")[0],
        "c@example.com",
        User.get(User.email == "recruiter@example.com"),
    )
    invited = new_client(app)
    invited_pid = start_invited(invited, invite_token, payloads("cnm")[2])
    return {
        "recruiter": recruiter,
        "admin": admin,
        "reviewer": signed_in(app, "reviewer@example.com"),
        "links_page": links_page,
        "finished": pid,
        "open": open_pid,
        "invited": invited,
        "invited_pid": invited_pid,
        "invite_token": invite_token,
        "invitation_id": invitation.id,
    }


def get_forms(html: str) -> list[tuple[str, str, list[str]]]:
    """(method, action, field names) of the page's forms."""
    forms = []
    for m in re.finditer(r"<form\b([^>]*)>(.*?)</form>", html, re.S | re.I):
        attrs, body = m.group(1), m.group(2)
        method = (re.search(r'\bmethod="(\w+)"', attrs) or re.search("()", "")).group(1)
        action = (re.search(r'\baction="([^"]*)"', attrs) or re.search("()", "")).group(1)
        names = re.findall(r'\bname="([^"]+)"', body)
        forms.append(((method or "get").upper(), action, list(dict.fromkeys(names))))
    return forms


def crawl(app, seeded, world):
    """Every GET page for every kind of visitor, page and fragment: (url, response)."""
    owner = world["owner"].client
    visitors = {
        "owner": (owner, {**world, "public_id": seeded["finished"]}),
        "owner-open": (owner, {**world, "public_id": seeded["open"]}),
        "invited": (
            seeded["invited"],
            {**world, "public_id": seeded["invited_pid"], "token": seeded["invite_token"]},
        ),
        "admin": (seeded["admin"], {**world, "public_id": seeded["finished"]}),
        "admin-invited": (
            seeded["admin"],
            {**world, "public_id": seeded["invited_pid"], "invitation_id": seeded["invitation_id"]},
        ),
        "recruiter": (
            seeded["recruiter"],
            {**world, "public_id": seeded["invited_pid"], "invitation_id": seeded["invitation_id"]},
        ),
        "reviewer": (seeded["reviewer"], {**world, "public_id": seeded["finished"]}),
    }
    extra = [("owner-open", f"/attempts/{seeded['open']}?q={n}") for n in range(1, 7)] + [
        ("admin", f"/dashboard/compare?ids={seeded['finished']}&ids={seeded['invited_pid']}"),
        ("admin", "/bank/questions/t-single/edit"),
        ("admin", "/bank/quizzes/xss-0/edit"),
        ("admin", "/bank/quizzes/basics/edit"),
    ]
    urls = []
    for name, (_client, values) in visitors.items():
        staff = name.startswith(("admin", "recruiter", "reviewer"))
        for rule, _ in rules(app, {"GET"}):
            if (blueprint_of(rule) in PUBLIC_BLUEPRINTS) != (not staff):
                continue
            urls.append((name, build(app, rule, values)))
    for name, url in dict.fromkeys(urls + extra):
        client = visitors[name][0]
        for headers in ({}, HX):
            r = client.get(url, headers=headers)
            yield url, headers, r
            if headers or r.mimetype != "text/html":
                continue
            # Reflected: every query-string form of the page, filled with payloads.
            for method, action, names in get_forms(r.get_data(as_text=True)):
                if method == "GET" and names:
                    query = {n: payloads("ref")[i % len(PAYLOADS)] for i, n in enumerate(names)}
                    target = action or url.split("?")[0]
                    yield target, query, client.get(target, query_string=query)


def test_stored_and_reflected_payloads_render_inert_everywhere(app, world):
    seeded = seed_payloads(app, world)
    pages = [("/invitations/bulk/links", {}, seeded["links_page"])]
    pages += list(crawl(app, seeded, world))
    seen_marks = set()
    html_pages = 0
    for url, extra, r in pages:
        assert r.status_code < 500, url
        if r.mimetype != "text/html":
            continue
        html_pages += 1
        html = r.get_data(as_text=True)
        assert not problems_in(html), (url, extra, problems_in(html)[:3])
        seen_marks |= set(re.findall(r"\b([a-z]{2,4})-(?:xss\d+|tpl)", html))
    # The payloads really were on the pages (so the check above looked at them).
    expected = {"inv", "csv", "usr", "md", "chc", "quiz", "ans", "evt", "cand", "cnm", "ref"}
    assert expected <= seen_marks, expected - seen_marks
    assert html_pages >= 60


def test_markdown_keeps_safe_links_and_drops_script_urls(app, world):
    """Sanity for the bank Markdown: ordinary links survive, script ones do not."""
    question = Question.get(Question.slug == "t-single", Question.current == True)  # noqa: E712
    question.prompt = "[docs](https://flask.palletsprojects.com/) [bad](javascript:alert(1))"
    question.save()
    with app.app_context():
        attempts.forget_questions()  # the row was rewritten in place, as no version ever is
    html = world["owner"].client.get(f"/attempts/{world['public_id']}?q=1").get_data(as_text=True)
    assert 'href="https://flask.palletsprojects.com/"' in html
    assert not problems_in(html)
    assert not re.search(r"href=\"\s*javascript:", html, re.I)


# 2e. Injection in filters and search -------------------------------------------------------

SQL_PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE attempt; --",
    "x' UNION SELECT password_hash, email FROM user --",
    "%",
    "_",
    "\\",
    "%' --",
    "1 AND SLEEP(1)",
    "basics' --",
    "\x00",
]
QUERY_NAMES = ("q", "quiz", "status", "level", "from", "to", "min", "max", "sort", "dir", "page")


def test_injection_in_filters_and_search_changes_nothing(app, world):
    world["owner"].finish(world["public_id"])
    clients = {role: signed_in(app, f"{role}@example.com") for role in STAFF_ROLES_ORDER}
    clients["candidate"] = world["owner"].client
    hashes = [u.password_hash for u in User.select()]
    checked = 0
    for rule, _ in rules(app, {"GET"}):
        bp = blueprint_of(rule)
        if bp in API_BLUEPRINTS:
            continue
        client = clients["candidate" if bp in PUBLIC_BLUEPRINTS else "admin"]
        url = build(app, rule, world)
        page = client.get(url)
        names = set(QUERY_NAMES)
        if page.mimetype == "text/html":
            for method, _, fields in get_forms(page.get_data(as_text=True)):
                if method == "GET":
                    names.update(fields)
        before = snapshot()
        for payload in SQL_PAYLOADS:
            r = client.get(url, query_string={n: payload for n in names})
            assert r.status_code < 500, (url, payload)
            body = r.get_data(as_text=True)
            assert not any(h in body for h in hashes), (url, payload)
            assert "Traceback" not in body and "sqlite3" not in body.lower(), (url, payload)
            checked += 1
        assert snapshot() == before, f"GET {url} with SQL metacharacters wrote"
    assert checked > 100


def test_search_metacharacters_match_literally(app, world):
    """A search for a metacharacter finds only rows containing it, never every row."""
    admin = signed_in(app, "admin@example.com")
    for payload in ("' OR '1'='1", "%", "_", "' OR 1=1 --", "\\", "%%", "[a-z]"):
        search_is_literal(admin, payload)


def search_is_literal(admin, payload):
    invitations = admin.get("/invitations", query_string={"q": payload}).get_data(as_text=True)
    assert "Mine" not in invitations and "Theirs" not in invitations
    assert "Mine" in admin.get("/invitations", query_string={"q": "Min"}).get_data(as_text=True)
    results = admin.get("/dashboard/", query_string={"q": payload}).get_data(as_text=True)
    assert "Theirs" not in results
    assert "Theirs" in admin.get("/dashboard/", query_string={"q": "heir"}).get_data(as_text=True)
    bank = admin.get("/bank/questions", query_string={"q": payload}).get_data(as_text=True)
    assert "t-single" not in bank
    assert "t-single" in admin.get("/bank/questions?q=single").get_data(as_text=True)


# 2f. next= never leaves the site -----------------------------------------------------------

OFF_SITE = [
    "//evil.example/",
    "///evil.example/",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "https:/evil.example",
    "http://evil.example",
    "HTTP://evil.example",
    "%2F%2Fevil.example",
    "%5C%5Cevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/%0A/evil.example",
    "\u3002evil.example",
    "//evil.example@quiz.example",
    "//quiz.example@evil.example/",
    "/\x00/evil.example",
    "\x00//evil.example",
]


def lands_on_this_site(location: str) -> bool:
    """Where a browser would go: tabs and newlines dropped, backslashes read as slashes."""
    cleaned = re.sub(r"[\t\r\n]", "", location).replace("\\", "/").strip()
    target = urlsplit(urljoin("http://localhost/", cleaned))
    return target.scheme == "http" and target.netloc == "localhost"


def test_next_never_redirects_off_site(app):
    make_user("a@example.com")
    client = new_client(app)
    fresh = new_client(app)
    for target in OFF_SITE:
        r = login(client, "a@example.com", next_url=target)
        if "\x00" in target:  # refused outright: never stored, never followed
            assert r.status_code == 400 and "NUL character" in r.get_data(as_text=True)
            continue
        assert r.status_code == 303 and lands_on_this_site(r.headers["Location"]), target
        # Already signed in: GET /login?next=... redirects straight away.
        r = client.get("/login", query_string={"next": target})
        assert r.status_code == 303 and lands_on_this_site(r.headers["Location"]), target
        client.post("/logout", data={"csrf_token": token(client, "/")})
        # The sign-in page never carries an off-site target in its form.
        html = fresh.get("/login", query_string={"next": target}).get_data(as_text=True)
        for value in re.findall(r'name="next" value="([^"]*)"', html):
            assert lands_on_this_site(unescape(value)), (target, value)


def test_question_switch_next_stays_on_site(app):
    make_user("a@example.com")
    client = signed_in(app, "a@example.com")
    for target in OFF_SITE:
        data = {"csrf_token": token(client, "/"), "active": "1", "next": target}
        r = client.post("/bank/questions/t-single/active", data=data)
        if "\x00" in target:  # refused outright, nothing changed
            assert r.status_code == 400
            continue
        assert r.status_code == 303 and lands_on_this_site(r.headers["Location"]), target


def test_next_keeps_on_site_paths(app):
    make_user("a@example.com")
    r = login(new_client(app), "a@example.com", next_url="/dashboard/?q=a%20b&page=2")
    assert r.headers["Location"] == "/dashboard/?q=a%20b&page=2"


# 2g. Tokens: unguessable, compared in constant time ----------------------------------------


def entropy_bits_per_char(tokens: list[str]) -> float:
    counts = Counter("".join(tokens))
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def test_attempt_ids_and_invitation_tokens_are_unguessable(app, world):
    for _ in range(40):
        Candidate(new_client(app)).start()
    pids = [a.public_id for a in Attempt.select()]
    assert len(set(pids)) == len(pids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", p) for p in pids)  # >= 128 random bits
    assert entropy_bits_per_char(pids) > 5.5  # base64url: 6 bits per character at best

    quiz = Quiz.get(Quiz.slug == "basics")
    tokens = [service.create(quiz, "N", "n@example.com", None)[1] for _ in range(40)]
    assert len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,}", t) for t in tokens)  # 256 bits
    assert entropy_bits_per_char(tokens) > 5.5
    # Only hashes are stored: the database alone never yields a working link.
    rows = [row for table in snapshot().values() for row in table]
    stored = {v for row in rows for v in row if isinstance(v, str)}
    assert not set(tokens) & stored
    assert {token_hash(t) for t in tokens} <= stored


def test_attempt_ownership_is_compared_in_constant_time(app, world, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    owner = world["owner"]
    r = owner.client.get(f"/attempts/{world['public_id']}")
    assert r.status_code == 200
    owner_key = Attempt.get(Attempt.public_id == world["public_id"]).owner_key
    assert any(owner_key.encode() in (a, b) for a, b in calls), "owner key compared with =="
    calls.clear()
    # CSRF tokens too (Flask-WTF), on every POST.
    assert owner.answer(world["public_id"], 1, "t-single", nav="stay").status_code == 303
    assert calls, "the CSRF token was not compared with hmac.compare_digest"


def test_invitation_tokens_are_looked_up_by_hash_only(app, world, monkeypatch):
    """The raw token never meets a stored value: it is hashed, and the hash is looked up."""
    seen = []
    real = service.token_hash
    monkeypatch.setattr(service, "token_hash", lambda t: seen.append(t) or real(t))
    assert new_client(app).get(f"/i/{world['token']}").status_code == 200
    assert seen == [world["token"]]
    assert Invitation.select().where(Invitation.token_hash == world["token"]).count() == 0


def test_answers_of_a_foreign_question_are_refused(app, world):
    """An id inside a form is checked too: another quiz's question cannot be answered."""
    owner = world["owner"]
    pid = world["public_id"]
    before = snapshot()
    r = owner.client.post(
        f"/attempts/{pid}/answers",
        data={"csrf_token": owner.csrf(), "q": "1", "question": str(question_id("t-text"))},
    )
    assert r.status_code == 400 and snapshot() == before
    assert Answer.select().count() == 0


# Static analysis: bandit over the package (the full scanner run is security/scan.py) ---------


def test_bandit_finds_no_high_severity_issue():
    pytest.importorskip("bandit")
    package = Path(__file__).resolve().parent.parent / "quiz"
    out = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(package), "-q", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(out.stdout)
    assert report["results"] is not None and report["metrics"]["_totals"]["loc"] > 1000
    high = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] == "HIGH"
    ]
    assert not high, high
