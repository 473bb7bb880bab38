"""API operations. Each acts as the token's user: reviewers and admins read every attempt,
recruiters the attempts of their own invitations; invitations are for recruiters and admins;
statistics for reviewers and admins."""

import re
from datetime import datetime

from flask import g, jsonify, request, url_for

from .. import analytics_store, attempts
from ..invitations import service
from ..models import RESULT_VIEWS, STATUSES, Answer, Attempt, Invitation, Question, Quiz, User
from . import allow, bp, error
from .openapi import document

MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100
# Explicit character classes (no \s): the OpenAPI document states the same patterns, and
# regex engines disagree about which characters are "whitespace".
EMAIL = re.compile(r"^[^@\x00-\x20\x7f]{1,64}@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$")
VISIBLE = re.compile(r"[^\x00-\x20\x7f]")
SPACE = " \t\n\r\f\v"


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as RFC 3339."""
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def _int(name: str, default: int, low: int, high: int, fields: dict) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        fields[name] = f"Use a whole number from {low} to {high}."
        return default
    return int(raw)


def _quiz_filter(fields: dict) -> Quiz | None:
    slug = request.args.get("quiz")
    if slug is None:
        return None
    quiz = Quiz.get_or_none(Quiz.slug == slug[:120])
    if quiz is None:
        fields["quiz"] = "No quiz has this slug."
    return quiz


def _unknown(fields: dict, *known: str) -> None:
    """Refuse parameters the operation does not have (a typo must not widen a filter)."""
    for name in request.args:
        if name not in known:
            fields[name[:100]] = "Unknown parameter."


def _check(fields: dict) -> None:
    if fields:
        error(400, "Some parameters are not valid.", fields)


def _page(query, page: int, per_page: int, present) -> dict:
    total = query.count()
    rows = query.paginate(page, per_page)
    return {
        "items": [present(r) for r in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": (total + per_page - 1) // per_page,
    }


# --------------------------------------------------------------------------- attempts


def _visible_attempts(user: User):
    query = Attempt.select(Attempt, Quiz).join(Quiz).switch(Attempt)
    if user.role == "recruiter":
        query = query.join(Invitation, on=(Attempt.invitation == Invitation.id)).where(
            Invitation.created_by == user.id
        )
    return query


def _attempt(a: Attempt) -> dict:
    percent = round(100 * a.score / a.max_score, 2) if a.score is not None and a.max_score else None
    return {
        "id": a.public_id,
        "quiz": a.quiz.slug,
        "status": a.status,
        "candidate": {"name": a.candidate_name, "email": a.candidate_email},
        "invitation": a.invitation_id,
        "started_at": iso(a.started_at),
        "deadline": iso(a.deadline),
        "finished_at": iso(a.finished_at),
        "score": a.score,
        "max_score": a.max_score,
        "percent": percent,
        "level": a.level,
    }


@bp.get("/attempts")
@allow("reviewer", "recruiter")
def list_attempts():
    fields: dict[str, str] = {}
    _unknown(fields, "page", "per_page", "quiz", "status")
    page = _int("page", 1, 1, MAX_PAGE, fields)
    per_page = _int("per_page", 50, 1, MAX_PER_PAGE, fields)
    quiz = _quiz_filter(fields)
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        fields["status"] = f"Use one of: {', '.join(STATUSES)}."
    _check(fields)
    query = _visible_attempts(g.api_user).order_by(Attempt.id.desc())
    if quiz is not None:
        query = query.where(Attempt.quiz == quiz)
    if status is not None:
        query = query.where(Attempt.status == status)
    return jsonify(_page(query, page, per_page, _attempt))


@bp.get("/attempts/<public_id>")
@allow("reviewer", "recruiter")
def get_attempt(public_id):
    fields: dict[str, str] = {}
    _unknown(fields)
    _check(fields)
    attempt = _visible_attempts(g.api_user).where(Attempt.public_id == public_id[:43]).first()
    if attempt is None:
        error(404, "There is no attempt with this id that this token may read.")
    saved = attempts.answers(attempt)
    body = _attempt(attempt)
    body["answers"] = [
        _answer(i, q, saved.get(q.id)) for i, q in enumerate(attempts.questions(attempt), 1)
    ]
    return jsonify(body)


def _answer(position: int, q: Question, a: Answer | None) -> dict:
    return {
        "position": position,
        "question": q.slug,
        "version": q.version,
        "topic": q.topic,
        "level": q.level,
        "kind": q.kind,
        "points": q.points,
        "answered": a is not None and a.response is not None,
        "response": a.response if a else None,
        "correct": bool(a and a.correct),
        "score": a.score if a else 0.0,
        "flagged": bool(a and a.flagged),
        "time_spent": a.time_spent if a and a.timed else None,
        "answered_at": iso(a.answered_at) if a else None,
    }


# --------------------------------------------------------------------------- invitations


def _visible_invitations(user: User):
    return service.visible_to(user)


def _invitation(inv: Invitation, attempt: Attempt | None) -> dict:
    return {
        "id": inv.id,
        "quiz": inv.quiz.slug,
        "candidate": {"name": inv.candidate_name, "email": inv.candidate_email},
        "status": service.status(inv, attempt),
        "created_at": iso(inv.created_at),
        "expires_at": iso(inv.expires_at),
        "time_limit": inv.time_limit,
        "result": inv.result_view,
        "show_score": inv.result_view != "none",
        "created_by": inv.created_by.email if inv.created_by_id else None,
        "attempt": attempt.public_id if attempt else None,
    }


@bp.get("/invitations")
@allow("recruiter")
def list_invitations():
    fields: dict[str, str] = {}
    _unknown(fields, "page", "per_page", "quiz")
    page = _int("page", 1, 1, MAX_PAGE, fields)
    per_page = _int("per_page", 50, 1, MAX_PER_PAGE, fields)
    quiz = _quiz_filter(fields)
    _check(fields)
    query = _visible_invitations(g.api_user).order_by(Invitation.id.desc())
    if quiz is not None:
        query = query.where(Invitation.quiz == quiz)
    result = _page(query, page, per_page, lambda inv: inv)
    ids = [inv.id for inv in result["items"]]
    latest = {
        a.invitation_id: a
        for a in Attempt.select().where(Attempt.invitation.in_(ids)).order_by(Attempt.id)
    }
    result["items"] = [_invitation(inv, latest.get(inv.id)) for inv in result["items"]]
    return jsonify(result)


INVITATION_FIELDS = ("quiz", "name", "email", "days", "time_limit", "show_score", "result")


def _invitation_form(data: dict) -> tuple[dict, dict]:
    """Validated values of a new invitation, and the errors by field."""
    fields: dict[str, str] = {}
    values: dict = {}
    for name in data:
        if name not in INVITATION_FIELDS:  # a typo must not be ignored silently
            fields[name[:100]] = "Unknown field."
    text = {"quiz": 120, "name": 200, "email": 254}
    for name, limit in text.items():
        value = data.get(name)
        if not isinstance(value, str) or not value or len(value) > limit:
            fields[name] = f"Required: text of 1 to {limit} characters."
        elif "\x00" in value or not _encodable(value):
            fields[name] = "Must be text without NUL or unpaired surrogate characters."
        else:
            values[name] = value
    if "name" in values:
        values["name"] = values["name"].strip(SPACE)
        if not VISIBLE.search(values["name"]):
            fields["name"] = "Enter the candidate's name."
    if "quiz" in values:
        quiz = Quiz.get_or_none(Quiz.slug == values["quiz"], Quiz.active == True)  # noqa: E712
        if quiz is None:
            fields["quiz"] = "No active quiz has this slug."
        values["quiz"] = quiz
    if "email" in values:
        if not EMAIL.match(values["email"]):
            fields["email"] = "Use an e-mail address such as name@example.com."
        # Lower-case ASCII letters only: the length (and validity) stays the same.
        values["email"] = re.sub("[A-Z]+", lambda m: m.group().lower(), values["email"])
    values["days"] = _number(data, "days", 7, 1, service.MAX_DAYS, fields)
    values["time_limit"] = _number(data, "time_limit", None, 1, 600, fields)
    show = data.get("show_score", False)
    if not isinstance(show, bool):
        fields["show_score"] = "Use true or false."
    result = data.get("result", "topics" if show is True else "none")
    if result not in RESULT_VIEWS:
        fields["result"] = f"Use one of {', '.join(RESULT_VIEWS)}."
    values["result"] = result
    return values, fields


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(data: dict, name: str, default, low: int, high: int, fields: dict):
    value = data.get(name, default)
    if value is None and default is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        fields[name] = f"Use a whole number from {low} to {high}."
        return default
    return value


@bp.post("/invitations")
@allow("recruiter")
def create_invitation():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        error(400, "Send a JSON object (Content-Type: application/json).")
    values, fields = _invitation_form(data)
    _check(fields)
    invitation, token = service.create(
        values["quiz"],
        values["name"],
        values["email"],
        g.api_user,
        values["days"],
        time_limit=values["time_limit"],
        result_view=values["result"],
    )
    link = url_for("candidate.invitation", token=token, _external=True)
    invitation = _visible_invitations(g.api_user).where(Invitation.id == invitation.id).get()
    return jsonify({"invitation": _invitation(invitation, None), "link": link}), 201


# --------------------------------------------------------------------------- statistics


def _none_if_nan(value):
    return None if value is None or value != value else value


@bp.get("/quizzes/<slug>/stats")
@allow("reviewer")
def quiz_stats(slug):
    fields: dict[str, str] = {}
    _unknown(fields, "attempts")
    scope = request.args.get("attempts", "first")
    if scope not in ("first", "all"):
        fields["attempts"] = "Use first or all."
    _check(fields)
    quiz = Quiz.get_or_none(Quiz.slug == slug[:120])
    if quiz is None:
        error(404, "There is no quiz with this slug.")
    r = analytics_store.report(quiz, first_only=scope == "first")
    n = _none_if_nan
    return jsonify(
        {
            "quiz": quiz.slug,
            "scope": scope,
            "attempts": r.attempts,
            "started": r.started,
            "completed": r.completed,
            "completion_rate": n(r.completion_rate),
            "mean": n(r.mean),
            "median": n(r.median),
            "sd": n(r.sd),
            "skewness": n(r.skewness),
            "kurtosis": n(r.kurtosis),
            "alpha": n(r.alpha),
            "error_ratio": n(r.error_ratio),
            "sem": n(r.sem),
            "histogram": [{"low": b.low, "high": b.high, "count": b.count} for b in r.histogram],
            "topics": [{"topic": t, "questions": c, "average": n(avg)} for t, c, avg in r.topics],
            "questions": [
                {
                    "slug": q.slug,
                    "topic": q.topic,
                    "level": q.level,
                    "attempts": q.n,
                    "facility": n(q.facility),
                    "sd": n(q.sd),
                    "discrimination": n(q.discrimination),
                    "efficiency": n(q.efficiency),
                    "flags": [{"code": f.code, "reason": f.reason} for f in q.flags],
                }
                for q in r.questions
            ],
        }
    )


@bp.get("/openapi.json")
def openapi():
    rows = list(Quiz.select(Quiz.slug, Quiz.active).order_by(Quiz.slug).tuples())
    server = url_for("api.openapi", _external=True).rsplit("/", 1)[0]
    return jsonify(document(server, [s for s, _ in rows], [s for s, active in rows if active]))
