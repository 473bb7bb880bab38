"""Invitations: links shown once, status lifecycle, access, the candidate's link and deadline."""

import re
from datetime import timedelta
from html import unescape

import pytest
from conftest import Candidate, choice_id
from test_auth import login, make_user, token

from quiz import clock
from quiz.invitations import service
from quiz.models import Attempt, Invitation, Quiz
from quiz.security import token_hash


def recruiter(app, email="rec@example.com", role="recruiter"):
    client = app.test_client()
    make_user(email, role=role)
    login(client, email)
    return client


def create(client, **fields):
    data = {
        "csrf_token": token(client, "/invitations/new"),
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "quiz": "timed",
        "days": "7",
        "time_limit": "",
    }
    data.update(fields)
    return client.post("/invitations", data=data)


def create_link(client, **fields) -> str:
    r = create(client, **fields)
    assert r.status_code == 303, r.get_data(as_text=True)
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    return re.search(r'value="(http://localhost/i/[^"]+)"', html).group(1)


def statuses(client) -> list[str]:
    html = client.get("/invitations").get_data(as_text=True)
    return re.findall(r'class="tag status-([a-z]+)"', html)


def test_link_is_shown_once_and_only_its_hash_is_stored(app):
    client = recruiter(app)
    r = create(client)
    page = r.headers["Location"]
    first = client.get(page).get_data(as_text=True)
    link = re.search(r'value="(http://localhost/i/([^"]+))"', first)
    secret = link.group(2)
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    invitation = Invitation.get()
    assert invitation.token_hash == token_hash(secret) and secret not in invitation.token_hash
    assert 'data-copy="invite-link"' in first and "shown only once" in first
    again = client.get(page).get_data(as_text=True)
    assert secret not in again and "already shown" in again
    assert Invitation.select().where(Invitation.token_hash.contains(secret)).count() == 0


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "candidate's name"),
        ("email", "nope", "e-mail address"),
        ("quiz", "unknown", "Choose a quiz"),
        ("days", "0", "from 1 to 90"),
        ("days", "abc", "from 1 to 90"),
        ("time_limit", "-5", "minutes from 1 to 600"),
    ],
)
def test_invalid_invitation_form(app, field, value, message):
    client = recruiter(app)
    r = create(client, **{field: value})
    assert r.status_code == 400 and message in unescape(r.get_data(as_text=True))
    assert Invitation.select().count() == 0


def test_private_quiz_can_be_invited(app):
    client = recruiter(app)
    link = create_link(client, quiz="private")
    assert Candidate(app.test_client()).client.get(link).status_code == 200


def test_status_lifecycle_and_the_candidate_journey(app, monkeypatch):
    client = recruiter(app)
    link = create_link(client, result="score")
    assert statuses(client) == ["invited"]
    candidate = Candidate(app.test_client())
    landing = candidate.client.get(link).get_data(as_text=True)
    assert "Hello Grace Hopper" in landing and "Your data" in landing and "5 minutes" in landing
    assert statuses(client) == ["opened"]
    start_url = link.replace("http://localhost", "") + "/start"
    t = re.search(r'name="csrf_token" value="([^"]+)"', landing).group(1)
    # consent is required
    r = candidate.client.post(start_url, data={"csrf_token": t, "name": "Grace Hopper"})
    assert r.status_code == 400 and "read how your answers are used" in r.get_data(as_text=True)
    r = candidate.client.post(
        start_url, data={"csrf_token": t, "name": "Grace B. Hopper", "consent": "1"}
    )
    assert r.status_code == 303 and "?q=1" in r.headers["Location"]
    attempt = Attempt.get()
    assert attempt.candidate_name == "Grace B. Hopper"
    assert attempt.candidate_email == "grace@example.com"
    assert attempt.deadline - attempt.started_at == timedelta(minutes=5)
    assert statuses(client) == ["started"]
    candidate.token = t
    pid = attempt.public_id
    assert (
        candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request")).status_code
        == 303
    )
    candidate.finish(pid)
    assert statuses(client) == ["completed"]
    result = candidate.client.get(f"/attempts/{pid}/result").get_data(as_text=True)
    assert "1 / 2 points" in result  # "score and level" was chosen


def test_score_hidden_unless_allowed(app):
    client = recruiter(app)
    link = create_link(client)
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    candidate.finish(pid)
    html = candidate.client.get(f"/attempts/{pid}/result").get_data(as_text=True)
    assert "Thank you" in html and "points" not in html


