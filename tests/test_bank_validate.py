"""The bank rules (quiz/bank/validate.py) and the `bank check` / `bank stats` commands.

Each rule is shown to fire on a small bad sample, and a good sample (and a full synthetic bank
that meets the coverage minimums) to pass.
"""

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from quiz import create_app
from quiz.bank import BANK_DIR
from quiz.bank.cues import cues
from quiz.bank.inspect import format_stats, load_bank, stats
from quiz.bank.validate import (
    KINDS,
    LEVELS,
    MIN_PER_KIND,
    MIN_PER_TOPIC_LEVEL,
    MIN_QUESTIONS,
    REQUIRED_TOPICS,
    Problem,
    coverage,
    validate,
)
from quiz.db import close_all

REF = "https://flask.palletsprojects.com/en/stable/api/"
POINTS = {"junior": 1, "mid": 2, "senior": 3}

SNIPPET = """from flask import Flask

app = Flask(__name__)
@app.route("/")
def index():
    return "hi"
print(app.test_client().get("/").text)
"""


# --------------------------------------------------------------------------- samples


def question(topic: str, n: int, kind: str, level: str = "junior", right: int = 0) -> dict:
    """A valid question of `kind` whose (single) right answer sits at index `right`."""
    q = {
        "slug": f"{topic}-q{n}",
        "level": level,
        "kind": kind,
        "points": POINTS[level],
        "prompt": f"Prompt {n}?",
        "explanation": "Because it is so.",
        "reference": REF,
    }
    if kind in ("single", "code_output"):
        q["choices"] = [{"text": f"choice {i}"} for i in range(4)]
        q["choices"][right]["correct"] = True
    elif kind == "multiple":
        q["choices"] = [
            {"text": "a", "correct": True},
            {"text": "b"},
            {"text": "c", "correct": True},
            {"text": "d"},
        ]
        if right % 2:  # 3 right of 5: the count of right answers varies across the bank
            q["choices"].append({"text": "e", "correct": True})
    elif kind == "true_false":
        q["choices"] = [{"text": "True"}, {"text": "False"}]
        q["choices"][right % 2]["correct"] = True
    elif kind == "ordering":
        q["choices"] = [{"text": "first"}, {"text": "second"}, {"text": "third"}]
    elif kind == "text":
        q["accepted"] = ["answer", "other answer"]
    if kind == "code_output":
        q["code"] = SNIPPET
    return q


def good_topic(topic: str = "demo") -> dict:
    return {
        "topic": topic,
        "title": topic.capitalize(),
        "questions": [
            question(topic, 1, "single", "junior", right=0),
            question(topic, 2, "multiple", "junior"),
            question(topic, 3, "true_false", "mid", right=0),
            question(topic, 4, "code_output", "mid", right=1),
            question(topic, 5, "ordering", "senior"),
            question(topic, 6, "text", "senior"),
            question(topic, 7, "single", "senior", right=2),
            question(topic, 8, "true_false", "junior", right=1),
        ],
    }


def good_quiz(**changes) -> dict:
    quiz = {
        "slug": "demo-quiz",
        "title": "Demo quiz",
        "description": "All demo questions.",
        "public": True,
        "shuffle": True,
        "pass_mark": 60,
        "time_limit": 0,
        "show_result": True,
        "select": {"topics": ["demo"]},
    }
    quiz.update(changes)
    return quiz


def good_sample() -> tuple[list[dict], list[dict]]:
    return [good_topic()], [good_quiz()]


def full_bank() -> tuple[list[dict], list[dict]]:
    """A synthetic bank meeting every coverage minimum: 12 topics x 3 levels x 6 kinds."""
    topics = []
    for t, slug in enumerate(REQUIRED_TOPICS):
        questions = []
        for lv, level in enumerate(LEVELS):
            for k, kind in enumerate(KINDS):
                n = len(questions) + 1
                questions.append(question(slug, n, kind, level, right=(t + lv + k) % 4))
        topics.append({"topic": slug, "title": slug.title(), "questions": questions})
    quizzes = [
        good_quiz(slug="everything", select={"per_topic_level": 1}),
        good_quiz(slug="juniors", select={"levels": ["junior"], "per_topic_level": 1}),
    ]
    return topics, quizzes


