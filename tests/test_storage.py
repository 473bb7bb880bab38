"""Database set-up, idempotent schema and seeding, and the server-side session store."""

import json
import os
import socket
from pathlib import Path

import pytest
from conftest import TEST_BANK, file_sessions_only, make_app, sqlite_only

from quiz import bank
from quiz.db import close_all, create_schema, database
from quiz.models import Answer, Attempt, Question, Quiz


@sqlite_only
def test_sqlite_pragmas(app):
    with database.connection_context():
        pragma = lambda name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000


@sqlite_only
def test_writes_take_the_lock_up_front(app):
    assert database.obj._lock_type == "IMMEDIATE"


def test_schema_creation_is_idempotent(app):
    create_schema()
    create_schema()
    assert Question.select().count() == 6


def test_seed_is_idempotent_and_a_change_is_a_new_version(app, tmp_path, make_candidate):
    report = bank.seed(TEST_BANK)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 6)
    before = Question.get(Question.slug == "t-single")
    v1_choices = {c.text: c.id for c in before.choices}
    # An attempt in progress on version 1, with the right answer already saved.
    first = make_candidate()
    pid = first.start("basics")
    data = {"csrf_token": first.token, "q": "1", "question": str(before.id), "nav": "next"}
    r = first.client.post(
        f"/attempts/{pid}/answers",
        data={**data, "choice": first.choice_token(pid, v1_choices["request"])},
    )
    assert r.status_code == 303

    changed = tmp_path / "bank"
    changed.mkdir()
    source = (TEST_BANK / "flask.toml").read_text()
    (changed / "flask.toml").write_text(
        source.replace('{ text = "app" }', '{ text = "current_app" }')
    )
    (changed / "quizzes.toml").write_text((TEST_BANK / "quizzes.toml").read_text())
    report = bank.seed(changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 5)
    assert bank.seed(changed).updated == 0  # idempotent: no version 3
    versions = list(Question.select().where(Question.slug == "t-single").order_by(Question.version))
    assert [(q.id, q.version, q.current) for q in versions] == [
        (before.id, 1, False),
        (versions[1].id, 2, True),
    ]
    v1, v2 = versions
    assert {c.text: c.id for c in v1.choices} == v1_choices  # version 1 is untouched
    assert {c.text for c in v2.choices} == {"g", "request", "current_app"}
    assert not set(v1_choices.values()) & {c.id for c in v2.choices}  # its own choice rows
    assert Question.select().where(Question.current == True).count() == 6  # noqa: E712
    assert Quiz.select().count() == 4

    # The attempt in progress still shows and scores version 1 ...
    html = first.client.get(f"/attempts/{pid}?q=1").get_data(as_text=True)
    assert f'name="question" value="{v1.id}"' in html
    assert ">app<" in html and "current_app" not in html
    r = first.client.post(
        f"/attempts/{pid}/answers", data={**data, **first.named(pid, {"choice": v1_choices["app"]})}
    )
    assert r.status_code == 303  # answering version 1 after the change still works
    first.client.post(
        f"/attempts/{pid}/answers",
        data={**data, **first.named(pid, {"choice": v1_choices["request"]})},
    )
    assert first.finish(pid).status_code == 303
    attempt = Attempt.get(Attempt.public_id == pid)
    assert attempt.question_ids[0] == v1.id and attempt.score == 1.0
    answer = Answer.get(Answer.attempt == attempt)
    assert (answer.question_id, answer.correct) == (v1.id, True)
    result = first.client.get(f"/attempts/{pid}/result").get_data(as_text=True)
    assert "request" in result and "current_app" not in result

    # ... and a new attempt gets version 2.
    second = make_candidate()
    attempt = Attempt.get(Attempt.public_id == second.start("basics"))
    assert attempt.question_ids[0] == v2.id  # same place in the fixed order
    html = second.client.get(f"/attempts/{attempt.public_id}?q=1").get_data(as_text=True)
    assert "current_app" in html


def test_shipped_bank_seeds_cleanly_twice(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    again = runner.invoke(args=["seed"])
    assert " 0 created, 0 updated" in again.output
    assert Quiz.select().where(Quiz.public == True).count() >= 3 + 3  # noqa: E712 (+ test bank)
    assert Question.select().where(Question.topic != "basics").count() >= 30


def test_foreign_keys_are_enforced(app):
    from peewee import IntegrityError

    with pytest.raises(IntegrityError), database.atomic():
        Answer.create(attempt=999, question=1)


def session_files(app) -> list[Path]:
    folder = Path(app.instance_path) / "sessions"
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


@file_sessions_only
def test_sessions_are_json_files_holding_ids_and_positions(candidate, app):
    pid = candidate.start()
    candidate.client.get(f"/attempts/{pid}?q=3")
    (path,) = session_files(app)
    data = json.loads(path.read_bytes()[4:])  # cachelib prefixes a 4-byte expiry
    assert set(data) <= {"candidate", "pos", "csrf_token", "_permanent"}
    assert data["pos"] == {pid: 3}
    assert isinstance(data["candidate"], str)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


@file_sessions_only
def test_file_store_never_evicts(app):
    assert app.config["SESSION_CACHELIB"]._threshold == 0


@file_sessions_only
def test_one_session_per_browser_not_per_request(candidate, app):
    pid = candidate.start()
    for n in range(1, 7):
        candidate.client.get(f"/attempts/{pid}?q={n}")
    candidate.client.get("/")
    assert len(session_files(app)) == 1


@file_sessions_only
def test_clean_sessions_command_removes_expired_files(candidate, app, runner):
    candidate.start()
    (path,) = session_files(app)
    raw = path.read_bytes()
    path.write_bytes((1).to_bytes(4, "little") + raw[4:])  # expired in 1970
    result = runner.invoke(args=["clean-sessions"])
    assert "Removed 1 expired" in result.output
    assert session_files(app) == []


def redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.services
@pytest.mark.skipif(not redis_up(), reason="Redis is not answering on 127.0.0.1:6379")
def test_redis_sessions(tmp_path):
    import redis

    prefix = f"test-{os.getpid()}-"
    app = make_app(tmp_path, REDIS_URL="redis://127.0.0.1:6379/15", SESSION_KEY_PREFIX=prefix)
    try:
        from conftest import Candidate

        candidate = Candidate(app.test_client())
        pid = candidate.start()
        candidate.client.get(f"/attempts/{pid}?q=2")
        r = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        keys = r.keys(prefix + "*")
        assert len(keys) == 1
        data = json.loads(r.get(keys[0]))
        assert data["pos"] == {pid: 2}
        assert r.ttl(keys[0]) > 0
        assert session_files(app) == []
        assert app.test_client().get("/healthz").status_code == 200
        r.delete(*keys)
    finally:
        close_all()
