"""Configuration defaults. Layers on top: instance/config.py, QUIZ_* variables, the test dict."""

from datetime import timedelta

# Database: a playhouse.db_url URL. None means SQLite in the instance folder.
DATABASE_URL = None
# Redis URL for sessions (scale-out). None means files in the instance folder.
REDIS_URL = None
# Folder of the question bank to seed from; None means the bank shipped in quiz/bank.
BANK_DIR = None
# Where file-backed sessions live; None means instance/sessions.
SESSION_DIR = None

# Public address of the app, for links printed by commands (the web pages use the request's).
BASE_URL = "http://127.0.0.1:5000"

SECRET_KEY = None  # generated once into instance/secret_key when not configured

# How staff passwords are hashed (werkzeug.security): scrypt, deliberately slow. The test
# suite sets a cheap method, as ~1,600 test sign-ins at ~140 ms each were 43% of its time.
PASSWORD_HASH_METHOD = "scrypt"

# Sessions: server-side, JSON, kept a month so a candidate can close the tab and resume.
PERMANENT_SESSION_LIFETIME = timedelta(days=30)
SESSION_COOKIE_NAME = "quiz_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Writing the session back on read-only pages races with concurrent requests (DESIGN.md).
SESSION_REFRESH_EACH_REQUEST = False

# CSRF tokens live as long as the session: a candidate may think for more than an hour.
WTF_CSRF_TIME_LIMIT = None
WTF_CSRF_SSL_STRICT = True

# Request size limits. Forms may carry up to 2 MB so an oversized answer reaches our own
# validation and gets a clear 400 instead of a bare 413.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
MAX_TEXT_ANSWER = 2000  # characters

# Outgoing e-mail. Without MAIL_SERVER, messages wait in the outbox page for admins.
MAIL_SERVER = None
MAIL_PORT = 25
MAIL_USE_TLS = False  # STARTTLS
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_FROM = "Flask Quiz <quiz@localhost>"
MAIL_TIMEOUT = 10  # seconds

# Candidates' names and e-mail addresses are erased this many days after the invitation
# (manage.py purge; answers stay, anonymised, for the statistics).
RETENTION_DAYS = 365

# Level estimation threshold: share of a level's points needed to reach it.
LEVEL_THRESHOLD = 0.6

# Connection pool sizes.
DATABASE_MAX_CONNECTIONS = 32
DATABASE_STALE_TIMEOUT = 300  # seconds

# Reverse proxies in front of the app (nginx alone: 1). Their X-Forwarded-For, -Proto and -Host
# then give request.remote_addr (which rate limits count), the scheme and the host. Leave 0
# when clients reach the app directly: anyone could forge those headers.
PROXY_FIX = 0
