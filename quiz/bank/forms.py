"""The bank editor's forms as plain data: form fields in, a Spec or a quiz table out.

No request handling here: the views pass `request.form` (anything with `.get` and
`.getlist`). Questions are checked with the import's own rules (`transfer.problems`), so the
editor stores exactly what `manage.py bank import` would; the stricter style rules of
`bank check` (official doc links, choice counts, points per level...) are shown as notes and
never block a save.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..models import LEVELS, RESULT_VIEWS
from . import BankFileError, Issue, Spec, gift, native, result_view
from . import transfer as bank_transfer
from . import validate as bank_validate

CHOICE_ROWS = 6  # rows shown at least; blank rows are ignored
MAX_ROWS = 20
TRUTH = ("True", "False")
POINTS = re.compile(r"\d{1,6}")

# Which field an import problem belongs to, by the start of its message (transfer.problems).
FIELD_OF_MESSAGE = (
    ("slug ", "slug"),
    ("topic ", "topic"),
    ("unknown level", "level"),
    ("unknown kind", "kind"),
    ("points ", "points"),
    ("the prompt", "prompt"),
    ("the reference", "reference"),
    ("a code_output question needs `code`", "code"),
)

SCORING = {
    "single": "Full points for the right choice, nothing otherwise.",
    "true_false": "Full points for the right choice, nothing otherwise.",
    "code_output": "Full points for the exact output, nothing otherwise.",
    "multiple": (
        "Right picks minus wrong picks, over the number of right choices (never below 0); "
        "full points only for exactly the right set."
    ),
    "ordering": (
        "The share of item pairs in the right relative order; the candidate sees the items "
        "shuffled."
    ),
    "text": (
        "Full points when the answer matches an accepted answer, ignoring case, surrounding "
        "spaces, quotes, backticks and a final full stop."
    ),
}


def _text(value) -> str:
    """A form value as text with the newlines the bank files use (browsers send CRLF)."""
    return str(value or "").replace("\r\n", "\n").replace("\r", "\n")


def _count(value, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


# Questions -----------------------------------------------------------------------------------


@dataclass
class QuestionForm:
    """The question editor's fields as typed; `choices` are all rows, blank ones included."""

    slug: str = ""
    topic: str = ""
    level: str = "junior"
    kind: str = "single"
    points: str = "1"
    prompt: str = ""
    code: str = ""
    explanation: str = ""
    reference: str = ""
    truth: str = ""  # true_false: which of True / False is right
    choices: list[tuple[str, bool]] = field(default_factory=list)
    version: int = 0  # the version this edit started from; 0 for a new question

    def rows(self) -> list[tuple[str, bool]]:
        """The choice rows to show: every given row, padded with blank ones."""
        return self.choices + [("", False)] * max(0, CHOICE_ROWS - len(self.choices))


def question_form(data, slug: str | None = None) -> QuestionForm:
    """Read the editor's fields; `slug` (when editing) wins over a posted one."""
    rows = _count(data.get("rows"), CHOICE_ROWS, 1, MAX_ROWS)
    if data.get("more"):  # the "more choice rows" button: no JavaScript needed
        rows = min(rows + 2, MAX_ROWS)
    choices = [
        (_text(data.get(f"choice-{i}-text")), data.get(f"choice-{i}-correct") == "1")
        for i in range(rows)
    ]
    return QuestionForm(
        slug=(slug or _text(data.get("slug"))).strip(),
        topic=_text(data.get("topic")).strip(),
        level=_text(data.get("level")),
        kind=_text(data.get("kind")),
        points=_text(data.get("points")).strip(),
        prompt=_text(data.get("prompt")),
        code=_text(data.get("code")),
        explanation=_text(data.get("explanation")),
        reference=_text(data.get("reference")).strip(),
        truth=_text(data.get("truth")),
        choices=choices,
        version=_count(data.get("version"), 0, 0, 10**9),
    )


def form_from_spec(spec: Spec, version: int = 0) -> QuestionForm:
    """The editor's fields for a stored question."""
    truth, choices = "", list(spec.choices)
    if spec.kind == "true_false":
        truth = next((t for t, right in spec.choices if right and t in TRUTH), "")
        choices = []
    return QuestionForm(
        slug=spec.slug,
        topic=spec.topic,
        level=spec.level,
        kind=spec.kind,
        points=str(spec.points),
        prompt=spec.prompt,
        code=spec.code,
        explanation=spec.explanation,
        reference=spec.reference,
        truth=truth,
        choices=choices,
        version=version,
    )


