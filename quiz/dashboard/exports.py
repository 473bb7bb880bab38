"""CSV exports, streamed row by row (constant memory) and safe to open in a spreadsheet."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask import Response, stream_with_context
from peewee import fn

from .. import attempts as attempt_service
from ..auth.users import current_user, roles_required
from ..db import stream
from ..models import Answer, Attempt, Question, Quiz
from ..responses import describe
from . import bp, query
from .views import STAFF, current_filters, quizzes, scope_of

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 200  # rows per yielded piece

ATTEMPT_HEADER = [
    "attempt",
    "candidate_name",
    "candidate_email",
    "quiz",
    "status",
    "started_at",
    "finished_at",
    "score",
    "max_score",
    "percent",
    "level",
    "integrity_events",
]
ANSWER_HEADER = [
    "attempt",
    "candidate_name",
    "candidate_email",
    "quiz",
    "position",
    "question",
    "version",
    "topic",
    "level",
    "kind",
    "answer",
    "correct",
    "score",
    "points",
    "time_spent_seconds",
    "flagged",
    "answered_at",
]


def safe(value) -> str | int | float:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The header and the rows as CSV text, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([safe(v) for v in row])
        if n % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def download(name: str, lines: Iterator[str]) -> Response:
    return Response(
        stream_with_context(lines),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def attempt_rows(selection) -> Iterator[tuple]:
    """One row per attempt of the (filtered, sorted) selection: plain tuples, no models, so a
    large export stays fast."""
    columns = selection.select(
        Attempt.public_id,
        Attempt.candidate_name,
        Attempt.candidate_email,
        Quiz.title,
        Attempt.status,
        Attempt.started_at,
        Attempt.finished_at,
        Attempt.score,
        Attempt.max_score,
        query.percent_expr(),
        Attempt.level,
        query.events_expr(),
    )
    for row in stream(columns.tuples()):
        percent = row[9]
        yield (*row[:9], None if percent is None else round(percent, 2), *row[10:])


@bp.get("/export/attempts.csv")
@roles_required(*STAFF)
def export_attempts():
    f = current_filters(quizzes())
    selection = query.filtered(f, scope_of(current_user()))
    return download("attempts.csv", csv_lines(ATTEMPT_HEADER, attempt_rows(selection)))


@dataclass(frozen=True)
class QuestionInfo:
    slug: str
    version: int
    topic: str
    level: str
    kind: str
    points: int
    keys: list


def _question_info(question_id: int) -> QuestionInfo:
    q = Question.get_by_id(question_id)
    keys = attempt_service.keys([q.id])[q.id]
    return QuestionInfo(q.slug, q.version, q.topic, q.level, q.kind, q.points, keys)


def answer_rows(selection) -> Iterator[list]:
    """One row per saved answer of the selected attempts, attempt by attempt."""
    ids = selection.select(Attempt.id).order_by()
    answers = (
        Answer.select(
            Answer.attempt,
            Attempt.public_id,
            Attempt.candidate_name,
            Attempt.candidate_email,
            Quiz.title,
            # The frozen order as raw text: parsed once per attempt, not once per answer.
            fn.COALESCE(Attempt.question_ids, "[]").coerce(False),
            Answer.question,
            Answer.response,
            Answer.correct,
            Answer.score,
            Answer.time_spent,
            Answer.shown_at,
            Answer.flagged,
            Answer.answered_at,
        )
        .join(Attempt)
        .join(Quiz)
        .where(Answer.attempt.in_(ids))
        .order_by(Answer.attempt, Answer.question)
    )
    info: dict[int, QuestionInfo] = {}  # bounded by the bank's size
    current, order = None, {}
    for (
        attempt_id,
        public_id,
        name,
        email,
        title,
        raw_order,
        qid,
        response,
        *rest,
    ) in stream(answers.tuples()):
        if attempt_id != current:
            current = attempt_id
            order = {q: n for n, q in enumerate(json.loads(raw_order), 1)}
        if qid not in info:
            info[qid] = _question_info(qid)
        q = info[qid]
        correct, score, spent, shown_at, flagged, answered_at = rest
        yield [
            public_id,
            name,
            email,
            title,
            order.get(qid),
            q.slug,
            q.version,
            q.topic,
            q.level,
            q.kind,
            " | ".join(describe(q.kind, q.keys, response)),
            bool(correct),
            score,
            q.points,
            spent if spent or shown_at else "",  # blank: unknown
            bool(flagged),
            answered_at,
        ]


@bp.get("/export/answers.csv")
@roles_required(*STAFF)
def export_answers():
    f = current_filters(quizzes())
    selection = query.filtered(f, scope_of(current_user()))
    return download("answers.csv", csv_lines(ANSWER_HEADER, answer_rows(selection)))
