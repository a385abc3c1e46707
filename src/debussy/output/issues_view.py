"""``debussy status --issues``: the issue table, its banner and freshness line, and the JSON.

Two renderers over one ``Dashboard`` (as terraform renders one plan for people
and for programs). The human view goes to stdout; warnings about trackers that
could not be read go to stderr, so ``--json`` output stays exactly one document.
Rich is imported inside the functions that draw, never at module import.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from debussy.app.dashboard import Dashboard, IssueRow
from debussy.errors import redact
from debussy.output.console import color_wanted, is_tty
from debussy.output.documents import dashboard_document, print_json
from debussy.output.words import WARNING, platform_name, plural
from debussy.sync.drift_detector import describe_actual
from debussy.timeutil import humanize_age

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status
    from rich.text import Span, Text

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


# --- JSON -------------------------------------------------------------------------------------


def print_document(dashboard: Dashboard, stream: TextIO | None = None) -> None:
    """Exactly one JSON document on stdout, for ``jq``.

    Formatted by the one rule of ``output.documents.print_json``.
    """
    print_json(dashboard_document(dashboard), stream)


# --- people -----------------------------------------------------------------------------------


def render_dashboard(console: Console, dashboard: Dashboard) -> None:
    """Header, drift banner, the table, drift details and the freshness line."""
    from rich.markup import escape
    from rich.text import Text

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
        console.print(Text(drift_banner(dashboard.drift_count), style="bold yellow"))
    _emit(console, issue_table(console, dashboard))
    lines: list[str] = []
    for row in dashboard.drifted:
        for drift in row.drifts:
            if drift.type != "missing":
                lines.append(f"  {row.key}: {drift.detail}")
    lines += [f"  {line}" for line in collapsed_missing(dashboard.rows)]
    lines += freshness_lines(dashboard)
    if lines:
        _emit(console, Text("\n".join(lines), style="dim"), wrap=True)


def _emit(console: Console, text: Text, *, wrap: bool = False) -> None:
    """Print a many-line ``Text``. Piped without colour its characters are all there is:
    written directly, rather than split by Rich into segments per line and joined again.

    ``wrap``: prose (drift details) is wrapped to a terminal's width at word boundaries;
    the table is laid out to fit already and is never re-wrapped.
    """
    if console.no_color and not console.is_terminal:
        console.file.write(text.plain + "\n")
    else:
        console.print(text, soft_wrap=not (wrap and console.is_terminal))


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


def issue_table(console: Console, dashboard: Dashboard) -> Text:
    """The table as one styled ``Text``, each line built once as a string plus spans.

    Laid out here rather than with ``rich.table.Table``, which measures and wraps
    every cell and takes about half a second for 500 rows: more than the warm
    path's whole budget. On a terminal the table fits its width (see ``layout``);
    piped output keeps every character.
    """
    from rich.text import Span, Text

    now = dashboard.generated_at
    header = tuple(Cell(name, "bold") for name in COLUMNS)
    body = [row_cells(row, now) for row in dashboard.rows]
    limit = console.width if console.is_terminal else None
    plan = layout([header, *body], limit)
    parts: list[str] = []
    spans: list[Span] = []
    offset = 0
    for index, cells in enumerate([header, *body]):
        line, line_spans = render_line(cells, plan, offset)
        parts.append(line)
        spans += line_spans
        offset += len(line) + 1
        if index == 0 and console.is_terminal:
            rule = "─" * (sum(plan.widths) + len(GAP) * (len(plan.widths) - 1))
            parts.append(rule)
            spans.append(Span(offset, offset + len(rule), "dim"))
            offset += len(rule) + 1
    return Text("\n".join(parts), spans=spans)


def _natural(lines: Sequence[Sequence[Cell]], column: int, short: bool = False) -> int:
    from rich.cells import cell_len

    texts = [line[column].text for line in lines]
    if short:
        texts = [line[column].short or line[column].text for line in lines]
    return max(len(text) if text.isascii() else cell_len(text) for text in texts)


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


def render_line(cells: Sequence[Cell], plan: Layout, offset: int) -> tuple[str, list[Span]]:
    """One line of the table and its style spans (``offset``: where the line starts)."""
    from rich.cells import cell_len, set_cell_size
    from rich.text import Span

    pieces: list[str] = []
    spans: list[Span] = []
    position = offset
    last = len(plan.columns) - 1
    for index, (column, width) in enumerate(zip(plan.columns, plan.widths, strict=True)):
        cell = cells[column]
        value = cell.short if plan.short_drift and cell.short else cell.text
        cells_wide = len(value) if value.isascii() else cell_len(value)
        if column not in (ISSUE, DRIFT) and cells_wide > width:
            value = set_cell_size(value, width - 1) + "…"
            cells_wide = width
        if cell.style and value:
            spans.append(Span(position, position + len(value), cell.style))
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
            name = platform_name(error.platform)
            lines.append(f"{WARNING} {name} could not be read: {error.message} ({shown})")
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


def fetching_spinner(
    stderr: TextIO | None = None, message: str = "Reading issue statuses…"
) -> AbstractContextManager[object]:
    """A spinner on stderr while the trackers are asked, naming each retry and its cause.

    Nothing when stderr is not a TTY, nor with ``-v``: log lines and a live
    spinner on one stream would garble each other (``-v`` prints the same news
    as log lines instead).
    """
    stream = stderr or sys.stderr
    if not is_tty(stream) or logging.getLogger("debussy").isEnabledFor(logging.INFO):
        return nullcontext()
    return _spinner(stream, message)


PROGRESS_LOGGERS = ("debussy.http", "debussy.progress")
"""Info lines from these loggers show in the spinner: retries (``debussy.http``) and any
progress a long operation reports (``debussy.progress``, e.g. "3/12 issues written")."""


class _SpinnerNews(logging.Handler):
    """Shows the request layer's retry notices and progress lines in the spinner's line.

    ``TrackerHttp`` logs each scheduled retry on ``debussy.http`` at info level
    ("GitHub is unavailable (502); retry 1 in 0.6 s"), which ``-v`` prints as a
    line; while the spinner runs, this handler puts it next to the spinner instead.
    """

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(logging.INFO)
        self._status = status
        self._message = message

    def emit(self, record: logging.LogRecord) -> None:
        from rich.markup import escape

        self._status.update(f"{self._message} {escape(redact(record.getMessage()))}")


@contextmanager
def _spinner(stream: TextIO, message: str) -> Generator[object]:
    from rich.console import Console

    console = Console(file=stream, no_color=not color_wanted(stream), highlight=False)
    sources = [logging.getLogger(name) for name in PROGRESS_LOGGERS]
    previous = [source.level for source in sources]
    with console.status(message, spinner="dots") as status:
        news = _SpinnerNews(status, message)
        for source in sources:
            source.addHandler(news)
            source.setLevel(logging.INFO)
        try:
            yield status
        finally:
            for source, level in zip(sources, previous, strict=True):
                source.removeHandler(news)
                source.setLevel(level)
