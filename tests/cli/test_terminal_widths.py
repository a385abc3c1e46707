"""Narrow terminals (a real pty of 60 and 80 columns): what identifies a row is never cut.

History keeps whole run ids (what ``--run`` needs) and whole times; status keeps the
title (wrapped) and whole statuses; long header and detail lines wrap to the width
instead of running past it.
"""

from __future__ import annotations

import re

import pytest

from tests.cli.terminal import run_in_terminal
from tests.sandbox_project import MASTER_PLAN, SandboxProject

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
LONG_TITLE = "Checkout revamp for the whole storefront including every payment provider"


@pytest.fixture
def lived(sandbox_project: SandboxProject) -> SandboxProject:
    """Two runs, one completed, the other with a completed and a blocked phase and a sync."""
    project = sandbox_project
    project.write_config(jira=False)  # a second run cannot move Jira issues out of Done
    project.write_plan(MASTER_PLAN.replace("# Checkout revamp", f"# {LONG_TITLE}"))
    project.ok("start", "plans/MASTER_PLAN.md")
    for phase in ("1", "2", "3"):
        project.ok("phase", "done", phase)
    project.ok("start", "--force", "plans/MASTER_PLAN.md")
    project.ok("phase", "done", "1")
    project.ok("phase", "block", "2", "--reason", "waiting for the payment provider's API keys")
    project.ok("sync", "--apply")
    return project


def run_ids(project: SandboxProject) -> list[str]:
    import json

    document = json.loads(project.ok("history", "--json").stdout)
    return [run["id"] for run in document["runs"]]


@pytest.mark.parametrize("columns", [60, 80])
def test_history_keeps_run_ids_and_times_whole(lived: SandboxProject, columns: int) -> None:
    run = run_in_terminal(["history"], cwd=lived.root, env=lived.env, columns=columns)
    assert run.exit_code == 0, run.text
    assert all(len(line) <= columns for line in run.lines), run.text
    assert "…" not in run.text, run.text
    for run_id in run_ids(lived):
        assert re.search(rf"(^|\s){run_id}(\s|$)", run.text, re.M), f"{run_id} cut:\n{run.text}"
    assert len(TIME.findall(run.text)) >= 4, run.text  # 2 starts, 1 completion, 1 sync


def test_history_shows_no_empty_completed_column(sandbox_project: SandboxProject) -> None:
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    run = run_in_terminal(
        ["history"], cwd=sandbox_project.root, env=sandbox_project.env, columns=80
    )
    assert "Completed" not in run.text, run.text
    assert TIME.search(run.text), f"Started cut:\n{run.text}"


def test_status_at_60_columns_keeps_titles_and_whole_statuses(lived: SandboxProject) -> None:
    run = run_in_terminal(["status"], cwd=lived.root, env=lived.env, columns=60)
    assert run.exit_code == 0, run.text
    assert all(len(line) <= 60 for line in run.lines), run.text
    assert "…" not in run.text, run.text
    words = run.text.split()
    for word in ("Title", "Cart", "Payment", "Rollout", "completed", "blocked", "pending"):
        assert word in words, f"{word} missing or cut:\n{run.text}"
    assert "provider's" in words, f"the reason is shown (under the title):\n{run.text}"
    assert "every" in words, "the long plan title in the header wraps, whole"


def test_long_header_and_detail_lines_wrap_to_the_width(lived: SandboxProject) -> None:
    lived.sandbox.close_issue("octo/app", 12, "not_planned")
    run = run_in_terminal(
        ["status", "--issues", "--refresh"],
        cwd=lived.root,
        env=lived.env,
        columns=80,
        stderr_on_terminal=False,  # the spinner redraws one line; the output is what counts
    )
    assert run.exit_code == 0, run.text
    assert all(len(line) <= 80 for line in run.lines), run.text
    assert LONG_TITLE.split()[-1] in run.text.split(), run.text
    assert "closed as not planned on GitHub while Debussy has it pending" in " ".join(
        run.text.split()
    ), run.text


def test_the_event_log_at_60_columns_keeps_times_and_changes_whole(lived: SandboxProject) -> None:
    run = run_in_terminal(["history", "--events"], cwd=lived.root, env=lived.env, columns=60)
    assert run.exit_code == 0, run.text
    assert all(len(line) <= 60 for line in run.lines), run.text
    assert "…" not in run.text, run.text
    assert "provider's" in run.text.split(), run.text
    assert "pending → completed" in run.text, run.text
    assert "pending → blocked" in run.text, run.text
