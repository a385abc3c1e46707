"""Issue 23's rules with plain values: pull request drift, markers, sub-issue writes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from debussy.config import Config
from debussy.issues import GitHubRef, IssueStatus
from debussy.state.records import LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import PhaseStatus
from debussy.sync.drift_detector import LinkedContext, describe_actual, pull_request_drift
from debussy.sync.expected import github_expectation
from debussy.sync.reconcile import plan_from_tracker
from debussy.sync.trackers.markers import hidden_marker, marker_id, markers_in, plain_marker
from debussy.sync.trackers.writes import IssueView
from debussy.sync.writes import MAX_SUB_ISSUES, ConvergeTarget, plan_writes
from tests.sync.drift_helpers import detect_run_drift

CONFIG = Config()
PARENT = GitHubRef("octo/app", 1)
RUNNING = github_expectation("running", CONFIG.github, auto_close=False)
CLOSES = github_expectation("completed", CONFIG.github, auto_close=True)
RUN = RunRecord(
    id="r1",
    plan_path="plans/MASTER_PLAN.md",
    plan_title="Plan",
    status="running",
    started_at="2026-12-01T00:00:00Z",
    completed_at=None,
    auto_close=False,
    github_repo="octo/app",
)


def pull(state: str) -> IssueStatus:
    reason = {"merged": "completed", "closed": "not_planned"}.get(state)
    return IssueStatus(
        platform="github", id="octo/app#20", kind="pr", state=state, state_reason=reason
    )


def context(status: PhaseStatus) -> LinkedContext:
    link = LinkedIssue("r1", "1", "github", "octo/app#20", "GH-20")
    return LinkedContext(link, status, None)


# --- pull requests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "state", "drift"),
    [
        ("completed", "merged", []),
        ("completed", "open", ["pr_not_merged"]),
        ("completed", "draft", ["pr_not_merged"]),
        ("completed", "closed", ["pr_not_merged"]),
        ("running", "merged", ["pr_merged"]),
        ("pending", "merged", ["pr_merged"]),
        ("running", "open", []),
        ("running", "draft", []),
        ("running", "closed", ["closed_externally"]),
        ("blocked", "closed", []),
    ],
)
def test_a_pull_request_is_judged_by_merged_against_its_phase(
    phase: PhaseStatus, state: str, drift: list[str]
) -> None:
    assert [d.type for d in pull_request_drift(context(phase), pull(state))] == drift


def test_a_pull_request_is_never_missing_and_shows_its_kind() -> None:
    assert describe_actual(pull("merged")) == "merged (pull request)"
    assert not pull("closed").missing
    assert pull("merged").is_closed


def test_from_tracker_completes_on_merged_and_blocks_on_closed_unmerged() -> None:
    phases = [
        PhaseRecord("r1", "1", "Merged", 0, "running", None, None),
        PhaseRecord("r1", "2", "Abandoned", 1, "running", None, None),
    ]
    links = [
        LinkedIssue("r1", "1", "github", "octo/app#20", "GH-20"),
        LinkedIssue("r1", "2", "github", "octo/app#21", "GH-21"),
    ]
    statuses = {
        ("github", "octo/app#20"): pull("merged"),
        ("github", "octo/app#21"): replace(pull("closed"), id="octo/app#21"),
    }
    drift = detect_run_drift(RUN, phases, links, statuses, {}, CONFIG)
    plan = plan_from_tracker(RUN, phases, links, statuses, drift)

    actions = {a.phase_id: (a.to_status, a.why) for a in plan.phase_actions}
    assert actions["1"] == ("completed", "GH-20 is merged")
    assert actions["2"][0] == "blocked"
    assert "closed without merging" in actions["2"][1]


# --- markers ----------------------------------------------------------------------------------


def test_markers_are_found_hidden_or_plain_and_labels_are_not_markers() -> None:
    identity = marker_id("r1", "2 a/b", "failed@2026-12-01T00:00:00+00:00#abcd1234")
    assert "/" not in identity.split("/", 1)[0]
    text = f"Debussy: debussy:completed label\n\n{hidden_marker(identity)}"
    assert markers_in(text) == {identity}
    assert markers_in(f"a line\n{plain_marker(identity)}") == {identity}
    assert markers_in("labels debussy:in-progress, debussy:failed") == frozenset()


def event_target(**changes: object) -> ConvergeTarget:
    base = ConvergeTarget(
        GitHubRef("octo/app", 11),
        "GH-11",
        "2",
        RUNNING,
        "phase 2 is running",
        comment="Reason: tests red",
        comment_marker="r1/2/failed@t#1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def issue(number: int, **changes: object) -> IssueView:
    status = IssueStatus(
        platform="github",
        id=f"octo/app#{number}",
        state="open",
        labels=("debussy:in-progress",),
    )
    return IssueView(replace(status, **changes), markers=frozenset())  # type: ignore[arg-type]


def test_an_event_comment_is_planned_only_while_its_marker_is_absent() -> None:
    ref = GitHubRef("octo/app", 11)
    [write] = plan_writes([event_target()], {ref: issue(11)}, CONFIG).writes
    assert write.action == "comment"
    assert write.value is not None
    assert write.value.endswith(hidden_marker("r1/2/failed@t#1"))
    seen = replace(issue(11), markers=frozenset({"r1/2/failed@t#1"}))
    assert plan_writes([event_target()], {ref: seen}, CONFIG).writes == []


def test_the_comment_lists_the_phase_pull_requests_with_their_state() -> None:
    ref, pr = GitHubRef("octo/app", 11), GitHubRef("octo/app", 21)
    pr_target = replace(event_target(), ref=pr, display_key="GH-21")
    views = {ref: issue(11), pr: IssueView(replace(pull("merged"), id=pr.canonical))}
    writes = plan_writes([event_target(), pr_target], views, CONFIG).writes
    assert [w.display_key for w in writes] == ["GH-11"], "a pull request is never written"
    assert "Pull requests: GH-21 (merged)" in (writes[0].value or "")


def test_a_lost_auto_close_comment_is_posted_after_the_close() -> None:
    ref = GitHubRef("octo/app", 11)
    closing = replace(
        event_target(comment=None, comment_marker=None),
        expectation=CLOSES,
        close_comment="the plan completed",
        close_marker="r1/-/auto-close",
    )
    closed = issue(11, state="closed", state_reason="completed", labels=("debussy:completed",))
    [write] = plan_writes([closing], {ref: closed}, CONFIG).writes
    assert write.action == "comment"
    assert (write.value or "").startswith("Debussy: the plan completed"), "no 'Closed by' claim"
    done = replace(closed, markers=frozenset({"r1/-/auto-close"}))
    assert plan_writes([closing], {ref: done}, CONFIG).writes == []


# --- sub-issues -------------------------------------------------------------------------------


def child(number: int, **changes: object) -> ConvergeTarget:
    base = event_target(comment=None, comment_marker=None)
    return replace(
        base,
        ref=GitHubRef("octo/app", number),
        display_key=f"GH-{number}",
        parent=PARENT,
        parent_key="GH-1",
        **changes,
    )  # type: ignore[arg-type]


def plan_issue() -> ConvergeTarget:
    return replace(event_target(comment=None, comment_marker=None), ref=PARENT, phase_id=None)


def test_a_missing_link_is_added_and_a_converged_one_sends_nothing() -> None:
    views = {PARENT: issue(1), GitHubRef("octo/app", 2): issue(2)}
    [write] = plan_writes([plan_issue(), child(2)], views, CONFIG).writes
    assert write.describe() == "GH-2: make sub-issue of GH-1"
    views[GitHubRef("octo/app", 2)] = issue(2, parent=PARENT.canonical)
    assert plan_writes([plan_issue(), child(2)], views, CONFIG).writes == []


def test_an_issue_under_another_parent_stays_and_is_noted() -> None:
    views = {PARENT: issue(1), GitHubRef("octo/app", 2): issue(2, parent="octo/app#50")}
    plan = plan_writes([plan_issue(), child(2)], views, CONFIG)
    assert plan.writes == []
    [note] = plan.notes
    assert "octo/app#50" in note.detail
    assert not note.failed


def test_more_than_a_hundred_sub_issues_are_refused_before_sending() -> None:
    views = {PARENT: issue(1, sub_issues=(0, MAX_SUB_ISSUES - 1))}
    targets = [plan_issue()]
    for number in (2, 3):
        views[GitHubRef("octo/app", number)] = issue(number)
        targets.append(child(number))
    plan = plan_writes(targets, views, CONFIG)
    assert [w.display_key for w in plan.writes] == ["GH-2"]
    [note] = plan.notes
    assert note.failed
    assert "at most 100 sub-issues per parent" in note.detail


def test_a_cycle_is_refused_before_sending() -> None:
    views = {PARENT: issue(1, parent="octo/app#2"), GitHubRef("octo/app", 2): issue(2)}
    plan = plan_writes([plan_issue(), child(2)], views, CONFIG)
    assert plan.writes == []
    assert "cycles" in plan.notes[0].detail
