"""Reviewers' dashboard: the attempts table (filters, sort, pages, htmx), one attempt's review,
the percentile, comparison, CSV exports and who sees what."""

import csv
import io
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from html import unescape

import pytest
from conftest import HX, TEST_BANK, choice_id
from flask import request_finished
from test_auth import login, make_user

from quiz import attempts, clock
from quiz.candidate import signals
from quiz.dashboard import exports
from quiz.invitations import service
from quiz.models import Attempt, Question, Quiz

# Responses that are right for each question of the test bank (basics: 9 points in all).
RIGHT = {
    "t-single": lambda: {"choice": choice_id("t-single", "request")},
    "t-multiple": lambda: {
        "choices": sorted([choice_id("t-multiple", "request"), choice_id("t-multiple", "g")])
    },
    "t-true-false": lambda: {"choice": choice_id("t-true-false", "True")},
    "t-code-output": lambda: {"choice": choice_id("t-code-output", "2")},
    "t-ordering": lambda: {
        "order": [
            choice_id("t-ordering", t)
            for t in ("before_request", "the view", "after_request", "teardown_request")
        ]
    },
    "t-text": lambda: {"text": "SECRET_KEY"},
}
BASICS = list(RIGHT)  # the basics quiz asks these, in this order (shuffle = false)


@pytest.fixture
def frozen(monkeypatch):
    """A clock the test sets by hand."""
    state = {"now": datetime(2024, 1, 1, 9, 0)}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


def take(
    slug,
    answers=None,
    *,
    invitation=None,
    finish=True,
    spent=5,
    frozen=None,
    at=None,
    minutes=10,
):
    """An attempt made through the service functions: start at `at`, answer, finish after
    `minutes`. `answers` maps question slug -> response (or "right")."""
    if frozen is not None and at is not None:
        frozen["now"] = at
    quiz = Quiz.get(Quiz.slug == slug)
    if invitation is not None:
        attempt = service.start(invitation, "key", invitation.candidate_name)
    else:
        attempt = attempts.start(quiz, "key")
    if answers and spent and frozen is None:  # room on the wall clock for the time spent
        attempt.started_at -= timedelta(seconds=spent * len(answers))
        Attempt.update(started_at=attempt.started_at).where(Attempt.id == attempt.id).execute()
    for qslug, response in (answers or {}).items():
        question = Question.get(Question.slug == qslug, Question.current == True)  # noqa: E712
        given = RIGHT[qslug]() if response == "right" else response
        shown = clock.now() - timedelta(seconds=spent)
        if frozen is not None:  # `spent` seconds on the question, then the answer
            shown = clock.now()
            frozen["now"] += timedelta(seconds=spent)
        attempts.save_answer(attempt, question, given, flagged=False, shown=shown)
    if finish:
        if frozen is not None:
            frozen["now"] += timedelta(minutes=minutes)
        attempt = attempts.finish(attempt)
    return Attempt.get_by_id(attempt.id)


def invite(quiz_slug, name, email, by):
    invitation, _ = service.create(Quiz.get(Quiz.slug == quiz_slug), name, email, by)
    return invitation


def as_user(app, email, role):
    client = app.test_client()
    make_user(email, role=role)
    login(client, email)
    return client


