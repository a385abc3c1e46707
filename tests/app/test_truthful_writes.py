"""Lifecycle events and ``sync --direction to-tracker`` report what really happened.

End to end through the loopback sandbox: a write whose answer does not confirm it
is never printed with ✓ and exits 1 naming the replay; nothing is sent after a
stop signal; the replay converges; a person's newer change of state survives an
event; Jira writes follow moved issues and read through a lagging search index;
a difference no transition can fix is planned as such (PRODUCT.md §5, §8, §9).
"""

from __future__ import annotations

import json
from typing import Any

from debussy.sandbox import SandboxTracker
from tests.clock import ManualClock
from tests.sandbox_project import SandboxProject, clean, labels, started


def mutation_requests(sandbox: SandboxTracker) -> list[Any]:
    return [r for r in sandbox.requests if r.kind == "graphql" and r.is_write]


def labelled_repository(project: SandboxProject) -> None:
    """The Debussy labels exist already, so the first mutation request is the writes'."""
    project.sandbox.add_issue("octo/app", 999, labels=["debussy:in-progress"])
    project.sandbox.set_labels("octo/app", 999, [])
    project.sandbox.add_issue("octo/lib", 999, labels=["debussy:in-progress"])
    project.sandbox.set_labels("octo/lib", 999, [])


def test_every_write_field_null_is_not_a_success(sandbox_project: SandboxProject) -> None:
    """`phase start 1` answered with every write field null: exit 1, no ✓, the replay named."""
    project = started(sandbox_project)
    labelled_repository(project)
    project.sandbox.inject_mutation_answer("null_fields")
    result = project.run("phase", "start", "1")
    assert result.exit_code == 1
    assert "✓ GH" not in result.stdout
    assert "✗ GH-10: set label debussy:in-progress: unconfirmed" in result.stdout
    assert "✓ PROJ-1" in result.stdout, "Jira's confirmed move is still a success"
    assert "unconfirmed" in result.stderr
    assert "debussy phase start 1" in result.stderr
    project.ok("phase", "start", "1")
    clean(project)


