"""`manage.py bank check` and `manage.py bank stats`: read-only looks at a bank folder.

Neither command touches the database; they read the TOML files directly, so they also work on
a folder that is still being written (files that do not parse are reported, not fatal).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from . import BANK_DIR, QUIZZES_FILE
from .cues import cues
from .validate import KINDS, LEVELS, NO_SLUG, Problem, coverage, validate


@dataclass
class Loaded:
    """The parsed contents of a bank folder, with the files that could not be read."""

    folder: Path
    topics: list[dict] = field(default_factory=list)
    quizzes: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def questions(self) -> list[dict]:
        return [
            q
            for t in self.topics
            for q in (t.get("questions") if isinstance(t.get("questions"), list) else [])
            if isinstance(q, dict)
        ]


def _header_lines(text: str, table: str) -> list[int]:
    """Line numbers of the `[[table]]` headers, in file order."""
    pattern = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def _parse(path: Path) -> tuple[dict | None, str, Problem | None]:
    try:
        text = path.read_text("utf-8")
        return tomllib.loads(text), text, None
    except (OSError, UnicodeDecodeError) as e:
        return None, "", Problem(path.name, NO_SLUG, f"cannot read the file: {e}")
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        return None, "", Problem(path.name, NO_SLUG, f"invalid TOML: {e}", line)


def _tag(items, text: str, table: str, file: str) -> None:
    """Record the file name and header line on each table of an array of tables."""
    if not isinstance(items, list):
        return
    lines = _header_lines(text, table)
    if len(lines) != len(items):  # inline arrays or odd layouts: no line numbers
        lines = [None] * len(items)
    for item, line in zip(items, lines, strict=True):
        if isinstance(item, dict):
            item["_file"] = file
            item["_line"] = line


def load_bank(folder: Path | str = BANK_DIR) -> Loaded:
    """Every *.toml in `folder` (topic files, plus quizzes.toml) with line numbers attached."""
    folder = Path(folder)
    loaded = Loaded(folder)
    if not folder.is_dir():
        loaded.problems.append(Problem(str(folder), NO_SLUG, "not a folder"))
        return loaded
    for path in sorted(folder.glob("*.toml")):
        data, text, problem = _parse(path)
        if problem:
            loaded.problems.append(problem)
            continue
        if path.name == QUIZZES_FILE:
            quizzes = data.get("quizzes", [])
            _tag(quizzes, text, "quizzes", path.name)
            loaded.quizzes = quizzes
        else:
            _tag(data.get("questions"), text, "questions", path.name)
            data["_file"] = path.name
            loaded.topics.append(data)
    return loaded


def check(folder: Path | str = BANK_DIR) -> tuple[Loaded, list[Problem]]:
    """Load a folder and run every rule, including the bank-wide minimums."""
    loaded = load_bank(folder)
    problems = loaded.problems + validate(loaded.topics, loaded.quizzes)
    return loaded, problems + coverage(loaded.topics) + cues(loaded.topics)


def stats(topics: list[dict]) -> dict:
    """{"total", "by_kind": {kind: n}, "by_topic_level": {topic: {level: n}}}, zeros included."""
    by_kind = Counter({kind: 0 for kind in KINDS})
    by_topic_level: dict[str, Counter] = {}
    total = 0
    for t in topics:
        slug = t.get("topic")
        slug = slug if isinstance(slug, str) else str(t.get("_file", "?"))
        levels = by_topic_level.setdefault(slug, Counter({level: 0 for level in LEVELS}))
        questions = t.get("questions") if isinstance(t.get("questions"), list) else []
        for q in questions:
            if not isinstance(q, dict):
                continue
            total += 1
            by_kind[str(q.get("kind"))] += 1
            levels[str(q.get("level"))] += 1
    return {
        "total": total,
        "by_kind": dict(by_kind),
        "by_topic_level": {slug: dict(by_topic_level[slug]) for slug in sorted(by_topic_level)},
    }


def _table(header: list[str], rows: list[list]) -> str:
    """Left-align the first column, right-align the rest."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
        if n == 0 or (n == len(cells) - 2 and n > 0):  # under the header, above the total
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_stats(data: dict) -> str:
    levels = list(LEVELS) + sorted(
        {lv for counts in data["by_topic_level"].values() for lv in counts} - set(LEVELS)
    )
    rows = []
    for slug, counts in data["by_topic_level"].items():
        rows.append([slug, *(counts.get(lv, 0) for lv in levels), sum(counts.values())])
    totals = [sum(c.get(lv, 0) for c in data["by_topic_level"].values()) for lv in levels]
    rows.append(["total", *totals, data["total"]])
    by_topic = _table(["topic", *levels, "total"], rows)
    kinds = [[kind, n] for kind, n in data["by_kind"].items()] + [["total", data["total"]]]
    return by_topic + "\n\n" + _table(["kind", "questions"], kinds)


def _folder(option: str | None) -> Path:
    if option:
        return Path(option)
    return Path(current_app.config.get("BANK_DIR") or BANK_DIR)


DIR_OPTION = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    help="Bank folder to read (default: BANK_DIR, or the bank shipped with the app).",
)


@click.command("check")
@DIR_OPTION
@with_appcontext
def check_command(folder):
    """Validate the bank files (schema, answers, links, quizzes, coverage, test-wiseness
    cues); exit 1 on problems."""
    path = _folder(folder)
    loaded, problems = check(path)
    for problem in problems:
        click.echo(str(problem))
    summary = (
        f"{len(loaded.questions)} questions in {len(loaded.topics)} topic files, "
        f"{len(loaded.quizzes)} quizzes ({path})"
    )
    if problems:
        files = len({p.file for p in problems})
        click.echo(f"{len(problems)} problem(s) in {files} file(s); {summary}.")
        raise click.exceptions.Exit(1)
    click.echo(f"No problems: {summary}.")


@click.command("stats")
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_appcontext
def stats_command(folder, as_json):
    """Count the questions by topic and level, and by kind."""
    loaded = load_bank(_folder(folder))
    for problem in loaded.problems:
        click.echo(f"warning: {problem}", err=True)
    data = stats(loaded.topics)
    if as_json:
        click.echo(json.dumps(data))
    else:
        click.echo(format_stats(data))
