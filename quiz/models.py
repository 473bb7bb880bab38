"""Peewee models: data only, no Flask."""

import json

from peewee import (
    SQL,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    EnclosedNodeList,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from . import clock
from .db import database

LEVELS = ("junior", "mid", "senior")
KINDS = ("single", "multiple", "true_false", "code_output", "ordering", "text")
ROLES = ("admin", "recruiter", "reviewer")
STATUSES = ("in_progress", "submitted", "expired")
# What a candidate sees once an attempt is over (templates/candidate/result.html).
RESULT_VIEWS = {
    "none": "Nothing: a thank-you page",
    "score": "Score and level",
    "topics": "Score, level and per-topic breakdown",
    "review": "Full review: every question with its right answer and explanation",
}


class JSONField(TextField):
    """JSON stored as text: portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    email = CharField(unique=True, max_length=254)
    name = CharField(max_length=200, default="")
    password_hash = CharField(max_length=255, default="")
    role = CharField(max_length=16, choices=[(r, r) for r in ROLES])
    active = BooleanField(default=True)
    # Sessions signed in under another generation are void: deactivation moves it on, so
    # reactivating an account does not bring its old sessions back.
    generation = IntegerField(default=0)
    created_at = DateTimeField(default=clock.now)


class Question(BaseModel):
    """One version of a bank question, never edited once an attempt may hold it: a changed
    question is a new row (version + 1, its own choices) and the old row loses `current`.
    Attempts and answers keep the row ids, hence the version, they were given."""

    slug = CharField(max_length=120)
    topic = CharField(max_length=60, index=True)
    level = CharField(max_length=10, choices=[(v, v) for v in LEVELS])
    kind = CharField(max_length=16, choices=[(v, v) for v in KINDS])
    prompt = TextField()
    code = TextField(default="")
    explanation = TextField(default="")
    reference = CharField(max_length=500, default="")
    points = IntegerField(default=1)
    active = BooleanField(default=True)  # the admin's switch; read on the current version
    version = IntegerField(default=1)
    current = BooleanField(default=True)  # True on the latest version of its slug only

    class Meta:
        indexes = ((("slug", "version"), True),)


# At most one current version per slug (a partial unique index: SQLite and PostgreSQL).
Question.add_index(
    Question.index(
        Question.slug,
        unique=True,
        where=Question.current,  # a boolean column is a predicate on both; no bound value in DDL
        name="question_current_slug",
    )
)


class Choice(BaseModel):
    """A choice; for ordering questions `position` is the right order; for text questions
    the choices are the accepted answers (all correct, never shown before the result)."""

    question = ForeignKeyField(Question, backref="choices", on_delete="CASCADE")
    text = TextField()
    correct = BooleanField(default=False)
    position = IntegerField()

    class Meta:
        indexes = ((("question", "position"), True),)


class Quiz(BaseModel):
    slug = CharField(unique=True, max_length=120)
    title = CharField(max_length=200)
    description = TextField(default="")
    public = BooleanField(default=False)
    active = BooleanField(default=True)
    time_limit = IntegerField(null=True)  # minutes; None means untimed
    pass_mark = IntegerField(null=True)  # percent
    shuffle = BooleanField(default=True)  # the order of the questions
    # The order of the choices (quiz.candidate.layout); off where the bank's order matters.
    shuffle_choices = BooleanField(default=True)
    # What a candidate of a public attempt sees at the end (RESULT_VIEWS); an invitation
    # says it for its own attempt. `show_result` is the older yes/no, kept in step.
    result_view = CharField(max_length=10, default="review")
    show_result = BooleanField(default=True)
    # {"questions": [slug, ...]} | {"topics": [...], "levels": [...], "per_topic_level": n}
    selection = JSONField(default=dict)
    created_at = DateTimeField(default=clock.now)


class Invitation(BaseModel):
    token_hash = CharField(unique=True, max_length=64)
    quiz = ForeignKeyField(Quiz, backref="invitations")
    candidate_name = CharField(max_length=200)
    candidate_email = CharField(max_length=254)
    created_by = ForeignKeyField(User, null=True, backref="invitations")
    created_at = DateTimeField(default=clock.now)
    expires_at = DateTimeField()
    time_limit = IntegerField(null=True)  # minutes; overrides the quiz's
    # What the invited candidate sees at the end (RESULT_VIEWS): never the key unless chosen.
    # `show_score` is the older yes/no, kept in step.
    result_view = CharField(max_length=10, default="none")
    show_score = BooleanField(default=False)
    max_attempts = IntegerField(default=1)
    opened_at = DateTimeField(null=True)
    reminded_at = DateTimeField(null=True)
    revoked = BooleanField(default=False)


class Attempt(BaseModel):
    public_id = CharField(unique=True, max_length=43)
    # SHA-256 of the random candidate key held in the owner's server-side session.
    owner_key = CharField(max_length=64, index=True)
    quiz = ForeignKeyField(Quiz, backref="attempts")
    invitation = ForeignKeyField(Invitation, null=True, backref="attempts")
    candidate_name = CharField(max_length=200, default="")
    candidate_email = CharField(max_length=254, default="")
    question_ids = JSONField()  # the order, frozen at start
    # Question id (text) -> its choice ids in the order shown, frozen at start (None: older).
    layout = JSONField(null=True)
    started_at = DateTimeField(default=clock.now, index=True)
    deadline = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    status = CharField(max_length=16, default="in_progress", index=True)
    score = FloatField(null=True)
    max_score = FloatField(null=True)
    level = CharField(max_length=10, null=True)
    # Why the hiring team closed it before the candidate finished ("" when they did not).
    ended = CharField(max_length=200, default="")

    @property
    def open(self) -> bool:
        return self.status == "in_progress"


class Answer(BaseModel):
    """One row per (attempt, question): saving again replaces it."""

    attempt = ForeignKeyField(Attempt, backref="answers", on_delete="CASCADE")
    question = ForeignKeyField(Question)
    response = JSONField(null=True)  # None: not answered (the row may exist for a flag)
    correct = BooleanField(default=False)
    score = FloatField(default=0)
    flagged = BooleanField(default=False)
    answered_at = DateTimeField(null=True)
    time_spent = IntegerField(default=0)  # seconds
    # The "question shown" stamp last counted (quiz.attempts.save_answer): each counts once.
    # NULL with no time spent: the time is unknown (no valid stamp came with the answer).
    shown_at = DateTimeField(null=True)

    @property
    def timed(self) -> bool:
        return self.shown_at is not None or self.time_spent > 0

    class Meta:
        indexes = ((("attempt", "question"), True),)


class Event(BaseModel):
    """An integrity signal (focus lost, paste...): a fact for reviewers, never a verdict."""

    attempt = ForeignKeyField(Attempt, backref="events", on_delete="CASCADE")
    kind = CharField(max_length=32)
    at = DateTimeField(default=clock.now)
    detail = CharField(max_length=200, default="")


class Email(BaseModel):
    """An outgoing e-mail: sent over SMTP when a mail server is configured, else kept here
    for admins to read (the outbox)."""

    to_address = CharField(max_length=254)
    subject = CharField(max_length=200)
    body = TextField()
    invitation = ForeignKeyField(Invitation, null=True, backref="emails", on_delete="SET NULL")
    created_at = DateTimeField(default=clock.now)
    sent_at = DateTimeField(null=True)
    error = TextField(default="")


class ApiToken(BaseModel):
    """A bearer token for the JSON API: it acts as its user (role and visibility). Only the
    token's SHA-256 is stored; the token itself is shown once."""

    user = ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE")
    name = CharField(max_length=100, default="")
    token_hash = CharField(unique=True, max_length=64)
    created_at = DateTimeField(default=clock.now)
    last_used_at = DateTimeField(null=True)
    revoked = BooleanField(default=False)


class Webhook(BaseModel):
    """Where completed attempts are POSTed. The secret signs each body (HMAC-SHA256), so it
    is kept as is; admins see it once."""

    url = CharField(max_length=500)
    secret = CharField(max_length=100)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=clock.now)


