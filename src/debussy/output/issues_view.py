"""``debussy status --issues``: the issue table, its banner and freshness line, and the JSON.

Two renderers over one ``Dashboard`` (as terraform renders one plan for people
and for programs). The human view goes to stdout; warnings about trackers that
could not be read go to stderr, so ``--json`` output stays exactly one document.
Rich is imported inside the functions that draw, never at module import.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from debussy.app.dashboard import Dashboard, IssueRow, dashboard_document
from debussy.issues import Drift
from debussy.output.console import color_wanted, is_tty
from debussy.sync.drift_detector import describe_actual
from debussy.timeutil import humanize_age

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

PLATFORM_NAMES = {"github": "GitHub", "jira": "Jira"}
RECENT_SECONDS = 7 * 86400
"""Younger than this, "Last Updated" shows an age ("3h ago"); older, a date."""
NEWER_LABELS = {"tracker": "tracker newer", "debussy": "Debussy newer"}
COLUMNS = ("Issue", "Phase", "Current State", "Expected State", "Last Updated", "Drift")
GAP = "  "
SHRINKABLE = (3, 2, 5, 0)
"""Columns narrowed when a terminal is too narrow: Expected, Current, Drift, Issue."""
MIN_WIDTH = 8


# --- JSON -------------------------------------------------------------------------------------


def print_document(dashboard: Dashboard, stream: TextIO | None = None) -> None:
    """Exactly one JSON document on stdout, for ``jq``.

    Indented for a person at a terminal; one compact line when piped (as ``gh``
    does), which json's C encoder also writes several times faster.
    """
    out = stream or sys.stdout
    indent = 2 if is_tty(out) else None
    out.write(json.dumps(dashboard_document(dashboard), indent=indent) + "\n")
    out.flush()


# --- people -----------------------------------------------------------------------------------


def render_dashboard(console: Console, dashboard: Dashboard) -> None:
    """Header, drift banner, the table, drift details and the freshness line."""
    from rich.markup import escape
    from rich.text import Text

    run = dashboard.run
    console.print(
        f"[bold]{escape(run.plan_title)}[/] ({escape(run.plan_path)}) · run {run.id} · "
        f"{escape(run.status)}"
    )
    if not dashboard.rows:
        console.print("No issues are linked to this run.")
        return
    if dashboard.drift_count:
        console.print(Text(drift_banner(dashboard.drift_count), style="bold yellow"))
    console.print(issue_table(console, dashboard), soft_wrap=True)
    details = Text(style="dim")
    for row in dashboard.drifted:
        for drift in row.drifts:
            details.append(f"  {row.key}: {drift.detail}\n")
    for line in freshness_lines(dashboard):
        details.append(f"{line}\n")
    details.rstrip()
    if details.plain:
        console.print(details, soft_wrap=True)


def drift_banner(count: int) -> str:
    issues = "1 issue" if count == 1 else f"{count} issues"
    return f"{issues} diverged from Debussy's state — run `debussy sync` to see the plan"


@dataclass(frozen=True, slots=True)
class Cell:
    """Plain text and the style to show it in (colour is dropped where colour is off)."""

    text: str
    style: str | None = None


def issue_table(console: Console, dashboard: Dashboard) -> Text:
    """The table as one styled ``Text``.

    Laid out here rather than with ``rich.table.Table``, which measures and wraps
    every cell and takes about half a second for 500 rows: more than the warm
    path's whole budget. On a terminal, too-wide columns are cut with an ellipsis (as ``gh``
    does) and a rule sits under the header; piped output keeps every character.
    """
    from rich.text import Text

    now = dashboard.generated_at
    header = tuple(Cell(name, "bold") for name in COLUMNS)
    body = [row_cells(row, now) for row in dashboard.rows]
    limit = console.width if console.is_terminal else None
    widths = column_widths([header, *body], limit)
    text = Text()
    _append_line(text, header, widths)
    if console.is_terminal:
        rule = "─" * (sum(widths) + len(GAP) * (len(widths) - 1))
        text.append(rule + "\n", style="dim")
    for cells in body:
        _append_line(text, cells, widths)
    text.rstrip()
    return text


def column_widths(lines: Sequence[Sequence[Cell]], limit: int | None) -> list[int]:
    """Each column as wide as its widest cell, narrowed (widest first) to fit ``limit``."""
    from rich.cells import cell_len

    widths = [max(cell_len(line[i].text) for line in lines) for i in range(len(COLUMNS))]
    if limit is None:
        return widths
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - limit
    while excess > 0:
        column = max(SHRINKABLE, key=lambda index: widths[index])
        if widths[column] <= MIN_WIDTH:
            break
        widths[column] -= 1
        excess -= 1
    return widths


def _append_line(text: Text, cells: Sequence[Cell], widths: Sequence[int]) -> None:
    from rich.cells import cell_len, set_cell_size

    last = len(cells) - 1
    for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        value = cell.text
        if cell_len(value) > width:
            value = set_cell_size(value, width - 1) + "…"
        if index < last:
            text.append(set_cell_size(value, width), cell.style)
            text.append(GAP)
        else:
            text.append(value, cell.style)
    text.append("\n")


def row_cells(row: IssueRow, now: datetime) -> tuple[Cell, ...]:
    """The six cells of one row."""
    moved_to = row.status.moved_to if row.status is not None else None
    return (
        Cell(f"{row.key} → {moved_to}" if moved_to else row.key),
        Cell(row.phase or "plan"),
        current_state_cell(row),
        Cell(row.expected.describe()),
        Cell(last_updated(row, now)),
        drift_cell(row.drifts),
    )


def current_state_cell(row: IssueRow) -> Cell:
    status = row.status
    if row.source == "disabled":
        return Cell("disabled", "dim")
    if status is None:
        return Cell("unknown", "bold red")
    text = describe_actual(status)
    if row.source == "stale":
        age = humanize_age(row.fetched.age_seconds or 0)
        return Cell(f"{text} (stale, fetched {age})", "yellow")
    return Cell(text)


def last_updated(row: IssueRow, now: datetime) -> str:
    status = row.status
    if status is None or status.last_updated is None:
        return ""
    age = (now - status.last_updated).total_seconds()
    if 0 <= age < RECENT_SECONDS:
        return humanize_age(age)
    return status.last_updated.strftime("%Y-%m-%d")


def drift_cell(drifts: tuple[Drift, ...]) -> Cell:
    if not drifts:
        return Cell("none", "green")
    parts: list[str] = []
    for drift in drifts:
        label = NEWER_LABELS.get(drift.newer)
        parts.append(f"{drift.type} ({label})" if label else drift.type)
    only_labels = all(drift.type == "label_mismatch" for drift in drifts)
    return Cell(", ".join(parts), "yellow" if only_labels else "red")


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


def render_problems(dashboard: Dashboard, console: Console | None = None) -> None:
    """The problem lines on stderr (a console is only built when there is something to say)."""
    lines = problem_lines(dashboard)
    if not lines:
        return
    from rich.text import Text

    from debussy.output.console import make_console

    console = console or make_console(stderr=True)
    for line in lines:
        console.print(Text(line, style="bold red" if line.startswith("Error:") else "yellow"))


def fetching_spinner(stderr: TextIO | None = None) -> AbstractContextManager[object]:
    """A spinner on stderr while the trackers are asked.

    Nothing when stderr is not a TTY, nor with ``-v``: log lines and a live
    spinner on one stream would garble each other.
    """
    stream = stderr or sys.stderr
    if not is_tty(stream) or logging.getLogger("debussy").isEnabledFor(logging.INFO):
        return nullcontext()
    return _spinner(stream)


@contextmanager
def _spinner(stream: TextIO) -> Generator[object]:
    from rich.console import Console

    console = Console(file=stream, no_color=not color_wanted(stream), highlight=False)
    with console.status("Reading issue statuses…", spinner="dots") as status:
        yield status
