"""What commands that change a run hand the database, and the history they leave behind.

Split from ``records`` because the warm ``status`` paths never build these: each
frozen dataclass costs about half a millisecond to create at import time
(``dataclasses`` compiles its ``__init__``, ``__repr__``, ``__eq__`` and the frozen
``__setattr__``/``__delattr__`` one by one), and a command pays for every class in
every module it imports. ``StateManager`` and ``RunStore`` import this module
inside the methods that write or read history (docs/PERFORMANCE.md, issue 26).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from debussy.state.records import IssueKey
from debussy.state.status import PhaseStatus


@dataclass(frozen=True, slots=True)
class NewPhase:
    phase_id: str
    title: str
    file: str | None = None
    """The phase file relative to the plan's folder: what identifies the phase later."""


@dataclass(frozen=True, slots=True)
class NewLink:
    """An issue to link to a new run; ``phase_id`` None means plan level."""

    platform: str
    ref: str
    display_key: str
    phase_id: str | None


@dataclass(frozen=True, slots=True)
class GuardedChange:
    """A phase change that only applies if the phase still has ``expected_status``."""

    phase_id: str
    expected_status: PhaseStatus
    new_status: PhaseStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CompletedFeature:
    id: int
    name: str
    completed_at: str
    plan_path: str
    run_id: str | None
    issues: tuple[IssueKey, ...]


@dataclass(frozen=True, slots=True)
class PhaseTransition:
    """What one lifecycle event did; ``feature`` is set when it completed the run."""

    run_id: str
    phase_id: str
    old_status: PhaseStatus
    new_status: PhaseStatus
    reason: str | None
    changed_at: str | None
    run_completed: bool = False
    feature: CompletedFeature | None = None
    run_reopened: bool = False
    """The run had completed and this event made it running again."""


@dataclass(frozen=True, slots=True)
class NewPush:
    """A tracker write to record: what was sent for which issue, and how it went."""

    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    action: str
    outcome: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PhaseEventRecord:
    """One lifecycle event or sync change of a phase, as ``history --events`` shows it.

    ``from_status`` is not stored: it is the status of the event before (``pending``
    for a phase's first), which is what the phase had when this one happened.
    """

    id: int
    run_id: str
    phase_id: str
    """As people know the phase: a removed phase set aside keeps its old number."""
    from_status: str
    status: str
    reason: str | None
    source: str
    """``cli`` (a ``phase`` / ``done`` command) or ``sync``."""
    at: str


@dataclass(frozen=True, slots=True)
class PlanChangeRecord:
    """A change the plan made to a run, with when a command first saw it."""

    id: int
    run_id: str
    seen_at: str
    kind: str
    subject: str
    phase_id: str | None
    change: str


@dataclass(frozen=True, slots=True)
class PushRecord:
    id: int
    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    action: str
    outcome: str
    detail: str | None
    at: str


@dataclass(frozen=True, slots=True)
class SyncEntry:
    id: int
    run_id: str
    at: str
    actor: str
    direction: str
    applied: bool
    outcome: str
    actions: list[dict[str, Any]]
    results: list[dict[str, Any]]
