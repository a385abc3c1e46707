"""What the state database remembers, as plain frozen values.

The records live apart from ``StateManager`` so the pure rules (``sync/expected``,
``drift_detector``, ``reconcile``, ``writes``), the renderers and the tests can use
them without importing SQLite or the database code (issue 21).

Only what reads use lives here; what commands that change a run hand the database,
and the history records, are in ``state/changes`` so ``status`` does not build them.
"""

from __future__ import annotations

from dataclasses import dataclass

from debussy.state.status import PhaseStatus

IssueKey = tuple[str, str]
"""``(platform, canonical ref)``: how the database identifies an issue."""

REMOVED_MARK = "~removed~"
"""Joins a removed phase's id to the moment it was set aside (``3~removed~2026-12-08T02:12:57Z``)
when a listed phase takes its number: the rows stay unique, and the mark is never shown."""


def shown_phase_id(phase_id: str) -> str:
    """The id as people wrote it in the plan: a set-aside removed phase shows its old number."""
    return phase_id.split(REMOVED_MARK, 1)[0]


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    plan_path: str
    plan_title: str
    status: str
    started_at: str
    completed_at: str | None
    auto_close: bool
    github_repo: str | None
    plan_fingerprint: str | None = None
    """``(path, mtime_ns, size)`` of the plan files when the run last followed its plan."""


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    run_id: str
    phase_id: str
    title: str
    position: int
    status: PhaseStatus
    reason: str | None
    changed_at: str | None
    """The last lifecycle event or sync that changed the phase; None: untouched since start."""
    file: str | None = None
    removed_at: str | None = None
    """When the plan stopped listing this phase (it is then shown as ``removed``)."""

    @property
    def shown_id(self) -> str:
        """The id to show: a removed phase whose number was reused keeps it, unmarked."""
        return shown_phase_id(self.phase_id)


@dataclass(frozen=True, slots=True)
class LinkedIssue:
    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    display_key: str

    @property
    def key(self) -> IssueKey:
        return (self.platform, self.ref)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The last tracker state seen for an issue (for ``reopened_externally``)."""

    platform: str
    ref: str
    state: str | None
    state_reason: str | None
    status_category: str | None
    labels: tuple[str, ...]
    last_updated: str | None
    seen_at: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A person's state of an issue that a lifecycle event left as is (PRODUCT.md §5).

    GitHub: ``state`` and ``state_reason``; Jira: ``state`` (the status name) and
    ``status_category``; ``state_changed_at`` as the tracker said (ISO, or None).
    While the issue still shows it (``sync.expected.still_held``) the person's is
    the newer decision: drift says ``newer: tracker`` and later events leave it
    too. ``held_at`` is when it was recorded (None on a hold not yet stored).
    """

    run_id: str
    platform: str
    ref: str
    state: str | None
    state_reason: str | None
    status_category: str | None
    state_changed_at: str | None
    held_at: str | None = None

    @property
    def key(self) -> IssueKey:
        return (self.platform, self.ref)
