"""The admins' blueprint: users, the outbox, the question bank editor and the quiz builder."""

from flask import Blueprint

bp = Blueprint("bank_admin", __name__, url_prefix="/bank")

# Routes register on bp when their modules are imported.
from . import (  # noqa: E402,F401
    api_tokens,
    outbox,
    questions,
    quizzes_admin,
    transfer_admin,
    users,
    webhook,
)
