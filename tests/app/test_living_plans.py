"""Plans change during a run (issue #14): every command follows the plan as it is now.

End to end against the sandbox tracker over HTTP: the plan is edited between
commands, and the dashboard, the lifecycle pushes, ``sync`` in both directions
and ``history`` all reflect it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from debussy.app.plan_follow import follow_plan
from debussy.app.project import Project
from tests.sandbox_project import MASTER_PLAN, PHASES, SandboxProject

EDITED_MASTER = (
    MASTER_PLAN.replace("**GitHub Issues:** #1", "**GitHub Issues:** #2")
    .replace("| 3 | [Rollout](phases/phase-3.md) | Pending |\n", "")
    .rstrip("\n")
    + "\n| 4 | [Docs](phases/phase-4.md) | Pending |\n"
)
EDITED_PHASES = {
    **PHASES,
    "phase-1.md": "# Phase 1: Cart model\n\n**GitHub Issues:** #6, octo/lib#7\n",
    "phase-4.md": "# Phase 4: Docs\n\n**GitHub Issues:** #13\n",
}


@pytest.fixture
def project(sandbox_project: SandboxProject) -> SandboxProject:
    """A started run whose phase 1 is running; issues #2, #6, #13 exist for the edits."""
    for number in (2, 6, 13):
        sandbox_project.sandbox.add_issue("octo/app", number, title=f"#{number}")
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    sandbox_project.ok("phase", "start", "1")
    return sandbox_project


def labels(project: SandboxProject, number: int, repo: str = "octo/app") -> list[str]:
    return sorted(project.sandbox.github_issue(repo, number)["labels"])