def question_spec(form: QuestionForm) -> Spec:
    """The question the form describes, normalised as an imported one would be."""
    filled = [(text, right) for text, right in form.choices if text.strip()]
    if form.kind == "true_false":
        choices = tuple((t, form.truth == t) for t in TRUTH)
    elif form.kind == "text":  # accepted answers: all right
        choices = tuple((text, True) for text, _ in filled)
    elif form.kind == "ordering":  # the rows' order is the right order
        choices = tuple((text, False) for text, _ in filled)
    else:
        choices = tuple(filled)
    return Spec(
        slug=form.slug,
        topic=form.topic,
        level=form.level,
        kind=form.kind,
        prompt=form.prompt,
        code=form.code,
        explanation=form.explanation,
        reference=form.reference,
        points=int(form.points) if POINTS.fullmatch(form.points) else 0,
        choices=choices,
    ).normalised()


def question_errors(form: QuestionForm, spec: Spec) -> dict[str, list[str]]:
    """What stops the question from being saved, by field (the import's rules)."""
    errors: dict[str, list[str]] = {}
    choice_field = "truth" if spec.kind == "true_false" else "choices"
    for message in bank_transfer.problems(spec):
        name = next((f for p, f in FIELD_OF_MESSAGE if message.startswith(p)), choice_field)
        errors.setdefault(name, []).append(message)
    if spec.kind in ("single", "multiple", "code_output"):
        for n, (text, right) in enumerate(form.choices, 1):
            if right and not text.strip():
                errors.setdefault("choices", []).append(f"row {n} is marked right but is empty")
    return errors


def toml_table(spec: Spec) -> dict:
    """The question as a `[[questions]]` table of a topic file (what `bank check` reads)."""
    table = {"slug": spec.slug, "level": spec.level, "kind": spec.kind, "points": spec.points}
    table.update(prompt=spec.prompt, explanation=spec.explanation, reference=spec.reference)
    if spec.code:
        table["code"] = spec.code
    if spec.kind == "text":
        table["accepted"] = [text for text, _ in spec.choices]
    elif spec.kind == "ordering":
        table["choices"] = [{"text": text} for text, _ in spec.choices]
    else:
        table["choices"] = [
            {"text": text, "correct": True} if right else {"text": text}
            for text, right in spec.choices
        ]
    return table


def style_notes(spec: Spec) -> list[str]:
    """What `manage.py bank check` would say about this question in a shipped topic file."""
    return bank_validate.question_problems(toml_table(spec), spec.topic)


# Quizzes -------------------------------------------------------------------------------------


@dataclass
class QuizForm:
    """The quiz builder's fields as typed."""

    slug: str = ""
    title: str = ""
    description: str = ""
    public: bool = True
    active: bool = True
    shuffle: bool = True
    shuffle_choices: bool = True
    result: str = "review"  # what candidates of public attempts see (models.RESULT_VIEWS)
    time_limit: str = ""  # minutes; blank: untimed
    pass_mark: str = ""  # percent; blank: no pass mark
    mode: str = "draw"  # draw (rules) | fixed (a list of slugs)
    questions: str = ""  # fixed: slugs, one per line
    topics: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    per_topic_level: str = ""  # draw: N per topic and level; blank: all that match


def quiz_form(data, slug: str | None = None) -> QuizForm:
    return QuizForm(
        slug=(slug or _text(data.get("slug"))).strip(),
        title=_text(data.get("title")).strip(),
        description=_text(data.get("description")).strip(),
        public=data.get("public") == "1",
        active=data.get("active") == "1",
        shuffle=data.get("shuffle") == "1",
        shuffle_choices=data.get("shuffle_choices") == "1",
        result=_text(data.get("result")).strip(),
        time_limit=_text(data.get("time_limit")).strip(),
        pass_mark=_text(data.get("pass_mark")).strip(),
        mode="fixed" if data.get("mode") == "fixed" else "draw",
        questions=_text(data.get("questions")),
        topics=[t for t in data.getlist("topics") if t],
        levels=[lv for lv in data.getlist("levels") if lv],
        per_topic_level=_text(data.get("per_topic_level")).strip(),
    )


