"""What the reviewer sees of one attempt, and of several side by side (no Flask).

The scoring, per-topic and per-level parts come from the candidate's result page
(`candidate.context.result_page`), so both pages always agree."""

from dataclasses import dataclass
from datetime import datetime

from ..candidate.context import outcome, result_page
from ..models import Answer, Attempt, Event, Question
from . import query

# An event kind -> how it reads on the timeline, as a plain fact.
EVENT_WORDS = {
    "focus_lost": "Left the page",
    "paste": "Pasted text",
}


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str
    kind: str  # start | event | finish
    detail: str = ""
    elapsed: str = ""  # time since the start, "+m:ss" or "+h:mm:ss"


def _elapsed(start: datetime, at: datetime) -> str:
    seconds = max(0, int((at - start).total_seconds()))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"+{h}:{m:02}:{s:02}" if h else f"+{m}:{s:02}"


def timeline(attempt: Attempt) -> list[Moment]:
    """Start, integrity events and finish in time order: facts, never verdicts."""
    start = attempt.started_at
    moments = [Moment(start, "Started the quiz", "start", "", _elapsed(start, start))]
    for e in Event.select().where(Event.attempt == attempt).order_by(Event.at, Event.id):
        what = EVENT_WORDS.get(e.kind, e.kind.replace("_", " ").capitalize())
        moments.append(Moment(e.at, what, "event", e.detail, _elapsed(start, e.at)))
    if attempt.finished_at:
        what = "Time ran out" if attempt.status == "expired" else "Submitted the answers"
        if attempt.ended:
            what = f"{attempt.ended}: the attempt closed, scored with the answers saved"
        moments.append(
            Moment(attempt.finished_at, what, "finish", "", _elapsed(start, attempt.finished_at))
        )
    return moments


def attempt_page(attempt: Attempt, threshold: float) -> dict:
    """The result page's context plus time spent per question, events and the percentile."""
    ctx = result_page(attempt, threshold)
    saved = Answer.select(Answer.question, Answer.time_spent, Answer.shown_at)
    spent = {
        a.question_id: a.time_spent if a.timed else None
        for a in saved.where(Answer.attempt == attempt)
    }
    moments = timeline(attempt)
    ctx.update(
        # None: unknown (no valid stamp came with the answer), never shown as 0 seconds
        spent={row.question.id: spent.get(row.question.id) for row in ctx["rows"]},
        total_spent=sum(s for s in spent.values() if s),
        timeline=moments,
        event_count=sum(1 for m in moments if m.kind == "event"),
        percentile=query.percentile(attempt),
    )
    return ctx


def duration(seconds: int) -> str:
    """Seconds as "1 min 05 s" / "42 s"."""
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02} s" if m else f"{s} s"


@dataclass
class Line:
    """One question of the comparison: an outcome and a score per attempt (None: not asked)."""

    question: Question
    cells: list[tuple[str, float] | None]


def compare(attempts: list[Attempt]) -> list[Line]:
    """Question rows x attempts, in the first attempt's order, then questions only others got."""
    order: list[int] = []
    for a in attempts:
        order += [i for i in a.question_ids if i not in order]
    questions = {q.id: q for q in Question.select().where(Question.id.in_(order))}
    saved = {
        (a.attempt_id, a.question_id): a
        for a in Answer.select().where(Answer.attempt.in_([a.id for a in attempts]))
    }
    lines = []
    for qid in order:
        q = questions.get(qid)
        if q is None:
            continue
        cells = []
        for a in attempts:
            if qid not in a.question_ids:
                cells.append(None)
                continue
            answer = saved.get((a.id, qid))
            cells.append((outcome(answer, q.points), answer.score if answer else 0.0))
        lines.append(Line(q, cells))
    return lines
