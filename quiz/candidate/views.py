"""Candidate routes. Every write is committed before the response is built."""

from flask import current_app, redirect, render_template, request, session, url_for

from .. import attempts, layout
from ..db import Prepared
from ..errors import fail
from ..htmx import go, render, wants_fragment
from ..models import Attempt, Quiz
from ..quizzes import listing, shared_page, summarise
from ..responses import InvalidAnswer, parse_response
from . import bp, context, ownership, signals

NAV = ("prev", "next", "review", "stay")
FINISHED = "This attempt is finished: its answers can no longer change."
TIME_UP = "Time is up: answers given before the deadline were saved and scored."


def _threshold() -> float:
    return current_app.config["LEVEL_THRESHOLD"]


def _public_quiz(slug: str) -> Quiz:
    quiz = Quiz.get_or_none(Quiz.slug == slug[:120], Quiz.public == True, Quiz.active == True)  # noqa: E712
    if quiz is None:
        fail(
            404,
            "There is no quiz at this address. Pick one from the catalogue.",
            ("/", "Catalogue"),
        )
    return quiz


# The queries of the catalogue, compiled once (see db.Prepared).
_public_quizzes = Prepared(
    lambda public, active: (
        Quiz.select().where(Quiz.public == public, Quiz.active == active).order_by(Quiz.title)
    )
)
_attempts_of = Prepared(
    lambda key, status: (
        Attempt.select(Attempt, Quiz)
        .join(Quiz)
        .where(Attempt.owner_key == key, Attempt.status == status)
        .order_by(Attempt.started_at)
    )
)


def _ongoing(quiz: Quiz | None = None) -> list[tuple[Attempt, int]]:
    """This browser's attempts in progress, each with the question it was on."""
    key = ownership.owner_key()
    if key is None:
        return []
    found = [a for a in _attempts_of(key, "in_progress") if quiz is None or a.quiz_id == quiz.id]
    found = [attempts.close_if_due(a, _threshold()) for a in found]
    return [(a, ownership.position(a)) for a in found if a.open]


def _catalogue_html() -> str:
    items = [(q, listing(q)) for q in _public_quizzes(True, True)]
    return render_template("candidate/catalogue.html", quizzes=items, ongoing=_ongoing())


@bp.get("/")
def catalogue():
    if not session:  # a first visit: no attempts, no sign-in, no messages, no form token
        return shared_page("catalogue", _catalogue_html)
    return _catalogue_html()


@bp.get("/quizzes/<slug>")
def quiz_page(slug):
    quiz = _public_quiz(slug)
    return render("candidate/quiz.html", quiz=quiz, summary=listing(quiz), ongoing=_ongoing(quiz))


@bp.post("/quizzes/<slug>/start")
def start(slug):
    quiz = _public_quiz(slug)
    if not summarise(quiz).count:
        fail(409, "This quiz has no questions yet. Pick another one.", ("/", "Catalogue"))
    attempt = attempts.start(quiz, ownership.owner_key(create=True))
    ownership.remember(attempt, 1)
    return go(url_for(".question", public_id=attempt.public_id, q=1))


def _open(public_id: str) -> Attempt:
    """The owned attempt, closed first if its deadline has passed."""
    return attempts.close_if_due(ownership.load(public_id), _threshold())


def _position(value: str | None, attempt: Attempt) -> int:
    total = len(attempt.question_ids)
    if value is None:
        return ownership.position(attempt)
    if not value.isdecimal() or len(value) > 9:
        fail(400, f"The question number must be a whole number from 1 to {total}.")
    n = int(value)
    if not 1 <= n <= total:
        fail(404, f"This quiz has questions 1 to {total}; there is no question {n}.")
    return n


@bp.get("/attempts/<public_id>")
def question(public_id):
    attempt = _open(public_id)
    if not attempt.open:
        return redirect(url_for(".result", public_id=public_id), 303)
    n = _position(request.args.get("q"), attempt)
    ownership.remember(attempt, n)
    ctx = context.question_page(attempt, n)
    return render("candidate/question.html", "candidate/_step.html", **ctx)


