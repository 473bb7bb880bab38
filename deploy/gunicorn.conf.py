"""gunicorn settings for `manage.py serve --prod` (and `gunicorn -c deploy/gunicorn.conf.py`).

Flags on the command line and GUNICORN_CMD_ARGS override these; WEB_CONCURRENCY sets the number
of workers and QUIZ_THREADS the threads per worker.
"""

import os
import re

from gunicorn.glogging import Logger


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers, taskset)
    except AttributeError:
        return os.cpu_count() or 1


wsgi_app = "quiz:create_app()"
bind = ["127.0.0.1:8000"]  # behind nginx; `serve --prod --host/--port` changes it

# Threads share a worker's connection pool and memory; processes use every CPU. Requests wait
# on the database and the session store a good part of the time, so 2 x CPUs + 1 workers of
# 4 threads keep the CPUs busy without one slow request holding everybody up.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cpus() + 1)
threads = int(os.environ.get("QUIZ_THREADS") or 4)

# A request running longer than `timeout` seconds gets its worker killed and restarted (the
# client sees a 502 from nginx); writes are idempotent, so a retry is safe. On SIGTERM (systemd
# stop, a deploy) workers finish their requests for up to `graceful_timeout` seconds.
timeout = 30
graceful_timeout = 30
keepalive = 5  # seconds an idle keep-alive connection from nginx stays open

# gunicorn 27 opens a control socket under the home folder by default: not wanted here.
control_socket_disable = True
# Heartbeat files in memory, not on a disk that may stall (Docker's /tmp is overlayfs).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "flask-quiz"

# Logs on stdout/stderr, for journald or docker logs. %(M)s: the request's time in ms.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

# An invitation link (/i/<token>) lets anyone take that quiz: keep the token out of the logs.
INVITATION = re.compile(r"/i/[^/?\s\"]+")


class RedactingLogger(Logger):
    """The access log with invitation tokens replaced by `/i/***`."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = INVITATION.sub("/i/***", atoms[key])
        return atoms


logger_class = RedactingLogger
