"""The bank editor in the browser: list and filter, create and edit (versions), preview,
deactivate, the quiz builder, and import/export from the page."""

import io
import re

import pytest
from conftest import HX, make_app, question_id
from test_auth import login, make_user, token

from quiz import bank
from quiz.bank import Spec, forms, transfer
from quiz.db import close_all
from quiz.models import Attempt, Choice, Question, Quiz
from quiz.quizzes import summarise

EXT = {"native": "toml", "gift": "gift"}


@pytest.fixture
def admin(client):
    make_user("admin@example.com", role="admin")
    login(client, "admin@example.com")
    return client


def csrf(client, url="/bank/questions/new") -> str:
    return token(client, url)


def current(slug: str) -> Question:
    return Question.get(Question.slug == slug, Question.current == True)  # noqa: E712


def choices_of(question: Question) -> list[tuple[str, bool]]:
    return [(c.text, c.correct) for c in question.choices.order_by(Choice.position)]


def rows_of(html: str) -> list[str]:
    """The slugs listed in the questions table, in order."""
    return re.findall(r'<a href="/bank/questions/([a-z0-9-]+)/edit">', html)


def question_data(client, **fields) -> dict:
    """A valid single-choice question's form, with `fields` changed."""
    data = {
        "csrf_token": csrf(client),
        "slug": "basics-new",
        "topic": "basics",
        "level": "junior",
        "kind": "single",
        "points": "1",
        "prompt": "Which function builds a URL for an endpoint?",
        "explanation": "`url_for` builds URLs from endpoint names.",
        "reference": "https://flask.palletsprojects.com/en/stable/api/#flask.url_for",
        "rows": "6",
        "choice-0-text": "redirect",
        "choice-1-text": "url_for",
        "choice-1-correct": "1",
        "choice-2-text": "render_template",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


# List, search and filters --------------------------------------------------------------------


def test_the_list_shows_current_versions_and_searches_prompt_and_slug(admin):
    html = admin.get("/bank/questions").get_data(as_text=True)
    assert "6 questions" in html
    assert rows_of(html) == sorted(rows_of(html)) and len(rows_of(html)) == 6
    # The prompt's words and the slug are both searched, case-insensitively.
    assert rows_of(admin.get("/bank/questions?q=SESSION+cookie").get_data(as_text=True)) == [
        "t-text"
    ]
    assert rows_of(admin.get("/bank/questions?q=t-ord").get_data(as_text=True)) == ["t-ordering"]
    assert "No questions match" in admin.get("/bank/questions?q=zzz").get_data(as_text=True)


@pytest.mark.parametrize(
    "query, slugs",
    [
        ("level=senior", ["t-ordering", "t-text"]),
        ("kind=multiple", ["t-multiple"]),
        ("topic=basics&level=mid&kind=code_output", ["t-code-output"]),
        ("topic=nope", []),
        ("level=bogus&kind=bogus&active=maybe&page=x", None),  # unknown values mean "any"
    ],
)
def test_filters_by_topic_level_and_kind(admin, query, slugs):
    html = admin.get(f"/bank/questions?{query}").get_data(as_text=True)
    assert rows_of(html) == (slugs if slugs is not None else sorted(rows_of(html)))
    if slugs is None:
        assert len(rows_of(html)) == 6


def test_filters_are_in_the_url_and_htmx_gets_the_results_fragment(admin):
    page = admin.get("/bank/questions?level=junior").get_data(as_text=True)
    # The filter form works without JavaScript (GET) and live with htmx.
    assert 'method="get" action="/bank/questions"' in page
    assert 'hx-trigger="input changed delay:300ms, change"' in page and 'hx-push-url="true"' in page
    assert '<option value="junior" selected>' in page
    fragment = admin.get("/bank/questions?level=junior", headers=HX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<section id="results"')
    assert rows_of(html) == ["t-multiple", "t-single"]
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_active_filter_and_deactivation(admin):
    data = {"csrf_token": csrf(admin), "active": "0", "next": "/bank/questions?kind=single"}
    r = admin.post("/bank/questions/t-single/active", data=data)
    assert r.status_code == 303 and r.headers["Location"] == "/bank/questions?kind=single"
    assert rows_of(admin.get("/bank/questions?active=0").get_data(as_text=True)) == ["t-single"]
    assert "t-single" not in rows_of(admin.get("/bank/questions?active=1").get_data(as_text=True))
    # An outside `next` is ignored: back to the list.
    data.update(active="1", next="https://evil.example/")
    r = admin.post("/bank/questions/t-single/active", data=data)
    assert r.headers["Location"] == "/bank/questions" and current("t-single").active


def test_the_list_has_pages_of_50_keeping_the_filters(admin):
    for n in range(55):
        bank.save_question(
            Spec(
                f"extra-{n:02}",
                "extra",
                "mid",
                "text",
                f"Extra question {n}",
                choices=(("x", True),),
            )
        )
    html = admin.get("/bank/questions?topic=extra").get_data(as_text=True)
    assert "55 questions" in html and "page 1 of 2" in html
    assert len(rows_of(html)) == 50
    assert 'href="/bank/questions?page=2&amp;topic=extra"' in html
    second = admin.get("/bank/questions?page=2&topic=extra").get_data(as_text=True)
    assert rows_of(second) == [f"extra-{n}" for n in range(50, 55)]
    # A page beyond the last shows the last.
    assert rows_of(admin.get("/bank/questions?page=9&topic=extra").get_data(as_text=True)) == [
        f"extra-{n}" for n in range(50, 55)
    ]


# Create each kind ----------------------------------------------------------------------------

KINDS = {
    "single": ({}, [("redirect", False), ("url_for", True), ("render_template", False)]),
    "multiple": (
        {"choice-0-correct": "1", "choice-3-text": "abort", "choice-3-correct": None},
        [("redirect", True), ("url_for", True), ("render_template", False), ("abort", False)],
    ),
    "true_false": (
        {"prompt": "`url_for` builds URLs.", "truth": "True", "choice-0-text": ""},
        [("True", True), ("False", False)],
    ),
    "code_output": (
        {"code": 'print("url_for")\r\nprint(2)', "choice-1-text": "url_for\r\n2"},
        [("redirect", False), ("url_for\n2", True), ("render_template", False)],
    ),
    "ordering": (
        {"choice-1-correct": None, "choice-4-text": "teardown"},
        [("redirect", False), ("url_for", False), ("render_template", False), ("teardown", False)],
    ),
    "text": (
        {"choice-0-text": "url_for", "choice-1-text": "", "choice-1-correct": None},
        [("url_for", True), ("render_template", True)],
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_create_a_question_of_each_kind(admin, kind):
    extra, expected = KINDS[kind]
    r = admin.post("/bank/questions", data=question_data(admin, kind=kind, **extra))
    assert r.status_code == 303, r.get_data(as_text=True)
    assert r.headers["Location"] == "/bank/questions/basics-new/edit"
    q = current("basics-new")
    assert (q.kind, q.version, q.active, q.topic) == (kind, 1, True, "basics")
    assert choices_of(q) == expected
    if kind == "code_output":
        assert q.code == 'print("url_for")\nprint(2)'  # the browser's CRLF is not stored
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "Created basics-new (version 1)." in page
    # The edit form shows what was stored.
    if kind == "true_false":
        assert 'name="truth" value="True" checked' in page
    else:
        assert f">{expected[0][0]}</textarea>" in page


def test_more_choice_rows_without_javascript(admin):
    data = question_data(admin, more="1", rows="6")
    r = admin.post("/bank/questions/preview", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html
    assert 'name="choice-7-text"' in html and 'name="choice-8-text"' not in html
    assert 'name="rows" value="8"' in html and 'value="basics-new"' in html
    assert not Question.select().where(Question.slug == "basics-new").exists()


# Validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"prompt": "  "}, "prompt", "the prompt is empty"),
        ({"slug": "Bad Slug"}, "slug", "must be [a-z0-9-]+"),
        ({"slug": "t-single"}, "slug", "exists already"),
        ({"topic": ""}, "topic", "must be [a-z0-9-]+"),
        ({"points": "0"}, "points", "points must be a whole number"),
        ({"points": "two"}, "points", "points must be a whole number"),
        ({"level": "expert"}, "level", "unknown level"),
        ({"kind": "essay"}, "kind", "unknown kind"),
        ({"reference": "ftp://example.com"}, "reference", "must be an http(s) URL"),
        ({"choice-0-correct": "1"}, "choices", "exactly one right (has 3, 2)"),
        ({"choice-2-text": "url_for"}, "choices", "two choices have the same text"),
        ({"choice-4-correct": "1"}, "choices", "row 5 is marked right but is empty"),
        ({"kind": "code_output"}, "code", "needs `code`"),
        ({"kind": "true_false"}, "truth", "needs exactly one right choice"),
        ({"kind": "multiple"}, "choices", "2+ right and 1+ wrong"),
        ({"kind": "ordering", "choice-1-correct": None}, "choices", None),  # valid: control
    ],
)
def test_invalid_questions_are_refused_with_messages_by_field(admin, fields, field, message):
    before = Question.select().count()
    r = admin.post("/bank/questions", data=question_data(admin, **fields))
    if message is None:
        assert r.status_code == 303
        return
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    errors = re.search(rf'<ul class="field-error" id="err-{field}">(.*?)</ul>', html, re.S)
    assert errors and message in errors.group(1), html
    assert Question.select().count() == before  # nothing saved


def test_the_editor_reports_the_bank_check_style_notes_without_blocking(admin):
    data = question_data(admin, reference="https://example.com/docs", explanation="")
    r = admin.post("/bank/questions", data=data)
    assert r.status_code == 303
    page = admin.get("/bank/questions/basics-new/edit").get_data(as_text=True)
    assert "from the bank check" in page
    assert "reference host example.com is not an allowed documentation site" in page


def test_form_errors_map_every_import_problem_to_a_field():
    form = forms.question_form({"slug": "x", "topic": "basics", "kind": "single"})
    spec = forms.question_spec(form)
    errors = forms.question_errors(form, spec)
    assert set(errors) == {"level", "points", "prompt", "choices"}
    assert sum(map(len, errors.values())) == len(transfer.problems(spec))


# Edit: a new version; attempts keep theirs ---------------------------------------------------


def edit_data(client, slug: str, **fields) -> dict:
    page = client.get(f"/bank/questions/{slug}/edit").get_data(as_text=True)
    data = dict(re.findall(r'<input type="hidden" name="([\w-]+)" value="([^"]*)"', page))
    form = forms.form_from_spec(bank.spec_from_row(current(slug)), current(slug).version)
    data.update(
        topic=form.topic,
        level=form.level,
        kind=form.kind,
        points=form.points,
        prompt=form.prompt,
        code=form.code,
        explanation=form.explanation,
        reference=form.reference,
        truth=form.truth,
    )
    for i, (text, right) in enumerate(form.rows()):
        data[f"choice-{i}-text"] = text
        if right:
            data[f"choice-{i}-correct"] = "1"
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_an_edit_is_version_2_and_an_attempt_in_progress_keeps_version_1(
    admin, candidate, make_candidate
):
    pid = candidate.start("basics")
    old_id = question_id("t-single")
    r = admin.post(
        "/bank/questions/t-single/edit",
        data=edit_data(admin, "t-single", prompt="Which proxy holds the *incoming* request?"),
    )
    assert r.status_code == 303 and r.headers["Location"] == "/bank/questions/t-single/edit"
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "Saved t-single as version 2" in page and "Version 2." in page
    new = current("t-single")
    assert new.version == 2 and new.id != old_id
    assert Question.get_by_id(old_id).prompt == "Which object holds the **current request**?"
    # The candidate who started before still sees, and is scored on, version 1.
    attempt = Attempt.get(Attempt.public_id == pid)
    assert old_id in attempt.question_ids and new.id not in attempt.question_ids
    html = candidate.client.get(f"/attempts/{pid}?q=1").get_data(as_text=True)
    assert "current request" in html and "incoming" not in html
    # A new attempt gets version 2.
    other = make_candidate().start("basics")
    assert new.id in Attempt.get(Attempt.public_id == other).question_ids


def test_saving_unchanged_keeps_the_version(admin):
    r = admin.post("/bank/questions/t-ordering/edit", data=edit_data(admin, "t-ordering"))
    assert r.status_code == 303
    assert "No changes: t-ordering stays at version 1" in admin.get(
        "/bank/questions/t-ordering/edit"
    ).get_data(as_text=True)
    assert Question.select().where(Question.slug == "t-ordering").count() == 1


def test_an_invalid_edit_is_400_and_saves_nothing(admin):
    data = edit_data(admin, "t-multiple", **{"choice-0-correct": None, "prompt": ""})
    r = admin.post("/bank/questions/t-multiple/edit", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "the prompt is empty" in html and "2+ right and 1+ wrong" in html
    assert Question.select().where(Question.slug == "t-multiple").count() == 1


def test_an_edit_from_a_stale_version_is_refused_with_409(admin):
    stale = edit_data(admin, "t-text", prompt="Mine")
    admin.post("/bank/questions/t-text/edit", data=edit_data(admin, "t-text", prompt="Theirs"))
    r = admin.post("/bank/questions/t-text/edit", data=stale)
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "Version 2 was saved after you opened version 1" in html
    assert current("t-text").prompt == "Theirs"
    assert 'name="version" value="2"' in html  # saving again replaces theirs deliberately
    stale["version"] = "2"
    assert admin.post("/bank/questions/t-text/edit", data=stale).status_code == 303
    assert current("t-text").prompt == "Mine" and current("t-text").version == 3


def test_unknown_questions_are_404(admin):
    assert admin.get("/bank/questions/nope/edit").status_code == 404
    data = {"csrf_token": csrf(admin), "active": "0"}
    assert admin.post("/bank/questions/nope/active", data=data).status_code == 404
    assert (
        admin.post("/bank/questions/preview", data={**data, "editing": "nope"}).status_code == 404
    )
    r = admin.post("/bank/questions/t-single/active", data={"csrf_token": data["csrf_token"]})
    assert r.status_code == 400 and current("t-single").active


# Preview -------------------------------------------------------------------------------------


def test_the_preview_fragment_is_the_candidates_view_and_the_answer(admin):
    data = question_data(admin, prompt="Pick **one**", code="print(1)")
    r = admin.post("/bank/questions/preview", data=data, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<section id="preview"')
    # The candidate's markup: meta, prompt (Markdown), highlighted code, radio choices.
    assert '<div class="prompt"><p>Pick <strong>one</strong></p>' in html
    assert '<pre class="code"><code>' in html
    assert html.count('type="radio" name="choice"') == 3 and "Choose one answer" in html
    assert re.search(r"Right answer</dt><dd>\s*url_for</dd>", html)
    assert "Full points for the right choice" in html
    assert not Question.select().where(Question.slug == "basics-new").exists()


def test_the_preview_shows_ordering_shuffled_but_scores_the_right_order(admin):
    items = ["first", "second", "third", "fourth"]
    data = question_data(admin, kind="ordering", **{"choice-1-correct": None})
    data.update({f"choice-{i}-text": t for i, t in enumerate(items)})
    html = admin.post("/bank/questions/preview", data=data, headers=HX).get_data(as_text=True)
    shown = re.findall(r'<label for="order-[^"]+">(\w+)</label>', html)
    assert sorted(shown) == sorted(items) and shown != items
    right = html[html.index("Right order") :]
    assert [right.index(t) for t in items] == sorted(right.index(t) for t in items)


def test_the_preview_lists_what_blocks_saving(admin):
    data = question_data(admin, prompt="", **{"choice-0-correct": "1"})
    html = admin.post("/bank/questions/preview", data=data, headers=HX).get_data(as_text=True)
    assert "Not saved yet" in html and "the prompt is empty" in html


def test_the_preview_needs_csrf_and_admin(admin, app):
    data = question_data(admin)
    del data["csrf_token"]
    r = admin.post("/bank/questions/preview", data=data, headers=HX)
    assert r.status_code == 400 and "<html" not in r.get_data(as_text=True)
    reviewer = app.test_client()
    make_user("reviewer@example.com", role="reviewer")
    login(reviewer, "reviewer@example.com")
    data["csrf_token"] = token(reviewer, "/")
    assert reviewer.post("/bank/questions/preview", data=data, headers=HX).status_code == 403


def test_the_candidate_page_still_renders_the_shared_question_markup(candidate):
    pid = candidate.start("basics")
    html = candidate.client.get(f"/attempts/{pid}?q=1").get_data(as_text=True)
    assert 'id="question"' in html and '<div class="prompt">' in html
    assert "Flag for review" in html and 'name="nav" value="next"' in html


# Deactivate ----------------------------------------------------------------------------------


def test_a_deactivated_question_is_left_out_of_new_attempts_only(admin, candidate, make_candidate):
    before = candidate.start("basics")
    data = {"csrf_token": csrf(admin), "active": "0"}
    assert admin.post("/bank/questions/t-single/active", data=data).status_code == 303
    qid = question_id("t-single")
    assert not Question.get_by_id(qid).active
    assert qid in Attempt.get(Attempt.public_id == before).question_ids
    edit = admin.get("/bank/questions/t-single/edit").get_data(as_text=True)
    assert "deactivated" in edit and "Reactivate this question" in edit
    # A new attempt (another browser) does not get it.
    pid = make_candidate().start("basics")
    assert qid not in Attempt.get(Attempt.public_id == pid).question_ids
    # An edit keeps it deactivated; reactivating brings it back.
    admin.post("/bank/questions/t-single/edit", data=edit_data(admin, "t-single", prompt="New?"))
    assert not current("t-single").active and current("t-single").version == 2
    data["active"] = "1"
    admin.post("/bank/questions/t-single/active", data=data)
    assert current("t-single").active


# The quiz builder ----------------------------------------------------------------------------


def quiz_data(client, **fields) -> dict:
    data = {
        "csrf_token": csrf(client, "/bank/quizzes/new"),
        "slug": "hooks",
        "title": "Hooks and more",
        "description": "A *short* check.",
        "public": "0",
        "shuffle": "1",
        "shuffle_choices": "1",
        "result": "none",
        "active": "1",
        "time_limit": "15",
        "pass_mark": "70",
        "mode": "fixed",
        "questions": "t-ordering\r\nt-single, t-text",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_build_a_quiz_from_a_fixed_list(admin):
    r = admin.post("/bank/quizzes", data=quiz_data(admin))
    assert r.status_code == 303 and r.headers["Location"] == "/bank/quizzes"
    quiz = Quiz.get(Quiz.slug == "hooks")
    assert quiz.selection == {"questions": ["t-ordering", "t-single", "t-text"]}
    assert (quiz.public, quiz.shuffle, quiz.show_result, quiz.active) == (False, True, False, True)
    assert quiz.shuffle_choices
    assert (quiz.time_limit, quiz.pass_mark, quiz.description) == (15, 70, "A *short* check.")
    assert summarise(quiz).count == 3
    listing = admin.get("/bank/quizzes").get_data(as_text=True)
    assert "Hooks and more" in listing and "invitation only" in listing and "fixed list" in listing


def test_build_a_quiz_from_draw_rules(admin):
    data = quiz_data(
        admin, mode="draw", topics="basics", levels=["senior", "junior"], per_topic_level="1"
    )
    data.update(public="1", time_limit="", pass_mark="", result="review")
    del data["shuffle_choices"]  # an unticked box: choices keep the bank's order
    assert admin.post("/bank/quizzes", data=data).status_code == 303
    quiz = Quiz.get(Quiz.slug == "hooks")
    assert not quiz.shuffle_choices
    assert quiz.selection == {
        "topics": ["basics"],
        "levels": ["junior", "senior"],
        "per_topic_level": 1,
    }
    assert (quiz.public, quiz.time_limit, quiz.pass_mark, quiz.show_result) == (
        True,
        None,
        None,
        True,
    )
    assert summarise(quiz).count == 2
    # The builder shows the count, and the catalogue lists the public quiz.
    edit = admin.get("/bank/quizzes/hooks/edit").get_data(as_text=True)
    assert "Selects 2 questions" in edit and 'value="basics" checked' in edit
    assert "Hooks and more" in admin.get("/").get_data(as_text=True)


def test_the_builder_counts_live(admin):
    data = quiz_data(admin, mode="draw", topics="basics", levels="mid")
    r = admin.post("/bank/quizzes/count", data=data, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="quiz-count"')
    assert "Selects 2 questions" in html
    r = admin.post("/bank/quizzes/count", data=quiz_data(admin, questions="t-single"), headers=HX)
    assert "Selects 1 question<" in r.get_data(as_text=True)
    assert not Quiz.select().where(Quiz.slug == "hooks").exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"questions": "t-single nope"}, "No such question: nope."),
        ({"questions": "t-single t-single"}, "Listed twice: t-single."),
        ({"questions": ""}, "List at least one question slug."),
        ({"mode": "draw", "topics": "nope"}, "No such topic: nope."),
        ({"mode": "draw", "per_topic_level": "0"}, "A whole number of at least 1"),
        ({"pass_mark": "101"}, "A percentage from 0 to 100"),
        ({"time_limit": "-5"}, "Minutes from 1 to 1440"),
        ({"title": ""}, "Give the quiz a title"),
        ({"slug": "basics"}, "A quiz with this slug exists already"),
        ({"slug": "Not a slug"}, "Use lower-case letters"),
    ],
)
def test_invalid_quizzes_are_refused(admin, fields, message):
    before = Quiz.select().count()
    r = admin.post("/bank/quizzes", data=quiz_data(admin, **fields))
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert Quiz.select().count() == before


def test_a_quiz_must_select_at_least_one_active_question(admin):
    data = {"csrf_token": csrf(admin), "active": "0"}
    admin.post("/bank/questions/t-single/active", data=data)
    r = admin.post("/bank/quizzes", data=quiz_data(admin, questions="t-single"))
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "select no active question" in html
    assert "Deactivated, so skipped: t-single." in html


def test_edit_a_quiz(admin):
    data = quiz_data(admin, title="Basics, timed", slug="ignored", time_limit="30")
    data.update(public="1", mode="draw", topics="basics", result="topics", shuffle=None)
    r = admin.post("/bank/quizzes/basics/edit", data=data)
    assert r.status_code == 303
    quiz = Quiz.get(Quiz.slug == "basics")
    assert (quiz.title, quiz.time_limit, quiz.shuffle, quiz.pass_mark) == (
        "Basics, timed",
        30,
        False,
        70,
    )
    assert not Quiz.select().where(Quiz.slug == "ignored").exists()
    assert admin.get("/bank/quizzes/nope/edit").status_code == 404
    bad = admin.post("/bank/quizzes/basics/edit", data={**data, "title": ""})
    assert bad.status_code == 400 and Quiz.get(Quiz.slug == "basics").title == "Basics, timed"


# Import and export from the page -------------------------------------------------------------


def download(client, fmt: str) -> str:
    r = client.get(f"/bank/export?format={fmt}")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f'attachment; filename="flask-quiz-bank.{EXT[fmt]}"'
    return r.get_data(as_text=True)


def upload(client, text: str, name: str):
    data = {"csrf_token": csrf(client, "/bank/import"), "file": (io.BytesIO(text.encode()), name)}
    return client.post("/bank/import", data=data, content_type="multipart/form-data")


def test_the_transfer_page_offers_downloads_outside_boost(admin):
    html = admin.get("/bank/import").get_data(as_text=True)
    assert 'href="/bank/export?format=gift" download hx-boost="false"' in html
    assert 'enctype="multipart/form-data"' in html
    assert admin.get("/bank/export?format=xml").status_code == 400


@pytest.fixture
def fresh(tmp_path):
    """make(name): an admin's client on an app with its own new, empty database."""

    def make(name: str):
        close_all()
        empty = tmp_path / f"{name}-bank"
        empty.mkdir()
        app = make_app(tmp_path / name, BANK=empty)
        client = app.test_client()
        make_user("admin@example.com", role="admin")
        login(client, "admin@example.com")
        return client

    yield make
    close_all()


@pytest.mark.parametrize("fmt", ["native", "gift"])
def test_export_then_import_into_an_empty_bank_through_the_page(admin, fresh, fmt):
    admin.post("/bank/questions/t-text/edit", data=edit_data(admin, "t-text", prompt="Edited"))
    written = download(admin, fmt)
    before = [(s, s.active) for s in transfer.current_specs()]
    other = fresh("empty")
    assert Question.select().count() == 0
    r = upload(other, written, f"bank.{EXT[fmt]}")
    assert r.status_code == 303, r.get_data(as_text=True)
    listing = other.get(r.headers["Location"]).get_data(as_text=True)
    assert "6 created, 0 new versions, 0 unchanged" in listing and "6 questions" in listing
    assert [(s, s.active) for s in transfer.current_specs()] == before
    assert download(other, fmt) == written
    # Importing the same file again changes nothing.
    upload(other, written, f"again.{EXT[fmt]}")
    assert "0 created, 0 new versions, 6 unchanged" in other.get("/bank/questions").get_data(
        as_text=True
    )


def test_an_import_with_a_changed_question_is_a_new_version(admin):
    written = download(admin, "native").replace(
        "Name the config key that signs the session cookie.", "Which key signs the cookie?"
    )
    r = upload(admin, written, "bank.toml")
    assert r.status_code == 303
    assert "1 new version" in admin.get("/bank/questions").get_data(as_text=True)
    assert (
        current("t-text").version == 2 and current("t-text").prompt == "Which key signs the cookie?"
    )


def test_a_bad_upload_names_the_line_and_imports_nothing(admin):
    written = download(admin, "native")
    lines = written.splitlines()
    kind = next(n for n, line in enumerate(lines, 1) if line.startswith('kind = "text"'))
    header = max(n for n, line in enumerate(lines[:kind], 1) if line.startswith("[[topics.q"))
    broken = "\n".join(
        'kind = "essay"' if n == kind else line for n, line in enumerate(lines, 1)
    ).replace("Which object holds", "Changed: which object holds")
    before = Question.select().count()
    r = upload(admin, broken, "broken.toml")
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert re.search(rf"broken\.toml:{header}: question &#39;t-text&#39;: unknown kind", html)
    assert "Nothing was imported." in html and "The file was not imported." in html
    assert Question.select().count() == before
    assert current("t-single").prompt.startswith("Which object holds")


@pytest.mark.parametrize(
    "payload, name, message",
    [
        (None, "", "Choose a native TOML or GIFT file"),
        (b"\xff\xfe not utf-8", "x.gift", "the file is not UTF-8 text"),
        (b"topic = 'x'\n[[questions]\n", "x.toml", "x.toml:2: TOML"),
        (b"", "empty.gift", "no questions"),
    ],
)
def test_unreadable_uploads_are_400(admin, payload, name, message):
    data = {"csrf_token": csrf(admin, "/bank/import")}
    if payload is not None:
        data["file"] = (io.BytesIO(payload), name)
    r = admin.post("/bank/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_every_shipped_question_reads_back_unchanged_and_the_bank_fits_an_upload(tmp_path):
    """Opening any shipped question in the editor and saving it stores nothing new, and the
    page's export/import round trip fits the upload limit for the real bank."""
    app = make_app(tmp_path, BANK=bank.BANK_DIR)
    try:
        questions = list(Question.select().where(Question.current == True))  # noqa: E712
        assert len(questions) >= 200
        for q in questions:
            spec = bank.spec_from_row(q)
            form = forms.form_from_spec(spec, q.version)
            assert forms.question_spec(form) == spec, q.slug
            assert forms.question_errors(form, spec) == {}, q.slug
        size = len(transfer.export_text("native").encode())
        assert 100_000 < size < app.config["MAX_CONTENT_LENGTH"]
    finally:
        close_all()
