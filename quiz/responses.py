"""Turn submitted form fields into a response, and a response back into words (no Flask)."""

from collections.abc import Mapping, Sequence

from .scoring import Key


class InvalidAnswer(ValueError):
    """The submitted fields cannot be an answer to this question; the message says why."""


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name, ())
    if len(values) > 1:
        raise InvalidAnswer("Pick only one answer.")
    return values[0] if values else None


def _choice(names: Mapping[str, int], value: str) -> int:
    if value not in names:
        raise InvalidAnswer("That choice is not one of this question's choices.")
    return names[value]


def parse_response(
    kind: str,
    keys: Sequence[Key],
    fields: Mapping[str, Sequence[str]],
    max_text: int = 2000,
    names: Mapping[str, int] | None = None,
) -> dict | None:
    """The response for `kind` from form fields (name -> list of values); None if unanswered.

    `names`: what the form calls each choice (form value -> choice id); by default its id.
    Raises InvalidAnswer for anything a real form of this question could not send.
    """
    if names is None:
        names = {str(k.id): k.id for k in keys}
    if kind in ("single", "true_false", "code_output"):
        value = _one(fields, "choice")
        if value in (None, ""):
            return None
        return {"choice": _choice(names, value)}
    if kind == "multiple":
        values = fields.get("choices", ())
        if len(set(values)) != len(values):
            raise InvalidAnswer("A choice was sent more than once.")
        picked = [_choice(names, v) for v in values]
        return {"choices": sorted(picked)} if picked else None
    if kind == "ordering":
        return _parse_order(names, fields)
    if kind == "text":
        text = (_one(fields, "text") or "").strip()
        if len(text) > max_text:
            raise InvalidAnswer(f"Your answer is too long: keep it under {max_text} characters.")
        return {"text": text} if text else None
    raise InvalidAnswer(f"Unknown question kind {kind!r}.")


def _parse_order(names: Mapping[str, int], fields: Mapping[str, Sequence[str]]) -> dict | None:
    fields_of = {f"order-{name}": key_id for name, key_id in names.items()}
    stray = [n for n in fields if n.startswith("order-") and n not in fields_of]
    if stray:
        raise InvalidAnswer("That item is not one of this question's items.")
    places: dict[int, str] = {}
    for name, key_id in fields_of.items():
        values = fields.get(name, ())
        if len(values) > 1:
            raise InvalidAnswer("An item was given more than one position.")
        places[key_id] = values[0] if values else ""
    if all(v == "" for v in places.values()):
        return None
    n = len(fields_of)
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