@pytest.fixture
def people(app, frozen):
    """Five attempts in id order: Ada, Bob, Cy, Dee (invited by `rec` except Dee, invited by
    `other`) and an anonymous self-assessment."""
    rec = make_user("rec@example.com", role="recruiter")
    other = make_user("other@example.com", role="recruiter")
    right = dict.fromkeys(BASICS, "right")
    ada = take(
        "basics",
        right,
        invitation=invite("basics", "Ada Lovelace", "ada@example.org", rec),
        frozen=frozen,
        at=datetime(2024, 1, 10, 10, 0),
    )
    bob = take(
        "basics",
        {"t-single": "right", "t-multiple": "right", "t-text": {"text": "nope"}},
        invitation=invite("basics", "Bob Babbage", "bob@example.com", rec),
        frozen=frozen,
        at=datetime(2024, 2, 15, 10, 0),
    )
    cy = take(
        "timed",
        {"t-single": "right"},
        invitation=invite("timed", "Cy Hopper", "cy@example.com", rec),
        finish=False,
        frozen=frozen,
        at=datetime(2024, 3, 1, 10, 0),
    )
    dee = take(
        "timed",
        {"t-single": "right"},
        invitation=invite("timed", "Dee Ritchie", "dee@example.com", other),
        frozen=frozen,
        at=datetime(2024, 3, 20, 10, 0),
        minutes=30,  # past the 5-minute limit: closes as expired
    )
    anon = take(
        "basics",
        {s: "right" for s in ("t-single", "t-multiple", "t-true-false", "t-code-output")},
        frozen=frozen,
        at=datetime(2024, 4, 5, 10, 0),
    )
    for n, (attempt, kind) in enumerate(
        [(ada, "focus_lost"), (ada, "paste"), (ada, "focus_lost"), (bob, "focus_lost")]
    ):
        frozen["now"] = attempt.started_at + timedelta(minutes=1, seconds=n)
        signals.record(attempt, kind, f"question {n + 1}")
    return {"ada": ada, "bob": bob, "cy": cy, "dee": dee, "anon": anon, "rec": rec}


@pytest.fixture
def reviewer(app):
    return as_user(app, "reviewer@example.com", "reviewer")


def names(html: str) -> list[str]:
    """The candidates of the table's rows, in order ("self-assessment" for anonymous ones)."""
    cells = re.findall(r'<th scope="row"><a href="/dashboard/attempts/[^"]+">(.*?)</a>', html)
    return [unescape(re.sub(r"<[^>]+>", "", c.split("<br>")[0])).strip() for c in cells]


def first_names(html: str) -> list[str]:
    return [n.split()[0] if n != "self-assessment" else "anon" for n in names(html)]