def messages(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


# --------------------------------------------------------------------------- good samples


def test_good_sample_passes():
    topics, quizzes = good_sample()
    assert validate(topics, quizzes) == []


def test_full_bank_passes_validation_and_coverage():
    topics, quizzes = full_bank()
    assert sum(len(t["questions"]) for t in topics) >= MIN_QUESTIONS
    assert validate(topics, quizzes) == []
    assert coverage(topics) == []


def test_metadata_keys_are_ignored_and_locate_problems():
    topics, quizzes = good_sample()
    topics[0]["_file"] = "demo.toml"
    topics[0]["questions"][0]["_file"] = "demo.toml"
    topics[0]["questions"][0]["_line"] = 12
    assert validate(topics, quizzes) == []
    topics[0]["questions"][0]["level"] = "expert"
    [problem] = validate(topics, quizzes)
    assert (problem.file, problem.slug, problem.line) == ("demo.toml", "demo-q1", 12)
    assert str(problem).startswith("demo.toml:12: demo-q1: level 'expert'")


# --------------------------------------------------------------------------- each rule fires


def q(topics, index=0):
    return topics[0]["questions"][index]


def add_topic(topics, topic):
    topics.append(topic)


def set_right(question, index):
    for i, c in enumerate(question["choices"]):
        c.pop("correct", None)
        if i == index:
            c["correct"] = True


BAD_QUESTIONS = [
    ("missing-key", lambda t, z: q(t).pop("explanation"), "missing keys: explanation"),
    ("unknown-key", lambda t, z: q(t).update(hint="x"), "unknown keys: hint"),
    ("bad-level", lambda t, z: q(t).update(level="expert"), "level 'expert' is not one of"),
    ("bad-kind", lambda t, z: q(t).update(kind="essay"), "kind 'essay' is not one of"),
    ("slug-pattern", lambda t, z: q(t).update(slug="demo_Q1"), "must match [a-z0-9-]+"),
    ("slug-not-string", lambda t, z: q(t).update(slug=7), "must match [a-z0-9-]+"),
    ("slug-prefix", lambda t, z: q(t).update(slug="other-q1"), "must start with the topic slug"),
    ("points-zero", lambda t, z: q(t).update(points=0), "points must be a positive integer"),
    ("points-negative", lambda t, z: q(t).update(points=-1), "points must be a positive integer"),
    ("points-str", lambda t, z: q(t).update(points="1"), "points must be a positive integer"),
    ("points-bool", lambda t, z: q(t).update(points=True), "points must be a positive integer"),
    ("points-level", lambda t, z: q(t).update(points=3), "points should be 1 for a junior"),
    ("empty-prompt", lambda t, z: q(t).update(prompt="  \n"), "prompt must be a non-empty"),
    ("empty-explanation", lambda t, z: q(t).update(explanation=""), "explanation must be"),
    ("ref-http", lambda t, z: q(t).update(reference="http://flask.palletsprojects.com/"), "https"),
    ("ref-host", lambda t, z: q(t).update(reference="https://example.com/flask"), "not an allowed"),
    ("ref-space", lambda t, z: q(t).update(reference=REF + " x"), "whitespace"),
    ("ref-no-host", lambda t, z: q(t).update(reference="https:///en/stable/"), "no host"),
    ("ref-port", lambda t, z: q(t).update(reference="https://docs.python.org:8443/3/"), "port"),
    ("ref-not-url", lambda t, z: q(t).update(reference="https://[docs.python.org/"), "well-formed"),
    ("ref-not-str", lambda t, z: q(t).update(reference=None), "reference must be"),
    ("choices-missing", lambda t, z: q(t).pop("choices"), "choices must be a non-empty list"),
    ("choice-not-table", lambda t, z: q(t)["choices"].append("x"), "choice 5 is not a table"),
    ("choice-unknown-key", lambda t, z: q(t)["choices"][1].update(hint="x"), "unknown keys"),
    ("choice-empty-text", lambda t, z: q(t)["choices"][1].update(text=" "), "non-empty text"),
    ("choice-correct-type", lambda t, z: q(t)["choices"][1].update(correct="no"), "true or false"),
    ("choices-distinct", lambda t, z: q(t)["choices"][1].update(text="choice 2 "), "distinct"),
    ("single-two-right", lambda t, z: q(t)["choices"][1].update(correct=True), "exactly one right"),
    ("single-no-right", lambda t, z: q(t)["choices"][0].pop("correct"), "exactly one right"),
    ("single-two-choices", lambda t, z: q(t).update(choices=q(t)["choices"][:2]), "3-6 choices"),
    ("single-with-accepted", lambda t, z: q(t).update(accepted=["a"]), "only for text"),
    ("multiple-one-right", lambda t, z: q(t, 1)["choices"][2].pop("correct"), "at least two right"),
    (
        "multiple-no-wrong",
        lambda t, z: [c.update(correct=True) for c in q(t, 1)["choices"]],
        "at least one wrong",
    ),
    (
        "multiple-too-many",
        lambda t, z: q(t, 1)["choices"].extend([{"text": "e"}, {"text": "f"}]),
        "4-5",
    ),
    ("tf-order", lambda t, z: q(t, 2)["choices"].reverse(), 'exactly "True", "False"'),
    ("tf-two-right", lambda t, z: q(t, 2)["choices"][1].update(correct=True), "exactly one right"),
    ("tf-yes-no", lambda t, z: q(t, 2)["choices"][1].update(text="No"), '"True", "False"'),
    ("code-output-two-right", lambda t, z: q(t, 3)["choices"][0].update(correct=True), "one right"),
    ("code-output-no-code", lambda t, z: q(t, 3).pop("code"), "need `code`"),
    ("code-output-empty-code", lambda t, z: q(t, 3).update(code="  "), "need `code`"),
    (
        "code-output-no-print",
        lambda t, z: q(t, 3).update(code=SNIPPET.replace("print", "len")),
        "print",
    ),
    ("code-output-short", lambda t, z: q(t, 3).update(code="print(1)\n"), "non-blank lines"),
    (
        "code-output-syntax",
        lambda t, z: q(t, 3).update(code=SNIPPET + "def (\n"),
        "does not compile",
    ),
    ("code-output-server", lambda t, z: q(t, 3).update(code=SNIPPET + "app.run()\n"), "'.run('"),
    ("code-output-files", lambda t, z: q(t, 3).update(code=SNIPPET + "open('x', 'w')\n"), "open("),
    ("ordering-correct", lambda t, z: q(t, 4)["choices"][0].update(correct=True), "carry no"),
    ("ordering-two-items", lambda t, z: q(t, 4)["choices"].pop(), "ordering needs 3-6"),
    (
        "ordering-seven-items",
        lambda t, z: q(t, 4).update(choices=[{"text": str(i)} for i in range(7)]),
        "3-6",
    ),
    ("ordering-repeat", lambda t, z: q(t, 4)["choices"][2].update(text="first"), "distinct"),
    ("text-with-choices", lambda t, z: q(t, 5).update(choices=[{"text": "a"}]), "not `choices`"),
    ("text-no-accepted", lambda t, z: q(t, 5).pop("accepted"), "non-empty `accepted`"),
    ("text-empty-accepted", lambda t, z: q(t, 5).update(accepted=[]), "non-empty `accepted`"),
    ("text-blank-answer", lambda t, z: q(t, 5).update(accepted=["a", " "]), "non-empty strings"),
    (
        "text-repeat",
        lambda t, z: q(t, 5).update(accepted=["url_prefix", "`URL_PREFIX`."]),
        "repeat",
    ),
    ("question-not-table", lambda t, z: t[0]["questions"].append("oops"), "not a table"),
]

BAD_TOPICS = [
    ("topic-unknown-key", lambda t, z: t[0].update(author="me"), "unknown top-level keys: author"),
    ("topic-bad-slug", lambda t, z: t[0].update(topic="Demo Topic"), "topic slug 'Demo Topic'"),
    ("topic-no-title", lambda t, z: t[0].update(title=""), "title must be"),
    ("topic-no-questions", lambda t, z: t[0].update(questions=[]), "at least one [[questions]]"),
    (
        "topic-declared-twice",
        lambda t, z: add_topic(
            t, {**good_topic("demo"), "questions": [question("demo", 99, "text")]}
        ),
        "topic demo is also declared in",
    ),
    (
        "duplicate-slug-across-files",
        lambda t, z: add_topic(t, good_topic("demo")),
        "duplicate question slug",
    ),
    (
        "topic-same-position",
        lambda t, z: [set_right(q(t, i), 0) for i in (3, 6)],
        "every single/code_output question has its right answer at position 1",
    ),
]


def _bank_skewed(topics, quizzes):
    """Right answers at positions 1, 2, 1: two of three at one position."""
    set_right(q(topics, 6), 0)


def _all_true(topics, quizzes):
    for i in (2, 7):
        q(topics, i)["choices"] = [{"text": "True", "correct": True}, {"text": "False"}]


def _two_positions(topics, quizzes):
    set_right(q(topics, 6), 1)


BAD_BANK = [
    ("bank-position-over-half", _bank_skewed, "(more than 50%)"),
    ("bank-two-positions", _two_positions, "use at least 3"),
    ("bank-true-false-all-same", _all_true, "every true_false question is answered True"),
]

BAD_QUIZZES = [
    ("quiz-missing-key", lambda t, z: z[0].pop("title"), "missing keys: title"),
    ("quiz-unknown-key", lambda t, z: z[0].update(colour="red"), "unknown keys: colour"),
    ("quiz-bad-slug", lambda t, z: z[0].update(slug="Demo Quiz"), "quiz slug"),
    ("quiz-duplicate-slug", lambda t, z: z.append(good_quiz()), "duplicate quiz slug"),
    ("quiz-empty-description", lambda t, z: z[0].update(description=" "), "description must be"),
    ("quiz-public-type", lambda t, z: z[0].update(public="yes"), "public must be true or false"),
    ("quiz-pass-mark-high", lambda t, z: z[0].update(pass_mark=101), "pass_mark"),
    ("quiz-pass-mark-low", lambda t, z: z[0].update(pass_mark=-1), "pass_mark"),
    ("quiz-pass-mark-float", lambda t, z: z[0].update(pass_mark=60.5), "pass_mark"),
    ("quiz-time-limit", lambda t, z: z[0].update(time_limit=-5), "time_limit"),
    (
        "quiz-unknown-topic",
        lambda t, z: z[0].update(select={"topics": ["demo", "nope"]}),
        "unknown topics: nope",
    ),
    (
        "quiz-unknown-level",
        lambda t, z: z[0].update(select={"levels": ["guru"]}),
        "unknown levels: guru",
    ),
    (
        "quiz-unknown-question",
        lambda t, z: z[0].update(
            select={"questions": ["demo-q1", "demo-q2", "demo-q3", "demo-q4", "demo-q5", "nope"]}
        ),
        "unknown question slugs: nope",
    ),
    (
        "quiz-question-twice",
        lambda t, z: z[0].update(
            select={"questions": ["demo-q1"] * 2 + ["demo-q2", "demo-q3", "demo-q4", "demo-q5"]}
        ),
        "listed twice",
    ),
    (
        "quiz-fixed-and-filter",
        lambda t, z: z[0].update(select={"questions": ["demo-q1"], "topics": ["demo"]}),
        "cannot be combined",
    ),
    (
        "quiz-select-unknown-key",
        lambda t, z: z[0].update(select={"topic": ["demo"]}),
        "select: unknown keys: topic",
    ),
    ("quiz-select-empty", lambda t, z: z[0].update(select={}), "select must be a non-empty table"),
    (
        "quiz-per-topic-level-zero",
        lambda t, z: z[0]["select"].update(per_topic_level=0),
        "per_topic_level",
    ),
    (
        "quiz-too-few",
        lambda t, z: z[0]["select"].update(per_topic_level=1),
        "quiz selects 3 question(s)",
    ),
    (
        "quiz-too-few-fixed",
        lambda t, z: z[0].update(select={"questions": ["demo-q1"]}),
        "selects 1 question",
    ),
    (
        "quiz-topic-not-public",
        lambda t, z: z[0].update(public=False),
        "not part of any public quiz",
    ),
    ("quiz-none", lambda t, z: z.clear(), "not part of any public quiz"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=i) for i, m, e in BAD_QUESTIONS + BAD_TOPICS + BAD_BANK + BAD_QUIZZES],
)
def test_rule_fires(mutate, expected):
    topics, quizzes = good_sample()
    mutate(topics, quizzes)
    problems = validate(topics, quizzes)
    assert any(expected in p.message for p in problems), (
        f"expected a problem containing {expected!r}, got:\n{messages(problems)}"
    )


