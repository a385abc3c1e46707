"""``debussy sync`` for people: drift, then the plan with a fixed symbol column, then a summary.

Symbols, as in a terraform plan: ``~`` a change Debussy will make (or made),
``!`` a conflict skipped without ``--force``, ``·`` something only the other
direction would change, ``?`` an issue that is missing or cannot be fixed,
``…`` a phase waiting for the rest of its issues.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from debussy.app.sync_apply import SyncOutcome
from debussy.output.run_view import styled_status
from debussy.output.words import outcome_text, platform_name, plural
from debussy.sync.status_fetcher import PlatformError

if TYPE_CHECKING:
    from rich.console import Console

SKIP_SYMBOLS = {
    "conflict": "[red]![/]",
    "needs_to_tracker": "[dim]·[/]",
    "needs_from_tracker": "[dim]·[/]",
    "waiting": "[dim]…[/]",
    "missing": "[yellow]?[/]",
    "cannot_fix": "[yellow]?[/]",
}


def render_sync(
    console: Console, outcome: SyncOutcome, *, force: bool, apply_requested: bool = False
) -> None:
    from rich.markup import escape

    plan = outcome.plan
    truth = (
        "the trackers are the source of truth"
        if plan.direction == "from-tracker"
        else "Debussy is the source of truth"
    )
    console.print(
        f"[bold]Sync[/] run {plan.run.id} ({escape(plan.run.plan_title)}) · "
        f"{plan.direction}: {truth}"
    )
    fetch = outcome.fetch
    console.print(
        f"Fetched {plural(fetch.fetched, 'issue')} fresh in "
        f"{plural(fetch.total_requests, 'request')}."
    )
    if not fetch.complete:
        # The failure itself is printed once, on stderr (render_fetch_errors).
        console.print(f"[bold yellow]{escape(incomplete_line(outcome))}[/]")
    console.print()
    if plan.phase_actions:
        verb = "Changed" if outcome.applied else "Changes"
        console.print(f"[bold]{verb} to Debussy's state:[/]")
        for action in plan.phase_actions:
            reason = f" ({escape(action.reason)})" if action.reason else ""
            console.print(
                f"  [yellow]~[/] phase {escape(action.phase_id)} {escape(action.title)}: "
                f"{styled_status(action.from_status)} → {styled_status(action.to_status)}{reason}"
            )
            console.print(f"      [dim]why: {escape(action.why)}[/]")
    if plan.writes:
        verb = "Sent to" if outcome.applied else "Changes to"
        console.print(f"[bold]{verb} the trackers:[/]")
        for write, result in outcome.write_rows():
            mark = ""
            if result is not None:
                text = escape(outcome_text(result.outcome, result.detail))
                style = {"applied": "green", "already": "dim", "skipped": "yellow"}
                mark = f" [{style.get(result.outcome, 'red')}]{text}[/]"
                if result.outcome == "already":
                    mark = f" [dim]({text})[/]"
            console.print(f"  [yellow]~[/] {escape(write.describe())}{mark}")
            console.print(f"      [dim]why: {escape(write.why)}[/]")
    if plan.skipped:
        console.print("[bold]Not changed:[/]")
        for item in plan.skipped:
            if item.kind != "missing":
                console.print(f"  {SKIP_SYMBOLS[item.kind]} {escape(item.detail)}")
        for line in _missing(outcome):
            console.print(f"  {SKIP_SYMBOLS['missing']} {escape(line)}")
    if plan.empty and not plan.skipped and outcome.fetch.complete and not apply_requested:
        # One line says it all; a "Plan: No changes." under it would repeat it.
        console.print("[green]No changes.[/] Debussy and the trackers agree.")
        return
    console.print()
    console.print(_summary_line(outcome, force=force, apply_requested=apply_requested))


def _missing(outcome: SyncOutcome) -> list[str]:
    """Issues the trackers do not know, summed up per repository as ``status --issues`` does."""
    from debussy.output.missing import missing_lines

    if not any(item.kind == "missing" for item in outcome.plan.skipped):
        return []
    return missing_lines(
        (ref, ref.canonical)
        for ref, issue in outcome.fetch.issues.items()
        if issue.status is not None and issue.status.missing
    )


def incomplete_line(outcome: SyncOutcome) -> str:
    """Why the plan cannot be trusted to be whole: which tracker, how many issues unread."""
    fetch = outcome.fetch
    # The plan is made from fresh answers only: an issue served from the cache after its
    # tracker failed ("stale") was not compared either.
    unknown = sum(1 for issue in fetch.issues.values() if issue.source in ("unknown", "stale"))
    names = " and ".join(platform_name(error.platform) for error in fetch.errors)
    unread = f"{names} could not be read" if names else "some issues could not be read"
    return (
        f"Plan incomplete: {unread}; {plural(unknown, 'issue')} not compared "
        "(see the error on stderr)."
    )


def render_fetch_errors(errors: Sequence[PlatformError], console: Console | None = None) -> None:
    """Each tracker that could not be read, once, on stderr."""
    if not errors:
        return
    from rich.markup import escape

    from debussy.output.console import make_console

    console = console or make_console(stderr=True)
    for error in errors:
        console.print(
            f"[bold red]Error:[/] {platform_name(error.platform)} could not be read: "
            f"{escape(error.message)}"
        )


def _summary_line(outcome: SyncOutcome, *, force: bool, apply_requested: bool) -> str:
    plan = outcome.plan
    conflicts = sum(1 for s in plan.skipped if s.kind == "conflict")
    other_way = sum(1 for s in plan.skipped if s.kind == "needs_to_tracker")
    from_tracker = sum(1 for s in plan.skipped if s.kind == "needs_from_tracker")
    summary = outcome.summary
    parts = [summary[:1].upper() + summary[1:]]
    if conflicts:
        parts.append(f"{plural(conflicts, 'conflict')} skipped (use --force)")
    if other_way:
        needs = "needs" if other_way == 1 else "need"
        parts.append(f"{plural(other_way, 'difference')} {needs} --direction to-tracker")
    if from_tracker:
        needs = "needs" if from_tracker == 1 else "need"
        parts.append(f"{plural(from_tracker, 'difference')} {needs} --direction from-tracker")
    line = "Plan: " + ", ".join(parts) + "." if not outcome.applied else ", ".join(parts) + "."
    if apply_requested and not outcome.applied:
        line += "\nNothing was applied."
    elif not outcome.applied and not outcome.fetch.complete:
        # --apply would refuse: suggesting it only leads to that refusal.
        line += (
            "\nNothing can be applied from an incomplete plan: fix what stderr names, then "
            "run `debussy sync` again."
        )
    elif not outcome.applied and not plan.empty:
        flags = " --direction to-tracker" if plan.direction == "to-tracker" else ""
        forced = " --force" if force else ""
        line += (
            f"\nThis was a dry run: run `debussy sync{flags}{forced} --apply` "
            "to make these changes."
        )
    return line
