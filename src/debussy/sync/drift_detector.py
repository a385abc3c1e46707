"""``DriftDetector``: where the trackers and Debussy disagree, and who moved last.

``DriftDetector`` is the one place drift is decided: the dashboard (``status
--issues``) and ``sync`` (both directions) ask it, so they can never disagree.
The rules (docs/STATUS_AND_SYNC.md) live in pure functions over plain values, tested
without a database or a network; the detector holds one run's phases, links,
unlinked issues and snapshots, and judges tracker statuses someone fetched.

Who moved last (``newer``): a phase's ``changed_at`` is the last lifecycle event or
sync that changed it, None when untouched since the run started — then the
tracker is newer, whatever its time: creating a run decides nothing that could
conflict with a change people made on the tracker. Times compare in whole seconds
(``newer_side``). An issue still showing the state a person set that a lifecycle
event left alone (a ``Hold``, passed in as a value) is the person's newer
decision: its state drift says ``tracker`` although the event came later.

Issues the plan stopped linking are judged against ``UNLINKED`` (any state, no
Debussy label): one still carrying a Debussy label drifts ``unlinked``, and
``to-tracker`` removes that label and touches nothing else. Jira issues never
carry a Debussy label, so unlinked Jira issues are not even read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from debussy.issues import (
    SUB_ISSUE_WORDS,
    Drift,
    DriftReport,
    DriftType,
    GitHubRef,
    IssueStatus,
    ref_from_canonical,
)
from debussy.state.records import (
    Hold,
    IssueKey,
    LinkedIssue,
    PhaseRecord,
    RunRecord,
    Snapshot,
)
from debussy.state.status import PhaseStatus, run_aggregate
from debussy.sync.expected import (  # newer_side: re-exported, its home moved
    GitHubExpectation,
    JiraExpectation,
    closes_issues,
    github_expectation,
    is_debussy_label,
    jira_expectation,
    newer_side,
    still_held,
)
from debussy.sync.trackers import tracker_name
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # annotations only: the warm path never imports pydantic or history records
    from debussy.config import Config
    from debussy.state.changes import PushRecord, SyncEntry

UNLINKED = GitHubExpectation(frozenset({"open", "closed"}), None, None)
"""What an issue the plan no longer links should look like: as it is, minus Debussy's label.

