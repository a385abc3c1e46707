"""The few words every view shares, so that all output says things the same way.

Counts agree with their nouns ("1 phase", "2 phases"), trackers are named as their
vendors write them ("GitHub", "Jira"), and every warning starts with ``Warning:``.
"""

from __future__ import annotations

from debussy.sync.trackers import tracker_name

WARNING = "Warning:"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 issue``, ``2 issues``, ``1,994 issues`` (thousands separated for long lists)."""
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count:,} {word}"


def platform_name(platform: str) -> str:
    """``GitHub`` for ``github``; an unknown platform id is shown as it is (the registry's)."""
    return tracker_name(platform)


def number_ranges(numbers: list[int], prefix: str = "#") -> str:
    """``#101–#2094, #3000``: consecutive issue numbers collapsed into ranges."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    start = previous = None
    for number in [*ordered, None]:
        if number is not None and previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None and previous is not None:
            parts.append(
                f"{prefix}{start}" if start == previous else f"{prefix}{start}–{prefix}{previous}"
            )
        start = previous = number
    return ", ".join(parts)


OUTCOME_WORDS = {
    "applied": "✓",
    "already": "already so",
    "refused": "refused",
    "unconfirmed": "unconfirmed",
    "skipped": "skipped",
}
"""How each write outcome (PRODUCT.md §8 "Results") is shown: only ``applied`` gets ✓,
so nothing refused, unconfirmed or skipped can ever read as a success."""


def outcome_text(outcome: str, detail: str | None) -> str:
    """``✓``, ``already so``, ``refused: <the tracker's reason>``, ``unconfirmed: ...``."""
    word = OUTCOME_WORDS.get(outcome, outcome)
    if outcome in ("applied", "already") or not detail:
        return word
    return f"{word}: {detail}"
