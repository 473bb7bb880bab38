"""The database proxy, engine set-up and schema creation."""

import secrets
import threading
from pathlib import Path
from urllib.parse import urlparse

from peewee import DatabaseProxy, OperationalError, SqliteDatabase
from playhouse import db_url
from playhouse.pool import PooledSqliteDatabase

database = DatabaseProxy()

# WAL lets readers work while one writer writes; the busy timeout makes writers queue instead
# of failing with "database is locked"; foreign keys are off in SQLite unless asked for.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 15000,
    "synchronous": "normal",
    "cache_size": -16000,
}


def default_url(instance_path: str) -> str:
    """The embedded default: a pooled SQLite file in the instance folder."""
    return f"sqlite+pool:///{Path(instance_path) / 'quiz.sqlite3'}"


class OneWriterAtATime:
    """SQLite writers of one process queue on a lock before BEGIN IMMEDIATE.

    SQLite lets one writer in at a time and makes the others sleep and retry (1, 2, 5, 10...
    ms, up to the busy timeout), so with many writing threads an unlucky one waits far longer
    than its turn: at 32 candidates answering at once, the slowest answers took 100+ ms. Within
    a process, a waiting writer now wakes as soon as the one before it commits; only the
    gunicorn workers (a few processes) still meet in SQLite's busy handler."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer = threading.Lock()
        self._holder = threading.local()

    def begin(self, *args, **kwargs):
        if not self._writer.acquire(timeout=self._busy_seconds()):
            raise OperationalError("database is locked (other writers of this process)")
        self._holder.held = True
        try:
            super().begin(*args, **kwargs)
        except BaseException:
            self._release()
            raise

    def commit(self):
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._release()

    def _release(self):
        if getattr(self._holder, "held", False):
            self._holder.held = False
            self._writer.release()

    def _busy_seconds(self) -> float:
        return SQLITE_PRAGMAS["busy_timeout"] / 1000


class QueuedSqliteDatabase(OneWriterAtATime, SqliteDatabase):
    pass


class QueuedPooledSqliteDatabase(OneWriterAtATime, PooledSqliteDatabase):
    pass


SQLITE_CLASSES = {"sqlite": QueuedSqliteDatabase, "sqlite+pool": QueuedPooledSqliteDatabase}


def make_database(url: str, max_connections: int = 32, stale_timeout: int = 300):
    """Build a Peewee database from a URL; pooled schemes keep connections across requests."""
    scheme = urlparse(url).scheme
    options = {}
    if "+pool" in scheme:
        options.update(max_connections=max_connections, stale_timeout=stale_timeout)
    if scheme.startswith("sqlite"):
        # BEGIN IMMEDIATE on every atomic() block: a write transaction takes the write lock
        # up front, so two writers queue on the busy timeout instead of deadlocking on
        # lock upgrade (deferred transactions lost up to 65% of answers in a trial).
        options.update(
            pragmas=SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",
            timeout=15,
            check_same_thread=False,  # pooled connections move between threads
        )
        if scheme in SQLITE_CLASSES:
            return SQLITE_CLASSES[scheme](**{**db_url.parse(url), **options})
    return db_url.connect(url, **options)


class Prepared:
    """A query compiled to SQL once per engine, then run with new parameters.

    Peewee renders a query's SQL in Python on every execution, about 40 µs a column on our
    2-core machine: for the queries every candidate request makes, that was the largest cost
    of the request. `build(*values)` returns the query; its only parameters must be `values`
    in that order, converted by `fields` when given (checked when it is first compiled).
    For hot paths only."""

    def __init__(self, build, fields=None):
        self.build = build
        self.fields = fields
        self.compiled: dict[type, str] = {}

    def _execute(self, values):
        query = self.build(*values)
        if self.fields is not None:
            values = [f.db_value(v) for f, v in zip(self.fields, values, strict=True)]
        engine = type(database.obj)
        sql = self.compiled.get(engine)
        if sql is None:
            sql, params = query.sql()
            if list(params) != list(values):
                raise ValueError(f"parameters {params!r} are not the values {values!r}")
            self.compiled[engine] = sql
        return query, database.execute_sql(sql, values)

    def __call__(self, *values):
        """A select's rows (models, tuples or dicts, as the query asks)."""
        query, cursor = self._execute(values)
        # A private peewee method, stable since 3.x; tests/test_db.py covers the row types.
        return query._get_cursor_wrapper(cursor)

    def first(self, *values):
        return next(iter(self(*values)), None)

    def run(self, *values) -> None:
        """Execute a write."""
        self._execute(values)


def stream(query, batch: int = 2000):
    """A select's rows, one at a time, without the whole result in memory (CSV exports).

    SQLite steps its cursor as rows are read. psycopg2 reads a whole result into the worker's
    memory unless the cursor is a named (server-side) one: 100,000 attempts took a worker past
    100 MB. On PostgreSQL the rows come `batch` at a time from a named cursor."""
    if is_sqlite():
        yield from query.iterator()
        return
    from playhouse.postgres_ext import FetchManyCursor

    sql, params = query.sql()
    conn = database.connection()
    # Named cursors live in a transaction, and psycopg2 refuses them in autocommit mode (how
    # peewee runs it); this read-only transaction ends with the last row.
    autocommit, conn.autocommit = conn.autocommit, False
    cursor = conn.cursor(name=f"stream_{secrets.token_hex(8)}")
    try:
        cursor.itersize = batch
        cursor.execute(sql, params)
        # A private peewee method, as in Prepared: peewee's row conversion for this query.
        yield from query._get_cursor_wrapper(FetchManyCursor(cursor, batch)).iterator()
    finally:
        if not cursor.closed:
            cursor.close()
        conn.commit()
        conn.autocommit = autocommit


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return database.obj is not None and "sqlite" in type(database.obj).__name__.lower()


def init_app(app) -> None:
    """Bind the proxy for this app and open/close a connection around each request."""
    url = app.config.get("DATABASE_URL") or default_url(app.instance_path)
    database.initialize(
        make_database(
            url,
            app.config["DATABASE_MAX_CONNECTIONS"],
            app.config["DATABASE_STALE_TIMEOUT"],
        )
    )

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()


def create_schema():
    """Create a new database's tables, or bring an older database up to date
    (quiz.migrations); safe to run again, and from several processes at once."""
    from . import migrations

    with database.connection_context():
        return migrations.migrate()


def close_all() -> None:
    """Close every connection (the whole pool for pooled databases)."""
    obj = database.obj
    if obj is None:
        return
    if hasattr(obj, "close_all"):
        obj.close_all()
    elif not obj.is_closed():
        obj.close()
