"""The shipped question bank: TOML files, one per topic, plus quizzes.toml; seeding; versions.

A question is identified by its slug and stored as immutable versions (see `models.Question`):
`save_question` inserts version 1 for a new slug, does nothing for an unchanged question, and
for a changed one inserts version n + 1 with its own choices and clears `current` on version n.
Seeding, `manage.py bank import` and any future editor all go through it.
"""

import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from peewee import fn

from ..db import database
from ..models import Choice, Question, Quiz

BANK_DIR = Path(__file__).parent
QUIZZES_FILE = "quizzes.toml"


def _topic_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.toml") if p.name != QUIZZES_FILE)


def load_topics(folder: Path = BANK_DIR) -> list[dict]:
    """Every topic file as a dict: {"topic", "title", "questions": [...]}."""
    return [tomllib.loads(p.read_text("utf-8")) for p in _topic_files(folder)]


def load_quizzes(folder: Path = BANK_DIR) -> list[dict]:
    path = folder / QUIZZES_FILE
    return tomllib.loads(path.read_text("utf-8")).get("quizzes", []) if path.exists() else []


@lru_cache(maxsize=1)
def topic_titles() -> dict[str, str]:
    """Topic slug -> display title, from the shipped bank."""
    return {t["topic"]: t.get("title", t["topic"]) for t in load_topics()}


def topic_title(slug: str) -> str:
    return topic_titles().get(slug) or slug.replace("-", " ").capitalize()


FIELDS = ("topic", "level", "kind", "prompt", "code", "explanation", "reference", "points")


@dataclass(frozen=True)
class Issue:
    """Something wrong in a bank file, at a line (0 when unknown)."""

    line: int
    message: str


class BankFileError(ValueError):
    """A bank file that cannot be imported, with every issue found."""

    def __init__(self, source: str, issues: list[Issue]):
        self.source, self.issues = source, sorted(issues, key=lambda i: i.line)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f"{self.source}:{i.line}: {i.message}" if i.line else f"{self.source}: {i.message}"
            for i in self.issues
        ]


@dataclass(frozen=True)
class Spec:
    """One question as the bank files describe it, whatever the format (plain data).

    `choices` are (text, correct) in position order; a text question's accepted answers are
    its choices, all correct; an ordering question's choices are in the right order.
    `active` None means "leave the stored switch alone"; `line` is where it was read.
    """

    slug: str
    topic: str
    level: str
    kind: str
    prompt: str
    code: str = ""
    explanation: str = ""
    reference: str = ""
    points: int = 1
    choices: tuple[tuple[str, bool], ...] = ()
    active: bool | None = field(default=None, compare=False)
    line: int = field(default=0, compare=False)

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in FIELDS}

    def normalised(self) -> "Spec":
        """Surrounding blank space removed the way the shipped files are read."""
        return replace(
            self,
            prompt=self.prompt.strip(),
            code=self.code.strip("\n"),
            explanation=self.explanation.strip(),
            reference=self.reference.strip(),
            choices=tuple((text.strip(), bool(correct)) for text, correct in self.choices),
        )


def spec_from_toml(topic: str, q: dict, line: int = 0) -> Spec:
    """A question table of a native (TOML) file; the caller checks the keys first."""
    if q["kind"] == "text":
        choices = tuple((a, True) for a in q["accepted"])
    else:
        choices = tuple((c["text"], bool(c.get("correct", False))) for c in q["choices"])
    return Spec(
        slug=q["slug"],
        topic=topic,
        level=q["level"],
        kind=q["kind"],
        prompt=q["prompt"],
        code=q.get("code", ""),
        explanation=q.get("explanation", ""),
        reference=q.get("reference", ""),
        points=int(q.get("points", 1)),
        choices=choices,
        active=q.get("active"),
        line=line,
    ).normalised()


