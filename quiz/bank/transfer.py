"""`manage.py bank import` and `bank export`: the bank to and from native TOML and Moodle GIFT.

An import reads and checks the whole file first, then stores it in one transaction through
`save_question` (by slug: new -> version 1, changed -> a new version, unchanged -> nothing), so
a bad file changes nothing and importing the same file again is a no-op. An export writes the
current version of every question, active or not, with its flag; the native export adds the
quizzes (GIFT has no place for them).
"""

import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask.cli import with_appcontext
from peewee import fn

from .. import db
from ..models import KINDS, LEVELS, Choice, Question, Quiz
from . import (
    QUIZZES_FILE,
    BankFileError,
    Issue,
    SeedReport,
    Spec,
    gift,
    native,
    save_question,
    save_quiz,
    spec_from_row,
    topic_title,
)

FORMATS = ("native", "gift")
SLUG = re.compile(r"[a-z0-9-]+")
PROGRESS_FROM = 50  # questions; a terminal always gets the bar


def detect(path: Path, text: str) -> str:
    """native or gift, from the file extension or else the first meaningful line."""
    if path.suffix.lower() == ".toml":
        return "native"
    if path.suffix.lower() in (".gift", ".txt"):
        return "gift"
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        if line:
            native_like = line.startswith(("#", "[")) or re.match(r"[\w-]+\s*=", line)
            return "native" if native_like else "gift"
    return "native"


# Checks shared by both formats ---------------------------------------------------------------


def problems(spec: Spec) -> list[str]:
    """What stops a question from being stored and scored as the app expects."""
    out = []
    if not SLUG.fullmatch(spec.slug) or len(spec.slug) > 120:
        out.append(f"slug {spec.slug!r} must be [a-z0-9-]+, at most 120 characters")
    if not SLUG.fullmatch(spec.topic) or len(spec.topic) > 60:
        out.append(f"topic {spec.topic!r} must be [a-z0-9-]+, at most 60 characters")
    if spec.level not in LEVELS:
        out.append(f"unknown level {spec.level!r} (one of: {', '.join(LEVELS)})")
    if spec.kind not in KINDS:
        out.append(f"unknown kind {spec.kind!r} (one of: {', '.join(KINDS)})")
    if type(spec.points) is not int or spec.points < 1:
        out.append("points must be a whole number of at least 1")
    if not spec.prompt:
        out.append("the prompt is empty")
    if spec.reference and not re.match(r"https?://\S+\Z", spec.reference):
        out.append("the reference must be an http(s) URL")
    if len(spec.reference) > 500:
        out.append("the reference is longer than 500 characters")
    texts = [t for t, _ in spec.choices]
    if not all(texts):
        out.append("a choice is empty")
    if len(set(texts)) != len(texts):
        out.append("two choices have the same text")
    return out + _kind_problems(spec)


def _kind_problems(spec: Spec) -> list[str]:
    right = sum(1 for _, c in spec.choices if c)
    n = len(spec.choices)
    if spec.kind in ("single", "code_output") and (n < 2 or right != 1):
        return [f"a {spec.kind} question needs 2+ choices, exactly one right (has {n}, {right})"]
    if spec.kind == "code_output" and not spec.code:
        return ["a code_output question needs `code`"]
    if spec.kind == "multiple" and (right < 2 or right == n):
        return [f"a multiple question needs 2+ right and 1+ wrong choices (has {right} of {n})"]
    if spec.kind == "true_false" and [t for t, _ in spec.choices] != ["True", "False"]:
        return ["a true_false question has exactly the choices True, False"]
    if spec.kind == "true_false" and right != 1:
        return ["a true_false question needs exactly one right choice"]
    if spec.kind == "ordering" and (n < 2 or right):
        return ["an ordering question lists 2+ items in the right order, none marked correct"]
    if spec.kind == "text" and (n < 1 or right != n):
        return ["a text question needs at least one accepted answer"]
    return []


def check(specs: list[Spec]) -> list[Issue]:
    """Every problem of every question, and slugs given twice."""
    issues, seen = [], {}
    for spec in specs:
        issues += [Issue(spec.line, f"question {spec.slug!r}: {p}") for p in problems(spec)]
        if spec.slug in seen:
            first = seen[spec.slug]
            issues.append(Issue(spec.line, f"duplicate slug {spec.slug!r} (first at line {first})"))
        seen.setdefault(spec.slug, spec.line)
    return issues


# Import --------------------------------------------------------------------------------------


