"""``debussy sync`` for people: drift, then the plan with a fixed symbol column, then a summary.

Symbols, as in a terraform plan: ``~`` a change Debussy will make (or made),
``!`` a conflict skipped without ``--force``, ``·`` something only the other
direction would change, ``?`` an issue that is missing or cannot be fixed,
``…`` a phase waiting for the rest of its issues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debussy.app.sync_apply import SyncOutcome
from debussy.output.run_view import styled_status

if TYPE_CHECKING:
    from rich.console import Console

SKIP_SYMBOLS = {
    "conflict": "[red]![/]",
    "needs_to_tracker": "[dim]·[/]",
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
    console.print(f"Fetched {fetch.fetched} issue(s) fresh in {fetch.total_requests} request(s).")
    for error in fetch.errors:
        console.print(f"[yellow]Warning:[/] {error.platform}: {escape(error.message)}")
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
        results = {id(r.write): r for r in outcome.results}
        for write in plan.writes:
            result = results.get(id(write))
            mark = ""
            if result is not None:
                mark = {
                    "ok": " [green]✓[/]",
                    "unchanged": " [dim](already so)[/]",
                    "error": f" [red]✗ {escape(result.detail or '')}[/]",
                    "skipped": f" [yellow]skipped: {escape(result.detail or '')}[/]",
                }[result.outcome]
            console.print(f"  [yellow]~[/] {escape(write.describe())}{mark}")
            console.print(f"      [dim]why: {escape(write.why)}[/]")
    if plan.skipped:
        console.print("[bold]Not changed:[/]")
        for item in plan.skipped:
            console.print(f"  {SKIP_SYMBOLS[item.kind]} {escape(item.detail)}")
    if plan.empty and not plan.skipped:
        console.print("[green]No changes.[/] Debussy and the trackers agree.")
    console.print()
    console.print(_summary_line(outcome, force=force, apply_requested=apply_requested))


def _summary_line(outcome: SyncOutcome, *, force: bool, apply_requested: bool) -> str:
    plan = outcome.plan
    conflicts = sum(1 for s in plan.skipped if s.kind == "conflict")
    other_way = sum(1 for s in plan.skipped if s.kind == "needs_to_tracker")
    parts = [outcome.summary.capitalize()]
    if conflicts:
        parts.append(f"{conflicts} conflict(s) skipped (use --force)")
    if other_way:
        parts.append(f"{other_way} difference(s) need --direction to-tracker")
    line = "Plan: " + ", ".join(parts) + "." if not outcome.applied else ", ".join(parts) + "."
    if apply_requested and not outcome.applied:
        line += "\nNothing was applied."
    elif not outcome.applied and not plan.empty:
        flags = " --direction to-tracker" if plan.direction == "to-tracker" else ""
        forced = " --force" if force else ""
        line += (
            f"\nThis was a dry run: run `debussy sync{flags}{forced} --apply` "
            "to make these changes."
        )
    return line
