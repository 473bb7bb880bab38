"""The SQL side of quiz statistics: counts, grouped in the database, for quiz.analytics.

Everything the formulas need reduces to small tables of counts, so no query returns a row
per attempt or per answer:

- attempt totals: (score, max score) -> count;
- cells: (question version, item score, attempt total) -> count, over every question each
  analysed attempt was given (from Attempt.question_ids), unanswered ones scored 0;
- for quizzes that draw several questions per (topic, level): per group, the sum and sum of
  squares of the per-attempt group score.

Each query groups by a `first` flag as well, so one pass serves both "first attempts" and
"all attempts". This is the full aggregation (seconds at 100,000 attempts): the analytics
page reads the counts that analytics_store keeps up to date instead.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from peewee import SQL, Case, fn

from . import analytics
from .db import database, is_sqlite
from .models import Answer, Attempt, Question, Quiz

COMPLETED = ("submitted", "expired")


def first_attempts(quiz: Quiz):
    """A subquery of the ids of each candidate's first completed attempt of the quiz (per
    invitation, or per browser key for public attempts)."""
    done = (Attempt.quiz == quiz) & Attempt.status.in_(COMPLETED)
    invited = (
        Attempt.select(fn.MIN(Attempt.id))
        .where(done & Attempt.invitation.is_null(False))
        .group_by(Attempt.invitation)
    )
    public = (
        Attempt.select(fn.MIN(Attempt.id))
        .where(done & Attempt.invitation.is_null())
        .group_by(Attempt.owner_key)
    )
    return invited + public  # UNION ALL: the two sets are disjoint


def _analysed(quiz: Quiz):
    """Completed attempts of the quiz: id, total, and 1 when it is a first attempt."""
    first = Case(None, [(Attempt.id.in_(first_attempts(quiz)), 1)], 0)
    return Attempt.select(Attempt.id, Attempt.score, first.alias("first")).where(
        (Attempt.quiz == quiz) & Attempt.status.in_(COMPLETED)
    )


def candidate_counts(quiz: Quiz):
    """Queries of the candidates who started the quiz: invitations, and browser keys of
    public attempts (each an index-only count over attempt_quiz_candidate)."""
    invited = Attempt.select(fn.COUNT(Attempt.invitation.distinct())).where(
        (Attempt.quiz == quiz) & Attempt.invitation.is_null(False)
    )
    public = Attempt.select(fn.COUNT(Attempt.owner_key.distinct())).where(
        (Attempt.quiz == quiz) & Attempt.invitation.is_null()
    )
    return invited, public


def started(quiz: Quiz, first_only: bool) -> int:
    """Candidates (first attempts) or attempts (all attempts) that started the quiz."""
    if not first_only:
        return Attempt.select(fn.COUNT(Attempt.id)).where(Attempt.quiz == quiz).scalar() or 0
    return sum(query.scalar() or 0 for query in candidate_counts(quiz))


@dataclass
class Counts:
    """The aggregated counts of one scope (first attempts, or all attempts)."""

    totals: dict[tuple[float, float], int] = field(default_factory=lambda: defaultdict(int))
    cells: dict[tuple[int, float, float], int] = field(default_factory=lambda: defaultdict(int))
    slots: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))

    def rows(self):
        """(totals, cells, slots) as lists and a dict, the shape analytics.Data takes."""
        return (
            [(s, m, n) for (s, m), n in self.totals.items()],
            [(*k, n) for k, n in self.cells.items()],
            {k: (a, b) for k, (a, b) in self.slots.items()},
        )


def _raw(sql: str, subquery):
    inner, params = subquery.sql()
    return database.execute_sql(sql.replace("{analysed}", inner), params).fetchall()


def aggregate(quiz: Quiz, grouped: bool) -> dict[bool, Counts]:
    """Counts for first attempts (True) and all attempts (False), from attempts and answers.
    `grouped`: also the (topic, level) group sums (quizzes drawing several per group)."""
    scopes = {True: Counts(), False: Counts()}
    analysed = _analysed(quiz)
    a = analysed.alias("b")
    totals = (
        Attempt.select(a.c.first, Attempt.score, Attempt.max_score, fn.COUNT(SQL("*")))
        .join(a, on=(Attempt.id == a.c.id))
        .group_by(a.c.first, Attempt.score, Attempt.max_score)
        .tuples()
    )
    for first, score, max_score, n in totals:
        _both(scopes, first, lambda c: c.totals, (score or 0.0, max_score or 0.0), n)
    answered = (
        Answer.select(a.c.first, Answer.question, Answer.score, a.c.score, fn.COUNT(SQL("*")))
        .join(a, on=(Answer.attempt == a.c.id))
        .group_by(a.c.first, Answer.question, Answer.score, a.c.score)
        .tuples()
    )
    seen: dict[tuple[bool, int, float], int] = defaultdict(int)
    for first, qid, x, total, n in answered:
        _both(scopes, first, lambda c: c.cells, (qid, x or 0.0, total or 0.0), n)
        seen[(bool(first), qid, total or 0.0)] += n
    for first, qid, total, n in _presented(analysed):
        missing = n - seen.get((bool(first), qid, total or 0.0), 0)
        if missing > 0:  # given but never answered: scored 0
            _both(scopes, first, lambda c: c.cells, (qid, 0.0, total or 0.0), missing)
    if grouped:
        for first, slot, s, sq in _group_sums(a):
            for scope in (True, False) if first else (False,):
                acc = scopes[scope].slots[slot]
                acc[0] += s or 0.0
                acc[1] += sq or 0.0
    return scopes


def _both(scopes, first, part, key, n) -> None:
    """Count a first attempt in both scopes, any other in "all" only."""
    part(scopes[False])[key] += n
    if first:
        part(scopes[True])[key] += n


def _presented(analysed) -> list[tuple[int, int, float, int]]:
    """(first, question, attempt total) -> count over the questions each attempt was given."""
    if is_sqlite():
        each = "json_each(t.question_ids) AS q"
    else:
        each = "json_array_elements_text(CAST(t.question_ids AS json)) AS q(value)"
    table = Attempt._meta.table_name
    sql = (
        f"SELECT b.first, CAST(q.value AS INTEGER), t.score, COUNT(*) "
        f"FROM ({{analysed}}) AS b JOIN {table} AS t ON t.id = b.id, {each} "
        f"GROUP BY b.first, CAST(q.value AS INTEGER), t.score"
    )
    return _raw(sql, analysed)


def _group_sums(a) -> list[tuple[int, str, float, float]]:
    """(first, group) -> sum and sum of squares of the per-attempt group score."""
    per_attempt = (
        Answer.select(
            a.c.first.alias("first"),
            Question.topic.alias("topic"),
            Question.level.alias("level"),
            fn.SUM(Answer.score).alias("s"),
        )
        .join(a, on=(Answer.attempt == a.c.id))
        .switch(Answer)
        .join(Question, on=(Answer.question == Question.id))
        .group_by(Answer.attempt, a.c.first, Question.topic, Question.level)
    ).alias("g")
    rows = (
        Answer.select(
            per_attempt.c.first,
            per_attempt.c.topic,
            per_attempt.c.level,
            fn.SUM(per_attempt.c.s),
            fn.SUM(per_attempt.c.s * per_attempt.c.s),
        )
        .from_(per_attempt)
        .group_by(per_attempt.c.first, per_attempt.c.topic, per_attempt.c.level)
        .tuples()
    )
    return [(first, slot_key(t, lv), s, sq) for first, t, lv, s, sq in rows]


def grouped(quiz: Quiz) -> bool:
    """True when the quiz draws more than one question per (topic, level) group, so a
    group's score per attempt is a sum over questions (its own slot in Cronbach's alpha)."""
    return ((quiz.selection or {}).get("per_topic_level") or 0) > 1


def slot_key(topic: str, level: str) -> str:
    return f"{topic}/{level}"


def items(question_ids) -> dict[int, analytics.Item]:
    """The question versions with these ids, as the statistics need them."""
    query = Question.select(
        Question.id, Question.slug, Question.topic, Question.level, Question.points, Question.prompt
    ).where(Question.id.in_(list(question_ids)))
    return {
        q.id: analytics.Item(q.id, q.slug, q.topic, q.level, float(q.points), q.prompt)
        for q in query
    }


def to_data(quiz: Quiz, started, completed, totals, cells, slots) -> analytics.Data:
    """Assemble analytics.Data. Slots are (topic, level) groups when the quiz draws questions
    per group, else one per question (derived from the cells)."""
    known = items({c[0] for c in cells})
    cells = [c for c in cells if c[0] in known]  # a question row deleted since: skip it
    slot_of: dict[str, str] = {}
    if (quiz.selection or {}).get("per_topic_level"):
        slot_of = {i.slug: slot_key(i.topic, i.level) for i in known.values()}
    return analytics.Data(
        known, started, completed, totals, cells, slot_of, slots if grouped(quiz) else None
    )


def load(quiz: Quiz, first_only: bool = True) -> analytics.Data:
    """Everything the statistics of `quiz` need, aggregated from attempts and answers."""
    totals, cells, slots = aggregate(quiz, grouped(quiz))[first_only].rows()
    completed = sum(n for *_, n in totals)
    return to_data(quiz, started(quiz, first_only), completed, totals, cells, slots)


def report(quiz: Quiz, first_only: bool = True) -> analytics.Report:
    """The statistics report of a quiz, computed from scratch (the analytics page uses the
    counts analytics_store keeps instead)."""
    return analytics.analyse(load(quiz, first_only))