def spec_from_row(question: Question, choices: list[Choice] | None = None) -> Spec:
    """A stored version as a Spec (choices read unless given, in position order)."""
    if choices is None:
        choices = list(question.choices.order_by(Choice.position))
    return Spec(
        slug=question.slug,
        choices=tuple((c.text, c.correct) for c in choices),
        active=question.active,
        **{name: getattr(question, name) for name in FIELDS},
    )


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0  # a new version was stored
    unchanged: int = 0
    quizzes: int = 0
    switched: int = 0  # unchanged questions whose active flag was set from the file

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def current_version(slug: str) -> Question | None:
    return Question.get_or_none(Question.slug == slug, Question.current == True)  # noqa: E712


def save_question(spec: Spec) -> str:
    """Store `spec` as its slug's current version; returns created, updated or unchanged.

    A changed question never alters the stored row: version n + 1 is inserted with its own
    choices and version n stops being current, so attempts keep the version they were given.
    """
    from ..quizzes import forget_listing  # quizzes imports this module

    forget_listing()
    with database.atomic():
        question = current_version(spec.slug)
        if question is None:
            # Version 1, unless old versions exist without a current one (never by our code).
            last = Question.select(fn.MAX(Question.version)).where(Question.slug == spec.slug)
            version = (last.scalar() or 0) + 1
            _insert(spec, version=version, active=True if spec.active is None else spec.active)
            return "created"
        if spec_from_row(question) == spec:  # compares the content, not `active`/`line`
            if spec.active is not None and spec.active != question.active:
                Question.update(active=spec.active).where(Question.id == question.id).execute()
                return "switched"
            return "unchanged"
        # Clear the old flag first: the partial unique index allows one current row per slug.
        Question.update(current=False).where(Question.id == question.id).execute()
        active = question.active if spec.active is None else spec.active
        _insert(spec, version=question.version + 1, active=active)
        return "updated"


def _insert(spec: Spec, version: int, active: bool) -> Question:
    question = Question.create(
        slug=spec.slug, version=version, current=True, active=active, **spec.fields()
    )
    if spec.choices:
        Choice.insert_many(
            [(question.id, t, c, i) for i, (t, c) in enumerate(spec.choices)],
            fields=[Choice.question, Choice.text, Choice.correct, Choice.position],
        ).execute()
    return question


def seed(folder: Path = BANK_DIR) -> SeedReport:
    """Store every question (a new version when changed) and quiz; running it again changes
    nothing. Seeding never switches a question on or off unless the file says `active`."""
    report = SeedReport()
    with database.atomic():
        for topic in load_topics(folder):
            for q in topic["questions"]:
                report.count(save_question(spec_from_toml(topic["topic"], q)))
        for z in load_quizzes(folder):
            save_quiz(z)
            report.quizzes += 1
    return report


def result_view(z: dict) -> str:
    """A `[[quizzes]]` table's result view: `result`, or the older `show_result` (true: a
    full review, false: nothing)."""
    if "result" in z:
        return z["result"]
    return "review" if z.get("show_result", True) else "none"


def quiz_values(z: dict) -> dict:
    """The Quiz columns of a `[[quizzes]]` table."""
    values = {
        "title": z["title"],
        "description": z.get("description", "").strip(),
        "public": bool(z.get("public", False)),
        "shuffle": bool(z.get("shuffle", True)),
        "shuffle_choices": bool(z.get("shuffle_choices", True)),
        "pass_mark": z.get("pass_mark"),
        "time_limit": int(z.get("time_limit", 0)) or None,
        "result_view": result_view(z),
        "show_result": result_view(z) != "none",
        "selection": dict(z.get("select", {})),
    }
    if "active" in z:
        values["active"] = bool(z["active"])
    return values


def save_quiz(z: dict) -> str:
    """Insert or update a quiz by slug (quizzes are settings, not versioned)."""
    from ..quizzes import forget_listing

    forget_listing()
    values = quiz_values(z)
    quiz = Quiz.get_or_none(Quiz.slug == z["slug"])
    if quiz is None:
        Quiz.create(slug=z["slug"], **values)
        return "created"
    if all(getattr(quiz, name) == value for name, value in values.items()):
        return "unchanged"
    Quiz.update(**values).where(Quiz.id == quiz.id).execute()
    return "updated"
