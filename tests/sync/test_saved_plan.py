"""Saved sync plans end to end over real HTTP: plan to a file, review, apply exactly it.

``sync --out FILE`` then ``sync --apply FILE`` must do what the file says or nothing:
stale plans (an issue or a phase changed since), foreign, tampered and replayed
plans are refused with one line and nothing written to the state or the trackers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from debussy.timeutil import to_iso
from tests.sandbox_project import (
    GITHUB_TOKEN,
    JIRA_TOKEN,
    SandboxProject,
    phase_one_running,
    sync_json,
)


@pytest.fixture
def project(sandbox_project: SandboxProject) -> SandboxProject:
    return phase_one_running(sandbox_project)


def plan_file(project: SandboxProject, *args: str) -> tuple[Path, dict[str, Any]]:
    """``sync --out plan.json`` (plus ``args``): the file and the document it holds."""
    document = sync_json(project, "--out", "plan.json", *args)
    assert document["applied"] is False
    assert document["saved_plan"]["file"] == "plan.json"
    path = project.root / "plan.json"
    return path, json.loads(path.read_text())


def outcomes(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["what"], item["outcome"]) for item in document["items"]]


def test_from_tracker_plan_then_apply_does_exactly_what_the_file_says_once(
    project: SandboxProject,
) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    project.sandbox.set_labels("octo/app", 1, [])  # only to-tracker would fix that
    before = project.state_bytes()
    path, saved = plan_file(project)
    assert project.state_bytes() == before, "saving a plan writes nothing to the state"
    text = path.read_text()
    assert str(project.root) not in text, "no absolute path of this machine"
    assert GITHUB_TOKEN not in text
    assert JIRA_TOKEN not in text
    assert (saved["kind"], saved["schema_version"], saved["direction"]) == (
        "debussy-sync-plan",
        1,
        "from-tracker",
    )
    [item] = saved["items"]
    assert (item["phase"], item["from"], item["to"]) == ("1", "running", "completed")
    assert [(i["issue"], bool(i["changed_at"])) for i in item["issues"]] == [
        ("GH-10", True),
        ("GH octo/lib#7", True),
    ]
    assert {left["kind"] for left in saved["left_out"]} == {"needs_to_tracker"}

    applied = sync_json(project, "--apply", "plan.json")
    assert applied["applied"] is True
    assert outcomes(applied)[0] == ("phase 1 Cart model: running → completed", "applied")
    assert applied["counts"]["applied"] == 1
    assert applied["saved_plan"]["id"] == saved["id"]
    assert project.phase_statuses()["1"] == "completed"
    assert project.sandbox.request_count(writes_only=True) == 0

    after = project.state_bytes()
    again = project.run("sync", "--apply", "plan.json")
    assert again.exit_code == 1
    assert f"saved plan {saved['id'][:8]} was already applied" in again.stderr
    assert "Traceback" not in again.output
    assert project.state_bytes() == after, "a retried apply writes nothing"


def test_a_tracker_change_after_the_plan_makes_it_stale_and_nothing_is_written(
    project: SandboxProject,
) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    plan_file(project)
    project.sandbox.add_labels("octo/app", 10, ["reviewed"])  # still closed: only newer
    changed = to_iso(project.sandbox.github_issue("octo/app", 10)["updated_at"])
    before = project.state_bytes()
    project.sandbox.clear_requests()
    result = project.run("sync", "--apply", "plan.json", "--json")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: saved plan is stale: GH-10 changed at ")
    assert changed in result.stderr
    assert project.state_bytes() == before
    assert project.sandbox.request_count(writes_only=True) == 0
    document = json.loads(result.stdout)
    assert document["applied"] is False
    assert [i["outcome"] for i in document["items"] if i["kind"] == "phase"] == ["skipped"]
    assert "saved plan is stale" in document["items"][0]["detail"]
    # exactly the plan's issues were re-read, in one batch per tracker
    assert project.sandbox.request_count("jira") == 1
    assert project.sandbox.request_count("github") == 1


def test_any_issue_the_plan_read_changing_makes_it_stale(project: SandboxProject) -> None:
    """Not only the items' issues: what the plan left alone was reviewed too."""
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    _, saved = plan_file(project)
    assert {i["issue"] for i in saved["issues"]} >= {"GH-1", "GH-11", "GH-12", "PROJ-1", "PROJ-2"}
    project.sandbox.move_jira_issue("PROJ-2", "In Progress")  # phase 2's, not in any item
    result = project.run("sync", "--apply", "plan.json")
    assert result.exit_code == 1
    assert "saved plan is stale: PROJ-2 changed at " in result.stderr
    assert project.phase_statuses()["1"] == "running"


