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
    """The run's status as its plan-level issues should reflect it (docs/STATUS_AND_SYNC.md).

    All phases pending → pending; all completed → completed; any failed and none
    active → failed; otherwise running. A run between two phases (one done, the
    next not started) is running: its plan-level issues keep the in-progress
    label instead of losing it at ``phase done`` and regaining it at the next
    ``phase start`` — every such flap is an event on an issue people watch.
    """
    values = list(statuses)
    if all(status == "pending" for status in values):
        return "pending"
    if all(status == "completed" for status in values):
        return "completed"
    if any(status == "failed" for status in values) and not any(
        status in ACTIVE_STATUSES for status in values
    ):
        return "failed"
    return "running"
