"""Stateless app servers: two gunicorn instances (`manage.py serve --prod`) share PostgreSQL and
Redis, and one candidate alternates between them request by request; pooled PostgreSQL
connections that die are replaced without a restart."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import free_port
from conftest import HX, TEST_BANK, make_app

from quiz import create_app
from quiz.db import close_all
from quiz.models import MODELS, Answer, Attempt, Question

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/12"  # a Redis database of its own, keys under a prefix


def services_down() -> str | None:
    """Why PostgreSQL and Redis cannot be used on 127.0.0.1, or None when both answer."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return "Redis is not answering on 127.0.0.1:6379"
    try:
        import psycopg2

        psycopg2.connect(dbname="test", connect_timeout=2, **PG).close()
    except Exception as e:  # not installed, not listening, or no trust for user postgres
        return f"PostgreSQL is not answering on 127.0.0.1:5432 (database test): {e}".strip()
    return None


def admin_sql(sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    import psycopg2

    conn = psycopg2.connect(dbname="test", **PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def terminate_backends(dbname: str) -> int:
    """Kill every PostgreSQL connection to `dbname`, as a restart or a failover would."""
    rows = admin_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (dbname,),
    )
    return sum(1 for (killed,) in rows if killed)


@dataclass
class Services:
    dbname: str
    database_url: str
    prefix: str


@pytest.fixture(scope="module")
def services():
    """A fresh PostgreSQL database and a Redis key prefix for this module, removed afterwards."""
    reason = services_down()
    if reason:
        pytest.skip(reason)
    dbname = f"quiz_stateless_{os.getpid()}"
    admin_sql(f"DROP DATABASE IF EXISTS {dbname}")
    admin_sql(f"CREATE DATABASE {dbname}")
    prefix = f"quiz-stateless-{os.getpid()}-"
    try:
        yield Services(dbname, f"postgresql+pool://postgres@127.0.0.1:5432/{dbname}", prefix)
    finally:
        close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


class Instance:
    """`manage.py serve --prod` on a free port with its own (empty) instance folder."""

    def __init__(self, env: dict, folder: Path):
        folder.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        env = {**env, "QUIZ_INSTANCE_PATH": str(folder / "instance")}
        command = [sys.executable, "manage.py", "serve", "--prod", "--no-seed"]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: gunicorn's graceful shutdown
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def servers(services, tmp_path_factory):
    """Two app servers sharing only PostgreSQL, Redis and the secret key."""
    folder = tmp_path_factory.mktemp("stateless")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUIZ_")},
        "QUIZ_DATABASE_URL": services.database_url,
        "QUIZ_REDIS_URL": REDIS_URL,
        "QUIZ_SESSION_KEY_PREFIX": services.prefix + "session:",
        "QUIZ_RATELIMIT_KEY_PREFIX": services.prefix + "limits",
        # Several servers must sign CSRF tokens with one key (each instance folder would
        # otherwise generate its own).
        "QUIZ_SECRET_KEY": f"stateless-{os.urandom(16).hex()}",
        "QUIZ_BANK_DIR": str(TEST_BANK),
        "WEB_CONCURRENCY": "2",
        "QUIZ_THREADS": "2",
    }
    subprocess.run(
        [sys.executable, "manage.py", "seed"],
        cwd=ROOT,
        env={**env, "QUIZ_INSTANCE_PATH": str(folder / "seed")},
        check=True,
        capture_output=True,
        timeout=120,
    )
    instances = [Instance(env, folder / name) for name in ("a", "b")]
    try:
        for instance in instances:
            instance.wait()
        yield instances
    finally:
        for instance in instances:
            instance.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 is an answer to look at, sent to whichever server comes next


class Browser:
    """One cookie jar; every request goes to the next server in turn."""

    def __init__(self, instances):
        self.urls = [i.url for i in instances]
        self.turn = 0
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        self.token = None

    def __call__(self, path, data=None, headers=None):
        url = self.urls[self.turn % len(self.urls)] + path
        self.turn += 1
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            response = self.opener.open(
                urllib.request.Request(url, data=body, headers=headers or {}), timeout=15
            )
        except urllib.error.HTTPError as e:
            response = e
        with response:
            html = response.read().decode()
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        self.token = found.group(1) if found else self.token
        return response.status, response.headers, html


ORDER = ["before_request", "the view", "after_request", "teardown_request"]


def right_answer(question: Question, html: str) -> dict:
    """The form fields of the right answer to each question of the test bank, named as the
    page names the choices (opaque per-attempt tokens)."""
    if question.slug == "t-ordering":
        names = dict(
            (text, name)
            for name, text in re.findall(
                r'name="(order-[^"]+)" aria-label="Position of: ([^"]+)"', html
            )
        )
        return {names[text]: str(n) for n, text in enumerate(ORDER, 1)}
    ids = {
        re.sub(r"<[^>]+>", "", text): value
        for value, text in re.findall(
            r'name="choices?" value="([^"]+)"[^>]*>\s*<span>(.*?)</span>', html
        )
    }
    if question.slug == "t-multiple":
        return {"choices": [ids["request"], ids["g"]]}
    if question.slug == "t-text":
        return {"text": "SECRET_KEY"}
    right = {"t-single": "request", "t-true-false": "True", "t-code-output": "2"}
    return {"choice": ids[right[question.slug]]}


