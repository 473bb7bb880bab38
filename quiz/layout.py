"""How a question's choices reach the candidate: in which order, and under which names.

Nothing a candidate receives may correlate with the key. Choice ids are assigned in the bank's
order (the right order of an ordering question, often the right answer first), so the page
never shows them: each choice travels as an opaque token, an HMAC of the attempt and the
choice under the app's secret, that the server maps back. The order is drawn per attempt when
it starts and stored on the attempt (`Attempt.layout`), so a reload shows the same order and the
result and reviewer pages show what the candidate saw.

- single, multiple, code_output: shuffled, unless the quiz keeps the bank's order
  (`Quiz.shuffle_choices`, for choices such as "none of the above" or numeric ranges).
- true_false: always "True" then "False"; the texts say which is which anyway.
- ordering: always shuffled, never in the right order nor its exact reverse. Excluding both
  makes every guess worth chance: a guess agrees with an order and with its reverse on
  complementary pairs, so whatever it is, its expected share of pairs stays one half.
"""

import base64
import hashlib
import hmac
import random
from collections.abc import Mapping, Sequence

from flask import current_app

from .scoring import Key

SHUFFLED = ("single", "multiple", "code_output")


def draw(kind: str, keys: Sequence[Key], rng: random.Random, shuffle: bool) -> list[int]:
    """The order (choice ids) in which an attempt shows this question's choices."""
    ids = [k.id for k in sorted(keys, key=lambda k: k.position)]
    if kind == "ordering":
        if len(ids) < 3:  # no order other than the right one and its reverse
            rng.shuffle(ids)
            return ids
        right, reverse = list(ids), ids[::-1]
        while ids in (right, reverse):
            rng.shuffle(ids)
        return ids
    if kind in SHUFFLED and shuffle:
        rng.shuffle(ids)
    return ids


def freeze(
    content: Mapping[int, tuple], question_ids: Sequence[int], rng: random.Random, shuffle: bool
) -> dict[str, list[int]]:
    """The layout of a new attempt: question id (as text, a JSON key) -> choice ids shown."""
    layout = {}
    for qid in question_ids:
        question, keys = content[qid]
        if keys and question.kind != "text":
            layout[str(qid)] = draw(question.kind, keys, rng, shuffle)
    return layout


def shown(attempt, question, keys: Sequence[Key]) -> list[Key]:
    """The question's choices in the order this attempt shows them.

    An attempt from before layouts were stored (or a choice missing from its layout) falls
    back to a draw seeded by the attempt and question, so the order is still stable."""
    by_id = {k.id: k for k in keys}
    order = (getattr(attempt, "layout", None) or {}).get(str(question.id))
    if order is None or set(order) != set(by_id):
        rng = random.Random(f"{attempt.public_id}:{question.id}")
        order = draw(question.kind, keys, rng, shuffle=question.kind == "ordering")
    return [by_id[i] for i in order]


def token(public_id: str, choice_id: int) -> str:
    """The opaque name of a choice within one attempt (16 URL-safe characters, 96 bits)."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(secret, f"choice:{public_id}:{choice_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:12]).decode()


def names(public_id: str, keys: Sequence[Key]) -> dict[str, int]:
    """Token -> choice id for one question of an attempt (what its form may send)."""
    return {token(public_id, k.id): k.id for k in keys}
