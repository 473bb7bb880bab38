"""The shipped question bank: TOML files, one per topic, plus quizzes.toml; seeding."""

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..db import database
from ..models import Choice, Question, Quiz

BANK_DIR = Path(__file__).parent
QUIZZES_FILE = "quizzes.toml"


def _topic_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.toml") if p.name != QUIZZES_FILE)


def load_topics(folder: Path = BANK_DIR) -> list[dict]:
    """Every topic file as a dict: {"topic", "title", "questions": [...]}."""
    return [tomllib.loads(p.read_text("utf-8")) for p in _topic_files(folder)]


def load_quizzes(folder: Path = BANK_DIR) -> list[dict]:
    path = folder / QUIZZES_FILE
    return tomllib.loads(path.read_text("utf-8")).get("quizzes", []) if path.exists() else []


@lru_cache(maxsize=1)
def topic_titles() -> dict[str, str]:
    """Topic slug -> display title, from the shipped bank."""
    return {t["topic"]: t.get("title", t["topic"]) for t in load_topics()}


def topic_title(slug: str) -> str:
    return topic_titles().get(slug) or slug.replace("-", " ").capitalize()


def _choices(q: dict) -> list[tuple[str, bool]]:
    """(text, correct) in position order; a text question's accepted answers are choices."""
    if q["kind"] == "text":
        return [(a, True) for a in q["accepted"]]
    return [(c["text"], bool(c.get("correct", False))) for c in q["choices"]]


FIELDS = ("topic", "level", "kind", "prompt", "code", "explanation", "reference", "points")


def _fields(topic: str, q: dict) -> dict:
    return {
        "topic": topic,
        "level": q["level"],
        "kind": q["kind"],
        "prompt": q["prompt"].strip(),
        "code": q.get("code", "").strip("\n"),
        "explanation": q.get("explanation", "").strip(),
        "reference": q.get("reference", ""),
        "points": int(q.get("points", 1)),
    }


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    quizzes: int = 0


def seed(folder: Path = BANK_DIR) -> SeedReport:
    """Insert or update every question and quiz by slug; running it again changes nothing.

    Choices are updated in place by position so stored answers keep pointing at them.
    """
    report = SeedReport()
    with database.atomic():
        for topic in load_topics(folder):
            for q in topic["questions"]:
                _seed_question(topic["topic"], q, report)
        for z in load_quizzes(folder):
            _seed_quiz(z)
            report.quizzes += 1
    return report


def _seed_question(topic: str, q: dict, report: SeedReport) -> None:
    fields, choices = _fields(topic, q), _choices(q)
    question = Question.get_or_none(Question.slug == q["slug"])
    if question is None:
        question = Question.create(slug=q["slug"], **fields)
        Choice.insert_many(
            [(question.id, t, c, i) for i, (t, c) in enumerate(choices)],
            fields=[Choice.question, Choice.text, Choice.correct, Choice.position],
        ).execute()
        report.created += 1
        return
    existing = list(question.choices.order_by(Choice.position))
    same = (
        all(getattr(question, f) == v for f, v in fields.items())
        and [(c.text, c.correct) for c in existing] == choices
    )
    if same:
        report.unchanged += 1
        return
    for name, value in fields.items():
        setattr(question, name, value)
    question.version += 1
    question.save()
    for i, (text, correct) in enumerate(choices):
        if i < len(existing):
            Choice.update(text=text, correct=correct).where(Choice.id == existing[i].id).execute()
        else:
            Choice.create(question=question, text=text, correct=correct, position=i)
    if len(existing) > len(choices):
        Choice.delete().where(
            Choice.question == question, Choice.position >= len(choices)
        ).execute()
    report.updated += 1


def _seed_quiz(z: dict) -> None:
    time_limit = int(z.get("time_limit", 0)) or None
    values = {
        "title": z["title"],
        "description": z.get("description", "").strip(),
        "public": bool(z.get("public", False)),
        "shuffle": bool(z.get("shuffle", True)),
        "pass_mark": z.get("pass_mark"),
        "time_limit": time_limit,
        "show_result": bool(z.get("show_result", True)),
        "selection": dict(z.get("select", {})),
    }
    updated = Quiz.update(**values).where(Quiz.slug == z["slug"]).execute()
    if not updated:
        Quiz.create(slug=z["slug"], **values)
