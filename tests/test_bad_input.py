"""Every bad input gets a clear message, the right status, and no partial write."""

import html

import pytest
from conftest import HX, choice_id

from quiz.models import Answer, Attempt


def text(r):
    """The body as a person reads it (entities unescaped)."""
    return html.unescape(r.get_data(as_text=True))


def nothing_stored():
    return Answer.select().count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/quizzes/nope",
        "/attempts/nope",
        "/attempts/nope/review",
        "/attempts/nope/result",
        "/quizzes/private",
        "/no-such-page",
    ],
)
def test_unknown_quiz_or_attempt_is_a_404_page(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert "<html" in text(r) and "Traceback" not in text(r)


def test_404_fragment_for_htmx(client):
    r = client.get("/attempts/nope", headers=HX)
    assert r.status_code == 404
    assert "<html" not in text(r) and "data-error-message" in text(r)


def test_attempt_of_another_browser_is_a_404(candidate, make_candidate):
    pid = candidate.start()
    other = make_candidate()
    other.csrf()  # has its own session and token
    for url in (f"/attempts/{pid}", f"/attempts/{pid}/review", f"/attempts/{pid}/result"):
        r = other.client.get(url)
        assert r.status_code == 404 and "no attempt at this address" in text(r)
    r = other.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert r.status_code == 404 and nothing_stored()
    r = other.finish(pid)
    assert r.status_code == 404
    assert Attempt.get(Attempt.public_id == pid).status == "in_progress"


@pytest.mark.parametrize(
    "slug, n, fields, message",
    [
        ("t-single", 1, {"choice": "999999"}, "not one of this question's choices"),
        ("t-single", 1, {"choice": "abc"}, "not one of this question's choices"),
        ("t-single", 1, {"choice": ["1", "2"]}, "Pick only one answer"),
        ("t-multiple", 2, {"choices": ["999999"]}, "not one of this question's choices"),
        ("t-ordering", 5, {"order-999999": "1"}, "not one of this question's items"),
        ("t-text", 6, {"text": ["a", "b"]}, "Pick only one answer"),
        ("t-text", 6, {"text": "x" * 1_000_000}, "too long"),
    ],
)
def test_invalid_answers_are_400_and_store_nothing(candidate, slug, n, fields, message):
    pid = candidate.start()
    r = candidate.answer(pid, n, slug, **fields)
    assert r.status_code == 400
    assert message in text(r)
    assert nothing_stored()


def test_a_choice_of_another_question_is_refused(candidate):
    pid = candidate.start()
    foreign = choice_id("t-true-false", "True")
    r = candidate.answer(pid, 1, "t-single", choice=str(foreign))
    assert r.status_code == 400 and nothing_stored()


def test_repeated_multiple_choice_and_bad_ordering(candidate):
    pid = candidate.start()
    g = str(choice_id("t-multiple", "g"))
    assert candidate.answer(pid, 2, "t-multiple", choices=[g, g]).status_code == 400
    items = ["before_request", "the view", "after_request", "teardown_request"]
    ids = [choice_id("t-ordering", t) for t in items]
    same_rank = {f"order-{i}": "1" for i in ids}
    r = candidate.answer(pid, 5, "t-ordering", **same_rank)
    assert r.status_code == 400 and "different position from 1 to 4" in text(r)
    partial = {f"order-{ids[0]}": "1"}
    assert candidate.answer(pid, 5, "t-ordering", **partial).status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize(
    "override",
    [
        {"q": None},  # missing position
        {"question": None},  # missing question
        {"q": ["1", "2"]},  # repeated position
        {"q": "abc"},
        {"q": "0"},
        {"q": "2"},  # the question field belongs to question 1
        {"nav": "sideways"},
        {"flag": "yes"},
    ],
)
def test_missing_repeated_or_mismatched_fields_are_refused(candidate, override):
    pid = candidate.start()
    data = {
        "csrf_token": candidate.token,
        "q": "1",
        "question": str(Attempt.get(Attempt.public_id == pid).question_ids[0]),
        "nav": "next",
        "choice": str(choice_id("t-single", "request")),
    }
    for key, value in override.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    r = candidate.client.post(f"/attempts/{pid}/answers", data=data)
    assert r.status_code in (400, 404)
    assert "Traceback" not in text(r) and "data-error-message" in text(r)
    assert nothing_stored()


def test_bad_question_number_in_url(candidate):
    pid = candidate.start()
    assert candidate.client.get(f"/attempts/{pid}?q=abc").status_code == 400
    r = candidate.client.get(f"/attempts/{pid}?q=99")
    assert r.status_code == 404 and "there is no question 99" in text(r)


def test_answering_a_finished_attempt_is_409(candidate):
    pid = candidate.start()
    candidate.finish(pid)
    r = candidate.answer(pid, 1, "t-single", htmx=True, choice=choice_id("t-single", "request"))
    assert r.status_code == 409
    assert "<html" not in text(r) and "can no longer change" in text(r)
    assert f'href="/attempts/{pid}/result"' in text(r)  # where to go instead
    assert nothing_stored()


def test_post_without_csrf_token_is_400(candidate):
    pid = candidate.start()
    data = {"q": "1", "question": "1", "choice": str(choice_id("t-single", "request"))}
    r = candidate.client.post(f"/attempts/{pid}/answers", data=data)
    assert r.status_code == 400 and "form has expired" in text(r)
    r = candidate.client.post("/quizzes/basics/start")
    assert r.status_code == 400
    assert nothing_stored()
    assert Attempt.select().count() == 1


def test_csrf_token_of_another_session_is_refused(candidate, make_candidate):
    pid = candidate.start()
    other = make_candidate()
    foreign_token = other.csrf()
    candidate.token = foreign_token
    r = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert r.status_code == 400 and nothing_stored()


def test_htmx_csrf_header_is_accepted(candidate):
    pid = candidate.start()
    token = candidate.token
    data = {"q": "1", "question": str(Attempt.get().question_ids[0]), "nav": "next"}
    r = candidate.client.post(
        f"/attempts/{pid}/answers", data=data, headers={**HX, "X-CSRFToken": token}
    )
    assert r.status_code == 200


def test_csrf_token_does_not_expire_after_an_hour(candidate, app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_wrong_method_is_405(client):
    r = client.get("/quizzes/basics/start")
    assert r.status_code == 405 and "<html" in text(r)


def test_start_unknown_quiz_is_404(candidate):
    candidate.csrf()
    r = candidate.client.post("/quizzes/nope/start", data={"csrf_token": candidate.token})
    assert r.status_code == 404
    assert Attempt.select().count() == 0


def test_oversized_request_is_413_not_500(candidate):
    pid = candidate.start()
    r = candidate.answer(pid, 6, "t-text", text="x" * (3 * 1024 * 1024))
    assert r.status_code == 413 and "too large" in text(r)
    assert nothing_stored()