class WebhookDelivery(BaseModel):
    """One event for one webhook: queued in the transaction that caused it, then sent and
    retried with backoff until delivered or given up."""

    webhook = ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    attempt = ForeignKeyField(Attempt, null=True, backref="deliveries", on_delete="SET NULL")
    event = CharField(max_length=40)
    body = TextField()  # the exact bytes signed and sent, the same on every retry
    status = CharField(max_length=12, default="pending")  # pending | delivered | failed
    tries = IntegerField(default=0)
    next_try_at = DateTimeField(default=clock.now)
    locked_until = DateTimeField(null=True)  # a sender's claim, so two never send one delivery
    response_status = IntegerField(null=True)
    error = TextField(default="")
    created_at = DateTimeField(default=clock.now)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("webhook", "attempt", "event"), True),
            (("status", "next_try_at"), False),
        )


# Quiz statistics (quiz.analytics_store): sufficient statistics kept up to date when an
# attempt completes, so the analytics page reads a few hundred rows instead of every answer.
# `first` rows count each candidate's first completed attempt; the others count all of them.


# The statistics' cheap checks: completed attempts per quiz (an index-only count), and
# distinct candidates per quiz (invitations, or browser keys of public attempts).
Attempt.add_index(Attempt.index(Attempt.quiz, Attempt.status, name="attempt_quiz_status"))
Attempt.add_index(
    Attempt.index(
        Attempt.quiz, Attempt.invitation, Attempt.owner_key, name="attempt_quiz_candidate"
    )
)


