"""Who moved last, with plain values: whole seconds everywhere, and a person's held state.

A lifecycle event that leaves a person's state alone is recorded after that
change; the hold it records keeps the person's the newer decision while the issue
still shows it, whatever the two times and wherever in a second they fell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from debussy.config import Config, JiraConfig
from debussy.issues import GitHubRef, IssueStatus
from debussy.state.records import Hold, LinkedIssue, PhaseRecord, RunRecord
from debussy.sync.drift_detector import DriftDetector
from debussy.sync.expected import github_expectation, newer_side, still_held
from debussy.sync.trackers.writes import IssueView
from debussy.sync.writes import ConvergeTarget, writes_for_target

CONFIG = Config(jira=JiraConfig(url="https://acme.atlassian.net"))
EVENT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
"""When the lifecycle event was recorded (Debussy keeps whole seconds)."""
PERSON = EVENT - timedelta(seconds=30)
GH_KEY = ("github", "octo/app#12")
JIRA_KEY = ("jira", "PROJ-3")


def closed_by_person(at: datetime = PERSON, reason: str = "not_planned") -> IssueStatus:
    return IssueStatus(
        platform="github",
        id="octo/app#12",
        state="closed",
        state_reason=reason,
        labels=("debussy:in-progress",),
        last_updated=EVENT + timedelta(milliseconds=400),  # Debussy's label came after
        state_changed_at=at,
    )


def done_by_person(at: datetime = PERSON, name: str = "Done") -> IssueStatus:
    return IssueStatus(
        platform="jira",
        id="PROJ-3",
        state=name,
        status_category="done",
        state_reason="Done",
        last_updated=at,
        state_changed_at=at,
    )


def hold_of(status: IssueStatus) -> Hold:
    key = GH_KEY if status.platform == "github" else JIRA_KEY
    changed = status.state_changed_at
    return Hold(
        "r1",
        key[0],
        key[1],
        status.state,
        status.state_reason,
        status.status_category,
        changed.isoformat() if changed else None,
    )


def test_newer_compares_whole_seconds_and_equal_is_unknown() -> None:
    same_second = EVENT + timedelta(milliseconds=250)
    assert newer_side(same_second, EVENT) == "unknown", "Jira's milliseconds do not decide"
    assert newer_side(EVENT, same_second) == "unknown"
    assert newer_side(EVENT + timedelta(milliseconds=1001), EVENT) == "tracker"
    assert newer_side(EVENT - timedelta(milliseconds=1), EVENT) == "debussy"
    assert newer_side(None, EVENT) == "unknown"


def test_a_held_state_is_the_tracker_s_newer_decision_whatever_the_times() -> None:
    assert newer_side(PERSON, EVENT, held=True) == "tracker"
    assert newer_side(EVENT, EVENT, held=True) == "tracker"
    assert newer_side(None, EVENT, held=True) == "tracker"


def test_a_hold_lasts_while_the_issue_shows_the_same_state() -> None:
    closed = closed_by_person()
    assert still_held(hold_of(closed), closed)
    assert still_held(hold_of(closed), closed_by_person(PERSON + timedelta(milliseconds=300)))
    done = done_by_person()
    assert still_held(hold_of(done), done)
    assert not still_held(None, closed)


def test_a_hold_ends_when_the_state_changes_again_on_the_tracker() -> None:
    hold = hold_of(closed_by_person())
    reopened = IssueStatus(platform="github", id="octo/app#12", state="open")
    assert not still_held(hold, reopened)
    assert not still_held(hold, closed_by_person(reason="duplicate"))
    assert not still_held(hold, closed_by_person(EVENT + timedelta(seconds=60))), "closed again"
    assert not still_held(hold, IssueStatus(platform="github", id="octo/app#12", missing=True))
    jira_hold = hold_of(done_by_person())
    assert not still_held(jira_hold, done_by_person(name="Closed"))
    moved_back = IssueStatus(
        platform="jira", id="PROJ-3", state="Done", status_category="indeterminate"
    )
    assert not still_held(jira_hold, moved_back)


def drift(status: IssueStatus, *, held: bool) -> list[tuple[str, str]]:
    key = GH_KEY if status.platform == "github" else JIRA_KEY
    run = RunRecord("r1", "plans/MASTER_PLAN.md", "Checkout", "running", "t", None, False, None)
    phase = PhaseRecord("r1", "2", "Payment", 1, "running", None, "2026-11-27T09:00:00Z")
    link = LinkedIssue("r1", "2", key[0], key[1], "X")
    holds = {key: hold_of(status)} if held else {}
    detector = DriftDetector(run, [phase], [link], CONFIG, holds=holds)
    return [(r.drift_type, r.newer) for r in detector.reports({key: status})]


def test_held_issues_drift_newer_tracker_and_labels_still_go_by_time() -> None:
    closed = closed_by_person()
    assert drift(closed, held=False) == [("closed_externally", "debussy")]
    assert drift(closed, held=True) == [("closed_externally", "tracker")]
    unlabelled = IssueStatus(
        platform="github",
        id="octo/app#12",
        state="closed",
        state_reason="not_planned",
        last_updated=PERSON,
        state_changed_at=PERSON,
    )
    assert drift(unlabelled, held=True) == [
        ("closed_externally", "tracker"),
        ("label_mismatch", "debussy"),
    ], "a hold is about state, not Debussy's label"
    assert drift(done_by_person(), held=False) == [("closed_externally", "debussy")]
    assert drift(done_by_person(), held=True) == [("closed_externally", "tracker")]


def test_a_later_event_leaves_a_held_issue_as_the_person_set_it() -> None:
    """Debussy decided after the person, yet the hold keeps the person's state."""
    closed = closed_by_person()
    running = github_expectation("running", CONFIG.github, auto_close=False)

    def target(hold: Hold | None) -> ConvergeTarget:
        return ConvergeTarget(
            GitHubRef("octo/app", 12),
            "GH-12",
            "2",
            running,
            "phase 2 is running",
            previous=running,
            decided_at=EVENT,
            hold=hold,
        )

    writes, note = writes_for_target(target(None), IssueView(closed), CONFIG)
    assert [w.action for w in writes] == ["reopen"], "no hold: Debussy's later decision"
    writes, note = writes_for_target(target(hold_of(closed)), IssueView(closed), CONFIG)
    assert writes == []
    assert note is not None
    assert note.held == closed
    assert "left closed (not planned)" in note.detail
