"""``status --issues``: the trackers that could not be read, one line each, on stderr.

Apart from the table (``issues_view``) because every format prints them, ``--json``
included: the document a script reads stays exactly one document on stdout, and the
JSON path loads nothing of the table's layout.
"""

from __future__ import annotations

from debussy.app.dashboard import Dashboard
from debussy.output.console import Console, escape
from debussy.output.words import WARNING, platform_name


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
    from debussy.output.console import make_console

    console = console or make_console(stderr=True)
    for line in lines:
        style = "bold red" if line.startswith("Error:") else "yellow"
        console.print(f"[{style}]{escape(line)}[/]")
