"""Saved sync plans (``debussy sync --out FILE``, ``--apply FILE``): the document, pure.

A saved plan is what a reviewer approved, so applying it must do exactly that or
nothing (as ``terraform apply PLAN``). This module turns a ``SyncPlan`` into a
versioned JSON document and back, and judges a saved plan against what the
trackers and the state database say now. It does no I/O: ``app/sync_apply.py``
reads and writes the file, reads the issues, and applies.

The document records every issue the plan was made from (all the run tracks, as
``sync`` reads them all) with the tracker's change time as read (GitHub
``updatedAt``, Jira ``updated``; both move on every change, labels included), the
issues each item rests on, and the status of every phase when the plan was made.
``stale_issues`` and ``stale_phases`` compare those with a fresh read and the
state database: any difference means the reviewed plan no longer describes the
world (PRODUCT.md §8: "re-reads those issues ... refuses ... if any changed"), and
it is refused, as terraform refuses a plan whose state moved.

Integrity: ``digest`` is the SHA-256 of the canonical JSON of everything else.
It catches an edited or truncated file (a hand "fix", a bad merge, a partial
upload); it is not a signature: whoever can rewrite the file can recompute it,
and the state database's record of applied plan ids is what stops a replay.
No secret and no absolute path goes in: the run's plan path is the relative one
the state database keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from debussy import timeutil
from debussy.errors import DebussyError
from debussy.issues import IssueStatus, Platform, ref_from_canonical
from debussy.state.records import IssueKey, LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import PhaseStatus
from debussy.sync.drift_detector import describe_actual
from debussy.sync.reconcile import Direction, PhaseAction, SkipKind, Skipped, SyncPlan
from debussy.sync.trackers.writes import TrackerWrite, WriteAction
from debussy.sync.writes import parent_key_from

PLAN_KIND = "debussy-sync-plan"
PLAN_SCHEMA_VERSION = 1
"""Bumped when a key of the plan file changes meaning; an unknown version is refused."""


class SavedPlanError(DebussyError):
    """A plan file that cannot be applied as it is (foreign, tampered, another run)."""


class ObservedIssue(msgspec.Struct, forbid_unknown_fields=True):
    """One issue an item was planned from, and its tracker change time as read then."""

    issue: str
    platform: Platform
    ref: str
    changed_at: str | None

    @property
    def key(self) -> IssueKey:
        return (self.platform, self.ref)


class PhaseItem(msgspec.Struct, tag="phase", tag_field="kind", forbid_unknown_fields=True):
    """A phase change (``from-tracker``), applied only if the phase still has ``from``."""

    phase: str
    title: str
    from_: PhaseStatus = msgspec.field(name="from")
    to: PhaseStatus
    reason: str | None
    why: str
    issues: list[ObservedIssue]


class WriteItem(msgspec.Struct, tag="write", tag_field="kind", forbid_unknown_fields=True):
    """A tracker write (``to-tracker``): ``from`` is the issue as read, ``to`` the write."""

    phase: str | None
    from_: str = msgspec.field(name="from")
    to: str
    why: str
    action: WriteAction
    value: str | None
    add: list[str]
    remove: list[str]
    issues: list[ObservedIssue]


class LeftOut(msgspec.Struct, forbid_unknown_fields=True):
    """Something the plan does not do (``reconcile.Skipped``), kept for the reviewer."""

    kind: SkipKind
    issues: list[str]
    phase: str | None
    detail: str
    action: dict[str, Any] | None


class SavedRun(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    plan: str
    title: str


class SavedPlan(msgspec.Struct, forbid_unknown_fields=True):
    """The plan file, as validated on load (``load_saved_plan``)."""

    kind: str
    schema_version: int
    id: str
    made_at: str
    run: SavedRun
    direction: Direction
    force: bool
    phases: dict[str, PhaseStatus]
    """Every phase's status when the plan was made (the state the items assume)."""
    issues: list[ObservedIssue]
    """Every issue the plan was made from, with its change time as read."""
    tracked: list[str]
    """``platform:ref`` of every issue the run tracked (read or not: a disabled tracker)."""
    items: list[PhaseItem | WriteItem]
    left_out: list[LeftOut]
    """What the plan does not do (conflicts, the other direction, ...), for the reviewer."""
    digest: str

    def observed(self) -> list[ObservedIssue]:
        """The issues to read again at apply time: every one the plan was made from."""
        return self.issues

    def tracked_keys(self) -> set[IssueKey]:
        keys: set[IssueKey] = set()
        for entry in self.tracked:
            platform, _, ref = entry.partition(":")
            keys.add((platform, ref))
        return keys


