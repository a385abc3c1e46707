"""A clock the tests move by hand: expiry and exact times without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class ManualClock:
    """Called like ``timeutil.now``; only ``advance`` moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)
