"""Checks on the question bank content in quiz/bank/*.toml.

These tests read the TOML files directly (no app, no database): schema, coverage of
topics/levels/kinds, that every code_output snippet really prints its keyed answer, and
that quizzes.toml only selects questions that exist.
"""

import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest

BANK = Path(__file__).parent.parent / "quiz" / "bank"
QUIZZES_FILE = BANK / "quizzes.toml"

TOPIC_FILES = {
    "blueprints": "blueprints.toml",
    "app-factory": "app_factory.toml",
    "wsgi": "wsgi.toml",
    "context-locals": "context_locals.toml",
}
TOPICS = tuple(TOPIC_FILES)
LEVELS = ("junior", "mid", "senior")
KINDS = ("single", "multiple", "true_false", "code_output", "ordering", "text")
POINTS_BY_LEVEL = {"junior": 1, "mid": 2, "senior": 3}
CHOICE_KINDS = {"single", "multiple", "true_false", "code_output", "ordering"}

REQUIRED_KEYS = {"slug", "level", "kind", "prompt", "explanation", "reference"}
OPTIONAL_KEYS = {"points", "code", "choices", "accepted"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DOC_HOSTS = {
    "flask.palletsprojects.com": "/en/stable/",
    "werkzeug.palletsprojects.com": "/en/stable/",
    "peps.python.org": "/pep-3333/",
}

MIN_QUESTIONS = 36
MIN_PER_KIND = 4
MIN_PER_TOPIC_LEVEL = 2
MIN_CODE_OUTPUT = 6
MIN_QUIZ_QUESTIONS = 5
MIN_PUBLIC_QUIZZES = 4

# A code_output snippet must not start servers, touch the network or write files.
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


def _load(path: Path) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def _load_topic_files() -> dict[str, dict]:
    return {topic: _load(BANK / name) for topic, name in TOPIC_FILES.items()}


TOPIC_DATA = _load_topic_files()
QUESTIONS = [
    dict(q, _file_topic=topic)
    for topic, data in TOPIC_DATA.items()
    for q in data.get("questions", [])
]
BY_SLUG = {q.get("slug"): q for q in QUESTIONS}
CODE_OUTPUT = [q for q in QUESTIONS if q.get("kind") == "code_output"]
QUIZZES = _load(QUIZZES_FILE).get("quizzes", [])


def _qid(q: dict) -> str:
    return str(q.get("slug", "<no slug>"))


def _normalise_answer(text: str) -> str:
    """Mirror of the app's matching: case-insensitive, trimmed, quotes/backticks removed."""
    return text.casefold().strip().strip("`'\" ").strip()


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_file_header(topic):
    data = TOPIC_DATA[topic]
    assert data.get("topic") == topic, f"{TOPIC_FILES[topic]} must declare topic = {topic!r}"
    assert isinstance(data.get("title"), str) and data["title"].strip()
    assert set(data) <= {"topic", "title", "questions"}, f"unexpected keys: {set(data)}"
    assert isinstance(data.get("questions"), list) and data["questions"]


def test_no_unexpected_topic_files():
    """The app seeds every *.toml in the bank folder, so stray files would slip past these tests."""
    found = {p.name for p in BANK.glob("*.toml")} - {QUIZZES_FILE.name}
    assert found == set(TOPIC_FILES.values())


def test_slugs_unique_across_bank():
    counts = Counter(q.get("slug") for q in QUESTIONS)
    dupes = sorted(str(s) for s, n in counts.items() if n > 1)
    assert not dupes, f"duplicate question slugs: {dupes}"


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("q", QUESTIONS, ids=_qid)
def test_question_common_schema(q):
    keys = set(q) - {"_file_topic"}
    missing = REQUIRED_KEYS - keys
    assert not missing, f"missing keys: {sorted(missing)}"
    unknown = keys - REQUIRED_KEYS - OPTIONAL_KEYS
    assert not unknown, f"unknown keys: {sorted(unknown)}"

    slug = q["slug"]
    assert isinstance(slug, str) and SLUG_RE.match(slug), f"bad slug {slug!r}"
    assert slug.startswith(q["_file_topic"] + "-"), "slug must start with its topic slug"

    assert q["level"] in LEVELS
    assert q["kind"] in KINDS

    if "points" in q:
        points = q["points"]
        assert isinstance(points, int) and not isinstance(points, bool)
        assert points == POINTS_BY_LEVEL[q["level"]], "points should be 1/2/3 by level"

    for field in ("prompt", "explanation"):
        assert isinstance(q[field], str) and q[field].strip(), f"{field} must be non-empty"
    if "code" in q:
        assert isinstance(q["code"], str) and q["code"].strip(), "code must be non-empty"


@pytest.mark.parametrize("q", QUESTIONS, ids=_qid)
def test_question_reference(q):
    ref = q.get("reference")
    assert isinstance(ref, str), "reference must be a string"
    url = urlparse(ref)
    assert url.scheme == "https", f"reference must be https: {ref}"
    assert url.netloc in DOC_HOSTS, f"reference host not an official doc site: {ref}"
    assert url.path.startswith(DOC_HOSTS[url.netloc]), f"unexpected doc path: {ref}"
    assert " " not in ref


@pytest.mark.parametrize("q", QUESTIONS, ids=_qid)
def test_question_kind_rules(q):
    kind = q["kind"]

    if kind == "text":
        assert "choices" not in q, "text questions use `accepted`, not `choices`"
        accepted = q.get("accepted")
        assert isinstance(accepted, list) and accepted, "text needs a non-empty `accepted`"
        assert all(isinstance(a, str) and a.strip() for a in accepted)
        normalised = [_normalise_answer(a) for a in accepted]
        assert len(set(normalised)) == len(normalised), "accepted answers repeat after matching"
        return

    assert "accepted" not in q, "`accepted` is only for text questions"
    choices = q.get("choices")
    assert isinstance(choices, list) and choices, "choices required"
    for c in choices:
        assert isinstance(c, dict) and set(c) <= {"text", "correct"}, f"bad choice {c!r}"
        assert isinstance(c.get("text"), str) and c["text"].strip(), "choice text required"
        if "correct" in c:
            assert isinstance(c["correct"], bool)
    texts = [c["text"].strip() for c in choices]
    assert len(set(texts)) == len(texts), "choice texts must be distinct"
    n_correct = sum(1 for c in choices if c.get("correct"))

    if kind == "ordering":
        assert 3 <= len(choices) <= 6, "ordering needs 3-6 items"
        assert all("correct" not in c for c in choices), "ordering items carry no `correct`"
    elif kind == "true_false":
        assert texts == ["True", "False"], "true_false choices must be True, False"
        assert n_correct == 1
    elif kind in ("single", "code_output"):
        assert 3 <= len(choices) <= 6
        assert n_correct == 1, "exactly one correct choice"
    elif kind == "multiple":
        assert 4 <= len(choices) <= 5, "multiple needs 4-5 choices"
        assert n_correct >= 2, "multiple needs 2+ correct choices"
        assert len(choices) - n_correct >= 1, "multiple needs 1+ wrong choices"

    if kind == "code_output":
        assert isinstance(q.get("code"), str) and q["code"].strip(), "code_output needs code"


@pytest.mark.parametrize("q", CODE_OUTPUT, ids=_qid)
def test_code_output_snippet_is_tame(q):
    code = q["code"]
    lines = [line for line in code.splitlines() if line.strip()]
    assert 5 <= len(lines) <= 20, f"snippet has {len(lines)} non-blank lines"
    for token in FORBIDDEN_IN_SNIPPETS:
        assert token not in code, f"snippet must not use {token!r}"
    assert "print(" in code, "snippet must print its output"
    compile(code, q["slug"], "exec")


# --------------------------------------------------------------------------- coverage


def test_minimum_question_count():
    assert len(QUESTIONS) >= MIN_QUESTIONS, f"only {len(QUESTIONS)} questions"


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_covers_every_level(topic):
    levels = Counter(q.get("level") for q in QUESTIONS if q["_file_topic"] == topic)
    for level in LEVELS:
        assert levels[level] >= MIN_PER_TOPIC_LEVEL, f"{topic}/{level}: {levels[level]}"


@pytest.mark.parametrize("kind", KINDS)
def test_kind_used_often_enough(kind):
    count = sum(1 for q in QUESTIONS if q.get("kind") == kind)
    assert count >= MIN_PER_KIND, f"{kind} appears {count} times"


def test_enough_code_output_questions():
    assert len(CODE_OUTPUT) >= MIN_CODE_OUTPUT


def test_correct_answers_spread_across_positions():
    """The keyed answer should not sit in the same slot most of the time."""
    positions = Counter()
    for q in QUESTIONS:
        if q.get("kind") in ("single", "code_output"):
            idx = [i for i, c in enumerate(q["choices"]) if c.get("correct")]
            positions[idx[0]] += 1
    total = sum(positions.values())
    assert len(positions) >= 3, f"correct answers only at positions {dict(positions)}"
    assert max(positions.values()) <= total / 2, f"positions too uniform: {dict(positions)}"

    tf = Counter(
        next(c["text"] for c in q["choices"] if c.get("correct"))
        for q in QUESTIONS
        if q.get("kind") == "true_false"
    )
    assert tf["True"] and tf["False"], f"true_false answers all the same: {dict(tf)}"


# --------------------------------------------------------------------------- execution


def _snippet_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.mark.parametrize("q", CODE_OUTPUT, ids=_qid)
def test_code_output_snippet_prints_keyed_answer(q, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", q["code"]],
        cwd=tmp_path,
        env=_snippet_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=20,
    )
    assert proc.returncode == 0, f"snippet failed:\n{proc.stderr}"
    output = proc.stdout.rstrip()

    correct = [c["text"] for c in q["choices"] if c.get("correct")]
    assert correct == [output], f"keyed answer {correct!r} but the snippet printed {output!r}"
    wrong = [c["text"].rstrip() for c in q["choices"] if not c.get("correct")]
    assert output not in wrong, "a distractor equals the real output"


# --------------------------------------------------------------------------- quizzes

QUIZ_REQUIRED = {
    "slug",
    "title",
    "description",
    "public",
    "shuffle",
    "time_limit",
    "show_result",
    "select",
}
QUIZ_OPTIONAL = {"pass_mark"}


def _available(topic: str, level: str) -> int:
    return sum(1 for q in QUESTIONS if q["_file_topic"] == topic and q["level"] == level)


def _selected_count(select: dict) -> int:
    if "questions" in select:
        return len(select["questions"])
    levels = select.get("levels", list(LEVELS))
    combos = [(t, lv) for t in select["topics"] for lv in levels]
    if "per_topic_level" in select:
        n = select["per_topic_level"]
        return n * sum(1 for t, lv in combos if _available(t, lv) >= n)
    return sum(_available(t, lv) for t, lv in combos)


def _quiz_id(quiz: dict) -> str:
    return str(quiz.get("slug", "<no slug>"))


def test_quizzes_file_shape():
    assert isinstance(QUIZZES, list) and QUIZZES, "quizzes.toml needs [[quizzes]] entries"
    slugs = Counter(qz.get("slug") for qz in QUIZZES)
    dupes = sorted(str(s) for s, n in slugs.items() if n > 1)
    assert not dupes, f"duplicate quiz slugs: {dupes}"
    public = [qz for qz in QUIZZES if qz.get("public") is True]
    assert len(public) >= MIN_PUBLIC_QUIZZES


def test_public_quizzes_cover_every_topic():
    covered = set()
    for quiz in QUIZZES:
        if quiz.get("public") is not True:
            continue
        select = quiz.get("select", {})
        covered.update(select.get("topics", []))
        covered.update(
            BY_SLUG[s]["_file_topic"] for s in select.get("questions", []) if s in BY_SLUG
        )
    assert covered == set(TOPICS)


@pytest.mark.parametrize("quiz", QUIZZES, ids=_quiz_id)
def test_quiz_schema_and_selection(quiz):
    keys = set(quiz)
    assert not QUIZ_REQUIRED - keys, f"missing keys: {sorted(QUIZ_REQUIRED - keys)}"
    assert not keys - QUIZ_REQUIRED - QUIZ_OPTIONAL, (
        f"unknown keys: {sorted(keys - QUIZ_REQUIRED - QUIZ_OPTIONAL)}"
    )

    assert isinstance(quiz["slug"], str) and SLUG_RE.match(quiz["slug"])
    assert isinstance(quiz["title"], str) and quiz["title"].strip()
    assert isinstance(quiz["description"], str) and quiz["description"].strip()
    for flag in ("public", "shuffle", "show_result"):
        assert isinstance(quiz[flag], bool), f"{flag} must be a boolean"
    limit = quiz["time_limit"]
    assert isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0
    if "pass_mark" in quiz:
        mark = quiz["pass_mark"]
        assert isinstance(mark, int) and not isinstance(mark, bool) and 0 <= mark <= 100

    select = quiz["select"]
    assert isinstance(select, dict) and select
    if "questions" in select:
        assert set(select) == {"questions"}, "a fixed list cannot be combined with other filters"
        slugs = select["questions"]
        assert isinstance(slugs, list) and slugs
        assert len(set(slugs)) == len(slugs), "question listed twice"
        unknown = [s for s in slugs if s not in BY_SLUG]
        assert not unknown, f"unknown question slugs: {unknown}"
    else:
        assert set(select) <= {"topics", "levels", "per_topic_level"}, f"bad select {select}"
        topics = select.get("topics")
        assert isinstance(topics, list) and topics, "select needs topics or questions"
        assert len(set(topics)) == len(topics)
        assert set(topics) <= set(TOPICS), f"unknown topics: {set(topics) - set(TOPICS)}"
        levels = select.get("levels", list(LEVELS))
        assert isinstance(levels, list) and levels and set(levels) <= set(LEVELS)
        if "per_topic_level" in select:
            n = select["per_topic_level"]
            assert isinstance(n, int) and not isinstance(n, bool) and n >= 1

    count = _selected_count(select)
    assert count >= MIN_QUIZ_QUESTIONS, f"quiz selects only {count} questions"