def plan_document(
    plan: SyncPlan,
    statuses: Mapping[IssueKey, IssueStatus],
    phases: Sequence[PhaseRecord],
    tracked: Sequence[LinkedIssue],
    *,
    plan_id: str,
    made_at: str,
    force: bool,
) -> dict[str, Any]:
    """The plan file's content, ``digest`` last (``encode`` writes it).

    ``statuses``: the issues read fresh for the plan; ``tracked``: the run's linked
    issues and the unlinked ones it still watches (what ``sync`` reads).
    """
    display = {link.key: link.display_key for link in tracked}
    display.update({(w.ref.platform, w.ref.canonical): w.display_key for w in plan.writes})
    by_name = {name: key for key, name in display.items()}

    def observed(key: IssueKey) -> dict[str, Any]:
        status = statuses.get(key)
        return {
            "issue": display.get(key, key[1]),
            "platform": key[0],
            "ref": key[1],
            "changed_at": change_stamp(status.last_updated if status is not None else None),
        }

    items: list[dict[str, Any]] = []
    for action in plan.phase_actions:
        items.append(
            {
                "kind": "phase",
                "phase": action.phase_id,
                "title": action.title,
                "from": action.from_status,
                "to": action.to_status,
                "reason": action.reason,
                "why": action.why,
                "issues": [observed(by_name[n]) for n in action.issues if n in by_name],
            }
        )
    for write in plan.writes:
        key = (write.ref.platform, write.ref.canonical)
        status = statuses.get(key)
        items.append(
            {
                "kind": "write",
                "phase": write.phase_id,
                "from": describe_actual(status) if status is not None else "unknown",
                "to": write.describe().split(": ", 1)[1],
                "why": write.why,
                "action": write.action,
                "value": write.value if write.action != "comment" else None,
                "add": list(write.add),
                "remove": list(write.remove),
                "issues": [observed(key)],
            }
        )
    return {
        "kind": PLAN_KIND,
        "schema_version": PLAN_SCHEMA_VERSION,
        "id": plan_id,
        "made_at": made_at,
        "run": {"id": plan.run.id, "plan": plan.run.plan_path, "title": plan.run.plan_title},
        "direction": plan.direction,
        "force": force,
        "phases": {phase.phase_id: phase.status for phase in phases},
        "issues": [observed(link.key) for link in tracked if link.key in statuses],
        "tracked": [f"{link.platform}:{link.ref}" for link in tracked],
        "items": items,
        "left_out": [item.as_json() for item in plan.skipped],
    }


def change_stamp(moment: datetime | None) -> str | None:
    """A tracker change time at the tracker's own precision, UTC.

    Jira's ``updated`` has milliseconds: two edits in one second differ only there,
    so cutting to the second (``timeutil.to_iso``) would miss the second edit.
    """
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        stamp += f".{utc.microsecond:06d}".rstrip("0")
    return stamp + "Z"


def encode(document: Mapping[str, Any]) -> str:
    """The file's text: the document with its ``digest``, indented for a reviewer's diff."""
    body = {k: v for k, v in document.items() if k != "digest"}
    return json.dumps({**body, "digest": digest_of(body)}, indent=2) + "\n"


