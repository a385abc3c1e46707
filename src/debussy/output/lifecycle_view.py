"""What lifecycle commands and ``start`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from debussy.app.runs import RerunCheck
from debussy.output.run_view import styled_status
from debussy.output.words import platform_name, plural
from debussy.state.manager import PhaseTransition
from debussy.sync.converge import Convergence
from debussy.sync.writes import WriteResult

if TYPE_CHECKING:
    from rich.console import Console


def render_transition(console: Console, transition: PhaseTransition) -> None:
    from rich.markup import escape

    reason = f" ({escape(transition.reason)})" if transition.reason else ""
    if transition.old_status == transition.new_status:
        console.print(
            f"Phase {escape(transition.phase_id)} is already {styled_status(transition.new_status)}"
            f"{reason}; checking its issues."
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


def render_convergence(console: Console, errors: Console, outcome: Convergence) -> None:
    """What the push found and did: each write (or, for a dry run, would send), notes."""
    from rich.markup import escape

    for failure in outcome.read_failures:
        errors.print(
            f"[yellow]Warning:[/] could not read {plural(failure.issues, 'issue')} on "
            f"{platform_name(failure.platform)}: "
            f"{escape(failure.message)}"
        )
    for note in outcome.notes:
        errors.print(f"[yellow]Warning:[/] {escape(note.detail)}")
    if outcome.dry_run:
        if outcome.read_failures:
            console.print(
                "Dry run: the phase change is recorded; the trackers could not all be read, "
                "so the writes below are only those for the issues that were:"
                if outcome.writes
                else "Dry run: the phase change is recorded; the trackers could not be read, "
                "so the writes a real run would send are unknown."
            )
            for write in outcome.writes:
                console.print(f"  ~ {escape(write.describe())}")
            return
        if not outcome.writes:
            console.print(
                "Dry run: the phase change is recorded; the trackers already match, "
                "no writes needed."
            )
            return
        console.print(
            f"Dry run: the phase change is recorded; these "
            f"{plural(len(outcome.writes), 'tracker write')} were NOT sent (replay the "
            "command, or run `debussy sync --direction to-tracker --apply`, to send them):"
        )
        for write in outcome.writes:
            console.print(f"  ~ {escape(write.describe())}")
        return
    if not outcome.writes and not outcome.read_failures:
        console.print("Trackers already match: nothing to send.")
        return
    render_write_results(console, errors, outcome.results)


def push_failure_message(outcome: Convergence, replay: str) -> str:
    """The one-line error of a push that did not finish: the event is safe, how to finish."""
    failed = len(outcome.failed_results) + sum(1 for note in outcome.notes if note.failed)
    unread = sum(failure.issues for failure in outcome.read_failures)
    parts: list[str] = []
    if failed:
        parts.append(f"{plural(failed, 'tracker write')} did not go through")
    if unread:
        parts.append(f"{plural(unread, 'issue')} could not be read")
    return (
        f"{' and '.join(parts) or 'the push did not finish'}; the phase change is recorded. "
        f"Fix the cause, then replay `{replay}` (or run `debussy sync --direction to-tracker "
        "--apply`) to finish the push."
    )


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
