"""``debussy status`` (without ``--issues``) and ``debussy history``: documents and tables.

Each view is built twice from the same records: a JSON document (stable keys,
``schema_version``) for programs and a table for people: Rich's on a terminal, plain
text (``output/table.py``, no Rich) on a pipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from debussy.output.documents import SCHEMA_VERSION
from debussy.state.changes import PhaseEventRecord, PlanChangeRecord, SyncEntry
from debussy.state.records import LinkedIssue, PhaseRecord, RunRecord

if TYPE_CHECKING:
    from debussy.output.console import Console

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
    from debussy.output.console import escape

    keys = issue_keys_by_phase(issues)
    done = sum(1 for phase in phases if phase.status == "completed")
    console.print(
        f"[bold]{escape(run.plan_title)}[/] ({escape(run.plan_path)}) · run {run.id} · "
        f"{styled_status(run.status)} · {done}/{len(phases)} phases completed"
    )
    plan_issues = keys.get(None, [])
    if plan_issues:
        # Wrapped to the terminal between keys (never inside one); one line when piped.
        console.print(f"Plan issues: {escape(', '.join(plan_issues))}")
    if console.is_terminal:
        console.print(_status_table_for_terminal(console, phases, keys, removed))
        return
    _print_piped_status(console, phases, keys, removed)


def _print_piped_status(
    console: Console,
    phases: Sequence[PhaseRecord],
    keys: Mapping[str | None, list[str]],
    removed: Sequence[PhaseRecord],
) -> None:
    """One line per phase, every character of every cell (its issue keys joined by ", ")."""
    from debussy.output.console import escape
    from debussy.output.table import Table, print_table

    table = Table(("Phase", "Title", "Status", "Reason", "Changed", "Issues"))
    for phase in phases:
        table.add_row(
            escape(phase.phase_id),
            escape(phase.title),
            styled_status(phase.status),
            escape(phase.reason or ""),
            phase.changed_at or "",
            escape(", ".join(keys.get(phase.phase_id, []))),
        )
    for phase in removed:
        table.add_row(
            escape(phase.shown_id),
            escape(phase.title),
            styled_status("removed"),
            escape(f"no longer in the plan (was {phase.status})"),
            phase.removed_at or "",
        )
    print_table(console, table)


NARROW = 100
"""Below this many columns a terminal gets the stacked layouts: a phase's reason under its
title, a time as date and clock on two lines, history's start and end times in one column."""


def _status_table_for_terminal(
    console: Console,
    phases: Sequence[PhaseRecord],
    keys: Mapping[str | None, list[str]],
    removed: Sequence[PhaseRecord],
) -> Any:
    """The phases fitted to the terminal: what identifies a row is never cut, text wraps.

    Phase id, status, change time and each issue key keep their whole width (``min_width``,
    no wrapping); an issue key is what a reader copies, so each gets its own line in the
    Issues cell. The title (and the reason) take what is left and wrap. Under ``NARROW``
    columns the reason moves under the title and the time under the status (date over
    clock), so that at 60 columns the title still has room.
    """
    from rich.markup import escape
    from rich.table import Table

    narrow = console.width < NARROW
    rows: list[tuple[str, str, str, str, str | None, str, list[str]]] = [
        (
            p.phase_id,
            p.title,
            p.status,
            p.reason or "",
            p.changed_at,
            p.status,
            keys.get(p.phase_id, []),
        )
        for p in phases
    ] + [
        (
            p.shown_id,
            p.title,
            "removed",
            f"no longer in the plan (was {p.status})",
            p.removed_at,
            "removed",
            [],
        )
        for p in removed
    ]
    table = Table(box=_box(console), header_style="bold", pad_edge=False)
    table.add_column("Phase", no_wrap=True, min_width=max((len(r[0]) for r in rows), default=5))
    table.add_column("Title", ratio=2, overflow="fold")
    widest_status = max((len(r[5]) for r in rows), default=6)
    if narrow:  # the time under the status, as date over clock
        widest_status = max(widest_status, 10)
    table.add_column("Status", no_wrap=True, min_width=widest_status)
    if not narrow:
        table.add_column("Reason", ratio=1, overflow="fold")
        table.add_column("Changed", no_wrap=True, min_width=20)
    widest = max((len(key) for key_list in keys.values() for key in key_list), default=6)
    table.add_column("Issues", no_wrap=True, min_width=widest)
    for phase_id, title, status, reason, changed, _shown, issue_keys in rows:
        title_cell = escape(title)
        if narrow and reason:
            title_cell += f"\n[dim]{escape(reason)}[/]"
        cells = [escape(phase_id), title_cell]
        if narrow:
            when = _stacked_time(changed, narrow)
            cells.append(styled_status(status) + (f"\n[dim]{when}[/]" if when else ""))
        else:
            cells += [styled_status(status), escape(reason), changed or ""]
        cells.append(escape("\n".join(issue_keys)))
        table.add_row(*cells)
    return table


