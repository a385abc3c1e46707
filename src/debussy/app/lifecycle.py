"""Phase lifecycle events → tracker convergence (labels, Jira transitions, auto-close,
reason comments, sub-issue links).

By the time this runs, the event is already committed to the state database:
whatever happens here (tracker down, token wrong, transition missing) is
reported and recorded, and never undoes or blocks the event.

Which issues an event affects (README.md, "Commands"), always, whatever the event
changed: the phase's issues, expected to match the phase's status, and the
plan-level issues, expected to match the run's aggregate. When the run is
complete, every linked issue is included, so auto-close closes them all (with a
comment naming the run and its phases). Because each issue is compared with what it
should be — not with what this event changed — a replay, a retry after a failure or
a real run after ``--dry-run-sync`` finishes the job.

Comments (an event's ``--reason``, auto-close's note) carry a hidden marker
(``debussy.sync.trackers.markers``); the convergence read looks for it, so a replay posts a
comment only if it is missing. With ``github.sub_issues`` a phase issue also expects
to be a sub-issue of the plan issue (PRODUCT.md §7 "Structure").
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess  # nosec B404
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.issues import GitHubRef, ref_from_canonical
from debussy.state.changes import NewPush, PhaseTransition, PushRecord, SyncEntry
from debussy.state.records import Hold, IssueKey, LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import PhaseStatus, as_phase_status
from debussy.sync.converge import Convergence, run_convergence
from debussy.sync.drift_detector import (
    UNLINKED,
    LinkedContext,
    expectation_for,
    linked_contexts,
    other_owner_issues,
    structure_child,
    structure_parent,
    sub_issues_added,
    watched_unlinked,
    why_expected,
)
from debussy.sync.expected import closes_issues
from debussy.sync.trackers import is_active
from debussy.sync.trackers.markers import marker_id
from debussy.sync.trackers.writes import DONE_OUTCOMES, WriteResult
from debussy.sync.writes import ConvergeTarget
from debussy.timeutil import to_iso

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.app.project import Project
    from debussy.config import Config


@dataclass(frozen=True, slots=True)
class EventComment:
    """What a ``phase done|fail|block --reason R`` says on each issue of the phase.

    ``text`` is the comment without the pull request lines (their state is read with
    the issues) and without the marker, which ``marker`` identifies: the run, the
    phase and the event (its status, the phase's ``changed_at`` and a digest of the
    reason, all of which a replay of the same command keeps), so a replay finds the
    comment it already posted.
    """

    phase_id: str
    text: str
    marker: str


def event_comment(
    run: RunRecord,
    phase: PhaseRecord,
    reason: str | None,
    commit: str | None,
) -> EventComment | None:
    """The evidence comment of an event, or None without a reason (PRODUCT.md §5)."""
    if not reason or not reason.strip() or phase.status not in ("completed", "failed", "blocked"):
        return None
    lines = [
        f"Debussy: phase {phase.phase_id} ({phase.title}) of '{run.plan_title}' is now "
        f"**{phase.status}**.",
        "",
        f"Reason: {reason.strip()}",
    ]
    if commit:
        lines += ["", f"Commit: {commit}"]
    lines += ["", f"Run {run.id} · {run.plan_path}"]
    # The same command replayed keeps status, reason and changed_at: the same marker.
    digest = hashlib.sha256(reason.strip().encode()).hexdigest()[:8]
    event = f"{phase.status}@{phase.changed_at or 'start'}#{digest}"
    return EventComment(phase.phase_id, "\n".join(lines), marker_id(run.id, phase.phase_id, event))


def git_commit(root: Path) -> str | None:
    """The project's ``HEAD`` commit when it is a git repository (else None, never an error)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 -- a fixed argv, no shell, no user text
            [git, "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) >= 7 else None


def _auto_close_comment(run: RunRecord, phases: Sequence[PhaseRecord]) -> str:
    named = ", ".join(f"{phase.phase_id} ({phase.title})" for phase in phases) or "none"
    return (
        f"the plan '{run.plan_title}' ({run.plan_path}) completed in run {run.id}."
        f"\n\nPhases: {named}."
    )


def lifecycle_targets(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    phase_id: str | None,
    config: Config,
    *,
    before: Sequence[PhaseRecord] | None = None,
    comment: EventComment | None = None,
    holds: Mapping[IssueKey, Hold] | None = None,
) -> tuple[list[ConvergeTarget], list[LinkedIssue]]:
    """The issues an event on ``phase_id`` affects, with their expectations (pure).

    ``phase_id=None``: every linked issue (``sync --direction to-tracker``).
    ``before``: the phases as they were before the event. Given (a lifecycle
    event), each target carries what Debussy expected before and when it last
    decided, so a person's newer change of state is left alone
    (``writes.person_holds``, PRODUCT.md §5); auto-close's closing is the one
    exception (``overrides``: it closes, and says so), as ``to-tracker --apply`` is
    (no ``before``; its plan marks such writes). ``holds``: the run's recorded
    holds (a person's state an earlier event left as is), kept by this event too
    while the issue still shows them.
    ``comment``: the event's evidence, for each issue of its phase.
    With ``github.sub_issues`` each phase issue under the plan issue's owner carries
    that plan issue as its ``parent``.

    Returns the targets on enabled platforms and the affected links whose
    platform is disabled (reported, never contacted).
    """
    closes = closes_issues(run, (phase.status for phase in phases))
    previous: dict[tuple[str, str, str | None], LinkedContext] = {}
    closed_before = False
    if before is not None:
        closed_before = closes_issues(run, (phase.status for phase in before))
        for earlier in linked_contexts(before, links):
            previous[_link_key(earlier.link)] = earlier
    close_text = _auto_close_comment(run, phases)
    plan_issue = structure_parent(run, links, config)
    targets: list[ConvergeTarget] = []
    disabled: list[LinkedIssue] = []
    for context in linked_contexts(phases, links):
        link = context.link
        if not (closes or phase_id is None or link.phase_id in (None, phase_id)):
            continue
        if not _enabled(link.platform, config):
            disabled.append(link)
            continue
        expectation = expectation_for(context, config, auto_close=closes)
        earlier = previous.get(_link_key(link))
        if earlier is not None:
            was = expectation_for(earlier, config, auto_close=closed_before)
            decided_at = earlier.changed_at
        else:
            was, decided_at = None, None
        commented = comment is not None and link.phase_id == comment.phase_id
        closing = closes and link.platform == "github"
        parent = structure_child(link, plan_issue)
        targets.append(
            ConvergeTarget(
                ref_from_canonical(link.platform, link.ref),
                link.display_key,
                link.phase_id,
                expectation,
                why=why_expected(link.phase_id, context.status)
                + (" (auto-close)" if closes else ""),
                close_comment=close_text if closing else None,
                previous=was,
                decided_at=decided_at,
                overrides=closing,
                close_marker=marker_id(run.id, None, "auto-close") if closing else None,
                comment=comment.text if commented and comment is not None else None,
                comment_marker=comment.marker if commented and comment is not None else None,
                parent=parent,
                parent_key=plan_issue.display_key if parent and plan_issue else None,
                hold=(holds or {}).get(link.key) if before is not None else None,
            )
        )
    return targets, disabled


def _link_key(link: LinkedIssue) -> tuple[str, str, str | None]:
    return (link.platform, link.ref, link.phase_id)


def other_owner_warnings(run: RunRecord, links: Sequence[LinkedIssue], config: Config) -> list[str]:
    """One line per phase issue of another owner: GitHub refuses it as a sub-issue."""
    plan_issue = structure_parent(run, links, config)
    if plan_issue is None:
        return []
    return [
        f"{link.display_key} stays out of {plan_issue.display_key}'s sub-issues: GitHub "
        "allows sub-issues of the same owner only"
        for link in other_owner_issues(links, plan_issue)
    ]


def structure_targets(
    run: RunRecord, links: Sequence[LinkedIssue], config: Config
) -> list[ConvergeTarget]:
    """``start`` with ``github.sub_issues``: the plan issue and its would-be sub-issues.

    Structure only: a run that just started decides nothing about state or labels.
    The plan issue is read too (its node id is the parent's in ``addSubIssue``).
    """
    plan_issue = structure_parent(run, links, config)
    if plan_issue is None:
        return []
    targets: list[ConvergeTarget] = []
    for link in links:
        parent = structure_child(link, plan_issue)
        if parent is None and link is not plan_issue:
            continue
        targets.append(
            _label_only(
                link,
                "the plan is made of its phases",
                parent=parent,
                parent_key=plan_issue.display_key if parent is not None else None,
                structure_only=True,
            )
        )
    return targets if len(targets) > 1 else []


def _label_only(
    link: LinkedIssue,
    why: str,
    *,
    parent: GitHubRef | None = None,
    unparent: GitHubRef | None = None,
    parent_key: str | None = None,
    structure_only: bool = False,
) -> ConvergeTarget:
    """A target whose state is left alone (``UNLINKED``: any state, no Debussy label)."""
    return ConvergeTarget(
        ref_from_canonical(link.platform, link.ref),
        link.display_key,
        link.phase_id,
        UNLINKED,
        why=why,
        parent=parent,
        parent_key=parent_key,
        structure_only=structure_only,
        unparent=unparent,
    )


def unlinked_targets(
    links: Sequence[LinkedIssue],
    unlinked: Sequence[LinkedIssue],
    config: Config,
    *,
    run: RunRecord | None = None,
    pushes: Sequence[PushRecord] = (),
    syncs: Sequence[SyncEntry] = (),
) -> list[ConvergeTarget]:
    """Issues the plan no longer links: only Debussy's label comes off (``UNLINKED``).

    With ``github.sub_issues``, one Debussy made a sub-issue of the plan issue (the
    push history says so) is taken off it too; a link a person made stays.
    """
    if not config.github.enabled:
        return []
    plan_issue = structure_parent(run, links, config) if run is not None else None
    ours = sub_issues_added(plan_issue, pushes, syncs) if plan_issue is not None else set()
    targets: list[ConvergeTarget] = []
    for link in watched_unlinked(links, unlinked):
        unparent: GitHubRef | None = None
        if plan_issue is not None and link.ref in ours:
            parent_ref = ref_from_canonical("github", plan_issue.ref)
            unparent = parent_ref if isinstance(parent_ref, GitHubRef) else None
        targets.append(
            _label_only(
                link,
                "no longer in the plan",
                unparent=unparent,
                parent_key=plan_issue.display_key if unparent and plan_issue else None,
            )
        )
    return targets


def _enabled(platform: str, config: Config) -> bool:
    return is_active(config, platform)


def converge_event(
    targets: Sequence[ConvergeTarget], config: Config, cache_path: Path, *, send: bool
) -> Convergence:
    """Read the targets fresh, plan, and (unless a dry run) send (blocking)."""
    return run_convergence(targets, config, cache_path, send=send)


STATE_ACTIONS = frozenset({"close", "reopen", "transition"})


def hold_changes(
    run_id: str, targets: Sequence[ConvergeTarget], outcome: Convergence
) -> tuple[list[Hold], list[tuple[str, IssueKey]]]:
    """What the event decided about people's changes: holds to record, holds that end.

    An issue whose state the event left as a person set it (``Note.held``) is
    held. Any other issue the event read ends its hold: Debussy changed its state
    (a confirmed close, reopen or transition, auto-close's included), or it
    already matches what Debussy expects, or its state changed again on the
    tracker. Issues on a tracker that could not be read keep theirs.
    """
    unread = {failure.platform for failure in outcome.read_failures}
    by_key = {target.display_key: target for target in targets}
    holds: list[Hold] = []
    held: set[IssueKey] = set()
    for note in outcome.notes:
        target = by_key.get(note.display_key)
        status = note.held
        if target is None or status is None:
            continue
        key = (target.ref.platform, target.ref.canonical)
        held.add(key)
        holds.append(
            Hold(
                run_id=run_id,
                platform=key[0],
                ref=key[1],
                state=status.state,
                state_reason=status.state_reason,
                status_category=status.status_category,
                state_changed_at=to_iso(status.state_changed_at)
                if status.state_changed_at
                else None,
            )
        )
    released: list[tuple[str, IssueKey]] = [
        (run_id, key)
        for target in targets
        if target.ref.platform not in unread
        and (key := (target.ref.platform, target.ref.canonical)) not in held
    ]
    return holds, released


def released_by(results: Sequence[WriteResult]) -> list[IssueKey]:
    """Issues whose state a push confirmed changing (``to-tracker --apply``): holds end."""
    return list(
        dict.fromkeys(
            (result.write.ref.platform, result.write.ref.canonical)
            for result in results
            if result.write.action in STATE_ACTIONS and result.outcome in DONE_OUTCOMES
        )
    )


def push_records(run_id: str, results: Sequence[WriteResult]) -> list[NewPush]:
    """Every write's outcome for ``history`` (``tracker_pushes``), in the §8 vocabulary."""
    return [
        NewPush(
            run_id=run_id,
            phase_id=result.write.phase_id,
            platform=result.write.ref.platform,
            ref=result.write.ref.canonical,
            action=result.write.describe().split(": ", 1)[1],
            outcome=result.outcome,
            detail=result.detail,
        )
        for result in results
    ]


# --- the use cases: one call from a command, one result back --------------------------------

Waiting = Callable[[str], AbstractContextManager[object]]
"""Shows a wait while the trackers are read or written (the spinner), given its message."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """A lifecycle event as committed, before any tracker is asked (printed at once)."""

    run_before: RunRecord
    transition: PhaseTransition

    def warnings(self) -> list[str]:
        """Accepted, but unusual: what happened, in one line each.

        A replay on a completed run changes nothing and stays silent: replaying is how a
        push interrupted by a crash or a tracker outage is finished.
        """
        transition = self.transition
        phase = f"phase {transition.phase_id}"
        found: list[str] = []
        if transition.old_status == "pending" and transition.new_status == "completed":
            found.append(f"{phase} was never started; it was completed directly")
        if transition.run_reopened:
            found.append(
                f"run {self.run_before.id} had completed; {phase} is now "
                f"{transition.new_status}, so the run is open again"
            )
        return found


@dataclass(frozen=True, slots=True)
class EventResult:
    """What a lifecycle event did: the transition, and the push (None: no issue to update)."""

    transition: PhaseTransition
    outcome: Convergence | None


def replay_command(phase_id: str, status: str) -> str:
    """The command that finishes an interrupted push: the same event again."""
    verbs = {"running": "start", "completed": "done", "failed": "fail", "blocked": "block"}
    return f"debussy phase {verbs.get(status, 'start')} {phase_id}"


def lifecycle_event(
    project: Project,
    run: RunRecord,
    phase_id: str,
    status: str,
    reason: str | None,
    *,
    send: bool,
    recorded: Callable[[Recorded], None],
    waiting: Waiting,
) -> EventResult:
    """``phase start|done|fail|block`` and ``done``: record the event, then converge its issues.

    The event is committed first and handed to ``recorded`` (the command prints it and
    notes it is saved) before any tracker is asked: a tracker failure never loses it.
    ``send=False`` (``--dry-run-sync``) reads and plans but sends nothing, and holds
    nothing either: it leaves nothing as anyone set it.
    """
    state = project.state
    phase_status: PhaseStatus = as_phase_status(status)
    before = state.phases(run.id)
    transition = state.record_phase_status(run.id, phase_id, phase_status, reason)
    recorded(Recorded(run, transition))
    run = state.get_run(run.id)
    phases = state.phases(run.id)
    changed = next((p for p in phases if p.phase_id == transition.phase_id), None)
    comment = (
        event_comment(run, changed, reason, git_commit(project.root))
        if changed is not None and reason
        else None
    )
    targets, _disabled = lifecycle_targets(
        run,
        phases,
        state.linked_issues(run.id),
        phase_id,
        project.config,
        before=before,
        comment=comment,
        holds=state.holds(run.id),
    )
    if not targets:
        return EventResult(transition, None)
    from debussy.app.dashboard import cache_path
    from debussy.app.project import tracker_names

    issues = len({target.display_key for target in targets})
    message = f"Updating {issues} issue{'' if issues == 1 else 's'} on "
    with waiting(message + f"{tracker_names(project.config)}…"):
        outcome = converge_event(targets, project.config, cache_path(project.root), send=send)
    holds, released = hold_changes(run.id, targets, outcome) if send else ([], [])
    state.record_pushes(push_records(run.id, outcome.results), holds=holds, released=released)
    return EventResult(transition, outcome)


@dataclass(frozen=True, slots=True)
class SubIssueLinking:
    """``start`` with ``github.sub_issues``: what linking the phase issues did."""

    warnings: list[str]
    outcome: Convergence | None
    """None: nothing to link."""


def link_sub_issues(project: Project, run: RunRecord, *, send: bool) -> SubIssueLinking:
    """The new run's phase issues become sub-issues of its plan issue (``github.sub_issues``)."""
    from debussy.app.dashboard import cache_path

    state = project.state
    links = state.linked_issues(run.id)
    warnings = other_owner_warnings(run, links, project.config)
    targets = structure_targets(run, links, project.config)
    if not targets:
        return SubIssueLinking(warnings, None)
    outcome = converge_event(targets, project.config, cache_path(project.root), send=send)
    if outcome.results:
        state.record_pushes(push_records(run.id, outcome.results))
    return SubIssueLinking(warnings, outcome)
