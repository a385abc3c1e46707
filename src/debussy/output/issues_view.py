"""``debussy status --issues`` for people: the issue table, its banner and freshness line.

The JSON view of the same ``Dashboard`` is ``output.documents.dashboard_document``
(as terraform renders one plan for people and for programs); this module is not
imported on the ``--json`` path. The human view goes to stdout; warnings about
trackers that could not be read go to stderr (``output.problems``).
Rich is imported only to draw on a terminal (or with colour forced): a pipe gets the
same characters from a ``PlainConsole`` without it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from debussy.app.dashboard import Dashboard, IssueRow
from debussy.output.console import Console, PlainConsole, cell_width, escape
from debussy.output.words import platform_name, plural
from debussy.sync.drift_detector import describe_actual
from debussy.timeutil import humanize_age

RECENT_SECONDS = 7 * 86400
CLOCK_SKEW_SECONDS = 300
"""How far in the future a tracker's "updated" time may be and still read as just now."""
"""Younger than this, "Last Updated" shows an age ("3h ago"); older, a date."""
NEWER_LABELS = {"tracker": "tracker newer", "debussy": "Debussy newer"}
COLUMNS = ("Issue", "Phase", "Current State", "Expected State", "Last Updated", "Drift")
ISSUE, PHASE, CURRENT, EXPECTED, UPDATED, DRIFT = range(len(COLUMNS))
GAP = "  "
MIN_WIDTH = 8
"""Narrowest a shrinkable column gets before the next step of ``layout``."""
log = logging.getLogger(__name__)


# --- people -----------------------------------------------------------------------------------


def render_dashboard(console: Console, dashboard: Dashboard) -> None:
    """Header, drift banner, the table, drift details and the freshness line."""
    run = dashboard.run
    console.print(
        f"[bold]{escape(run.plan_title)}[/] ({escape(run.plan_path)}) · run {run.id} · "
        f"{escape(run.status)}",
        soft_wrap=not console.is_terminal,  # wrapped to a terminal's width, whole when piped
    )
    if not dashboard.rows:
        console.print("No issues are linked to this run.")
        return
    if dashboard.drift_count:
        console.print(f"[bold yellow]{escape(drift_banner(dashboard.drift_count))}[/]")
    _emit(console, issue_table(console, dashboard))
    lines: list[str] = []
    for row in dashboard.drifted:
        for drift in row.drifts:
            if drift.type != "missing":
                lines.append(f"  {row.key}: {drift.detail}")
    lines += [f"  {line}" for line in collapsed_missing(dashboard.rows)]
    lines += freshness_lines(dashboard)
    if lines:
        joined = "\n".join(lines)
        _emit(console, Styled(joined, [(0, len(joined), "dim")]), wrap=True)


@dataclass(frozen=True, slots=True)
class Styled:
    """Text and where each style applies (start, end, style): drawn once, for any console."""

    plain: str
    spans: list[tuple[int, int, str]]


def _emit(console: Console, text: Styled, *, wrap: bool = False) -> None:
    """Print a many-line styled text. Piped without colour its characters are all there is:
    written directly, without Rich; otherwise as a Rich ``Text`` with its spans.

    ``wrap``: prose (drift details) is wrapped to a terminal's width at word boundaries;
    the table is laid out to fit already and is never re-wrapped.
    """
    if isinstance(console, PlainConsole) or (console.no_color and not console.is_terminal):
        console.file.write(text.plain + "\n")
        return
    from rich.text import Span, Text

    spans = [Span(start, end, style) for start, end, style in text.spans]
    console.print(Text(text.plain, spans=spans), soft_wrap=not (wrap and console.is_terminal))


def drift_banner(count: int) -> str:
    return (
        f"{plural(count, 'issue')} diverged from Debussy's state — "
        "run `debussy sync` to see the plan"
    )


