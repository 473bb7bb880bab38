"""Bulk invitations from CSV: checked first, line-numbered errors, all or nothing."""

import io
import re

import pytest
from test_auth import login, make_user, token

from quiz.invitations import csvfile
from quiz.models import Invitation

SLUGS = {"basics", "timed"}


def test_parse_good_file_with_bom_and_quiz_column():
    data = "\ufeffName,Email,Quiz\nAda,ADA@example.com,timed\n\nAlan,alan@example.com,\n".encode()
    rows, errors = csvfile.parse(data, SLUGS, "basics")
    assert errors == []
    assert [(r.line, r.name, r.email, r.quiz) for r in rows] == [
        (2, "Ada", "ada@example.com", "timed"),
        (4, "Alan", "alan@example.com", "basics"),
    ]


@pytest.mark.parametrize(
    "text, default, message",
    [
        ("email\nx@example.com\n", "basics", "Line 1: the first line must name the columns"),
        ("name,email\n,a@example.com\n", "basics", "Line 2: a name is required"),
        ("name,email\nA,not-an-email\n", "basics", "Line 2: 'not-an-email' is not an e-mail"),
        (
            "name,email\nA,a@example.com\nB,A@example.com\n",
            "basics",
            "Line 3: a@example.com already appears on line 2",
        ),
        ("name,email,quiz\nA,a@example.com,nope\n", "basics", "Line 2: there is no quiz 'nope'"),
        ("name,email\nA,a@example.com\n", None, "Line 2: no quiz"),
        ("name,email\n", "basics", "no candidates"),
    ],
)
def test_parse_reports_problems_by_line(text, default, message):
    rows, errors = csvfile.parse(text.encode(), SLUGS, default)
    assert any(message in e for e in errors), errors


def test_parse_refuses_non_utf8_and_too_many_rows(monkeypatch):
    assert (
        "not UTF-8"
        in csvfile.parse("name,email\nJosé,j@example.com\n".encode("latin-1"), SLUGS, "basics")[1][
            0
        ]
    )
    monkeypatch.setattr(csvfile, "MAX_ROWS", 2)
    text = "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(3))
    assert "more than 2 candidates" in csvfile.parse(text.encode(), SLUGS, "basics")[1][-1]


@pytest.fixture
def recruiter(app):
    client = app.test_client()
    make_user("rec@example.com", role="recruiter")
    login(client, "rec@example.com")
    return client


def upload(client, text, quiz="basics", days="7"):
    data = {
        "csrf_token": token(client, "/invitations/bulk"),
        "quiz": quiz,
        "days": days,
        "file": (io.BytesIO(text.encode()), "candidates.csv"),
    }
    return client.post("/invitations/bulk", data=data, content_type="multipart/form-data")


def test_upload_creates_all_and_shows_links_once(recruiter):
    r = upload(recruiter, "name,email\nAda,ada@example.com\nAlan,alan@example.com\n")
    assert r.status_code == 303
    html = recruiter.get(r.headers["Location"]).get_data(as_text=True)
    links = re.findall(r"http://localhost/i/[A-Za-z0-9_-]{43}", html)
    assert len(links) == 2 and "2 invitations created" in html
    assert Invitation.select().count() == 2
    assert recruiter.get(links[0]).status_code == 200
    assert "already shown" in recruiter.get(r.headers["Location"]).get_data(as_text=True)


def test_one_bad_line_creates_nothing(recruiter):
    text = "name,email\nAda,ada@example.com\nBad,nope\nAlan,alan@example.com\n"
    r = upload(recruiter, text)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "Nobody was invited" in html and "Line 3:" in html
    assert Invitation.select().count() == 0


def test_upload_without_file_or_with_bad_days(recruiter):
    data = {"csrf_token": token(recruiter, "/invitations/bulk"), "quiz": "basics", "days": "7"}
    r = recruiter.post("/invitations/bulk", data=data)
    assert r.status_code == 400 and "Choose a CSV file" in r.get_data(as_text=True)
    assert upload(recruiter, "name,email\nA,a@example.com\n", days="365").status_code == 400
    assert Invitation.select().count() == 0


def test_reviewers_cannot_upload(app):
    client = app.test_client()
    make_user("rev@example.com", role="reviewer")
    login(client, "rev@example.com")
    assert client.get("/invitations/bulk").status_code == 403
