"""Turn submitted form fields into a response, and a response back into words (no Flask)."""

from collections.abc import Mapping, Sequence

from .scoring import Key


class InvalidAnswer(ValueError):
    """The submitted fields cannot be an answer to this question; the message says why."""


def _ints(values: Sequence[str], what: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise InvalidAnswer(f"{what} must be a number.") from None


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name, ())
    if len(values) > 1:
        raise InvalidAnswer("Pick only one answer.")
    return values[0] if values else None


def parse_response(
    kind: str, keys: Sequence[Key], fields: Mapping[str, Sequence[str]], max_text: int = 2000
) -> dict | None:
    """The response for `kind` from form fields (name -> list of values); None if unanswered.

    Raises InvalidAnswer for anything a real form of this question could not send.
    """
    ids = {k.id for k in keys}
    if kind in ("single", "true_false", "code_output"):
        value = _one(fields, "choice")
        if value in (None, ""):
            return None
        (choice,) = _ints([value], "The choice")
        if choice not in ids:
            raise InvalidAnswer("That choice is not one of this question's choices.")
        return {"choice": choice}
    if kind == "multiple":
        picked = _ints(fields.get("choices", ()), "A choice")
        if len(set(picked)) != len(picked):
            raise InvalidAnswer("A choice was sent more than once.")
        if not set(picked) <= ids:
            raise InvalidAnswer("That choice is not one of this question's choices.")
        return {"choices": sorted(picked)} if picked else None
    if kind == "ordering":
        return _parse_order(keys, fields)
    if kind == "text":
        text = (_one(fields, "text") or "").strip()
        if len(text) > max_text:
            raise InvalidAnswer(f"Your answer is too long: keep it under {max_text} characters.")
        return {"text": text} if text else None
    raise InvalidAnswer(f"Unknown question kind {kind!r}.")


def _parse_order(keys: Sequence[Key], fields: Mapping[str, Sequence[str]]) -> dict | None:
    names = {f"order-{k.id}": k.id for k in keys}
    stray = [n for n in fields if n.startswith("order-") and n not in names]
    if stray:
        raise InvalidAnswer("That item is not one of this question's items.")
    places: dict[int, str] = {}
    for name, key_id in names.items():
        values = fields.get(name, ())
        if len(values) > 1:
            raise InvalidAnswer("An item was given more than one position.")
        places[key_id] = values[0] if values else ""
    if all(v == "" for v in places.values()):
        return None
    n = len(keys)
    message = f"Give each item a different position from 1 to {n}."
    try:
        ranks = {key_id: int(v) for key_id, v in places.items()}
    except ValueError:
        raise InvalidAnswer(message) from None
    if sorted(ranks.values()) != list(range(1, n + 1)):
        raise InvalidAnswer(message)
    return {"order": sorted(ranks, key=ranks.get)}


def describe(kind: str, keys: Sequence[Key], response: Mapping | None) -> list[str]:
    """The candidate's answer as a list of texts (in their order); empty if unanswered."""
    if not response:
        return []
    text_of = {k.id: k.text for k in keys}
    missing = "(a choice that has since been removed)"
    if kind == "text":
        return [response.get("text", "")]
    if kind == "multiple":
        ids = response.get("choices", [])
    elif kind == "ordering":
        ids = response.get("order", [])
    else:
        ids = [response.get("choice")]
    return [text_of.get(i, missing) for i in ids]


def right_answer(kind: str, keys: Sequence[Key]) -> list[str]:
    """The right answer as texts: the right choices, the right order, or accepted answers."""
    if kind == "ordering":
        return [k.text for k in sorted(keys, key=lambda k: k.position)]
    return [k.text for k in sorted(keys, key=lambda k: k.position) if k.correct]
