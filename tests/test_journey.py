"""The candidate journey through the test client: plain forms (303s) and htmx fragments."""

import re

from conftest import HX, choice_id, question_id

from quiz.models import Answer, Attempt


def text(r):
    return r.get_data(as_text=True)


def test_catalogue_lists_public_quizzes_with_facts(client):
    html = text(client.get("/"))
    assert "Basics" in html and "Timed basics" in html and "Drawn" in html
    assert "Private" not in html
    # topic, level, number of questions, estimated time
    basics = html[html.index('href="/quizzes/basics"') :]
    assert "Basics" in basics and "junior to senior" in basics
    assert re.search(r"<dt>Questions</dt><dd>6</dd>", basics)
    assert "5 min limit" in html  # the timed quiz
    assert re.search(r"<dt>Questions</dt><dd>3</dd>", html)  # drawn: 1 per topic x level


def test_catalogue_visit_creates_no_session(client):
    r = client.get("/")
    assert "Set-Cookie" not in r.headers


def test_start_freezes_the_question_order(candidate):
    pid = candidate.start("basics")
    attempt = Attempt.get(Attempt.public_id == pid)
    slugs = ["t-single", "t-multiple", "t-true-false", "t-code-output", "t-ordering", "t-text"]
    assert attempt.question_ids == [question_id(s) for s in slugs]
    assert attempt.status == "in_progress" and attempt.deadline is None


def test_shuffled_quiz_draws_per_topic_and_level(candidate):
    orders = set()
    for _ in range(12):
        attempt = Attempt.get(Attempt.public_id == candidate.start("draw"))
        assert len(attempt.question_ids) == 3
        orders.add(tuple(attempt.question_ids))
    assert len(orders) > 1  # drawn and shuffled per attempt


def test_question_page_shows_progress_and_navigation(candidate):
    pid = candidate.start()
    r = candidate.client.get(f"/attempts/{pid}?q=1")
    html = text(r)
    assert r.status_code == 200 and "<html" in html
    assert "Question 1 of 6" in html
    assert 'value="next"' in html and 'value="prev"' not in html
    assert f'action="/attempts/{pid}/answers"' in html  # works without JavaScript
    html = text(candidate.client.get(f"/attempts/{pid}?q=6"))
    assert "Question 6 of 6" in html and 'value="review"' in html and 'value="prev"' in html
    assert r.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in r.headers["Vary"]


def test_plain_post_saves_and_redirects_303(candidate):
    pid = candidate.start()
    r = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert r.status_code == 303
    assert r.headers["Location"] == f"/attempts/{pid}?q=2"
    answer = Answer.get()
    assert answer.response == {"choice": choice_id("t-single", "request")}
    assert answer.correct and answer.score == 1
    r = candidate.answer(pid, 2, "t-multiple", nav="prev", choices=[choice_id("t-multiple", "g")])
    assert r.headers["Location"] == f"/attempts/{pid}?q=1"
    assert Answer.get(Answer.question == question_id("t-multiple")).score == 1  # half of 2


def test_htmx_post_returns_fragment_with_oob_progress_and_pushes_url(candidate):
    pid = candidate.start()
    r = candidate.answer(pid, 1, "t-single", htmx=True, choice=choice_id("t-single", "g"))
    html = text(r)
    assert r.status_code == 200
    assert "<html" not in html and "<body" not in html
    assert '<section id="question"' in html and "Question 2 of 6" in html
    assert re.search(r'<div id="progress"[^>]*hx-swap-oob="true"', html)
    assert "1 answered" in html
    assert r.headers["HX-Push-Url"] == f"/attempts/{pid}?q=2"
    assert "HX-Request" in r.headers["Vary"]