def test_lifecycle_json_lists_every_write_with_its_outcome(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    labelled_repository(project)
    project.sandbox.inject_mutation_answer("null_fields")
    result = project.run("phase", "start", "2", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    by_issue = {(r["issue"], r["action"]): r["outcome"] for r in document["results"]}
    assert by_issue[("GH-11", "set_label")] == "unconfirmed"
    assert by_issue[("PROJ-2", "transition")] == "applied", "Jira is not stopped by GitHub"
    assert document["complete"] is False
    assert document["replay"] == "debussy phase start 2"
    replay = json.loads(project.ok("phase", "start", "2", "--json").stdout)
    assert replay["complete"] is True
    assert {r["outcome"] for r in replay["results"]} <= {"applied", "already"}


def test_too_quickly_stops_a_large_push_and_the_replay_finishes_it(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    numbers = range(100, 222)
    for number in numbers:
        project.sandbox.add_issue("octo/app", number)
    project.write_plan(
        phases={
            "phase-1.md": "# Phase 1\n\n**GitHub Issues:** "
            + ", ".join(f"#{n}" for n in numbers)
            + "\n",
            "phase-2.md": "# Phase 2\n",
            "phase-3.md": "# Phase 3\n",
        }
    )
    started(project)
    project.sandbox.add_issue("octo/app", 999, labels=["debussy:in-progress"])
    project.sandbox.set_labels("octo/app", 999, [])
    project.sandbox.inject_mutation_answer("too_quickly", after=10)
    result = project.run("phase", "start", "1")
    assert result.exit_code == 1
    assert len(mutation_requests(project.sandbox)) == 1, "nothing after the refused request"
    assert "submitted too quickly" in result.stderr
    assert "debussy phase start 1" in result.stderr
    project.ok("phase", "start", "1")
    assert labels(project, "octo/app", 221) == ["debussy:in-progress"]
    clean(project)


def test_an_abuse_403_stops_github_writes_without_blaming_the_token(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    project.sandbox.inject_abuse_limit(writes_only=True)
    result = project.run("phase", "start", "2")
    assert result.exit_code == 1
    assert "abuse" in result.stderr
    assert "GITHUB_TOKEN" not in result.stderr
    assert "repo scope" not in result.stderr
    assert len(mutation_requests(project.sandbox)) == 1


def test_a_person_closed_issue_stays_closed_on_phase_start(
    clocked_project: SandboxProject, manual_clock: ManualClock
) -> None:
    """People win (PRODUCT.md §5): the label is set, the closed state is left, drift reported.

    The person's change and the event fall in the same second here, as they do on a
    fast machine (tests/app/test_person_holds.py covers seconds apart too).
    """
    project = started(clocked_project)
    manual_clock.advance(60.25)
    project.sandbox.close_issue("octo/app", 10, "not_planned")
    project.sandbox.move_jira_issue("PROJ-1", "Done", "Done")
    manual_clock.advance(0.5)
    result = project.run("phase", "start", "1")
    assert result.exit_code == 0, result.output
    issue = project.sandbox.github_issue("octo/app", 10)
    assert issue["state"] == "closed", "not reopened"
    assert issue["labels"] == ["debussy:in-progress"], "Debussy's label still set"
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "Done", "not moved back"
    assert "GH-10: left closed" in result.stderr
    assert "PROJ-1: left Done" in result.stderr
    assert project.sandbox.github_issue("octo/lib", 7)["labels"] == ["debussy:in-progress"]
    drift = project.run("status", "--issues", "--refresh", "--exit-code")
    assert drift.exit_code == 3, "the drift is reported, for sync to resolve"
    # to-tracker overrides on purpose, and says so in its plan first
    plan = project.ok("sync", "--direction", "to-tracker")
    assert "GH-10: reopen" in plan.stdout
    assert "overrides a person's newer change" in plan.stdout


def test_replaying_after_a_failed_write_still_converges(sandbox_project: SandboxProject) -> None:
    """Debussy's own failed write is not a person's change: the replay moves the issue."""
    project = started(sandbox_project)
    project.sandbox.inject(platform="jira", path="/PROJ-2/transitions", method="POST", status=503)
    assert project.run("phase", "start", "2").exit_code == 1
    project.ok("phase", "start", "2")
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"
    clean(project)


def test_to_tracker_plans_a_move_no_transition_reaches_as_cannot_fix(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    project.ok("phase", "start", "2")
    project.sandbox.move_jira_issue("PROJ-2", "Done", "Done")
    plan = project.run("sync", "--direction", "to-tracker", "--apply", "--json")
    document = json.loads(plan.stdout)
    assert plan.exit_code == 1
    assert "already so" not in plan.output
    [cannot] = [s for s in document["skipped"] if s["kind"] == "cannot_fix"]
    assert cannot["issues"] == ["PROJ-2"]
    assert "no transition to 'In Progress'" in cannot["detail"]
    assert not [r for r in document["results"] if r["issue"] == "PROJ-2"]
    text = project.run("sync", "--direction", "to-tracker")
    assert "PROJ-2: transition" not in text.stdout
    assert "no transition to 'In Progress'" in text.stdout


def test_jira_writes_follow_a_moved_issue(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.sandbox.move_jira_issue_to_project("PROJ-2", "CORE-7")
    result = project.run("phase", "start", "2")
    assert result.exit_code == 0, result.output
    assert project.sandbox.jira_issue("CORE-7")["status"] == "In Progress"
    assert result.stderr.count("moved to CORE-7") == 1, "said once"


def test_two_events_seconds_apart_read_through_a_lagging_index(
    sandbox_project: SandboxProject,
) -> None:
    """`phase start 2` then `phase done 2` on a search index that trails writes: the second
    event's write read reconciles PROJ-2, so it plans from In Progress, not the stale To Do."""
    project = started(sandbox_project)
    project.sandbox.jira_scene(search_lag=True)
    project.ok("phase", "start", "2")
    project.sandbox.clear_requests()
    result = project.run("phase", "done", "2")
    assert result.exit_code == 0, result.output
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "Done"
    searches = [r.json() for r in project.sandbox.requests if r.kind == "search"]
    assert searches[0].get("reconcileIssues"), "the write read reconciles recent moves"


def test_auto_close_closes_what_a_person_left_open_and_says_so(
    sandbox_project: SandboxProject,
) -> None:
    """Auto-close is the one event that changes state against a person's newer change."""
    project = started(sandbox_project, "--auto-close")
    for phase_id in ("1", "2"):
        project.ok("phase", "start", phase_id)
        project.ok("phase", "done", phase_id)
    project.ok("phase", "start", "3")
    project.backdate_phases()  # the person's close below comes after Debussy's last decision
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    held = project.ok("phase", "start", "3")
    assert "GH-12: left closed (not planned)" in held.stderr
    assert project.sandbox.github_issue("octo/app", 12)["state_reason"] == "not_planned"
    done = project.ok("phase", "done", "3")
    assert "GH-12: auto-close changes it although a person set it closed" in done.stderr
    issue = project.sandbox.github_issue("octo/app", 12)
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")


def test_a_502_on_a_mutation_stops_github_writes_and_the_replay_converges(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    labelled_repository(project)
    project.sandbox.inject(platform="github", status=502, writes_only=True, times=10)
    result = project.run("phase", "start", "1")
    assert result.exit_code == 1
    assert "unconfirmed: GitHub is unavailable (502)" in result.stderr
    assert len(mutation_requests(project.sandbox)) == 1, "not retried, nothing after it"
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "In Progress", "Jira unaffected"
    project.sandbox.clear_faults()
    project.ok("phase", "start", "1")
    clean(project)
