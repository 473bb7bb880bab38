"""Rules for the question bank, as pure functions over the loaded TOML data.

No Flask and no database: `validate()` takes the topic files and quizzes as plain dicts (as
`tomllib` returns them) and returns a list of `Problem`s; `coverage()` checks the bank-wide
minimums (how many questions, topics, levels and kinds). An empty list means all is well.

A loader may add two metadata keys that the rules ignore: `_file` (the file name, on a topic
or quiz dict) and `_line` (the line of a `[[questions]]` / `[[quizzes]]` header).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

from ..models import RESULT_VIEWS
from ..scoring import normalise_text

LEVELS = ("junior", "mid", "senior")
KINDS = ("single", "multiple", "true_false", "code_output", "ordering", "text")
POINTS_BY_LEVEL = {"junior": 1, "mid": 2, "senior": 3}
SLUG_RE = re.compile(r"[a-z0-9-]+")

TOPIC_KEYS = {"topic", "title", "questions"}
QUESTION_REQUIRED = {"slug", "level", "kind", "prompt", "explanation", "reference"}
QUESTION_OPTIONAL = {"points", "code", "choices", "accepted"}
CHOICE_KEYS = {"text", "correct"}
QUIZ_REQUIRED = {"slug", "title", "description", "select"}
QUIZ_OPTIONAL = {
    "public", "shuffle", "shuffle_choices", "pass_mark", "time_limit", "show_result", "result",
}  # fmt: skip
SELECT_FILTERS = {"topics", "levels", "per_topic_level"}
META_KEYS = {"_file", "_line"}

# Number of choices allowed per kind (text questions have none).
CHOICE_COUNTS = {
    "single": (3, 6),
    "code_output": (3, 6),
    "multiple": (4, 5),
    "ordering": (3, 6),
    "true_false": (2, 2),
}
# Kinds with exactly one right answer whose position is worth spreading.
POSITIONED_KINDS = ("single", "code_output")

# Official documentation sites a `reference` may point at.
DOC_HOSTS = frozenset(
    {
        "flask.palletsprojects.com",
        "werkzeug.palletsprojects.com",
        "jinja.palletsprojects.com",
        "itsdangerous.palletsprojects.com",
        "click.palletsprojects.com",
        "markupsafe.palletsprojects.com",
        "flask-sqlalchemy.readthedocs.io",
        "flask-login.readthedocs.io",
        "flask-wtf.readthedocs.io",
        "flask-restful.readthedocs.io",
        "flask-caching.readthedocs.io",
        "flask-limiter.readthedocs.io",
        "flask-migrate.readthedocs.io",
        "docs.sqlalchemy.org",
        "docs.python.org",
        "peps.python.org",
        "developer.mozilla.org",
        "owasp.org",
        "cheatsheetseries.owasp.org",
        "www.rfc-editor.org",
        "docs.pytest.org",
        "gunicorn.org",
        "docs.gunicorn.org",
    }
)

# code_output snippets are run by the tests: they must stay small and harmless.
SNIPPET_LINES = (5, 20)
FORBIDDEN_IN_SNIPPETS = (
    ".run(",
    "run_simple",
    "make_server",
    "serve_forever",
    "import socket",
    "open(",
    "write_text",
    "write_bytes",
    "subprocess",
)

MIN_QUIZ_QUESTIONS = 5
MAX_SHARE_PER_POSITION = 0.5

# Bank-wide minimums checked by coverage().
MIN_QUESTIONS = 200
MIN_PER_TOPIC_LEVEL = 4
MIN_PER_KIND = {"code_output": 20, "ordering": 15, "multiple": 25}
REQUIRED_TOPICS = (
    "blueprints",
    "app-factory",
    "wsgi",
    "context-locals",
    "routing",
    "templates",
    "extensions",
    "databases",
    "security",
    "testing",
    "rest-api",
    "performance",
)

BANK = "(bank)"  # the `file` of problems that concern the bank as a whole
NO_SLUG = "-"


@dataclass(frozen=True)
class Problem:
    file: str
    slug: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.slug}: {self.message}"


# --------------------------------------------------------------------------- helpers


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nonempty_str(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _slug_ok(value) -> bool:
    return isinstance(value, str) and SLUG_RE.fullmatch(value) is not None


def _label(value) -> str:
    return value if isinstance(value, str) and value else NO_SLUG


def _topic_file(topic: dict, index: int) -> str:
    if isinstance(topic, dict) and isinstance(topic.get("_file"), str):
        return topic["_file"]
    if isinstance(topic, dict) and isinstance(topic.get("topic"), str):
        return f"<topic {topic['topic']}>"
    return f"<topic file #{index + 1}>"


def _questions(topic) -> list:
    if isinstance(topic, dict) and isinstance(topic.get("questions"), list):
        return topic["questions"]
    return []


def _choices(q: dict) -> list[dict]:
    choices = q.get("choices")
    if not isinstance(choices, list):
        return []
    return [c for c in choices if isinstance(c, dict)]


def _right_positions(q: dict) -> list[int]:
    return [i for i, c in enumerate(_choices(q)) if c.get("correct") is True]


def reference_problem(ref) -> str | None:
    """Why `ref` is not an acceptable documentation link, or None."""
    if not isinstance(ref, str) or not ref:
        return "reference must be a non-empty string"
    if any(ch.isspace() for ch in ref):
        return f"reference contains whitespace: {ref!r}"
    try:
        url = urlparse(ref)
        host = url.hostname
        url.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return f"reference is not a well-formed URL: {ref!r}"
    if url.scheme != "https":
        return f"reference must use https: {ref}"
    if not host:
        return f"reference has no host: {ref}"
    if url.netloc != host:
        return f"reference must not carry credentials or a port: {ref}"
    if host not in DOC_HOSTS:
        return f"reference host {host} is not an allowed documentation site"
    return None


# --------------------------------------------------------------------------- questions


def question_problems(q, topic_slug: str | None = None) -> list[str]:
    """Every rule a single question breaks, as messages."""
    if not isinstance(q, dict):
        return ["question is not a table"]
    out: list[str] = []
    keys = set(q) - META_KEYS
    missing = QUESTION_REQUIRED - keys
    if missing:
        out.append(f"missing keys: {', '.join(sorted(missing))}")
    unknown = keys - QUESTION_REQUIRED - QUESTION_OPTIONAL
    if unknown:
        out.append(f"unknown keys: {', '.join(sorted(unknown))}")

    slug = q.get("slug")
    if "slug" in q:
        if not _slug_ok(slug):
            out.append(f"slug {slug!r} must match [a-z0-9-]+")
        elif _slug_ok(topic_slug) and not slug.startswith(f"{topic_slug}-"):
            out.append(f"slug must start with the topic slug: {topic_slug}-")

    level, kind = q.get("level"), q.get("kind")
    if "level" in q and level not in LEVELS:
        out.append(f"level {level!r} is not one of {', '.join(LEVELS)}")
    if "kind" in q and kind not in KINDS:
        out.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")

    if "points" in q:
        points = q["points"]
        if not _is_int(points) or points <= 0:
            out.append(f"points must be a positive integer, not {points!r}")
        elif level in POINTS_BY_LEVEL and points != POINTS_BY_LEVEL[level]:
            out.append(f"points should be {POINTS_BY_LEVEL[level]} for a {level} question")

    for field in ("prompt", "explanation"):
        if field in q and not _nonempty_str(q[field]):
            out.append(f"{field} must be a non-empty string")
    if "reference" in q:
        message = reference_problem(q["reference"])
        if message:
            out.append(message)
    if "code" in q and not _nonempty_str(q["code"]):
        out.append("code must be a non-empty string")

    if kind == "text":
        out += _text_problems(q)
    elif kind in CHOICE_COUNTS:
        out += _choice_problems(q, kind)
    if kind == "code_output":
        out += _snippet_problems(q)
    return out


def _text_problems(q: dict) -> list[str]:
    out = []
    if "choices" in q:
        out.append("text questions use `accepted`, not `choices`")
    accepted = q.get("accepted")
    if not isinstance(accepted, list) or not accepted:
        return out + ["text questions need a non-empty `accepted` list"]
    if not all(_nonempty_str(a) for a in accepted):
        return out + ["accepted answers must be non-empty strings"]
    normalised = [normalise_text(a) for a in accepted]
    if len(set(normalised)) != len(normalised):
        out.append("accepted answers repeat once case, quotes and backticks are ignored")
    return out


def _choice_problems(q: dict, kind: str) -> list[str]:
    out = []
    if "accepted" in q:
        out.append("`accepted` is only for text questions")
    choices = q.get("choices")
    if not isinstance(choices, list) or not choices:
        return out + ["choices must be a non-empty list"]
    for i, c in enumerate(choices, 1):
        if not isinstance(c, dict):
            out.append(f"choice {i} is not a table")
            continue
        if set(c) - CHOICE_KEYS:
            out.append(f"choice {i} has unknown keys: {', '.join(sorted(set(c) - CHOICE_KEYS))}")
        if not _nonempty_str(c.get("text")):
            out.append(f"choice {i} needs a non-empty text")
        if "correct" in c and not isinstance(c["correct"], bool):
            out.append(f"choice {i}: correct must be true or false")
    texts = [c["text"].strip() for c in _choices(q) if isinstance(c.get("text"), str)]
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        out.append(f"choice texts must be distinct: {repeated}")

    low, high = CHOICE_COUNTS[kind]
    if not low <= len(choices) <= high:
        span = f"{low}" if low == high else f"{low}-{high}"
        out.append(f"{kind} needs {span} choices, has {len(choices)}")
    right = len(_right_positions(q))
    wrong = len(choices) - right
    if kind == "ordering":
        if any("correct" in c for c in _choices(q)):
            out.append("ordering items are listed in the right order and carry no `correct`")
    elif kind == "true_false":
        if [c.get("text") for c in _choices(q)] != ["True", "False"]:
            out.append('true_false choices must be exactly "True", "False" in that order')
        if right != 1:
            out.append(f"true_false needs exactly one right answer, has {right}")
    elif kind in ("single", "code_output"):
        if right != 1:
            out.append(f"{kind} needs exactly one right answer, has {right}")
    elif kind == "multiple":
        if right < 2:
            out.append(f"multiple needs at least two right answers, has {right}")
        if wrong < 1:
            out.append("multiple needs at least one wrong answer")
    return out


def _snippet_problems(q: dict) -> list[str]:
    code = q.get("code")
    if not _nonempty_str(code):
        return ["code_output questions need `code`"]
    out = []
    lines = [line for line in code.splitlines() if line.strip()]
    low, high = SNIPPET_LINES
    if not low <= len(lines) <= high:
        out.append(f"snippet has {len(lines)} non-blank lines, keep it to {low}-{high}")
    for token in FORBIDDEN_IN_SNIPPETS:
        if token in code:
            out.append(f"snippet must not use {token!r}")
    if "print(" not in code:
        out.append("snippet must print its output")
    try:
        compile(code, str(q.get("slug", "snippet")), "exec")
    except SyntaxError as e:
        out.append(f"snippet does not compile: {e.msg} (line {e.lineno})")
    return out


# --------------------------------------------------------------------------- topics and bank


def validate(topics: list[dict], quizzes: list[dict]) -> list[Problem]:
    """Every problem with the topic files and quizzes; an empty list means the bank is valid."""
    problems: list[Problem] = []
    topic_files: dict[str, str] = {}  # topic slug -> first file declaring it
    slug_files: dict[str, str] = {}  # question slug -> first file defining it

    for index, topic in enumerate(topics):
        file = _topic_file(topic, index)
        problems += _topic_header_problems(topic, file, topic_files)
        topic_slug = topic.get("topic") if isinstance(topic, dict) else None
        for q in _questions(topic):
            slug = _label(q.get("slug") if isinstance(q, dict) else None)
            line = q.get("_line") if isinstance(q, dict) else None
            for message in question_problems(q, topic_slug):
                problems.append(Problem(file, slug, message, line))
            if isinstance(q, dict) and _slug_ok(q.get("slug")):
                if q["slug"] in slug_files:
                    first = slug_files[q["slug"]]
                    problems.append(
                        Problem(file, slug, f"duplicate question slug (first in {first})", line)
                    )
                else:
                    slug_files[q["slug"]] = file
        problems += _topic_position_problems(topic, file)

    problems += _bank_position_problems(topics)
    problems += quiz_problems(quizzes, topics)
    return problems


def _topic_header_problems(topic, file: str, seen: dict[str, str]) -> list[Problem]:
    if not isinstance(topic, dict):
        return [Problem(file, NO_SLUG, "a topic file must be a TOML table")]
    out = []
    slug = topic.get("topic")
    label = _label(slug)
    unknown = set(topic) - TOPIC_KEYS - META_KEYS
    if unknown:
        out.append(Problem(file, label, f"unknown top-level keys: {', '.join(sorted(unknown))}"))
    if not _slug_ok(slug):
        out.append(Problem(file, label, f"topic slug {slug!r} must match [a-z0-9-]+"))
    elif slug in seen:
        out.append(Problem(file, label, f"topic {slug} is also declared in {seen[slug]}"))
    else:
        seen[slug] = file
    if not _nonempty_str(topic.get("title")):
        out.append(Problem(file, label, "title must be a non-empty string"))
    questions = topic.get("questions")
    if not isinstance(questions, list) or not questions:
        out.append(Problem(file, label, "a topic file needs at least one [[questions]] entry"))
    return out


def _positioned(questions: Iterable) -> list[int]:
    """The right answer's index of every well-formed single / code_output question."""
    out = []
    for q in questions:
        if isinstance(q, dict) and q.get("kind") in POSITIONED_KINDS:
            right = _right_positions(q)
            if len(right) == 1:
                out.append(right[0])
    return out