def _stacked_time(moment: str | None, narrow: bool) -> str:
    """``2026-12-08T03:27:45Z`` whole, or as date over clock on a narrow terminal."""
    if not moment:
        return ""
    if narrow and "T" in moment:
        day, clock = moment.split("T", 1)
        return f"{day}\n{clock}"
    return moment


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
    if not runs:
        console.print("No runs yet: start one with `debussy start PLAN`.")
        return
    if console.is_terminal:
        _history_for_terminal(console, runs, progress, syncs, plan_changes)
        return
    _print_piped_history(console, runs, progress, syncs, plan_changes)


def _print_piped_history(
    console: Console,
    runs: Sequence[RunRecord],
    progress: Mapping[str, tuple[int, int]],
    syncs: Sequence[SyncEntry],
    plan_changes: Sequence[PlanChangeRecord],
) -> None:
    """Runs, plan changes and syncs: each table under its title, one line per record."""
    from debussy.output.console import escape
    from debussy.output.table import Table, print_table

    table = Table(("Run", "Plan", "Status", "Phases", "Started", "Completed"), title="Runs")
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
    print_table(console, table)
    if plan_changes:
        table = Table(("Seen", "Run", "Change"), title="Plan changes")
        for change in plan_changes:
            table.add_row(change.seen_at, change.run_id, escape(change.change))
        print_table(console, table)
    if syncs:
        table = Table(
            ("When", "Run", "Direction", "Mode", "Actions", "Outcome", "By"), title="Syncs"
        )
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
        print_table(console, table)


def _history_for_terminal(
    console: Console,
    runs: Sequence[RunRecord],
    progress: Mapping[str, tuple[int, int]],
    syncs: Sequence[SyncEntry],
    plan_changes: Sequence[PlanChangeRecord],
) -> None:
    """History fitted to the terminal: run ids and times whole, plan titles and outcomes wrap.

    A run id is what ``--run`` needs, so it is never cut; neither is a time. The Completed
    column appears only when a run has completed; under ``NARROW`` columns it shares one
    column with Started (start over end), the phases done go under the status, and a
    sync's run goes under its time.
    """
    from rich.markup import escape
    from rich.table import Table

    narrow = console.width < NARROW
    any_completed = any(run.completed_at for run in runs)
    table = Table(
        title="Runs", title_justify="left", box=_box(console), header_style="bold", pad_edge=False
    )
    table.add_column("Run", no_wrap=True, min_width=max(len(run.id) for run in runs))
    table.add_column("Plan", ratio=1, overflow="fold")
    table.add_column("Status", no_wrap=True, min_width=max(len(run.status) for run in runs))
    if not narrow:
        table.add_column("Phases", no_wrap=True)
    stacked = narrow and any_completed
    table.add_column("Started / Completed" if stacked else "Started", no_wrap=True, min_width=20)
    if any_completed and not stacked:
        table.add_column("Completed", no_wrap=True, min_width=20)
    for run in runs:
        done, total = progress.get(run.id, (0, 0))
        cells = [run.id, escape(f"{run.plan_title} ({run.plan_path})")]
        if narrow:  # the phases done under the status
            cells.append(f"{styled_status(run.status)}\n{done}/{total} done")
        else:
            cells += [styled_status(run.status), f"{done}/{total}"]
        if stacked:
            cells.append(run.started_at + (f"\n{run.completed_at}" if run.completed_at else ""))
        else:
            cells.append(run.started_at)
            if any_completed:
                cells.append(run.completed_at or "")
        table.add_row(*cells)
    console.print(table)
    if plan_changes:
        table = Table(
            title="Plan changes",
            title_justify="left",
            box=_box(console),
            header_style="bold",
            pad_edge=False,
        )
        table.add_column("Seen", no_wrap=True, min_width=20)
        table.add_column("Run", no_wrap=True, min_width=8)
        table.add_column("Change", overflow="fold")
        for change in plan_changes:
            table.add_row(change.seen_at, change.run_id, escape(change.change))
        console.print(table)
    if not syncs:
        return
    table = Table(
        title="Syncs", title_justify="left", box=_box(console), header_style="bold", pad_edge=False
    )
    if narrow:
        table.add_column("When / Run", no_wrap=True, min_width=20)
        table.add_column("Sync", no_wrap=True, min_width=12)
    else:
        table.add_column("When", no_wrap=True, min_width=20)
        table.add_column("Run", no_wrap=True, min_width=8)
        table.add_column("Direction", no_wrap=True)
        table.add_column("Mode", no_wrap=True)
        table.add_column("Actions", no_wrap=True)
    table.add_column("Outcome", ratio=2, overflow="fold")
    table.add_column("By", ratio=1, overflow="fold")
    for sync in syncs:
        mode = "apply" if sync.applied else "plan"
        if narrow:
            cells = [f"{sync.at}\n{sync.run_id}", f"{sync.direction}\n{mode}"]
        else:
            cells = [sync.at, sync.run_id, sync.direction, mode, str(len(sync.actions))]
        table.add_row(*cells, escape(sync.outcome), escape(sync.actor))
    console.print(table)


