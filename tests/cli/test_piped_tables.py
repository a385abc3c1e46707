"""Piped tables are plain text a script can cut: every character, no trailing or stray blanks.

docs/CLI.md ("Terminal or pipe") promises that a table on a pipe keeps every character,
whatever the width or ``COLUMNS`` says. These run the commands in-process (a
``CliRunner``'s stdout is not a terminal) on a project whose trackers are switched off.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.markup import escape as rich_escape
from rich.markup import render

from debussy.cli import cli
from debussy.output.console import PlainConsole, cell_width, escape, make_console, strip_markup
from debussy.output.table import Table, plain_lines, print_table

MANY = 40
"""Issues of one phase: enough to make its Issues cell longer than any terminal."""

PLAN = """\
# Checkout revamp with a title long enough to matter

**GitHub Repo:** octo/app

| Phase | Title | Status |
|---|---|---|
| 1 | [Cart model and everything the cart needs to hold](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".debussy").mkdir()
    (tmp_path / ".debussy" / "config.yaml").write_text("github:\n  enabled: false\n")
    phases = tmp_path / "plans" / "phases"
    phases.mkdir(parents=True)
    (tmp_path / "plans" / "MASTER_PLAN.md").write_text(PLAN)
    issues = ", ".join(f"#{number}" for number in range(100, 100 + MANY))
    (phases / "phase-1.md").write_text(f"# Cart model\n\n**GitHub Issues:** {issues}\n")
    (phases / "phase-2.md").write_text("# Payment step\n\n**GitHub Issues:** #7\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ok(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def assert_plain_lines(text: str) -> list[str]:
    lines = text.splitlines()
    assert "\x1b[" not in text
    assert all(line == line.rstrip() for line in lines), "trailing blanks trip up cut and diff"
    assert all(not line.startswith(" ") for line in lines if line), "columns start at the edge"
    return lines


@pytest.mark.parametrize("columns", ["20", "80", "3000"])
def test_piped_status_keeps_every_column_and_every_key_whatever_columns_says(
    project: Path, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "1")
    monkeypatch.setenv("COLUMNS", columns)
    lines = assert_plain_lines(ok("status").stdout)
    header = next(line for line in lines if line.startswith("Phase"))
    assert header.split() == ["Phase", "Title", "Status", "Reason", "Changed", "Issues"]
    row = next(line for line in lines if line.startswith("1 "))
    assert "Cart model and everything the cart needs to hold" in row
    assert " running " in row
    keys = ", ".join(f"GH-{number}" for number in range(100, 100 + MANY))
    assert row.endswith(keys), "the whole Issues cell, on one line"
    assert header.index("Status") == row.index("running"), "aligned under its header"


def test_piped_history_has_one_left_aligned_line_per_run(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("start", "plans/MASTER_PLAN.md", "--force")
    lines = assert_plain_lines(ok("history").stdout)
    assert lines[0] == "Runs"
    assert lines[1].split() == ["Run", "Plan", "Status", "Phases", "Started", "Completed"]
    assert len(lines) == 4
    assert all("Checkout revamp with a title long enough to matter" in line for line in lines[2:])


def test_piped_history_events_are_one_line_per_change(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "1")
    ok("phase", "done", "1", "--reason", "reviewed and merged")
    lines = assert_plain_lines(ok("history", "--events").stdout)
    assert lines[1].split() == ["At", "Phase", "Change", "Reason", "By"]
    assert lines[-1].endswith("running → completed  reviewed and merged  phase command")


def test_a_piped_table_aligns_wide_characters_and_drops_empty_trailing_cells() -> None:
    table = Table(("Key", "Title", "Note"))
    table.add_row("A-1", "[bold]漢字[/]", "")
    table.add_row("A-22", "ascii", "x")
    table.add_row("A-333")
    assert plain_lines(table) == [
        "Key    Title  Note",
        "A-1    漢字",
        "A-22   ascii  x",
        "A-333",
    ]


def test_a_line_break_in_a_cell_does_not_break_the_row() -> None:
    out = io.StringIO()
    table = Table(("Phase", "Reason"))
    table.add_row("1", escape("waiting on\nlegal [review]"))
    print_table(PlainConsole(out), table)
    assert out.getvalue() == "Phase  Reason\n1      waiting on legal [review]\n"


@pytest.mark.parametrize(
    "text",
    ["plain", "[bold]x[/]", "a [GH-1] b", "a\\", "x \\[bold] y", "p\\[x", "a\\\\[b]c", "[/]"],
)
def test_markup_reads_as_rich_reads_it_without_importing_rich(text: str) -> None:
    """The plain console prints the characters a Rich console would."""
    assert escape(text) == rich_escape(text)
    assert strip_markup(escape(text)) == render(escape(text)).plain
    if text != "[/]":  # an unmatched close is an error for Rich; a pipe just drops it
        assert strip_markup(text) == render(text).plain


def test_a_pipe_gets_the_plain_console_and_forced_colour_gets_rich(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("CLICOLOR_FORCE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert isinstance(make_console(), PlainConsole)
    monkeypatch.setenv("FORCE_COLOR", "1")
    forced = make_console()
    assert not isinstance(forced, PlainConsole)
    assert not forced.is_terminal, "still the piped layout, only coloured"


def test_colour_forced_on_a_pipe_colours_the_same_characters(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CLICOLOR_FORCE=1`` for a CI log: the piped table, every character, in colour."""
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "1")
    monkeypatch.setenv("COLUMNS", "20")
    plain = ok("status").stdout
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    coloured = ok("status").stdout
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_a_rich_console_on_a_pipe_prints_the_same_lines() -> None:
    """Colour forced on a pipe, or a test's console: the markup is drawn, the layout kept."""
    from rich.console import Console as RichConsole

    table = Table(("Phase", "Status"), title="Runs")
    table.add_row("1", "[green]completed[/]")
    plain, rich = io.StringIO(), io.StringIO()
    print_table(PlainConsole(plain), table)
    print_table(RichConsole(file=rich, width=10, no_color=True, highlight=False), table)
    assert rich.getvalue() == plain.getvalue() == "Runs\nPhase  Status\n1      completed\n"


def test_the_plain_console_prints_styled_texts_and_any_rich_renderable_as_plain_text() -> None:
    from rich.panel import Panel
    from rich.text import Text

    out = io.StringIO()
    console = PlainConsole(out)
    console.print("[bold]a[/]", Text("b", style="red"))
    console.print()
    console.print(Panel("boxed"))
    lines = out.getvalue().split("\n")
    assert lines[:2] == ["a b", ""]
    assert "boxed" in lines[3]
    assert all(line == line.rstrip() for line in lines)


def test_cell_width_counts_wide_characters_twice_and_combining_marks_not_at_all() -> None:
    assert cell_width("abc") == 3
    assert cell_width("漢字") == 4
    assert cell_width("e\u0301") == 1
