"""``debussy status --issues``: the issue table, its banner and freshness line, and the JSON.

Two renderers over one ``Dashboard`` (as terraform renders one plan for people
and for programs). The human view goes to stdout; warnings about trackers that
could not be read go to stderr, so ``--json`` output stays exactly one document.
Rich is imported inside the functions that draw, never at module import.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Generator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from debussy.output.console import color_wanted, is_tty
from debussy.sync.dashboard import Dashboard, IssueRow, dashboard_document
from debussy.sync.drift_detector import describe_actual
from debussy.sync.models import Drift
from debussy.timeutil import humanize_age

if TYPE_CHECKING:
    from rich.console import Console

PLATFORM_NAMES = {"github": "GitHub", "jira": "Jira"}
RECENT_SECONDS = 7 * 86400
"""Younger than this, "Last Updated" shows an age ("3h ago"); older, a date."""
NEWER_LABELS = {"tracker": "tracker newer", "debussy": "Debussy newer"}
COLUMNS = ("Issue", "Phase", "Current State", "Expected State", "Last Updated", "Drift")


# --- JSON -------------------------------------------------------------------------------------


def print_document(dashboard: Dashboard, stream: TextIO | None = None) -> None:
    """Exactly one JSON document on stdout, for ``jq``."""
    out = stream or sys.stdout
    out.write(json.dumps(dashboard_document(dashboard), indent=2) + "\n")
    out.flush()


# --- people -----------------------------------------------------------------------------------


def render_dashboard(console: Console, dashboard: Dashboard) -> None:
    """Header, drift banner, the table, drift details and the freshness line."""
    from rich.markup import escape

    run = dashboard.run
    console.print(
        f"[bold]{escape(run.plan_title)}[/] ({escape(run.plan_path)}) · run {run.id} · "
        f"{escape(run.status)}"
    )
    if not dashboard.rows:
        console.print("No issues are linked to this run.")
        return
    if dashboard.drift_count:
        console.print(f"[bold yellow]{escape(drift_banner(dashboard.drift_count))}[/]")
    console.print(issue_table(console, dashboard))
    for row in dashboard.drifted:
        for drift in row.drifts:
            console.print(f"  [dim]{escape(row.key)}: {escape(drift.detail)}[/]")
    for line in freshness_lines(dashboard):
        console.print(f"[dim]{escape(line)}[/]")


def drift_banner(count: int) -> str:
    issues = "1 issue" if count == 1 else f"{count} issues"
    return f"{issues} diverged from Debussy's state — run `debussy sync` to see the plan"


def issue_table(console: Console, dashboard: Dashboard) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.SIMPLE_HEAD if console.is_terminal else None,
        header_style="bold",
        pad_edge=False,
    )
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    now = dashboard.generated_at
    for row in dashboard.rows:
        table.add_row(*row_cells(row, now))
    return table


def row_cells(row: IssueRow, now: datetime) -> tuple[str, ...]:
    """The six cells of one row, as Rich markup."""
    from rich.markup import escape

    return (
        escape(row.key),
        escape(row.phase or "plan"),
        current_state_cell(row),
        escape(row.expected.describe()),
        escape(last_updated(row, now)),
        drift_cell(row.drifts),
    )


def current_state_cell(row: IssueRow) -> str:
    from rich.markup import escape

    status = row.status
    if row.source == "disabled":
        return "[dim]disabled[/]"
    if status is None:
        return "[bold red]unknown[/]"
    text = escape(describe_actual(status))
    if row.source == "stale":
        age = humanize_age(row.fetched.age_seconds or 0)
        return f"{text} [yellow](stale, fetched {age})[/]"
    return text


def last_updated(row: IssueRow, now: datetime) -> str:
    status = row.status
    if status is None or status.last_updated is None:
        return ""
    age = (now - status.last_updated).total_seconds()
    if 0 <= age < RECENT_SECONDS:
        return humanize_age(age)
    return status.last_updated.strftime("%Y-%m-%d")


def drift_cell(drifts: tuple[Drift, ...]) -> str:
    if not drifts:
        return "[green]none[/]"
    parts: list[str] = []
    for drift in drifts:
        label = NEWER_LABELS.get(drift.newer)
        text = f"{drift.type} ({label})" if label else drift.type
        parts.append(f"[red]{text}[/]" if drift.type != "label_mismatch" else f"[yellow]{text}[/]")
    return ", ".join(parts)


def freshness_lines(dashboard: Dashboard) -> list[str]:
    """Where the data came from: "Cached 2m ago · use --refresh to update", "Fetched just now"."""
    fetch = dashboard.fetch
    rows = dashboard.rows
    cached = [row.fetched.age_seconds or 0.0 for row in rows if row.source == "cache"]
    fetched = sum(1 for row in rows if row.source == "fresh")
    disabled = [row for row in rows if row.source == "disabled"]
    parts: list[str] = []
    if fetched:
        requests = fetch.total_requests
        plural = "request" if requests == 1 else "requests"
        count = f" {fetched} issue{'s' if fetched != 1 else ''}" if fetched < len(rows) else ""
        parts.append(f"Fetched{count} just now: {requests} {plural}")
    if cached:
        age = humanize_age(max(cached))
        parts.append(f"{len(cached)} cached {age}" if fetched else f"Cached {age}")
        parts.append("use --refresh to update")
    lines = [" · ".join(parts)] if parts else []
    if disabled:
        names = sorted({PLATFORM_NAMES[row.ref.platform] for row in disabled})
        count = len(disabled)
        lines.append(
            f"{' and '.join(names)} disabled in config: {count} issue"
            f"{'s' if count != 1 else ''} not checked"
        )
    return lines


# --- stderr -----------------------------------------------------------------------------------


def problem_lines(dashboard: Dashboard) -> list[str]:
    """One line per tracker that could not be read; auth failures as errors naming the variable."""
    lines: list[str] = []
    for error in dashboard.fetch.errors:
        rows = [row for row in dashboard.rows if row.ref.platform == error.platform]
        stale = sum(1 for row in rows if row.source == "stale")
        unknown = sum(1 for row in rows if row.source == "unknown")
        shown = f"{stale} shown from cache (stale), {unknown} unknown"
        if error.kind == "auth":
            lines.append(f"Error: {error.message} ({shown})")
        else:
            name = PLATFORM_NAMES.get(error.platform, error.platform)
            lines.append(f"Warning: {name} could not be read: {error.message} ({shown})")
    return lines


def render_problems(console: Console, dashboard: Dashboard) -> None:
    from rich.markup import escape

    for line in problem_lines(dashboard):
        style = "bold red" if line.startswith("Error:") else "yellow"
        console.print(f"[{style}]{escape(line)}[/]")


def fetching_spinner(stderr: TextIO | None = None) -> AbstractContextManager[object]:
    """A spinner on stderr while the trackers are asked; nothing when stderr is not a TTY."""
    stream = stderr or sys.stderr
    if not is_tty(stream):
        return nullcontext()
    return _spinner(stream)


@contextmanager
def _spinner(stream: TextIO) -> Generator[object]:
    from rich.console import Console

    console = Console(file=stream, no_color=not color_wanted(stream), highlight=False)
    with console.status("Reading issue statuses…", spinner="dots") as status:
        yield status