def test_pushed_url_reload_and_history_restore_give_full_pages(candidate):
    pid = candidate.start()
    candidate.answer(pid, 1, "t-single", htmx=True)
    reload = text(candidate.client.get(f"/attempts/{pid}?q=2"))
    restore = text(
        candidate.client.get(
            f"/attempts/{pid}?q=2", headers={**HX, "HX-History-Restore-Request": "true"}
        )
    )
    boosted = text(
        candidate.client.get(f"/attempts/{pid}?q=2", headers={**HX, "HX-Boosted": "true"})
    )
    for html in (reload, restore, boosted):
        assert "<html" in html and "Question 2 of 6" in html
    fragment = text(candidate.client.get(f"/attempts/{pid}?q=2", headers=HX))
    assert "<html" not in fragment and "Question 2 of 6" in fragment


def test_saved_answers_are_shown_again(candidate):
    pid = candidate.start()
    picked = choice_id("t-multiple", "request")
    candidate.answer(pid, 2, "t-multiple", choices=[picked], flag="1")
    html = text(candidate.client.get(f"/attempts/{pid}?q=2"))
    assert re.search(rf'value="{candidate.choice_token(pid, picked)}" checked', html)
    assert re.search(r'name="flag" value="1" checked', html)
    candidate.answer(pid, 6, "t-text", nav="stay", text="secret_key")
    assert 'value="secret_key"' in text(candidate.client.get(f"/attempts/{pid}?q=6"))


def test_ordering_is_never_shown_in_the_right_order(candidate):
    pid = candidate.start()
    html = text(candidate.client.get(f"/attempts/{pid}?q=5"))
    shown = re.findall(r'<label for="order-[^"]+">([^<]+)</label>', html)
    assert sorted(shown) == sorted(
        ["before_request", "the view", "after_request", "teardown_request"]
    )
    assert shown != ["before_request", "the view", "after_request", "teardown_request"]


def answer_everything(candidate, pid):
    c = lambda slug, t: choice_id(slug, t)  # noqa: E731
    candidate.answer(pid, 1, "t-single", choice=c("t-single", "request"))
    candidate.answer(
        pid, 2, "t-multiple", choices=[c("t-multiple", "request"), c("t-multiple", "g")]
    )
    candidate.answer(pid, 3, "t-true-false", choice=c("t-true-false", "False"))  # wrong
    candidate.answer(pid, 4, "t-code-output", choice=c("t-code-output", "2"))
    order = ["before_request", "the view", "teardown_request", "after_request"]  # 5 of 6 pairs
    ranks = {f"order-{c('t-ordering', t)}": str(i) for i, t in enumerate(order, 1)}
    candidate.answer(pid, 5, "t-ordering", **ranks)
    return candidate.answer(pid, 6, "t-text", nav="review", text="  `secret_key` ")


