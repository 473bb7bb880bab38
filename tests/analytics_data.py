"""Generated attempts for the statistics tests and benchmarks: candidates of varying ability
answering consistently with it (a logistic item-response model), written with bulk inserts."""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from quiz.db import database, is_sqlite
from quiz.models import Answer, Attempt, Invitation, Question, Quiz

START = datetime(2025, 1, 1)


@dataclass
class Record:
    """What the generator wrote for one attempt: the truth the reference computation uses."""

    id: int
    candidate: str
    status: str
    question_ids: list[int]
    scores: dict[int, float] = field(default_factory=dict)  # answered questions only

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 4)


def _score(rng: random.Random, ability: float, difficulty: float, points: int) -> float:
    """A mark out of `points`: each point earned with the logistic probability."""
    p = 1 / (1 + math.exp(-(ability - difficulty)))
    return float(sum(rng.random() < p for _ in range(points)))


def populate(
    quiz: Quiz,
    candidates: int,
    rng: random.Random,
    groups: list[list[int]] | None = None,
    repeat: float = 0.3,
    unfinished: float = 0.1,
    skipped: float = 0.1,
    invited: float = 0.3,
    batch: int = 2000,
) -> list[Record]:
    """Attempts of `quiz` by `candidates` people; some try twice or more (`repeat`), some
    leave an attempt open (`unfinished`), some skip questions (`skipped`: no answer row, or
    a flag-only row scored 0). `groups` are lists of question ids; each attempt draws one
    per group (default: the quiz's current questions, one per group)."""
    with database.atomic():
        return _populate(quiz, candidates, rng, groups, repeat, unfinished, skipped, invited, batch)


def _populate(quiz, candidates, rng, groups, repeat, unfinished, skipped, invited, batch):
    if groups is None:
        ids = [q.id for q in Question.select().where(Question.current == True)]  # noqa: E712
        groups = [[i] for i in ids]
    points = dict(Question.select(Question.id, Question.points).tuples())
    difficulty = {qid: rng.uniform(-1.5, 1.5) for g in groups for qid in g}
    invitation = None
    records, attempt_rows, answers = [], [], []
    next_id = (Attempt.select(Attempt.id).order_by(Attempt.id.desc()).scalar() or 0) + 1
    for c in range(candidates):
        ability = rng.gauss(0, 1)
        if rng.random() < invited:
            invitation = Invitation.create(
                token_hash=f"{quiz.id}-{c}-{rng.random()}"[:64],
                quiz=quiz,
                candidate_name=f"Candidate {c}",
                candidate_email=f"c{c}@example.com",
                expires_at=START + timedelta(days=30),
                max_attempts=3,
            )
            key, owner = f"i{invitation.id}", f"owner-{c}"
        else:
            invitation, key, owner = None, f"o{c}", f"owner-{c}"
        tries = 1 + (rng.random() < repeat) + (rng.random() < repeat / 3)
        for t in range(tries):
            qids = [rng.choice(g) for g in groups]
            status = (
                "in_progress"
                if rng.random() < unfinished
                else rng.choice(["submitted", "submitted", "submitted", "expired"])
            )
            record = Record(next_id, key, status, qids)
            for qid in qids:
                if rng.random() < skipped:
                    if rng.random() < 0.5:  # flagged but never answered: a row scored 0
                        answers.append((next_id, qid, None, 0.0, True))
                    continue
                mark = _score(rng, ability + 0.2 * t, difficulty[qid], points[qid])
                record.scores[qid] = mark
                answers.append((next_id, qid, {"x": 1}, mark, False))
            done = status != "in_progress"
            started = START + timedelta(minutes=next_id)
            attempt_rows.append(
                {
                    "id": next_id,
                    "public_id": f"gen{next_id}",
                    "owner_key": owner,
                    "quiz": quiz.id,
                    "invitation": invitation.id if invitation else None,
                    "candidate_name": f"Candidate {c}",
                    "candidate_email": f"c{c}@example.com",
                    "question_ids": qids,
                    "started_at": started,
                    "finished_at": started + timedelta(minutes=20) if done else None,
                    "status": status,
                    "score": record.total if done else None,
                    "max_score": float(sum(points[q] for q in qids)) if done else None,
                    "level": "mid" if done else None,
                }
            )
            records.append(record)
            next_id += 1
        if len(attempt_rows) >= batch:
            _flush(attempt_rows, answers)
    _flush(attempt_rows, answers)
    return records


def _flush(attempt_rows: list, answers: list) -> None:
    with database.atomic():
        for i in range(0, len(attempt_rows), 500):
            Attempt.insert_many(attempt_rows[i : i + 500]).execute()
        fields = [Answer.attempt, Answer.question, Answer.response, Answer.score, Answer.flagged]
        for i in range(0, len(answers), 500):
            Answer.insert_many(answers[i : i + 500], fields=fields).execute()
        if not is_sqlite():  # ids were given explicitly: move PostgreSQL's sequence past them
            database.execute_sql(
                "SELECT setval(pg_get_serial_sequence('attempt', 'id'), MAX(id)) FROM attempt"
            )
    attempt_rows.clear()
    answers.clear()


def first_completed(records: list[Record]) -> list[Record]:
    """The reference rule, in plain Python: each candidate's first completed attempt."""
    chosen: dict[str, Record] = {}
    for r in sorted(records, key=lambda r: r.id):
        if r.status != "in_progress" and r.candidate not in chosen:
            chosen[r.candidate] = r
    return sorted(chosen.values(), key=lambda r: r.id)
