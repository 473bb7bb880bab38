"""What the candidate templates show, built from an attempt (no request handling here)."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import attempts, clock
from ..bank import topic_title
from ..models import Answer, Attempt, Question
from ..responses import describe, right_answer
from ..scoring import LEVEL_RULE, LEVELS, Key, estimate_level, passed, totals
from . import signals


@dataclass
class Item:
    """A choice as displayed: for ordering questions `rank` is the candidate's position."""

    id: int
    text: str
    checked: bool = False
    rank: int | None = None


def display_items(
    attempt: Attempt, question: Question, keys: Sequence[Key], response
) -> list[Item]:
    response = response or {}
    if question.kind == "ordering":
        order = response.get("order") or []
        ranks = {i: n for n, i in enumerate(order, 1)}
        if ranks:
            items = sorted(keys, key=lambda k: ranks.get(k.id, len(keys) + 1))
        else:
            # Never show the right order: a stable shuffle per attempt and question.
            items = list(keys)
            random.Random(f"{attempt.public_id}:{question.id}").shuffle(items)
            if len(items) > 1 and [k.position for k in items] == sorted(k.position for k in items):
                items = items[1:] + items[:1]
        return [Item(k.id, k.text, rank=ranks.get(k.id)) for k in items]
    picked = set(response.get("choices", ())) | {response.get("choice")}
    return [Item(k.id, k.text, checked=k.id in picked) for k in keys]


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


@dataclass
class Row:
    n: int
    question: Question
    given: list[str]
    right: list[str]
    score: float
    outcome: str  # right | partial | wrong | unanswered
    topic: str = field(default="")


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
        rows.append(
            Row(
                n,
                q,
                describe(q.kind, keys[q.id], response),
                right_answer(q.kind, keys[q.id]),
                answer.score if answer else 0.0,
                outcome(answer, q.points),
                topic_title(q.topic),
            )
        )
    by_topic = totals((r.topic, r.score, r.question.points) for r in rows)
    by_level = totals(
        (r.question.level, r.score, r.question.points)
        for r in sorted(rows, key=lambda r: LEVELS.index(r.question.level))
    )
    score, max_score = attempt.score or 0.0, attempt.max_score or 0.0
    invitation = attempt.invitation
    return {
        "attempt": attempt,
        "quiz": attempt.quiz,
        # Invited candidates see their score only if the recruiter allowed it.
        "show_result": invitation.show_score if invitation else attempt.quiz.show_result,
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