def _single_field(name: str) -> str:
    values = request.form.getlist(name)
    if len(values) != 1:
        fail(400, f"The form must send exactly one '{name}' field. Reload the page and try again.")
    return values[0]


@bp.post("/attempts/<public_id>/answers")
def answer(public_id):
    attempt = ownership.load(public_id)
    result_link = (url_for(".result", public_id=public_id), "See your result")
    if not attempt.open:
        fail(409, FINISHED, result_link)
    n = _position(_single_field("q"), attempt)
    question_id = _single_field("question")
    if question_id != str(attempt.question_ids[n - 1]):
        fail(400, "This answer does not belong to that question. Reload the page and try again.")
    nav = request.form.get("nav", "next")
    flag = request.form.getlist("flag")
    if nav not in NAV or flag not in ([], ["1"]):
        fail(400, "The form sent an unexpected value. Reload the page and try again.")
    q, keys = attempts.content([int(question_id)])[int(question_id)]
    fields = {name: request.form.getlist(name) for name in request.form}
    try:
        names = layout.names(attempt.public_id, keys)
        limit = current_app.config["MAX_TEXT_ANSWER"]
        response = parse_response(q.kind, keys, fields, limit, names)
    except InvalidAnswer as e:
        fail(400, str(e))
    try:
        shown = signals.shown_at(request.form.get("shown"), attempt, q.id)
        attempts.save_answer(
            attempt, q, response, flagged=bool(flag), shown=shown, choice_keys=keys
        )
    except attempts.AttemptClosed:
        closed = attempts.close_if_due(attempt, _threshold())
        fail(409, TIME_UP if closed.status == "expired" else FINISHED, result_link)

    if nav == "review":
        ownership.remember(attempt, n)
        return go(url_for(".review", public_id=public_id))
    target = {"prev": max(1, n - 1), "next": min(len(attempt.question_ids), n + 1)}.get(nav, n)
    ownership.remember(attempt, target)
    url = url_for(".question", public_id=public_id, q=target)
    if not wants_fragment():
        return redirect(url, 303)
    ctx = context.question_page(attempt, target)
    return render("candidate/_step.html", headers={"HX-Push-Url": url}, **ctx)


@bp.get("/attempts/<public_id>/review")
def review(public_id):
    attempt = _open(public_id)
    if not attempt.open:
        return redirect(url_for(".result", public_id=public_id), 303)
    confirm = request.args.get("confirm") == "1"
    return render("candidate/review.html", confirm=confirm, **context.review_page(attempt))


@bp.post("/attempts/<public_id>/finish")
def finish(public_id):
    attempt = _open(public_id)
    if attempt.open:
        progress = attempts.progress(attempt)
        if progress.answered < progress.total and request.form.get("confirm") != "1":
            return go(url_for(".review", public_id=public_id, confirm=1) + "#finish")
        attempts.finish(attempt, _threshold())
    ownership.remember(attempt, None)
    return go(url_for(".result", public_id=public_id))


@bp.get("/attempts/<public_id>/result")
def result(public_id):
    attempt = _open(public_id)
    if attempt.open:
        return redirect(url_for(".review", public_id=public_id), 303)
    return render("candidate/result.html", **context.result_page(attempt, _threshold()))


@bp.post("/attempts/<public_id>/events")
def event(public_id):
    """An integrity signal from the page (leaving the tab, pasting): stored as a fact."""
    attempt = ownership.load(public_id)
    kind = request.form.get("kind", "")
    if kind not in signals.EVENT_KINDS:
        fail(400, "Unknown event.")
    if not attempt.open:
        fail(409, FINISHED)
    if not signals.record(attempt, kind, request.form.get("detail", "")):
        fail(429, "Too many events for this attempt.")
    return "", 204
