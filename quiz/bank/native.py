"""The native format (the TOML of quiz/bank, see its README), read with line numbers and written.

A file is either one topic as shipped (`topic`, `title`, `[[questions]]`), or several topics
under a top-level array `[[topics]]` (each with `topic`, `title`, `[[topics.questions]]`), as
`manage.py bank export --format native` writes. Either may also hold `[[quizzes]]`. Two keys
beyond the shipped files: `active = false` on a question or quiz (the admin's switch; omitted
means "leave it as it is"). Topic titles are read from the shipped bank, not from imports.
"""

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..models import KINDS, LEVELS
from . import BankFileError, Issue, Spec, spec_from_toml

QUESTION_KEYS = {
    "slug", "level", "kind", "points", "active", "prompt", "code", "explanation", "reference",
    "choices", "accepted",
}  # fmt: skip
QUIZ_KEYS = {
    "slug", "title", "description", "public", "active", "shuffle", "shuffle_choices",
    "pass_mark", "time_limit", "show_result", "result", "select",
}  # fmt: skip
SELECT_KEYS = {"questions", "topics", "levels", "per_topic_level"}
STRING_KEYS = ("slug", "level", "kind", "prompt", "code", "explanation", "reference")


@dataclass
class Document:
    """What a native file holds: questions as Specs, quizzes as their TOML tables."""

    specs: list[Spec] = field(default_factory=list)
    quizzes: list[dict] = field(default_factory=list)
    quiz_lines: list[int] = field(default_factory=list)


def _toml_error_line(error: tomllib.TOMLDecodeError) -> int:
    found = re.search(r"\(at line (\d+), column \d+\)", str(error))
    return int(found.group(1)) if found else 0


def header_lines(text: str, table: str, count: int) -> list[int]:
    """Lines of the `[[table]]` headers in file order (zeros when they do not line up)."""
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]
    return lines if len(lines) == count else [0] * count


Check = Callable[[list[Spec]], list[Issue]]


def parse(text: str, source: str = "<native>", check: Check | None = None) -> Document:
    """Read a native document; raises BankFileError listing every problem found, `check`'s
    findings on the questions that could be read included."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise BankFileError(source, [Issue(_toml_error_line(e), f"TOML: {message}")]) from None
    issues: list[Issue] = []
    doc = Document()
    if "topics" in data:
        extra = set(data) - {"topics", "quizzes"}
        topics = data["topics"] if isinstance(data["topics"], list) else []
        table, tlines = "topics.questions", header_lines(text, "topics", len(topics))
    else:
        extra = set(data) - {"topic", "title", "questions", "quizzes"}
        topics = [data] if ("topic" in data or "questions" in data) else []
        table, tlines = "questions", [1]
    issues += [Issue(0, f"unknown top-level key {k!r}") for k in sorted(extra)]
    count = sum(len(t.get("questions", [])) for t in topics if isinstance(t, dict))
    qlines = iter(header_lines(text, table, count))
    for topic, tline in zip(topics, tlines, strict=False):
        _read_topic(topic, tline, qlines, doc, issues)
    quizzes = data.get("quizzes", [])
    doc.quiz_lines = header_lines(text, "quizzes", len(quizzes))
    for quiz, line in zip(quizzes, doc.quiz_lines, strict=True):
        issues += _quiz_issues(quiz, line)
        doc.quizzes.append(quiz)
    if not doc.specs and not doc.quizzes and not issues:
        issues.append(Issue(0, "no questions and no quizzes"))
    if check:
        issues += check(doc.specs)
    if issues:
        raise BankFileError(source, issues)
    return doc


def _read_topic(topic, line: int, qlines, doc: Document, issues: list[Issue]) -> None:
    if not isinstance(topic, dict) or not isinstance(topic.get("topic"), str):
        issues.append(Issue(line, 'a topic needs `topic = "slug"`'))
        return
    questions = topic.get("questions", [])
    if not isinstance(questions, list) or not questions:
        issues.append(Issue(line, f"topic {topic['topic']!r} has no [[questions]]"))
        return
    for q in questions:
        qline = next(qlines, 0)
        found = _question_issues(q, qline)
        if found:
            issues += found
        else:
            doc.specs.append(spec_from_toml(topic["topic"], q, qline))


def _question_issues(q, line: int) -> list[Issue]:
    """Shape problems that stop a question table from being read at all."""
    if not isinstance(q, dict):
        return [Issue(line, "a question must be a table")]
    name = f"question {q.get('slug', '?')!r}"
    problems = [f"unknown key {k!r}" for k in sorted(set(q) - QUESTION_KEYS)]
    problems += [f"missing {k!r}" for k in ("slug", "level", "kind", "prompt") if k not in q]
    problems += [f"{k!r} must be text" for k in STRING_KEYS if not isinstance(q.get(k, ""), str)]
    if type(q.get("points", 1)) is not int:
        problems.append("'points' must be an integer")
    if type(q.get("active", True)) is not bool:
        problems.append("'active' must be true or false")
    kind = q.get("kind")
    if isinstance(kind, str) and kind not in KINDS:
        problems.append(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
    elif kind == "text":
        accepted = q.get("accepted")
        if "choices" in q:
            problems.append("a text question has `accepted`, not `choices`")
        if not isinstance(accepted, list) or not all(isinstance(a, str) for a in accepted):
            problems.append("'accepted' must be a list of strings")
    elif isinstance(kind, str):
        problems += _choice_issues(q)
    return [Issue(line, f"{name}: {p}") for p in problems]


def _choice_issues(q: dict) -> list[str]:
    choices = q.get("choices")
    if "accepted" in q:
        return ["only text questions have `accepted`"]
    if not isinstance(choices, list):
        return ["'choices' must be a list of { text = ... } tables"]
    problems = []
    for n, c in enumerate(choices, 1):
        if not isinstance(c, dict) or not isinstance(c.get("text"), str):
            problems.append(f'choice {n} needs `text = "..."`')
        elif set(c) - {"text", "correct"}:
            problems.append(f"choice {n}: unknown key {sorted(set(c) - {'text', 'correct'})[0]!r}")
        elif type(c.get("correct", False)) is not bool:
            problems.append(f"choice {n}: 'correct' must be true or false")
        elif q["kind"] == "ordering" and "correct" in c:
            problems.append(f"choice {n}: ordering choices are in the right order, no `correct`")
    return problems


def _quiz_issues(quiz, line: int) -> list[Issue]:
    if not isinstance(quiz, dict):
        return [Issue(line, "a quiz must be a table")]
    name = f"quiz {quiz.get('slug', '?')!r}"
    problems = [f"unknown key {k!r}" for k in sorted(set(quiz) - QUIZ_KEYS)]
    problems += [f"missing {k!r}" for k in ("slug", "title") if not isinstance(quiz.get(k), str)]
    select = quiz.get("select", {})
    if not isinstance(select, dict):
        problems.append("'select' must be a table")
    elif set(select) - SELECT_KEYS:
        problems.append(f"unknown select key {sorted(set(select) - SELECT_KEYS)[0]!r}")
    elif not isinstance(select.get("levels", []), list) or set(select.get("levels", [])) - set(
        LEVELS
    ):
        problems.append("select levels must be a list of junior, mid, senior")
    for key in ("pass_mark", "time_limit"):
        if key in quiz and type(quiz[key]) is not int:
            problems.append(f"{key!r} must be an integer")
    return [Issue(line, f"{name}: {p}") for p in problems]


# Writing -------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BASIC_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _basic(s: str) -> str:
    body = "".join(_BASIC_ESCAPES.get(ch, ch) for ch in s)
    return '"' + _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", body) + '"'


def string(s: str, multiline: bool = False) -> str:
    """A TOML string: multi-line literal when that reads best and is exact, else basic."""
    plain = not _CONTROL.search(s)  # literal strings cannot escape control characters
    if multiline and "\n" in s and "'''" not in s and not s.endswith("'") and plain:
        return "'''\n" + s + "'''"  # TOML drops the newline right after the opening quotes
    if ("\\" in s or '"' in s) and "'" not in s and "\n" not in s and plain:
        return f"'{s}'"
    return _basic(s)


def value(v) -> str:
    """An inline TOML value: strings, integers, booleans, lists and tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        pairs = [f"{_key(k)} = {value(x)}" for k, x in v.items()]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _basic(k)


