"""UTC time, one way: every timestamp Debussy stores or prints is UTC ISO-8601.

``now()`` is the single clock the rest of the code asks, so tests can move time
(cache expiry, ``newer`` comparisons) by patching or passing a clock instead of
sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def now() -> datetime:
    """The current time, UTC, to the second (what we store and compare)."""
    return datetime.now(UTC).replace(microsecond=0)


def precise_now() -> datetime:
    """The current time, UTC, with its microseconds: for ages that must never exceed the truth.

    The cache stamps and measures with it: ``now()`` cuts both ends to the second, so an
    answer fetched 1.2 s after a write could be reported 2 s old, older than the write.
    """
    return datetime.now(UTC)


def to_iso_precise(moment: datetime) -> str:
    """``2026-11-27T10:00:00.250000Z``: ``to_iso`` with microseconds (``parse_iso`` reads it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_iso(moment: datetime) -> str:
    """``2026-11-27T10:00:00Z``: the form used in the database, JSON and the cache."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO-8601 (``Z``, offsets and Jira's ``+0000`` form), returning aware UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit() and value[-3] != ":":
        value = f"{value[:-2]}:{value[-2:]}"  # Jira: 2026-11-27T10:00:00.000+0000
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+01:00 is valid ISO, but not a moment in UTC: callers expect ValueError.
        raise ValueError("date outside the range of UTC timestamps") from None


def humanize_age(seconds: float) -> str:
    """``just now``, ``45s``, ``2m``, ``3h``, ``5d``: how old a cached answer is."""
    seconds = max(0, int(seconds))
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"
