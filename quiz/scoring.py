"""Scoring and level estimation: plain data in, plain data out (no Flask, no database).

Responses are JSON-able dicts, one shape per kind:
  single, true_false, code_output: {"choice": id}
  multiple:                        {"choices": [id, ...]}
  ordering:                        {"order": [id, ...]}   (the candidate's order)
  text:                            {"text": "..."}
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

LEVELS = ("junior", "mid", "senior")


@dataclass(frozen=True)
class Key:
    """What scoring needs to know of one choice."""

    id: int
    text: str
    correct: bool
    position: int


class Scored(NamedTuple):
    score: float
    correct: bool


def score_answer(kind: str, points: float, keys: Sequence[Key], response: Mapping | None) -> Scored:
    """Score one response; an empty or missing response scores 0."""
    if not response:
        return Scored(0.0, False)
    credit = CREDIT[kind](keys, response)
    credit = min(max(credit, 0.0), 1.0)
    return Scored(round(points * credit, 4), credit == 1.0)


def _single(keys: Sequence[Key], response: Mapping) -> float:
    right = {k.id for k in keys if k.correct}
    return 1.0 if response.get("choice") in right else 0.0


def _multiple(keys: Sequence[Key], response: Mapping) -> float:
    """Right picks minus wrong picks over the number of right choices, floored at 0."""
    right = {k.id for k in keys if k.correct}
    picked = set(response.get("choices", ()))
    if not right:
        return 0.0
    return max(0.0, (len(picked & right) - len(picked - right)) / len(right))


def _ordering(keys: Sequence[Key], response: Mapping) -> float:
    """Share of item pairs that the candidate put in the right relative order."""
    position = {k.id: k.position for k in keys}
    order = [position[i] for i in response.get("order", ()) if i in position]
    if len(order) != len(keys) or len(set(order)) != len(order):
        return 0.0
    pairs = len(order) * (len(order) - 1) // 2
    if pairs == 0:
        return 1.0
    good = sum(1 for i, a in enumerate(order) for b in order[i + 1 :] if a < b)
    return good / pairs


def normalise_text(text: str) -> str:
    """Case-fold, trim, drop surrounding quotes/backticks and a final full stop, fold spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().strip().rstrip(".")
    text = text.strip("`'\"“”‘’ \t\n").rstrip(".").strip()
    return re.sub(r"\s+", " ", text)


def _text(keys: Sequence[Key], response: Mapping) -> float:
    given = normalise_text(str(response.get("text", "")))
    accepted = {normalise_text(k.text) for k in keys if k.correct}
    return 1.0 if given and given in accepted else 0.0


CREDIT = {
    "single": _single,
    "true_false": _single,
    "code_output": _single,
    "multiple": _multiple,
    "ordering": _ordering,
    "text": _text,
}


@dataclass(frozen=True)
class Part:
    """Points scored out of points possible, for a topic or a level."""

    score: float
    max_score: float

    @property
    def share(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def totals(rows: Iterable[tuple[str, float, float]]) -> dict[str, Part]:
    """Sum (group, score, max_score) rows into a Part per group, in first-seen order."""
    sums: dict[str, list[float]] = {}
    for group, score, max_score in rows:
        acc = sums.setdefault(group, [0.0, 0.0])
        acc[0] += score
        acc[1] += max_score
    return {g: Part(round(s, 4), m) for g, (s, m) in sums.items()}


LEVEL_RULE = (
    "Levels build on each other. You reach a level when you score at least {pct}% of the "
    "points on its questions and on the questions of every lower level in this quiz. "
    "Everyone starts at junior; a level the quiz does not ask about cannot be reached."
)


def estimate_level(by_level: Mapping[str, Part], threshold: float = 0.6) -> str:
    """The highest level L such that the candidate reached `threshold` of the points at L
    and at every lower level that the quiz asked about; junior when none is reached."""
    level = "junior"
    for name in LEVELS:
        part = by_level.get(name)
        if part is None or not part.max_score:
            continue  # not asked: neither helps nor blocks
        if part.share < threshold:
            break
        level = name
    return level


def passed(score: float, max_score: float, pass_mark: int | None) -> bool | None:
    """Pass or fail against a percentage pass mark; None when the quiz has none."""
    if pass_mark is None:
        return None
    return max_score > 0 and 100 * score / max_score >= pass_mark - 1e-9
