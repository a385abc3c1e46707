"""What lifecycle commands and ``start`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from debussy.app.runs import RerunCheck
from debussy.output.run_view import styled_status
from debussy.output.words import plural
from debussy.state.manager import PhaseTransition
from debussy.sync.writes import TrackerWrite, WriteResult

if TYPE_CHECKING:
    from rich.console import Console


def render_transition(console: Console, transition: PhaseTransition) -> None:
    from rich.markup import escape

    reason = f" ({escape(transition.reason)})" if transition.reason else ""
    if transition.old_status == transition.new_status:
        console.print(
            f"Phase {escape(transition.phase_id)} is already {styled_status(transition.new_status)}"
            f"{reason}: nothing changed."
        )
    else:
        console.print(
            f"Phase {escape(transition.phase_id)}: {styled_status(transition.old_status)} → "
            f"{styled_status(transition.new_status)}{reason}"
        )
    if transition.run_completed and transition.feature is not None:
        console.print(
            f"[green]Run {transition.run_id} completed[/]: all phases done; recorded feature "
            f"'{escape(transition.feature.name)}' with "
            f"{plural(len(transition.feature.issues), 'issue')}."
        )


def render_rerun_matches(console: Console, check: RerunCheck) -> None:
    """List each already-delivered issue with the feature and date, full or partial."""
    from rich.markup import escape

    kind, match = ("All", "full") if check.full else ("Some", "partial")
    console.print(
        f"[yellow]{kind} of this plan's linked issues were already delivered "
        f"({len(check.delivered)} of {check.total}, {match} match):[/]"
    )
    for item in check.delivered:
        features = "; ".join(
            f"'{escape(feature.name)}' completed {feature.completed_at} "
            f"({escape(feature.plan_path)})"
            for feature in item.features
        )
        console.print(f"  {escape(item.display_key)}: {features}")


def render_planned_writes(console: Console, writes: Sequence[TrackerWrite]) -> None:
    """``--dry-run-sync``: the writes that would be sent, one per line."""
    from rich.markup import escape

    if not writes:
        console.print("Dry run: no tracker writes needed.")
        return
    console.print(f"Dry run: would send {plural(len(writes), 'tracker write')}:")
    for write in writes:
        console.print(f"  ~ {escape(write.describe())}")


def render_write_results(console: Console, errors: Console, results: Sequence[WriteResult]) -> None:
    """One line per issue write; failures go to stderr as warnings (the event is recorded)."""
    from rich.markup import escape

    for result in results:
        line = escape(result.write.describe())
        if result.outcome == "error":
            errors.print(f"[yellow]Warning:[/] {line} failed: {escape(result.detail or '')}")
        elif result.outcome == "skipped":
            errors.print(f"[yellow]Warning:[/] {line} skipped: {escape(result.detail or '')}")
        elif result.outcome == "unchanged":
            console.print(f"  = {line} (already so)")
        else:
            console.print(f"  ✓ {line}")
    failed = sum(1 for result in results if result.outcome in ("error", "skipped"))
    if failed:
        errors.print(
            f"[yellow]Warning:[/] {plural(failed, 'tracker write')} did not go through; "
            "the phase change is recorded. Fix the cause, then replay the event or run "
            "`debussy sync --direction to-tracker --apply`."
        )
