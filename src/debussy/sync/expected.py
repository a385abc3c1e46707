"""What a linked issue should look like, given the status Debussy has for its phase.

This is the expected-state table of docs/STATUS_AND_SYNC.md in code, used three
ways: drift detection compares an issue with its expectation, lifecycle pushes and
``sync --direction to-tracker`` write the expectation out. Keeping it in one place is what makes
"push, then look" come out clean.

GitHub is judged by state, state reason and the ``debussy:*`` labels; Jira by
status *category* only (``new``, ``indeterminate``, ``done``), because status
names differ between workflows and categories do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from debussy.issues import IssueStatus, Newer
from debussy.state.status import ACTIVE_STATUSES, PhaseStatus, run_aggregate
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # annotations only: the warm path never imports pydantic
    from debussy.config import GitHubConfig, JiraConfig
    from debussy.state.records import Hold, RunRecord

NOT_DONE = frozenset({"new", "indeterminate"})
ANY_CATEGORY = frozenset({"new", "indeterminate", "done"})
BLOCKED_CLOSE_REASONS = frozenset({"not_planned", "duplicate"})
BLOCKED_RESOLUTIONS = frozenset(
    {"won't do", "wont do", "won't fix", "duplicate", "cannot reproduce"}
)
"""Jira resolutions (lower case) that mean "closed without doing it" on common workflows."""


def newer_side(
    tracker_time: datetime | None, debussy_time: datetime | None, *, held: bool = False
) -> Newer:
    """Which side changed last: the tracker, Debussy, or we cannot tell.

    Every "who moved last" question asks this one function (drift detection, the
    write rules that never reverse a person's newer change), so the dashboard, a
    push and ``sync`` agree. Times compare in whole seconds, the granularity
    Debussy stores (trackers keep milliseconds): a tracker change in the same
    second as Debussy's is not after it, and equal means ``unknown``, so the
    answer never depends on where in a second two changes fell.

    Debussy never changed the phase (None): the tracker is newer (creating a run
    decides nothing that could conflict with a person's change). ``held``: the
    issue still shows the state a person set that a lifecycle event left alone
    (``still_held``): that is the person's newer decision, whatever the times say
    (the event itself is recorded after the person's change).
    """
    if held or debussy_time is None:
        return "tracker"
    if tracker_time is None:
        return "unknown"
    tracker_second = tracker_time.replace(microsecond=0)
    debussy_second = debussy_time.replace(microsecond=0)
    if tracker_second == debussy_second:
        return "unknown"
    return "tracker" if tracker_second > debussy_second else "debussy"


def still_held(hold: Hold | None, status: IssueStatus) -> bool:
    """True while the issue still shows the state a person set and an event left as is.

    A hold (``state.manager.Hold``) is recorded when a lifecycle event leaves a
    person's newer state alone. It lasts while the tracker shows that same state
    (GitHub: state and reason; Jira: status and category) changed at the same
    moment (when both times are known, in whole seconds); any later state change
    on the tracker ends it, as does Debussy changing the state itself (the
    hold's record is then deleted).
    """
    if hold is None or status.missing:
        return False
    if hold.state != status.state:
        return False
    if status.platform == "github":
        if (hold.state_reason or None) != (status.state_reason or None):
            return False
    elif hold.status_category != status.status_category:
        return False
    if hold.state_changed_at is None or status.state_changed_at is None:
        return True
    held_second = parse_iso(hold.state_changed_at).replace(microsecond=0)
    return held_second == status.state_changed_at.replace(microsecond=0)


def closes_issues(run: RunRecord, phases: Iterable[PhaseStatus]) -> bool:
    """Whether completed issues are expected closed: only once the whole run completed.

    ``auto_close`` closes the linked issues *when the run completes* (docs/STATUS_AND_SYNC.md
    §5); before that a completed phase's issue may stay open. Drift detection and
    the convergence engine both ask this, so a push and the next look agree.
    """
    return run.auto_close and run_aggregate(phases) == "completed"


def is_debussy_label(name: str, config: GitHubConfig) -> bool:
    """Labels Debussy owns (``LabelsRules.owns``: configured, or ``debussy:``, any case)."""
    return config.labels.owns(name)


@dataclass(frozen=True, slots=True)
class GitHubExpectation:
    """Allowed ``states`` (open/closed); when closed, allowed ``close_reasons`` (None: any)."""

    states: frozenset[str]
    close_reasons: frozenset[str] | None
    label: str | None

    def allows(self, state: str | None, reason: str | None) -> bool:
        if state not in self.states:
            return False
        if state == "closed" and self.close_reasons is not None:
            return (reason or "completed") in self.close_reasons
        return True

    @property
    def wants_closed(self) -> bool:
        return self.states == frozenset({"closed"})

    def as_json(self) -> dict[str, Any]:
        state = "any" if len(self.states) > 1 else next(iter(self.states))
        document: dict[str, Any] = {
            "state": state,
            "labels": [self.label] if self.label else [],
        }
        if self.close_reasons is not None and "closed" in self.states:
            document["state_reasons"] = sorted(self.close_reasons)
        return document

    def describe(self) -> str:
        if len(self.states) > 1 and self.close_reasons == BLOCKED_CLOSE_REASONS:
            state = "open or closed (not planned)"
        elif len(self.states) > 1:
            state = "open or closed"
        else:
            state = next(iter(self.states))
        return f"{state}, {self.label}" if self.label else f"{state}, no debussy label"


@dataclass(frozen=True, slots=True)
class JiraExpectation:
    """Allowed status categories; when ``done`` is allowed only for some resolutions, which."""

    categories: frozenset[str]
    done_resolutions: frozenset[str] | None
    transition: str | None
    """The configured target status name that pushing this expectation transitions to."""
    setting: str | None = None
    """The config key that names ``transition`` (``jira.transitions.failed``), so a note
    about a missing transition can say which key to set."""

    def allows(self, category: str | None, resolution: str | None) -> bool:
        if category not in self.categories:
            return False
        if category == "done" and self.done_resolutions is not None:
            return (resolution or "").lower() in self.done_resolutions
        return True

    @property
    def category_label(self) -> str:
        if self.categories == ANY_CATEGORY and self.done_resolutions is None:
            return "any"
        if self.categories == NOT_DONE:
            return "not done"
        if len(self.categories) == 1:
            return next(iter(self.categories))
        return "not done, or done as won't do"

    def as_json(self) -> dict[str, Any]:
        return {"status_category": self.category_label}

    def describe(self) -> str:
        return self.category_label


@dataclass(frozen=True, slots=True)
class PullRequestExpectation:
    """What a linked pull request should be (PRODUCT.md §7 "Pull requests"): only read.

    A completed phase expects it merged; a blocked one accepts anything; any other
    phase expects it not merged yet (open or draft).
    """

    states: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {"state": " or ".join(sorted(self.states)), "kind": "pr"}

    def describe(self) -> str:
        return f"{' or '.join(sorted(self.states))} (pull request)"


def pull_request_expectation(status: PhaseStatus) -> PullRequestExpectation:
    if status == "completed":
        return PullRequestExpectation(frozenset({"merged"}))
    if status == "blocked":
        return PullRequestExpectation(frozenset({"open", "draft", "merged", "closed"}))
    return PullRequestExpectation(frozenset({"open", "draft"}))


def github_expectation(
    status: PhaseStatus, config: GitHubConfig, *, auto_close: bool
) -> GitHubExpectation:
    labels = config.labels
    if status == "pending":
        return GitHubExpectation(frozenset({"open"}), None, None)
    if status in ACTIVE_STATUSES:
        return GitHubExpectation(frozenset({"open"}), None, labels.in_progress)
    if status == "completed":
        if auto_close:
            return GitHubExpectation(
                frozenset({"closed"}), frozenset({"completed"}), labels.completed
            )
        return GitHubExpectation(
            frozenset({"open", "closed"}), frozenset({"completed"}), labels.completed
        )
    if status == "failed":
        return GitHubExpectation(frozenset({"open"}), None, labels.failed)
    return GitHubExpectation(frozenset({"open", "closed"}), BLOCKED_CLOSE_REASONS, labels.blocked)


def jira_expectation(status: PhaseStatus, config: JiraConfig) -> JiraExpectation:
    transitions = config.transitions
    if status == "pending":
        return JiraExpectation(NOT_DONE, None, transitions.pending, _key("pending"))
    if status in ACTIVE_STATUSES:
        if transitions.in_progress:
            return JiraExpectation(
                frozenset({"indeterminate"}), None, transitions.in_progress, _key("in_progress")
            )
        return JiraExpectation(NOT_DONE, None, None, _key("in_progress"))
    if status == "completed":
        if transitions.completed:
            return JiraExpectation(
                frozenset({"done"}), None, transitions.completed, _key("completed")
            )
        return JiraExpectation(ANY_CATEGORY, None, None, _key("completed"))
    if status == "failed":
        return JiraExpectation(NOT_DONE, None, transitions.failed, _key("failed"))
    return JiraExpectation(ANY_CATEGORY, BLOCKED_RESOLUTIONS, transitions.blocked, _key("blocked"))


def _key(name: str) -> str:
    return f"jira.transitions.{name}"
