"""``debussy status`` (without ``--issues``) and ``debussy history``: documents and tables.

Each view is built twice from the same records: a JSON document (stable keys,
``schema_version``) for programs and a Rich table for people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from debussy.output.documents import SCHEMA_VERSION
from debussy.state.manager import (
    LinkedIssue,
    PhaseRecord,
    PlanChangeRecord,
    RunRecord,
    SyncEntry,
)

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLES = {
    "pending": "dim",
    "running": "cyan",
    "validating": "cyan",
    "awaiting_human": "magenta",
    "completed": "green",
    "failed": "red",
    "blocked": "yellow",
    "removed": "dim strike",
}


def issue_keys_by_phase(issues: Sequence[LinkedIssue]) -> dict[str | None, list[str]]:
    keys: dict[str | None, list[str]] = {}
    for issue in issues:
        keys.setdefault(issue.phase_id, []).append(issue.display_key)
    return keys


def run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "plan": run.plan_path,
        "title": run.plan_title,
        "status": run.status,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
    }


def status_document(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    issues: Sequence[LinkedIssue],
    removed: Sequence[PhaseRecord] = (),
) -> dict[str, Any]:
    """The ``debussy status --json`` document (README.md, "Commands").

    Phases the plan no longer lists follow the others with status ``removed``
    (their last status in ``last_status``) and no issues: the plan unlinked them.
    ``changed_at`` is null for a phase untouched since the run started (§7).
    """
    keys = issue_keys_by_phase(issues)
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {**run_summary(run), "issues": keys.get(None, [])},
        "phases": [
            {
                "id": phase.phase_id,
                "title": phase.title,
                "status": phase.status,
                "reason": phase.reason,
                "changed_at": phase.changed_at,
                "issues": keys.get(phase.phase_id, []),
            }
            for phase in phases
        ]
        + [
            {
                "id": phase.shown_id,
                "title": phase.title,
                "status": "removed",
                "reason": phase.reason,
                "changed_at": phase.changed_at,
                "issues": [],
                "last_status": phase.status,
                "removed_at": phase.removed_at,
            }
            for phase in removed
        ],
    }


def styled_status(status: str) -> str:
    style = STATUS_STYLES.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def render_status(
    console: Console,
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    issues: Sequence[LinkedIssue],
    removed: Sequence[PhaseRecord] = (),
) -> None:
    from rich.markup import escape
    from rich.table import Table

    keys = issue_keys_by_phase(issues)
    done = sum(1 for phase in phases if phase.status == "completed")
    console.print(
        f"[bold]{escape(run.plan_title)}[/] ({escape(run.plan_path)}) · run {run.id} · "
        f"{styled_status(run.status)} · {done}/{len(phases)} phases completed"
    )
    plan_issues = keys.get(None, [])
    if plan_issues:
        console.print(f"Plan issues: {escape(', '.join(plan_issues))}", soft_wrap=True)
    table = Table(box=_box(console), header_style="bold", pad_edge=False)
    # An issue key is what a reader copies and searches for: it is never split over
    # two lines. On a terminal each key gets its own line in a column as wide as the
    # longest key; the title and reason wrap instead. Piped output is one line per phase.
    widest = max((len(key) for phase_keys in keys.values() for key in phase_keys), default=6)
    terminal = console.is_terminal
    table.add_column("Phase", no_wrap=True)
    table.add_column("Title", ratio=2)
    table.add_column("Status", no_wrap=True)
    table.add_column("Reason", ratio=1)
    table.add_column("Changed", no_wrap=terminal, max_width=20 if terminal else None)
    table.add_column("Issues", no_wrap=True, min_width=widest if terminal else None)
    joiner = "\n" if terminal else ", "
    for phase in phases:
        table.add_row(
            escape(phase.phase_id),
            escape(phase.title),
            styled_status(phase.status),
            escape(phase.reason or ""),
            phase.changed_at or "",
            escape(joiner.join(keys.get(phase.phase_id, []))),
        )
    for phase in removed:
        table.add_row(
            escape(phase.shown_id),
            escape(phase.title),
            styled_status("removed"),
            escape(f"no longer in the plan (was {phase.status})"),
            phase.removed_at or "",
            "",
        )
    console.print(table)


def history_document(
    runs: Sequence[RunRecord],
    progress: Mapping[str, tuple[int, int]],
    syncs: Sequence[SyncEntry],
    plan_changes: Sequence[PlanChangeRecord] = (),
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "runs": [
            {
                **run_summary(run),
                "phases_completed": progress.get(run.id, (0, 0))[0],
                "phases_total": progress.get(run.id, (0, 0))[1],
            }
            for run in runs
        ],
        "syncs": [
            {
                "id": sync.id,
                "run": sync.run_id,
                "at": sync.at,
                "actor": sync.actor,
                "direction": sync.direction,
                "applied": sync.applied,
                "outcome": sync.outcome,
                "actions": sync.actions,
                "results": sync.results,
            }
            for sync in syncs
        ],
        "plan_changes": [
            {
                "run": change.run_id,
                "seen_at": change.seen_at,
                "kind": change.kind,
                "subject": change.subject,
                "phase": change.phase_id,
                "change": change.change,
            }
            for change in plan_changes
        ],
    }


def render_history(
    console: Console,
    runs: Sequence[RunRecord],
    progress: Mapping[str, tuple[int, int]],
    syncs: Sequence[SyncEntry],
    plan_changes: Sequence[PlanChangeRecord] = (),
) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not runs:
        console.print("No runs yet: start one with `debussy start PLAN`.")
        return
    table = Table(title="Runs", title_justify="left", box=_box(console), header_style="bold")
    for column in ("Run", "Plan", "Status", "Phases", "Started", "Completed"):
        table.add_column(column)
    for run in runs:
        done, total = progress.get(run.id, (0, 0))
        table.add_row(
            run.id,
            escape(f"{run.plan_title} ({run.plan_path})"),
            styled_status(run.status),
            f"{done}/{total}",
            run.started_at,
            run.completed_at or "",
        )
    console.print(table)
    if plan_changes:
        table = Table(
            title="Plan changes", title_justify="left", box=_box(console), header_style="bold"
        )
        for column in ("Seen", "Run", "Change"):
            table.add_column(column)
        for change in plan_changes:
            table.add_row(change.seen_at, change.run_id, escape(change.change))
        console.print(table)
    if not syncs:
        return
    table = Table(title="Syncs", title_justify="left", box=_box(console), header_style="bold")
    for column in ("When", "Run", "Direction", "Mode", "Actions", "Outcome", "By"):
        table.add_column(column)
    for sync in syncs:
        table.add_row(
            sync.at,
            sync.run_id,
            sync.direction,
            "apply" if sync.applied else "plan",
            str(len(sync.actions)),
            escape(sync.outcome),
            escape(sync.actor),
        )
    console.print(table)


def _box(console: Console) -> Any:
    """Borders on a terminal, none when piped (easier to grep and cut)."""
    from rich import box

    return box.SIMPLE_HEAD if console.is_terminal else None
