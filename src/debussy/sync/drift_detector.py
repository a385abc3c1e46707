"""``DriftDetector``: where the trackers and Debussy disagree, and who moved last.

The rules (PRODUCT.md §7) live in pure functions over plain values, so they are
tested without a database or a network; ``DriftDetector`` only gathers those
values from the state database for one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from debussy.issues import Drift, DriftReport, DriftType, IssueStatus, Newer
from debussy.state.manager import (
    IssueKey,
    LinkedIssue,
    PhaseRecord,
    RunRecord,
    Snapshot,
    StateManager,
)
from debussy.state.status import PhaseStatus, run_aggregate
from debussy.sync.expected import (
    GitHubExpectation,
    JiraExpectation,
    github_expectation,
    is_debussy_label,
    jira_expectation,
)
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # annotations only: the warm path never imports pydantic
    from debussy.config import Config


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
    latest = max((parse_iso(phase.changed_at) for phase in phases), default=None)
    contexts: list[LinkedContext] = []
    for link in links:
        phase = by_id.get(link.phase_id) if link.phase_id is not None else None
        if phase is not None:
            contexts.append(LinkedContext(link, phase.status, parse_iso(phase.changed_at)))
        else:
            contexts.append(LinkedContext(link, plan_status, latest))
    return contexts


def expectation_for(
    context: LinkedContext, config: Config, *, auto_close: bool
) -> GitHubExpectation | JiraExpectation:
    if context.link.platform == "github":
        return github_expectation(context.status, config.github, auto_close=auto_close)
    return jira_expectation(context.status, config.jira)


def newer_side(tracker_time: datetime | None, debussy_time: datetime | None) -> Newer:
    """Which side changed last; equal times or a missing time mean we cannot tell."""
    if tracker_time is None or debussy_time is None or tracker_time == debussy_time:
        return "unknown"
    return "tracker" if tracker_time > debussy_time else "debussy"


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


class DriftDetector:
    """Drift for a run, from tracker statuses someone already fetched.

    ``statuses`` maps ``(platform, canonical ref)`` to what the tracker said;
    issues absent from it (platform disabled or unreachable) get no report.
    """

    def __init__(
        self,
        state: StateManager,
        config: Config,
        statuses: Mapping[IssueKey, IssueStatus],
    ) -> None:
        self._state = state
        self._config = config
        self._statuses = statuses

    def detect_drift(self, run_id: str) -> list[DriftReport]:
        run = self._state.get_run(run_id)
        phases = self._state.phases(run.id)
        links = self._state.linked_issues(run.id)
        snapshots = self._state.snapshots(link.key for link in links)
        return detect_run_drift(run, phases, links, self._statuses, snapshots, self._config)


def detect_run_drift(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    statuses: Mapping[IssueKey, IssueStatus],
    snapshots: Mapping[IssueKey, Snapshot],
    config: Config,
) -> list[DriftReport]:
    reports: list[DriftReport] = []
    for context in linked_contexts(phases, links):
        status = statuses.get(context.link.key)
        if status is None:
            continue
        expected = expectation_for(context, config, auto_close=run.auto_close)
        for drift in issue_drift(
            context, status, snapshots.get(context.link.key), config, auto_close=run.auto_close
        ):
            reports.append(
                DriftReport(
                    issue=context.link.display_key,
                    platform=status.platform,
                    ref=context.link.ref,
                    phase=context.link.phase_id,
                    expected_state=expected.describe(),
                    actual_state=describe_actual(status),
                    drift_type=drift.type,
                    newer=drift.newer,
                    detail=drift.detail,
                    state_reason=status.state_reason,
                )
            )
    return reports