def test_a_phase_moved_in_debussy_after_the_plan_makes_it_stale(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    plan_file(project)
    project.ok("phase", "fail", "1", "--reason", "broke", "--dry-run-sync")
    result = project.run("sync", "--apply", "plan.json")
    assert result.exit_code == 1
    assert "saved plan is stale: phase 1 is now 'failed', not 'running'" in result.stderr
    assert project.phase_statuses()["1"] == "failed"


def test_to_tracker_plan_then_apply_sends_exactly_the_planned_writes(
    project: SandboxProject,
) -> None:
    project.ok("phase", "done", "1", "--dry-run-sync")  # Debussy moved on; trackers did not
    project.sandbox.clear_requests()
    _, saved = plan_file(project, "--direction", "to-tracker")
    planned = {(i["issues"][0]["issue"], i["action"], i["value"]) for i in saved["items"]}
    assert planned == {
        ("GH-10", "set_label", "debussy:completed"),
        ("GH octo/lib#7", "set_label", "debussy:completed"),
    }
    assert project.sandbox.request_count(writes_only=True) == 0
    wrong_way = project.run("sync", "--apply", "plan.json", "--direction", "from-tracker")
    assert wrong_way.exit_code == 1
    assert "plan.json is a to-tracker plan, not from-tracker" in wrong_way.stderr
    applied = sync_json(project, "--apply", "plan.json")
    assert {outcome for _, outcome in outcomes(applied)} == {"applied"}
    assert applied["counts"] == {
        "planned": 0,
        "applied": 2,
        "already": 0,
        "refused": 0,
        "unconfirmed": 0,
        "skipped": 0,
    }
    assert applied["summary"] == "2 tracker writes applied"
    assert project.sandbox.github_issue("octo/app", 10)["labels"] == ["debussy:completed"]
    assert project.sandbox.github_issue("octo/lib", 7)["labels"] == ["debussy:completed"]


def test_a_to_tracker_plan_is_refused_before_any_write_when_an_issue_changed(
    project: SandboxProject,
) -> None:
    project.ok("phase", "done", "1", "--dry-run-sync")
    plan_file(project, "--direction", "to-tracker")
    project.sandbox.add_labels("octo/lib", 7, ["needs-review"])
    project.sandbox.clear_requests()
    before = project.state_bytes()
    result = project.run("sync", "--apply", "plan.json")
    assert result.exit_code == 1
    assert "saved plan is stale: GH octo/lib#7 changed at" in result.stderr
    assert project.sandbox.request_count(writes_only=True) == 0
    assert project.sandbox.github_issue("octo/app", 10)["labels"] == ["debussy:in-progress"]
    assert project.state_bytes() == before
    fresh = sync_json(project, "--apply", "--direction", "to-tracker")
    assert fresh["counts"]["applied"] == 2, "a new plan (here: plan and apply) still works"


def test_foreign_tampered_and_missing_plan_files_are_one_clear_line(
    project: SandboxProject,
) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    path, saved = plan_file(project)
    cases: dict[str, tuple[str, str]] = {
        "tampered.json": (
            json.dumps({**saved, "items": [{**saved["items"][0], "to": "failed"}]}),
            "tampered.json: the plan was changed after it was made",
        ),
        "future.json": (
            json.dumps({**saved, "schema_version": 99}),
            "future.json: plan schema version 99 is not one this Debussy applies",
        ),
        "status.json": (
            project.run("status", "--json").stdout,
            "status.json: not a Debussy sync plan",
        ),
        "cut.json": (path.read_text()[:50], "cut.json: not a Debussy sync plan (not JSON"),
        "other-run.json": (
            json.dumps({**saved, "run": {**saved["run"], "id": "0000beef"}}),
            "other-run.json: the plan was changed after it was made",
        ),
    }
    before = project.state_bytes()
    for name, (text, message) in cases.items():
        (project.root / name).write_text(text)
        result = project.run("sync", "--apply", name)
        assert result.exit_code == 1, name
        assert result.stderr.startswith(f"Error: {message}"), result.stderr
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.output
    missing = project.run("sync", "--apply", "nowhere.json")
    assert (missing.exit_code, missing.stderr) == (1, "Error: nowhere.json: no such plan file\n")
    assert project.state_bytes() == before


def test_a_plan_for_another_run_is_refused(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    plan_file(project)
    project.ok("start", "plans/MASTER_PLAN.md", "--force")
    result = project.run("sync", "--apply", "plan.json")
    assert result.exit_code == 1
    assert "plan.json is a plan for run " in result.stderr
    assert "pass --run " in result.stderr


def test_options_that_contradict_a_saved_plan_are_usage_errors(project: SandboxProject) -> None:
    plan_file(project)
    forced = project.run("sync", "--apply", "plan.json", "--force")
    assert forced.exit_code == 2
    assert "--force is decided when the plan is made" in forced.output
    both = project.run("sync", "--apply", "--out", "again.json")
    assert both.exit_code == 2
    assert not (project.root / "again.json").exists()


def test_markdown_and_text_say_the_same_summary_as_json(project: SandboxProject) -> None:
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    project.sandbox.set_labels("octo/app", 1, [])  # a difference only to-tracker fixes
    document = sync_json(project)
    assert (
        document["summary"] == "1 phase change planned, 1 difference needs --direction to-tracker"
    )
    assert document["counts"]["planned"] == 1
    assert document["counts"]["skipped"] == 1
    markdown = project.ok("sync", "--format", "markdown").stdout
    text = project.ok("sync").stdout
    for output in (markdown, text):
        assert "Plan: 1 phase change planned, 1 difference needs --direction to-tracker." in output
        assert "This was a dry run: run `debussy sync --apply` to make these changes." in output


def test_a_write_the_tracker_cannot_make_is_refused_in_the_json_never_shown_as_done(
    project: SandboxProject,
) -> None:
    project.write_config(transitions={"in_progress": "Shipping"})  # no such Jira status
    project.sandbox.move_jira_issue("PROJ-1", "To Do")
    project.sandbox.clear_requests()
    result = project.run("sync", "--direction", "to-tracker", "--apply", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    [item] = [i for i in document["items"] if i["issues"] == ["PROJ-1"]]
    assert item["outcome"] == "refused"
    assert "no transition to 'Shipping'" in item["detail"]
    assert document["counts"]["refused"] == 1
    assert document["summary"].startswith("0 tracker writes applied, 1 refused")
    text = project.run("sync", "--direction", "to-tracker", "--apply")
    assert text.exit_code == 1
    assert "✗ refused" in text.stdout
    assert "already so" not in text.stdout


def test_a_plan_from_a_partial_read_is_shown_but_not_saved(project: SandboxProject) -> None:
    project.sandbox.inject(platform="jira", status=503, times=100)
    result = project.run("sync", "--out", "plan.json")
    assert result.exit_code == 1
    assert "Plan incomplete: Jira could not be read" in result.stdout
    assert "Nothing can be applied from an incomplete plan" in result.stdout
    assert "--apply" not in result.stdout, "no suggestion that would only be refused"
    assert result.stderr.startswith("Error: plan.json: plan not saved: not every issue could be")
    assert not (project.root / "plan.json").exists()
