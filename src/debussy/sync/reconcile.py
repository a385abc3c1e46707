"""Reconciliation: from drift to a plan of actions (pure), and applying a plan.

``from-tracker`` (the trackers are the source of truth) turns drift into guarded
phase changes (docs/STATUS_AND_SYNC.md):

- every issue of a phase closed as completed (Jira: done, not as won't do) →
  the phase is completed;
- any issue closed as not planned / duplicate (Jira: done as won't do or
  duplicate) → the phase is blocked, with that as the reason;
- an issue reopened while its phase completed → the phase is pending again;
- every plan-level issue closed as completed → the remaining phases complete;
- label or other status differences change nothing here: only ``to-tracker``
  writes to trackers, and the plan says so;
- a change Debussy made after the tracker's (``newer: debussy``) is a conflict:
  skipped and reported unless ``--force``.

``to-tracker`` (Debussy is the source of truth) turns each drifting issue into
the tracker writes that make it match its expectation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from debussy.issues import DriftReport, IssueStatus, ref_from_canonical
from debussy.state.changes import GuardedChange
from debussy.state.records import IssueKey, LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import PhaseStatus
from debussy.sync.drift_detector import DriftDetector, Judgement, why_expected
from debussy.sync.expected import BLOCKED_CLOSE_REASONS, BLOCKED_RESOLUTIONS
from debussy.sync.trackers.writes import TrackerWrite
from debussy.sync.writes import ConvergeTarget, writes_to_match

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.config import Config

Direction = Literal["from-tracker", "to-tracker"]
SkipKind = Literal[
    "conflict", "needs_to_tracker", "needs_from_tracker", "waiting", "missing", "cannot_fix"
]


@dataclass(frozen=True, slots=True)
class PhaseAction:
    """Change one phase's status; applied only if it still has ``from_status``."""

    phase_id: str
    title: str
    from_status: PhaseStatus
    to_status: PhaseStatus
    reason: str | None
    issues: tuple[str, ...]
    why: str

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "phase",
            "phase": self.phase_id,
            "title": self.title,
            "from": self.from_status,
            "to": self.to_status,
            "reason": self.reason,
            "issues": list(self.issues),
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something the plan will not do, and what would do it."""

    kind: SkipKind
    issues: tuple[str, ...]
    phase_id: str | None
    detail: str
    action: PhaseAction | None = None
    """For conflicts: the action ``--force`` would apply."""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "issues": list(self.issues),
            "phase": self.phase_id,
            "detail": self.detail,
            "action": self.action.as_json() if self.action else None,
        }


@dataclass(slots=True)
class SyncPlan:
    direction: Direction
    run: RunRecord
    phase_actions: list[PhaseAction] = field(default_factory=list[PhaseAction])
    writes: list[TrackerWrite] = field(default_factory=list[TrackerWrite])
    skipped: list[Skipped] = field(default_factory=list[Skipped])

    @property
    def empty(self) -> bool:
        return not self.phase_actions and not self.writes

    def guarded_changes(self) -> list[GuardedChange]:
        return [
            GuardedChange(a.phase_id, a.from_status, a.to_status, a.reason)
            for a in self.phase_actions
        ]

    def actions_json(self) -> list[dict[str, Any]]:
        return [a.as_json() for a in self.phase_actions] + [
            {"kind": "write", **w.as_json()} for w in self.writes
        ]


def _closed_completed(status: IssueStatus) -> bool:
    if status.is_pull_request:
        return status.state == "merged"  # PRODUCT.md §7: merged counts as closed as completed
    if status.platform == "github":
        return status.state == "closed" and (status.state_reason or "completed") == "completed"
    return status.status_category == "done" and not _closed_unplanned(status)


def _closed_unplanned(status: IssueStatus) -> bool:
    if status.platform == "github":
        return status.state == "closed" and status.state_reason in BLOCKED_CLOSE_REASONS
    return (
        status.status_category == "done"
        and (status.state_reason or "").lower() in BLOCKED_RESOLUTIONS
    )


def _how_closed(status: IssueStatus) -> str:
    if status.is_pull_request:
        return "merged" if status.state == "merged" else "closed without merging"
    if status.platform == "github":
        return f"closed as {(status.state_reason or 'completed').replace('_', ' ')}"
    return f"{status.state} ({status.state_reason or 'done'})"


def plan_from_tracker(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    statuses: Mapping[IssueKey, IssueStatus],
    drift: Sequence[DriftReport],
    *,
    force: bool = False,
) -> SyncPlan:
    """The phase changes that make Debussy agree with the trackers (see module docstring)."""
    plan = SyncPlan("from-tracker", run)
    by_phase: dict[str | None, list[LinkedIssue]] = {}
    for link in links:
        by_phase.setdefault(link.phase_id, []).append(link)
    drift_by_key: dict[IssueKey, list[DriftReport]] = {}
    for report in drift:
        drift_by_key.setdefault((report.platform, report.ref), []).append(report)

    planned: set[str] = set()
    for phase in phases:
        action = _phase_action(
            phase, by_phase.get(phase.phase_id, []), statuses, drift_by_key, plan
        )
        if action is not None:
            _add(plan, action, drift_by_key, by_phase.get(phase.phase_id, []), force)
            planned.add(phase.phase_id)
    _plan_level(plan, phases, by_phase.get(None, []), statuses, drift_by_key, planned, force)
    _note_tracker_only(plan, drift, {a.phase_id for a in plan.phase_actions})
    return plan


def _phase_action(
    phase: PhaseRecord,
    links: Sequence[LinkedIssue],
    statuses: Mapping[IssueKey, IssueStatus],
    drift_by_key: Mapping[IssueKey, list[DriftReport]],
    plan: SyncPlan,
) -> PhaseAction | None:
    known = [(link, statuses[link.key]) for link in links if link.key in statuses]
    drifting = [link for link in links if link.key in drift_by_key]
    if not drifting:
        return None
    types = {r.drift_type for link in drifting for r in drift_by_key[link.key]}
    unplanned = [(link, s) for link, s in known if _closed_unplanned(s)]
    if unplanned and phase.status not in ("blocked", "completed"):
        reason = "; ".join(f"{link.display_key} {_how_closed(s)}" for link, s in unplanned)
        return _action(phase, "blocked", reason, [link for link, _ in unplanned], reason)
    if "reopened_externally" in types and phase.status == "completed":
        reopened = [
            link
            for link in drifting
            if any(r.drift_type == "reopened_externally" for r in drift_by_key[link.key])
        ]
        keys = ", ".join(link.display_key for link in reopened)
        return _action(phase, "pending", None, reopened, f"{keys} reopened")
    if types & {"closed_externally", "pr_merged"} and phase.status != "completed":
        closed = [link for link, s in known if _closed_completed(s)]
        if len(closed) == len(links) and len(known) == len(links):
            keys = ", ".join(link.display_key for link in closed)
            verb = "is" if len(closed) == 1 else "are all"
            pulls = [s.is_pull_request for _, s in known]
            done = (
                "merged"
                if all(pulls)
                else "closed as completed or merged"
                if any(pulls)
                else "closed as completed"
            )
            return _action(phase, "completed", None, closed, f"{keys} {verb} {done}")
        if closed:
            plan.skipped.append(
                Skipped(
                    "waiting",
                    tuple(link.display_key for link in closed),
                    phase.phase_id,
                    f"{len(closed)} of {len(links)} issues of phase {phase.phase_id} are closed "
                    "as completed; the phase completes when all are",
                )
            )
    return None


def _action(
    phase: PhaseRecord,
    to_status: PhaseStatus,
    reason: str | None,
    links: Sequence[LinkedIssue],
    why: str,
) -> PhaseAction:
    return PhaseAction(
        phase_id=phase.phase_id,
        title=phase.title,
        from_status=phase.status,
        to_status=to_status,
        reason=reason,
        issues=tuple(link.display_key for link in links),
        why=why,
    )


def _add(
    plan: SyncPlan,
    action: PhaseAction,
    drift_by_key: Mapping[IssueKey, list[DriftReport]],
    links: Sequence[LinkedIssue],
    force: bool,
) -> None:
    """Plan the action, or skip it as a conflict when Debussy moved after the tracker."""
    involved = [link for link in links if link.display_key in action.issues]
    debussy_newer = any(
        report.newer == "debussy"
        for link in involved
        for report in drift_by_key.get(link.key, [])
        if report.drift_type != "label_mismatch"
    )
    if debussy_newer and not force:
        plan.skipped.append(
            Skipped(
                "conflict",
                action.issues,
                action.phase_id,
                f"phase {action.phase_id} changed in Debussy after the tracker did; "
                f"would set it {action.to_status} ({action.why}) — use --force to apply",
                action,
            )
        )
        return
    plan.phase_actions.append(action)


def _plan_level(
    plan: SyncPlan,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    statuses: Mapping[IssueKey, IssueStatus],
    drift_by_key: Mapping[IssueKey, list[DriftReport]],
    planned: set[str],
    force: bool,
) -> None:
    """All plan-level issues closed as completed → every remaining phase completes."""
    if not links or not any(link.key in drift_by_key for link in links):
        return
    known = [statuses[link.key] for link in links if link.key in statuses]
    if len(known) != len(links) or not all(_closed_completed(s) for s in known):
        return
    keys = ", ".join(link.display_key for link in links)
    for phase in phases:
        if phase.status == "completed" or phase.phase_id in planned:
            continue
        action = _action(
            phase, "completed", None, links, f"plan issue(s) {keys} closed as completed"
        )
        _add(plan, action, drift_by_key, links, force)


def _note_tracker_only(plan: SyncPlan, drift: Sequence[DriftReport], acted_on: set[str]) -> None:
    """Drift this direction leaves alone, so the user knows what would fix it."""
    for report in drift:
        if report.drift_type == "missing":
            plan.skipped.append(_skip(report, "missing"))
        elif report.drift_type == "unlinked":
            plan.skipped.append(
                _skip(
                    report,
                    "needs_to_tracker",
                    "`debussy sync --direction to-tracker` would remove the label",
                )
            )
        elif report.drift_type == "pr_not_merged":
            plan.skipped.append(
                _skip(report, "cannot_fix", "a pull request is never written; merge it on GitHub")
            )
        elif report.drift_type in ("label_mismatch", "status_mismatch", "structure"):
            plan.skipped.append(
                _skip(
                    report, "needs_to_tracker", "`debussy sync --direction to-tracker` would fix it"
                )
            )


def _skip(report: DriftReport, kind: SkipKind, remedy: str = "") -> Skipped:
    detail = f"{report.issue}: {report.detail}" + (f" — {remedy}" if remedy else "")
    return Skipped(kind, (report.issue,), report.phase, detail)


def plan_to_tracker(
    detector: DriftDetector,
    statuses: Mapping[IssueKey, IssueStatus],
    drift: Sequence[DriftReport],
) -> SyncPlan:
    """The tracker writes that make every drifting issue match Debussy.

    An issue the plan no longer links gets only "remove Debussy's labels"
    (its expectation is ``drift_detector.UNLINKED``): nothing else is touched.
    """
    plan = SyncPlan("to-tracker", detector.run)
    drifting = {(r.platform, r.ref) for r in drift if r.drift_type != "missing"}
    for report in drift:
        if report.drift_type == "missing":
            plan.skipped.append(_skip(report, "missing"))
    handled: set[IssueKey] = set()
    for judgement in detector.judge(statuses):
        key = judgement.link.key
        if key not in drifting or key not in statuses:
            continue
        writes, note = _writes(judgement, statuses[key], detector.config)
        plan.writes += writes
        if writes or note:
            handled.add(key)
        if note:
            plan.skipped.append(
                Skipped("cannot_fix", (judgement.link.display_key,), judgement.link.phase_id, note)
            )
    # Drift no write can resolve: the issue already looks as Debussy's state wants (say,
    # reopened while its phase completed, which a completed phase allows), yet the two
    # disagree about what happened. Only the other direction settles it; say so rather than
    # print "No changes" over remaining drift.
    for report in drift:
        key = (report.platform, report.ref)
        if key in drifting and key not in handled:
            handled.add(key)
            plan.skipped.append(
                _skip(
                    report, "needs_from_tracker", "`debussy sync` (from-tracker) would resolve it"
                )
            )
    return plan


def _writes(
    judgement: Judgement, actual: IssueStatus, config: Config
) -> tuple[list[TrackerWrite], str | None]:
    link = judgement.link
    status = judgement.status
    why = "no longer in the plan" if status is None else why_expected(link.phase_id, status)
    target = ConvergeTarget(
        ref_from_canonical(link.platform, link.ref),
        link.display_key,
        link.phase_id,
        judgement.expected,
        why=why,
        parent=judgement.parent,
        parent_key=judgement.parent_key,
        unparent=judgement.unparent,
    )
    return writes_to_match(target, actual, config)
