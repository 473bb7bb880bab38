"""The one place the app reads the time, so tests can move it."""

from datetime import UTC, datetime


def now() -> datetime:
    """Current UTC time as a naive datetime (how the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)