def _topic_position_problems(topic, file: str) -> list[Problem]:
    positions = _positioned(_questions(topic))
    if len(positions) >= 2 and len(set(positions)) == 1:
        label = _label(topic.get("topic"))
        message = (
            f"every single/code_output question has its right answer at position "
            f"{positions[0] + 1}; vary the positions"
        )
        return [Problem(file, label, message)]
    return []


def _bank_position_problems(topics: list) -> list[Problem]:
    out = []
    all_questions = [q for t in topics for q in _questions(t)]
    positions = Counter(_positioned(all_questions))
    total = sum(positions.values())
    if total:
        position, count = positions.most_common(1)[0]
        if count > total * MAX_SHARE_PER_POSITION:
            out.append(
                Problem(
                    BANK,
                    NO_SLUG,
                    f"{count} of {total} single/code_output right answers are at position "
                    f"{position + 1} (more than {MAX_SHARE_PER_POSITION:.0%}); spread them out",
                )
            )
    if total >= 3 and len(positions) < 3:
        used = ", ".join(str(p + 1) for p in sorted(positions))
        out.append(
            Problem(BANK, NO_SLUG, f"right answers only ever at positions {used}; use at least 3")
        )
    tf = Counter(
        next((c.get("text") for c in _choices(q) if c.get("correct") is True), None)
        for q in all_questions
        if isinstance(q, dict) and q.get("kind") == "true_false"
    )
    tf.pop(None, None)
    if sum(tf.values()) >= 2 and len(tf) == 1:
        answer = next(iter(tf))
        out.append(Problem(BANK, NO_SLUG, f"every true_false question is answered {answer}"))
    return out


