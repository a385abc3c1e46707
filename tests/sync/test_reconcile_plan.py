"""PRODUCT.md §8's rules as plain values: which drift becomes which action, in both directions."""

from __future__ import annotations

from datetime import UTC, datetime

from debussy.config import Config, JiraConfig
from debussy.issues import IssueStatus
from debussy.state.records import IssueKey, LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import PhaseStatus
from debussy.sync.drift_detector import DriftDetector
from debussy.sync.reconcile import SyncPlan, plan_from_tracker, plan_to_tracker
from tests.sync.drift_helpers import detect_run_drift

CONFIG = Config(jira=JiraConfig(url="https://acme.atlassian.net"))
AFTER = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
RUN = RunRecord("r1", "plans/MASTER_PLAN.md", "Checkout", "running", "t", None, False, "octo/app")


def phases(*statuses: PhaseStatus) -> list[PhaseRecord]:
    return [
        PhaseRecord("r1", str(n), f"Phase {n}", n, status, None, "2026-11-27T09:00:00Z")
        for n, status in enumerate(statuses, start=1)
    ]


def link(number: int, phase_id: str | None) -> LinkedIssue:
    return LinkedIssue("r1", phase_id, "github", f"octo/app#{number}", f"GH-{number}")


def gh(
    number: int,
    state: str = "open",
    reason: str | None = None,
    labels: tuple[str, ...] = (),
    when: datetime = AFTER,
) -> IssueStatus:
    return IssueStatus(
        platform="github",
        id=f"octo/app#{number}",
        state=state,
        state_reason=reason,
        labels=labels,
        last_updated=when,
        state_changed_at=when if state == "closed" else None,
    )


def jira(key: str, name: str, category: str, resolution: str | None = None) -> IssueStatus:
    return IssueStatus(
        platform="jira",
        id=key,
        state=name,
        status_category=category,
        state_reason=resolution,
        last_updated=AFTER,
        state_changed_at=AFTER,
    )


def from_tracker(
    phase_list: list[PhaseRecord],
    links: list[LinkedIssue],
    statuses: list[IssueStatus],
    *,
    force: bool = False,
) -> SyncPlan:
    by_key: dict[IssueKey, IssueStatus] = {(s.platform, s.id): s for s in statuses}
    drift = detect_run_drift(RUN, phase_list, links, by_key, {}, CONFIG)
    return plan_from_tracker(RUN, phase_list, links, by_key, drift, force=force)


def changes(plan: SyncPlan) -> list[tuple[str, str, str]]:
    return [(a.phase_id, a.from_status, a.to_status) for a in plan.phase_actions]


RUNNING = ("debussy:in-progress",)


def test_an_issue_closed_as_completed_completes_its_phase() -> None:
    plan = from_tracker(phases("running"), [link(1, "1")], [gh(1, "closed", "completed", RUNNING)])
    assert changes(plan) == [("1", "running", "completed")]
    assert plan.phase_actions[0].issues == ("GH-1",)
    assert "closed as completed" in plan.phase_actions[0].why


def test_a_phase_with_several_issues_completes_only_when_all_are_closed() -> None:
    links = [link(1, "1"), link(2, "1")]
    partial = from_tracker(
        phases("running"), links, [gh(1, "closed", "completed", RUNNING), gh(2, labels=RUNNING)]
    )
    assert changes(partial) == []
    assert [(s.kind, s.phase_id) for s in partial.skipped] == [("waiting", "1")]
    complete = from_tracker(
        phases("running"),
        links,
        [gh(1, "closed", "completed", RUNNING), gh(2, "closed", "completed", RUNNING)],
    )
    assert changes(complete) == [("1", "running", "completed")]


def test_not_planned_or_duplicate_blocks_the_phase_with_that_reason() -> None:
    plan = from_tracker(
        phases("pending", "running"),
        [link(1, "1"), link(2, "2")],
        [gh(1, "closed", "not_planned"), gh(2, "closed", "duplicate", RUNNING)],
    )
    assert changes(plan) == [("1", "pending", "blocked"), ("2", "running", "blocked")]
    assert plan.phase_actions[0].reason == "GH-1 closed as not planned"
    assert plan.phase_actions[1].reason == "GH-2 closed as duplicate"


def test_jira_wont_do_blocks_and_done_completes() -> None:
    links = [
        LinkedIssue("r1", "1", "jira", "PROJ-1", "PROJ-1"),
        LinkedIssue("r1", "2", "jira", "PROJ-2", "PROJ-2"),
    ]
    plan = from_tracker(
        phases("running", "running"),
        links,
        [jira("PROJ-1", "Won't Do", "done", "Won't Do"), jira("PROJ-2", "Done", "done", "Done")],
    )
    assert changes(plan) == [("1", "running", "blocked"), ("2", "running", "completed")]