def collapsed_missing(rows: Sequence[IssueRow]) -> list[str]:
    """Issues the tracker does not know, one line per repository or Jira project.

    ``1,994 issues not found on GitHub in octo/app: #101–#2094`` instead of 1,994
    lines; each issue is still logged under ``-v`` and listed in the JSON document.
    """
    from debussy.output.missing import missing_lines

    return missing_lines(
        (row.ref, row.key) for row in rows if row.status is not None and row.status.missing
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """Plain text and the style to show it in (colour is dropped where colour is off).

    ``short`` is a narrower text with the same meaning, used when the terminal is
    too narrow for ``text`` (the drift types without who changed last).
    """

    text: str
    style: str | None = None
    short: str | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns are shown, how wide each is, and whether drift uses its short form."""

    columns: tuple[int, ...]
    widths: tuple[int, ...]
    short_drift: bool = False


def issue_table(console: Console, dashboard: Dashboard) -> Styled:
    """The table as one styled text, each line built once as a string plus spans.

    Laid out here rather than with ``rich.table.Table``, which measures and wraps
    every cell and takes about half a second for 500 rows: more than the warm
    path's whole budget. On a terminal the table fits its width (see ``layout``);
    piped output keeps every character.
    """
    now = dashboard.generated_at
    header = tuple(Cell(name, "bold") for name in COLUMNS)
    body = [row_cells(row, now) for row in dashboard.rows]
    limit = console.width if console.is_terminal else None
    plan = layout([header, *body], limit)
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    offset = 0
    for index, cells in enumerate([header, *body]):
        line, line_spans = render_line(cells, plan, offset)
        parts.append(line)
        spans += line_spans
        offset += len(line) + 1
        if index == 0 and console.is_terminal:
            rule = "─" * (sum(plan.widths) + len(GAP) * (len(plan.widths) - 1))
            parts.append(rule)
            spans.append((offset, offset + len(rule), "dim"))
            offset += len(rule) + 1
    return Styled("\n".join(parts), spans)


def _natural(lines: Sequence[Sequence[Cell]], column: int, short: bool = False) -> int:
    texts = [line[column].text for line in lines]
    if short:
        texts = [line[column].short or line[column].text for line in lines]
    return max(cell_width(text) for text in texts)


def layout(lines: Sequence[Sequence[Cell]], limit: int | None) -> Layout:
    """Fit the columns into ``limit`` cells, giving up the least important first.

    What identifies a row (the issue key) and what is wrong with it (the drift
    types) are never cut. In order: Last Updated is dropped; Expected, then
    Current, narrow to ``MIN_WIDTH``; drift loses its "(tracker newer)" notes
    (the detail lines below the table still say it); Expected is dropped; Phase
    narrows. Whatever still does not fit overflows rather than cutting a key.
    """
    widths = {column: _natural(lines, column) for column in range(len(COLUMNS))}
    columns = list(range(len(COLUMNS)))
    short = False

    def excess() -> int:
        return sum(widths[c] for c in columns) + len(GAP) * (len(columns) - 1) - (limit or 0)

    if limit is None or excess() <= 0:
        return Layout(tuple(columns), tuple(widths[c] for c in columns))
    steps: list[tuple[str, int]] = [
        ("drop", UPDATED),
        ("shrink", EXPECTED),
        ("shrink", CURRENT),
        ("short", DRIFT),
        ("drop", EXPECTED),
        ("shrink", PHASE),
    ]
    for action, column in steps:
        over = excess()
        if over <= 0:
            break
        if action == "drop":
            columns.remove(column)
        elif action == "shrink":
            floor = min(widths[column], MIN_WIDTH if column != PHASE else 5)
            widths[column] = max(floor, widths[column] - over)
        else:
            short = True
            widths[column] = _natural(lines, column, short=True)
    return Layout(tuple(columns), tuple(widths[c] for c in columns), short)


def render_line(
    cells: Sequence[Cell], plan: Layout, offset: int
) -> tuple[str, list[tuple[int, int, str]]]:
    """One line of the table and its style spans (``offset``: where the line starts)."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    position = offset
    last = len(plan.columns) - 1
    for index, (column, width) in enumerate(zip(plan.columns, plan.widths, strict=True)):
        cell = cells[column]
        value = cell.short if plan.short_drift and cell.short else cell.text
        cells_wide = cell_width(value)
        if column not in (ISSUE, DRIFT) and cells_wide > width:
            # Only on a terminal narrower than the table: Rich is loaded there anyway.
            from rich.cells import set_cell_size

            value = set_cell_size(value, width - 1) + "…"
            cells_wide = width
        if cell.style and value:
            spans.append((position, position + len(value), cell.style))
        padded = value + " " * max(0, width - cells_wide) + GAP if index < last else value
        pieces.append(padded)
        position += len(padded)
    return "".join(pieces).rstrip(), spans


def row_cells(row: IssueRow, now: datetime) -> tuple[Cell, ...]:
    """The six cells of one row."""
    moved_to = row.status.moved_to if row.status is not None else None
    return (
        Cell(f"{row.key} → {moved_to}" if moved_to else row.key),
        Cell(row.phase or "plan"),
        current_state_cell(row),
        Cell(row.expected.describe()),
        Cell(last_updated(row, now)),
        drift_cell(row),
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
    # A change made a moment ago can read as slightly in the future: our clock is cut to
    # the second and the tracker's runs on its own. That is "just now", not a date.
    if -CLOCK_SKEW_SECONDS <= age < RECENT_SECONDS:
        return humanize_age(age)
    return status.last_updated.strftime("%Y-%m-%d")


def drift_cell(row: IssueRow) -> Cell:
    """The drift column: ``?`` when the issue could not be read (drift is then unknown)."""
    if row.source == "disabled":
        return Cell("-", "dim")
    if row.status is None:
        return Cell("?", "bold red")
    drifts = row.drifts
    if not drifts:
        return Cell("none", "green")
    parts: list[str] = []
    for drift in drifts:
        label = NEWER_LABELS.get(drift.newer)
        parts.append(f"{drift.type} ({label})" if label else drift.type)
    only_labels = all(drift.type == "label_mismatch" for drift in drifts)
    short = ", ".join(drift.type for drift in drifts)
    return Cell(", ".join(parts), "yellow" if only_labels else "red", short)


def freshness_lines(dashboard: Dashboard) -> list[str]:
    """Where the data came from: "Cached 2m ago · use --refresh to update", "Fetched just now"."""
    fetch = dashboard.fetch
    rows = dashboard.rows
    cached = [row.fetched.age_seconds or 0.0 for row in rows if row.source == "cache"]
    fetched = sum(1 for row in rows if row.source == "fresh")
    disabled = [row for row in rows if row.source == "disabled"]
    parts: list[str] = []
    if fetched:
        count = f" {plural(fetched, 'issue')}" if fetched < len(rows) else ""
        parts.append(f"Fetched{count} just now: {plural(fetch.total_requests, 'request')}")
    if cached:
        age = humanize_age(max(cached))
        parts.append(f"{len(cached)} cached {age}" if fetched else f"Cached {age}")
        parts.append("use --refresh to update")
    lines = [" · ".join(parts)] if parts else []
    if disabled:
        names = sorted({platform_name(row.ref.platform) for row in disabled})
        lines.append(
            f"{' and '.join(names)} disabled in config: {plural(len(disabled), 'issue')} "
            "not checked"
        )
    return lines