@pytest.fixture
def shared_db(services):
    """The models bound to the servers' database, for assertions."""
    from peewee import PostgresqlDatabase

    db = PostgresqlDatabase(services.dbname, **PG)
    with db.bind_ctx(MODELS):
        yield db
    db.close()


@pytest.mark.services
def test_one_candidate_alternating_between_two_servers(servers, shared_db):
    browser = Browser(servers)
    status, _, _ = browser("/quizzes/basics")
    assert status == 200
    status, headers, _ = browser("/quizzes/basics/start", {"csrf_token": browser.token})
    assert status == 303, "the CSRF token of one server must be good on the other"
    pid = re.fullmatch(r"/attempts/([^?]+)\?q=1", headers["Location"]).group(1)
    assert f"/attempts/{pid}?q=1" in browser("/")[2]  # "Continue", from the shared session

    total = 6
    for n in range(1, total + 1):
        if n == 4:  # a look at the review page halfway (each server then serves both kinds)
            status, _, html = browser(f"/attempts/{pid}/review")
            assert status == 200 and f"3 of {total} answered" in html and "1 flagged" in html
        # Where was I? The position lives in Redis, written by the other server.
        status, _, html = browser(f"/attempts/{pid}")
        assert status == 200 and f"Question {n} of {total}" in html
        question_id = int(re.search(r'name="question" value="(\d+)"', html).group(1))
        fields = {
            "csrf_token": browser.token,
            "q": n,
            "question": question_id,
            "nav": "review" if n == total else "next",
            **right_answer(Question.get_by_id(question_id), html),
        }
        if n == 3:
            fields["flag"] = "1"
        htmx = n % 2 == 0  # half the answers as htmx sends them, half as plain forms
        status, headers, html = browser(f"/attempts/{pid}/answers", fields, HX if htmx else {})
        if n == total:
            assert (headers.get("HX-Redirect") or headers["Location"]).endswith("/review")
        elif htmx:
            assert status == 200 and f"Question {n + 1} of {total}" in html
        else:
            assert status == 303 and headers["Location"] == f"/attempts/{pid}?q={n + 1}"

    status, _, html = browser(f"/attempts/{pid}/review")
    assert status == 200 and f"{total} of {total} answered" in html and "1 flagged" in html
    status, headers, _ = browser(f"/attempts/{pid}/finish", {"csrf_token": browser.token})
    assert status == 303 and headers["Location"] == f"/attempts/{pid}/result"
    status, _, html = browser(f"/attempts/{pid}/result")
    assert status == 200 and ">Passed <" in html

    attempt = Attempt.get(Attempt.public_id == pid)
    assert attempt.status == "submitted" and attempt.finished_at is not None
    answers = list(Answer.select().where(Answer.attempt == attempt))
    assert sorted(a.question_id for a in answers) == sorted(attempt.question_ids)
    assert all(a.correct and a.answered_at for a in answers)
    assert [a.question_id for a in answers if a.flagged] == [attempt.question_ids[2]]
    assert attempt.score == attempt.max_score == sum(a.score for a in answers) > 0

    # Both servers did the work, reading and writing.
    for instance in servers:
        log = instance.log_path.read_text()
        assert f'"GET /attempts/{pid} HTTP' in log and f'"POST /attempts/{pid}/answers' in log


@pytest.mark.services
def test_invitation_tokens_stay_out_of_the_access_log(servers):
    for instance in servers:
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{instance.url}/i/not-a-real-token-0123456789", timeout=5)
    time.sleep(0.5)
    for instance in servers:
        log = instance.log_path.read_text()
        assert "GET /i/*** HTTP/1.1" in log and "not-a-real-token" not in log


@pytest.mark.services
def test_servers_replace_dropped_database_connections(servers, services):
    for instance in servers:
        for _ in range(4):
            urllib.request.urlopen(instance.url + "/", timeout=5).close()
    assert terminate_backends(services.dbname) >= 2  # every worker's pooled connection
    for instance in servers:
        for _ in range(8):  # enough to reach every worker and thread
            with urllib.request.urlopen(instance.url + "/", timeout=5) as response:
                assert response.status == 200


@pytest.mark.services
def test_a_dropped_pooled_connection_is_replaced_without_a_restart(services, tmp_path):
    app = make_app(tmp_path, DATABASE_URL=services.database_url)
    try:
        client = app.test_client()
        assert client.get("/").status_code == 200  # the pool now holds one connection
        assert terminate_backends(services.dbname) >= 1
        r = client.get("/")  # checks out the dead connection: replaced, not a 503
        assert r.status_code == 200 and "Basics" in r.get_data(as_text=True)
    finally:
        close_all()


def test_postgresql_down_is_a_503_page(tmp_path):
    url = f"postgresql+pool://postgres@127.0.0.1:{free_port()}/nothing"  # nothing listens
    app = create_app({"INSTANCE_PATH": tmp_path / "instance", "DATABASE_URL": url})
    try:
        r = app.test_client().get("/")
        assert r.status_code == 503
        assert "cannot reach its storage" in r.get_data(as_text=True)
    finally:
        close_all()