def table(client, query="", **headers) -> str:
    r = client.get(query if query.startswith("/") else f"/dashboard/{query}", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_data(as_text=True)


# ---------- the table ----------


def test_table_shows_every_column(reviewer, people):
    html = table(reviewer)
    assert first_names(html) == ["anon", "Dee", "Cy", "Bob", "Ada"]  # newest first
    row = re.search(r"Ada Lovelace.*?</tr>", html, re.S).group(0)
    assert "ada@example.org" in row and "Basics" in row and "submitted" in row
    assert "2024-01-10 10:00" in row and "2024-01-10 10:10" in row
    assert "9 / 9" in row and "100%" in row and "senior" in row
    assert re.search(r'<td class="number">3</td>', row)  # three integrity events
    anon = re.search(r"self-assessment.*?</tr>", html, re.S).group(0)
    assert "5 / 9" in anon and "56%" in anon and "mid" in anon
    cy = re.search(r"Cy Hopper.*?</tr>", html, re.S).group(0)
    assert "in progress" in cy and "—" in cy
    dee = re.search(r"Dee Ritchie.*?</tr>", html, re.S).group(0)
    assert "expired" in dee and "1 / 2" in dee and "50%" in dee


@pytest.mark.parametrize(
    "query, expected",
    [
        ("?quiz=timed", ["Dee", "Cy"]),
        ("?quiz=basics", ["anon", "Bob", "Ada"]),
        ("?status=in_progress", ["Cy"]),
        ("?status=expired", ["Dee"]),
        ("?status=submitted", ["anon", "Bob", "Ada"]),
        ("?level=senior", ["Ada"]),
        ("?level=junior", ["Dee", "Bob"]),
        ("?level=mid", ["anon"]),
        ("?from=2024-02-01&to=2024-03-01", ["Cy", "Bob"]),  # "to" includes its whole day
        ("?from=2024-03-02", ["anon", "Dee"]),
        ("?to=2024-01-10", ["Ada"]),
        ("?min=50", ["anon", "Dee", "Ada"]),
        ("?max=40", ["Bob"]),
        ("?min=40&max=55.5", ["Dee"]),
        ("?min=0&max=100", ["anon", "Dee", "Bob", "Ada"]),  # in progress has no percent
        ("?q=ada", ["Ada"]),
        ("?q=EXAMPLE.ORG", ["Ada"]),  # e-mail, any case
        ("?q=hop", ["Cy"]),
        ("?q=%25", []),  # a LIKE wildcard is searched for literally
        ("?q=_", []),
        ("?quiz=basics&status=submitted&min=50", ["anon", "Ada"]),
        ("?quiz=timed&level=junior&q=dee", ["Dee"]),
    ],
)
def test_filters(reviewer, people, query, expected):
    assert first_names(table(reviewer, query)) == expected


@pytest.mark.parametrize(
    "column, ascending, descending",
    [
        ("candidate", "anon Ada Bob Cy Dee", "Dee Cy Bob Ada anon"),
        ("quiz", "Ada Bob anon Cy Dee", "Dee Cy anon Bob Ada"),
        ("status", "Dee Cy Ada Bob anon", "anon Bob Ada Cy Dee"),
        ("started", "Ada Bob Cy Dee anon", "anon Dee Cy Bob Ada"),
        ("finished", "Ada Bob Dee anon Cy", "anon Dee Bob Ada Cy"),  # unfinished last
        ("score", "Dee Bob anon Ada Cy", "Ada anon Bob Dee Cy"),
        ("percent", "Bob Dee anon Ada Cy", "Ada anon Dee Bob Cy"),
        ("level", "Bob Dee anon Ada Cy", "Ada anon Dee Bob Cy"),
        ("events", "Cy Dee anon Bob Ada", "Ada Bob anon Dee Cy"),
    ],
)
def test_sort_by_every_column(reviewer, people, column, ascending, descending):
    assert first_names(table(reviewer, f"?sort={column}&dir=asc")) == ascending.split()
    assert first_names(table(reviewer, f"?sort={column}&dir=desc")) == descending.split()


def test_sort_links_flip_the_order_and_keep_the_filters(reviewer, people):
    html = table(reviewer, "?quiz=basics&sort=score&dir=asc")
    assert 'aria-sort="ascending"' in html
    link = unescape(re.search(r'href="([^"]+)"[^>]*>Score <span', html).group(1))
    assert link == "/dashboard/?quiz=basics&sort=score"  # desc is the default direction
    assert first_names(table(reviewer, link)) == ["Ada", "anon", "Bob"]
    # The hidden sort fields belong to the filter form, so a new filter keeps the sort.
    assert '<input type="hidden" name="sort" value="score" form="filters">' in html
    assert '<input type="hidden" name="dir" value="asc" form="filters">' in html


def test_pages_of_25(reviewer, app):
    for _ in range(30):
        take("basics", finish=False)
    html = table(reviewer)
    assert len(names(html)) == 25 and "Attempts 1–25 of 30" in html
    assert "Page 1 of 2" in html and 'rel="prev"' not in html
    nxt = unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', html).group(1))
    assert nxt == "/dashboard/?page=2"
    second = table(reviewer, "?page=2")
    assert len(names(second)) == 5 and "Attempts 26–30 of 30" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "Attempts 26–30 of 30" in table(reviewer, "?page=999")  # past the end: last page
    filtered = table(reviewer, "?status=in_progress&sort=started&dir=asc")
    nxt = unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', filtered).group(1))
    assert nxt == "/dashboard/?status=in_progress&dir=asc&page=2"  # sort=started: default


def test_htmx_gets_the_results_fragment_and_plain_get_the_page(reviewer, people):
    page = reviewer.get("/dashboard/?quiz=timed")
    html = page.get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>") and "HX-Request" in page.headers["Vary"]
    form = re.search(r'<form id="filters".*?>', html, re.S).group(0)
    assert 'method="get"' in form and 'action="/dashboard/"' in form
    assert 'hx-get="/dashboard/"' in form and 'hx-push-url="true"' in form
    assert 'hx-trigger="input changed delay:300ms, change"' in form
    assert 'hx-target="#results"' in form
    fragment = table(reviewer, "?quiz=timed", **HX)
    assert fragment.lstrip().startswith('<section id="results"') and "<html" not in fragment
    assert first_names(fragment) == first_names(html) == ["Dee", "Cy"]
    boosted = table(reviewer, "?quiz=timed", **HX, **{"HX-Boosted": "true"})
    assert boosted.lstrip().startswith("<!doctype html>")


def test_a_pushed_url_reloads_to_the_same_view(reviewer, people):
    # htmx pushes the URL of the form's GET: every field, empty ones included.
    url = "/dashboard/?q=&quiz=basics&status=submitted&level=&from=2024-01-01&to=&min=50&max="
    url += "&sort=score&dir=asc"
    fragment = table(reviewer, url, **HX)
    page = table(reviewer, url)
    assert first_names(fragment) == first_names(page) == ["anon", "Ada"]
    # The reloaded page shows the same filters in its form.
    assert '<option value="basics" selected>' in page
    assert '<option value="submitted" selected>' in page
    assert 'name="from" type="date" value="2024-01-01"' in page
    assert 'name="min" type="number"' in page and 'value="50"' in page
    assert '<input type="hidden" name="sort" value="score" form="filters">' in page


@pytest.mark.parametrize(
    "query, note",
    [
        ("?from=2024-13-45", "Ignored the start date “2024-13-45”"),
        ("?to=yesterday", "Ignored the end date “yesterday”"),
        ("?min=abc", "Ignored the lowest percent “abc”"),
        ("?max=1e999", "Ignored the highest percent “1e999”"),
        ("?max=nan", "Ignored the highest percent “nan”"),
        ("?min=-5", "Ignored the lowest percent “-5”"),
        ("?quiz=nope", "Ignored the quiz “nope”"),
        ("?status=deleted", "Ignored the status “deleted”"),
        ("?level=guru", "Ignored the level “guru”"),
        ("?sort=started_at;DROP TABLE attempt", "Ignored the sort column"),
        ("?dir=sideways", "Ignored the sort order “sideways”"),
        ("?page=-1", "Ignored the page “-1”"),
        ("?page=abc", "Ignored the page “abc”"),
    ],
)
def test_bad_filter_values_are_ignored_with_a_note(reviewer, people, query, note):
    html = table(reviewer, query)
    notes = re.search(r'<ul class="filter-notes" role="status">(.*?)</ul>', html, re.S).group(1)
    assert note in unescape(notes)
    assert len(names(html)) == 5  # the bad value filtered nothing
    assert Attempt.select().count() == 5


def test_bad_values_keep_the_good_ones(reviewer, people):
    html = table(reviewer, "?quiz=timed&min=x")
    assert first_names(html) == ["Dee", "Cy"] and "Ignored the lowest percent" in html


def test_an_extreme_end_date_is_no_error(reviewer, people):
    assert len(names(table(reviewer, "?to=9999-12-31&from=0001-01-01"))) == 5


# ---------- who sees what ----------


def test_recruiter_sees_only_attempts_of_own_invitations(app, people):
    client = app.test_client()
    login(client, "rec@example.com")
    assert first_names(table(client)) == ["Cy", "Bob", "Ada"]
    assert first_names(table(client, "?q=dee")) == []
    dee, ada = people["dee"].public_id, people["ada"].public_id
    assert client.get(f"/dashboard/attempts/{dee}").status_code == 404
    assert client.get(f"/dashboard/attempts/{ada}").status_code == 200
    assert client.get(f"/dashboard/attempts/{people['anon'].public_id}").status_code == 404
    assert client.get(f"/dashboard/compare?ids={ada}&ids={dee}").status_code == 404
    rows = read_csv(client.get("/dashboard/export/attempts.csv"))
    assert sorted(r["candidate_name"] for r in rows) == ["Ada Lovelace", "Bob Babbage", "Cy Hopper"]
    answers = read_csv(client.get("/dashboard/export/answers.csv"))
    assert {r["candidate_name"] for r in answers} == {"Ada Lovelace", "Bob Babbage", "Cy Hopper"}


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_reviewers_and_admins_see_every_attempt(app, people, role):
    client = as_user(app, f"{role}2@example.com", role)
    assert sorted(first_names(table(client))) == ["Ada", "Bob", "Cy", "Dee", "anon"]
    assert client.get(f"/dashboard/attempts/{people['dee'].public_id}").status_code == 200


def test_unknown_attempt_is_404(reviewer, people):
    assert reviewer.get("/dashboard/attempts/nope").status_code == 404
    assert reviewer.get("/dashboard/attempts/" + "x" * 500).status_code == 404


def test_nav_shows_the_dashboard_to_staff_only(app, client):
    assert "Dashboard" not in client.get("/").get_data(as_text=True)
    for role in ("reviewer", "recruiter", "admin"):
        staff = as_user(app, f"nav-{role}@example.com", role)
        assert '<a href="/dashboard/">Dashboard</a>' in staff.get("/").get_data(as_text=True)


# ---------- one attempt ----------


def words(html: str) -> str:
    """The page's text, tags replaced by spaces, whitespace folded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_review_page_shows_answers_right_answers_time_and_timeline(reviewer, people):
    bob = people["bob"]
    html = reviewer.get(f"/dashboard/attempts/{bob.public_id}").get_data(as_text=True)
    text = words(html)
    cards = re.findall(r'<li class="card answer-card outcome-(\w+)">', html)
    assert cards == ["right", "right", "unanswered", "unanswered", "unanswered", "wrong"]
    assert html.index("Which object holds the") < html.index("Name the config key")
    assert "Candidate's answer nope Accepted answers" in text
    assert "SECRET_KEY" in text and "app.secret_key" in text
    assert "Right · 2 / 2 points" in text and "Wrong · 0 / 1 points" in text
    assert text.count("Time spent: 5 s") == 3 and text.count("Time spent: unknown") == 3
    assert "Time spent 15 s on the questions" in text
    assert "3 / 9 points (33%) · not passed (pass mark 50%)" in text
    assert "Estimated level: junior" in text and "You reach a level when you score" in text
    assert '<meter min="0" max="1" value="0.3333333333333333"' in html  # basics topic bar
    # The timeline states facts with times: no verdicts.
    assert "Started the quiz at 10:00:00 (+0:00)" in text
    assert "Left the page at 10:01:03 (+1:03) : question 4" in text
    assert "Submitted the answers at 10:10:15 (+10:15)" in text  # 3 answers x 5 s, then 10 min
    for verdict in ("cheat", "suspicious", "violation"):
        assert verdict not in text.lower()


def test_review_of_an_expired_attempt_and_of_one_in_progress(reviewer, people):
    dee = words(reviewer.get(f"/dashboard/attempts/{people['dee'].public_id}").get_data(True))
    assert "Time ran out at 10:05:00 (+5:00)" in dee and "No integrity events were recorded." in dee
    cy = reviewer.get(f"/dashboard/attempts/{people['cy'].public_id}").get_data(as_text=True)
    assert "in progress" in cy and "Submitted the answers" not in cy
    assert "and this one is finished" in cy


def test_an_abandoned_timed_attempt_is_closed_when_reviewed(reviewer, people, frozen):
    cy = people["cy"]
    frozen["now"] = cy.deadline + timedelta(hours=1)
    text = words(reviewer.get(f"/dashboard/attempts/{cy.public_id}").get_data(as_text=True))
    assert "Status expired" in text and "Time ran out at 10:05:00 (+5:00)" in text
    assert "1 / 2 points (50%)" in text
    assert Attempt.get_by_id(cy.id).status == "expired"


def test_events_on_another_day_show_the_date(reviewer, people, frozen):
    ada = people["ada"]
    frozen["now"] = ada.started_at + timedelta(days=1, hours=2)
    signals.record(ada, "paste", "")
    html = reviewer.get(f"/dashboard/attempts/{ada.public_id}").get_data(as_text=True)
    assert "Pasted text at <time" in html and ">2024-01-11 12:00:00</time>" in html


def percent_line(html: str) -> str:
    found = re.search(r'<dd class="percentile">(.*?)</dd>', html, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found))


def test_percentile_appears_at_20_completed_attempts_and_is_right(reviewer, app):
    # Attempt i answers the first i % 7 questions right: scores 0, 1, 3, 4, 5, 8, 9.
    made = []
    for i in range(19):
        made.append(take("basics", {s: "right" for s in BASICS[: i % 7]}))
    take("basics", {s: "right" for s in BASICS}, finish=False)  # in progress: not counted
    take("timed", {"t-single": "right"})  # another quiz: not counted
    target = made[3]  # 4 points
    assert target.score == 4
    url = f"/dashboard/attempts/{target.public_id}"
    assert "at least 20 completed attempts" in percent_line(reviewer.get(url).get_data(True))
    made.append(take("basics", {s: "right" for s in BASICS[: 19 % 7]}))  # the 20th
    line = percent_line(reviewer.get(url).get_data(as_text=True))
    scores = [a.score for a in made]
    lower = sum(1 for s in scores if s < target.score)
    assert lower == 9 and len(scores) == 20
    assert (
        line
        == "Scored higher than 45% of the 20 completed attempts of this quiz (9 had a lower score)."
    )
    best = made[6]
    assert "higher than 90% of the 20" in percent_line(
        reviewer.get(f"/dashboard/attempts/{best.public_id}").get_data(as_text=True)
    )  # 18 lower: ties with the other top score do not count


# ---------- comparison ----------


def test_compare_attempts_of_the_same_quiz(reviewer, people):
    ids = [people["ada"].public_id, people["bob"].public_id, people["anon"].public_id]
    r = reviewer.get("/dashboard/compare?" + "&".join(f"ids={i}" for i in ids))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    heads = re.findall(r'<th scope="col"><a href="/dashboard/attempts/([^"]+)">', html)
    assert heads == ids
    assert "Compare 3 attempts of Basics" in html
    rows = re.findall(r"<tr>\s*<th scope=\"row\">\d+\. .*?</tr>", html, re.S)
    assert len(rows) == 6
    first = re.findall(r'<td class="cell-(\w+)">', rows[0])
    last = re.findall(r'<td class="cell-(\w+)">', rows[5])
    assert first == ["right", "right", "right"] and last == ["right", "wrong", "unanswered"]
    totals = re.search(r'<tr class="totals">.*?</tr>', html, re.S).group(0)
    assert re.findall(r"(\d+) / 9", totals) == ["9", "3", "5"]


def test_compare_refuses_mixed_quizzes_and_too_few(reviewer, people):
    mixed = f"ids={people['ada'].public_id}&ids={people['cy'].public_id}"
    r = reviewer.get("/dashboard/compare?" + mixed)
    assert r.status_code == 400
    message = unescape(r.get_data(as_text=True))
    assert "different quizzes (Basics, Timed basics)" in message
    assert "only attempts of the same quiz can be compared" in message
    one = reviewer.get(f"/dashboard/compare?ids={people['ada'].public_id}")
    assert one.status_code == 400 and "two or more attempts" in one.get_data(as_text=True)
    same_twice = f"ids={people['ada'].public_id}&ids={people['ada'].public_id}"
    assert reviewer.get("/dashboard/compare?" + same_twice).status_code == 400
    unknown = f"ids={people['ada'].public_id}&ids=nope"
    assert reviewer.get("/dashboard/compare?" + unknown).status_code == 404
    many = "&".join(f"ids=x{i}" for i in range(11))
    assert reviewer.get("/dashboard/compare?" + many).status_code == 400


def test_table_rows_carry_compare_checkboxes(reviewer, people):
    html = table(reviewer)
    form = re.search(r'<form id="compare" method="get" action="/dashboard/compare">', html)
    assert form and html.count('type="checkbox" name="ids"') == 5


# ---------- CSV exports ----------


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_attempts_csv_has_a_header_rows_and_the_table_filters(reviewer, people):
    r = reviewer.get("/dashboard/export/attempts.csv?quiz=timed&sort=started&dir=asc")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == 'attachment; filename="attempts.csv"'
    first_line = r.get_data(as_text=True).splitlines()[0]
    assert first_line == ",".join(exports.ATTEMPT_HEADER)
    rows = read_csv(r)
    assert [row["candidate_name"] for row in rows] == ["Cy Hopper", "Dee Ritchie"]
    dee = rows[1]
    assert dee["status"] == "expired" and dee["score"] == "1.0" and dee["max_score"] == "2.0"
    assert dee["percent"] == "50.0" and dee["level"] == "junior"
    assert dee["started_at"].startswith("2024-03-20 10:00") and dee["quiz"] == "Timed basics"
    everyone = read_csv(reviewer.get("/dashboard/export/attempts.csv"))
    assert len(everyone) == 5
    ada = next(row for row in everyone if row["candidate_name"] == "Ada Lovelace")
    assert ada["integrity_events"] == "3" and ada["candidate_email"] == "ada@example.org"


def test_answers_csv_has_one_row_per_answer(reviewer, people):
    r = reviewer.get("/dashboard/export/answers.csv?q=bob")
    assert r.headers["Content-Disposition"] == 'attachment; filename="answers.csv"'
    rows = read_csv(r)
    assert [row["question"] for row in rows] == ["t-single", "t-multiple", "t-text"]
    assert [row["position"] for row in rows] == ["1", "2", "6"]
    assert rows[0]["answer"] == "request" and rows[0]["correct"] == "yes"
    assert rows[1]["answer"] == "request | g" and rows[1]["score"] == "2.0"
    assert rows[2]["answer"] == "nope" and rows[2]["correct"] == "no"
    assert rows[2]["time_spent_seconds"] == "5" and rows[2]["kind"] == "text"
    assert len(read_csv(reviewer.get("/dashboard/export/answers.csv"))) == 6 + 3 + 1 + 1 + 4


DANGEROUS = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("name", DANGEROUS)
def test_csv_neutralises_formulas(reviewer, app, name):
    rec = make_user("r2@example.com", role="recruiter")
    invitation = invite("basics", name, "x@example.com", rec)
    take("basics", {"t-text": {"text": name.strip() or "=1"}}, invitation=invitation)
    take("basics", {"t-text": {"text": "=1+1"}}, invitation=invite("basics", "a", "y@x.io", rec))
    rows = read_csv(reviewer.get("/dashboard/export/attempts.csv"))
    assert "'" + name in [row["candidate_name"] for row in rows]
    answers = read_csv(reviewer.get("/dashboard/export/answers.csv"))
    assert "'" + name in {row["candidate_name"] for row in answers}
    assert "'=1+1" in {row["answer"] for row in answers}
    for row in rows + answers:
        for value in row.values():
            assert not value.startswith(exports.FORMULA_START), value


def test_safe_leaves_plain_values_alone():
    assert exports.safe("Ada") == "Ada" and exports.safe(3) == 3 and exports.safe(-1.5) == -1.5
    assert exports.safe(None) == "" and exports.safe(True) == "yes"
    assert exports.safe("a=b") == "a=b" and exports.safe("-x") == "'-x"


def test_csv_is_utf8(reviewer, app):
    rec = make_user("r3@example.com", role="recruiter")
    take("basics", invitation=invite("basics", "Zoë Ångström 李", "zoe@example.com", rec))
    raw = reviewer.get("/dashboard/export/attempts.csv").get_data()
    assert "Zoë Ångström 李".encode() in raw
    assert read_csv(reviewer.get("/dashboard/export/attempts.csv"))[0]["candidate_name"] == (
        "Zoë Ångström 李"
    )


@pytest.mark.parametrize("path", ["attempts.csv", "answers.csv"])
def test_exports_are_streamed_in_chunks(reviewer, app, monkeypatch, path):
    for _ in range(12):
        take("basics", {"t-single": "right"})
    monkeypatch.setattr(exports, "CHUNK", 5)
    seen = []

    def record(sender, response, **extra):
        seen.append(response)

    with request_finished.connected_to(record, app):
        r = reviewer.get(f"/dashboard/export/{path}", buffered=False)
        chunks = [c for c in r.response if c]
        r.close()
    assert seen[-1].is_streamed
    assert len(chunks) == 3  # rows 1-5, 6-10, 11-12 (the header rides with the first)
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 13


def test_download_links_carry_the_filters_and_skip_boost(reviewer, people):
    html = table(reviewer, "?quiz=timed&min=10")
    link = re.search(r'<a href="(/dashboard/export/attempts.csv[^"]*)" hx-boost="false"', html)
    assert unescape(link.group(1)) == "/dashboard/export/attempts.csv?quiz=timed&min=10"
    assert 'href="/dashboard/export/answers.csv?quiz=timed&amp;min=10" hx-boost="false"' in html


def test_exports_ignore_bad_filters(reviewer, people):
    assert len(read_csv(reviewer.get("/dashboard/export/attempts.csv?min=x&sort=evil"))) == 5


# ---------- in a real browser ----------

SEED_SCRIPT = """
from quiz import attempts, create_app
from quiz.db import database
from quiz.invitations import service
from quiz.models import Quiz, Question, User

app = create_app()
with app.app_context(), database.connection_context():
    rec = User.get(User.email == "rev@example.com")
    quiz = Quiz.get(Quiz.slug == "basics")
    first = Question.get(Question.slug == "t-single", Question.current == True)
    for n, name in enumerate(["Ada Lovelace", "Bob Babbage", "Zoë Ångström"]):
        inv, _ = service.create(quiz, name, f"p{n}@example.com", rec)
        attempt = service.start(inv, "key", name)
        if n != 1:
            attempts.save_answer(attempt, first, {"choice": first.choices[1].id}, False)
        attempts.finish(attempt)
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from browser import LiveServer, require_chromium

    require_chromium()
    server = LiveServer(tmp_path_factory.mktemp("dash") / "instance", TEST_BANK)
    try:
        server.manage("create-user", "rev@example.com", "--role", "reviewer", "--password", PW)
        env = {**os.environ, "QUIZ_INSTANCE_PATH": str(server.instance), "QUIZ_BANK_DIR": ""}
        subprocess.run(
            [sys.executable, "-c", SEED_SCRIPT],
            cwd=server.instance.parent.parent,
            env=env,
            check=True,
            timeout=60,
        )
        yield server
    finally:
        server.stop()


PW = "a long test password"


def sign_in(browser, live, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    page.goto(live.url + "/login?next=/dashboard/")
    page.get_by_label("E-mail").fill("rev@example.com")
    page.get_by_label("Password").fill(PW)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")
    return context, page


def row_names(page) -> list[str]:
    return [n.split("\n")[0] for n in page.locator("#results tbody th").all_inner_texts()]


@pytest.mark.browser
def test_live_filtering_pushes_the_url_and_reloads_the_same_view(live, browser):
    from browser import Watch, audit
    from playwright.sync_api import expect

    context, page = sign_in(browser, live)
    watch = Watch(page)
    assert row_names(page) == ["Zoë Ångström", "Bob Babbage", "Ada Lovelace"]
    page.get_by_label("Name or e-mail").press_sequentially("zo", delay=50)
    page.wait_for_url(re.compile(r"[?&]q=zo(&|$)"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert row_names(page) == ["Zoë Ångström"]
    assert page.get_by_label("Name or e-mail").input_value() == "zo"  # the form was not replaced
    page.get_by_label("Name or e-mail").fill("")
    expect(page.locator("#results tbody tr")).to_have_count(3)
    page.get_by_role("link", name="Score").click()
    page.wait_for_url(re.compile(r"sort=score"))
    expect(page.locator("#results th[aria-sort]")).to_have_text(re.compile("Score"))
    assert row_names(page) == ["Bob Babbage", "Ada Lovelace", "Zoë Ångström"]
    page.get_by_label("Level").select_option("junior")
    page.wait_for_url(re.compile(r"level=junior.*sort=score|sort=score.*level=junior"))
    url = page.url
    shown = row_names(page)
    page.reload()
    assert page.url == url and row_names(page) == shown
    assert page.get_by_label("Level").input_value() == "junior"
    page.go_back()
    page.wait_for_url(lambda u: "level=junior" not in u)
    assert audit(page) == []
    assert watch.problems == []
    context.close()


@pytest.mark.browser
def test_filters_work_without_javascript(live, browser):
    from browser import Watch

    context, page = sign_in(browser, live, java_script_enabled=False)
    watch = Watch(page)
    page.get_by_label("Name or e-mail").fill("bob")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=bob"))
    assert row_names(page) == ["Bob Babbage"]
    page.get_by_role("link", name="Percent").click()
    assert "sort=percent" in page.url and "q=bob" in page.url
    page.get_by_role("link", name="Bob Babbage").click()
    assert "Candidate's answer" in page.content() and "Timeline" in page.content()
    assert watch.problems == []
    context.close()
