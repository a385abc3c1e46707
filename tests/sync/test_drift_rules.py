"""PRODUCT.md §7 as plain values: what each phase status expects and which drift each case is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from debussy.config import Config, JiraConfig
from debussy.issues import GitHubRef, IssueStatus
from debussy.state.records import LinkedIssue, PhaseRecord, RunRecord, Snapshot
from debussy.state.status import PhaseStatus
from debussy.sync.drift_detector import UNLINKED, DriftDetector, newer_side
from tests.sync.drift_helpers import detect_run_drift

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
CONFIG = Config(jira=JiraConfig(url="https://acme.atlassian.net"))
GH_KEY = ("github", "octo/app#12")
JIRA_KEY = ("jira", "PROJ-3")


def run_record(*, auto_close: bool = False) -> RunRecord:
    return RunRecord(
        "r1", "plans/MASTER_PLAN.md", "Checkout", "running", "t", None, auto_close, "octo/app"
    )


def phase(status: PhaseStatus, phase_id: str = "2") -> PhaseRecord:
    return PhaseRecord("r1", phase_id, "Payment", 1, status, None, "2026-11-27T09:00:00Z")


def gh(
    state: str = "open",
    reason: str | None = None,
    labels: tuple[str, ...] = (),
    changed: datetime | None = AFTER,
) -> IssueStatus:
    return IssueStatus(
        platform="github",
        id="octo/app#12",
        state=state,
        state_reason=reason,
        labels=labels,
        last_updated=changed,
        state_changed_at=changed if state == "closed" else None,
    )


def jira(
    name: str, category: str, resolution: str | None = None, changed: datetime = AFTER
) -> IssueStatus:
    return IssueStatus(
        platform="jira",
        id="PROJ-3",
        state=name,
        status_category=category,
        state_reason=resolution,
        last_updated=changed,
        state_changed_at=changed,
    )


def drift_of(
    status: PhaseStatus,
    issue: IssueStatus,
    *,
    auto_close: bool = False,
    snapshot: Snapshot | None = None,
    plan_level: bool = False,
) -> list[tuple[str, str]]:
    key = GH_KEY if issue.platform == "github" else JIRA_KEY
    link = LinkedIssue("r1", None if plan_level else "2", key[0], key[1], "X")
    reports = detect_run_drift(
        run_record(auto_close=auto_close),
        [phase(status)],
        [link],
        {key: issue},
        {key: snapshot} if snapshot else {},
        CONFIG,
    )
    return [(r.drift_type, r.newer) for r in reports]


IN_PROGRESS = ("debussy:in-progress",)
COMPLETED = ("debussy:completed",)


@pytest.mark.parametrize(
    ("status", "issue"),
    [
        ("pending", gh("open")),
        ("running", gh("open", labels=IN_PROGRESS)),
        ("validating", gh("open", labels=(*IN_PROGRESS, "bug"))),
        ("completed", gh("open", labels=COMPLETED)),
        ("completed", gh("closed", "completed", COMPLETED)),
        ("failed", gh("open", labels=("debussy:failed",))),
        ("blocked", gh("open", labels=("debussy:blocked",))),
        ("blocked", gh("closed", "not_planned", ("debussy:blocked",))),
        ("blocked", gh("closed", "duplicate", ("debussy:blocked",))),
    ],
)
def test_github_issues_matching_their_phase_show_no_drift(
    status: PhaseStatus, issue: IssueStatus
) -> None:
    assert drift_of(status, issue) == []


@pytest.mark.parametrize(
    ("status", "issue"),
    [
        ("pending", jira("To Do", "new")),
        ("running", jira("In Progress", "indeterminate")),
        ("completed", jira("Done", "done", "Done")),
        ("failed", jira("In Review", "indeterminate")),
        ("blocked", jira("To Do", "new")),
        ("blocked", jira("Won't Do", "done", "Won't Do")),
    ],
)
def test_jira_issues_matching_their_phase_show_no_drift(
    status: PhaseStatus, issue: IssueStatus
) -> None:
    assert drift_of(status, issue) == []


def test_closed_on_github_while_running_is_closed_externally() -> None:
    assert drift_of("running", gh("closed", "completed", IN_PROGRESS)) == [
        ("closed_externally", "tracker")
    ]


def test_closed_as_not_planned_while_running_carries_the_reason() -> None:
    link = LinkedIssue("r1", "2", "github", "octo/app#12", "GH-12")
    [report] = detect_run_drift(
        run_record(),
        [phase("running")],
        [link],
        {GH_KEY: gh("closed", "not_planned", IN_PROGRESS)},
        {},
        CONFIG,
    )
    assert report.drift_type == "closed_externally"
    assert report.state_reason == "not_planned"
    assert "not planned" in report.detail
    assert report.actual_state == "closed (not planned)"
    assert report.expected_state == "open, debussy:in-progress"


def test_jira_done_while_pending_is_closed_externally_with_the_resolution() -> None:
    assert drift_of("pending", jira("Done", "done", "Done")) == [("closed_externally", "tracker")]


def test_reopened_after_completion_is_reopened_externally_when_last_seen_closed() -> None:
    seen_closed = Snapshot(
        "github", "octo/app#12", "closed", "completed", None, COMPLETED, None, "t"
    )
    assert drift_of("completed", gh("open", labels=COMPLETED), snapshot=seen_closed) == [
        ("reopened_externally", "tracker")
    ]
    assert drift_of("completed", gh("open", labels=COMPLETED)) == [], "never seen closed"


def test_open_while_auto_close_expects_closed_is_reopened_externally() -> None:
    assert drift_of("completed", gh("open", labels=COMPLETED), auto_close=True) == [
        ("reopened_externally", "tracker")
    ]


def test_jira_back_in_progress_after_completion_is_reopened_externally() -> None:
    assert drift_of("completed", jira("In Progress", "indeterminate")) == [
        ("reopened_externally", "tracker")
    ]


def test_a_missing_label_is_label_mismatch() -> None:
    assert drift_of("running", gh("open", labels=("bug",))) == [("label_mismatch", "tracker")]
    assert drift_of("pending", gh("open", labels=COMPLETED)) == [("label_mismatch", "tracker")]


def test_two_debussy_labels_are_label_mismatch() -> None:
    assert drift_of("running", gh("open", labels=(*IN_PROGRESS, *COMPLETED))) == [
        ("label_mismatch", "tracker")
    ]


def test_jira_not_started_while_running_is_status_mismatch() -> None:
    assert drift_of("running", jira("To Do", "new")) == [("status_mismatch", "tracker")]


def test_closed_as_not_planned_after_completion_is_status_mismatch() -> None:
    assert drift_of("completed", gh("closed", "not_planned", COMPLETED)) == [
        ("status_mismatch", "tracker")
    ]


def test_a_missing_issue_is_reported_not_raised() -> None:
    missing = IssueStatus.missing_issue(GitHubRef("octo/app", 12))
    assert drift_of("running", missing) == [("missing", "unknown")]


def test_debussy_newer_when_the_phase_moved_after_the_tracker() -> None:
    assert drift_of("running", gh("closed", "completed", IN_PROGRESS, changed=BEFORE)) == [
        ("closed_externally", "debussy")
    ]


def test_newer_is_unknown_without_a_tracker_time() -> None:
    assert drift_of("running", gh("closed", "completed", IN_PROGRESS, changed=None)) == [
        ("closed_externally", "unknown")
    ]
    assert newer_side(T0, T0) == "unknown"
    assert newer_side(AFTER, T0) == "tracker"
    assert newer_side(BEFORE, T0) == "debussy"


def test_plan_level_issues_follow_the_run_aggregate() -> None:
    assert drift_of("running", gh("open", labels=IN_PROGRESS), plan_level=True) == []
    assert drift_of("completed", gh("open", labels=COMPLETED), plan_level=True) == []
    assert drift_of("failed", gh("open", labels=IN_PROGRESS), plan_level=True) == [
        ("label_mismatch", "tracker")
    ]


def test_an_untouched_phase_makes_the_tracker_newer_whatever_the_times() -> None:
    assert newer_side(BEFORE, None) == "tracker"
    assert newer_side(None, None) == "tracker"
    untouched = PhaseRecord("r1", "2", "Payment", 1, "pending", None, None)
    [report] = detect_run_drift(
        run_record(),
        [untouched],
        [LinkedIssue("r1", "2", "github", "octo/app#12", "GH-12")],
        {GH_KEY: gh("closed", "completed", changed=BEFORE)},
        {},
        CONFIG,
    )
    assert (report.drift_type, report.newer) == ("closed_externally", "tracker")


def test_plan_level_issues_are_untouched_until_some_phase_changes() -> None:
    phases = [
        PhaseRecord("r1", "1", "Cart", 0, "pending", None, None),
        PhaseRecord("r1", "2", "Payment", 1, "pending", None, None),
    ]
    link = LinkedIssue("r1", None, "github", "octo/app#12", "GH-12")
    [report] = detect_run_drift(
        run_record(), phases, [link], {GH_KEY: gh("closed", changed=BEFORE)}, {}, CONFIG
    )
    assert report.newer == "tracker"
    phases[1] = phase("running")  # changed at T0, after BEFORE: Debussy moved last
    [report, _labels] = detect_run_drift(
        run_record(), phases, [link], {GH_KEY: gh("closed", changed=BEFORE)}, {}, CONFIG
    )
    assert (report.drift_type, report.newer) == ("closed_externally", "debussy")


def test_an_unlinked_issue_drifts_only_while_it_carries_a_debussy_label() -> None:
    gone = LinkedIssue("r1", "2", "github", "octo/app#12", "GH-12")
    jira_gone = LinkedIssue("r1", "2", "jira", "PROJ-3", "PROJ-3")
    detector = DriftDetector(
        run_record(), [phase("running")], [], CONFIG, unlinked=[gone, jira_gone]
    )
    assert detector.issues_to_read == [gone], "Jira never carries a Debussy label"
    labelled = {GH_KEY: gh("closed", "completed", (*IN_PROGRESS, "bug"))}
    [judgement] = detector.judge(labelled)
    assert judgement.unlinked
    assert [(d.type, d.newer) for d in judgement.drifts] == [("unlinked", "debussy")]
    assert judgement.expected == UNLINKED
    assert UNLINKED.allows("closed", "not_planned")
    assert UNLINKED.label is None
    assert detector.judge({GH_KEY: gh("open", labels=("bug",))}) == []
    assert detector.cleared({GH_KEY: gh("open", labels=("bug",))}) == [GH_KEY]
    assert detector.cleared(labelled) == []
