"""The human view of the dashboard: banner, cells, freshness line, TTY vs piped, spinner."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from debussy.app.dashboard import Dashboard, IssueRow
from debussy.config import Config, GitHubConfig
from debussy.issues import Drift, GitHubRef, IssueStatus
from debussy.output.issues_view import (
    Cell,
    collapsed_missing,
    drift_banner,
    freshness_lines,
    issue_table,
    last_updated,
    layout,
    render_dashboard,
    row_cells,
)
from debussy.output.problems import problem_lines
from debussy.output.progress import fetching_spinner
from debussy.state.records import LinkedIssue, RunRecord
from debussy.sync.expected import github_expectation
from debussy.sync.status_fetcher import FetchedIssue, FetchResult, PlatformError, Source
from tests.app.dashboard.conftest import SandboxProject

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RUN = RunRecord(
    id="3f9c2a1b",
    plan_path="plans/MASTER_PLAN.md",
    plan_title="Checkout revamp",
    status="running",
    started_at="2026-11-27T09:00:00Z",
    completed_at=None,
    auto_close=False,
    github_repo="octo/app",
)
CONFIG = Config()
ANSI = "\x1b["


def row(
    number: int,
    source: Source,
    *,
    state: str | None = "open",
    age: float | None = 0.0,
    drifts: tuple[Drift, ...] = (),
    updated: datetime | None = NOW - timedelta(hours=3),
    phase: str | None = "1",
) -> IssueRow:
    ref = GitHubRef("octo/app", number)
    status = (
        IssueStatus(platform="github", id=ref.canonical, state=state, last_updated=updated)
        if state is not None
        else None
    )
    return IssueRow(
        link=LinkedIssue(RUN.id, phase, "github", ref.canonical, f"GH-{number}"),
        ref=ref,
        fetched=FetchedIssue(ref, status, source, age if status is not None else None),
        expected=github_expectation("running", GitHubConfig(), auto_close=False),
        debussy_status="running",
        debussy_changed_at=NOW - timedelta(hours=4),
        drifts=drifts,
    )


def dashboard(
    *rows: IssueRow, requests: int = 0, errors: list[PlatformError] | None = None
) -> Dashboard:
    result = FetchResult(
        issues={r.ref: r.fetched for r in rows},
        errors=errors or [],
        requests={"github": requests} if requests else {},
    )
    return Dashboard(run=RUN, rows=rows, fetch=result, config=CONFIG, generated_at=NOW)


CLOSED = Drift(type="closed_externally", newer="tracker", detail="closed as not planned on GitHub")
LABELS = Drift(type="label_mismatch", newer="debussy", detail="labels none")


def texts(cells: tuple[Cell, ...]) -> list[str]:
    return [cell.text for cell in cells]


def test_the_banner_counts_issues() -> None:
    assert drift_banner(1) == (
        "1 issue diverged from Debussy's state — run `debussy sync` to see the plan"
    )
    assert drift_banner(3).startswith("3 issues diverged")


def test_cells_of_a_drifted_row() -> None:
    cells = row_cells(row(10, "fresh", drifts=(CLOSED, LABELS)), NOW)
    assert texts(cells) == [
        "GH-10",
        "1",
        "open",
        "open, debussy:in-progress",
        "3h ago",
        "closed_externally (tracker newer), label_mismatch (Debussy newer)",
    ]
    assert cells[5].style == "red"
    assert row_cells(row(11, "fresh", drifts=(LABELS,)), NOW)[5].style == "yellow"


def test_plan_level_stale_unknown_and_disabled_rows() -> None:
    stale = texts(row_cells(row(1, "stale", age=7200, phase=None), NOW))
    assert (stale[1], stale[2]) == ("plan", "open (stale, fetched 2h ago)")
    assert row_cells(row(2, "unknown", state=None), NOW)[2] == Cell("unknown", "bold red")
    assert row_cells(row(3, "disabled", state=None), NOW)[2] == Cell("disabled", "dim")
    assert row_cells(row(4, "fresh"), NOW)[5] == Cell("none", "green")


def test_an_unreadable_issue_has_unknown_drift_not_none() -> None:
    """A tracker that could not be read says nothing about drift: `?`, never `none`."""
    assert row_cells(row(2, "unknown", state=None), NOW)[5] == Cell("?", "bold red")
    assert row_cells(row(3, "disabled", state=None), NOW)[5].text == "-"


def test_last_updated_is_an_age_when_recent_and_a_date_when_old() -> None:
    assert last_updated(row(1, "fresh", updated=NOW - timedelta(minutes=2)), NOW) == "2m ago"
    assert last_updated(row(1, "fresh", updated=datetime(2026, 10, 2, tzinfo=UTC)), NOW) == (
        "2026-10-02"
    )
    assert last_updated(row(1, "fresh", updated=None), NOW) == ""


def test_a_change_made_a_moment_ago_is_just_now_even_if_it_reads_as_in_the_future() -> None:
    """Right after Debussy's own write the tracker's time can be ahead of our whole second."""
    assert last_updated(row(1, "fresh", updated=NOW + timedelta(seconds=0.6)), NOW) == "just now"
    assert last_updated(row(1, "fresh", updated=NOW + timedelta(seconds=40)), NOW) == "just now"


@pytest.mark.parametrize(
    ("rows", "requests", "expected"),
    [
        (
            (row(1, "cache", age=130), row(2, "cache", age=20)),
            0,
            "Cached 2m ago · use --refresh to update",
        ),
        ((row(1, "fresh"), row(2, "fresh")), 2, "Fetched just now: 2 requests"),
        ((row(1, "fresh"),), 1, "Fetched just now: 1 request"),
        (
            (row(1, "fresh"), row(2, "cache", age=240), row(3, "cache", age=10)),
            1,
            "Fetched 1 issue just now: 1 request · 2 cached 4m ago · use --refresh to update",
        ),
    ],
)
def test_the_freshness_line(rows: tuple[IssueRow, ...], requests: int, expected: str) -> None:
    assert freshness_lines(dashboard(*rows, requests=requests)) == [expected]


def test_the_freshness_line_names_disabled_platforms() -> None:
    lines = freshness_lines(
        dashboard(row(1, "disabled", state=None), row(2, "disabled", state=None))
    )
    assert lines == ["GitHub disabled in config: 2 issues not checked"]


def test_problem_lines_warn_or_name_the_variable() -> None:
    board = dashboard(
        row(1, "stale", age=60),
        row(2, "unknown", state=None),
        errors=[PlatformError("github", "server_error", "GitHub is unavailable (503)")],
    )
    assert problem_lines(board) == [
        "Warning: GitHub could not be read: GitHub is unavailable (503) "
        "(1 shown from cache (stale), 1 unknown)"
    ]
    auth = dashboard(
        row(2, "unknown", state=None),
        errors=[
            PlatformError(
                "github", "auth", "GitHub rejected the credentials (401); check GITHUB_TOKEN"
            )
        ],
    )
    assert problem_lines(auth) == [
        "Error: GitHub rejected the credentials (401); check GITHUB_TOKEN "
        "(0 shown from cache (stale), 1 unknown)"
    ]


def render(console: Console, board: Dashboard) -> str:
    render_dashboard(console, board)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_on_a_terminal_there_is_colour_and_a_ruled_header() -> None:
    console = Console(
        file=io.StringIO(), force_terminal=True, color_system="standard", width=160, highlight=False
    )
    text = render(console, dashboard(row(10, "fresh", drifts=(CLOSED,)), requests=1))
    assert ANSI in text
    assert "─" in text
    assert "1 issue diverged" in text


def test_piped_output_is_plain_text() -> None:
    console = Console(file=io.StringIO(), no_color=True, color_system=None, width=200)
    text = render(console, dashboard(row(10, "fresh", drifts=(CLOSED,)), requests=1))
    assert ANSI not in text
    assert "─" not in text
    lines = text.splitlines()
    assert lines[0] == "Checkout revamp (plans/MASTER_PLAN.md) · run 3f9c2a1b · running"
    assert lines[1].startswith("1 issue diverged from Debussy's state")
    assert lines[2].split() == [
        "Issue",
        "Phase",
        "Current",
        "State",
        "Expected",
        "State",
        "Last",
        "Updated",
        "Drift",
    ]
    assert lines[3].split()[:3] == ["GH-10", "1", "open"]
    assert "  GH-10: closed as not planned on GitHub" in text
    assert lines[-1] == "Fetched just now: 1 request"


def test_a_narrow_terminal_cuts_long_cells_with_an_ellipsis() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, no_color=True, width=70)
    board = dashboard(row(10, "fresh", drifts=(CLOSED, LABELS)), row(11, "stale", age=90))
    table = issue_table(console, board).plain.splitlines()
    assert all(len(line) <= 70 for line in table)
    assert table[1] == "─" * len(table[1])
    assert "…" in table[2]
    assert table[2].startswith("GH-10  1      open")


def test_piped_output_keeps_every_character_of_long_cells() -> None:
    console = Console(file=io.StringIO(), no_color=True, width=70)
    board = dashboard(row(10, "fresh", drifts=(CLOSED, LABELS)))
    table = issue_table(console, board).plain.splitlines()
    assert table[1].endswith("closed_externally (tracker newer), label_mismatch (Debussy newer)")
    assert "…" not in "".join(table)
    assert all(line == line.rstrip() for line in table), "no trailing blanks to trip up cut"


def test_the_spinner_is_silent_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with fetching_spinner(stream):
        pass
    assert stream.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_spinner_draws_on_a_terminal_stderr() -> None:
    logging.getLogger("debussy").setLevel(logging.WARNING)  # restored by conftest
    stream = Terminal()
    with fetching_spinner(stream):
        pass
    assert "Reading issue statuses" in stream.getvalue()


def test_no_spinner_while_verbose_logging_shares_stderr() -> None:
    logging.getLogger("debussy").setLevel(logging.INFO)  # what -v does; restored by conftest
    stream = Terminal()
    with fetching_spinner(stream):
        pass
    assert stream.getvalue() == ""


# --- the command, piped and forced to colour ------------------------------------------------------


def test_the_command_piped_has_no_colour(project: SandboxProject) -> None:
    result = project.ok("status", "--issues")
    assert ANSI not in result.stdout
    assert any(line.split()[:2] == ["Issue", "Phase"] for line in result.stdout.splitlines())
    assert "─" not in result.stdout, "no borders when piped"


def test_clicolor_force_colours_piped_output(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", env={"CLICOLOR_FORCE": "1"})
    assert result.exit_code == 0
    assert ANSI in result.stdout


def test_no_color_wins_over_clicolor_force(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", env={"CLICOLOR_FORCE": "1", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert ANSI not in result.stdout
    assert ANSI not in result.stderr


def test_json_is_never_coloured(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", "--json", env={"CLICOLOR_FORCE": "1"})
    assert ANSI not in result.stdout


# --- missing issues, collapsed ------------------------------------------------------------------


def missing(number: int, repo: str = "octo/app") -> IssueRow:
    ref = GitHubRef(repo, number)
    status = IssueStatus.missing_issue(ref)
    gone = Drift(type="missing", newer="unknown", detail=f"{repo}#{number} not found")
    base = row(number, "fresh", drifts=(gone,))
    return IssueRow(
        link=LinkedIssue(RUN.id, "1", "github", ref.canonical, f"GH {repo}#{number}"),
        ref=ref,
        fetched=FetchedIssue(ref, status, "fresh", 0.0),
        expected=base.expected,
        debussy_status="running",
        debussy_changed_at=None,
        drifts=base.drifts,
    )


def test_many_missing_issues_are_one_line_per_repository(caplog: pytest.LogCaptureFixture) -> None:
    rows = [missing(n) for n in range(101, 2095)] + [missing(7, "octo/lib")]
    with caplog.at_level(logging.INFO, logger="debussy"):
        lines = collapsed_missing(rows)
    assert lines == [
        "1,994 issues not found on GitHub in octo/app: #101–#2094",
        "1 issue not found on GitHub in octo/lib: #7",
    ]
    assert len([r for r in caplog.records if "not found on GitHub" in r.getMessage()]) == 1995


def test_the_dashboard_prints_the_collapsed_line_not_one_per_issue() -> None:
    console = Console(file=io.StringIO(), no_color=True, width=200)
    text = render(console, dashboard(*[missing(n) for n in range(1, 51)], requests=1))
    assert "50 issues not found on GitHub in octo/app: #1–#50" in text
    assert "not found\n" not in text.replace("octo/app: #1–#50", "")


# --- fitting the terminal ------------------------------------------------------------------------


def test_layout_gives_up_last_updated_then_narrows_expected_and_current_then_drift_notes() -> None:
    cells = [
        (
            Cell("GH acme/infra#21"),
            Cell("3"),
            Cell("closed (not planned)"),
            Cell("open, debussy:in-progress"),
            Cell("2026-11-27"),
            Cell("reopened_externally (tracker newer)", short="reopened_externally"),
        )
    ]
    wide = layout(cells, 200)
    assert wide.columns == (0, 1, 2, 3, 4, 5)
    assert not wide.short_drift
    at_100 = layout(cells, 100)
    assert 4 not in at_100.columns, "Last Updated goes first"
    assert not at_100.short_drift
    at_80 = layout(cells, 80)
    assert at_80.widths[at_80.columns.index(0)] == len("GH acme/infra#21"), "keys never shrink"
    drift_width = at_80.widths[at_80.columns.index(5)]
    assert drift_width >= len("reopened_externally"), "drift types never shrink"
    assert sum(at_80.widths) + 2 * (len(at_80.columns) - 1) <= 80


def test_the_spinner_shows_retries_and_progress_lines() -> None:
    logging.getLogger("debussy").setLevel(logging.WARNING)  # restored by conftest
    stream = Terminal()
    with fetching_spinner(stream, message="Updating 12 issues on GitHub…") as status:
        logging.getLogger("debussy.http").info("GitHub is unavailable (502); retry 1 in 0.6 s")
        assert "retry 1 in 0.6 s" in str(status.renderable.text)  # type: ignore[attr-defined]
        logging.getLogger("debussy.progress").info("3/12 issues written")
        assert "3/12 issues written" in str(status.renderable.text)  # type: ignore[attr-defined]
    assert logging.getLogger("debussy.progress").handlers == [], "the spinner cleans up"
