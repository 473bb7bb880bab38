"""Checks on the shipped question bank in quiz/bank/*.toml (no app, no database).

Every *.toml in the folder except quizzes.toml is a topic file. The rules themselves live in
quiz/bank/validate.py (also run by `manage.py bank check`); these tests apply them to the shipped
bank and run every code_output snippet to prove its marked answer is what it really prints.
"""

import os
import subprocess
import sys

import pytest

from quiz.bank import BANK_DIR
from quiz.bank.inspect import load_bank
from quiz.bank.validate import coverage, validate

LOADED = load_bank(BANK_DIR)
QUESTIONS = LOADED.questions
CODE_OUTPUT = [q for q in QUESTIONS if q.get("kind") == "code_output"]


def _report(problems) -> str:
    lines = [str(p) for p in problems]
    return f"{len(lines)} problem(s) in the question bank:\n  " + "\n  ".join(lines)


def test_bank_is_valid():
    """Schema, answers, links, answer positions and quizzes: see quiz/bank/validate.py."""
    problems = LOADED.problems + validate(LOADED.topics, LOADED.quizzes)
    if problems:
        pytest.fail(_report(problems), pytrace=False)


def test_bank_coverage():
    """Enough questions overall, per topic and level, and per kind; every topic present."""
    problems = coverage(LOADED.topics)
    if problems:
        pytest.fail(_report(problems), pytrace=False)


# --------------------------------------------------------------------------- execution


def _snippet_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _qid(q: dict) -> str:
    return str(q.get("slug", "<no slug>"))


def test_there_are_snippets_to_run():
    assert CODE_OUTPUT, "no code_output questions found in the bank"


@pytest.mark.parametrize("q", CODE_OUTPUT, ids=_qid)
def test_code_output_snippet_prints_marked_answer(q, tmp_path):
    assert isinstance(q.get("code"), str), "code_output question without code"
    proc = subprocess.run(
        [sys.executable, "-c", q["code"]],
        cwd=tmp_path,
        env=_snippet_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )
    assert proc.returncode == 0, f"snippet failed:\n{proc.stderr}"
    output = proc.stdout.rstrip()

    choices = [c for c in q.get("choices", []) if isinstance(c, dict)]
    correct = [c.get("text") for c in choices if c.get("correct")]
    assert correct == [output], f"marked answer {correct!r} but the snippet printed {output!r}"
    wrong = [str(c.get("text", "")).rstrip() for c in choices if not c.get("correct")]
    assert output not in wrong, "a wrong choice equals the real output"
