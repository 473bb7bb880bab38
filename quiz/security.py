"""CSRF, security headers, secrets and token helpers."""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from flask import abort, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
# Rate limits (sign-in throttling). Storage: Redis when QUIZ_REDIS_URL is set, shared by every
# worker and server; otherwise in-process memory (one process, e.g. the development server).
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Attempt ids travel in URLs: never leak them to other sites. Same-origin requests keep
    # the Referer: over HTTPS Flask-WTF (WTF_CSRF_SSL_STRICT) refuses a POST without one, so
    # "no-referrer" would make every form fail behind TLS.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sent over HTTPS only: over plain http (the embedded default on 127.0.0.1) a browser would
# ignore it, and pinning a host that has no certificate would lock its users out.
HSTS = "max-age=31536000; includeSubDomains"


class SecureCookies:
    """WSGI middleware: every Set-Cookie of an HTTPS request gets the `Secure` attribute.

    Flask-Session sets its cookie after the app's after_request hooks, so this happens at the
    WSGI layer, where every cookie passes. The scheme is read when the response starts, after
    ProxyFix (wherever it sits in the middleware chain) has rewritten it from X-Forwarded-Proto.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            if environ.get("wsgi.url_scheme") == "https":
                headers = [
                    (k, secure_cookie(v) if k.lower() == "set-cookie" else v) for k, v in headers
                ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def secure_cookie(value: str) -> str:
    """A Set-Cookie value with the Secure attribute (added once)."""
    attributes = {part.strip().lower() for part in value.split(";")[1:]}
    return value if "secure" in attributes else value + "; Secure"


def _has_nul(values) -> bool:
    return any("\x00" in k or "\x00" in v for k, v in values.items(multi=True))


def refuse_nul():
    """A NUL character is never meaningful here, and PostgreSQL text cannot store one
    (psycopg2 raises ValueError, a 500): refuse it on every engine with a clear 400."""
    body_nul = request.is_json and b"\\u0000" in request.get_data(cache=True)
    if "\x00" in request.path or _has_nul(request.args) or _has_nul(request.form) or body_nul:
        abort(400, description="The request contains a NUL character. Remove it and try again.")


def init_app(app) -> None:
    """CSRF on every POST, rate limits, and security headers on every response."""
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "quiz-limits")
    # The limiter is one object per process: without this, an app built with limits off
    # (a test, say) would switch them off for every later app in the process.
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    app.before_request(refuse_nul)
    app.wsgi_app = SecureCookies(app.wsgi_app)

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:  # behind a proxy too, once ProxyFix trusts X-Forwarded-Proto
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static":
            # Pages hold answers, results and session-bound tokens: never cache them.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def ensure_secret_key(app) -> None:
    """Use the configured SECRET_KEY, or one generated once and kept in the instance folder."""
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Write a private temp file, then hard-link it into place: of several workers
        # starting at once exactly one key wins, and nobody reads a half-written file.
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to generate a new secret key")
    app.config["SECRET_KEY"] = key


def new_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 of a token, as stored in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