# --------------------------------------------------------------------------- quizzes


def _available(topics: list) -> Counter:
    """(topic, level) -> number of questions."""
    counts: Counter = Counter()
    for t in topics:
        if not isinstance(t, dict):
            continue
        for q in _questions(t):
            if isinstance(q, dict):
                counts[(t.get("topic"), q.get("level"))] += 1
    return counts


def selected_count(select: dict, topics: list) -> int:
    """How many questions a quiz's `select` picks (mirrors quiz.quizzes.pick)."""
    if select.get("questions"):
        known = {q.get("slug") for t in topics for q in _questions(t) if isinstance(q, dict)}
        return len([s for s in select["questions"] if s in known])
    wanted_topics = select.get("topics") or None
    wanted_levels = select.get("levels") or None
    groups = {
        key: n
        for key, n in _available(topics).items()
        if (wanted_topics is None or key[0] in wanted_topics)
        and (wanted_levels is None or key[1] in wanted_levels)
    }
    per_group = select.get("per_topic_level")
    if per_group:
        return sum(min(per_group, n) for n in groups.values())
    return sum(groups.values())


def quiz_problems(quizzes: list[dict], topics: list[dict]) -> list[Problem]:
    problems: list[Problem] = []
    topic_slugs = {t.get("topic") for t in topics if isinstance(t, dict)}
    question_slugs = {q.get("slug") for t in topics for q in _questions(t) if isinstance(q, dict)}
    seen: set[str] = set()
    covered: set[str] = set()
    if not isinstance(quizzes, list):
        return [Problem("quizzes.toml", NO_SLUG, "quizzes must be a list of [[quizzes]] tables")]
    for quiz in quizzes:
        file = quiz.get("_file", "quizzes.toml") if isinstance(quiz, dict) else "quizzes.toml"
        if not isinstance(quiz, dict):
            problems.append(Problem(file, NO_SLUG, "a quiz must be a table"))
            continue
        label, line = _label(quiz.get("slug")), quiz.get("_line")
        messages = _quiz_messages(quiz, seen)
        select = quiz.get("select")
        if "select" in quiz:
            select_messages = _select_messages(select, topic_slugs, question_slugs)
            messages += select_messages
            if not select_messages:
                count = selected_count(select, topics)
                if count < MIN_QUIZ_QUESTIONS:
                    messages.append(
                        f"quiz selects {count} question(s), needs at least {MIN_QUIZ_QUESTIONS}"
                    )
        if quiz.get("public") is True and isinstance(select, dict):
            covered |= _quiz_topics(select, topics, topic_slugs)
        problems += [Problem(file, label, m, line) for m in messages]
    for slug in sorted(s for s in topic_slugs - covered if isinstance(s, str)):
        problems.append(Problem("quizzes.toml", slug, "topic is not part of any public quiz"))
    return problems