The writes engine reads it like any expectation: only the label differs, so the
only write is "remove Debussy's labels"; state, other labels, comments stay.
"""


@dataclass(frozen=True, slots=True)
class LinkedContext:
    """A linked issue with the Debussy status it should reflect and when that last changed.

    Plan-level issues (``link.phase_id is None``) follow the run's aggregate
    status and the latest change of any phase.
    """

    link: LinkedIssue
    status: PhaseStatus
    changed_at: datetime | None


def linked_contexts(
    phases: Sequence[PhaseRecord], links: Sequence[LinkedIssue]
) -> list[LinkedContext]:
    by_id = {phase.phase_id: phase for phase in phases}
    aggregate = run_aggregate(phase.status for phase in phases)
    plan_status: PhaseStatus = aggregate
    latest = max(
        (parse_iso(phase.changed_at) for phase in phases if phase.changed_at), default=None
    )
    contexts: list[LinkedContext] = []
    for link in links:
        phase = by_id.get(link.phase_id) if link.phase_id is not None else None
        if phase is not None:
            contexts.append(LinkedContext(link, phase.status, _when(phase)))
        else:
            contexts.append(LinkedContext(link, plan_status, latest))
    return contexts


def why_expected(phase_id: str | None, status: PhaseStatus) -> str:
    """The reason a write gives, in the words the run's header uses.

    A plan-level issue follows the run: a started run with no phase started yet
    expects "pending" of its issues, but its header says running, so the reason
    says what is really going on instead of contradicting the header.
    """
    if phase_id is not None:
        return f"phase {phase_id} is {status}"
    if status == "pending":
        return "the run has no phase started yet"
    return f"the run is {status}"


def _when(phase: PhaseRecord) -> datetime | None:
    return parse_iso(phase.changed_at) if phase.changed_at else None


def expectation_for(
    context: LinkedContext, config: Config, *, auto_close: bool
) -> GitHubExpectation | JiraExpectation:
    if context.link.platform == "github":
        return github_expectation(context.status, config.github, auto_close=auto_close)
    return jira_expectation(context.status, config.jira)


def structure_parent(
    run: RunRecord, links: Sequence[LinkedIssue], config: Config
) -> LinkedIssue | None:
    """The plan issue phase issues should be sub-issues of (``github.sub_issues``), if any.

    The first plan-level GitHub link in the plan's own repository (PRODUCT.md §7
    "Structure"); None when the option is off or the plan has no such issue.
    """
    if not config.github.sub_issues or not config.github.enabled:
        return None
    repo = (run.github_repo or config.github.repo or "").casefold()
    for link in links:
        if link.phase_id is None and link.platform == "github":
            ref = ref_from_canonical("github", link.ref)
            if ref.canonical.rpartition("#")[0] == repo:
                return link
    return None


def structure_child(link: LinkedIssue, parent: LinkedIssue | None) -> GitHubRef | None:
    """The parent's reference when ``link`` is a phase issue that belongs under it.

    Only GitHub phase issues of the parent's owner: GitHub refuses a sub-issue of
    another owner.
    """
    if parent is None or link.phase_id is None or link.platform != "github":
        return None
    parent_ref = ref_from_canonical("github", parent.ref)
    child = ref_from_canonical("github", link.ref)
    if not isinstance(parent_ref, GitHubRef) or not isinstance(child, GitHubRef):
        return None
    if child == parent_ref or child.owner.casefold() != parent_ref.owner.casefold():
        return None
    return parent_ref


def sub_issues_added(
    plan_issue: LinkedIssue, pushes: Sequence[PushRecord], syncs: Sequence[SyncEntry] = ()
) -> set[str]:
    """Issues Debussy made sub-issues of ``plan_issue`` and did not take off since.

    History says so (PRODUCT.md §7): lifecycle pushes (``tracker_pushes``) and the
    results of ``sync --direction to-tracker --apply`` (``sync_history``), oldest first.
    """
    events: list[tuple[str, str, bool]] = []  # (at, child ref, added)
    for push in pushes:
        if push.outcome not in _APPLIED or push.platform != "github":
            continue
        if push.action == f"{ADDED_PREFIX}{plan_issue.display_key}":
            events.append((push.at, push.ref, True))
        elif push.action == f"{REMOVED_PREFIX}{plan_issue.display_key}":
            events.append((push.at, push.ref, False))
    for entry in syncs:
        if entry.run_id != plan_issue.run_id or not entry.applied:
            continue
        for result in entry.results:
            action, ref = result.get("action"), result.get("ref")
            if result.get("outcome") not in _APPLIED or result.get("value") != plan_issue.ref:
                continue
            if action in ("add_sub_issue", "remove_sub_issue") and isinstance(ref, str):
                events.append((entry.at, ref, action == "add_sub_issue"))
    added: set[str] = set()
    for _at, ref, made in sorted(events, key=lambda event: event[0]):
        if made:
            added.add(ref)
        else:
            added.discard(ref)
    return added


_APPLIED = frozenset({"ok", "applied"})
"""Outcomes of a write that went through (the old and the contract's vocabulary)."""
ADDED_PREFIX = SUB_ISSUE_WORDS["add_sub_issue"]
REMOVED_PREFIX = SUB_ISSUE_WORDS["remove_sub_issue"]
"""How ``TrackerWrite.describe`` words sub-issue writes, as ``push_records`` stores them."""


def other_owner_issues(
    links: Sequence[LinkedIssue], parent: LinkedIssue | None
) -> list[LinkedIssue]:
    """Phase issues that cannot be sub-issues of ``parent``: another owner's (GitHub refuses)."""
    if parent is None:
        return []
    return [
        link
        for link in links
        if link.phase_id is not None
        and link.platform == "github"
        and structure_child(link, parent) is None
        and link.ref.split("/", 1)[0] != parent.ref.split("/", 1)[0]
    ]


def structure_drift(status: IssueStatus, parent: LinkedIssue) -> list[Drift]:
    """``structure``: a phase issue that is not a sub-issue of the plan issue."""
    if status.missing or status.is_pull_request or status.parent == parent.ref:
        return []
    if status.parent is None:
        detail = f"not a sub-issue of {parent.display_key}"
    else:
        detail = f"a sub-issue of {status.parent}, not of {parent.display_key} (left there)"
    return [Drift(type="structure", newer="unknown", detail=detail)]


def pull_request_drift(context: LinkedContext, status: IssueStatus) -> list[Drift]:
    """A pull request against its phase: completed expects merged; merged expects completed.

    A pull request closed without merging reads as closed as not planned (PRODUCT.md §7):
    drift while its phase is neither blocked nor completed, as an issue would be.
    """
    phase_status = context.status
    newer = newer_side(status.state_changed_at or status.last_updated, context.changed_at)
    if phase_status == "completed":
        if status.state == "merged":
            return []
        return [
            Drift(
                type="pr_not_merged",
                newer=newer,
                detail=f"pull request is {status.state}; the phase completed",
            )
        ]
    if status.state == "merged":
        return [
            Drift(
                type="pr_merged",
                newer=newer,
                detail=f"pull request merged while Debussy has the phase {phase_status}",
            )
        ]
    if status.state == "closed" and phase_status != "blocked":
        return [
            Drift(
                type="closed_externally",
                newer=newer,
                detail=f"pull request closed without merging while Debussy has it {phase_status}",
            )
        ]
    return []


def describe_actual(status: IssueStatus) -> str:
    """``open``, ``closed (not planned)``, ``In Progress (indeterminate)``, ``missing``."""
    if status.missing:
        return "missing"
    if status.is_pull_request:
        return f"{status.state} (pull request)"
    if status.platform == "github":
        progress = ""
        if status.sub_issues is not None and status.sub_issues[1]:
            progress = f", sub-issues {status.sub_issues[0]}/{status.sub_issues[1]}"
        if status.state == "closed" and status.state_reason and status.state_reason != "completed":
            return f"closed ({status.state_reason.replace('_', ' ')}){progress}"
        return (status.state or "unknown") + progress
    category = status.status_category or "?"
    return f"{status.state} ({category})"


def github_drift(
    context: LinkedContext,
    status: IssueStatus,
    expected: GitHubExpectation,
    snapshot: Snapshot | None,
    config: Config,
    *,
    held: bool = False,
) -> list[Drift]:
    drifts: list[Drift] = []
    state_time = status.state_changed_at or status.last_updated
    newer = newer_side(state_time, context.changed_at, held=held)
    reason = status.state_reason or "completed"
    phase_status = context.status
    if status.state == "closed" and not expected.allows("closed", reason):
        if phase_status != "completed":
            drifts.append(
                Drift(
                    type="closed_externally",
                    newer=newer,
                    detail=f"closed as {reason.replace('_', ' ')} on GitHub while Debussy has "
                    f"it {phase_status}",
                )
            )
        else:
            drifts.append(
                Drift(
                    type="status_mismatch",
                    newer=newer,
                    detail=f"closed as {reason.replace('_', ' ')}, but the phase completed",
                )
            )
    elif status.state == "open" and phase_status == "completed":
        was_closed = snapshot is not None and snapshot.state == "closed"
        if expected.wants_closed or was_closed:
            drifts.append(
                Drift(
                    type="reopened_externally",
                    newer=newer_side(status.last_updated, context.changed_at, held=held),
                    detail="open on GitHub although the phase completed"
                    + (" (it was closed when last seen)" if was_closed else ""),
                )
            )
    elif status.state not in expected.states:
        drifts.append(
            Drift(
                type="status_mismatch",
                newer=newer,
                detail=f"{status.state} on GitHub, Debussy expects {expected.describe()}",
            )
        )
    have = sorted(label for label in status.labels if is_debussy_label(label, config.github))
    want = [expected.label] if expected.label else []
    if have != want:
        drifts.append(
            Drift(
                type="label_mismatch",
                newer=newer_side(status.last_updated, context.changed_at),
                detail=f"labels {', '.join(have) or 'none'}; expected {', '.join(want) or 'none'}",
            )
        )
    return drifts


def jira_drift(
    context: LinkedContext,
    status: IssueStatus,
    expected: JiraExpectation,
    snapshot: Snapshot | None,
    *,
    held: bool = False,
) -> list[Drift]:
    category = status.status_category
    resolution = status.state_reason
    newer = newer_side(
        status.state_changed_at or status.last_updated, context.changed_at, held=held
    )
    phase_status = context.status
    if expected.allows(category, resolution):
        return []
    kind: DriftType
    if category == "done" and phase_status != "completed":
        kind = "closed_externally"
        detail = (
            f"moved to {status.state} ({resolution or 'no resolution'}) "
            f"while Debussy has it {phase_status}"
        )
    elif category != "done" and phase_status == "completed":
        was_done = snapshot is not None and snapshot.status_category == "done"
        kind = (
            "reopened_externally"
            if (was_done or "done" in expected.categories)
            else "status_mismatch"
        )
        detail = f"{status.state} ({category}) although the phase completed"
    else:
        kind = "status_mismatch"
        detail = f"{status.state} ({category}); Debussy expects {expected.describe()}"
    return [Drift(type=kind, newer=newer, detail=detail)]


def issue_drift(
    context: LinkedContext,
    status: IssueStatus,
    snapshot: Snapshot | None,
    config: Config,
    *,
    auto_close: bool,
    held: bool = False,
    expected: GitHubExpectation | JiraExpectation | None = None,
) -> list[Drift]:
    """Every drift of one issue against what its phase (or the run) expects.

    ``held``: the issue still shows a person's state an event left as is
    (``still_held``): its state drift reads ``newer: tracker``. ``expected``: the
    ``expectation_for`` the caller already has (``judge`` shares one per phase status).
    """
    if status.missing:
        name = tracker_name(status.platform)
        return [
            Drift(
                type="missing",
                newer="unknown",
                detail=f"not found on {name}: deleted, transferred, or not visible with this token",
            )
        ]
    if status.is_pull_request:
        return pull_request_drift(context, status)
    if expected is None:
        expected = expectation_for(context, config, auto_close=auto_close)
    if isinstance(expected, GitHubExpectation):
        return github_drift(context, status, expected, snapshot, config, held=held)
    return jira_drift(context, status, expected, snapshot, held=held)


def unlinked_drift(
    status: IssueStatus, config: Config, *, debussy_parent: LinkedIssue | None = None
) -> list[Drift]:
    """An issue the plan no longer links drifts while it carries a Debussy label, or while
    it is still the sub-issue Debussy made it of ``debussy_parent`` (``github.sub_issues``)."""
    if status.missing or status.platform != "github" or status.is_pull_request:
        return []
    structure: list[Drift] = []
    if debussy_parent is not None and status.parent == debussy_parent.ref:
        structure.append(
            Drift(
                type="structure",
                newer="debussy",
                detail=f"no longer in the plan but still a sub-issue of "
                f"{debussy_parent.display_key} (Debussy linked it)",
            )
        )
    labels = sorted(label for label in status.labels if is_debussy_label(label, config.github))
    if not labels:
        return structure
    return [
        Drift(
            type="unlinked",
            newer="debussy",
            detail=f"no longer in the plan but still labelled {', '.join(labels)}",
        ),
        *structure,
    ]


def watched_unlinked(
    links: Sequence[LinkedIssue], unlinked: Sequence[LinkedIssue]
) -> tuple[LinkedIssue, ...]:
    """Unlinked issues that may still carry Debussy's label: GitHub ones not linked again.

    Jira issues never carry a Debussy label, so they are not even read.
    """
    linked = {link.key for link in links}
    return tuple(link for link in unlinked if link.platform == "github" and link.key not in linked)


@dataclass(frozen=True, slots=True)
class Judgement:
    """One issue judged: what Debussy expects of it and every way it differs."""

    link: LinkedIssue
    status: PhaseStatus | None
    """The Debussy status it reflects; None for an issue the plan unlinked."""
    changed_at: datetime | None
    expected: GitHubExpectation | JiraExpectation
    drifts: tuple[Drift, ...]
    parent: GitHubRef | None = None
    """``github.sub_issues``: the plan issue this one should be a sub-issue of."""
    parent_key: str | None = None
    unparent: GitHubRef | None = None
    """An unlinked issue Debussy made a sub-issue of this plan issue: the link comes off."""

    @property
    def unlinked(self) -> bool:
        return self.status is None


class DriftDetector:
    """Drift for one run: its phases, links and unlinked issues, judged against statuses.

    Build it from records: ``app.dashboard.drift_detector`` reads them from the state
    once (the rules do no I/O); tests pass plain values. ``issues_to_read`` is what to
    fetch; ``judge`` and ``reports`` are pure over the statuses given.
    """

    def __init__(
        self,
        run: RunRecord,
        phases: Sequence[PhaseRecord],
        links: Sequence[LinkedIssue],
        config: Config,
        *,
        snapshots: Mapping[IssueKey, Snapshot] | None = None,
        unlinked: Sequence[LinkedIssue] = (),
        linked_by_debussy: frozenset[str] = frozenset(),
        holds: Mapping[IssueKey, Hold] | None = None,
    ) -> None:
        """``holds``: the run's recorded holds (``StateManager.holds``), by issue."""
        self.run = run
        self.phases = tuple(phases)
        self.links = tuple(links)
        self.config = config
        self.snapshots: Mapping[IssueKey, Snapshot] = snapshots or {}
        self.unlinked = watched_unlinked(links, unlinked)
        self.plan_issue = structure_parent(run, links, config)
        self.linked_by_debussy = linked_by_debussy
        """Issues Debussy made sub-issues of ``plan_issue`` (history): only those are
        taken off it when the plan drops them."""
        self.holds: Mapping[IssueKey, Hold] = holds or {}

    def _debussy_parent(self, link: LinkedIssue) -> LinkedIssue | None:
        """The plan issue, when Debussy made ``link`` its sub-issue."""
        if self.plan_issue is not None and link.ref in self.linked_by_debussy:
            return self.plan_issue
        return None

    @property
    def issues_to_read(self) -> list[LinkedIssue]:
        """The linked issues, then the unlinked ones that could still carry a label."""
        return [*self.links, *self.unlinked]

    def judge(self, statuses: Mapping[IssueKey, IssueStatus]) -> list[Judgement]:
        """Every linked issue (no status: no drift), then the unlinked issues that drift."""
        auto_close = closes_issues(self.run, (phase.status for phase in self.phases))
        plan_issue = structure_parent(self.run, self.links, self.config)
        judged: list[Judgement] = []
        # What an issue should show depends only on its tracker and its phase's status:
        # one expectation per pair, not two per issue (the warm dashboard, docs/PERFORMANCE.md).
        expectations: dict[tuple[str, str], GitHubExpectation | JiraExpectation] = {}
        for context in linked_contexts(self.phases, self.links):
            status = statuses.get(context.link.key)
            parent = structure_child(context.link, plan_issue)
            pair = (context.link.platform, context.status)
            expected = expectations.get(pair)
            if expected is None:
                expected = expectations[pair] = expectation_for(
                    context, self.config, auto_close=auto_close
                )
            drifts: list[Drift] = []
            if status is not None:
                drifts = issue_drift(
                    context,
                    status,
                    self.snapshots.get(context.link.key),
                    self.config,
                    auto_close=auto_close,
                    held=still_held(self.holds.get(context.link.key), status),
                    expected=expected,
                )
                if parent is not None and plan_issue is not None:
                    drifts += structure_drift(status, plan_issue)
            judged.append(
                Judgement(
                    context.link,
                    context.status,
                    context.changed_at,
                    expected,
                    tuple(drifts),
                    parent=parent,
                    parent_key=plan_issue.display_key if parent and plan_issue else None,
                )
            )
        for link in self.unlinked:
            status = statuses.get(link.key)
            if status is None:
                continue
            debussy_parent = self._debussy_parent(link)
            drifts = unlinked_drift(status, self.config, debussy_parent=debussy_parent)
            if drifts:
                unparent = (
                    ref_from_canonical("github", debussy_parent.ref)
                    if debussy_parent is not None
                    and any(drift.type == "structure" for drift in drifts)
                    else None
                )
                judged.append(
                    Judgement(
                        link,
                        None,
                        None,
                        UNLINKED,
                        tuple(drifts),
                        parent_key=debussy_parent.display_key if debussy_parent else None,
                        unparent=unparent if isinstance(unparent, GitHubRef) else None,
                    )
                )
        return judged

    def cleared(self, statuses: Mapping[IssueKey, IssueStatus]) -> list[IssueKey]:
        """Unlinked issues whose status shows no Debussy label: nothing left to watch."""
        return [
            link.key
            for link in self.unlinked
            if link.key in statuses
            and not unlinked_drift(
                statuses[link.key], self.config, debussy_parent=self._debussy_parent(link)
            )
        ]

    def reports(self, statuses: Mapping[IssueKey, IssueStatus]) -> list[DriftReport]:
        """One ``DriftReport`` per drift of every issue with a status (what sync plans from)."""
        return list(_reports(self.judge(statuses), statuses))


def _reports(
    judged: Iterable[Judgement], statuses: Mapping[IssueKey, IssueStatus]
) -> Iterable[DriftReport]:
    for judgement in judged:
        status = statuses.get(judgement.link.key)
        if status is None:
            continue
        for drift in judgement.drifts:
            yield DriftReport(
                issue=judgement.link.display_key,
                platform=status.platform,
                ref=judgement.link.ref,
                phase=judgement.link.phase_id,
                expected_state=judgement.expected.describe(),
                actual_state=describe_actual(status),
                drift_type=drift.type,
                newer=drift.newer,
                detail=drift.detail,
                state_reason=status.state_reason,
            )
