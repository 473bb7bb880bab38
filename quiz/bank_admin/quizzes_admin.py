"""The quiz builder: list quizzes, create and edit one (a fixed list or draw rules)."""

from flask import flash, request, url_for

from ..auth.users import roles_required
from ..bank import forms, save_quiz, topic_title
from ..bank.transfer import quiz_tables
from ..db import database
from ..errors import fail
from ..htmx import go, render
from ..models import LEVELS, RESULT_VIEWS, Question, Quiz
from ..quizzes import active_rows, summarise
from . import bp
from .questions import CURRENT, topics


@bp.get("/quizzes")
@roles_required("admin")
def quizzes():
    rows = active_rows()
    listed = [(z, summarise(z, rows)) for z in Quiz.select().order_by(Quiz.title)]
    return render("bank_admin/quizzes.html", quizzes=listed)


def _check(form: forms.QuizForm, creating: bool):
    """Errors by field and the summary of what the quiz would select."""
    slugs = {q.slug for q in Question.select(Question.slug).where(CURRENT)}
    errors = forms.quiz_errors(form, slugs, set(topics()))
    if creating and "slug" not in errors and Quiz.select().where(Quiz.slug == form.slug).exists():
        errors["slug"] = ["A quiz with this slug exists already; choose another slug."]
    table = forms.quiz_table(form)
    draft = Quiz(selection=table["select"], time_limit=table["time_limit"] or None)
    summary = summarise(draft)
    listed = forms.slug_list(form.questions) if form.mode == "fixed" else []
    active = {r.slug for r in active_rows()}
    skipped = [s for s in listed if s in slugs and s not in active]
    if summary.count == 0 and not {"questions", "topics", "levels"} & set(errors):
        errors["selection"] = ["These rules select no active question: select at least one."]
    return errors, summary, skipped


def _builder(form, editing: Quiz | None, status=200, fragment=None, errors=None):
    found, summary, skipped = _check(form, editing is None)
    return render(
        "bank_admin/quiz_form.html",
        fragment,
        status=status,
        form=form,
        editing=editing,
        errors=found if errors is None else errors,
        summary=summary,
        skipped=skipped,
        topics=topics(),
        levels=LEVELS,
        title=topic_title,
        result_views=RESULT_VIEWS,
    )


def _quiz(slug: str) -> Quiz:
    quiz = Quiz.get_or_none(Quiz.slug == slug)
    if quiz is None:
        fail(404, "There is no quiz with this slug.")
    return quiz


def _table(quiz: Quiz) -> dict:
    return next(z for z in quiz_tables() if z["slug"] == quiz.slug)


@bp.get("/quizzes/new")
@roles_required("admin")
def new_quiz():
    return _builder(forms.QuizForm(), None, errors={})


@bp.post("/quizzes")
@roles_required("admin")
def create_quiz():
    form = forms.quiz_form(request.form)
    errors, _, _ = _check(form, creating=True)
    if errors:
        return _builder(form, None, 400)
    with database.atomic():
        save_quiz(forms.quiz_table(form))
    flash(f"Created the quiz {form.title}.")
    return go(url_for(".quizzes"))


@bp.get("/quizzes/<slug>/edit")
@roles_required("admin")
def edit_quiz(slug):
    quiz = _quiz(slug)
    return _builder(forms.form_from_table(_table(quiz)), quiz, errors={})


@bp.post("/quizzes/<slug>/edit")
@roles_required("admin")
def save_quiz_edit(slug):
    quiz = _quiz(slug)
    form = forms.quiz_form(request.form, slug=slug)
    errors, _, _ = _check(form, creating=False)
    if errors:
        return _builder(form, quiz, 400)
    with database.atomic():
        outcome = save_quiz(forms.quiz_table(form))
    flash(f"Saved the quiz {form.title}." if outcome == "updated" else "No changes to save.")
    return go(url_for(".quizzes"))


@bp.post("/quizzes/count")
@roles_required("admin")
def quiz_count():
    """How many questions the builder's rules select (htmx: a fragment; else the whole form)."""
    editing = request.form.get("editing", "")
    quiz = _quiz(editing) if editing else None
    form = forms.quiz_form(request.form, slug=editing or None)
    return _builder(form, quiz, fragment="bank_admin/_quiz_count.html")
