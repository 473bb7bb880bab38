"""The question editor: list and filter, create, edit (a new version), preview, switch off/on."""

import math
from types import SimpleNamespace

from flask import flash, request, url_for

from ..auth.users import roles_required, safe_next
from ..bank import current_version, forms, save_question, spec_from_row, topic_title
from ..candidate.context import display_items
from ..db import database
from ..errors import fail
from ..htmx import go, render
from ..models import KINDS, LEVELS, Question
from ..parsing import whole_number
from ..quizzes import forget_listing
from ..responses import right_answer
from ..scoring import Key
from . import bp

PER_PAGE = 50
CURRENT = Question.current == True  # noqa: E712 (a SQL expression)


def _filters(args) -> dict:
    """The list's filters from the query string; unknown values mean "any"."""
    page = args.get("page", "1")
    return {
        "q": args.get("q", "").strip()[:100],
        "topic": args.get("topic", ""),
        "level": args.get("level", "") if args.get("level") in LEVELS else "",
        "kind": args.get("kind", "") if args.get("kind") in KINDS else "",
        "active": args.get("active", "") if args.get("active") in ("1", "0") else "",
        "page": whole_number(page, 1, 10**6 - 1) or 1,
    }


def _matching(f: dict):
    query = Question.select().where(CURRENT)
    if f["q"]:
        query = query.where(Question.slug.contains(f["q"]) | Question.prompt.contains(f["q"]))
    for name in ("topic", "level", "kind"):
        if f[name]:
            query = query.where(getattr(Question, name) == f[name])
    if f["active"]:
        query = query.where(Question.active == (f["active"] == "1"))
    return query.order_by(Question.topic, Question.slug)


def topics() -> list[str]:
    """The topics of the current questions."""
    query = Question.select(Question.topic).where(CURRENT).distinct()
    return sorted(q.topic for q in query)


@bp.get("/questions")
@roles_required("admin")
def questions():
    f = _filters(request.args)
    query = _matching(f)
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(f["page"], pages)
    args = {k: v for k, v in f.items() if v and k != "page"}
    return render(
        "bank_admin/questions.html",
        "bank_admin/_question_results.html",
        rows=list(query.paginate(page, PER_PAGE)),
        total=total,
        at_page=page,
        pages=pages,
        f=f,
        args=args,
        topics=topics(),
        levels=LEVELS,
        kinds=KINDS,
        title=topic_title,
        here=request.full_path.rstrip("?"),
    )


# The editor ----------------------------------------------------------------------------------


def preview(spec) -> SimpleNamespace:
    """The candidate's view of an unsaved question, and how it will be scored."""
    keys = [Key(n, text, right, n - 1) for n, (text, right) in enumerate(spec.choices, 1)]
    question = Question(slug=spec.slug, version=0, **spec.fields())
    # An ordering question is shown shuffled, as to a candidate (never in the right order).
    fake_attempt = SimpleNamespace(public_id=f"preview-{spec.slug}")
    return SimpleNamespace(
        question=question,
        topic=topic_title(spec.topic) if spec.topic else "(no topic)",
        n=1,
        items=display_items(fake_attempt, question, keys, None),
        text_answer="",
        right=right_answer(spec.kind, keys),
        scoring=forms.SCORING.get(spec.kind, ""),
    )


def _editor(form, editing: Question | None, errors=None, status=200, fragment=None):
    spec = forms.question_spec(form)
    errors = errors if errors is not None else forms.question_errors(form, spec)
    return render(
        "bank_admin/question_form.html",
        fragment,
        status=status,
        form=form,
        editing=editing,
        errors=errors,
        notes=[] if errors else forms.style_notes(spec),
        preview=preview(spec),
        topics=topics(),
        levels=LEVELS,
        kinds=KINDS,
        title=topic_title,
    )


def _current(slug: str) -> Question:
    question = current_version(slug)
    if question is None:
        fail(404, "There is no question with this slug.")
    return question


@bp.get("/questions/new")
@roles_required("admin")
def new_question():
    form = forms.QuestionForm(topic=request.args.get("topic", "")[:60])
    return _editor(form, None, errors={})


@bp.post("/questions")
@roles_required("admin")
def create_question():
    form = forms.question_form(request.form)
    spec = forms.question_spec(form)
    errors = forms.question_errors(form, spec)
    if "slug" not in errors and Question.select().where(Question.slug == spec.slug).exists():
        errors["slug"] = ["A question with this slug exists already; choose another slug."]
    if errors:
        return _editor(form, None, errors, 400)
    save_question(spec)
    flash(f"Created {spec.slug} (version 1).")
    return go(url_for(".edit_question", slug=spec.slug))


@bp.get("/questions/<slug>/edit")
@roles_required("admin")
def edit_question(slug):
    question = _current(slug)
    return _editor(forms.form_from_spec(spec_from_row(question), question.version), question, {})


@bp.post("/questions/<slug>/edit")
@roles_required("admin")
def save_edit(slug):
    question = _current(slug)
    form = forms.question_form(request.form, slug=slug)
    spec = forms.question_spec(form)
    errors = forms.question_errors(form, spec)
    if errors:
        return _editor(form, question, errors, 400)
    with database.atomic():
        question = _current(slug)
        if question.version != form.version:
            # Someone saved since this editor opened: do not silently overwrite their version.
            stale = f"Version {question.version} was saved after you opened version "
            stale += f"{form.version}. Check it, then save again to replace it with yours."
            form.version = question.version
            return _editor(form, question, {"form": [stale]}, 409)
        outcome = save_question(spec)
    if outcome == "unchanged":
        flash(f"No changes: {slug} stays at version {question.version}.")
    else:
        flash(f"Saved {slug} as version {question.version + 1}; past attempts keep theirs.")
    return go(url_for(".edit_question", slug=slug))


@bp.post("/questions/preview")
@roles_required("admin")
def preview_question():
    """The live preview (htmx: a fragment), or the whole editor for a plain POST."""
    editing = request.form.get("editing", "")
    question = _current(editing) if editing else None
    form = forms.question_form(request.form, slug=editing or None)
    return _editor(form, question, fragment="bank_admin/_question_preview.html")


@bp.post("/questions/<slug>/active")
@roles_required("admin")
def switch_question(slug):
    """Deactivate (hidden from new attempts; attempts holding it keep it) or reactivate."""
    active = {"1": True, "0": False}.get(request.form.get("active", ""))
    if active is None:
        fail(400, "Say whether the question should be active (1) or not (0).")
    with database.atomic():
        question = _current(slug)
        Question.update(active=active).where(Question.id == question.id).execute()
    forget_listing()
    flash(f"{slug} is {'active again' if active else 'deactivated: new attempts skip it'}.")
    back = safe_next(request.form.get("next")) or url_for(".questions")
    return go(back)