def form_from_table(z: dict) -> QuizForm:
    """The builder's fields for a stored quiz (as `transfer.quiz_tables` gives it)."""
    select = z.get("select") or {}
    fixed = bool(select.get("questions"))
    return QuizForm(
        slug=z["slug"],
        title=z["title"],
        description=z.get("description") or "",
        public=bool(z.get("public")),
        active=bool(z.get("active", True)),
        shuffle=bool(z.get("shuffle", True)),
        shuffle_choices=bool(z.get("shuffle_choices", True)),
        result=result_view(z),
        time_limit="" if z.get("time_limit") is None else str(z["time_limit"]),
        pass_mark="" if z.get("pass_mark") is None else str(z["pass_mark"]),
        mode="fixed" if fixed else "draw",
        questions="\n".join(select.get("questions", [])),
        topics=list(select.get("topics", [])),
        levels=list(select.get("levels", [])),
        per_topic_level=str(select.get("per_topic_level") or ""),
    )


def slug_list(text: str) -> list[str]:
    """Question slugs typed one per line (commas and spaces also separate them)."""
    return [s for s in re.split(r"[\s,]+", text) if s]


def selection(form: QuizForm) -> dict:
    """The quiz's `select` table (quiz.quizzes.pick reads it)."""
    if form.mode == "fixed":
        return {"questions": slug_list(form.questions)}
    select: dict = {}
    if form.topics:
        select["topics"] = form.topics
    if form.levels:
        select["levels"] = [lv for lv in LEVELS if lv in form.levels]
    if POINTS.fullmatch(form.per_topic_level) and int(form.per_topic_level) > 0:
        select["per_topic_level"] = int(form.per_topic_level)
    return select


def _whole(value: str, low: int, high: int) -> int | None:
    return int(value) if POINTS.fullmatch(value) and low <= int(value) <= high else None


def quiz_table(form: QuizForm) -> dict:
    """The quiz as a `[[quizzes]]` table, for `bank.save_quiz` (check `quiz_errors` first)."""
    return {
        "slug": form.slug,
        "title": form.title,
        "description": form.description,
        "public": form.public,
        "active": form.active,
        "shuffle": form.shuffle,
        "shuffle_choices": form.shuffle_choices,
        "result": form.result,
        "time_limit": _whole(form.time_limit, 1, 1440) or 0,
        "pass_mark": _whole(form.pass_mark, 0, 100),
        "select": selection(form),
    }


def quiz_errors(form: QuizForm, slugs: set[str], topics: set[str]) -> dict[str, list[str]]:
    """What stops the quiz from being saved, by field; `slugs` and `topics` are the bank's."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not bank_transfer.SLUG.fullmatch(form.slug) or len(form.slug) > 120:
        add("slug", "Use lower-case letters, digits and hyphens (at most 120).")
    if not form.title or len(form.title) > 200:
        add("title", "Give the quiz a title (at most 200 characters).")
    if form.time_limit and _whole(form.time_limit, 1, 1440) is None:
        add("time_limit", "Minutes from 1 to 1440, or blank for no limit.")
    if form.pass_mark and _whole(form.pass_mark, 0, 100) is None:
        add("pass_mark", "A percentage from 0 to 100, or blank for no pass mark.")
    if form.result not in RESULT_VIEWS:
        add("result", "Choose what candidates see at the end.")
    if form.mode == "fixed":
        listed = slug_list(form.questions)
        unknown = [s for s in listed if s not in slugs]
        repeated = sorted({s for s in listed if listed.count(s) > 1})
        if not listed:
            add("questions", "List at least one question slug.")
        if unknown:
            add("questions", f"No such question: {', '.join(unknown)}.")
        if repeated:
            add("questions", f"Listed twice: {', '.join(repeated)}.")
        return errors
    unknown_topics = [t for t in form.topics if t not in topics]
    if unknown_topics:
        add("topics", f"No such topic: {', '.join(unknown_topics)}.")
    if [lv for lv in form.levels if lv not in LEVELS]:
        add("levels", f"Levels are {', '.join(LEVELS)}.")
    if form.per_topic_level and _whole(form.per_topic_level, 1, 1000) is None:
        add("per_topic_level", "A whole number of at least 1, or blank for every match.")
    return errors


# Import from an upload -----------------------------------------------------------------------


def read_upload(raw: bytes, filename: str) -> bank_transfer.Loaded:
    """Read and check an uploaded native TOML or GIFT file as `manage.py bank import` would;
    raises BankFileError (line-numbered) when anything is wrong."""
    source = Path(filename or "upload").name or "upload"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BankFileError(source, [Issue(0, "the file is not UTF-8 text")]) from None
    if bank_transfer.detect(Path(source), text) == "native":
        doc = native.parse(text, source, bank_transfer.check)
        return bank_transfer.Loaded(doc.specs, doc.quizzes)
    return bank_transfer.Loaded(gift.parse(text, source, bank_transfer.check))
