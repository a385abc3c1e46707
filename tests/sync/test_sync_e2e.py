"""`debussy sync` end to end: rules, conflicts, safety, both directions, over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from debussy.state.manager import StateManager
from tests.sandbox_project import SandboxProject, phase_one_running, sync_json


@pytest.fixture
def project(sandbox_project: SandboxProject) -> SandboxProject:
    return phase_one_running(sandbox_project)


def phase_changes(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(a["phase"], a["from"], a["to"]) for a in document["actions"] if a["kind"] == "phase"]


def test_dry_run_plans_and_changes_nothing_anywhere(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    before = project.state_bytes()
    document = sync_json(project)
    assert document["schema_version"] == 1
    assert document["applied"] is False
    assert phase_changes(document) == [("1", "running", "completed")]
    assert project.state_bytes() == before, "a dry run leaves the database byte-identical"
    assert project.sandbox.request_count(writes_only=True) == 0
    text = project.ok("sync").stdout
    assert "running → completed" in text
    assert "sync --apply" in text


def test_closed_as_completed_completes_the_phase_once_all_its_issues_are(
    project: SandboxProject,
) -> None:
    project.sandbox.close_issue("octo/app", 10)
    waiting = sync_json(project, "--apply")
    assert phase_changes(waiting) == []
    assert [s["kind"] for s in waiting["skipped"]] == ["waiting"]
    project.sandbox.close_issue("octo/lib", 7)
    applied = sync_json(project, "--apply")
    assert applied["applied"] is True
    assert phase_changes(applied) == [("1", "running", "completed")]
    assert project.phase_statuses()["1"] == "completed"
    history = json.loads(project.ok("history", "--json").stdout)["syncs"]
    assert [(s["direction"], s["applied"]) for s in history[:1]] == [("from-tracker", True)]
    assert history[0]["actions"][0]["to"] == "completed"


def test_not_planned_blocks_the_phase_with_the_reason(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    sync_json(project, "--apply")
    document = json.loads(project.ok("status", "--json").stdout)
    phase = document["phases"][2]
    assert (phase["status"], phase["reason"]) == ("blocked", "GH-12 closed as not planned")


def test_jira_done_counts_as_closed(project: SandboxProject) -> None:
    project.ok("phase", "start", "2")
    project.backdate_phases()
    project.sandbox.close_issue("octo/app", 11)
    project.sandbox.move_jira_issue("PROJ-2", "Done", "Done")
    assert phase_changes(sync_json(project, "--apply")) == [("2", "running", "completed")]


def test_a_reopened_issue_sets_its_phase_pending(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    sync_json(project, "--apply")
    project.issues_json("--refresh")  # Debussy and GitHub agree: the closed state is remembered
    project.backdate_phases()
    project.sandbox.reopen_issue("octo/lib", 7)
    drift = {i["key"]: i["drift"] for i in project.issues_json("--refresh")["issues"]}
    # (its in-progress label is still there: a from-tracker sync never writes labels)
    assert [d["type"] for d in drift["GH octo/lib#7"]] == ["reopened_externally", "label_mismatch"]
    assert phase_changes(sync_json(project, "--apply")) == [("1", "completed", "pending")]


def test_closing_the_plan_level_issues_completes_the_remaining_phases(
    project: SandboxProject,
) -> None:
    project.sandbox.close_issue("octo/app", 1)
    project.sandbox.move_jira_issue("PROJ-1", "Done", "Done")
    document = sync_json(project, "--apply")
    assert phase_changes(document) == [
        ("1", "running", "completed"),
        ("2", "pending", "completed"),
        ("3", "pending", "completed"),
    ]
    assert any(r.get("run_completed") for r in document["results"])
    with StateManager(project.root / ".debussy" / "state.db") as state:
        assert state.get_run().status == "completed"
        assert state.completed_features()[0].name == "Checkout revamp"


def test_label_differences_are_left_to_to_tracker(project: SandboxProject) -> None:
    project.sandbox.set_labels("octo/app", 10, ["bug"])
    document = sync_json(project, "--apply")
    assert phase_changes(document) == []
    assert [s["kind"] for s in document["skipped"]] == ["needs_to_tracker"]
    assert project.sandbox.github_issue("octo/app", 10)["labels"] == ["bug"]
    pushed = sync_json(project, "--direction", "to-tracker", "--apply")
    assert [(r["action"], r["outcome"]) for r in pushed["results"]] == [("set_label", "applied")]
    assert sorted(project.sandbox.github_issue("octo/app", 10)["labels"]) == [
        "bug",
        "debussy:in-progress",
    ]


def test_debussy_newer_is_a_conflict_unless_forced(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    project.set_phase_changed_at("3", datetime.now(UTC) + timedelta(hours=1))
    document = sync_json(project, "--apply")
    assert phase_changes(document) == []
    [conflict] = [s for s in document["skipped"] if s["kind"] == "conflict"]
    assert conflict["action"]["to"] == "blocked"
    assert project.phase_statuses()["3"] == "pending"
    forced = sync_json(project, "--apply", "--force")
    assert phase_changes(forced) == [("3", "pending", "blocked")]


def test_to_tracker_pushes_labels_state_and_transitions(project: SandboxProject) -> None:
    project.ok("phase", "done", "1", "--dry-run-sync")  # Debussy moved on; trackers did not
    project.ok("phase", "start", "2", "--dry-run-sync")
    project.sandbox.close_issue("octo/app", 12)  # closed by hand although phase 3 is pending
    plan = sync_json(project, "--direction", "to-tracker")
    planned = {(a["issue"], a["action"], a["value"]) for a in plan["actions"]}
    assert planned == {
        ("GH-10", "set_label", "debussy:completed"),
        ("GH octo/lib#7", "set_label", "debussy:completed"),
        ("GH-11", "set_label", "debussy:in-progress"),
        ("PROJ-2", "transition", "In Progress"),
        ("GH-12", "reopen", None),
    }
    assert project.sandbox.request_count(writes_only=True) == 0
    applied = sync_json(project, "--direction", "to-tracker", "--apply")
    assert {r["outcome"] for r in applied["results"]} == {"applied"}
    assert project.sandbox.github_issue("octo/app", 12)["state"] == "open"
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"
    clean = project.issues_json()
    assert clean["drift_count"] == 0, "touched issues were refreshed in the cache"
    assert clean["cache"]["requests"] == 0
    again = sync_json(project, "--direction", "to-tracker", "--apply")
    assert again["actions"] == [], "idempotent: nothing left to do"


def test_a_partial_to_tracker_failure_exits_1_and_a_rerun_finishes(
    project: SandboxProject,
) -> None:
    project.sandbox.set_labels("octo/app", 10, [])
    project.sandbox.move_jira_issue("PROJ-1", "To Do")
    project.sandbox.inject(
        platform="jira", path="/rest/api/3/issue/PROJ-1/transitions", status=500, times=20
    )
    first = project.run("sync", "--direction", "to-tracker", "--apply")
    assert first.exit_code == 1
    assert "1 tracker write did not go through (1 unconfirmed)" in first.stderr
    assert project.sandbox.github_issue("octo/app", 10)["labels"] == ["debussy:in-progress"]
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "To Do"
    project.sandbox.clear_faults()
    second = sync_json(project, "--direction", "to-tracker", "--apply")
    assert [r["issue"] for r in second["results"]] == ["PROJ-1"]
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "In Progress"


def test_apply_refuses_partial_data(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    project.sandbox.inject(platform="jira", status=503, times=100)
    before = project.state_bytes()
    result = project.run("sync", "--apply")
    assert result.exit_code == 1
    assert "nothing applied" in result.stderr
    assert project.state_bytes() == before


def test_a_change_between_plan_and_apply_is_detected_and_nothing_is_written(
    project: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    import debussy.app.sync_apply as sync_apply

    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    original = sync_apply.apply_from_tracker

    def someone_moves_phase_3_first(state: StateManager, outcome: sync_apply.SyncOutcome) -> Any:
        with StateManager(project.root / ".debussy" / "state.db") as other:
            other.record_phase_status(outcome.plan.run.id, "3", "running")
        return original(state, outcome)

    monkeypatch.setattr(sync_apply, "apply_from_tracker", someone_moves_phase_3_first)
    result = project.run("sync", "--apply")
    assert result.exit_code == 1
    assert "phase 3 is now 'running'" in result.stderr
    assert "`debussy sync` again" in result.stderr
    assert project.phase_statuses() == {"1": "running", "2": "pending", "3": "running"}
    assert json.loads(project.ok("history", "--json").stdout)["syncs"] == []


def test_a_failure_in_the_middle_of_apply_leaves_the_database_as_before(
    project: SandboxProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.sandbox.close_issue("octo/app", 1)
    project.sandbox.move_jira_issue("PROJ-1", "Done", "Done")
    before = project.state_bytes()
    calls = {"n": 0}
    original = StateManager._change_phase

    def fail_on_the_second_phase(self: StateManager, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateManager, "_change_phase", fail_on_the_second_phase)
    result = project.run("sync", "--apply")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert project.state_bytes() == before


def test_two_applies_at_once_neither_lose_nor_double_apply(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 1)
    project.sandbox.move_jira_issue("PROJ-1", "Done", "Done")
    # "At once" means each reads the state before the other commits. Each one's window from
    # that read to its commit spans its tracker reads: a latency keeps the windows
    # overlapping when a loaded machine starts one process late. (One that starts after
    # the other committed rightly plans nothing and records "0 phase changes applied".)
    project.sandbox.latency = 0.3
    command = [sys.executable, "-m", "debussy", "sync", "--apply", "--json"]
    env = {**__import__("os").environ, **project.env}
    processes = [
        subprocess.Popen(
            command,
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    codes = [process.returncode for process in processes]
    assert all("locked" not in err and "Traceback" not in err for _, err in outputs)
    applied = [json.loads(out) for (out, _), code in zip(outputs, codes, strict=True) if code == 0]
    changed = [doc for doc in applied if phase_changes(doc)]
    assert len(changed) == 1, (codes, outputs)
    stale = [err for (_, err), code in zip(outputs, codes, strict=True) if code == 1]
    assert all("`debussy sync` again" in err for err in stale)
    assert project.phase_statuses() == {"1": "completed", "2": "completed", "3": "completed"}
    history = json.loads(project.ok("history", "--json").stdout)["syncs"]
    # Applied once; a late starter that found nothing left is recorded as an empty sync.
    assert sorted(len(entry["actions"]) for entry in history) in ([3], [0, 3])
    with StateManager(project.root / ".debussy" / "state.db") as state:
        assert len(state.completed_features()) == 1
