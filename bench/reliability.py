#!/usr/bin/env python3
"""Reliability of the timed quizzes on demo data: Cronbach's alpha and the standard error of
measurement (SEM), as the statistics page computes them, at the shipped draw and at other
draws of questions per (topic, level), with the estimated time each draw needs.

    python bench/reliability.py [--attempts N] [--draws 1,2,3]

Demo candidates (quiz/demo.py) have an ability drawn from N(0, 1.2) and answer each question
right with a logistic chance that falls with its level: the figures describe that model on the
shipped bank's shape, not real candidates. The statistics page shows the same figures from
real attempts once a quiz has them. Runs in a temporary folder; nothing else is touched.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quiz import analytics_store, bank, create_app, demo  # noqa: E402
from quiz.db import create_schema, database  # noqa: E402
from quiz.models import Quiz  # noqa: E402
from quiz.quizzes import MINUTES_PER_QUESTION, active_rows, pick  # noqa: E402

TIMED = ("flask-foundations", "flask-developer-assessment", *demo.DEFAULT_QUIZZES[:3])


def measure(attempts: int, per: int | None) -> list[tuple]:
    """(slug, questions, minutes, time limit, alpha, SEM) per timed quiz; `per` overrides
    the draw per (topic, level), None keeps the shipped one."""
    folder = Path(tempfile.mkdtemp(prefix="quiz-reliability-"))
    app = create_app({"INSTANCE_PATH": folder, "DATABASE_URL": f"sqlite:///{folder}/q.sqlite3"})
    rows = []
    try:
        with app.app_context():
            create_schema()
            with database.connection_context():
                bank.seed(bank.BANK_DIR)
                for n, slug in enumerate(TIMED):
                    quiz = Quiz.get(Quiz.slug == slug)
                    if per is not None:
                        quiz.selection = {**quiz.selection, "per_topic_level": per}
                        quiz.save()
                    demo.generate(attempts, (slug,), seed=7 + n)
                    chosen = pick(quiz.selection, active_rows())
                    minutes = sum(MINUTES_PER_QUESTION[r.level] for r in chosen)
                    report = analytics_store.report(quiz, first_only=False)
                    rows.append(
                        (slug, len(chosen), minutes, quiz.time_limit, report.alpha, report.sem)
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000, help="demo attempts per quiz")
    parser.add_argument("--draws", default="1,2,3", help="questions per (topic, level) to try")
    args = parser.parse_args()
    print(
        f"{'draw':>8}  {'quiz':28} {'questions':>9} {'minutes':>7} {'limit':>5} "
        f"{'alpha':>5} {'SEM (pct points)':>16}"
    )
    for per in [None, *(int(d) for d in args.draws.split(","))]:
        for slug, count, minutes, limit, alpha, sem in measure(args.attempts, per):
            fits = "" if not limit or minutes <= limit else "  (over the time limit)"
            print(
                f"{'shipped' if per is None else per:>8}  {slug:28} {count:9} {minutes:7.0f} "
                f"{limit or '-':>5} {alpha:5.2f} {sem:16.1f}{fits}"
            )


if __name__ == "__main__":
    main()
