"""Completed features are remembered: starting a delivered plan again warns and stops."""

from __future__ import annotations

import json

import pytest

from tests.sandbox_project import SandboxProject

OTHER_PLAN = """\
# Checkout polish

**GitHub Repo:** octo/app
**GitHub Issues:** #1, #99

| Phase | Title | Status |
|---|---|---|
| 1 | [Polish](phases/polish.md) | Pending |
"""


@pytest.fixture
def delivered(sandbox_project: SandboxProject) -> SandboxProject:
    """The checkout plan run to completion (trackers off: this is about local memory)."""
    project = sandbox_project
    project.write_config(github=False, jira=False)
    project.ok("start", "plans/MASTER_PLAN.md")
    for phase_id in ("1", "2", "3"):
        project.ok("phase", "done", phase_id)
    return project


def runs(project: SandboxProject) -> int:
    return len(json.loads(project.ok("history", "--json").stdout)["runs"])


def test_a_full_match_lists_every_issue_with_feature_and_date_and_stops(
    delivered: SandboxProject,
) -> None:
    result = delivered.run("start", "plans/MASTER_PLAN.md")
    assert result.exit_code == 1
    assert "full match" in result.stderr
    for key in ("GH-1", "PROJ-1", "GH-10", "GH octo/lib#7", "GH-11", "PROJ-2", "GH-12", "PROJ-3"):
        assert f"{key}: 'Checkout revamp' completed 20" in result.stderr
    assert "--force" in result.stderr
    assert runs(delivered) == 1, "no new run was recorded"


def test_a_partial_match_says_so(delivered: SandboxProject) -> None:
    delivered.write_plan(OTHER_PLAN, {"polish.md": "# Polish\n\n**Jira Issues:** PROJ-50\n"})
    result = delivered.run("start", "plans/MASTER_PLAN.md")
    assert result.exit_code == 1
    assert "partial match" in result.stderr
    assert "(1 of 3" in result.stderr
    assert "GH-1: 'Checkout revamp'" in result.stderr
    assert "GH-99" not in result.stderr


def test_no_match_starts_without_asking(delivered: SandboxProject) -> None:
    delivered.write_plan(OTHER_PLAN.replace("#1, #99", "#98, #99"), {"polish.md": "# Polish\n"})
    result = delivered.run("start", "plans/MASTER_PLAN.md")
    assert result.exit_code == 0
    assert "already delivered" not in result.output
    assert runs(delivered) == 2


def test_force_starts_anyway_with_a_warning(delivered: SandboxProject) -> None:
    result = delivered.run("start", "plans/MASTER_PLAN.md", "--force")
    assert result.exit_code == 0
    assert "--force" in result.stderr
    assert "Started run" in result.stdout
    assert runs(delivered) == 2


def test_on_a_terminal_the_user_is_asked_and_no_is_the_default(
    delivered: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("debussy.output.console.is_tty", lambda stream: True)
    declined = delivered.run("start", "plans/MASTER_PLAN.md", input="\n")
    assert declined.exit_code == 1
    assert "[y/N]" in declined.stderr
    assert runs(delivered) == 1
    accepted = delivered.run("start", "plans/MASTER_PLAN.md", input="y\n")
    assert accepted.exit_code == 0
    assert runs(delivered) == 2