def test_validate_never_crashes_on_garbage():
    garbage = [
        None,
        "x",
        {"topic": 3, "questions": "nope"},
        {"questions": [None, {"kind": "single", "choices": "x"}]},
    ]
    problems = validate(garbage, [None, {"select": "x"}])
    assert problems and all(isinstance(p, Problem) for p in problems)


def test_bank_problems_are_reported_once_for_the_bank():
    topics, quizzes = good_sample()
    _bank_skewed(topics, quizzes)
    problems = [p for p in validate(topics, quizzes) if "more than 50%" in p.message]
    assert [(p.file, p.slug) for p in problems] == [("(bank)", "-")]


# --------------------------------------------------------------------------- coverage


def _drop_questions(topics, keep):
    for t in topics:
        t["questions"] = [x for x in t["questions"] if keep(t, x)]


COVERAGE_CASES = [
    (
        "too-few-questions",
        lambda t: _drop_questions(t, lambda top, x: x["kind"] != "text"),
        "needs at least 200",
    ),
    ("missing-topic", lambda t: t.pop(), "performance: required topic has no topic file"),
    (
        "topic-level-short",
        lambda t: t[0].update(questions=t[0]["questions"][: len(KINDS) + MIN_PER_TOPIC_LEVEL - 1]),
        f"{MIN_PER_TOPIC_LEVEL - 1} mid question(s), needs at least {MIN_PER_TOPIC_LEVEL}",
    ),
    (
        "few-code-output",
        lambda t: _drop_questions(
            t, lambda top, x: x["kind"] != "code_output" or top["topic"] in REQUIRED_TOPICS[:3]
        ),
        f"code_output questions, needs at least {MIN_PER_KIND['code_output']}",
    ),
    (
        "few-ordering",
        lambda t: _drop_questions(
            t, lambda top, x: x["kind"] != "ordering" or top["topic"] in REQUIRED_TOPICS[:4]
        ),
        f"ordering questions, needs at least {MIN_PER_KIND['ordering']}",
    ),
    (
        "few-multiple",
        lambda t: _drop_questions(
            t, lambda top, x: x["kind"] != "multiple" or top["topic"] in REQUIRED_TOPICS[:8]
        ),
        f"multiple questions, needs at least {MIN_PER_KIND['multiple']}",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in COVERAGE_CASES]
)
def test_coverage_rule_fires(mutate, expected):
    topics, _ = full_bank()
    mutate(topics)
    problems = coverage(topics)
    assert any(expected in str(p) for p in problems), (
        f"expected a problem containing {expected!r}, got:\n{messages(problems)}"
    )


