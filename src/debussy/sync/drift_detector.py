"""``DriftDetector``: where the trackers and Debussy disagree, and who moved last.

``DriftDetector`` is the one place drift is decided: the dashboard (``status
--issues``) and ``sync`` (both directions) ask it, so they can never disagree.
The rules (docs/STATUS_AND_SYNC.md) live in pure functions over plain values, tested
without a database or a network; the detector holds one run's phases, links,
unlinked issues and snapshots, and judges tracker statuses someone fetched.

Who moved last (``newer``): a phase's ``changed_at`` is the last lifecycle event or
sync that changed it, None when untouched since the run started — then the
tracker is newer, whatever its time: creating a run decides nothing that could
conflict with a change people made on the tracker.

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

from debussy.issues import Drift, DriftReport, DriftType, IssueStatus
from debussy.state.manager import (
    IssueKey,
    LinkedIssue,
    PhaseRecord,
    RunRecord,
    Snapshot,
    StateManager,
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
)
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # annotations only: the warm path never imports pydantic
    from debussy.config import Config

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


def describe_actual(status: IssueStatus) -> str:
    """``open``, ``closed (not planned)``, ``In Progress (indeterminate)``, ``missing``."""
    if status.missing:
        return "missing"
    if status.platform == "github":
        if status.state == "closed" and status.state_reason and status.state_reason != "completed":
            return f"closed ({status.state_reason.replace('_', ' ')})"
        return status.state or "unknown"
    category = status.status_category or "?"
    return f"{status.state} ({category})"


def github_drift(
    context: LinkedContext,
    status: IssueStatus,
    expected: GitHubExpectation,
    snapshot: Snapshot | None,
    config: Config,
) -> list[Drift]:
    drifts: list[Drift] = []
    state_time = status.state_changed_at or status.last_updated
    newer = newer_side(state_time, context.changed_at)
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
                    newer=newer_side(status.last_updated, context.changed_at),
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
) -> list[Drift]:
    category = status.status_category
    resolution = status.state_reason
    newer = newer_side(status.state_changed_at or status.last_updated, context.changed_at)
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
) -> list[Drift]:
    """Every drift of one issue against what its phase (or the run) expects."""
    if status.missing:
        name = "GitHub" if status.platform == "github" else "Jira"
        return [
            Drift(
                type="missing",
                newer="unknown",
                detail=f"not found on {name}: deleted, transferred, or not visible with this token",
            )
        ]
    expected = expectation_for(context, config, auto_close=auto_close)
    if isinstance(expected, GitHubExpectation):
        return github_drift(context, status, expected, snapshot, config)
    return jira_drift(context, status, expected, snapshot)


def unlinked_drift(status: IssueStatus, config: Config) -> list[Drift]:
    """An issue the plan no longer links drifts only while it carries a Debussy label."""
    if status.missing or status.platform != "github":
        return []
    labels = sorted(label for label in status.labels if is_debussy_label(label, config.github))
    if not labels:
        return []
    return [
        Drift(
            type="unlinked",
            newer="debussy",
            detail=f"no longer in the plan but still labelled {', '.join(labels)}",
        )
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

    @property
    def unlinked(self) -> bool:
        return self.status is None


class DriftDetector:
    """Drift for one run: its phases, links and unlinked issues, judged against statuses.

    Build it with ``DriftDetector.for_run`` (reads the state once) or directly from
    records (tests, callers that already hold them). ``issues_to_read`` is what to
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
    ) -> None:
        self.run = run
        self.phases = tuple(phases)
        self.links = tuple(links)
        self.config = config
        self.snapshots: Mapping[IssueKey, Snapshot] = snapshots or {}
        self.unlinked = watched_unlinked(links, unlinked)

    @classmethod
    def for_run(cls, state: StateManager, config: Config, run: RunRecord) -> DriftDetector:
        links = state.linked_issues(run.id)
        unlinked = state.unlinked_issues(run.id)
        return cls(
            run,
            state.phases(run.id),
            links,
            config,
            snapshots=state.snapshots(link.key for link in links),
            unlinked=unlinked,
        )

    @property
    def issues_to_read(self) -> list[LinkedIssue]:
        """The linked issues, then the unlinked ones that could still carry a label."""
        return [*self.links, *self.unlinked]

    def judge(self, statuses: Mapping[IssueKey, IssueStatus]) -> list[Judgement]:
        """Every linked issue (no status: no drift), then the unlinked issues that drift."""
        auto_close = closes_issues(self.run, (phase.status for phase in self.phases))
        judged: list[Judgement] = []
        for context in linked_contexts(self.phases, self.links):
            status = statuses.get(context.link.key)
            drifts: list[Drift] = []
            if status is not None:
                drifts = issue_drift(
                    context,
                    status,
                    self.snapshots.get(context.link.key),
                    self.config,
                    auto_close=auto_close,
                )
            judged.append(
                Judgement(
                    context.link,
                    context.status,
                    context.changed_at,
                    expectation_for(context, self.config, auto_close=auto_close),
                    tuple(drifts),
                )
            )
        for link in self.unlinked:
            status = statuses.get(link.key)
            if status is None:
                continue
            drifts = unlinked_drift(status, self.config)
            if drifts:
                judged.append(Judgement(link, None, None, UNLINKED, tuple(drifts)))
        return judged

    def cleared(self, statuses: Mapping[IssueKey, IssueStatus]) -> list[IssueKey]:
        """Unlinked issues whose status shows no Debussy label: nothing left to watch."""
        return [
            link.key
            for link in self.unlinked
            if link.key in statuses and not unlinked_drift(statuses[link.key], self.config)
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