def attempt_percent():
    """An attempt's score in percent of its points (NULL while in progress), as the attempts
    table filters and sorts by it. Literal constants, not bound values: SQLite refuses bound
    values in an index, and an index on an expression serves only a query with the same one."""
    return Case(
        None,
        ((Attempt.max_score > SQL("0"), Attempt.score * SQL("100.0") / Attempt.max_score),),
        None,
    )


# The reviewers' attempts table (quiz.dashboard.order): each sort column with the id after it,
# so both engines read a page of 25 off an index, in either direction, instead of sorting
# every attempt. (quiz, id) serves the sort by quiz title, one quiz after the other.
for _name, _keys in (
    ("attempt_started_id", (Attempt.started_at,)),
    ("attempt_candidate_id", (Attempt.candidate_name, Attempt.candidate_email)),
    ("attempt_status_id", (Attempt.status,)),
    ("attempt_finished_id", (Attempt.finished_at,)),
    ("attempt_score_id", (Attempt.score,)),
    ("attempt_level_id", (Attempt.level,)),
    ("attempt_percent_id", (EnclosedNodeList([attempt_percent()]),)),  # PostgreSQL: ((expr))
    ("attempt_quiz_id_id", (Attempt.quiz,)),
):
    Attempt.add_index(Attempt.index(*_keys, Attempt.id, name=_name))
del _name, _keys


class StatState(BaseModel):
    """Per quiz: the statistics exist, and how many completed attempts they hold."""

    quiz = ForeignKeyField(Quiz, unique=True, on_delete="CASCADE")
    completed = IntegerField(default=0)
    grouped = BooleanField(default=False)  # StatSlot rows are kept (several per group drawn)
    built_at = DateTimeField(default=clock.now)


class StatTotal(BaseModel):
    """Attempts per (score, max score)."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE")
    first = BooleanField()
    score = FloatField()
    max_score = FloatField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("quiz", "first", "score", "max_score"), True),)


class StatCell(BaseModel):
    """Attempts per (question version, its score, the attempt's total)."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE")
    first = BooleanField()
    question = ForeignKeyField(Question, on_delete="CASCADE")
    score = FloatField()
    total = FloatField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("quiz", "first", "question", "score", "total"), True),)


class StatSlot(BaseModel):
    """Sum and sum of squares of the per-attempt score of a (topic, level) group."""

    quiz = ForeignKeyField(Quiz, on_delete="CASCADE")
    first = BooleanField()
    slot = CharField(max_length=80)
    total = FloatField(default=0)
    squares = FloatField(default=0)

    class Meta:
        indexes = ((("quiz", "first", "slot"), True),)


MODELS = [
    User,
    Question,
    Choice,
    Quiz,
    Invitation,
    Attempt,
    Answer,
    Event,
    Email,
    ApiToken,
    Webhook,
    WebhookDelivery,
    StatState,
    StatTotal,
    StatCell,
    StatSlot,
]