def start(candidate, link) -> str:
    html = candidate.client.get(link).get_data(as_text=True)
    candidate.token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = candidate.client.post(
        link.replace("http://localhost", "") + "/start",
        data={"csrf_token": candidate.token, "name": "G", "consent": "1"},
    )
    assert r.status_code == 303
    return re.search(r"/attempts/([^?]+)", r.headers["Location"]).group(1)


def test_one_attempt_per_invitation_resumed_from_any_browser(app):
    client = recruiter(app)
    link = create_link(client)
    first = Candidate(app.test_client())
    pid = start(first, link)
    first.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    other = Candidate(app.test_client())  # another browser, same link
    html = other.client.get(link).get_data(as_text=True)
    assert "Continue the quiz" in html
    assert start(other, link) == pid
    assert Attempt.select().count() == 1
    page = other.client.get(f"/attempts/{pid}?q=1").get_data(as_text=True)
    assert "checked" in page  # the answer given in the first browser
    stranger = Candidate(app.test_client())
    assert stranger.client.get(f"/attempts/{pid}?q=1").status_code == 404


def test_answers_one_second_before_and_after_the_deadline(app, monkeypatch):
    client = recruiter(app)
    link = create_link(client)
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    attempt = Attempt.get(Attempt.public_id == pid)
    monkeypatch.setattr(clock, "now", lambda: attempt.deadline - timedelta(seconds=1))
    ok = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert ok.status_code == 303
    monkeypatch.setattr(clock, "now", lambda: attempt.deadline + timedelta(seconds=1))
    late = candidate.answer(pid, 2, "t-text", text="SECRET_KEY")
    assert late.status_code == 409 and "Time is up" in late.get_data(as_text=True)
    attempt = Attempt.get_by_id(attempt.id)
    assert attempt.status == "expired" and attempt.finished_at == attempt.deadline
    assert attempt.score == 1


def test_attempt_closes_at_its_deadline_without_the_candidate(app, monkeypatch, runner):
    client = recruiter(app)
    link = create_link(client)
    pid = start(Candidate(app.test_client()), link)
    attempt = Attempt.get(Attempt.public_id == pid)
    monkeypatch.setattr(clock, "now", lambda: attempt.deadline + timedelta(hours=1))
    assert "Closed 1 attempts" in runner.invoke(args=["close-expired"]).output
    closed = Attempt.get_by_id(attempt.id)
    assert closed.status == "expired" and closed.finished_at == attempt.deadline
    assert "Closed 0 attempts" in runner.invoke(args=["close-expired"]).output


def test_reading_the_list_closes_due_attempts(app, monkeypatch):
    client = recruiter(app)
    link = create_link(client)
    pid = start(Candidate(app.test_client()), link)
    attempt = Attempt.get(Attempt.public_id == pid)
    monkeypatch.setattr(clock, "now", lambda: attempt.deadline + timedelta(seconds=5))
    assert statuses(client) == ["completed"]
    assert Attempt.get_by_id(attempt.id).status == "expired"


def test_expired_and_revoked_links_are_410_with_a_contact(app, monkeypatch):
    client = recruiter(app)
    link = create_link(client)
    invitation = Invitation.get()
    monkeypatch.setattr(clock, "now", lambda: invitation.expires_at + timedelta(seconds=1))
    r = app.test_client().get(link)
    assert r.status_code == 410 and "rec@example.com" in r.get_data(as_text=True)
    assert statuses(client) == ["expired"]
    monkeypatch.undo()
    t = token(client, "/invitations")
    client.post(f"/invitations/{invitation.id}/revoke", data={"csrf_token": t, "confirm": "1"})
    assert app.test_client().get(link).status_code == 410
    assert statuses(client) == ["revoked"]
    assert app.test_client().get("/i/not-a-real-token").status_code == 404


def test_extend_and_new_link(app):
    client = recruiter(app)
    link = create_link(client)
    invitation = Invitation.get()
    t = token(client, "/invitations")
    client.post(f"/invitations/{invitation.id}/extend", data={"csrf_token": t, "days": "3"})
    assert Invitation.get().expires_at == invitation.expires_at + timedelta(days=3)
    r = client.post(f"/invitations/{invitation.id}/reissue", data={"csrf_token": t, "confirm": "1"})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    new_link = re.search(r'value="(http://localhost/i/[^"]+)"', html).group(1)
    assert new_link != link
    assert app.test_client().get(link).status_code == 404  # the old link is dead
    assert app.test_client().get(new_link).status_code == 200


