"""Demo data: simulated candidates answering real quizzes, bulk-loaded (for trying the
dashboards and for benchmarks). Candidates have an ability; the chance of a right answer falls
with the question's level; every answer is scored by the real scoring code."""

import math
import random
from dataclasses import dataclass
from datetime import timedelta

from . import analytics_store, clock, scoring
from .attempts import keys as choice_keys
from .db import database
from .models import Answer, Attempt, Event, Invitation, Question, Quiz
from .quizzes import active_rows, pick

DEFAULT_QUIZZES = ("junior-flask", "mid-level-flask", "senior-flask", "flask-foundations")
DIFFICULTY = {"junior": -1.0, "mid": 0.0, "senior": 1.0}
BATCH = 2000


@dataclass
class Report:
    attempts: int = 0
    answers: int = 0
    invitations: int = 0
    events: int = 0


def _response(kind: str, keys: list[scoring.Key], right: bool, rng: random.Random) -> dict:
    """A response that is right, or a plausible wrong one."""
    good = [k for k in keys if k.correct]
    bad = [k for k in keys if not k.correct]
    if kind == "text":
        return {"text": good[0].text if right else "not sure"}
    if kind == "ordering":
        order = [k.id for k in sorted(keys, key=lambda k: k.position)]
        if not right:
            i = rng.randrange(len(order) - 1)
            order[i], order[i + 1] = order[i + 1], order[i]
        return {"order": order}
    if kind == "multiple":
        picked = {k.id for k in good} if right else {good[0].id, rng.choice(bad).id}
        return {"choices": sorted(picked)}
    return {"choice": (good[0] if right or not bad else rng.choice(bad)).id}


def generate(attempts: int, quiz_slugs=DEFAULT_QUIZZES, seed: int = 1) -> Report:
    """Add `attempts` finished (mostly) attempts with their answers, spread over the quizzes."""
    rng = random.Random(seed)
    quizzes = list(Quiz.select().where(Quiz.slug.in_(list(quiz_slugs))))
    if not quizzes:
        raise ValueError(f"none of these quizzes exist: {', '.join(quiz_slugs)}")
    rows = active_rows()
    questions = {q.id: q for q in Question.select().where(Question.id.in_([r.id for r in rows]))}
    keys = choice_keys(list(questions))
    now, report = clock.now(), Report()
    start = now - timedelta(days=90)
    pending_attempts = []
    for n in range(attempts):
        quiz = quizzes[n % len(quizzes)]
        drawn = [r.id for r in pick(quiz.selection or {}, rows, rng)]
        if not drawn:
            continue
        ability = rng.gauss(0, 1.2)
        started = start + timedelta(seconds=rng.randrange(90 * 24 * 3600))
        state = rng.choices(("submitted", "expired", "in_progress"), (90, 5, 5))[0]
        answers, total, by_level = [], 0.0, []
        for qid in drawn:
            q = questions[qid]
            p_right = 1 / (1 + math.exp(DIFFICULTY[q.level] - ability))
            if state == "in_progress" and rng.random() < 0.5:
                continue  # not answered yet
            response = _response(q.kind, keys[qid], rng.random() < p_right, rng)
            scored = scoring.score_answer(q.kind, q.points, keys[qid], response)
            answers.append((qid, response, scored, rng.randint(10, 240)))
            total += scored.score
            by_level.append((q.level, scored.score, float(q.points)))
        max_score = float(sum(questions[i].points for i in drawn))
        level = scoring.estimate_level(scoring.totals(by_level))
        finished = started + timedelta(minutes=rng.randint(5, 40))
        pending_attempts.append(
            (
                {
                    "public_id": f"demo-{seed}-{n}-{rng.getrandbits(64):x}",
                    "owner_key": "demo",
                    "quiz": quiz.id,
                    "candidate_name": f"Demo Candidate {n}",
                    "candidate_email": f"candidate{n}@example.com",
                    "question_ids": drawn,
                    "started_at": started,
                    "status": state,
                    "finished_at": None if state == "in_progress" else finished,
                    "score": None if state == "in_progress" else round(total, 4),
                    "max_score": None if state == "in_progress" else max_score,
                    "level": None if state == "in_progress" else level,
                },
                answers,
                started,
                rng.random() < 0.3,
                rng.random() < 0.2,
            )
        )
        if len(pending_attempts) >= BATCH:
            _flush(pending_attempts, report, now, rng)
            pending_attempts = []
    _flush(pending_attempts, report, now, rng)
    for quiz in quizzes:
        analytics_store.rebuild(quiz)
    return report


def _flush(batch, report: Report, now, rng: random.Random) -> None:
    """Insert a batch of attempts with their invitations, answers and events."""
    if not batch:
        return
    with database.atomic():
        for row, _, started, invited, _ in batch:
            if invited:
                row["invitation"] = Invitation.insert(
                    token_hash=f"{rng.getrandbits(256):064x}",
                    quiz=row["quiz"],
                    candidate_name=row["candidate_name"],
                    candidate_email=row["candidate_email"],
                    created_at=started - timedelta(days=1),
                    expires_at=started + timedelta(days=7),
                    opened_at=started,
                ).execute()
                report.invitations += 1
            else:
                row["candidate_name"], row["candidate_email"] = "", ""
        Attempt.insert_many([b[0] for b in batch]).execute()
        ids = dict(
            Attempt.select(Attempt.public_id, Attempt.id)
            .where(Attempt.public_id.in_([b[0]["public_id"] for b in batch]))
            .tuples()
        )
        answers, events = [], []
        for row, given, started, _, noisy in batch:
            attempt_id = ids[row["public_id"]]
            for qid, response, scored, spent in given:
                answers.append(
                    {
                        "attempt": attempt_id,
                        "question": qid,
                        "response": response,
                        "correct": scored.correct,
                        "score": scored.score,
                        "answered_at": started,
                        "time_spent": spent,
                    }
                )
            if noisy:
                for _ in range(rng.randint(1, 3)):
                    events.append(
                        {
                            "attempt": attempt_id,
                            "kind": rng.choice(("focus_lost", "paste")),
                            "at": started + timedelta(seconds=rng.randint(5, 600)),
                            "detail": f"question {rng.randint(1, len(row['question_ids']))}",
                        }
                    )
        for i in range(0, len(answers), 5000):
            Answer.insert_many(answers[i : i + 5000]).execute()
        if events:
            Event.insert_many(events).execute()
    report.attempts += len(batch)
    report.answers += len(answers)
    report.events += len(events)
