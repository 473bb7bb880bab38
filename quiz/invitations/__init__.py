"""The recruiters' blueprint: create, list, revoke, extend and re-issue invitation links."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

from . import bulk, views  # noqa: E402,F401  (routes register on bp)
