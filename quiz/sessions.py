"""Server-side sessions (Flask-Session): JSON files in the instance folder, or Redis."""

import json
import time
from pathlib import Path

import redis
from cachelib.file import FileSystemCache
from cachelib.serializers import BaseSerializer
from flask_session import Session


class StrictJSONSerializer(BaseSerializer):
    """JSON for session files: a value JSON cannot hold fails loudly at once, instead of
    cachelib's default pickle (which accepts anything) or its JSON serializer (which logs
    and writes an empty file)."""

    def dump(self, value, f, *args, **kwargs):
        f.write(json.dumps(value, separators=(",", ":")).encode())

    def load(self, f, *args, **kwargs):
        try:
            return json.loads(f.read())
        except ValueError:
            return None  # a damaged file is a lost session, not a crash


class JSONFileCache(FileSystemCache):
    serializer = StrictJSONSerializer()


def init_app(app) -> None:
    """Configure Flask-Session: Redis when REDIS_URL is set, else JSON files."""
    app.config.setdefault("SESSION_PERMANENT", True)
    app.config["SESSION_SERIALIZATION_FORMAT"] = "json"
    if app.config.get("REDIS_URL"):
        app.config["SESSION_TYPE"] = "redis"
        # Timeouts: a Redis that hangs must fail the request (503), not hang it.
        app.config["SESSION_REDIS"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2
        )
    else:
        folder = app.config.get("SESSION_DIR") or str(Path(app.instance_path) / "sessions")
        app.config["SESSION_TYPE"] = "cachelib"
        # threshold=0: never evict. With the default (500) cachelib silently drops the
        # oldest candidates' sessions and scans the folder on every new session.
        app.config["SESSION_CACHELIB"] = JSONFileCache(folder, threshold=0, mode=0o600)
    Session(app)


def remove_expired(app) -> int:
    """Delete expired session files (the file store never evicts); returns how many."""
    cache = app.config.get("SESSION_CACHELIB")
    if not isinstance(cache, FileSystemCache):
        return 0  # Redis expires keys itself
    before = sum(1 for _ in cache._list_dir())
    cache._remove_expired(time.time())
    return before - sum(1 for _ in cache._list_dir())
