"""Several gunicorn workers sharing Redis: sign-in throttling holds across workers."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from browser import free_port
from test_storage import redis_up

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not redis_up(), reason="Redis is not answering on 127.0.0.1:6379"),
]


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "QUIZ_INSTANCE_PATH": str(tmp_path / "inst"),
        "QUIZ_REDIS_URL": "redis://127.0.0.1:6379/14",
        "QUIZ_RATELIMIT_KEY_PREFIX": f"test-limits-{port}",
        "QUIZ_SESSION_KEY_PREFIX": f"test-session-{port}:",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [
            *manage,
            "create-user",
            "a@example.com",
            "--role",
            "admin",
            "--password",
            "correct horse battery",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "quiz:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=15)
    log.close()


def test_failed_sign_ins_are_counted_across_workers(gunicorn):
    statuses = []
    for _ in range(6):
        # A new browser (cookie jar) and a new connection each time: requests spread over
        # both workers, and only the shared Redis counter can see all the failures.
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        html = opener.open(gunicorn + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode(
            {"csrf_token": token, "email": "a@example.com", "password": "wrong password"}
        ).encode()
        try:
            statuses.append(opener.open(gunicorn + "/login", data=data).status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    assert statuses == [401] * 5 + [429]