def test_coverage_counts_an_extra_topic_too():
    topics, _ = full_bank()
    topics.append({"topic": "extra", "title": "Extra", "questions": [question("extra", 1, "text")]})
    problems = coverage(topics)
    assert {p.slug for p in problems} == {"extra"}
    assert {p.message for p in problems} >= {"0 mid question(s), needs at least 4"}


# --------------------------------------------------------------------------- files and loading


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _table(header: str, data: dict) -> str:
    return f"{header}\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in data.items())


def write_bank(folder: Path, topics: list[dict], quizzes: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for t in topics:
        text = f"topic = {_toml_value(t['topic'])}\ntitle = {_toml_value(t['title'])}\n"
        text += "".join("\n" + _table("[[questions]]", x) for x in t["questions"])
        (folder / f"{t['topic'].replace('-', '_')}.toml").write_text(text, "utf-8")
    text = "".join("\n" + _table("[[quizzes]]", z) for z in quizzes)
    (folder / "quizzes.toml").write_text(text, "utf-8")
    return folder


@pytest.fixture
def good_dir(tmp_path):
    return write_bank(tmp_path / "good", *full_bank())


def test_written_bank_round_trips(good_dir):
    loaded = load_bank(good_dir)
    assert loaded.problems == []
    assert len(loaded.topics) == len(REQUIRED_TOPICS) and len(loaded.quizzes) == 2
    assert validate(loaded.topics, loaded.quizzes) == [] and coverage(loaded.topics) == []
    assert cues(loaded.topics) == []
    first = loaded.topics[0]["questions"][0]
    assert first["_file"] == "app_factory.toml" and first["_line"] == 4


def test_load_bank_reports_invalid_toml(good_dir):
    (good_dir / "broken.toml").write_text('topic = "broken"\n[[questions]\n', "utf-8")
    loaded = load_bank(good_dir)
    [problem] = loaded.problems
    assert problem.file == "broken.toml" and "invalid TOML" in problem.message
    assert len(loaded.topics) == len(REQUIRED_TOPICS)


def test_load_bank_reports_a_missing_folder(tmp_path):
    loaded = load_bank(tmp_path / "nowhere")
    assert [p.message for p in loaded.problems] == ["not a folder"]


def test_line_numbers_point_at_the_question(good_dir):
    path = good_dir / "routing.toml"
    text = path.read_text("utf-8")
    path.write_text(text.replace('level = "mid"', 'level = "middle"', 1), "utf-8")
    loaded = load_bank(good_dir)
    [problem] = validate(loaded.topics, loaded.quizzes)
    lines = path.read_text("utf-8").splitlines()
    assert lines[problem.line - 1] == "[[questions]]"
    assert 'level = "middle"' in lines[problem.line : problem.line + 3]


def test_stats_shape_and_counts(good_dir):
    data = stats(load_bank(good_dir).topics)
    assert set(data) == {"total", "by_kind", "by_topic_level"}
    assert data["total"] == len(REQUIRED_TOPICS) * len(LEVELS) * len(KINDS)
    assert list(data["by_kind"]) == list(KINDS)
    assert set(data["by_kind"].values()) == {len(REQUIRED_TOPICS) * len(LEVELS)}
    assert set(data["by_topic_level"]) == set(REQUIRED_TOPICS)
    assert all(
        counts == dict.fromkeys(LEVELS, len(KINDS)) for counts in data["by_topic_level"].values()
    )


def test_stats_include_zeros():
    data = stats([{"topic": "demo", "title": "Demo", "questions": [question("demo", 1, "text")]}])
    assert data == {
        "total": 1,
        "by_kind": {
            "single": 0,
            "multiple": 0,
            "true_false": 0,
            "code_output": 0,
            "ordering": 0,
            "text": 1,
        },
        "by_topic_level": {"demo": {"junior": 1, "mid": 0, "senior": 0}},
    }
    table = format_stats(data).splitlines()
    assert table[0].split() == ["topic", "junior", "mid", "senior", "total"]
    assert table[2].split() == ["demo", "1", "0", "0", "1"]
    assert len({len(line) for line in table[:5]}) == 1, "columns are aligned"


# --------------------------------------------------------------------------- the commands


@pytest.fixture
def cli(tmp_path):
    """A CLI runner for an app whose database is never created."""

    def runner(**config):
        app = create_app({"INSTANCE_PATH": tmp_path / "instance", "TESTING": True, **config})
        return app.test_cli_runner()

    yield runner
    assert not (tmp_path / "instance" / "quiz.sqlite3").exists(), (
        "the bank commands used the database"
    )
    close_all()


def test_check_passes_on_a_good_bank(cli, good_dir):
    result = cli().invoke(args=["bank", "check", "--dir", str(good_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("No problems: 216 questions in 12 topic files, 2 quizzes")


def test_check_uses_the_configured_bank_dir(cli, good_dir):
    result = cli(BANK_DIR=str(good_dir)).invoke(args=["bank", "check"])
    assert result.exit_code == 0, result.output
    assert str(good_dir) in result.output


def test_check_fails_on_a_bad_bank(cli, good_dir):
    path = good_dir / "wsgi.toml"
    text = path.read_text("utf-8").replace('slug = "wsgi-q2"', 'slug = "wsgi-q1"')
    path.write_text(text, "utf-8")
    (good_dir / "half_written.toml").write_text('topic = "half"\nquestions = [\n', "utf-8")
    result = cli().invoke(args=["bank", "check", "--dir", str(good_dir)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(
        line.startswith("wsgi.toml:") and ": wsgi-q1: duplicate question slug" in line
        for line in lines
    )
    assert any(line.startswith("half_written.toml:") and "invalid TOML" in line for line in lines)
    assert lines[-1].startswith("2 problem(s) in 2 file(s); 216 questions in 12 topic files")


def test_check_fails_on_a_broken_copy_of_the_shipped_bank(cli, tmp_path):
    copy_dir = tmp_path / "shipped"
    shutil.copytree(
        BANK_DIR, copy_dir, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__")
    )
    path = copy_dir / "blueprints.toml"
    path.write_text(
        path.read_text("utf-8").replace('level = "junior"', 'level = "beginner"', 1), "utf-8"
    )
    result = cli().invoke(args=["bank", "check", "--dir", str(copy_dir)])
    assert result.exit_code == 1
    assert "level 'beginner' is not one of junior, mid, senior" in result.output


def test_check_fails_on_a_bank_with_test_wiseness_cues(cli, good_dir):
    """Right answers that are the longest choice, and one count of right answers: `bank check`
    fails and names the questions to rewrite."""
    for path in good_dir.glob("*.toml"):
        text = path.read_text("utf-8")
        text = re.sub(
            r'\{ text = "choice \d", correct = true \}',
            '{ text = "the longest choice of all", correct = true }',
            text,
        )
        text = text.replace('{ text = "e", correct = true }', '{ text = "e" }')
        path.write_text(text, "utf-8")
    result = cli().invoke(args=["bank", "check", "--dir", str(good_dir)])
    assert result.exit_code == 1, result.output
    longest = next(line for line in result.output.splitlines() if "is the longest choice" in line)
    assert "app-factory-q1" in longest and "single-choice questions (at most 33%)" in longest
    count = next(line for line in result.output.splitlines() if "share a count" in line)
    assert count.startswith("(bank): -: 36 of 36 multiple-choice questions have 2 right answers")
    assert "wsgi-q2" in count


def test_check_fails_on_a_missing_folder(cli, tmp_path):
    result = cli().invoke(args=["bank", "check", "--dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "not a folder" in result.output


def test_stats_json(cli, good_dir):
    result = cli().invoke(args=["bank", "stats", "--dir", str(good_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == stats(load_bank(good_dir).topics)
    assert set(data) == {"total", "by_kind", "by_topic_level"} and data["total"] == 216


def test_stats_json_on_the_shipped_bank_has_every_key(cli):
    result = cli().invoke(args=["bank", "stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == sum(data["by_kind"].values()) > 0
    assert set(data["by_kind"]) == set(KINDS)
    assert all(set(levels) == set(LEVELS) for levels in data["by_topic_level"].values())


def test_stats_table(cli, good_dir):
    result = cli().invoke(args=["bank", "stats", "--dir", str(good_dir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["topic", "junior", "mid", "senior", "total"]
    assert "total  " in result.output and lines[-1].split() == ["total", "216"]
    assert any(line.split() == ["routing", "6", "6", "6", "18"] for line in lines)
    assert any(line.split() == ["code_output", "36"] for line in lines)


def test_check_does_not_change_the_sample(good_dir):
    """validate() must not mutate what it is given."""
    topics, quizzes = full_bank()
    before = copy.deepcopy((topics, quizzes))
    validate(topics, quizzes)
    coverage(topics)
    assert (topics, quizzes) == before