def test_recruiters_see_only_their_own(app):
    mine = recruiter(app, "mine@example.com")
    theirs = recruiter(app, "theirs@example.com")
    create_link(mine, name="Mine Candidate")
    create_link(theirs, name="Their Candidate")
    html = mine.get("/invitations").get_data(as_text=True)
    assert "Mine Candidate" in html and "Their Candidate" not in html
    other_id = Invitation.get(Invitation.candidate_name == "Their Candidate").id
    t = token(mine, "/invitations")
    for action in ("revoke", "extend", "reissue"):
        r = mine.post(f"/invitations/{other_id}/{action}", data={"csrf_token": t, "days": "1"})
        assert r.status_code == 404
    assert mine.get(f"/invitations/{other_id}/link").status_code == 404
    assert not Invitation.get_by_id(other_id).revoked
    admin = recruiter(app, "boss@example.com", role="admin")
    html = admin.get("/invitations").get_data(as_text=True)
    assert "Mine Candidate" in html and "Their Candidate" in html


def test_reviewers_and_anonymous_cannot_invite(app):
    reviewer = recruiter(app, "rev@example.com", role="reviewer")
    assert reviewer.get("/invitations").status_code == 403
    assert reviewer.get("/invitations/new").status_code == 403
    anonymous = app.test_client().get("/invitations")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["Location"]


def test_filters_and_search(app):
    client = recruiter(app)
    create_link(client, name="Ada Lovelace", email="ada@example.com", quiz="basics")
    create_link(client, name="Alan Turing", email="alan@example.com")
    Invitation.update(revoked=True).where(Invitation.candidate_name == "Alan Turing").execute()
    page = lambda q: client.get("/invitations?" + q).get_data(as_text=True)  # noqa: E731
    assert "Ada Lovelace" in page("q=lovelace") and "Alan Turing" not in page("q=lovelace")
    assert "Ada Lovelace" in page("q=ADA@EXAMPLE") and "Alan Turing" not in page("q=ADA@EXAMPLE")
    assert "Alan Turing" in page("status=revoked") and "Ada Lovelace" not in page("status=revoked")
    assert "Ada Lovelace" in page("quiz=basics") and "Alan Turing" not in page("quiz=basics")
    assert "No invitations match" in page("q=%27%20OR%201%3D1%20--")


