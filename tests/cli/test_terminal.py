"""What a person sees on a real terminal (a pty of 80 or 120 columns) and what a pipe gets.

Keys and drift types are never cut, every ``--json`` is indented on a terminal and
one compact line when piped, progress goes to stderr only on a terminal.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.terminal import run_in_terminal
from tests.sandbox_project import SandboxProject

KEYS = ("GH-1", "PROJ-1", "GH-10", "GH octo/lib#7", "GH-11", "PROJ-2", "GH-12", "PROJ-3")


@pytest.fixture
def drifted(sandbox_project: SandboxProject) -> SandboxProject:
    """A run in phase 2, with people's changes on both trackers (the tracker is newer)."""
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "start", "1")
    project.ok("phase", "done", "1")
    project.ok("phase", "start", "2")
    project.backdate_phases()
    project.sandbox.close_issue("octo/lib", 7, "not_planned")
    project.sandbox.reopen_issue("octo/app", 10)
    project.sandbox.close_issue("octo/app", 11)
    project.sandbox.move_jira_issue("PROJ-2", "Done")
    return project


@pytest.mark.parametrize("columns", [80, 120])
def test_the_dashboard_fits_the_terminal_and_never_cuts_keys_or_drift_types(
    drifted: SandboxProject, columns: int
) -> None:
    run = run_in_terminal(
        ["status", "--issues"], cwd=drifted.root, env=drifted.env, columns=columns
    )
    assert run.exit_code == 0, run.text
    table = [line for line in run.lines if line.startswith(KEYS)]
    assert len(table) == len(KEYS), run.text
    assert all(len(line) <= columns for line in table), run.text
    for key in KEYS:
        assert any(line.startswith(key + " ") for line in table), f"{key} cut:\n{run.text}"
    words = [word for line in table for word in line.replace(",", " ").split()]
    assert words.count("closed_externally") == 2, run.text
    assert words.count("status_mismatch") == 1, run.text


def test_at_80_columns_last_updated_goes_first(drifted: SandboxProject) -> None:
    narrow = run_in_terminal(["status", "--issues"], cwd=drifted.root, env=drifted.env)
    wide = run_in_terminal(["status", "--issues"], cwd=drifted.root, env=drifted.env, columns=200)
    assert "Last Updated" in wide.text
    assert "Last Updated" not in narrow.text
    assert "(tracker newer)" in wide.text


def test_status_never_splits_an_issue_key_over_two_lines(drifted: SandboxProject) -> None:
    drifted.write_plan(
        phases={
            "phase-1.md": "# Phase 1: Cart model with a title long enough to need wrapping "
            "in an eighty column terminal\n\n**GitHub Issues:** #10, octo/lib#7\n",
            "phase-2.md": "# Phase 2: Payment step\n\n**GitHub Issues:** #11\n"
            "**Jira Issues:** PROJ-2\n",
            "phase-3.md": "# Phase 3: Rollout\n\n**GitHub Issues:** #12\n**Jira Issues:** PROJ-3\n",
        }
    )
    run = run_in_terminal(["status"], cwd=drifted.root, env=drifted.env, columns=60)
    assert run.exit_code == 0, run.text
    assert "GH octo/lib#7" in run.text, run.text
    assert all(len(line) <= 60 for line in run.lines), run.text


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--json"),
        ("status", "--issues", "--json"),
        ("history", "--json"),
        ("sync", "--json"),
        ("doctor", "--json"),
    ],
)
def test_every_json_is_indented_on_a_terminal_and_compact_when_piped(
    drifted: SandboxProject, args: tuple[str, ...]
) -> None:
    on_terminal = run_in_terminal(
        list(args), cwd=drifted.root, env=drifted.env, stderr_on_terminal=False
    )
    piped = drifted.subprocess(*args)
    assert json.loads(on_terminal.text)["schema_version"] == 1
    assert on_terminal.text.startswith("{\n  "), on_terminal.text[:80]
    assert piped.stdout.count("\n") == 1, "one compact line when piped"
    assert json.loads(piped.stdout)["schema_version"] == 1


def test_no_arguments_prints_help_on_stdout_and_exits_0(drifted: SandboxProject) -> None:
    result = drifted.subprocess()
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: ")
    assert "doctor" in result.stdout
    assert result.stderr == ""


def test_progress_names_the_tracker_and_the_retry_on_a_terminal_only(
    drifted: SandboxProject,
) -> None:
    drifted.sandbox.inject(platform="github", path="/graphql", status=502, times=1)
    run = run_in_terminal(
        ["status", "--issues", "--refresh"], cwd=drifted.root, env=drifted.env, columns=120
    )
    assert run.exit_code == 0, run.text
    assert "Reading issue statuses from GitHub and Jira" in run.text
    assert "GitHub is unavailable (502); retry 1 in " in run.text
    drifted.sandbox.inject(platform="github", path="/graphql", status=502, times=1)
    piped = drifted.subprocess("status", "--issues", "--refresh")
    assert "Reading issue statuses" not in piped.stderr
    assert "retrying" not in piped.stderr
