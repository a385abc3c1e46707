"""What the commands say, piped, against the live sandbox: usage errors, -v request lines,
Ctrl-C, incomplete plans said once, markdown reports, init and state warnings."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from debussy.cli import cli
from tests.sandbox_project import SandboxProject

REQUEST_LINE = re.compile(
    r"debussy: (GET|POST|PUT|PATCH|DELETE) http://127\.0\.0\.1:\d+/\S+ -> \d{3} \(\d+ ms\)"
)


@pytest.fixture
def started(sandbox_project: SandboxProject) -> SandboxProject:
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    return sandbox_project


# --- usage ---------------------------------------------------------------------------------


def test_demo_steps_without_serve_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["demo", "--steps"])
    assert result.exit_code == 2
    assert "--steps only applies with --serve" in result.stderr


def test_an_empty_run_is_a_usage_error(started: SandboxProject) -> None:
    result = started.run("status", "--run", "")
    assert result.exit_code == 2
    assert "--run" in result.stderr
    assert "must not be empty" in result.stderr


def test_an_ambiguous_run_prefix_lists_the_candidates(started: SandboxProject) -> None:
    started.ok("start", "plans/MASTER_PLAN.md", "--force")
    with sqlite3.connect(started.root / ".debussy" / "state.db") as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        ids = [row[0] for row in conn.execute("SELECT id FROM runs ORDER BY started_at")]
        for old, new in zip(ids, ("abc11111", "abc22222"), strict=True):
            for table, column in (
                ("runs", "id"),
                ("phases", "run_id"),
                ("linked_issues", "run_id"),
            ):
                sql = f"UPDATE {table} SET {column} = ? WHERE {column} = ?"  # noqa: S608
                conn.execute(sql, (new, old))
    result = started.run("status", "--run", "abc")
    assert result.exit_code == 1
    assert "ambiguous" in result.stderr
    assert "abc11111" in result.stderr
    assert "abc22222" in result.stderr
    assert started.run("status", "--run", "abc2").exit_code == 0


def test_every_option_of_every_command_says_what_it_does() -> None:
    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = [(path, group)]
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{path} {name}")
            else:
                found.append((f"{path} {name}", command))
        return found

    silent = [
        f"{path} {param.opts[0]}"
        for path, command in commands(cli, "debussy")
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert silent == []


# --- -v ------------------------------------------------------------------------------------


def test_v_logs_each_request_for_the_dashboard_and_for_lifecycle_events(
    started: SandboxProject,
) -> None:
    dashboard = started.run("status", "--issues", "--refresh", "-v")
    assert dashboard.exit_code == 0, dashboard.output
    lines = [line for line in dashboard.stderr.splitlines() if REQUEST_LINE.fullmatch(line)]
    assert len(lines) == started.sandbox.request_count()
    assert any("/api/graphql -> 200" in line for line in lines)

    started.sandbox.clear_requests()
    event = started.run("phase", "start", "1", "-v")
    assert event.exit_code == 0, event.output
    sent = [line for line in event.stderr.splitlines() if REQUEST_LINE.fullmatch(line)]
    assert len(sent) == started.sandbox.request_count() > 0, event.stderr
    assert "sandbox-github-token" not in event.stderr


# --- Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_during_a_push_exits_130_saying_the_event_is_saved(
    started: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("debussy.app.lifecycle.converge_event", interrupted)
    result = started.run("phase", "start", "1")
    assert result.exit_code == 130
    assert "Interrupted: phase 1 is recorded as running" in result.stderr
    assert "run the same command again" in result.stderr
    assert "Traceback" not in result.output
    monkeypatch.undo()
    assert started.phase_statuses()["1"] == "running"


def test_ctrl_c_before_anything_was_saved_says_so(
    started: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("debussy.app.dashboard.build_dashboard", interrupted)
    result = started.run("status", "--issues")
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted: nothing was changed."


# --- sync says an incomplete plan once -------------------------------------------------------


def test_sync_with_an_unreadable_tracker_says_the_plan_is_incomplete_once(
    started: SandboxProject,
) -> None:
    del started.env["JIRA_API_TOKEN"]
    result = started.run("sync")
    assert result.exit_code == 1
    assert "Plan incomplete: Jira could not be read; 3 issues not compared" in result.stdout
    assert "Warning" not in result.stdout
    assert "No changes" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if "could not be read" in line]
    assert errors == [
        "Error: Jira could not be read: Jira Cloud credentials are missing: set JIRA_API_TOKEN"
    ]

    document = json.loads(started.run("sync", "--json").stdout)
    assert document["fetch"]["complete"] is False
    assert document["summary"].startswith("incomplete: ")


def test_a_sync_with_nothing_to_do_says_so_in_one_line(started: SandboxProject) -> None:
    result = started.ok("sync")
    assert result.stdout.count("No changes") == 1
    assert "Plan:" not in result.stdout
    assert result.stdout.rstrip().endswith("No changes. Debussy and the trackers agree.")


def test_counts_agree_with_their_nouns(started: SandboxProject) -> None:
    started.ok("phase", "start", "1")
    started.backdate_phases()
    started.sandbox.close_issue("octo/app", 10)
    started.sandbox.close_issue("octo/lib", 7)
    result = started.ok("sync")
    assert "Fetched 8 issues fresh in 2 requests." in result.stdout
    assert "Plan: 1 phase change planned." in result.stdout
    assert "(s)" not in result.stdout


# --- markdown ----------------------------------------------------------------------------------


def test_status_issues_as_markdown_is_a_linked_table(started: SandboxProject) -> None:
    started.ok("phase", "start", "1")
    started.backdate_phases()
    started.sandbox.close_issue("octo/lib", 7, "not_planned")
    result = started.run("status", "--issues", "--format", "markdown", "--exit-code")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert lines[0].startswith("### Checkout revamp · run `")
    header = "| Issue | Phase | Current state | Expected state | Last updated | Drift |"
    assert header in lines
    base = started.sandbox.url
    assert any(
        line.startswith(f"| [GH octo/lib#7]({base}/octo/lib/issues/7) | 1 | closed (not planned)")
        for line in lines
    ), result.stdout
    assert "> **Warning:** 1 issue diverged" in result.stdout
    assert any(line.startswith("| [PROJ-1](") for line in lines)


def test_sync_as_markdown_shows_the_plan_as_a_table(started: SandboxProject) -> None:
    started.ok("phase", "start", "1")
    started.backdate_phases()
    started.sandbox.close_issue("octo/app", 10)
    started.sandbox.close_issue("octo/lib", 7)
    result = started.ok("sync", "--format", "markdown")
    assert "| Phase | Title | Change | Reason | Why | Result |" in result.stdout
    assert "| 1 | Cart model | running → completed |" in result.stdout
    assert "**Plan: 1 phase change planned.**" in result.stdout
    assert "This was a dry run: run `debussy sync --apply` to make these changes." in result.stdout


def test_json_and_markdown_together_are_a_usage_error(started: SandboxProject) -> None:
    result = started.run("status", "--issues", "--format", "markdown", "--json")
    assert result.exit_code == 2


# --- init and the state file --------------------------------------------------------------------


def test_init_below_another_project_warns_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".debussy").mkdir()
    inner = tmp_path / "services" / "api"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == 0
    assert f"Warning: {tmp_path / '.debussy'} already exists in a parent folder" in result.stderr
    assert (inner / ".debussy" / "config.yaml").exists()


def test_an_empty_state_db_is_reported_not_recreated(started: SandboxProject) -> None:
    state = started.root / ".debussy" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"")
    long_ago = state.stat().st_mtime - 3600
    os.utime(state, (long_ago, long_ago))  # emptied an hour ago, not being created right now
    result = started.run("status")
    assert result.exit_code == 1
    assert f"{state} is empty (0 bytes)" in result.stderr
    assert state.stat().st_size == 0, "not silently recreated"


def test_an_unreachable_tracker_leaves_drift_unknown_and_is_named(started: SandboxProject) -> None:
    started.sandbox.inject(platform="github", status=503, times=50)
    result = started.run("status", "--issues", "--refresh")
    assert result.exit_code == 1
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("GH")]
    assert rows, result.stdout
    assert all(row[-1] == "?" for row in rows), result.stdout
    assert not any(row[-1] == "none" for row in rows)
    jira = [line.split() for line in result.stdout.splitlines() if line.startswith("PROJ-")]
    assert all(row[-1] == "none" for row in jira)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith("Warning: GitHub could not be read: GitHub is unavailable (503)")


def test_sync_results_as_markdown_mark_each_write(started: SandboxProject) -> None:
    started.ok("phase", "start", "1")
    started.sandbox.set_labels("octo/app", 10, [])
    result = started.ok("sync", "--direction", "to-tracker", "--apply", "--format", "markdown")
    assert result.stdout.startswith("### Sync applied · run `")
    assert "| Tracker write | Why | Result |" in result.stdout
    assert any(
        line.startswith("| GH-10: set label debussy:in-progress | phase 1 is running | ✓")
        for line in result.stdout.splitlines()
    ), result.stdout


def test_v_reports_how_many_issues_each_tracker_has_written(started: SandboxProject) -> None:
    event = started.run("phase", "start", "1", "-v")
    assert event.exit_code == 0, event.output
    progress = [line for line in event.stderr.splitlines() if "issues written" in line]
    assert progress, event.stderr
    for tracker in ("GitHub", "Jira"):
        counts = [
            (int(m[1]), int(m[2]))
            for line in progress
            if (m := re.search(tracker + r": (\d+)/(\d+) issues written$", line))
        ]
        assert counts, (tracker, progress)
        assert counts[-1][0] == counts[-1][1] > 0  # ends with every issue written


def test_a_write_on_a_run_with_no_phase_started_gives_a_reason_that_fits_its_header(
    started: SandboxProject,
) -> None:
    started.sandbox.set_labels("octo/app", 1, ["debussy:in-progress"])
    run = json.loads(started.ok("status", "--json").stdout)["run"]
    plan = json.loads(started.ok("sync", "--direction", "to-tracker", "--json").stdout)
    [write] = [a for a in plan["actions"] if a.get("issue") == "GH-1"]
    assert run["status"] == "running"
    assert write["why"] == "the run has no phase started yet"


def test_a_dry_run_that_could_not_read_a_tracker_never_claims_the_trackers_match(
    started: SandboxProject,
) -> None:
    started.sandbox.inject(platform="github", status=503, times=50)
    result = started.run("phase", "start", "1", "--dry-run-sync")
    assert result.exit_code == 1
    assert "already match" not in result.stdout
    assert "could not all be read" in result.stdout
    previewed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ~ ")]
    assert previewed, result.stdout
    assert all(not line.startswith("~ GH") for line in previewed)  # only what was read
    assert started.sandbox.request_count(writes_only=True) == 0
