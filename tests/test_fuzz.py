"""Property-based fuzzing (hypothesis) of every form and every query-string endpoint.

The forms are found by crawling the app's pages (so forms added later are fuzzed too); each
is sent with its fields kept, dropped, repeated or replaced by arbitrary Unicode, NUL, RTL
marks, invalid UTF-8, huge values and out-of-range numbers. Never a 500 (TESTING is on, so
an unhandled exception fails the test at once), and a refused request writes nothing."""

import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote_plus, urlsplit

import pytest
from browser import free_port
from conftest import make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_security_matrix import (
    API_BLUEPRINTS,
    PUBLIC_BLUEPRINTS,
    blueprint_of,
    build,
    build_world,
    new_client,
    rules,
    signed_in,
    snapshot,
)
from werkzeug.datastructures import MultiDict

from quiz import webhooks
from quiz.api import tokens
from quiz.db import close_all
from quiz.invitations import service
from quiz.models import Attempt, Email, Quiz, User, Webhook, WebhookDelivery

FORM_EXAMPLES = 50
QUERY_EXAMPLES = 30
FUZZ = settings(
    max_examples=FORM_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Routes whose forms no page shows (posted by JavaScript), with their fields.
SCRIPT_FORMS = {"candidate.event": [("kind", "paste"), ("detail", "")]}
# Never fuzzed: signing out ends the session the other targets need (it has no fields).
SKIP = {"auth.logout"}

# Numbers at and past every edge: int() refuses "²" (though "²".isdigit()) and 4,301+ digits.
NUMBERS = [
    "0",
    "-1",
    "1",
    "2",
    "6",
    "7",
    "91",
    "101",
    "601",
    "-0",
    "00",
    "1.5",
    "1e309",
    "NaN",
    "inf",
    "99999999999999999999999999999",
    "²",
    "١٢",
    "1_0",
    "0x10",
    " 1 ",
    "9" * 4000,
    "9" * 5000,
]
TEXTS = [
    "",
    " ",
    "true",
    "on",
    "null",
    "[]",
    "{}",
    "\x00",
    "a\x00b",
    "\u202e\u200fabc",  # right-to-left override and mark
    "\u200b",
    "\ufeff",
    "\U0010ffff",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "x" * 3000,
    "é" * 70000,  # bigger than any field allows
    "2024-02-30",
    "9999-12-31",
    "0001-01-01",
    "admin",
    "reviewer",
    "basics",
    "private",
    "x@example.com",
]
# Bytes that are not UTF-8: surrogates as CESU-8, overlong forms, stray continuation bytes.
RAW = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xff\xfe", b"\x80", b"a\xe2\x82"]

any_values = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(TEXTS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.builds(lambda c, n: c * n, st.characters(codec="utf-8"), st.integers(200, 70000)),
    st.sampled_from(RAW),
)


@dataclass
class Target:
    method: str
    url: str
    endpoint: str
    fields: list[tuple[str, str]]
    options: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    client: str = "admin"


class FormParser(HTMLParser):
    """The page's forms: action, method, fields with their defaults, the options of
    radios/checkboxes/selects/buttons, file inputs, and hx-post/hx-get inside the form."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.form = None
        self.select = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = {"attrs": a, "fields": [], "options": {}, "files": [], "actions": []}
            self.forms.append(self.form)
            for hx in ("hx-post", "hx-get"):
                if a.get(hx):
                    self.form["actions"].append((hx[3:].upper(), a[hx]))
            return
        if self.form is None:
            return
        for hx in ("hx-post", "hx-get"):
            if a.get(hx):
                self.form["actions"].append((hx[3:].upper(), a[hx]))
        name = a.get("name")
        if not name:
            return
        options = self.form["options"].setdefault(name, [])
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                self.form["files"].append(name)
            elif kind in ("checkbox", "radio", "submit"):
                options.append(a.get("value", "on"))
                if "checked" in a or (kind == "radio" and len(options) == 1):
                    self.form["fields"].append((name, a.get("value", "on")))
            else:
                self.form["fields"].append((name, a.get("value", "")))
        elif tag == "button":
            options.append(a.get("value", ""))
            if len(options) == 1:
                self.form["fields"].append((name, a.get("value", "")))
        elif tag == "select":
            self.select = name
            self.form["fields"].append((name, ""))
        elif tag == "textarea":
            self.textarea = name
            self.form["fields"].append((name, ""))

    def handle_data(self, data):
        if self.form is not None and self.textarea:
            name, value = self.form["fields"][-1]
            self.form["fields"][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def option(self, attrs):  # <option> inside a select
        if self.form is not None and self.select:
            self.form["options"].setdefault(self.select, []).append(dict(attrs).get("value", ""))


def forms_of(html: str) -> list[dict]:
    parser = FormParser()
    original = parser.handle_starttag

    def start(tag, attrs):
        if tag == "option":
            parser.option(attrs)
        else:
            original(tag, attrs)

    parser.handle_starttag = start
    parser.feed(html)
    return parser.forms


def endpoint_of(app, method: str, url: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(url).path, method=method)
    except Exception:
        return None
    return endpoint


def discover(app, world, clients) -> list[Target]:
    """Crawl every GET page as the visitor who can see it; collect forms and query strings."""
    targets: dict[tuple, Target] = {}
    pages = []
    for rule, _ in rules(app, {"GET"}):
        bp = blueprint_of(rule)
        if bp in API_BLUEPRINTS:
            continue
        who = "candidate" if bp in PUBLIC_BLUEPRINTS else "admin"
        pages.append((who, build(app, rule, world)))
    pages += [("candidate", f"/attempts/{world['public_id']}?q={n}") for n in range(1, 7)]
    pages += [("invited", f"/i/{world['fresh_token']}"), ("anonymous", "/login")]
    pages += [("admin", "/bank/questions/t-single/edit"), ("admin", "/bank/quizzes/basics/edit")]
    for who, url in pages:
        r = clients[who].get(url)
        endpoint = endpoint_of(app, "GET", url)
        # The page itself takes a query string.
        if endpoint and endpoint != "static":
            key = ("GET", endpoint)
            targets.setdefault(key, Target("GET", url.split("?")[0], endpoint, [], client=who))
        if r.mimetype != "text/html":
            continue
        for form in forms_of(r.get_data(as_text=True)):
            method = form["attrs"].get("method", "get").upper()
            actions = [(method, form["attrs"].get("action") or url)] + form["actions"]
            for verb, action in actions:
                endpoint = endpoint_of(app, verb, action)
                if endpoint is None or endpoint in SKIP:
                    continue
                fields = [(n, v) for n, v in form["fields"] if verb == "POST" or n != "csrf_token"]
                if verb == "GET":  # one query-string target per page: every form's fields
                    path = urlsplit(action).path
                    target = targets.setdefault(
                        ("GET", endpoint), Target("GET", path, endpoint, [])
                    )
                    target.client = who
                    target.fields += [f for f in fields if f[0] not in dict(target.fields)]
                    target.options.update(form["options"])
                    continue
                names = tuple(sorted({n for n, _ in form["fields"]} | set(form["files"])))
                key = (verb, endpoint, names)  # one per form, not per id in its URL
                target = Target(
                    verb,
                    urlsplit(action).path,
                    endpoint,
                    fields,
                    form["options"],
                    form["files"],
                    who,
                )
                targets.setdefault(key, target)
    found = {t.endpoint for t in targets.values()}
    for endpoint, fields in SCRIPT_FORMS.items():
        if endpoint not in found:
            rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
            url = build(app, rule, world, "POST")
            csrf = ("csrf_token", world["tokens"]["candidate"])
            targets[(endpoint,)] = Target(
                "POST", url, endpoint, [csrf, *fields], client="candidate"
            )
    # Finishing an attempt or signing in changes what later targets can reach: those last.
    return sorted(targets.values(), key=lambda t: ("finish" in t.url, t.method, t.url))


def encode(pairs: list[tuple[str, str | bytes]]) -> bytes:
    return "&".join(f"{quote_plus(n)}={quote_plus(v)}" for n, v in pairs).encode()


def draw_pairs(data, target: Target) -> list[tuple[str, str | bytes]]:
    """Each field kept, dropped, replaced, repeated, or given another of its options;
    sometimes a field nobody asked for. The CSRF token is kept (CSRF is tested elsewhere)."""
    pairs = []
    for name, default in target.fields:
        if name == "csrf_token":
            pairs.append((name, default))
            continue
        choice = data.draw(st.sampled_from(["keep", "drop", "fuzz", "repeat", "option"]))
        options = target.options.get(name) or [default]
        if choice == "keep":
            pairs.append((name, default))
        elif choice == "fuzz":
            pairs.append((name, data.draw(any_values)))
        elif choice == "repeat":
            pairs += [(name, default), (name, data.draw(any_values))]
        elif choice == "option":
            pairs += [(name, v) for v in data.draw(st.lists(st.sampled_from(options), max_size=3))]
    names = [n for n, _ in target.fields] or ["q"]
    extra = st.tuples(st.one_of(st.sampled_from(names), st.text(max_size=8)), any_values)
    return pairs + data.draw(st.lists(extra, max_size=2))


CSV_SAMPLES = [
    b"name,email\nAda,ada@example.com\n",
    b"name,email,quiz\nAda,ada@example.com,nope\n",
    b"\xef\xbb\xbfname;email\n",
    b"name,email\n" + b"x," * 5000 + b"\n",
    b"\xff\xfe\x00n",
    b"",
]


def send(client, target: Target, data):
    pairs = draw_pairs(data, target)
    headers = {"HX-Request": "true"} if data.draw(st.booleans()) else {}
    if target.method == "GET":
        query = encode([(n, v) for n, v in pairs if n != "csrf_token"]).decode()
        return client.open(target.url, method="GET", query_string=query, headers=headers)
    if target.files:
        form = [(n, v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for n, v in pairs]
        for name in target.files:
            content = data.draw(st.one_of(st.sampled_from(CSV_SAMPLES), st.binary(max_size=500)))
            filename = data.draw(st.sampled_from(["c.csv", "bank.toml", "b.gift", "", "x" * 300]))
            form.append((name, (io.BytesIO(content), filename)))
        return client.post(target.url, data=MultiDict(form), headers=headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return client.open(target.url, method=target.method, data=encode(pairs), headers=headers)


@pytest.fixture
def fuzz_app(tmp_path, monkeypatch):
    # Webhook deliveries are sent by a background thread: its writes would race with the
    # before/after comparison, and sending is not what this file tests.
    monkeypatch.setattr(webhooks, "send_soon", lambda ids: None)
    app = make_app(
        tmp_path,
        RATELIMIT_ENABLED=False,
        WEBHOOK_SEND_AFTER_COMMIT=False,
        MAIL_SERVER="127.0.0.1",  # nothing listens: sending fails fast, the outbox shows it
        MAIL_PORT=free_port(),
        MAIL_TIMEOUT=1,
    )
    yield app
    close_all()


def fuzz_world(app) -> tuple[dict, dict]:
    """The security matrix's world, plus the rows that make every admin form appear."""
    world = build_world(app)
    quiz = Quiz.get(Quiz.slug == "basics")
    _, world["fresh_token"] = service.create(quiz, "F", "f@x.io", None)
    admin = User.get(User.email == "admin@example.com")
    tokens.create(admin, "fuzz")
    hook = Webhook.create(url="https://127.0.0.1:9/hook", secret="s" * 32)
    attempt = Attempt.get(Attempt.public_id == world["mine_attempt"])
    WebhookDelivery.create(webhook=hook, attempt=attempt, event="attempt.completed", body="{}")
    Email.create(to_address="x@example.com", subject="S", body="B")
    clients = {
        "admin": signed_in(app, "admin@example.com"),
        "candidate": world["owner"].client,
        "invited": new_client(app),
        "anonymous": new_client(app),
    }
    world["tokens"] = {"candidate": world["owner"].csrf()}
    return world, clients


def fuzz(target: Target, client, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(data=st.data())
    def run(data):
        before = snapshot()
        r = send(client, target, data)
        assert r.status_code < 500, (target.method, target.url, r.status_code)
        if r.status_code >= 400 or target.method == "GET":
            assert snapshot() == before, f"{target.method} {target.url} {r.status_code} wrote"

    run()


GROUPS = {
    "candidate": lambda t: t.method == "POST" and t.client in ("candidate", "invited"),
    "staff-forms": lambda t: t.method == "POST" and t.client in ("admin", "anonymous"),
    "query-strings": lambda t: t.method == "GET",
}


@pytest.mark.parametrize("group", GROUPS)
def test_fuzzed_requests_never_fail_or_write_partially(fuzz_app, group):
    world, clients = fuzz_world(fuzz_app)
    targets = [t for t in discover(fuzz_app, world, clients) if GROUPS[group](t)]
    assert targets
    for target in targets:
        if target.method == "GET":
            clients[target.client].get(target.url)  # first visit writes (opened_at): not fuzz
        fuzz(target, clients[target.client], FORM_EXAMPLES if target.method != "GET" else 30)


def test_every_form_endpoint_is_found(fuzz_app):
    """The crawl finds a form for every state-changing route (or a SCRIPT_FORMS entry)."""
    world, clients = fuzz_world(fuzz_app)
    found = {t.endpoint for t in discover(fuzz_app, world, clients)}
    missing = set()
    for rule, _ in rules(fuzz_app, {"POST", "PUT", "PATCH", "DELETE"}):
        if blueprint_of(rule) in API_BLUEPRINTS or rule.endpoint in SKIP:
            continue
        if rule.endpoint not in found:
            missing.add(rule.endpoint)
    assert not missing, f"no page shows a form for {missing}: add them to SCRIPT_FORMS"
    gets = {
        r.endpoint for r, _ in rules(fuzz_app, {"GET"}) if blueprint_of(r) not in API_BLUEPRINTS
    }
    assert gets <= found, gets - found


def test_form_parser_reads_defaults_options_and_files():
    html = (
        '<form method="post" action="/a" hx-post="/b"><input type="hidden" name="csrf_token" '
        'value="t"><input type="radio" name="c" value="1"><input type="radio" name="c" '
        'value="2" checked><select name="s"><option value="x">X</option></select>'
        '<textarea name="t">hi</textarea><input type="file" name="f">'
        '<button name="nav" value="next">N</button><button name="nav" value="prev">P</button>'
        "</form>"
    )
    [form] = forms_of(html)
    assert ("csrf_token", "t") in form["fields"] and ("t", "hi") in form["fields"]
    assert form["options"]["c"] == ["1", "2"] and form["options"]["s"] == ["x"]
    assert form["options"]["nav"] == ["next", "prev"] and form["files"] == ["f"]
    assert form["actions"] == [("POST", "/b")]
    assert re.search("x", "x")


# Regressions: what the fuzzer and the scanners found, pinned down ---------------------------

NOT_INTS = ["²", "¹", "9" * 5000, "٣" * 12]  # isdigit() but not int(), or too long for int()


def test_numbers_int_cannot_read_are_refused_not_500(fuzz_app):
    world, clients = fuzz_world(fuzz_app)
    admin, owner = clients["admin"], world["owner"]
    pid = world["public_id"]
    csrf = {"csrf_token": owner.csrf()}
    admin_csrf = {"csrf_token": owner_token(admin)}
    for bad in NOT_INTS:
        before = snapshot()
        assert owner.client.get(f"/attempts/{pid}", query_string={"q": bad}).status_code == 400
        r = owner.client.post(f"/attempts/{pid}/answers", data={**csrf, "q": bad})
        assert r.status_code == 400
        invite = {"name": "N", "email": "n@example.com", "quiz": "basics", "days": bad}
        assert admin.post("/invitations", data={**admin_csrf, **invite}).status_code == 400
        invite = {**invite, "days": "7", "time_limit": bad}
        assert admin.post("/invitations", data={**admin_csrf, **invite}).status_code == 400
        extend = f"/invitations/{world['invitation_id']}/extend"
        assert admin.post(extend, data={**admin_csrf, "days": bad}).status_code == 400
        upload = (io.BytesIO(b"name,email\nA,a@example.com\n"), "c.csv")
        bulk = MultiDict([*admin_csrf.items(), ("quiz", "basics"), ("days", bad), ("file", upload)])
        assert admin.post("/invitations/bulk", data=bulk).status_code == 400
        assert snapshot() == before
        for page in ("/dashboard/", "/bank/questions", "/invitations"):
            assert admin.get(page, query_string={"page": bad}).status_code == 200


def owner_token(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_an_invitation_to_a_quiz_without_questions_starts_nothing(fuzz_app):
    """wapiti switched every question off, then started an invited attempt: an attempt with
    no questions, whose page answered 500."""
    from quiz.models import Question

    world, _ = fuzz_world(fuzz_app)
    Question.update(active=False).execute()
    invited = new_client(fuzz_app)
    page = invited.get(f"/i/{world['fresh_token']}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = Attempt.select().count()
    data = {"csrf_token": csrf, "name": "N", "consent": "1"}
    r = invited.post(f"/i/{world['fresh_token']}/start", data=data)
    assert r.status_code == 409 and "no questions" in r.get_data(as_text=True)
    assert Attempt.select().count() == before
