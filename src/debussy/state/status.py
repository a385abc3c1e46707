"""Phase and run statuses, and how a run's status follows from its phases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

PhaseStatus = Literal[
    "pending", "running", "validating", "awaiting_human", "completed", "failed", "blocked"
]
PHASE_STATUSES: tuple[PhaseStatus, ...] = (
    "pending",
    "running",
    "validating",
    "awaiting_human",
    "completed",
    "failed",
    "blocked",
)
ACTIVE_STATUSES: frozenset[PhaseStatus] = frozenset({"running", "validating", "awaiting_human"})

RunStatus = Literal["pending", "running", "completed", "failed"]


def as_phase_status(value: str) -> PhaseStatus:
    """Narrow a stored string; the database only ever holds these values."""
    if value not in PHASE_STATUSES:
        raise ValueError(f"unknown phase status {value!r}")
    return value


def run_aggregate(statuses: Iterable[PhaseStatus]) -> RunStatus:
    """The run's status as its plan-level issues should reflect it (PRODUCT.md §7).

    All phases completed → completed; any active (running, validating, awaiting
    human) → running; any failed → failed; otherwise pending.
    """
    values = list(statuses)
    if values and all(status == "completed" for status in values):
        return "completed"
    if any(status in ACTIVE_STATUSES for status in values):
        return "running"
    if any(status == "failed" for status in values):
        return "failed"
    return "pending"