@dataclass
class Loaded:
    specs: list[Spec] = field(default_factory=list)
    quizzes: list[dict] = field(default_factory=list)


def load(path: Path, fmt: str | None = None) -> Loaded:
    """Read and check a file (or a bank folder of TOML files); raises BankFileError."""
    if path.is_dir():
        loaded = Loaded()
        files = sorted(path.glob("*.toml"), key=lambda p: (p.name == QUIZZES_FILE, p.name))
        for file in files:
            part = load(file, "native")
            loaded.specs += part.specs
            loaded.quizzes += part.quizzes
        issues = [i for i in check(loaded.specs) if i.message.startswith("duplicate")]
        if issues:
            raise BankFileError(str(path), issues)
        return loaded
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BankFileError(str(path), [Issue(0, f"cannot read the file: {e}")]) from None
    fmt = fmt or detect(path, text)
    if fmt == "native":
        doc = native.parse(text, str(path), check)
        return Loaded(doc.specs, doc.quizzes)
    return Loaded(gift.parse(text, str(path), check))


def store(loaded: Loaded, progress=None) -> tuple[SeedReport, dict[str, int]]:
    """Save everything in one transaction; returns question and quiz outcomes."""
    report, quizzes = SeedReport(), defaultdict(int)
    with db.database.atomic():
        for spec in loaded.specs if progress is None else progress:
            report.count(save_question(spec))
        for quiz in loaded.quizzes:
            quizzes[save_quiz(quiz)] += 1
            report.quizzes += 1
    return report, quizzes


# Export --------------------------------------------------------------------------------------


def current_specs() -> list[Spec]:
    """The current version of every question, by topic, in the order they were first added."""
    first = dict(
        Question.select(Question.slug, fn.MIN(Question.id)).group_by(Question.slug).tuples()
    )
    rows = list(Question.select().where(Question.current == True))  # noqa: E712
    choices = defaultdict(list)
    query = Choice.select().where(Choice.question.in_([q.id for q in rows]))
    for c in query.order_by(Choice.question, Choice.position):
        choices[c.question_id].append(c)
    rows.sort(key=lambda q: (q.topic, first[q.slug]))
    return [spec_from_row(q, choices[q.id]) for q in rows]


def quiz_tables() -> list[dict]:
    """Every quiz as its `[[quizzes]]` table."""
    return [
        {
            "slug": z.slug,
            "title": z.title,
            "description": z.description,
            "public": z.public,
            "active": z.active,
            "shuffle": z.shuffle,
            "shuffle_choices": z.shuffle_choices,
            "pass_mark": z.pass_mark,
            "time_limit": z.time_limit,
            "result": z.result_view,
            "select": z.selection or {},
        }
        for z in Quiz.select().order_by(Quiz.id)
    ]


def export_text(fmt: str) -> str:
    if fmt == "gift":
        return gift.dump(current_specs())
    return native.dump(current_specs(), quiz_tables(), topic_title)


# Commands ------------------------------------------------------------------------------------


@click.command("import")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: guessed from FILE.")
@with_appcontext
def import_command(file: Path, fmt: str | None):
    """Import questions (and quizzes) from a native TOML or a GIFT file, all or nothing.

    By slug: a new question is stored as version 1, a changed one as a new version (attempts
    keep the version they saw), an unchanged one is left alone. FILE may be a bank folder.
    """
    try:
        loaded = load(file, fmt)
    except BankFileError as e:
        raise click.ClickException(f"{e}\nNothing was imported.") from None
    db.create_schema()
    with db.database.connection_context():
        if sys.stdout.isatty() or len(loaded.specs) > PROGRESS_FROM:
            with click.progressbar(loaded.specs, label="Importing questions") as bar:
                report, quizzes = store(loaded, bar)
        else:
            report, quizzes = store(loaded)
    line = (
        f"Imported {file.name}: {report.created} created, "
        f"{report.updated} new version{'' if report.updated == 1 else 's'}, "
        f"{report.unchanged + report.switched} unchanged"
    )
    if report.switched:
        line += f" ({report.switched} switched on or off)"
    if loaded.quizzes:
        line += f"; quizzes: {quizzes['created']} created, {quizzes['updated']} updated"
    click.echo(line + ".")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="native", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="A file.")
@with_appcontext
def export_command(fmt: str, output: Path | None):
    """Write the current version of every question (GIFT: no quizzes) to stdout or a file."""
    db.create_schema()
    with db.database.connection_context():
        text = export_text(fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, "utf-8")
    click.echo(f"Wrote {output} ({fmt}).", err=True)
