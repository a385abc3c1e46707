"""The read-only use cases: a run's status and the history, each one call from its command.

They read the state and hand back one value for ``output/`` to render; following the
plan first stays the command's (it prints what changed, on stderr, before the table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debussy.app.project import Project
    from debussy.state.changes import PlanChangeRecord, SyncEntry
    from debussy.state.records import LinkedIssue, PhaseRecord, RunRecord


@dataclass(frozen=True, slots=True)
class RunStatus:
    """``debussy status``: the run, its phases (and those the plan removed), its links."""

    run: RunRecord
    phases: list[PhaseRecord]
    linked: list[LinkedIssue]
    removed: list[PhaseRecord]


def run_status(project: Project, run: RunRecord) -> RunStatus:
    """The status of ``run`` (which has followed its plan)."""
    state = project.state
    return RunStatus(
        run, state.phases(run.id), state.linked_issues(run.id), state.removed_phases(run.id)
    )


@dataclass(frozen=True, slots=True)
class History:
    """``debussy history``: the newest runs with their progress, the syncs, the plan changes."""

    runs: list[RunRecord]
    progress: dict[str, tuple[int, int]]
    syncs: list[SyncEntry]
    changes: list[PlanChangeRecord]


def history(project: Project, limit: int, *, follow: Callable[[str], object]) -> History:
    """At most ``limit`` runs and syncs; the newest run follows its plan first (``follow``)."""
    state = project.state
    runs = state.list_runs(limit)
    if runs:
        follow(runs[0].id)
        runs = state.list_runs(limit)
    ids = [run.id for run in runs]
    return History(
        runs, state.run_progress(ids), state.sync_history(limit), state.plan_changes(ids)
    )
