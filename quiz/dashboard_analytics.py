"""Reviewers' quiz statistics: per quiz, Moodle's item analysis and the score distribution.

A blueprint of its own under /dashboard/quizzes (reviewers and admins; recruiters get 403).
The figures come from analytics_store (counts kept up to date as attempts complete)."""

from collections import defaultdict

from flask import Blueprint, flash, request, url_for
from peewee import SQL, fn

from . import analytics, analytics_store
from .auth.users import roles_required
from .errors import fail
from .htmx import go, render
from .models import Attempt, Quiz

bp = Blueprint("analytics", __name__, url_prefix="/dashboard/quizzes")

SCOPES = {"first": "First attempts", "all": "All attempts"}


def _quiz(slug: str) -> Quiz:
    quiz = Quiz.get_or_none(Quiz.slug == slug[:120])
    if quiz is None:
        fail(404, "There is no quiz at this address.")
    return quiz


@bp.get("")
@roles_required("reviewer")
def index():
    # Grouped by (quiz, status) with no filter: one pass over the attempt_quiz_status index
    # (filtering on status first took the status index and looked up every attempt).
    completed: dict[int, int] = defaultdict(int)
    per_status = Attempt.select(Attempt.quiz, Attempt.status, fn.COUNT(SQL("*")))
    for quiz_id, status, n in per_status.group_by(Attempt.quiz, Attempt.status).tuples():
        if status in analytics_store.COMPLETED:
            completed[quiz_id] += n
    quizzes = [(q, completed.get(q.id, 0)) for q in Quiz.select().order_by(Quiz.title)]
    return render("analytics/index.html", quizzes=quizzes)


@bp.get("/<slug>")
@roles_required("reviewer")
def quiz(slug):
    quiz = _quiz(slug)
    scope = "all" if request.args.get("attempts") == "all" else "first"
    report = analytics_store.report(quiz, first_only=scope == "first")
    return render(
        "analytics/quiz.html",
        "analytics/_report.html",
        quiz=quiz,
        scope=scope,
        scopes=SCOPES,
        report=report,
        chart=analytics.chart(report.histogram),
        limits=analytics,
    )


@bp.post("/<slug>/recalculate")
@roles_required("reviewer")
def recalculate(slug):
    quiz = _quiz(slug)
    analytics_store.rebuild(quiz)
    flash(f"Recalculated the statistics of {quiz.title} from every attempt.")
    return go(url_for(".quiz", slug=quiz.slug, attempts=request.form.get("attempts") or None))