def issues_by_key(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {issue["key"]: issue for issue in document["issues"]}


def test_every_command_follows_the_edited_plan(project: SandboxProject) -> None:
    project.sandbox.set_labels("octo/app", 10, ["debussy:in-progress", "bug"])
    project.write_plan(EDITED_MASTER, EDITED_PHASES)

    # The first command to see the edit says so, once, on stderr; --json stays one document.
    first = project.run("status", "--issues", "--json", "--refresh")
    assert first.exit_code in (0, 3), first.output
    assert first.stderr.count("plan changed since the run started:") == 1
    for change in (
        "+ GH-2 (plan)",
        "− GH-1 (plan)",
        "+ GH-6 (phase 1)",
        "− GH-10 (phase 1)",
        "− phase 3 'Rollout'",
        "− GH-12 (phase 3)",
        "− PROJ-3 (phase 3)",
        "+ phase 4 'Docs'",
        "+ GH-13 (phase 4)",
    ):
        assert change in first.stderr
    dashboard = issues_by_key(json.loads(first.stdout))
    assert dashboard["GH-6"]["phase"] == "1"
    assert dashboard["GH-13"]["phase"] == "4"
    assert dashboard["GH-2"]["phase"] is None
    # Unlinked, still labelled: shown with drift `unlinked`; unlinked and clean: gone.
    assert [d["type"] for d in dashboard["GH-10"]["drift"]] == ["unlinked"]
    assert [d["type"] for d in dashboard["GH-1"]["drift"]] == ["unlinked"]
    assert "GH-12" not in dashboard
    assert "PROJ-3" not in dashboard
    assert "PROJ-1" in dashboard

    second = project.run("status", "--json")
    assert "plan changed" not in second.stderr, "each change is printed once"
    phases = {p["id"]: p for p in json.loads(second.stdout)["phases"]}
    assert phases["3"]["status"] == "removed"
    assert phases["3"]["issues"] == []
    assert (phases["4"]["status"], phases["4"]["changed_at"]) == ("pending", None)
    assert phases["1"]["issues"] == ["GH-6", "GH octo/lib#7"]
    assert "no longer in the plan (was pending)" in project.ok("status").stdout

    # A lifecycle event pushes to the issues the plan links now, never the unlinked ones.
    project.sandbox.clear_requests()
    project.ok("phase", "done", "1")
    assert labels(project, 6) == ["debussy:completed"]
    assert labels(project, 10) == ["bug", "debussy:in-progress"]

    # to-tracker removes Debussy's label from unlinked issues and touches nothing else.
    plan = json.loads(project.ok("sync", "--direction", "to-tracker", "--json").stdout)
    removals = [(w["issue"], w["action"], w["value"]) for w in plan["actions"]]
    assert ("GH-10", "set_label", None) in removals
    assert ("GH-1", "set_label", None) in removals
    project.ok("sync", "--direction", "to-tracker", "--apply")
    assert labels(project, 10) == ["bug"]
    assert labels(project, 1) == []
    assert project.sandbox.github_issue("octo/app", 10)["state"] == "open"
    after = issues_by_key(project.issues_json("--refresh"))
    assert "GH-10" not in after
    assert "GH-1" not in after

    # from-tracker follows the new phase: closing #13 completes phase 4 (untouched: no conflict).
    project.sandbox.close_issue("octo/app", 13)
    applied = json.loads(project.ok("sync", "--apply", "--json").stdout)
    assert [(a["phase"], a["to"]) for a in applied["actions"]] == [("4", "completed")]
    assert project.phase_statuses()["4"] == "completed"

    history = json.loads(project.ok("history", "--json").stdout)
    seen = [(c["kind"], c["subject"]) for c in history["plan_changes"]]
    assert ("link_added", "GH-6") in seen
    assert ("phase_removed", "3") in seen
    assert all(c["seen_at"].endswith("Z") for c in history["plan_changes"])
    assert "Plan changes" in project.ok("history").stdout


def test_a_phase_event_on_a_removed_phase_names_it(project: SandboxProject) -> None:
    project.write_plan(EDITED_MASTER, EDITED_PHASES)
    result = project.run("phase", "start", "3")
    assert result.exit_code == 1
    assert "phase '3'" in result.stderr
    assert "removed from the plan" in result.stderr
    assert "Traceback" not in result.output


def test_a_plan_that_no_longer_parses_changes_nothing(project: SandboxProject) -> None:
    before = project.state_bytes()
    project.write_plan(MASTER_PLAN, {**PHASES, "phase-2.md": "# P2\n\n**GitHub Issues:** #abc\n"})
    result = project.run("status", "--issues")
    assert result.exit_code == 1
    assert "phase-2.md:3" in result.stderr
    assert "Traceback" not in result.output
    assert project.state_bytes() == before
    project.write_plan()
    assert "plan changed" not in project.ok("status").stderr


def test_a_renumbered_or_retitled_phase_keeps_its_history(project: SandboxProject) -> None:
    swapped = MASTER_PLAN.replace(
        "| 1 | [Cart model](phases/phase-1.md) | Pending |\n"
        "| 2 | [Payment step](phases/phase-2.md) | Pending |\n",
        "| 1 | [Payments](phases/phase-2.md) | Pending |\n"
        "| 2 | [Cart model](phases/phase-1.md) | Pending |\n",
    )
    project.write_plan(swapped)
    result = project.ok("status", "--json")
    assert "phase 1 → 2 'Cart model'" in result.stderr
    assert "phase 2 → 1 'Payments'" in result.stderr
    assert "phase 1 'Payment step' → 'Payments'" in result.stderr
    phases = {p["id"]: p for p in json.loads(result.stdout)["phases"]}
    assert (phases["2"]["title"], phases["2"]["status"]) == ("Cart model", "running")
    assert phases["2"]["changed_at"] is not None
    assert (phases["1"]["title"], phases["1"]["status"]) == ("Payments", "pending")
    assert phases["2"]["issues"][0] == "GH-10"


def test_an_unchanged_plan_is_not_parsed_again(
    project: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    import debussy.app.runs

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the plan was parsed although its files did not change")

    monkeypatch.setattr(debussy.app.runs, "load_project_plan", refuse)
    with Project(project.root) as opened:
        followed = follow_plan(opened, opened.state.get_run())
    assert followed.changes == ()
    (project.root / "plans" / "phases" / "phase-2.md").write_text("# P2\n\n**GitHub Issues:** #6\n")
    with Project(project.root) as opened, pytest.raises(AssertionError, match="was parsed"):
        follow_plan(opened, opened.state.get_run())


def test_a_plan_started_after_its_issues_closed_completes_on_sync(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    for repo, number in [("octo/app", 1), ("octo/app", 10), ("octo/lib", 7)]:
        project.sandbox.close_issue(repo, number)
    project.sandbox.close_issue("octo/app", 11)
    project.sandbox.close_issue("octo/app", 12)
    for key in ("PROJ-1", "PROJ-2", "PROJ-3"):
        project.sandbox.move_jira_issue(key, "Done", "Done")
    project.ok("start", "plans/MASTER_PLAN.md")
    document = project.issues_json("--refresh")
    newer = {d["newer"] for issue in document["issues"] for d in issue["drift"]}
    assert newer == {"tracker"}
    assert {issue["debussy_changed_at"] for issue in document["issues"]} == {None}
    applied = json.loads(project.ok("sync", "--apply", "--json").stdout)
    assert [s for s in applied["skipped"] if s["kind"] == "conflict"] == []
    assert set(project.phase_statuses().values()) == {"completed"}
    assert json.loads(project.ok("status", "--json").stdout)["run"]["status"] == "completed"


def test_a_lifecycle_event_after_the_tracker_change_is_still_a_conflict(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    # Recorded without pushing (a lifecycle push would converge the issues and leave no drift):
    project.ok("phase", "fail", "1", "--reason", "tests red", "--dry-run-sync")
    project.set_phase_changed_at("1", datetime.now(UTC) + timedelta(hours=1))
    plan = json.loads(project.ok("sync", "--apply", "--json").stdout)
    conflicts = [s for s in plan["skipped"] if s["kind"] == "conflict"]
    assert [c["phase"] for c in conflicts] == ["1"]
    assert project.phase_statuses()["1"] == "failed"


def test_start_refuses_a_second_running_run_of_the_same_plan(project: SandboxProject) -> None:
    run_id = json.loads(project.ok("status", "--json").stdout)["run"]["id"]
    refused = project.run("start", "plans/MASTER_PLAN.md")
    assert refused.exit_code == 1
    assert f"run {run_id}" in refused.stderr
    assert "--force" in refused.stderr
    forced = project.run("start", "plans/MASTER_PLAN.md", "--force")
    assert forced.exit_code == 0, forced.output
    assert f"Warning: --force given: starting another run while run {run_id}" in forced.stderr


def test_unusual_events_are_accepted_with_a_warning(project: SandboxProject) -> None:
    direct = project.ok("phase", "done", "2")
    assert "Warning: phase 2 was never started; it was completed directly" in direct.stderr
    project.ok("phase", "done", "1")
    project.ok("phase", "done", "3")
    run = json.loads(project.ok("status", "--json").stdout)["run"]
    assert run["status"] == "completed"
    replay = project.ok("phase", "done", "3")
    assert "Warning" not in replay.stderr, "a replay (how interrupted pushes finish) is quiet"
    reopened = project.ok("phase", "fail", "2", "--reason", "regression")
    assert f"run {run['id']} had completed; phase 2 is now failed" in reopened.stderr
    assert json.loads(project.ok("status", "--json").stdout)["run"]["status"] == "running"


def test_a_missing_plan_file_is_a_warning_not_a_failure(project: SandboxProject) -> None:
    (project.root / "plans" / "MASTER_PLAN.md").unlink()
    result = project.ok("status")
    assert "Warning: plans/MASTER_PLAN.md no longer exists" in result.stderr
