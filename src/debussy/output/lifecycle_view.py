"""What lifecycle commands and ``start`` print."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from debussy.app.runs import RerunCheck
from debussy.output.run_view import styled_status
from debussy.output.words import outcome_text, platform_name, plural
from debussy.state.changes import PhaseTransition
from debussy.sync.converge import Convergence
from debussy.sync.trackers.writes import WriteResult

if TYPE_CHECKING:
    from debussy.output.console import Console


def render_transition(console: Console, transition: PhaseTransition) -> None:
    from debussy.output.console import escape

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
    from debussy.output.console import escape

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
    from debussy.output.console import escape

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
        if outcome.unfinished:
            console.print("Nothing could be sent: see the warnings above.")
        elif outcome.notes:
            console.print("Nothing to send; see the warnings above.")
        else:
            console.print("Trackers already match: nothing to send.")
        return
    render_write_results(console, errors, outcome.results)


def push_failure_message(outcome: Convergence, replay: str) -> str:
    """The one-line error of a push that did not finish: the event is safe, how to finish."""
    unread = sum(failure.issues for failure in outcome.read_failures)
    parts: list[str] = []
    counts: dict[str, int] = {}
    for result in outcome.failed_results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    cannot = sum(1 for note in outcome.notes if note.failed)
    if counts or cannot:
        kinds = [f"{n} {kind}" for kind, n in counts.items()]
        if cannot:
            kinds.append(f"{cannot} cannot be made")
        total = sum(counts.values()) + cannot
        parts.append(f"{plural(total, 'tracker write')} did not go through ({', '.join(kinds)})")
    if unread:
        parts.append(f"{plural(unread, 'issue')} could not be read")
    return (
        f"{' and '.join(parts) or 'the push did not finish'}; the phase change is recorded. "
        f"Fix the cause, then replay `{replay}` (or run `debussy sync --direction to-tracker "
        "--apply`) to finish the push."
    )


def render_write_results(console: Console, errors: Console, results: Sequence[WriteResult]) -> None:
    """One line per issue write; failures go to stderr as warnings (the event is recorded)."""
    from debussy.output.console import escape

    for result in results:
        line = escape(result.write.describe())
        if result.outcome == "applied":
            console.print(f"  ✓ {line}")
        elif result.outcome == "already":
            console.print(f"  = {line} (already so)")
        else:
            # refused / unconfirmed / skipped: never a ✓, and said on stderr as well as
            # listed, so stdout alone never reads as a finished push.
            text = escape(outcome_text(result.outcome, result.detail))
            console.print(f"  ✗ {line}: {result.outcome}")
            errors.print(f"[yellow]Warning:[/] {line} {text}")


def lifecycle_document(
    transition: PhaseTransition, outcome: Convergence | None, replay: str
) -> dict[str, object]:
    """The ``phase ... --json`` document: the event, then every write with one outcome.

    ``complete`` is false when any write is not ``applied``/``already`` or any
    issue could not be read; ``replay`` is the command that finishes the push.
    """
    from debussy.output.documents import SCHEMA_VERSION

    results = outcome.results if outcome is not None else []
    planned = [] if outcome is None or outcome.sent else [w.as_json() for w in outcome.writes]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": transition.run_id,
        "phase": transition.phase_id,
        "from": transition.old_status,
        "to": transition.new_status,
        "reason": transition.reason,
        "run_completed": transition.run_completed,
        "dry_run": bool(outcome and outcome.dry_run),
        "planned": planned,
        "results": [result.as_json() for result in results],
        "notes": [
            {
                "issue": note.display_key,
                "phase": note.phase_id,
                "detail": note.detail,
                "failed": note.failed,
            }
            for note in (outcome.notes if outcome is not None else [])
        ],
        "read_failures": [
            {"platform": f.platform, "message": f.message, "issues": f.issues}
            for f in (outcome.read_failures if outcome is not None else [])
        ],
        "complete": outcome is None
        or (not outcome.read_failures and (outcome.dry_run or outcome.complete)),
        "replay": replay,
    }