def _box(console: Console) -> Any:
    """Borders on a terminal, none when piped (easier to grep and cut)."""
    from rich import box

    return box.SIMPLE_HEAD if console.is_terminal else None


# --- history --events ------------------------------------------------------------------------

EVENT_SOURCES = {"cli": "phase command", "sync": "sync"}
"""Who made a change, in words: ``cli`` is ``debussy phase …`` / ``debussy done``."""


def events_document(run: RunRecord, events: Sequence[PhaseEventRecord]) -> dict[str, Any]:
    """The ``debussy history --events --json`` document (docs/CLI.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run_summary(run),
        "events": [
            {
                "at": event.at,
                "phase": event.phase_id,
                "from": event.from_status,
                "to": event.status,
                "reason": event.reason,
                "source": event.source,
            }
            for event in events
        ],
    }


def render_events(console: Console, run: RunRecord, events: Sequence[PhaseEventRecord]) -> None:
    """One line per status change of the run's phases, oldest first.

    Time, phase and the change are never cut (no wrapping, their whole width); the
    reason takes what is left and wraps.
    """
    from debussy.output.console import escape

    console.print(f"[bold]Events of run {run.id}[/] ({escape(run.plan_title)})")
    if not events:
        console.print("No phase has changed status yet.")
        return
    if not console.is_terminal:
        _print_piped_events(console, events)
        return
    from rich.table import Table

    changes = [
        f"{event.from_status} → {event.status}" for event in events
    ]  # the plain text, to size the column
    table = Table(box=_box(console), header_style="bold", pad_edge=False)
    narrow = console.is_terminal and console.width < NARROW
    table.add_column("At", no_wrap=True, min_width=10 if narrow else 20)
    table.add_column("Phase", no_wrap=True, min_width=max(len(e.phase_id) for e in events))
    if narrow:
        # Reason and author under the change, which keeps its whole width.
        table.add_column("Change", overflow="fold", min_width=max(map(len, changes)))
    else:
        table.add_column("Change", no_wrap=True)
        table.add_column("Reason", ratio=1, overflow="fold")
        table.add_column("By", no_wrap=True)
    for event in events:
        change = f"{styled_status(event.from_status)} → {styled_status(event.status)}"
        by = EVENT_SOURCES.get(event.source, event.source)
        if narrow:
            details = [escape(event.reason)] if event.reason else []
            details.append(f"by {by}")
            table.add_row(
                _stacked_time(event.at, narrow=True),
                escape(event.phase_id),
                change + "\n[dim]" + "\n".join(details) + "[/]",
            )
        else:
            table.add_row(event.at, escape(event.phase_id), change, escape(event.reason or ""), by)
    console.print(table)


def _print_piped_events(console: Console, events: Sequence[PhaseEventRecord]) -> None:
    """One line per change: time, phase, change, reason, who (every character)."""
    from debussy.output.console import escape
    from debussy.output.table import Table, print_table

    table = Table(("At", "Phase", "Change", "Reason", "By"))
    for event in events:
        table.add_row(
            event.at,
            escape(event.phase_id),
            f"{styled_status(event.from_status)} → {styled_status(event.status)}",
            escape(event.reason or ""),
            EVENT_SOURCES.get(event.source, event.source),
        )
    print_table(console, table)
