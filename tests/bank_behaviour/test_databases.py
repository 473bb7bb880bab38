"""Behaviour behind the keyed answers in quiz/bank/databases.toml.

Uses the standard library sqlite3 module and Flask only; questions about SQLAlchemy internals
(eager loading, pooling, PendingRollbackError) and Alembic have no test here.
"""

import contextlib
import sqlite3
import threading

import click
import pytest
from flask import Flask, current_app, g


def _tutorial_app(database: str, events: list) -> Flask:
    """The get_db/close_db pattern from the Flask tutorial, with events recorded."""
    app = Flask(__name__)
    app.config["DATABASE"] = database
    app.extensions["connections"] = []

    def get_db():
        if "db" not in g:
            g.db = sqlite3.connect(current_app.config["DATABASE"])
            current_app.extensions["connections"].append(g.db)
            events.append("connect")
        else:
            events.append("reuse")
        return g.db

    def close_db(e=None):
        db = g.pop("db", None)
        if db is not None:
            db.close()
            events.append("close")

    app.teardown_appcontext(close_db)

    @app.after_request
    def after(response):
        events.append("after_request")
        return response

    @app.route("/")
    def index():
        first = get_db()
        second = get_db()
        assert first is second
        events.append("view returns")
        return str(first.execute("SELECT 1").fetchone()[0])

    @app.cli.command("init-db")
    def init_db():
        get_db().execute("CREATE TABLE IF NOT EXISTS t (x)")
        click.echo("done")

    return app


def _is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


# --------------------------------------------------------------------------- junior


def test_databases_teardown_close(tmp_path):
    events = []
    app = _tutorial_app(str(tmp_path / "db.sqlite"), events)

    assert app.test_client().get("/").get_data(as_text=True) == "1"
    assert events[-1] == "close"

    events.clear()
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and "done" in result.output
    # The CLI command has no request: after_request never runs, the teardown still closes.
    assert events == ["connect", "close"]
    assert all(_is_closed(c) for c in app.extensions["connections"])


def test_databases_close_without_commit(tmp_path):
    path = tmp_path / "data.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE item (name TEXT)")
    db.commit()
    db.execute("INSERT INTO item VALUES ('lost')")
    assert db.in_transaction
    db.close()

    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 0
        db.execute("INSERT INTO item VALUES ('kept')")
        db.commit()
    finally:
        db.close()

    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT name FROM item").fetchall() == [("kept",)]


def test_databases_index_tradeoff():
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")

        def plan(column):
            rows = db.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM user WHERE {column} = ?", ("a@example.com",)
            ).fetchall()
            return " ".join(row[-1] for row in rows)

        db.executemany(
            "INSERT INTO user (email, name) VALUES (?, ?)",
            [(f"user{i}@example.com", f"user {i}") for i in range(2000)],
        )
        pages_before = db.execute("PRAGMA page_count").fetchone()[0]
        assert plan("email").startswith("SCAN")  # full table scan before
        db.execute("CREATE INDEX ix_user_email ON user (email)")
        after = plan("email")
        assert after.startswith("SEARCH") and "ix_user_email" in after
        # The index is stored separately and takes space; other filters still scan.
        assert db.execute("PRAGMA page_count").fetchone()[0] > pages_before
        assert plan("name").startswith("SCAN")

        # A plain index does not make the column unique: both rows are indexed and stored.
        db.executemany("INSERT INTO user (email) VALUES (?)", [("a@example.com",)] * 2)
        count = db.execute("SELECT COUNT(*) FROM user WHERE email = ?", ("a@example.com",))
        assert count.fetchone()[0] == 2


def test_databases_g_per_request(tmp_path):
    events = []
    app = _tutorial_app(str(tmp_path / "db.sqlite"), events)
    app.secret_key = "test"
    seen = []

    @app.route("/peek")
    def peek():
        seen.append("db" in g)
        return "peek"

    client = app.test_client()
    responses = [client.get("/"), client.get("/"), client.get("/peek")]

    first, second = app.extensions["connections"]
    assert first is not second  # not shared between requests
    assert _is_closed(first) and _is_closed(second)
    assert events.count("connect") == 2 and events.count("reuse") == 2
    # g is not carried over in the session cookie: no cookie is set, the next request's g is empty.
    assert all("Set-Cookie" not in r.headers for r in responses)
    assert client.get_cookie("session") is None
    assert seen == [False]


# --------------------------------------------------------------------------- mid


def test_databases_placeholder_styles():
    payload = "x' OR '1'='1"
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE user (name TEXT)")
        db.executemany("INSERT INTO user VALUES (?)", [("ada",), ("bob",), (payload,)])

        qmark = db.execute("SELECT name FROM user WHERE name = ?", (payload,)).fetchall()
        named = db.execute("SELECT name FROM user WHERE name = :name", {"name": payload}).fetchall()
        assert qmark == named == [(payload,)]  # bound as data, matches literally

        with pytest.raises(sqlite3.OperationalError):
            db.execute("SELECT name FROM user WHERE name = %s", (payload,))

        spliced = db.execute(f"SELECT name FROM user WHERE name = '{payload}'").fetchall()
        assert len(spliced) == 3  # injected condition matches every row
        unsafe_sql = "SELECT name FROM user WHERE name = '%s'" % payload  # noqa: UP031
        formatted = db.execute(unsafe_sql).fetchall()
        assert len(formatted) == 3


def test_databases_with_does_not_close():
    db = sqlite3.connect(":memory:")
    try:
        with db:
            db.execute("CREATE TABLE t (x)")
            db.execute("INSERT INTO t VALUES (1)")
        assert not db.in_transaction  # committed on exit
        assert db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1  # still open
    finally:
        db.close()
    assert _is_closed(db)


def test_databases_connection_lifecycle(tmp_path):
    events = []
    app = _tutorial_app(str(tmp_path / "db.sqlite"), events)
    app.test_client().get("/")
    assert events == ["connect", "reuse", "view returns", "after_request", "close"]


def test_databases_check_same_thread(tmp_path):
    db = sqlite3.connect(":memory:")
    errors = []

    def use_from_other_thread():
        try:
            db.execute("SELECT 1")
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    try:
        worker = threading.Thread(target=use_from_other_thread)
        worker.start()
        worker.join()
        assert len(errors) == 1 and "thread" in str(errors[0])
        assert db.execute("SELECT 1").fetchone() == (1,)  # fine in the creating thread
    finally:
        db.close()

    path = tmp_path / "shared.sqlite"
    # SQLite has no one-connection-per-process limit: two connections to one file work.
    with (
        contextlib.closing(sqlite3.connect(path)) as a,
        contextlib.closing(sqlite3.connect(path)) as b,
    ):
        a.execute("CREATE TABLE item (name TEXT)")
        a.commit()
        b.execute("INSERT INTO item VALUES ('from b')")
        b.commit()
        assert a.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 1

    # With the thread check disabled, one shared connection is one transaction for everyone:
    # request B's commit also commits the half-done work of request A.
    with contextlib.closing(sqlite3.connect(path, check_same_thread=False)) as shared:
        shared.execute("DELETE FROM item")
        shared.commit()

        def request_a():
            shared.execute("INSERT INTO item VALUES ('a, unfinished')")

        def request_b():
            shared.execute("INSERT INTO item VALUES ('b')")
            shared.commit()

        for target in (request_a, request_b):
            worker = threading.Thread(target=target)
            worker.start()
            worker.join()
        shared.rollback()  # request A gives up, but its row is already committed
        assert shared.execute("SELECT name FROM item ORDER BY name").fetchall() == [
            ("a, unfinished",),
            ("b",),
        ]
