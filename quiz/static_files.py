"""Fingerprinted static URLs: `url_for('static', ...)` adds `?v=<content hash>`, and a response
to a URL carrying the file's current hash may be cached for a year.

A changed file gets a new hash, hence a new URL, so browsers and nginx never serve a stale copy;
a URL without the hash (or with an old one) is cached only briefly.
"""

import hashlib
import os
import threading

from flask import request, url_for
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


class Fingerprints:
    """Content hashes of the files in a static folder, computed once per file version."""

    def __init__(self, folder: str, watch: bool = True):
        self.folder = folder
        self.watch = watch
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}
        self._lock = threading.Lock()

    def __call__(self, filename: str) -> str | None:
        """The first 12 hex digits of the file's SHA-256, or None when there is no such file."""
        known = self._hashes.get(filename)
        if known and not self.watch:
            return known[1]
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        # With `watch` (debug mode), a stat per URL keeps the hash right when a file is edited
        # while the development server runs; the file is read again only when it changed.
        # Without it, a file's hash is computed once: production restarts to deploy.
        version = (st.st_mtime_ns, st.st_size)
        if known and known[0] == version:
            return known[1]
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()[:12]
        with self._lock:
            self._hashes[filename] = (version, digest)
        return digest


def init_app(app) -> None:
    """Fingerprint every static URL the app builds and set the static files' cache headers."""
    if not app.static_folder:
        return
    fingerprints = Fingerprints(app.static_folder, watch=app.debug)
    app.extensions["static_fingerprints"] = fingerprints

    @app.url_defaults
    def _fingerprint(endpoint, values):
        if endpoint == "static" and "v" not in values and "filename" in values:
            digest = fingerprints(values["filename"])
            if digest:
                values["v"] = digest

    urls: dict[tuple[str, str], str] = {}

    @app.template_global()
    def static_url(filename: str) -> str:
        """url_for('static', filename=...), built once per file (each page links five)."""
        key = (request.script_root, filename)
        url = urls.get(key)
        if url is None:
            url = url_for("static", filename=filename)
            if not fingerprints.watch:
                urls[key] = url
        return url

    @app.after_request
    def _static_cache(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        current = request.args.get("v") == fingerprints(filename)
        response.headers["Cache-Control"] = IMMUTABLE if current else SHORT
        return response
