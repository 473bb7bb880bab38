"""The admins' blueprint: users now; the question bank and quiz editor next."""

from flask import Blueprint

bp = Blueprint("bank_admin", __name__, url_prefix="/bank")

from . import outbox, users  # noqa: E402,F401  (routes register on bp)
