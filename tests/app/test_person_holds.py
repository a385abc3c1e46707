"""A person's decision an event left alone stays theirs, whatever second things fell in.

End to end through the loopback sandbox, with one hand-moved clock for the
trackers and the state database (no wall clock): a person closes an issue and
moves a Jira issue to Done, then ``phase start`` leaves both (PRODUCT.md §5) and
records the hold. The drift then says the tracker is newer, so ``sync`` from the
trackers applies it without ``--force`` and ``to-tracker`` marks its override;
``to-tracker --apply`` ends the hold, after which events converge as usual. The
person's change and the event in the same second or seconds apart answer alike.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from tests.clock import ManualClock
from tests.sandbox_project import SandboxProject

ORDERINGS = {
    "same second": 0.5,
    "seconds apart": 5.0,
}
"""How long after the person's change (at .250 s, Jira keeps the milliseconds) the event runs."""


@pytest.fixture
def project(clocked_project: SandboxProject, manual_clock: ManualClock) -> SandboxProject:
    """A started run; the sandbox and the state database share ``manual_clock``."""
    manual_clock.advance(60)
    clocked_project.ok("start", "plans/MASTER_PLAN.md")
    return clocked_project


@pytest.fixture
def clock(manual_clock: ManualClock) -> ManualClock:
    return manual_clock


def held_event(
    project: SandboxProject, clock: ManualClock, gap: float, *, jira: bool = True
) -> None:
    """A person closes GH-10 (and finishes PROJ-1); ``gap`` seconds later, ``phase start 1``."""
    clock.advance(60.25)
    project.sandbox.close_issue("octo/app", 10, "not_planned")
    if jira:
        project.sandbox.move_jira_issue("PROJ-1", "Done", "Done")
    clock.advance(gap)
    result = project.run("phase", "start", "1")
    assert result.exit_code == 0, result.output
    assert "GH-10: left closed" in result.stderr
    assert ("PROJ-1: left Done" in result.stderr) is jira
    clock.advance(60)


def state_drift(project: SandboxProject) -> dict[str, set[str]]:
    """Each issue's ``newer`` answers for its state drift (labels aside)."""
    document = project.issues_json("--refresh")
    newer: dict[str, set[str]] = {}
    for issue in document["issues"]:
        for drift in issue.get("drift", []):
            if drift["type"] != "label_mismatch":
                newer.setdefault(issue["key"], set()).add(drift["newer"])
    return newer


def holds(project: SandboxProject) -> list[tuple[str, str]]:
    with sqlite3.connect(project.root / ".debussy" / "state.db") as conn:
        return sorted(conn.execute("SELECT platform, ref FROM person_holds").fetchall())


def sync_json(project: SandboxProject, *args: str) -> dict[str, Any]:
    result = project.run("sync", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("gap", ORDERINGS.values(), ids=list(ORDERINGS))
def test_a_held_issue_drifts_newer_tracker_however_close_the_event(
    project: SandboxProject, clock: ManualClock, gap: float
) -> None:
    held_event(project, clock, gap)
    assert holds(project) == [("github", "octo/app#10"), ("jira", "PROJ-1")]
    assert state_drift(project) == {"GH-10": {"tracker"}, "PROJ-1": {"tracker"}}
    plan = project.ok("sync", "--direction", "to-tracker")
    assert "GH-10: reopen\n      why: phase 1 is running; overrides a person's newer change" in (
        plan.stdout
    )
    # the sandbox's workflow has no way from Done to In Progress: planned as such
    assert "PROJ-1: no transition to 'In Progress' from Done" in plan.stdout


@pytest.mark.parametrize("gap", ORDERINGS.values(), ids=list(ORDERINGS))
def test_from_tracker_applies_a_held_decision_without_force(
    project: SandboxProject, clock: ManualClock, gap: float
) -> None:
    held_event(project, clock, gap)
    applied = sync_json(project, "--direction", "from-tracker", "--apply")
    assert not [s for s in applied["skipped"] if s["kind"] == "conflict"], applied["skipped"]
    assert project.phase_statuses()["1"] == "blocked", "GH-10 was closed as not planned"


def test_a_replayed_event_keeps_the_person_s_state(
    project: SandboxProject, clock: ManualClock
) -> None:
    """The replay comes after the first event, so only the hold knows whose state it is."""
    held_event(project, clock, ORDERINGS["seconds apart"])
    replay = project.run("phase", "start", "1")
    assert replay.exit_code == 0, replay.output
    assert project.sandbox.github_issue("octo/app", 10)["state"] == "closed"
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "Done"
    assert holds(project) == [("github", "octo/app#10"), ("jira", "PROJ-1")]


def test_to_tracker_apply_ends_the_hold_and_events_converge_again(
    project: SandboxProject, clock: ManualClock
) -> None:
    held_event(project, clock, ORDERINGS["same second"], jira=False)
    assert holds(project) == [("github", "octo/app#10")]
    project.ok("sync", "--direction", "to-tracker", "--apply")
    assert project.sandbox.github_issue("octo/app", 10)["state"] == "open"
    assert holds(project) == [], "Debussy changed the issue's state itself"
    assert state_drift(project) == {}
    clock.advance(60)
    project.ok("phase", "block", "1", "--reason", "waiting on legal")
    assert project.sandbox.github_issue("octo/app", 10)["state"] == "open"
    assert "debussy:blocked" in project.sandbox.github_issue("octo/app", 10)["labels"]
    assert holds(project) == []
    assert project.run("status", "--issues", "--refresh", "--exit-code").exit_code == 0


def test_a_new_state_on_the_tracker_ends_the_hold(
    project: SandboxProject, clock: ManualClock
) -> None:
    """Closed again later: held anew, at its new time; open as Debussy expects: the hold goes."""
    held_event(project, clock, ORDERINGS["seconds apart"])
    project.sandbox.reopen_issue("octo/app", 10)
    clock.advance(60)
    project.sandbox.close_issue("octo/app", 10, "not_planned")
    clock.advance(60)
    project.ok("phase", "start", "1")
    assert project.sandbox.github_issue("octo/app", 10)["state"] == "closed"
    assert ("github", "octo/app#10") in holds(project), "a person's newer change, held anew"
    project.sandbox.reopen_issue("octo/app", 10)
    clock.advance(60)
    project.ok("phase", "start", "1")
    assert ("github", "octo/app#10") not in holds(project), "open again, as Debussy expects"


def test_a_dry_run_holds_nothing(project: SandboxProject, clock: ManualClock) -> None:
    """``--dry-run-sync`` sends nothing, so it leaves nothing as anyone set it."""
    clock.advance(60.25)
    project.sandbox.close_issue("octo/app", 10, "not_planned")
    clock.advance(5)
    result = project.run("phase", "start", "1", "--dry-run-sync")
    assert result.exit_code == 0, result.output
    assert "GH-10: left closed" in result.stderr
    assert holds(project) == []
