"""The convergence engine's rules: from what an issue looks like now to the fewest writes.

Every write path (lifecycle events, ``sync --direction to-tracker --apply``,
auto-close) describes its work as ``ConvergeTarget`` values — an issue and the
state Debussy expects of it — and hands them to ``debussy.sync.converge``, which
reads the issues in one batch and asks ``plan_writes`` here what to send. This
module is pure (no I/O): the same function answers ``--dry-run-sync``, the sync
plan and the real run, so a dry run prints exactly what a real run sends, and a
second run finds nothing to do.

The writes never replace an issue's label set: a ``set_label`` write carries the
Debussy labels to remove and the one to add, and the clients send exactly those
(GitHub's add/remove mutations), so a label a person adds meanwhile survives.

Every write sent ends with one ``Outcome`` (PRODUCT.md §8 "Results"): ``applied``
(the tracker confirmed it), ``already`` (nothing to send), ``refused`` (the
tracker said no: its reason in ``detail``), ``unconfirmed`` (no answer, a
timeout, a 5xx, or an answer that does not confirm it: the next read decides)
and ``skipped`` (not sent: writes were stopped by a rate limit or a failure
that may have applied, or a conflict). Only ``applied`` and ``already`` mean the
tracker matches; anything else makes the command exit 1 naming the replay.

People win (PRODUCT.md §5): a lifecycle event's target carries the expectation
Debussy had *before* the event and when Debussy last decided (``previous``,
``decided_at``). An issue that does not match that old expectation and changed
on the tracker after it (``newer_side`` says ``tracker``) was changed by a
person: the event still sets Debussy's label but leaves its open/closed state or
Jira status alone and reports the drift (a ``Note``, not a failure). The note
carries the state it left (``Note.held``), which the event records as a hold:
while the issue still shows it, later events leave it too (``ConvergeTarget.hold``)
and drift says the tracker is newer.

Comments are planned only while their marker is missing from the issue's latest
comments (``IssueView.markers``), so they are posted once per event. Sub-issue links
(``github.sub_issues``) are per-child writes — ``add_sub_issue`` when the issue has no
parent, never over another parent (a note instead), ``remove_sub_issue`` only for a
link Debussy made — checked against GitHub's limits before anything is sent. A pull
request is never written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from debussy.issues import SUB_ISSUE_WORDS, GitHubRef, IssueRef, IssueStatus
from debussy.sync.expected import (
    GitHubExpectation,
    JiraExpectation,
    is_debussy_label,
    newer_side,
    still_held,
)
from debussy.sync.trackers import tracker_name
from debussy.sync.trackers.markers import hidden_marker, plain_marker
from debussy.sync.trackers.writes import (
    IssueView,
    TrackerWrite,
    WriteAction,
    pick_transition,
)

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.config import Config
    from debussy.state.records import Hold

MAX_SUB_ISSUES = 100
"""GitHub's limit of sub-issues under one parent
(https://docs.github.com/issues/tracking-your-work-with-issues/using-issues/adding-sub-issues)."""
CloseReason = Literal["completed", "not_planned", "duplicate"]


def parent_key_from(action: str, described: str) -> str | None:
    """The parent's display key back from a described sub-issue write (a saved plan's
    ``to``), so a reloaded write describes itself exactly as when it was planned."""
    prefix = SUB_ISSUE_WORDS.get(action)
    if prefix is None or not described.startswith(prefix):
        return None
    return described.removeprefix(prefix)


def touched_refs(writes: Sequence[TrackerWrite]) -> list[IssueRef]:
    """The issues ``writes`` changed, once each: a sub-issue link changes its parent too
    (its ``subIssuesSummary``), so a cached parent must be read again as well."""
    touched: dict[IssueRef, None] = {}
    for write in writes:
        touched[write.ref] = None
        if write.action in ("add_sub_issue", "remove_sub_issue") and write.value:
            repo, _, number = write.value.rpartition("#")
            touched[GitHubRef(repo, int(number))] = None
    return list(touched)


@dataclass(frozen=True, slots=True)
class ConvergeTarget:
    """An issue an action affects and the state Debussy expects of it.

    ``close_comment``: auto-close's note (after "Closed by Debussy: "), sent with the
    close; with ``close_marker`` and the comments read, also after it when a replay
    finds the note missing, and never twice. An
    expectation with any state and no label (``GitHubExpectation({"open",
    "closed"}, None, None)``) means "remove Debussy labels, touch nothing else".
    """

    ref: IssueRef
    display_key: str
    phase_id: str | None
    expectation: GitHubExpectation | JiraExpectation
    why: str
    close_comment: str | None = None
    previous: GitHubExpectation | JiraExpectation | None = None
    """What Debussy expected of the issue before this event, see ``person_holds``; None
    (``to-tracker --apply``, which overrides on purpose and says so in its plan): no
    person's change is held."""
    decided_at: datetime | None = None
    """When Debussy last changed the phase before this event (None: never)."""
    overrides: bool = False
    """Change state even against a person's newer change, saying so (auto-close)."""
    close_marker: str | None = None
    """The marker identity of ``close_comment`` (``debussy.sync.trackers.markers``)."""
    comment: str | None = None
    """An event's comment (reason and evidence), posted once: when ``comment_marker`` is
    not among the issue's latest comments."""
    comment_marker: str | None = None
    parent: GitHubRef | None = None
    """``github.sub_issues``: the plan issue this issue should be a sub-issue of."""
    parent_key: str | None = None
    structure_only: bool = False
    """Only sub-issue links are converged (``start``): state and labels are left alone."""
    unparent: GitHubRef | None = None
    """An issue the plan stopped linking that Debussy once made a sub-issue of this plan
    issue: the link comes off (to-tracker only)."""
    hold: Hold | None = None
    """A person's state an earlier event left as is (``still_held``); only lifecycle
    events pass it, so it is kept while the issue still shows it."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something about an issue that no write can (or may) fix; reported, not sent."""

    display_key: str
    phase_id: str | None
    detail: str
    failed: bool = False
    """True when it means the push is incomplete (the command exits 1)."""
    held: IssueStatus | None = None
    """The issue as read when a person's state was left as is: the event records it
    as a hold (``StateManager.record_pushes``)."""


@dataclass(slots=True)
class WritePlan:
    writes: list[TrackerWrite] = field(default_factory=list[TrackerWrite])
    notes: list[Note] = field(default_factory=list[Note])


def plan_writes(
    targets: Sequence[ConvergeTarget], views: Mapping[IssueRef, IssueView], config: Config
) -> WritePlan:
    """The writes that make every target match its expectation, in sending order.

    A target the read has nothing for (its platform failed) is left out; the
    caller reports the read failure. One issue linked twice (a phase and the
    plan) is planned once, for its first target.
    """
    plan = WritePlan()
    seen: set[IssueRef] = set()
    pulls = _pull_request_lines(targets, views)
    for target in targets:
        if target.ref in seen:
            continue
        seen.add(target.ref)
        view = views.get(target.ref)
        if view is None:
            continue
        if target.comment is not None and pulls.get(target.phase_id):
            target = replace(target, comment=f"{target.comment}\n\n{pulls[target.phase_id]}")
        writes, note = writes_for_target(target, view, config)
        plan.writes += writes
        if note is not None and not _pull_request_as_expected(target, view, config):
            plan.notes.append(note)
        plan.notes += _structure_notes(target, view)
    _check_structure_limits(plan, {ref.canonical: view for ref, view in views.items()})
    return plan


def _pull_request_remedy(state: str | None) -> str:
    """What a person can do about a pull request that disagrees with its phase."""
    if state == "merged":
        return "`debussy sync` completes its phase from it"
    if state == "closed":
        return "`debussy sync` blocks its phase; or reopen it and merge it on GitHub"
    return "merge it on GitHub, or take it out of the plan"


def _pull_request_as_expected(target: ConvergeTarget, view: IssueView, config: Config) -> bool:
    """A pull request nothing needs to happen to: an event need not mention it.

    Only a completed phase asks something of its pull request (merged); the note that
    Debussy never writes to it is kept for that case, where the person must act.
    """
    status = view.status
    if not (view.is_pull_request or status.is_pull_request):
        return False
    expectation = target.expectation
    completed = (
        isinstance(expectation, GitHubExpectation)
        and expectation.label is not None
        and expectation.label.casefold() == config.github.labels.completed.casefold()
    )
    return not completed or status.state == "merged"


def _pull_request_lines(
    targets: Sequence[ConvergeTarget], views: Mapping[IssueRef, IssueView]
) -> dict[str | None, str]:
    """Per phase, its pull requests with the state the read found (the comment's evidence)."""
    found: dict[str | None, dict[str, str]] = {}
    for target in targets:
        view = views.get(target.ref)
        if view is not None and view.status.is_pull_request:
            state = view.status.state or "unknown"
            found.setdefault(target.phase_id, {})[target.display_key] = state
    return {
        phase: "Pull requests: " + ", ".join(f"{key} ({state})" for key, state in states.items())
        for phase, states in found.items()
    }


def _structure_notes(target: ConvergeTarget, view: IssueView) -> list[Note]:
    """An issue under another parent stays there (never ``replaceParent``): reported."""
    status = view.status
    if target.parent is None or status.missing or status.is_pull_request:
        return []
    if status.parent is None or status.parent == target.parent.canonical:
        return []
    return [
        Note(
            target.display_key,
            target.phase_id,
            f"{target.display_key} is a sub-issue of {status.parent}, not of "
            f"{target.parent_key}; Debussy leaves it where it is",
        )
    ]


def _check_structure_limits(plan: WritePlan, views: Mapping[str, IssueView]) -> None:
    """GitHub's refusals, said plainly before anything is sent: 100 per parent, no cycles.

    ``views`` by canonical reference (a sub-issue write names its parent that way).
    """
    kept: list[TrackerWrite] = []
    added: dict[str, int] = {}
    for write in plan.writes:
        if write.action != "add_sub_issue" or write.value is None:
            kept.append(write)
            continue
        parent_view = views.get(write.value)
        parent_status = parent_view.status if parent_view is not None else None
        if parent_status is not None and parent_status.parent == write.ref.canonical:
            plan.notes.append(
                Note(
                    write.display_key,
                    write.phase_id,
                    f"{write.display_key} cannot become a sub-issue of {write.parent_key}: "
                    f"{write.parent_key} is its sub-issue (GitHub refuses cycles)",
                    failed=True,
                )
            )
            continue
        total = parent_status.sub_issues[1] if parent_status and parent_status.sub_issues else 0
        added[write.value] = added.get(write.value, 0) + 1
        if total + added[write.value] > MAX_SUB_ISSUES:
            plan.notes.append(
                Note(
                    write.display_key,
                    write.phase_id,
                    f"{write.display_key} cannot become a sub-issue of {write.parent_key}: "
                    f"GitHub allows at most {MAX_SUB_ISSUES} sub-issues per parent",
                    failed=True,
                )
            )
            continue
        kept.append(write)
    plan.writes = kept


def writes_for_target(
    target: ConvergeTarget, view: IssueView, config: Config
) -> tuple[list[TrackerWrite], Note | None]:
    """One issue's writes, or why none can be sent."""
    status = view.status
    if view.is_pull_request or status.is_pull_request:
        state = f" ({status.state})" if status.is_pull_request and status.state else ""
        return [], Note(
            target.display_key,
            target.phase_id,
            f"{target.display_key} is a pull request{state}, not an issue; Debussy never "
            f"writes to it ({_pull_request_remedy(status.state)})",
        )
    if status.missing:
        name = tracker_name(status.platform)
        return [], Note(
            target.display_key,
            target.phase_id,
            f"{target.display_key}: not found on {name} (deleted, transferred, or not visible); "
            "nothing written",
        )
    expectation = target.expectation
    if target.structure_only:
        return _structure_writes(target, status), None
    if isinstance(expectation, GitHubExpectation):
        return _github_writes(target, expectation, view, config)
    writes, note = _jira_writes(target, expectation, view)
    return writes + _event_comment(target, view, plain_marker), note or _moved_note(target, status)


def _moved_note(target: ConvergeTarget, status: IssueStatus) -> Note | None:
    """Said once per command: a Jira issue moved to another project is written there."""
    if status.moved_to is None:
        return None
    return Note(
        target.display_key,
        target.phase_id,
        f"{target.display_key} was moved to {status.moved_to} on Jira; "
        f"writing to {status.moved_to} (update the plan's link when convenient)",
    )


def person_holds(target: ConvergeTarget, status: IssueStatus) -> bool:
    """True when a person changed the issue's state after Debussy's last decision.

    The issue does not match what Debussy expected of it before this event, and
    the tracker changed after Debussy last did (``newer_side``, whole seconds),
    or it still shows a state an earlier event held for its person: that state is
    a person's newer decision, which a lifecycle event never reverses (PRODUCT.md §5).
    """
    previous = target.previous
    if previous is None:
        return False
    if still_held(target.hold, status):
        return True
    if isinstance(previous, GitHubExpectation):
        matched = previous.allows(status.state, status.state_reason)
    else:
        matched = previous.allows(status.status_category, status.state_reason)
    if matched:
        return False
    changed = status.state_changed_at or status.last_updated
    return newer_side(changed, target.decided_at) == "tracker"


def _left_as_is(target: ConvergeTarget, status: IssueStatus) -> Note:
    state = status.state or "unknown"
    if status.state_reason and status.platform == "github":
        state += f" ({status.state_reason.replace('_', ' ')})"
    return Note(
        target.display_key,
        target.phase_id,
        f"{target.display_key}: left {state} as a person set it after Debussy's last change "
        f"(expected {target.expectation.describe()}); `debussy sync` shows the drift, "
        "`debussy sync --direction to-tracker --apply` overrides it",
        held=status,
    )


def _event_comment(
    target: ConvergeTarget, view: IssueView, marked: Callable[[str], str]
) -> list[TrackerWrite]:
    """The event's comment, unless its marker is already among the issue's comments."""
    if target.comment is None or target.comment_marker is None:
        return []
    if view.markers is not None and target.comment_marker in view.markers:
        return []
    body = f"{target.comment}\n\n{marked(target.comment_marker)}"
    return [
        TrackerWrite(target.ref, target.display_key, target.phase_id, "comment", body, target.why)
    ]


def _structure_writes(target: ConvergeTarget, status: IssueStatus) -> list[TrackerWrite]:
    """Add the missing sub-issue link; take off one Debussy added that the plan dropped."""

    def write(action: WriteAction, parent: GitHubRef) -> TrackerWrite:
        return TrackerWrite(
            target.ref,
            target.display_key,
            target.phase_id,
            action,
            parent.canonical,
            target.why,
            parent_key=target.parent_key,
        )

    if target.parent is not None and status.parent is None:
        return [write("add_sub_issue", target.parent)]
    if target.unparent is not None and status.parent == target.unparent.canonical:
        return [write("remove_sub_issue", target.unparent)]
    return []


def _github_writes(
    target: ConvergeTarget, expectation: GitHubExpectation, view: IssueView, config: Config
) -> tuple[list[TrackerWrite], Note | None]:
    writes, note = _state_writes(target, expectation, view, config)
    more = _structure_writes(target, view.status) + _event_comment(target, view, hidden_marker)
    return writes + more, note


def _close_note(target: ConvergeTarget, view: IssueView, closing: bool) -> str | None:
    """Auto-close's comment: with the close, or after it if a replay finds it missing."""
    if target.close_comment is None:
        return None
    # Only a close sent now says "Closed by": an issue found closed may have been closed
    # by a person (or by Debussy, whose comment was lost), so the late note just tells.
    text = f"{'Closed by Debussy' if closing else 'Debussy'}: {target.close_comment}"
    marker = target.close_marker
    if view.markers is None or marker is None:
        return text if closing else None
    if marker in view.markers:
        return None
    if closing or view.status.state == "closed":
        return f"{text}\n\n{hidden_marker(marker)}"
    return None


def _state_writes(
    target: ConvergeTarget, expectation: GitHubExpectation, view: IssueView, config: Config
) -> tuple[list[TrackerWrite], Note | None]:
    status = view.status

    def write(
        action: WriteAction,
        value: str | None,
        add: tuple[str, ...] = (),
        remove: tuple[str, ...] = (),
    ) -> TrackerWrite:
        return TrackerWrite(
            target.ref,
            target.display_key,
            target.phase_id,
            action,
            value,
            target.why,
            add=add,
            remove=remove,
        )

    writes: list[TrackerWrite] = []
    wanted = expectation.label
    have = [name for name in status.labels if is_debussy_label(name, config.github)]
    remove = tuple(name for name in have if wanted is None or name.casefold() != wanted.casefold())
    present = wanted is not None and any(n.casefold() == wanted.casefold() for n in have)
    add = (wanted,) if wanted is not None and not present else ()
    if add or remove:
        writes.append(write("set_label", wanted, add=add, remove=remove))
    if expectation.allows(status.state, status.state_reason):
        late = _close_note(target, view, closing=False) if expectation.wants_closed else None
        if late is not None:
            writes.append(write("comment", late))
        return writes, None
    note: Note | None = None
    if person_holds(target, status):
        if not target.overrides:
            return writes, _left_as_is(target, status)
        note = Note(
            target.display_key,
            target.phase_id,
            f"{target.display_key}: auto-close changes it although a person set it "
            f"{status.state} after Debussy's last change",
        )
    reason = _close_reason(expectation)
    if status.state == "closed" and "closed" in expectation.states:
        # Closed for a reason the phase does not allow: GitHub ignores a new reason on a
        # closed issue, so reopen, then close with the right one.
        writes += [write("reopen", None), write("close", reason)]
    elif status.state == "closed":
        writes.append(write("reopen", None))
    else:
        closing = _close_note(target, view, closing=True)
        if closing is not None:
            writes.append(write("comment", closing))
        writes.append(write("close", reason))
    return writes, note


def _close_reason(expectation: GitHubExpectation) -> CloseReason:
    reasons = expectation.close_reasons
    if reasons is None or "completed" in reasons:
        return "completed"
    return "not_planned"


def _jira_writes(
    target: ConvergeTarget, expectation: JiraExpectation, view: IssueView
) -> tuple[list[TrackerWrite], Note | None]:
    status = view.status
    if expectation.allows(status.status_category, status.state_reason):
        return [], None
    if person_holds(target, status):
        return [], _left_as_is(target, status)
    wanted = expectation.transition
    if not wanted:
        return [], _unconfigured(target, status, expectation)
    chosen = pick_transition(view.transitions, wanted)
    if chosen is None:
        offered = ", ".join(dict.fromkeys(t.to_name for t in view.transitions)) or "none"
        return [], Note(
            target.display_key,
            target.phase_id,
            f"{target.display_key}: no transition to '{wanted}' from {status.state} "
            f"(available: {offered})",
            failed=True,
        )
    return [
        TrackerWrite(
            target.ref,
            target.display_key,
            target.phase_id,
            "transition",
            wanted,
            target.why,
            target_id=chosen.id,
            target_category=chosen.to_category,
        )
    ], _moved_note(target, status)


def _unconfigured(
    target: ConvergeTarget, status: IssueStatus, expectation: JiraExpectation
) -> Note:
    """A Jira issue in the wrong category with no transition configured to leave it."""
    return Note(
        target.display_key,
        target.phase_id,
        f"{target.display_key}: Jira is {status.state} ({status.status_category}); no "
        f"transition is configured to reach '{expectation.describe()}'"
        + (f" (set {expectation.setting} in .debussy/config.yaml)" if expectation.setting else ""),
    )


def writes_to_match(
    target: ConvergeTarget, actual: IssueStatus, config: Config
) -> tuple[list[TrackerWrite], str | None]:
    """The sync plan's preview of one issue's writes, from a read without transitions.

    Jira transition ids are only known to the convergence read; the preview
    names the target status, which is what a user checks.
    """
    expectation = target.expectation
    if isinstance(expectation, JiraExpectation):
        if expectation.allows(actual.status_category, actual.state_reason):
            return [], None
        if not expectation.transition:
            return [], _unconfigured(target, actual, expectation).detail
        return [
            TrackerWrite(
                target.ref,
                target.display_key,
                target.phase_id,
                "transition",
                expectation.transition,
                target.why,
            )
        ], None
    writes, note = writes_for_target(target, IssueView(actual), config)
    return writes, note.detail if note else None