def _quiz_topics(select: dict, topics: list, topic_slugs: set) -> set:
    """The topics a quiz draws from (as far as its `select` makes sense)."""
    if isinstance(select.get("questions"), list):
        wanted = {s for s in select["questions"] if isinstance(s, str)}
        return {
            t.get("topic")
            for t in topics
            if isinstance(t, dict)
            and any(isinstance(q, dict) and q.get("slug") in wanted for q in _questions(t))
        }
    listed = select.get("topics")
    if isinstance(listed, list) and listed:
        return {t for t in listed if isinstance(t, str)}
    return set(topic_slugs)


def _quiz_messages(quiz: dict, seen: set) -> list[str]:
    """Every rule a quiz breaks, except those of its `select`."""
    out = []
    keys = set(quiz) - META_KEYS
    if QUIZ_REQUIRED - keys:
        out.append(f"missing keys: {', '.join(sorted(QUIZ_REQUIRED - keys))}")
    if keys - QUIZ_REQUIRED - QUIZ_OPTIONAL:
        out.append(f"unknown keys: {', '.join(sorted(keys - QUIZ_REQUIRED - QUIZ_OPTIONAL))}")

    slug = quiz.get("slug")
    if "slug" in quiz:
        if not _slug_ok(slug):
            out.append(f"quiz slug {slug!r} must match [a-z0-9-]+")
        elif slug in seen:
            out.append("duplicate quiz slug")
        else:
            seen.add(slug)
    for field in ("title", "description"):
        if field in quiz and not _nonempty_str(quiz[field]):
            out.append(f"{field} must be a non-empty string")
    for flag in ("public", "shuffle", "shuffle_choices", "show_result"):
        if flag in quiz and not isinstance(quiz[flag], bool):
            out.append(f"{flag} must be true or false")
    if "result" in quiz:
        if quiz["result"] not in RESULT_VIEWS:
            out.append(f"result must be one of {', '.join(RESULT_VIEWS)}, not {quiz['result']!r}")
        if "show_result" in quiz:
            out.append("give `result` or the older `show_result`, not both")
    if "pass_mark" in quiz:
        mark = quiz["pass_mark"]
        if not _is_int(mark) or not 0 <= mark <= 100:
            out.append(f"pass_mark must be an integer from 0 to 100, not {mark!r}")
    if "time_limit" in quiz:
        limit = quiz["time_limit"]
        if not _is_int(limit) or limit < 0:
            out.append(f"time_limit must be an integer >= 0 (minutes), not {limit!r}")
    return out


