"""manage.py and `flask --app quiz` share the same commands."""

import os
import subprocess
import sys
from pathlib import Path

from werkzeug.security import check_password_hash

from quiz.models import User

ROOT = Path(__file__).resolve().parent.parent


def test_init_db_and_seed(runner):
    assert "Database ready" in runner.invoke(args=["init-db"]).output
    assert "quizzes" in runner.invoke(args=["seed"]).output


def test_create_user_hashes_the_password(runner):
    result = runner.invoke(
        args=["create-user", "Ada@Example.com", "--role", "admin", "--password", "correct horse 1"]
    )
    assert result.exit_code == 0, result.output
    user = User.get(User.email == "ada@example.com")
    assert user.role == "admin" and user.password_hash.startswith(
        "pbkdf2:"
    )  # the tests' cheap method
    assert check_password_hash(user.password_hash, "correct horse 1")
    again = runner.invoke(
        args=["create-user", "ada@example.com", "--role", "admin", "--password", "correct horse 1"]
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_user_refuses_bad_input(runner):
    short = runner.invoke(args=["create-user", "a@b.c", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0 and "at least 10" in short.output
    role = runner.invoke(args=["create-user", "a@b.c", "--role", "boss", "--password", "x" * 12])
    assert role.exit_code != 0 and "boss" in role.output
    assert User.select().count() == 0


def manage(tmp_path, *args):
    """Run manage.py as a user would, with its own instance folder."""
    env = {**os.environ, "QUIZ_INSTANCE_PATH": str(tmp_path / "inst")}
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_manage_py_lists_the_commands(tmp_path):
    out = manage(tmp_path, "--help")
    assert out.returncode == 0, out.stderr
    for command in ("init-db", "seed", "serve", "create-user", "clean-sessions"):
        assert command in out.stdout
    seeded = manage(tmp_path, "seed")
    assert seeded.returncode == 0 and "created" in seeded.stdout
    assert (tmp_path / "inst" / "quiz.sqlite3").exists()


def test_readme_quick_start_has_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```sh\n")[1:]
    commands = [b.split("```", 1)[0].strip() for b in blocks]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[0].endswith("manage.py serve")
    assert commands[1].endswith("-m pytest")
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_serve_loads_the_bank_only_into_an_empty_database(app):
    """Restarting the server must not undo an admin's edit of a shipped question."""
    from dataclasses import replace

    from quiz import bank
    from quiz.cli import load_bank_if_empty
    from quiz.db import database

    app.config["BANK_DIR"] = str(ROOT / "tests" / "data" / "bank")
    with app.app_context():
        assert "Question bank: 6 questions" in load_bank_if_empty()  # the fixture seeded it
        spec = bank.spec_from_row(bank.current_version("t-single"))
        with database.atomic():
            bank.save_question(replace(spec, prompt="Edited by an admin"))
        load_bank_if_empty()  # what a restart of `serve` does
        assert bank.current_version("t-single").prompt == "Edited by an admin"


def test_serve_loads_the_bank_into_an_empty_database(tmp_path):
    from quiz import create_app
    from quiz.cli import load_bank_if_empty
    from quiz.db import close_all

    app = create_app({"INSTANCE_PATH": tmp_path / "i", "BANK_DIR": str(ROOT / "tests/data/bank")})
    try:
        with app.app_context():
            assert load_bank_if_empty() == "Question bank loaded: 6 questions, 4 quizzes."
    finally:
        close_all()
