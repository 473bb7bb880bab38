"""Untrusted form and query-string values as numbers (no Flask)."""

MAX_DIGITS = 9


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """`text` as a whole number from `low` to `high`, or None.

    ASCII digits only, at most MAX_DIGITS of them: str.isdigit() is also true for "²", which
    int() refuses, and int() raises ValueError on 4,301 digits or more."""
    if not text or len(text) > MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if low <= number <= high else None