def _string_list(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _select_messages(select, topic_slugs: set, question_slugs: set) -> list[str]:
    if not isinstance(select, dict) or not select:
        return ["select must be a non-empty table"]
    out = []
    if "questions" in select:
        if set(select) != {"questions"}:
            return ["select: a fixed `questions` list cannot be combined with other filters"]
        slugs = select["questions"]
        if not _string_list(slugs):
            return ["select: questions must be a non-empty list of slugs"]
        if len(set(slugs)) != len(slugs):
            out.append("select: a question is listed twice")
        unknown = [s for s in slugs if s not in question_slugs]
        if unknown:
            out.append(f"select: unknown question slugs: {', '.join(unknown)}")
        return out
    unknown_keys = set(select) - SELECT_FILTERS
    if unknown_keys:
        out.append(f"select: unknown keys: {', '.join(sorted(unknown_keys))}")
    if "topics" in select:
        wanted = select["topics"]
        if not _string_list(wanted):
            out.append("select: topics must be a non-empty list of topic slugs")
        else:
            if len(set(wanted)) != len(wanted):
                out.append("select: a topic is listed twice")
            missing = [t for t in wanted if t not in topic_slugs]
            if missing:
                out.append(f"select: unknown topics: {', '.join(missing)}")
    if "levels" in select:
        levels = select["levels"]
        if not _string_list(levels):
            out.append("select: levels must be a non-empty list")
        else:
            if len(set(levels)) != len(levels):
                out.append("select: a level is listed twice")
            bad = [lv for lv in levels if lv not in LEVELS]
            if bad:
                out.append(f"select: unknown levels: {', '.join(bad)}")
    if "per_topic_level" in select:
        n = select["per_topic_level"]
        if not _is_int(n) or n < 1:
            out.append(f"select: per_topic_level must be a positive integer, not {n!r}")
    return out


# --------------------------------------------------------------------------- coverage


def coverage(topics: list[dict]) -> list[Problem]:
    """The bank-wide minimums: size, topics present, questions per level, kinds."""
    problems: list[Problem] = []
    questions = [q for t in topics for q in _questions(t) if isinstance(q, dict)]
    if len(questions) < MIN_QUESTIONS:
        problems.append(
            Problem(BANK, NO_SLUG, f"{len(questions)} questions, needs at least {MIN_QUESTIONS}")
        )
    present = {t.get("topic") for t in topics if isinstance(t, dict)}
    for slug in REQUIRED_TOPICS:
        if slug not in present:
            problems.append(Problem(BANK, slug, "required topic has no topic file"))

    per_topic: dict[str, Counter] = defaultdict(Counter)
    files: dict[str, str] = {}
    for index, t in enumerate(topics):
        if not isinstance(t, dict) or not isinstance(t.get("topic"), str):
            continue
        files.setdefault(t["topic"], _topic_file(t, index))
        per_topic[t["topic"]].update(q.get("level") for q in _questions(t) if isinstance(q, dict))
    for slug in sorted(per_topic):
        for level in LEVELS:
            n = per_topic[slug][level]
            if n < MIN_PER_TOPIC_LEVEL:
                problems.append(
                    Problem(
                        files[slug],
                        slug,
                        f"{n} {level} question(s), needs at least {MIN_PER_TOPIC_LEVEL}",
                    )
                )

    kinds = Counter(q.get("kind") for q in questions)
    for kind, minimum in MIN_PER_KIND.items():
        if kinds[kind] < minimum:
            problems.append(
                Problem(BANK, NO_SLUG, f"{kinds[kind]} {kind} questions, needs at least {minimum}")
            )
    return problems
