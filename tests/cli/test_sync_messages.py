"""What ``debussy sync`` says when it cannot do everything: trackers down, drift only the other
direction resolves. In-process against the live sandbox."""

from __future__ import annotations

import pytest

from tests.sandbox_project import SandboxProject


@pytest.fixture
def started(sandbox_project: SandboxProject) -> SandboxProject:
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    sandbox_project.ok("phase", "start", "1")
    return sandbox_project


def test_with_both_trackers_down_every_issue_served_from_the_cache_counts_as_not_compared(
    started: SandboxProject,
) -> None:
    started.ok("status", "--issues")  # every issue is in the cache now
    started.sandbox.inject(status=503, times=200)
    result = started.run("sync")
    assert result.exit_code == 1
    assert (
        "Plan incomplete: GitHub and Jira could not be read; 8 issues not compared" in result.stdout
    )


def test_an_incomplete_dry_run_never_suggests_apply(started: SandboxProject) -> None:
    started.backdate_phases()
    started.sandbox.close_issue("octo/app", 10)  # a change the plan would make...
    started.sandbox.close_issue("octo/lib", 7)
    started.sandbox.inject(platform="jira", status=503, times=200)  # ...but Jira is unread
    result = started.run("sync")
    assert result.exit_code == 1
    assert "phase 1" in result.stdout
    assert "--apply" not in result.stdout
    assert "Nothing can be applied from an incomplete plan" in result.stdout
    refused = started.run("sync", "--apply")
    assert refused.exit_code == 1
    assert started.phase_statuses()["1"] == "running"


def test_to_tracker_says_when_drift_remains_that_only_from_tracker_resolves(
    started: SandboxProject,
) -> None:
    started.ok("phase", "done", "1")
    started.sandbox.close_issue("octo/app", 10)
    started.ok("status", "--issues", "--refresh")  # seen closed
    started.sandbox.reopen_issue("octo/app", 10)  # a person reopened it

    dashboard = started.issues_json("--refresh")
    [reopened] = [i for i in dashboard["issues"] if i["key"] == "GH-10"]
    assert [d["type"] for d in reopened["drift"]] == ["reopened_externally"]

    result = started.ok("sync", "--direction", "to-tracker")
    assert "agree" not in result.stdout
    assert "GH-10: open on GitHub although the phase completed" in result.stdout
    assert "`debussy sync` (from-tracker) would resolve it" in result.stdout
    assert "1 difference needs --direction from-tracker" in result.stdout
    other = started.ok("sync")
    assert "phase 1" in other.stdout


def test_sync_sums_missing_issues_per_repository_as_the_dashboard_does(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    numbers = ", ".join(f"#{n}" for n in range(500, 550))
    project.write_plan(
        phases={
            "phase-1.md": f"# Phase 1: Cart model\n\n**GitHub Issues:** #10, {numbers}\n",
            "phase-2.md": "# Phase 2: Payment step\n\n**GitHub Issues:** #11\n",
            "phase-3.md": "# Phase 3: Rollout\n\n**GitHub Issues:** #12, octo/lib#70\n",
        }
    )
    project.ok("start", "plans/MASTER_PLAN.md")
    for args in (("sync",), ("sync", "--direction", "to-tracker")):
        result = project.ok(*args)
        missing = [line.strip() for line in result.stdout.splitlines() if "not found" in line]
        assert missing == [
            "? 50 issues not found on GitHub in octo/app: #500–#549",
            "? 1 issue not found on GitHub in octo/lib: #70",
        ], result.stdout


@pytest.mark.parametrize("direction", ["from-tracker", "to-tracker"])
def test_apply_with_a_tracker_down_says_the_failure_once(
    started: SandboxProject, direction: str
) -> None:
    started.sandbox.inject(platform="jira", status=503, times=200)
    result = started.run("sync", "--direction", direction, "--apply")
    assert result.exit_code == 1
    assert (result.stdout + result.stderr).count("Jira is unavailable (503)") == 1, result.output
    assert result.stderr.startswith("Error: nothing applied: jira: Jira is unavailable (503)")
