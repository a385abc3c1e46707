"""``debussy sync`` for people: drift, then the plan with a fixed symbol column, then a summary.

Symbols, as in a terraform plan: ``~`` a change Debussy will make (or made),
``!`` a conflict skipped without ``--force``, ``·`` something only the other
direction would change, ``?`` an issue that is missing or cannot be fixed,
``…`` a phase waiting for the rest of its issues.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from debussy.app.sync_apply import SyncItem, SyncOutcome
from debussy.output.run_view import styled_status
from debussy.output.words import platform_name, plural
from debussy.sync.status_fetcher import PlatformError

if TYPE_CHECKING:
    from debussy.output.console import Console

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
    from debussy.output.console import escape

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
    items = outcome.items()
    changes = [item for item in items if item.kind in ("phase", "write")]
    phase_items = [item for item in changes if item.kind == "phase"]
    write_items = [item for item in changes if item.kind == "write"]
    if phase_items:
        verb = "Changed" if outcome.applied else "Changes"
        console.print(f"[bold]{verb} to Debussy's state:[/]")
        for action, item in zip(plan.phase_actions, phase_items, strict=True):
            reason = f" ({escape(action.reason)})" if action.reason else ""
            console.print(
                f"  [yellow]~[/] phase {escape(action.phase_id)} {escape(action.title)}: "
                f"{styled_status(action.from_status)} → {styled_status(action.to_status)}"
                f"{reason}{_mark(item, outcome.stopped)}"
            )
            console.print(f"      [dim]why: {escape(action.why)}[/]")
    if write_items:
        verb = "Sent to" if outcome.applied else "Changes to"
        console.print(f"[bold]{verb} the trackers:[/]")
        for item in write_items:
            console.print(f"  [yellow]~[/] {escape(item.what)}{_mark(item, outcome.stopped)}")
            console.print(f"      [dim]why: {escape(item.why)}[/]")
    left_out = [item for item in items if item.kind not in ("phase", "write")]
    if left_out:
        console.print("[bold]Not changed:[/]")
        for item in left_out:
            if item.kind == "missing":
                continue  # summed up per repository below, as ``status --issues`` does
            refused = " [red]✗ refused[/]" if item.outcome == "refused" else ""
            symbol = SKIP_SYMBOLS.get(item.kind, "[dim]·[/]")
            console.print(f"  {symbol} {escape(item.detail or '')}{refused}")
        for line in _missing(outcome):
            console.print(f"  {SKIP_SYMBOLS['missing']} {escape(line)}")
    if (
        plan.empty
        and not plan.skipped
        and outcome.fetch.complete
        and not apply_requested
        and outcome.saved_plan is None
    ):
        # One line says it all; a "Plan: No changes." under it would repeat it.
        console.print("[green]No changes.[/] Debussy and the trackers agree.")
        return
    console.print()
    for line in footer_lines(outcome, force=force, apply_requested=apply_requested):
        console.print(escape(line))


def _mark(item: SyncItem, stopped: str | None) -> str:
    """What became of one change, after its description: nothing while only planned.

    When the whole apply was refused the reason is said once (stderr and the footer),
    not after every change.
    """
    from debussy.output.console import escape

    if stopped is not None and item.detail == stopped:
        return " [yellow]skipped[/]"
    detail = escape(item.detail or "")
    marks = {
        "planned": "",
        "applied": " [green]✓[/]",
        "already": " [dim](already so)[/]",
        "refused": f" [red]✗ refused: {detail}[/]",
        "unconfirmed": f" [yellow]? unconfirmed: {detail}[/]",
        "skipped": f" [yellow]skipped: {detail}[/]",
    }
    return marks[item.outcome]


def footer_lines(outcome: SyncOutcome, *, force: bool, apply_requested: bool) -> list[str]:
    """The summary under every sync, the same words in the terminal and in markdown.

    The counts come from ``SyncOutcome.summary`` (made from the items the JSON lists),
    then what to do next: apply a dry run, or that nothing was applied.
    """
    plan = outcome.plan
    summary = outcome.summary
    sentence = summary[:1].upper() + summary[1:] + "."
    lines = [sentence if outcome.applied else f"Plan: {sentence}"]
    saved = outcome.saved_plan
    if apply_requested and not outcome.applied:
        # Why is said once, on stderr, with the error: not again here.
        lines.append("Nothing was applied.")
    elif not outcome.applied and not outcome.fetch.complete:
        # --apply would refuse: suggesting it only leads to that refusal.
        lines.append(
            "Nothing can be applied from an incomplete plan: fix what stderr names, then "
            "run `debussy sync` again."
        )
    elif saved is not None and not apply_requested:
        lines.append(
            f"Saved this plan to {saved.file} (plan {saved.id[:8]}, made {saved.made_at}): "
            f"`debussy sync --apply {saved.file}` makes exactly these changes, or refuses if "
            "anything changed meanwhile."
        )
    elif not outcome.applied and not plan.empty:
        flags = " --direction to-tracker" if plan.direction == "to-tracker" else ""
        forced = " --force" if force else ""
        lines.append(
            f"This was a dry run: run `debussy sync{flags}{forced} --apply` to make these changes."
        )
    if saved is not None and apply_requested:
        lines.append(
            f"From the saved plan {saved.file} (plan {saved.id[:8]}, made {saved.made_at})."
        )
    return lines


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
    from debussy.output.console import escape, make_console

    console = console or make_console(stderr=True)
    for error in errors:
        console.print(
            f"[bold red]Error:[/] {platform_name(error.platform)} could not be read: "
            f"{escape(error.message)}"
        )
