"""The convergence rules with plain values: from an issue and its expectation to the fewest writes."""

from __future__ import annotations

from debussy.config import Config
from debussy.issues import GitHubRef, IssueStatus, JiraRef
from debussy.sync.expected import (
    ANY_CATEGORY,
    GitHubExpectation,
    github_expectation,
    jira_expectation,
)
from debussy.sync.trackers.writes import IssueView, OfferedTransition, TrackerWrite
from debussy.sync.writes import ConvergeTarget, plan_writes, writes_for_target

CONFIG = Config()
GH = GitHubRef("octo/app", 1)
PROJ = JiraRef("PROJ-1")
IN_PROGRESS = github_expectation("running", CONFIG.github, auto_close=False)
CLOSES = github_expectation("completed", CONFIG.github, auto_close=True)
UNLINKED = GitHubExpectation(frozenset({"open", "closed"}), None, None)
"""What issue #14's ``unlinked`` needs: drop Debussy labels, touch nothing else."""


def gh(state: str = "open", reason: str | None = None, labels: tuple[str, ...] = ()) -> IssueView:
    return IssueView(
        IssueStatus(
            platform="github", id=GH.canonical, state=state, state_reason=reason, labels=labels
        )
    )


def target(expectation: GitHubExpectation, comment: str | None = None) -> ConvergeTarget:
    return ConvergeTarget(GH, "GH-1", "1", expectation, "phase 1", close_comment=comment)


def described(writes: list[TrackerWrite]) -> list[str]:
    return [write.describe() for write in writes]


def test_a_matching_issue_needs_nothing() -> None:
    writes, note = writes_for_target(
        target(IN_PROGRESS), gh(labels=("bug", "debussy:in-progress")), CONFIG
    )
    assert (writes, note) == ([], None)


def test_labels_are_added_and_removed_one_by_one_never_replaced() -> None:
    [write] = writes_for_target(
        target(IN_PROGRESS), gh(labels=("bug", "debussy:failed", "Debussy:Blocked")), CONFIG
    )[0]
    assert write.add == ("debussy:in-progress",)
    assert write.remove == ("debussy:failed", "Debussy:Blocked"), "bug is not touched"


def test_the_right_label_in_another_case_is_kept() -> None:
    writes, _ = writes_for_target(target(IN_PROGRESS), gh(labels=("Debussy:In-Progress",)), CONFIG)
    assert writes == []


def test_unlinked_removes_debussy_labels_and_touches_nothing_else() -> None:
    [write] = writes_for_target(
        target(UNLINKED), gh("closed", "not_planned", ("bug", "debussy:completed")), CONFIG
    )[0]
    assert (write.action, write.add, write.remove) == ("set_label", (), ("debussy:completed",))


def test_a_wrong_close_reason_is_reopened_then_closed() -> None:
    writes, _ = writes_for_target(
        target(CLOSES), gh("closed", "not_planned", ("debussy:completed",)), CONFIG
    )
    assert described(writes) == ["GH-1: reopen", "GH-1: close as completed"]


def test_the_auto_close_comment_goes_only_with_a_close() -> None:
    writes, _ = writes_for_target(target(CLOSES, "Closed by Debussy"), gh(), CONFIG)
    assert [w.action for w in writes] == ["set_label", "comment", "close"]
    again, _ = writes_for_target(
        target(CLOSES, "Closed by Debussy"),
        gh("closed", "completed", ("debussy:completed",)),
        CONFIG,
    )
    assert again == [], "a replay does not comment twice"


def test_a_closed_issue_whose_phase_runs_is_reopened() -> None:
    writes, _ = writes_for_target(
        target(IN_PROGRESS), gh("closed", "completed", ("debussy:in-progress",)), CONFIG
    )
    assert described(writes) == ["GH-1: reopen"]


def test_pull_requests_and_missing_issues_are_notes_not_writes() -> None:
    pull = IssueView(IssueStatus.missing_issue(GH), is_pull_request=True)
    writes, note = writes_for_target(target(IN_PROGRESS), pull, CONFIG)
    assert writes == []
    assert note is not None
    assert "is a pull request, not an issue" in note.detail
    writes, note = writes_for_target(
        target(IN_PROGRESS), IssueView(IssueStatus.missing_issue(GH)), CONFIG
    )
    assert writes == []
    assert note is not None
    assert "not found" in note.detail


def jira_view(category: str, offered: tuple[OfferedTransition, ...]) -> IssueView:
    return IssueView(
        IssueStatus(platform="jira", id="PROJ-1", state="To Do", status_category=category),
        transitions=offered,
    )


START = OfferedTransition("21", "Start Progress", "In Progress", "indeterminate")
FINISH = OfferedTransition("41", "Done", "Done", "done")


def jira_target(status: str = "running") -> ConvergeTarget:
    expectation = jira_expectation(status, CONFIG.jira)  # type: ignore[arg-type]
    return ConvergeTarget(PROJ, "PROJ-1", "1", expectation, "phase 1")


def test_jira_moves_by_the_offered_transition_to_the_configured_status() -> None:
    [write] = writes_for_target(jira_target(), jira_view("new", (FINISH, START)), CONFIG)[0]
    assert (write.action, write.value, write.target_id) == ("transition", "In Progress", "21")


def test_jira_already_in_the_target_category_gets_nothing() -> None:
    assert writes_for_target(jira_target(), jira_view("indeterminate", ()), CONFIG) == ([], None)


def test_jira_without_the_transition_on_offer_fails_naming_what_is() -> None:
    writes, note = writes_for_target(jira_target(), jira_view("new", (FINISH,)), CONFIG)
    assert writes == []
    assert note is not None
    assert note.failed
    assert "no transition to 'In Progress'" in note.detail
    assert "Done" in note.detail


def test_jira_falls_back_to_the_transition_name() -> None:
    named = OfferedTransition("7", "In Progress", "Doing", "indeterminate")
    [write] = writes_for_target(jira_target(), jira_view("new", (named,)), CONFIG)[0]
    assert write.target_id == "7"


def test_plan_writes_plans_an_issue_linked_twice_once_and_skips_unread_ones() -> None:
    twice = [target(IN_PROGRESS), target(IN_PROGRESS), jira_target()]
    plan = plan_writes(twice, {GH: gh()}, CONFIG)
    assert described(plan.writes) == ["GH-1: set label debussy:in-progress"]


def test_any_category_expectation_writes_nothing_to_jira() -> None:
    from debussy.sync.expected import JiraExpectation

    anything = ConvergeTarget(PROJ, "PROJ-1", None, JiraExpectation(ANY_CATEGORY, None, None), "x")
    assert writes_for_target(anything, jira_view("done", ()), CONFIG) == ([], None)
