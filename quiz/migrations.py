"""Schema migrations: a new database is made from the models; an older one catches up.

`migrate()` (run by `quiz.db.create_schema`, hence by `init-db`, `serve`, `migrate`...) works in
three steps, each in a transaction that no other `migrate()` runs alongside (PostgreSQL: an
advisory lock; SQLite: BEGIN IMMEDIATE, the write lock), so processes may start together:

1. A database without any of our tables gets them all from the models, and every migration is
   recorded as applied: the models are the current schema. A database with our tables but no
   `schema_version` table predates migrations: it is recorded as the baseline (version 0) as it
   is, with every migration pending. Missing tables are created, and missing columns added
   where the model lets them be NULL or gives a default (existing rows get that default).
2. Pending MIGRATIONS run in order, one transaction each, and are recorded.
3. Indexes the models declare and the database lacks (by name) are created.

Nothing here deletes rows, tables or columns. A baseline database may be of any age, so a
migration checks what is there before changing it, and must never lose data.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from peewee import CharField, DateTimeField, Index, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.migrate import SchemaMigrator

from . import clock
from .db import database
from .models import MODELS

BASELINE = "0000_baseline"
LOCK_KEY = 0x71756978_6D6967  # pg_advisory_xact_lock's key, the same in every process
PG_NAME_LENGTH = 63  # PostgreSQL truncates longer identifiers


class SchemaVersion(Model):
    """An applied migration, or the baseline: when this database came under migrations."""

    name = CharField(primary_key=True, max_length=100)
    applied_at = DateTimeField(default=clock.now)

    class Meta:
        database = database
        table_name = "schema_version"


class Migration(NamedTuple):
    name: str  # stable and ordered: "0001_what_it_does"
    apply: Callable  # (database, migrator) -> None


class SchemaError(RuntimeError):
    """The database lacks something the models need that no migration provides."""


@dataclass
class Report:
    """What one `migrate()` did."""

    created: bool = False  # a new database, made from the models
    baseline: bool = False  # a database from before migrations, adopted as it was
    tables: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.created:
            return "Created the tables of a new database; every migration recorded."
        parts = (
            ["adopted a database from before migrations as the baseline"] if self.baseline else []
        )
        for label, items in (
            ("tables created", self.tables),
            ("columns added", self.columns),
            ("migrations applied", self.applied),
            ("indexes created", self.indexes),
        ):
            if items:
                parts.append(f"{label}: {', '.join(items)}")
        text = "; ".join(parts)
        return f"{text[0].upper()}{text[1:]}." if parts else "The schema is up to date."


class TableShape(NamedTuple):
    columns: set[str]
    indexes: dict[str, str | None]  # name -> its CREATE INDEX statement, where known


def _shape(db) -> dict[str, TableShape]:
    """Every table's columns and indexes (three queries on PostgreSQL, whose per-table
    introspection took 120 ms for our 16 tables)."""
    if not isinstance(db, PostgresqlDatabase):
        return {
            t: TableShape(
                {c.name for c in db.get_columns(t)}, {i.name: i.sql for i in db.get_indexes(t)}
            )
            for t in db.get_tables()
        }
    shape = {t: TableShape(set(), {}) for t in db.get_tables()}
    columns = db.execute_sql(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
        "AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    )
    for table, column in columns:
        if table in shape:
            shape[table].columns.add(column)
    indexes = db.execute_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    )
    for table, name, sql in indexes:
        if table in shape:
            shape[table].indexes[name] = sql
    return shape


def _missing_columns(shape, models) -> list:
    return [
        (model, f)
        for model in models
        if model._meta.table_name in shape
        for f in model._meta.sorted_fields
        if f.column_name not in shape[model._meta.table_name].columns
    ]


def _missing_indexes(db, shape, models) -> list:
    size = PG_NAME_LENGTH if isinstance(db, PostgresqlDatabase) else None
    return [
        (model, index._name)
        for model in models
        if model._meta.table_name in shape
        for index in model._meta.fields_to_index()
        if isinstance(index, Index)
        and index._name[:size] not in shape[model._meta.table_name].indexes
    ]


@contextmanager
def _locked(db):
    """A transaction no other migrate() runs alongside."""
    if isinstance(db, PostgresqlDatabase):
        with db.atomic():  # DDL is transactional; the lock is held until commit
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            yield
        return
    if not isinstance(db, SqliteDatabase):
        with db.atomic():
            yield
        return
    # SQLite rebuilds a table for some changes (NOT NULL before 3.53): with foreign keys on,
    # dropping the old table would cascade-delete the children's rows. The pragma is ignored
    # inside a transaction, so it is switched off before BEGIN and back on after COMMIT.
    if db.in_transaction():
        raise RuntimeError("run migrations outside any transaction")
    foreign_keys = db.pragma("foreign_keys")
    db.pragma("foreign_keys", 0)
    try:
        with db.atomic(lock_type="IMMEDIATE"):
            yield
    finally:
        db.pragma("foreign_keys", foreign_keys)


def _add_column(db, migrator, model, column, shape) -> None:
    table = model._meta.table_name
    if isinstance(db, SqliteDatabase):
        # SQLite reads a double-quoted name it cannot resolve as a string literal, so the
        # create_tables() of older versions made "indexes" over this missing column that
        # index a constant. Drop them; step 3 makes the real ones.
        for name, sql in list(shape[table].indexes.items()):
            if sql and f'"{column.column_name}"' in sql:
                migrator.migrate(migrator.drop_index(table, name))
                del shape[table].indexes[name]
    migrator.migrate(migrator.add_column(table, column.column_name, column))


def _prepare(db, migrator, models, migrations, report) -> list[Migration]:
    """Step 1: create or adopt the database, add what is missing; return pending migrations."""
    shape = _shape(db)
    present = [m for m in models if m._meta.table_name in shape]
    names = [BASELINE, *(m.name for m in migrations)]
    if not present:
        db.create_tables([*models, SchemaVersion])
        SchemaVersion.insert_many([{"name": n} for n in names]).on_conflict_ignore().execute()
        report.created = True
        return []
    if SchemaVersion._meta.table_name not in shape:
        SchemaVersion.create_table()
        SchemaVersion.create(name=BASELINE)
        report.baseline = True
    if missing := [m for m in models if m not in present]:
        db.create_tables(missing)
        report.tables = [m._meta.table_name for m in missing]
    for model, column in _missing_columns(shape, present):
        if column.null or column.default is not None:
            _add_column(db, migrator, model, column, shape)
            report.columns.append(f"{model._meta.table_name}.{column.column_name}")
    applied = set(SchemaVersion.select(SchemaVersion.name).tuples().iterator())
    return [m for m in migrations if (m.name,) not in applied]


def _start(db, migrator, models, migrations, report) -> list[Migration]:
    """Step 1 in its own transaction, and step 3 too when no migration is pending."""
    with _locked(db):
        pending = _prepare(db, migrator, models, migrations, report)
        if not (report.created or pending):
            _finish(db, models, report)
        return pending


def _finish(db, models, report) -> None:
    """Step 3: create missing indexes; fail if a column is still missing."""
    shape = _shape(db)
    if left := _missing_columns(shape, models):
        names = ", ".join(f"{m._meta.table_name}.{f.column_name}" for m, f in left)
        raise SchemaError(
            f"the database lacks {names} (NOT NULL without a default): add a migration "
            f"to quiz/migrations.py that fills them"
        )
    missing = _missing_indexes(db, shape, models)
    for model in dict.fromkeys(m for m, _ in missing):
        model._schema.create_indexes(safe=True)
    report.indexes = [name for _, name in missing]


def migrate(models=MODELS, migrations=None) -> Report:
    """Create a new database, or bring an older one up to date; safe to repeat, and to run
    from several processes at once. Needs an open connection (see quiz.db.create_schema)."""
    migrations = MIGRATIONS if migrations is None else migrations
    db = database.obj
    migrator = SchemaMigrator.from_database(db)
    report = Report()
    pending = _start(db, migrator, models, migrations, report)
    for migration in pending:
        with _locked(db):
            # Another process may have applied it since step 1.
            if SchemaVersion.get_or_none(SchemaVersion.name == migration.name) is None:
                migration.apply(db, migrator)
                SchemaVersion.create(name=migration.name)
                report.applied.append(migration.name)
    if pending:
        with _locked(db):
            _finish(db, models, report)
    return report


@dataclass
class Status:
    """Where a database stands, read without changing anything."""

    new: bool  # none of our tables: migrate() creates them all
    tracked: bool  # it has a schema_version table
    applied: dict[str, datetime]
    pending: list[str]
    tables: list[str]
    columns: list[str]
    indexes: list[str]

    def lines(self) -> list[str]:
        if self.new:
            return ["A new database: `migrate` creates every table and records every migration."]
        out = [f"applied  {name:40} {at:%Y-%m-%d %H:%M:%S}" for name, at in self.applied.items()]
        if not self.tracked:
            out.append(
                "No schema_version table: `migrate` records this database as the baseline "
                "(version 0), then applies every migration below."
            )
        out += [f"pending  {name}" for name in self.pending]
        for label, items in (
            ("Missing tables", self.tables),
            ("Missing columns", self.columns),
            ("Missing indexes", self.indexes),
        ):
            if items:
                out.append(f"{label} (`migrate` adds them): {', '.join(items)}")
        if not (self.pending or self.tables or self.columns or self.indexes):
            out.append("The schema is up to date.")
        return out


def status(models=MODELS, migrations=None) -> Status:
    """The applied and pending migrations, and what the database lacks."""
    migrations = MIGRATIONS if migrations is None else migrations
    db = database.obj
    shape = _shape(db)
    tracked = SchemaVersion._meta.table_name in shape
    query = SchemaVersion.select().order_by(SchemaVersion.name)
    applied = {v.name: v.applied_at for v in query} if tracked else {}
    return Status(
        new=not any(m._meta.table_name in shape for m in models),
        tracked=tracked,
        applied=applied,
        pending=[m.name for m in migrations if m.name not in applied],
        tables=[m._meta.table_name for m in models if m._meta.table_name not in shape],
        columns=[
            f"{m._meta.table_name}.{f.column_name}" for m, f in _missing_columns(shape, models)
        ],
        indexes=[name for _, name in _missing_indexes(db, shape, models)],
    )


# The migrations, in order. Each takes (database, migrator: playhouse.migrate.SchemaMigrator),
# runs in its own transaction after step 1 and before step 3, and checks before it changes.


def question_versions(db, migrator) -> None:
    """Questions have versions (several rows per slug) since ded7442: drop the unique index
    on question.slug of older databases, or a changed question cannot be saved as a new
    version. The partial index question_current_slug (step 3) keeps one current row per slug."""
    for index in db.get_indexes("question"):
        if index.name == "question_slug" and index.unique and index.columns == ["slug"]:
            migrator.migrate(migrator.drop_index("question", index.name))


def result_views(db, migrator) -> None:
    """Since 0002 what a candidate sees at the end is one of four result views. Quizzes keep
    what they showed (a full review, or nothing). An invitation with "show the score" ticked
    showed the whole key, the defect this fixes: it becomes score, level and topics."""
    from .models import Invitation, Quiz

    Quiz.update(result_view="none").where(Quiz.show_result == False).execute()  # noqa: E712
    Invitation.update(result_view="topics").where(Invitation.show_score == True).execute()  # noqa: E712


MIGRATIONS = [
    Migration("0001_question_versions", question_versions),
    Migration("0002_result_views", result_views),
]