def test_review_flags_and_finish_with_confirmation(candidate):
    pid = candidate.start()
    candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "g"), flag="1")
    r = candidate.answer(pid, 2, "t-multiple", nav="review")
    assert r.status_code == 303 and r.headers["Location"] == f"/attempts/{pid}/review"
    html = text(candidate.client.get(f"/attempts/{pid}/review"))
    assert "1 of 6 answered" in html and "1 flagged" in html
    assert html.count("Not answered") == 5 and "Flagged" in html
    assert f'href="/attempts/{pid}?q=4"' in html
    # unanswered questions: finishing asks for confirmation first
    r = candidate.finish(pid, confirm=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/review?confirm=1#finish")
    assert Attempt.get(Attempt.public_id == pid).status == "in_progress"
    html = text(candidate.client.get(f"/attempts/{pid}/review?confirm=1"))
    assert "5 questions are not answered" in html and "Yes, finish now" in html
    r = candidate.finish(pid, confirm=True)
    assert r.status_code == 303 and r.headers["Location"] == f"/attempts/{pid}/result"
    assert Attempt.get(Attempt.public_id == pid).status == "submitted"


def test_htmx_review_and_finish_use_hx_redirect(candidate):
    pid = candidate.start()
    r = candidate.answer(pid, 1, "t-single", nav="review", htmx=True)
    assert r.headers["HX-Redirect"] == f"/attempts/{pid}/review"
    r = candidate.client.post(
        f"/attempts/{pid}/finish", data={"csrf_token": candidate.token, "confirm": "1"}, headers=HX
    )
    assert r.headers["HX-Redirect"] == f"/attempts/{pid}/result"


def test_result_shows_score_pass_topics_level_and_explanations(candidate):
    pid = candidate.start()
    answer_everything(candidate, pid)
    r = candidate.finish(pid, confirm=False)  # all answered: no confirmation needed
    assert r.headers["Location"] == f"/attempts/{pid}/result"
    attempt = Attempt.get(Attempt.public_id == pid)
    # 1 + 2 + 0 + 1 + 3*5/6 + 1 = 7.5 of 1+2+1+1+3+1 = 9
    assert attempt.score == 7.5 and attempt.max_score == 9
    assert attempt.level == "junior"  # mid: 1 of 2 points (50%) blocks mid and senior
    html = text(candidate.client.get(f"/attempts/{pid}/result"))
    assert "7.5 / 9 points" in html and "(83%)" in html
    assert "Passed" in html and "pass mark 50%" in html
    assert "Basics" in html and "Estimated level" in html and "at least 60%" in html
    assert "Partly right" in html and "Wrong" in html
    assert "before, view, after, teardown." in html  # an explanation
    assert "<strong>current request</strong>" in html  # Markdown rendered
    assert "app.secret_key" in html  # accepted answers shown


def test_finished_attempt_cannot_change(candidate):
    pid = candidate.start()
    candidate.finish(pid)
    r = candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    assert r.status_code == 409 and "can no longer change" in text(r)
    assert Answer.select().count() == 0
    r = candidate.client.get(f"/attempts/{pid}?q=1")
    assert r.status_code == 303 and r.headers["Location"] == f"/attempts/{pid}/result"
    again = candidate.finish(pid)  # a double submit is harmless
    assert again.status_code == 303 and again.headers["Location"].endswith("/result")


def test_resume_offers_continue_at_the_same_question(candidate, app):
    pid = candidate.start()
    candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    candidate.answer(pid, 2, "t-multiple", choices=[choice_id("t-multiple", "g")])
    candidate.client.get(f"/attempts/{pid}?q=3")
    # "closing the tab": a new visit to / with the same cookie jar
    html = text(candidate.client.get("/"))
    assert "In progress" in html and "Continue" in html
    assert f'href="/attempts/{pid}?q=3"' in html
    assert "question 3 of 6" in html
    page = text(candidate.client.get(f"/attempts/{pid}"))  # no ?q: where we were
    assert "Question 3 of 6" in page and "2 answered" in page
    assert "Continue your attempt (question 3)" in text(candidate.client.get("/quizzes/basics"))


def test_result_not_available_while_in_progress(candidate):
    pid = candidate.start()
    r = candidate.client.get(f"/attempts/{pid}/result")
    assert r.status_code == 303 and r.headers["Location"] == f"/attempts/{pid}/review"


def test_timed_quiz_shows_time_left_and_closes_at_deadline(candidate, monkeypatch):
    from datetime import timedelta

    from quiz import clock

    pid = candidate.start("timed")
    attempt = Attempt.get(Attempt.public_id == pid)
    assert attempt.deadline - attempt.started_at == timedelta(minutes=5)
    assert "Time left:" in text(candidate.client.get(f"/attempts/{pid}?q=1"))
    candidate.answer(pid, 1, "t-single", choice=choice_id("t-single", "request"))
    later = attempt.deadline + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    r = candidate.answer(pid, 2, "t-text", text="SECRET_KEY")
    assert r.status_code == 409 and "Time is up" in text(r)
    attempt = Attempt.get(Attempt.public_id == pid)
    assert attempt.status == "expired" and attempt.finished_at == attempt.deadline
    assert attempt.score == 1  # the answer before the deadline counts, the late one does not
    assert "The time limit ended this attempt" in text(
        candidate.client.get(f"/attempts/{pid}/result")
    )