def test_cli_invite_prints_a_working_link(app, runner):
    result = runner.invoke(
        args=[
            "invite",
            "--quiz",
            "basics",
            "--email",
            "X@Example.com",
            "--name",
            "X Y",
            "--days",
            "3",
        ]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:5000/i/")
    invitation = service.by_token(link.rsplit("/", 1)[1])
    assert invitation.candidate_email == "x@example.com"
    assert invitation.quiz.slug == "basics"
    bad = runner.invoke(args=["invite", "--quiz", "nope", "--email", "a@b.co", "--name", "A"])
    assert bad.exit_code != 0 and "no quiz" in bad.output
    assert Quiz.select().count() == 4


def test_admin_erases_personal_data_and_answers_stay(app):
    client = recruiter(app, "boss@example.com", role="admin")
    link = create_link(client)
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    invitation = Invitation.get()
    r = client.post(
        f"/invitations/{invitation.id}/erase",
        data={"csrf_token": token(client, "/invitations"), "confirm": "1"},
    )
    assert r.status_code == 303
    invitation, attempt = Invitation.get(), Attempt.get()
    assert invitation.candidate_email == "" and invitation.candidate_name == "(erased)"
    assert attempt.candidate_email == "" and attempt.candidate_name == "(erased)"
    assert attempt.answers.count() == 1  # kept for the statistics
    html = client.get("/invitations").get_data(as_text=True)
    assert "grace@example.com" not in html and "Grace" not in html


def test_recruiters_cannot_erase(app):
    client = recruiter(app)
    create_link(client)
    invitation = Invitation.get()
    r = client.post(
        f"/invitations/{invitation.id}/erase", data={"csrf_token": token(client, "/invitations")}
    )
    assert r.status_code == 403 and Invitation.get().candidate_email == "grace@example.com"


def test_purge_erases_only_data_past_retention(app, runner, monkeypatch):
    client = recruiter(app)
    create_link(client, name="Old One", email="old@example.com")
    create_link(client, name="New One", email="new@example.com")
    Invitation.update(created_at=clock.now() - timedelta(days=400)).where(
        Invitation.candidate_name == "Old One"
    ).execute()
    result = runner.invoke(args=["purge"])
    assert "Erased the personal data of 1 invitations older than 365 days" in result.output
    emails = sorted(i.candidate_email for i in Invitation.select())
    assert emails == ["", "new@example.com"]
    assert "of 0 invitations" in runner.invoke(args=["purge"]).output
    assert "of 1 invitations" in runner.invoke(args=["purge", "--days", "0"]).output


def test_landing_states_retention(app):
    client = recruiter(app)
    link = create_link(client)
    html = app.test_client().get(link).get_data(as_text=True)
    assert "erased" in html and "365 days" in html


@pytest.mark.parametrize("action", ["revoke", "reissue"])
def test_ending_an_invitation_ends_its_attempt(app, action):
    """Revoking or re-issuing: no more answers, saved answers kept and scored, the attempt
    closed with the reason for reviewers, and the browser of the old link shut out."""
    client = recruiter(app)
    link = create_link(client, quiz="basics")
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    r = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert r.status_code == 303
    invitation = Invitation.get()
    t = token(client, "/invitations")
    r = client.post(
        f"/invitations/{invitation.id}/{action}", data={"csrf_token": t, "confirm": "1"}
    )
    assert r.status_code == 303

    attempt = Attempt.get(Attempt.public_id == pid)
    assert attempt.status == "submitted" and attempt.score == 1 and attempt.finished_at
    assert "hiring team" in attempt.ended
    r = candidate.answer(pid, 2, "t-multiple", choices=[choice_id("t-multiple", "g")])
    message = unescape(r.get_data(as_text=True))
    assert r.status_code == 410
    assert ("withdrew" if action == "revoke" else "replaced") in message
    assert "answers you gave were saved" in message
    assert candidate.client.get(f"/attempts/{pid}?q=1").status_code == 410
    assert candidate.client.get(f"/attempts/{pid}/result").status_code == 410
    assert Attempt.get(Attempt.public_id == pid).score == 1  # nothing lost, nothing added

    reviewer = recruiter(app, "rev@example.com", role="reviewer")
    page = unescape(reviewer.get(f"/dashboard/attempts/{pid}").get_data(as_text=True))
    assert "closed early" in page and attempt.ended.split(" (")[0] in page


def test_the_new_link_of_a_reissued_invitation_opens_its_attempt(app):
    client = recruiter(app)
    link = create_link(client, quiz="basics")
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    invitation = Invitation.get()
    t = token(client, "/invitations")
    r = client.post(f"/invitations/{invitation.id}/reissue", data={"csrf_token": t, "confirm": "1"})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    new_link = re.search(r'value="(http://localhost/i/[^"]+)"', html).group(1)
    fresh = Candidate(app.test_client())
    assert fresh.client.get(new_link).status_code == 200
    assert fresh.client.get(f"/attempts/{pid}/result").status_code == 200
    assert candidate.client.get(f"/attempts/{pid}/result").status_code == 410


EXPLANATIONS = ["is a context-local proxy.", "before, view, after, teardown."]


@pytest.mark.parametrize(
    "view, score, topics, key",
    [
        ("none", False, False, False),
        ("score", True, False, False),
        ("topics", True, True, False),
        ("review", True, True, True),
    ],
)
def test_an_invited_candidate_sees_the_key_only_when_the_invitation_says_so(
    app, view, score, topics, key
):
    """No right answer, accepted answer or explanation reaches an invited candidate unless
    the invitation chose the full review; every page of the attempt is read."""
    client = recruiter(app)
    link = create_link(client, quiz="basics", result=view)
    candidate = Candidate(app.test_client())
    pid = start(candidate, link)
    pages = [candidate.client.get(f"/attempts/{pid}?q={n}") for n in range(1, 7)]
    pages.append(candidate.answer(pid, 6, "t-text", text="nope"))
    pages.append(candidate.client.get(f"/attempts/{pid}/review"))
    candidate.finish(pid)
    pages += [candidate.client.get(f"/attempts/{pid}/result"), candidate.client.get(link)]
    seen = "\n".join(unescape(p.get_data(as_text=True)) for p in pages)
    result = unescape(pages[-2].get_data(as_text=True))
    assert ("points" in result) is score
    assert ("By topic" in result) is topics
    assert ("app.secret_key" in seen) is key  # an accepted answer of the text question
    assert ("Right answer" in seen) is key
    assert all((e in seen) is key for e in EXPLANATIONS)
    if not score:
        assert "Thank you" in result


def test_a_new_invitation_shows_nothing_by_default_and_says_what_review_means(app):
    client = recruiter(app)
    form = client.get("/invitations/new").get_data(as_text=True)
    assert re.search(r'<option value="none" selected>Nothing', form)
    assert "shows every right answer" in form
    create_link(client)
    assert Invitation.get().result_view == "none"
    r = create(client, email="x@example.com", result="everything")
    assert r.status_code == 400 and "Choose what the candidate sees" in r.get_data(as_text=True)


def confirm_form(html: str) -> tuple[str, dict]:
    """The confirmation page's form, as a browser would send it."""
    html = html[html.index('class="card confirm"') :]
    form = re.search(r'<form method="post" action="([^"]+)"(.*?)</form>', html, re.S)
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    return unescape(form.group(1)), {k: unescape(v) for k, v in fields.items()}


@pytest.mark.parametrize(
    "action, role, named",
    [
        ("revoke", "recruiter", "The link stops working for good"),
        ("reissue", "recruiter", "stops working, in every browser"),
        ("erase", "admin", "name and e-mail address"),
    ],
)
def test_irreversible_invitation_actions_ask_first_and_name_the_loss(app, action, role, named):
    client = recruiter(app, role=role)
    create_link(client)
    before = Invitation.get()
    t = token(client, "/invitations")
    page = client.post(f"/invitations/{before.id}/{action}", data={"csrf_token": t})
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and named in html and "cannot be undone" in html
    after = Invitation.get()
    assert (after.revoked, after.token_hash, after.candidate_email) == (
        before.revoked,
        before.token_hash,
        before.candidate_email,
    )  # nothing happened yet
    url, fields = confirm_form(html)
    assert url == f"/invitations/{before.id}/{action}" and fields["confirm"] == "1"
    assert client.post(url, data=fields).status_code == 303
    after = Invitation.get()
    assert (after.revoked, after.token_hash, after.candidate_email) != (
        before.revoked,
        before.token_hash,
        before.candidate_email,
    )


def test_the_list_pages_with_its_filters_and_says_how_many(app):
    """636 invitations once gave one 417 KB page that stopped at 500 with no notice."""
    client = recruiter(app)
    create_link(client, name="Seed", email="seed@example.com")
    seed = Invitation.get()
    rows = [
        {
            **{
                f.name: getattr(seed, f.name)
                for f in Invitation._meta.sorted_fields
                if f.name != "id"
            },
            "token_hash": f"{n:064x}",
            "candidate_name": f"Cand {n:03}",
            "candidate_email": f"c{n}@example.com",
            "created_at": seed.created_at + timedelta(seconds=n),
            "revoked": n % 3 == 0,
        }
        for n in range(1, 131)
    ]
    Invitation.insert_many(
        [{**r, "quiz": seed.quiz_id, "created_by": seed.created_by_id} for r in rows]
    ).execute()
    html = client.get("/invitations").get_data(as_text=True)
    assert "Showing 1–50 of 131 invitations · page 1 of 3" in html
    assert html.count('<th scope="row">') == 50 and "Cand 130" in html
    html = client.get("/invitations?page=3").get_data(as_text=True)
    assert "Showing 101–131 of 131" in html and "Seed" in html
    revoked = client.get("/invitations?status=revoked").get_data(as_text=True)
    assert "Showing 1–43 of 43 invitations" in revoked and "status-invited" not in revoked
    html = client.get("/invitations?status=invited&q=Cand").get_data(as_text=True)
    assert "of 87 invitations · page 1 of 2" in html
    assert unescape(re.search(r'href="([^"]+)" rel="next"', html).group(1)) == (
        "/invitations?page=2&q=Cand&status=invited"
    )
    assert "page 1 of 3" in client.get("/invitations?page=abc").get_data(as_text=True)
    assert "page 3 of 3" in client.get("/invitations?page=99").get_data(as_text=True)
