"""Reviewer pages: the attempts table, one attempt, and a side-by-side comparison."""

from flask import current_app, request

from .. import attempts
from ..auth.users import current_user, roles_required
from ..errors import fail
from ..htmx import render
from ..models import Attempt, Quiz, User
from . import bp, filters, query, review

STAFF = ("reviewer", "recruiter")  # and admins (roles_required lets them in)
MAX_COMPARE = 10


def scope_of(user: User) -> int | None:
    """None (every attempt) for reviewers and admins; recruiters see their invitations'."""
    return user.id if user.role == "recruiter" else None


def quizzes() -> list[Quiz]:
    return list(Quiz.select().order_by(Quiz.title))


def current_filters(all_quizzes: list[Quiz]) -> filters.Filters:
    """The table's filters from the query string (bad values dropped with a note)."""
    return filters.parse(request.args, {q.slug for q in all_quizzes})


@bp.get("/")
@roles_required(*STAFF)
def index():
    all_quizzes = quizzes()
    f = current_filters(all_quizzes)
    result = query.page(f, scope_of(current_user()))
    return render(
        "dashboard/index.html",
        "dashboard/_results.html",
        f=f,
        table=result,
        quizzes=all_quizzes,
        columns=COLUMNS,
    )


# (sort key, heading) in table order.
COLUMNS = (
    ("candidate", "Candidate"),
    ("quiz", "Quiz"),
    ("status", "Status"),
    ("started", "Started (UTC)"),
    ("finished", "Finished (UTC)"),
    ("score", "Score"),
    ("percent", "Percent"),
    ("level", "Level"),
    ("events", "Integrity events"),
)


def visible_attempt(public_id: str) -> Attempt:
    """The attempt if this user may see it; 404 otherwise (also for others' attempts)."""
    found = (
        query.visible(scope_of(current_user())).where(Attempt.public_id == public_id[:43]).first()
    )
    if found is None:
        fail(404, "There is no attempt at this address that you can see.")
    return found


@bp.get("/attempts/<public_id>")
@roles_required(*STAFF)
def attempt(public_id):
    threshold = current_app.config["LEVEL_THRESHOLD"]
    # An abandoned timed attempt is closed (and scored) once its deadline has passed.
    found = attempts.close_if_due(visible_attempt(public_id), threshold)
    ctx = review.attempt_page(found, threshold)
    return render("dashboard/attempt.html", duration=review.duration, **ctx)


@bp.get("/compare")
@roles_required(*STAFF)
def compare():
    ids = list(dict.fromkeys(i for i in request.args.getlist("ids") if i))
    if len(ids) < 2:
        fail(400, "Pick two or more attempts of the same quiz to compare.")
    if len(ids) > MAX_COMPARE:
        fail(400, f"Compare at most {MAX_COMPARE} attempts at a time.")
    found = [visible_attempt(i) for i in ids]
    titles = sorted({a.quiz.title for a in found})
    if len(titles) > 1:
        fail(
            400,
            "These attempts are of different quizzes ("
            + ", ".join(titles)
            + "): only attempts of the same quiz can be compared.",
        )
    return render(
        "dashboard/compare.html",
        attempts=found,
        quiz=found[0].quiz,
        lines=review.compare(found),
    )