def digest_of(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def load_saved_plan(text: str, name: str) -> SavedPlan:
    """Validate a plan file's text; every refusal is one line naming ``name``."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(f"{name}: not a Debussy sync plan (not JSON: {exc})") from None
    if not isinstance(raw, dict) or raw.get("kind") != PLAN_KIND:
        raise SavedPlanError(
            f"{name}: not a Debussy sync plan (make one with `debussy sync --out {name}`)"
        )
    document: dict[str, Any] = raw  # pyright: ignore[reportUnknownVariableType]
    version = document.get("schema_version")
    if version != PLAN_SCHEMA_VERSION:
        raise SavedPlanError(
            f"{name}: plan schema version {version!r} is not one this Debussy applies "
            f"({PLAN_SCHEMA_VERSION}); make the plan again with this version"
        )
    body = {k: v for k, v in document.items() if k != "digest"}
    if document.get("digest") != digest_of(body):
        raise SavedPlanError(
            f"{name}: the plan was changed after it was made (its digest does not match); "
            "make a new one with `debussy sync --out`"
        )
    try:
        saved = msgspec.convert(document, type=SavedPlan)
    except msgspec.ValidationError as exc:
        raise SavedPlanError(f"{name}: not a valid sync plan: {exc}") from None
    try:
        timeutil.parse_iso(saved.made_at)
        for issue in saved.observed():
            if issue.changed_at is not None:
                timeutil.parse_iso(issue.changed_at)
    except ValueError as exc:
        raise SavedPlanError(f"{name}: not a valid sync plan: bad time ({exc})") from None
    return saved


def to_sync_plan(saved: SavedPlan, run: RunRecord) -> SyncPlan:
    """The ``SyncPlan`` the file describes (what ``--apply FILE`` carries out and shows)."""
    plan = SyncPlan(saved.direction, run)
    for item in saved.items:
        if isinstance(item, PhaseItem):
            plan.phase_actions.append(
                PhaseAction(
                    phase_id=item.phase,
                    title=item.title,
                    from_status=item.from_,
                    to_status=item.to,
                    reason=item.reason,
                    issues=tuple(issue.issue for issue in item.issues),
                    why=item.why,
                )
            )
        else:
            issue = item.issues[0]
            plan.writes.append(
                TrackerWrite(
                    ref_from_canonical(issue.platform, issue.ref),
                    issue.issue,
                    item.phase,
                    item.action,
                    item.value,
                    item.why,
                    add=tuple(item.add),
                    remove=tuple(item.remove),
                    parent_key=parent_key_from(item.action, item.to),
                )
            )
    plan.skipped = [
        Skipped(item.kind, tuple(item.issues), item.phase, item.detail) for item in saved.left_out
    ]
    return plan


def check_target(saved: SavedPlan, run: RunRecord, direction: Direction | None, name: str) -> None:
    """Refuse a plan made for another run or another direction than the one asked for."""
    if saved.run.id != run.id:
        raise SavedPlanError(
            f"{name} is a plan for run {saved.run.id} ({saved.run.title}), not run {run.id}; "
            f"pass --run {saved.run.id} to apply it to that run"
        )
    if direction is not None and direction != saved.direction:
        raise SavedPlanError(
            f"{name} is a {saved.direction} plan, not {direction}; drop --direction or make "
            f"a {direction} plan with `debussy sync --direction {direction} --out {name}`"
        )


def stale_phases(saved: SavedPlan, phases: Sequence[PhaseRecord]) -> list[str]:
    """Phases the items depend on whose status moved since the plan was made.

    A phase change depends on its own phase; a tracker write on its phase, or on every
    phase for a plan-level issue (whose expectation is the run's aggregate).
    """
    now = {phase.phase_id: phase.status for phase in phases}
    wanted: list[str] = []
    for item in saved.items:
        if item.phase is None:
            wanted += list(saved.phases)
        else:
            wanted.append(item.phase)
    reasons: list[str] = []
    for phase_id in dict.fromkeys(wanted):
        before = saved.phases.get(phase_id)
        current = now.get(phase_id)
        if current is None:
            reasons.append(f"phase {phase_id} is no longer in the plan")
        elif before is not None and current != before:
            reasons.append(f"phase {phase_id} is now '{current}', not '{before}'")
    return reasons


def stale_issues(
    saved: SavedPlan, fresh: Mapping[IssueKey, IssueStatus], tracked: Mapping[IssueKey, str]
) -> list[str]:
    """Issues that changed on their tracker, or joined or left the run, since the plan.

    ``tracked``: the run's linked issues and the unlinked ones it still watches now,
    with the names people know them by.
    """
    reasons = [
        f"{name} was linked after the plan was made"
        for key, name in tracked.items()
        if key not in saved.tracked_keys()
    ]
    for issue in saved.observed():
        if issue.key not in tracked:
            reasons.append(f"{issue.issue} is no longer linked to the run")
            continue
        status = fresh.get(issue.key)
        if status is None:
            reasons.append(f"{issue.issue} could not be read")
            continue
        now = change_stamp(status.last_updated)
        if now != issue.changed_at:
            when = f"at {now}" if now is not None else "(no change time)"
            reasons.append(f"{issue.issue} changed {when}, after the plan at {saved.made_at}")
    return reasons


def stale_message(name: str, reasons: Sequence[str]) -> str:
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return (
        f"saved plan is stale: {shown}; nothing was written — review a new plan "
        f"(`debussy sync --out {name}`)"
    )
