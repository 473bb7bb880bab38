"""The candidates' blueprint: catalogue, attempts, questions, review and results."""

from flask import Blueprint

bp = Blueprint("candidate", __name__)

from . import invited, views  # noqa: E402,F401  (routes register on bp)
