"""What the candidate templates show, built from an attempt (no request handling here)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import attempts, clock, layout
from ..bank import topic_title
from ..models import RESULT_VIEWS, Answer, Attempt, Question
from ..responses import describe, right_answer
from ..scoring import LEVEL_RULE, LEVELS, Key, estimate_level, passed, totals
from . import signals


@dataclass
class Item:
    """A choice as displayed: `id` is its opaque token in this attempt (quiz.layout); for
    ordering questions `rank` is the candidate's position."""

    id: str
    text: str
    checked: bool = False
    rank: int | None = None


def display_items(
    attempt: Attempt, question: Question, keys: Sequence[Key], response
) -> list[Item]:
    """The choices in the order this attempt shows them (an ordering question: in the
    candidate's order once they gave one)."""
    response = response or {}
    items = layout.shown(attempt, question, keys)
    name = {k.id: layout.token(attempt.public_id, k.id) for k in items}
    if question.kind == "ordering":
        ranks = {i: n for n, i in enumerate(response.get("order") or [], 1)}
        if ranks:
            items = sorted(items, key=lambda k: ranks.get(k.id, len(keys) + 1))
        return [Item(name[k.id], k.text, rank=ranks.get(k.id)) for k in items]
    picked = set(response.get("choices", ())) | {response.get("choice")}
    return [Item(name[k.id], k.text, checked=k.id in picked) for k in items]


def question_page(attempt: Attempt, n: int) -> dict:
    """Context for question `n` (1-based) of an open attempt."""
    question_id = attempt.question_ids[n - 1]
    question, keys = attempts.content([question_id])[question_id]
    saved = attempts.states(attempt)
    response, flagged = saved.get(question.id, (None, False))
    return {
        "attempt": attempt,
        "quiz": attempt.quiz,
        "n": n,
        "question": question,
        "topic": topic_title(question.topic),
        "items": display_items(attempt, question, keys, response),
        "text_answer": (response or {}).get("text", ""),
        "flagged": flagged,
        "progress": attempts.progress(attempt, saved),
        "time_left": time_left(attempt),
        "shown": signals.shown_stamp(attempt, question.id),
    }


def time_left(attempt: Attempt) -> int | None:
    """Whole seconds until the deadline, or None when untimed."""
    if attempt.deadline is None:
        return None
    return max(0, int((attempt.deadline - clock.now()).total_seconds()))


def review_page(attempt: Attempt) -> dict:
    saved = attempts.answers(attempt)
    rows = []
    for n, question in enumerate(attempts.questions(attempt), 1):
        answer = saved.get(question.id)
        rows.append(
            {
                "n": n,
                "question": question,
                "answered": bool(answer and answer.response is not None),
                "flagged": bool(answer and answer.flagged),
            }
        )
    return {
        "attempt": attempt,
        "quiz": attempt.quiz,
        "rows": rows,
        "progress": attempts.progress(attempt),
        "time_left": time_left(attempt),
    }


@dataclass(frozen=True)
class Shown:
    """A choice as the attempt showed it, and what became of it."""

    text: str
    picked: bool
    correct: bool


@dataclass
class Row:
    n: int
    question: Question
    given: list[str]
    right: list[str]
    score: float
    outcome: str  # right | partial | wrong | unanswered
    topic: str = field(default="")
    shown: list[Shown] = field(default_factory=list)  # choice kinds: in the order shown


CHOICE_KINDS = ("single", "multiple", "true_false", "code_output")


def shown_choices(attempt: Attempt, question: Question, keys, response) -> list[Shown]:
    """The choices of a choice question in the order this attempt showed them."""
    if question.kind not in CHOICE_KINDS:
        return []
    response = response or {}
    picked = set(response.get("choices", ())) | {response.get("choice")}
    return [Shown(k.text, k.id in picked, k.correct) for k in layout.shown(attempt, question, keys)]


def outcome(answer: Answer | None, points: int) -> str:
    if answer is None or answer.response is None:
        return "unanswered"
    if answer.correct:
        return "right"
    return "partial" if answer.score > 0 else "wrong"


def result_page(attempt: Attempt, threshold: float) -> dict:
    """Score, pass/fail, per-topic and per-level parts, and every question explained."""
    questions = attempts.questions(attempt)
    keys = attempts.keys([q.id for q in questions])
    saved = attempts.answers(attempt)
    rows = []
    for n, q in enumerate(questions, 1):
        answer = saved.get(q.id)
        response = answer.response if answer else None
        shown = shown_choices(attempt, q, keys[q.id], response)
        rows.append(
            Row(
                n,
                q,
                describe(q.kind, keys[q.id], response),
                [c.text for c in shown if c.correct] if shown else right_answer(q.kind, keys[q.id]),
                answer.score if answer else 0.0,
                outcome(answer, q.points),
                topic_title(q.topic),
                shown,
            )
        )
    by_topic = totals((r.topic, r.score, r.question.points) for r in rows)
    by_level = totals(
        (r.question.level, r.score, r.question.points)
        for r in sorted(rows, key=lambda r: LEVELS.index(r.question.level))
    )
    score, max_score = attempt.score or 0.0, attempt.max_score or 0.0
    invitation = attempt.invitation
    # What the candidate may see (RESULT_VIEWS): an invitation says it for its attempt, the
    # quiz for public ones. Only "review" shows right answers and explanations.
    view = invitation.result_view if invitation else attempt.quiz.result_view
    return {
        "attempt": attempt,
        "quiz": attempt.quiz,
        "view": view if view in RESULT_VIEWS else "none",
        "invited": invitation is not None,
        "rows": rows,
        "score": score,
        "max_score": max_score,
        "percent": round(100 * score / max_score) if max_score else 0,
        "passed": passed(score, max_score, attempt.quiz.pass_mark),
        "by_topic": by_topic,
        "by_level": by_level,
        "level": attempt.level or estimate_level(by_level, threshold),
        "level_rule": LEVEL_RULE.format(pct=round(threshold * 100)),
    }