def question_lines(spec: Spec, active: bool = True) -> list[str]:
    out = [
        f"slug = {string(spec.slug)}",
        f"level = {string(spec.level)}",
        f"kind = {string(spec.kind)}",
        f"points = {spec.points}",
        f"active = {value(active)}",
        f"prompt = {string(spec.prompt, multiline=True)}",
    ]
    if spec.code:
        out.append(f"code = {string(spec.code, multiline=True)}")
    out.append(f"explanation = {string(spec.explanation, multiline=True)}")
    out.append(f"reference = {string(spec.reference)}")
    if spec.kind == "text":
        out.append(f"accepted = {value([t for t, _ in spec.choices])}")
        return out
    out.append("choices = [")
    for text, correct in spec.choices:
        mark = ", correct = true" if correct and spec.kind != "ordering" else ""
        out.append(f"  {{ text = {string(text)}{mark} }},")
    out.append("]")
    return out


QUIZ_ORDER = (
    "title", "description", "public", "active", "shuffle", "shuffle_choices", "pass_mark",
    "time_limit",
)  # fmt: skip


def quiz_lines(quiz: dict) -> list[str]:
    out = [f"slug = {string(quiz['slug'])}"]
    for key in (*QUIZ_ORDER, "result"):
        if quiz.get(key) is not None:
            v = quiz[key]
            out.append(f"{key} = {string(v, True) if isinstance(v, str) else value(v)}")
    out.append(f"select = {value(quiz.get('select', {}))}")
    return out


def dump(specs: Iterable[Spec], quizzes: Iterable[dict], title: Callable[[str], str]) -> str:
    """A multi-topic native document: topics in order of appearance, then quizzes."""
    by_topic: dict[str, list[Spec]] = {}
    for spec in specs:
        by_topic.setdefault(spec.topic, []).append(spec)
    quizzes = list(quizzes)
    count = sum(len(v) for v in by_topic.values())
    out = [
        f"# Flask Quiz question bank: {count} questions in {len(by_topic)} topics, "
        f"{len(quizzes)} quizzes.",
        "# Native format (see quiz/bank/README.md); load with `manage.py bank import FILE`.",
    ]
    for topic, members in by_topic.items():
        out += ["", "[[topics]]", f"topic = {string(topic)}", f"title = {string(title(topic))}"]
        for spec in members:
            active = True if spec.active is None else spec.active
            out += ["", "[[topics.questions]]", *question_lines(spec, active)]
    for quiz in quizzes:
        out += ["", "[[quizzes]]", *quiz_lines(quiz)]
    return "\n".join(out) + "\n"
