"""The reviewers' blueprint: attempts table, attempt review, comparison and CSV exports.

Reviewers and admins see every attempt; recruiters see the attempts of invitations they
created (see `scope_of`)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from . import exports, views  # noqa: E402,F401  (routes register on bp)