def test_a_reopened_issue_sets_its_completed_phase_pending() -> None:
    run = RunRecord("r1", "p", "Checkout", "running", "t", None, True, "octo/app")
    phase_list = phases("completed")
    links = [link(1, "1")]
    by_key: dict[IssueKey, IssueStatus] = {
        ("github", "octo/app#1"): gh(1, labels=("debussy:completed",))
    }
    drift = detect_run_drift(run, phase_list, links, by_key, {}, CONFIG)
    plan = plan_from_tracker(run, phase_list, links, by_key, drift)
    assert changes(plan) == [("1", "completed", "pending")]


def test_plan_level_issues_closed_complete_the_remaining_phases() -> None:
    plan = from_tracker(
        phases("completed", "running", "pending"),
        [link(1, None), link(2, "2")],
        [gh(1, "closed", "completed", RUNNING), gh(2, labels=RUNNING)],
    )
    assert changes(plan) == [("2", "running", "completed"), ("3", "pending", "completed")]


def test_label_and_status_differences_change_nothing_but_are_listed() -> None:
    plan = from_tracker(phases("running"), [link(1, "1")], [gh(1, labels=())])
    assert changes(plan) == []
    assert [s.kind for s in plan.skipped] == ["needs_to_tracker"]
    assert "to-tracker" in plan.skipped[0].detail


def test_debussy_newer_is_a_conflict_unless_forced() -> None:
    stale_close = gh(1, "closed", "completed", RUNNING, when=BEFORE)
    plan = from_tracker(phases("running"), [link(1, "1")], [stale_close])
    assert changes(plan) == []
    [conflict] = [s for s in plan.skipped if s.kind == "conflict"]
    assert conflict.action is not None
    assert conflict.action.to_status == "completed"
    forced = from_tracker(phases("running"), [link(1, "1")], [stale_close], force=True)
    assert changes(forced) == [("1", "running", "completed")]


def test_missing_issues_are_reported_and_never_acted_on() -> None:
    from debussy.issues import GitHubRef

    plan = from_tracker(
        phases("running"), [link(1, "1")], [IssueStatus.missing_issue(GitHubRef("octo/app", 1))]
    )
    assert changes(plan) == []
    assert [s.kind for s in plan.skipped] == ["missing"]


def test_no_drift_no_plan() -> None:
    plan = from_tracker(phases("running"), [link(1, "1")], [gh(1, labels=RUNNING)])
    assert plan.empty
    assert plan.skipped == []


def to_tracker(
    phase_list: list[PhaseRecord], links: list[LinkedIssue], statuses: list[IssueStatus]
) -> SyncPlan:
    by_key: dict[IssueKey, IssueStatus] = {(s.platform, s.id): s for s in statuses}
    detector = DriftDetector(RUN, phase_list, links, CONFIG)
    return plan_to_tracker(detector, by_key, detector.reports(by_key))


def writes(plan: SyncPlan) -> list[str]:
    return [w.describe() for w in plan.writes]


def test_to_tracker_fixes_labels_and_reopens() -> None:
    plan = to_tracker(
        phases("running", "pending"),
        [link(1, "1"), link(2, "2")],
        [gh(1, labels=("bug",)), gh(2, "closed", "completed", ("debussy:completed",))],
    )
    assert writes(plan) == [
        "GH-1: set label debussy:in-progress",
        "GH-2: remove Debussy labels (debussy:completed)",
        "GH-2: reopen",
    ]


def test_to_tracker_recloses_a_completed_phase_closed_for_the_wrong_reason() -> None:
    plan = to_tracker(
        phases("completed"),
        [link(1, "1")],
        [gh(1, "closed", "not_planned", ("debussy:completed",))],
    )
    # GitHub ignores a new reason on a closed issue: reopen, then close with the right one
    assert writes(plan) == ["GH-1: reopen", "GH-1: close as completed"]


def test_to_tracker_transitions_jira_or_says_why_it_cannot() -> None:
    links = [
        LinkedIssue("r1", "1", "jira", "PROJ-1", "PROJ-1"),
        LinkedIssue("r1", "2", "jira", "PROJ-2", "PROJ-2"),
    ]
    plan = to_tracker(
        phases("running", "failed"),
        links,
        [jira("PROJ-1", "To Do", "new"), jira("PROJ-2", "Done", "done", "Done")],
    )
    assert writes(plan) == ["PROJ-1: transition to 'In Progress'"]
    [note] = plan.skipped
    assert (note.kind, note.issues) == ("cannot_fix", ("PROJ-2",))
    assert "no transition is configured" in note.detail
    assert "set jira.transitions.failed in .debussy/config.yaml" in note.detail, "names the key"


def test_to_tracker_does_nothing_when_nothing_drifts() -> None:
    plan = to_tracker(phases("running"), [link(1, "1")], [gh(1, labels=RUNNING)])
    assert plan.empty
