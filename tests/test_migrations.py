"""Schema migrations (quiz.migrations): new databases, databases from before migrations, and
several processes migrating at once. On the engine of the run (QUIZ_TEST_DATABASE_URL: each
test in its own PostgreSQL schema), never on the tables the other tests share."""

import contextlib
import secrets
import threading
import time
from datetime import datetime

import pytest
from conftest import SERVER_DATABASE
from peewee import (
    BooleanField,
    CharField,
    DatabaseError,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    TextField,
)

from quiz import create_app, migrations
from quiz.db import close_all, create_schema, database, make_database
from quiz.migrations import BASELINE, MIGRATIONS, Migration, SchemaError, SchemaVersion
from quiz.models import (
    MODELS,
    Answer,
    Attempt,
    BaseModel,
    Choice,
    Event,
    Invitation,
    JSONField,
    Question,
    Quiz,
    User,
)

EVERY_MIGRATION = {BASELINE, *(m.name for m in MIGRATIONS)}


@pytest.fixture
def url(tmp_path):
    """A database of our own: a SQLite file, or a fresh PostgreSQL schema."""
    if not SERVER_DATABASE:
        yield f"sqlite+pool:///{tmp_path / 'old.sqlite3'}"
        return
    schema = f"migrations_{secrets.token_hex(6)}"
    admin = make_database(SERVER_DATABASE)
    with admin.connection_context():
        admin.execute_sql(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in SERVER_DATABASE else "?"
    yield f"{SERVER_DATABASE}{joiner}options=-csearch_path%3D{schema}"
    with admin.connection_context():
        admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.close_all()


@pytest.fixture
def bound(url):
    """The database proxy bound to that database."""
    database.initialize(make_database(url))
    yield url
    close_all()


# The schema of the first release (commit 2e8e70b): question slugs were unique and had no
# versions, invitations had no reminder, attempts had fewer indexes, 8 of today's 16 tables.
class OldQuestion(BaseModel):
    slug = CharField(unique=True, max_length=120)
    topic = CharField(max_length=60, index=True)
    level = CharField(max_length=10)
    kind = CharField(max_length=16)
    prompt = TextField()
    code = TextField(default="")
    explanation = TextField(default="")
    reference = CharField(max_length=500, default="")
    points = IntegerField(default=1)
    active = BooleanField(default=True)
    version = IntegerField(default=1)

    class Meta:
        table_name = "question"


class OldInvitation(BaseModel):
    token_hash = CharField(unique=True, max_length=64)
    quiz = ForeignKeyField(Quiz)
    candidate_name = CharField(max_length=200)
    candidate_email = CharField(max_length=254)
    created_by = ForeignKeyField(User, null=True)
    created_at = DateTimeField()
    expires_at = DateTimeField()
    time_limit = IntegerField(null=True)
    show_score = BooleanField(default=False)
    max_attempts = IntegerField(default=1)
    opened_at = DateTimeField(null=True)
    revoked = BooleanField(default=False)

    class Meta:
        table_name = "invitation"


class OldAttempt(BaseModel):
    public_id = CharField(unique=True, max_length=43)
    owner_key = CharField(max_length=64, index=True)
    quiz = ForeignKeyField(Quiz)
    invitation = ForeignKeyField(OldInvitation, null=True)
    candidate_name = CharField(max_length=200, default="")
    candidate_email = CharField(max_length=254, default="")
    question_ids = JSONField()
    started_at = DateTimeField()
    deadline = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    status = CharField(max_length=16, default="in_progress", index=True)
    score = FloatField(null=True)
    max_score = FloatField(null=True)
    level = CharField(max_length=10, null=True)

    class Meta:
        table_name = "attempt"


FIRST_RELEASE = [User, Quiz, OldQuestion, Choice, OldInvitation, OldAttempt, Answer, Event]
T0 = datetime(2024, 5, 1, 9, 30)


def make_first_release_database() -> None:
    """The first release's tables, with a question, an invited attempt and its answer."""
    with database.connection_context():
        for model in FIRST_RELEASE:
            model.create_table()
        user = User.create(email="r@example.com", role="recruiter")
        quiz = Quiz.create(slug="basics", title="Basics")
        Quiz.create(slug="quiet", title="Quiet", show_result=False)
        question = OldQuestion.create(
            slug="q1", topic="wsgi", level="mid", kind="single", prompt="?"
        )
        Choice.create(question=question.id, text="yes", correct=True, position=1)
        invitation = OldInvitation.create(
            token_hash="h" * 64,
            quiz=quiz,
            candidate_name="Ada",
            candidate_email="ada@example.com",
            created_by=user,
            created_at=T0,
            expires_at=T0,
            show_score=True,
        )
        attempt = OldAttempt.create(
            public_id="p1",
            owner_key="k" * 64,
            quiz=quiz,
            invitation=invitation,
            question_ids=[question.id],
            started_at=T0,
        )
        Answer.create(attempt=attempt.id, question=question.id, response=[1], correct=True)


def index_names(table: str) -> set[str]:
    return {i.name for i in database.get_indexes(table)}


def column_names(table: str) -> set[str]:
    return {c.name for c in database.get_columns(table)}


def test_a_first_release_database_is_brought_up_to_date_and_keeps_its_rows(bound):
    make_first_release_database()
    with database.connection_context():
        before = migrations.status()
    assert not before.tracked and before.pending == [m.name for m in MIGRATIONS]
    assert {"question.current", "invitation.reminded_at"} <= set(before.columns)
    assert {"attempt_started_at", "attempt_quiz_status"} <= set(before.indexes)
    assert "Missing columns" in "\n".join(before.lines())

    report = create_schema()

    assert report.baseline and not report.created
    assert report.applied == ["0001_question_versions", "0002_result_views"]
    assert {"question.current", "invitation.reminded_at"} <= set(report.columns)
    assert "webhook" in report.tables
    with database.connection_context():
        assert "current" in column_names("question")
        assert "reminded_at" in column_names("invitation")
        assert {"attempt_started_at", "attempt_quiz_status", "attempt_quiz_candidate"} <= (
            index_names("attempt")
        )
        assert {"question_slug_version", "question_current_slug"} <= index_names("question")
        assert "question_slug" not in index_names("question")
        assert {v.name for v in SchemaVersion.select()} == EVERY_MIGRATION
        after = migrations.status()
        assert (after.pending, after.columns, after.indexes, after.tables) == ([], [], [], [])
        # Every row kept (a SQLite table rebuild with foreign keys on would have cascaded).
        # "Show the score" showed the whole key; it now shows score, level and topics.
        assert Invitation.get().result_view == "topics"
        assert dict(Quiz.select(Quiz.slug, Quiz.result_view).tuples()) == {
            "basics": "review",
            "quiet": "none",
        }
        question = Question.get(Question.slug == "q1")
        assert question.current and question.version == 1
        assert [c.text for c in question.choices] == ["yes"]
        invitation = Invitation.get()
        assert (invitation.candidate_name, invitation.reminded_at) == ("Ada", None)
        attempt = Attempt.get()
        assert attempt.invitation_id == invitation.id and attempt.question_ids == [question.id]
        assert [(a.question_id, a.response) for a in attempt.answers] == [(question.id, [1])]
        # What the app does now works: a changed question is a new version of its slug...
        Question.update(current=False).where(Question.id == question.id).execute()
        Question.create(slug="q1", topic="wsgi", level="mid", kind="single", prompt="?!", version=2)
        # ... and at most one version is current.
        with pytest.raises(IntegrityError), database.atomic():
            Question.create(
                slug="q1", topic="wsgi", level="mid", kind="single", prompt="", version=3
            )


def test_a_database_the_old_create_tables_ran_on_is_repaired(bound):
    """Before migrations, create_tables() ran every start: on SQLite it made indexes over
    columns a table lacked (a double-quoted unknown name is a string there), indexing a
    constant; on PostgreSQL it failed. Either way migrate() makes the real index."""

    class Note(BaseModel):
        text = TextField()

    class NoteNow(BaseModel):
        text = TextField()
        tag = CharField(null=True, index=True)

        class Meta:
            table_name = "note"

    with database.connection_context():
        Note.create_table()
        Note.create(text="kept")
        with contextlib.suppress(DatabaseError):  # PostgreSQL: column "tag" does not exist
            database.create_tables([NoteNow], safe=True)
        migrations.migrate(models=[NoteNow], migrations=[])
        indexes = {i.name: i.columns for i in database.get_indexes("note")}
        assert indexes["note_tag"] == ["tag"]  # not [None]: an index over a constant
        assert [(n.text, n.tag) for n in NoteNow.select()] == [("kept", None)]


def test_a_new_database_records_every_migration(bound):
    report = create_schema()
    assert report.created
    with database.connection_context():
        assert {m._meta.table_name for m in MODELS} <= set(database.get_tables())
        assert {v.name for v in SchemaVersion.select()} == EVERY_MIGRATION
        status = migrations.status()
    assert status.tracked and not status.new and status.pending == []
    assert status.lines()[-1] == "The schema is up to date."


@pytest.mark.parametrize("old", [False, True], ids=["new", "first-release"])
def test_running_again_changes_nothing(bound, old):
    if old:
        make_first_release_database()
    create_schema()
    with database.connection_context():
        versions = [(v.name, v.applied_at) for v in SchemaVersion.select()]
        shape = migrations._shape(database.obj)
    again = create_schema()
    assert again.summary() == "The schema is up to date."
    with database.connection_context():
        assert [(v.name, v.applied_at) for v in SchemaVersion.select()] == versions
        assert migrations._shape(database.obj) == shape


def test_a_column_no_default_can_fill_is_an_error_naming_it(bound):
    create_schema()
    with database.connection_context():
        migrator = migrations.SchemaMigrator.from_database(database.obj)
        migrator.migrate(migrator.drop_column("event", "kind"))
    with pytest.raises(SchemaError, match=r"event\.kind"):
        create_schema()


def run_together(target, count: int = 2) -> list[BaseException]:
    """Run `target` in `count` threads (each its own connection) released at once."""
    barrier = threading.Barrier(count)
    errors = []

    def run():
        barrier.wait()
        try:
            target()
        except BaseException as e:  # reported by the test
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_processes_starting_together_create_a_new_database_once(bound):
    assert run_together(create_schema, 3) == []
    with database.connection_context():
        assert {v.name for v in SchemaVersion.select()} == EVERY_MIGRATION


def test_a_migration_runs_once_when_processes_migrate_together(bound, monkeypatch):
    create_schema()
    runs = []
    # Both processes finish step 1 (both see the migration pending) before either applies it.
    step_one, both_started = migrations._start, threading.Barrier(2, timeout=30)

    def start_together(*args):
        pending = step_one(*args)
        both_started.wait()
        return pending

    monkeypatch.setattr(migrations, "_start", start_together)

    def add_note(db, migrator):
        runs.append(1)
        time.sleep(0.2)  # the other process waits for the lock meanwhile
        # Not idempotent on purpose: a second run fails with "duplicate column".
        migrator.migrate(migrator.add_column("event", "note", TextField(null=True)))

    steps = [*MIGRATIONS, Migration("0999_event_note", add_note)]

    def migrate():
        with database.connection_context():
            migrations.migrate(migrations=steps)

    assert run_together(migrate) == []
    assert runs == [1]
    with database.connection_context():
        assert "note" in column_names("event")
        assert SchemaVersion.get_by_id("0999_event_note")


def test_manage_py_migrate_lists_then_applies(url, tmp_path):
    database.initialize(make_database(url))
    make_first_release_database()
    close_all()
    app = create_app({"INSTANCE_PATH": tmp_path / "instance", "TESTING": True, "DATABASE_URL": url})
    runner = app.test_cli_runner()
    try:
        listed = runner.invoke(args=["migrate", "--list"])
        assert listed.exit_code == 0, listed.output
        assert "pending  0001_question_versions" in listed.output
        assert "baseline (version 0)" in listed.output
        done = runner.invoke(args=["migrate"])
        assert done.exit_code == 0, done.output
        assert "Adopted a database from before migrations" in done.output
        assert "migrations applied: 0001_question_versions" in done.output
        listed = runner.invoke(args=["migrate", "--list"])
        assert "applied  0001_question_versions" in listed.output
        assert "The schema is up to date." in listed.output
        assert runner.invoke(args=["migrate"]).output.strip() == "The schema is up to date."
    finally:
        close_all()
