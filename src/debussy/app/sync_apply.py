"""``debussy sync``: fetch fresh, plan, and (with ``--apply``) act — safely.

- The plan is always made from data fetched just now, never from the cache, and
  ``--apply`` refuses to act when any platform could not be read or any issue is
  unknown: a partial picture could complete or reopen the wrong phases.
- ``from-tracker`` applies every phase change in one ``BEGIN IMMEDIATE``
  transaction, each guarded by the status the plan saw; the sync history entry
  commits in that same transaction. If anything moved in between (another sync,
  a lifecycle event), nothing is written and ``StalePlanError`` says to re-run.
- ``to-tracker`` sends idempotent writes, records every result, re-reads the
  touched issues into the cache, and reports a partial failure (a re-run
  finishes the rest, because the next plan only contains what is still off).
- A dry run writes nothing to the state database.
- Saved plans (``--out FILE``, ``--apply FILE``; ``debussy.sync.saved_plan``):
  applying one reads exactly its issues once, refuses with nothing written when
  any of them (or a phase it depends on) changed since it was made, and otherwise
  does exactly what it lists, through the same guarded transaction or the same
  convergence. Its id is recorded with the changes, so it applies only once.
- Every result lists each item with its outcome (``SyncOutcome.items``), and the
  one summary sentence is made from those items.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from debussy import timeutil
from debussy.app.dashboard import drift_detector
from debussy.app.lifecycle import lifecycle_targets, released_by, unlinked_targets
from debussy.errors import IncompleteDataError, StalePlanError
from debussy.issues import DriftReport, IssueRef, IssueStatus, ref_from_canonical
from debussy.state.changes import PhaseTransition
from debussy.state.database import InTransaction
from debussy.state.manager import StateManager, already_applied
from debussy.state.records import IssueKey, LinkedIssue, PhaseRecord
from debussy.sync.cache import IssueCache
from debussy.sync.converge import (
    BeforeSend,
    Convergence,
    ReadFailure,
    converge,
    recently_moved,
    remember_moved,
)
from debussy.sync.drift_detector import watched_unlinked
from debussy.sync.reconcile import (
    Direction,
    PhaseAction,
    Skipped,
    SyncPlan,
    plan_from_tracker,
    plan_to_tracker,
)
from debussy.sync.saved_plan import (
    SavedPlan,
    SavedPlanError,
    check_target,
    encode,
    load_saved_plan,
    plan_document,
    stale_issues,
    stale_message,
    stale_phases,
    to_sync_plan,
)
from debussy.sync.status_fetcher import FetchedIssue, FetchResult, IssueStatusFetcher
from debussy.sync.trackers.clients import TrackerClients
from debussy.sync.trackers.writes import IssueView, TrackerWrite, WriteResult
from debussy.sync.writes import ConvergeTarget, Note, touched_refs

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    import sqlite3

    from debussy.config import Config


ItemOutcome = Literal["planned", "applied", "already", "refused", "unconfirmed", "skipped"]
"""What became of one item: ``planned`` in a dry run, one of the contract's five after apply."""

OUTCOMES: tuple[ItemOutcome, ...] = (
    "planned",
    "applied",
    "already",
    "refused",
    "unconfirmed",
    "skipped",
)

LEFT_OUT_WHAT: dict[str, str] = {
    "conflict": "conflict (use --force)",
    "needs_to_tracker": "needs --direction to-tracker",
    "needs_from_tracker": "needs --direction from-tracker",
    "waiting": "waits for the rest of its issues",
    "missing": "missing",
    "cannot_fix": "to-tracker cannot fix it",
}


@dataclass(frozen=True, slots=True)
class SyncItem:
    """One line of a sync result: a planned change, or something the plan left out.

    ``kind``: ``phase`` or ``write`` for a change; for what was left out, the
    reason (``conflict``, ``needs_to_tracker``, ``waiting``, ``missing``,
    ``cannot_fix``), always ``skipped``. ``detail``: the tracker's reason for a
    refusal, or why it was skipped (naming what would do it).
    """

    kind: str
    what: str
    why: str
    issues: tuple[str, ...]
    phase: str | None
    outcome: ItemOutcome
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "what": self.what,
            "issues": list(self.issues),
            "phase": self.phase,
            "why": self.why,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(slots=True)
class SyncOutcome:
    plan: SyncPlan
    fetch: FetchResult
    applied: bool = False
    transitions: list[PhaseTransition] = field(default_factory=list[PhaseTransition])
    results: list[WriteResult] = field(default_factory=list[WriteResult])
    notes: list[Note] = field(default_factory=list[Note])
    """What the convergence read found no write could fix (a PR, no transition, ...)."""
    read_failures: list[ReadFailure] = field(default_factory=list[ReadFailure])
    phases: list[PhaseRecord] = field(default_factory=list[PhaseRecord])
    tracked: list[LinkedIssue] = field(default_factory=list[LinkedIssue])
    """What the plan was made from: the run's links and the unlinked issues it watches."""
    stopped: str | None = None
    """Why ``--apply`` applied nothing (stale, incomplete data): every change is skipped."""
    saved_plan: SavedPlanRef | None = None
    """The plan file this outcome was saved to (``--out``) or applied from (``--apply FILE``)."""

    @property
    def failed_writes(self) -> list[WriteResult]:
        """Writes the trackers are not known to match: refused, unconfirmed or skipped."""
        return [r for r in self.results if not r.done]

    def items(self) -> list[SyncItem]:
        """Every planned item with its outcome, then what the plan left out (skipped).

        ``--apply`` converges from its own fresh read, so its writes are matched to the
        plan's by what they do. A planned write the apply no longer needed (someone
        fixed it meanwhile) is ``already``; one the read found cannot be sent is
        ``refused`` (or ``skipped`` when nothing failed, e.g. a pull request) with the
        reason; one the apply added is listed after the plan's.
        """
        items = [self._phase_item(action) for action in self.plan.phase_actions]
        by_what = {result.write.describe(): result for result in self.results}
        for write in self.plan.writes:
            items.append(self._write_item(write, by_what.pop(write.describe(), None)))
        items += [self._write_item(result.write, result) for result in by_what.values()]
        items += [self._left_out_item(skipped) for skipped in self.plan.skipped]
        return items

    def _left_out_item(self, skipped: Skipped) -> SyncItem:
        """Something the plan does not do: ``skipped`` with why, or ``refused`` when an
        apply found the tracker refuses it (no Jira transition leads there)."""
        outcome: ItemOutcome = "skipped"
        detail = skipped.detail
        if self.applied and skipped.kind == "cannot_fix":
            for note in self.notes:
                if note.failed and note.display_key in skipped.issues:
                    outcome, detail = "refused", note.detail
        return SyncItem(
            skipped.kind,
            _phase_what(skipped.action) if skipped.action else skipped.detail,
            LEFT_OUT_WHAT.get(skipped.kind, skipped.kind.replace("_", " ")),
            skipped.issues,
            skipped.phase_id,
            outcome,
            detail,
        )

    def _not_attempted(self) -> tuple[ItemOutcome, str | None]:
        if self.stopped is not None:
            return "skipped", self.stopped
        return "planned", None

    def _phase_item(self, action: PhaseAction) -> SyncItem:
        outcome, detail = self._not_attempted()
        if self.applied:
            # One transaction: every guarded change was made, or none and it raised.
            outcome, detail = "applied", None
        return SyncItem(
            "phase",
            _phase_what(action),
            action.why,
            action.issues,
            action.phase_id,
            outcome,
            detail,
        )

    def _write_item(self, write: TrackerWrite, result: WriteResult | None) -> SyncItem:
        outcome, detail = self._not_attempted()
        if result is not None:
            outcome, detail = result.outcome, result.detail
        elif self.applied:
            outcome, detail = self._unsent(write)
        return SyncItem(
            "write",
            write.describe(),
            write.why,
            (write.display_key,),
            write.phase_id,
            outcome,
            detail,
        )

    def _unsent(self, write: TrackerWrite) -> tuple[ItemOutcome, str | None]:
        """A planned write the apply did not send: why, from its own read."""
        for failure in self.read_failures:
            if failure.platform == write.ref.platform:
                return "skipped", f"{failure.platform} could not be read: {failure.message}"
        for note in self.notes:
            if note.display_key == write.display_key:
                return ("refused" if note.failed else "skipped"), note.detail
        return "already", None

    def counts(self) -> dict[str, int]:
        """How many items ended each way: the numbers every summary is made from."""
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for item in self.items():
            counts[item.outcome] += 1
        return counts

    @property
    def summary(self) -> str:
        """One line for people and for ``--json``; an incomplete fetch says so first."""
        if not self.applied and not self.fetch.complete:
            return f"incomplete: {self._summary()} among the issues that could be read"
        return self._summary()

    def _summary(self) -> str:
        """The counts in words: the changes, then each kind of thing left out.

        Text, markdown and JSON all print this one sentence, so they cannot disagree.
        """
        plan = self.plan
        items = self.items()
        noun = "phase change" if plan.direction == "from-tracker" else "tracker write"
        changes = [item for item in items if item.kind in ("phase", "write")]
        parts: list[str] = []
        tally = Counter(item.outcome for item in changes)
        if self.applied:
            parts.append(f"{_count(tally['applied'], noun)} applied")
        elif tally["planned"]:
            parts.append(f"{_count(tally['planned'], noun)} planned")
        elif not changes:
            parts.append("no changes")
        if tally["already"]:
            parts.append(f"{tally['already']} already so")
        overall = Counter(item.outcome for item in items)
        parts += [f"{overall[name]} {name}" for name in ("refused", "unconfirmed") if overall[name]]
        if tally["skipped"]:
            parts.append(f"{_count(tally['skipped'], noun)} skipped")
        left = Counter(
            item.kind
            for item in items
            if item.kind not in ("phase", "write") and item.outcome == "skipped"
        )
        for kind, count in left.items():
            parts.append(_left_out_phrase(kind, count))
        return ", ".join(parts)


def planned_results(planned: list[TrackerWrite], convergence: Convergence) -> list[WriteResult]:
    """Every planned write with one outcome, then the writes only the apply found.

    ``--apply`` converges from its own fresh read, so its writes are matched to the
    plan's by what they do. A planned write the apply did not send is ``refused``
    when the apply found it cannot be made (no Jira transition leads there: its
    note says why), ``skipped`` when its tracker could not be read, else ``already``
    (someone made it meanwhile). A failure is
    never absent from the results (PRODUCT.md §8 "Results").
    """
    by_what = {result.write.describe(): result for result in convergence.results}
    failed_notes = {note.display_key: note.detail for note in convergence.notes if note.failed}
    unread = {
        failure.platform: f"{failure.platform} could not be read: {failure.message}"
        for failure in convergence.read_failures
    }
    results: list[WriteResult] = []
    for write in planned:
        result = by_what.pop(write.describe(), None)
        if result is None and write.ref.platform in unread:
            result = WriteResult(write, "skipped", unread[write.ref.platform])
        elif result is None and write.display_key in failed_notes:
            result = WriteResult(write, "refused", failed_notes[write.display_key])
        results.append(result or WriteResult(write, "already"))
    return results + list(by_what.values())


_LEFT_OUT_PHRASES: dict[str, tuple[str, str, str]] = {
    # kind: (noun, verb for one, verb for several) -> "2 differences need --direction ..."
    "conflict": ("conflict", "skipped (use --force)", "skipped (use --force)"),
    "needs_to_tracker": (
        "difference",
        "needs --direction to-tracker",
        "need --direction to-tracker",
    ),
    "needs_from_tracker": (
        "difference",
        "needs --direction from-tracker",
        "need --direction from-tracker",
    ),
    "cannot_fix": ("difference", "to-tracker cannot fix", "to-tracker cannot fix"),
    "waiting": ("phase", "waits for the rest of its issues", "wait for the rest of their issues"),
    "missing": ("issue", "missing", "missing"),
}


def _left_out_phrase(kind: str, count: int) -> str:
    """``1 difference needs --direction to-tracker``; a kind added later still reads."""
    noun, one, several = _LEFT_OUT_PHRASES.get(
        kind, ("item", f"skipped ({kind.replace('_', ' ')})", f"skipped ({kind.replace('_', ' ')})")
    )
    return f"{_count(count, noun)} {one if count == 1 else several}"


def _phase_what(action: PhaseAction) -> str:
    return f"phase {action.phase_id} {action.title}: {action.from_status} → {action.to_status}"


@dataclass(frozen=True, slots=True)
class SavedPlanRef:
    """A plan file as the user named it (never made absolute: it is printed and recorded)."""

    file: str
    id: str
    made_at: str


def _count(count: int, noun: str) -> str:
    """``1 phase change``, ``2 phase changes``: the summary is read by people too."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def prepare_sync(
    state: StateManager,
    config: Config,
    cache_path: Path,
    run_id: str | None,
    *,
    direction: Direction,
    force: bool,
) -> SyncOutcome:
    """Fetch every linked issue fresh and build the plan (writes nothing to the state)."""
    run = state.get_run(run_id)
    detector = drift_detector(state, config, run)
    to_read = detector.issues_to_read
    refs = [ref_from_canonical(link.platform, link.ref) for link in to_read]
    result = _fetch(config, cache_path, refs)
    statuses = result.statuses()
    fresh = {
        key: status
        for key, status in statuses.items()
        if result.issues[ref_from_canonical(*key)].source == "fresh"
    }
    drift = detector.reports(fresh)
    phases, links = detector.phases, detector.links
    if direction == "from-tracker":
        plan = plan_from_tracker(run, phases, links, fresh, drift, force=force)
    else:
        plan = plan_to_tracker(detector, fresh, drift)
        _mark_overrides(plan, drift)
        if any(w.action == "transition" for w in plan.writes):
            targets, _disabled = lifecycle_targets(run, phases, links, None, config)
            _drop_unfixable(plan, targets, config)
    return SyncOutcome(
        plan=plan, fetch=result, phases=list(phases), tracked=list(detector.issues_to_read)
    )


def _fetch(config: Config, cache_path: Path, refs: list[IssueRef]) -> FetchResult:
    """``refs`` read fresh in one batch per tracker (the cache is refreshed, never used)."""

    async def fetch() -> FetchResult:
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            async with IssueStatusFetcher(config, cache=cache) as fetcher:
                return await fetcher.fetch(refs, refresh=True)

    return asyncio.run(fetch()) if refs else FetchResult()


OVERRIDES = "overrides a person's newer change"


def _mark_overrides(plan: SyncPlan, drift: list[DriftReport]) -> None:
    """Say which state changes undo what a person did after Debussy (PRODUCT.md §5).

    ``to-tracker --apply`` changes state against a person's newer change on
    purpose; its plan says so on each such write before anything is sent.
    """
    newer = {(r.platform, r.ref) for r in drift if r.newer == "tracker"}
    plan.writes = [
        dataclasses.replace(write, why=f"{write.why}; {OVERRIDES}")
        if write.action in ("close", "reopen", "transition")
        and (write.ref.platform, write.ref.canonical) in newer
        else write
        for write in plan.writes
    ]


def _drop_unfixable(plan: SyncPlan, targets: list[ConvergeTarget], config: Config) -> None:
    """Jira differences no transition can fix are planned as such, never as writes.

    The status read knows no transitions; the convergence read (``expand:
    transitions``) does. A planned move it finds no transition for is listed
    under "Not changed" as ``cannot_fix`` with the statuses Jira offers, so the
    plan, the apply and its results agree (never "already so").
    """
    wanted = {w.ref for w in plan.writes if w.action == "transition"}
    jira = [t for t in targets if t.ref in wanted]
    if not jira:
        return

    async def look() -> Convergence:
        async with TrackerClients(config) as clients:
            return await converge(jira, clients, send=False)

    found = asyncio.run(look())
    cannot = {note.display_key: note for note in found.notes if note.failed}
    if not cannot:
        return
    kept: list[TrackerWrite] = []
    for write in plan.writes:
        note = cannot.get(write.display_key) if write.action == "transition" else None
        if note is None:
            kept.append(write)
        else:
            plan.skipped.append(
                Skipped("cannot_fix", (write.display_key,), write.phase_id, note.detail)
            )
    plan.writes = kept


def require_complete(outcome: SyncOutcome) -> None:
    """Refuse to act on a partial picture (docs/STATUS_AND_SYNC.md: never act on partial data)."""
    fetch = outcome.fetch
    if fetch.complete:
        return
    reasons = [f"{e.platform}: {e.message}" for e in fetch.errors]
    unknown = sum(1 for issue in fetch.issues.values() if issue.source == "unknown")
    if unknown and not reasons:
        reasons.append(f"{unknown} issue{'' if unknown == 1 else 's'} could not be read")
    raise IncompleteDataError("nothing applied: " + "; ".join(reasons))


def apply_from_tracker(
    state: StateManager, outcome: SyncOutcome, *, saved: SavedPlan | None = None
) -> SyncOutcome:
    """All phase changes in one guarded transaction, with the history entry.

    From a saved plan, its id is claimed in that same transaction: a plan refused as
    stale stays unapplied, and one applied cannot be applied again.
    """
    require_complete(outcome)
    plan = outcome.plan
    actions = plan.actions_json()
    results = [{**a, "outcome": "applied"} for a in actions]
    record = state.sync_writer(
        plan.run.id,
        direction=plan.direction,
        applied=True,
        outcome=f"{_count(len(actions), 'phase change')} applied",
        actions=actions,
        results=results,
    )
    before_commit: InTransaction = record
    if saved is not None:
        claim = state.plan_claimer(
            saved.id,
            run_id=plan.run.id,
            direction=plan.direction,
            made_at=saved.made_at,
            digest=saved.digest,
        )

        def claim_and_record(conn: sqlite3.Connection) -> None:
            claim(conn)
            record(conn)

        before_commit = claim_and_record

    outcome.transitions = state.apply_phase_changes(
        plan.run.id, plan.guarded_changes(), source="sync", before_commit=before_commit
    )
    outcome.applied = True
    return outcome


def apply_to_tracker(
    state: StateManager, config: Config, cache_path: Path, outcome: SyncOutcome
) -> SyncOutcome:
    """Converge every linked issue, record the results, refresh the touched issues.

    The plan printed before was made from the fetch above; the writes sent come
    from the convergence engine's own fresh read (the same rules), so what a
    person changed in between is respected rather than overwritten.
    """
    require_complete(outcome)
    # The plan was made by the same rules from a read moments ago: nothing planned, nothing
    # to converge (and no second read) -- unless something could not be fixed, which the
    # apply must report as unfinished (exit 1), not as success.
    unfixable = any(item.kind == "cannot_fix" for item in outcome.plan.skipped)
    if not outcome.plan.writes and not unfixable:
        return _record_push(state, outcome, Convergence())
    targets = _push_targets(state, config, outcome.plan)
    return _push(state, config, cache_path, outcome, targets, None)


def _push_targets(state: StateManager, config: Config, plan: SyncPlan) -> list[ConvergeTarget]:
    run = plan.run
    links = state.linked_issues(run.id)
    targets, _disabled = lifecycle_targets(run, state.phases(run.id), links, None, config)
    return targets + unlinked_targets(
        links,
        state.unlinked_issues(run.id),
        config,
        run=run,
        pushes=state.pushes(run.id),
        syncs=[entry for entry in state.sync_history() if entry.run_id == run.id]
        if config.github.sub_issues
        else (),
    )


def _push(
    state: StateManager,
    config: Config,
    cache_path: Path,
    outcome: SyncOutcome,
    targets: list[ConvergeTarget],
    before_send: BeforeSend | None,
) -> SyncOutcome:
    recent: dict[str, dict[str, int]] = {}
    if targets:
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            recent = recently_moved(cache, config, targets)

    async def send() -> Convergence:
        async with TrackerClients(config) as clients:
            done = await converge(
                targets, clients, send=True, recent=recent, before_send=before_send
            )
            touched = touched_refs(done.writes)
            if touched:
                with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
                    fetcher = IssueStatusFetcher(config, cache=cache, clients=clients)
                    await fetcher.fetch(touched, refresh=True)
                    remember_moved(cache, config, clients.written_ids())
            return done

    if targets:
        convergence = asyncio.run(send())
    else:
        convergence = Convergence()
        if before_send is not None:  # nothing to read or send, but still judged (and claimed)
            before_send(convergence, {})
    return _record_push(state, outcome, convergence)


def _record_push(
    state: StateManager, outcome: SyncOutcome, convergence: Convergence
) -> SyncOutcome:
    """Keep what the push did, record it in history, and say if it is incomplete."""
    plan = outcome.plan
    outcome.results = planned_results(plan.writes, convergence)
    outcome.notes = convergence.notes
    outcome.read_failures = convergence.read_failures
    outcome.applied = True
    state.record_sync(
        plan.run.id,
        direction=plan.direction,
        applied=True,
        outcome=outcome.summary,
        actions=plan.actions_json(),
        results=[r.as_json() for r in outcome.results],
        released=released_by(convergence.results),
    )
    problems = [f"{f.platform}: {f.message}" for f in convergence.read_failures]
    problems += [note.detail for note in convergence.notes if note.failed]
    if problems:
        raise IncompleteDataError("not every issue could be converged: " + "; ".join(problems))
    return outcome


# --- saved plans ----------------------------------------------------------------------


def save_plan(outcome: SyncOutcome, path: Path, *, force: bool) -> SavedPlanRef:
    """Write the plan to ``path`` (``--out``), whole or not at all.

    A plan from a partial read is refused: applying it later could not be checked
    against the issues that were never read.
    """
    if not outcome.fetch.complete:
        reasons = [f"{e.platform}: {e.message}" for e in outcome.fetch.errors]
        raise IncompleteDataError(
            f"{path}: plan not saved: not every issue could be read"
            + (f" ({'; '.join(reasons)})" if reasons else "")
        )
    plan_id = uuid.uuid4().hex
    made_at = timeutil.to_iso(timeutil.now())
    document = plan_document(
        outcome.plan,
        _fresh(outcome.fetch),
        outcome.phases,
        outcome.tracked,
        plan_id=plan_id,
        made_at=made_at,
        force=force,
    )
    _write_atomically(path, encode(document))
    outcome.saved_plan = SavedPlanRef(str(path), plan_id, made_at)
    return outcome.saved_plan


def _write_atomically(path: Path, text: str) -> None:
    """A reader (an artifact upload) never sees half a plan; errors name the file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SavedPlanError(f"{path}: cannot write the plan: {exc.strerror or exc}") from None


def read_plan_file(path: Path) -> SavedPlan:
    """The plan file, validated; a missing, unreadable or foreign file is one line."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SavedPlanError(f"{name}: no such plan file") from None
    except IsADirectoryError:
        raise SavedPlanError(f"{name}: is a folder, not a plan file") from None
    except UnicodeDecodeError:
        raise SavedPlanError(f"{name}: not a Debussy sync plan (not UTF-8 text)") from None
    except OSError as exc:
        raise SavedPlanError(f"{name}: cannot read the plan: {exc.strerror or exc}") from None
    return load_saved_plan(text, name)


def load_saved_plan_for(
    state: StateManager, run_id: str | None, path: Path, *, direction: Direction | None
) -> tuple[SavedPlan, SyncOutcome]:
    """The plan file, checked against the run and direction, as an outcome to show.

    A missing, foreign or tampered file, or one for another run or direction, is
    refused here (one line, nothing shown); later refusals still show the plan.
    """
    saved = read_plan_file(path)
    run = state.get_run(run_id)
    check_target(saved, run, direction, str(path))
    outcome = SyncOutcome(plan=to_sync_plan(saved, run), fetch=FetchResult())
    outcome.saved_plan = SavedPlanRef(str(path), saved.id, saved.made_at)
    return saved, outcome


def apply_saved_plan(
    state: StateManager,
    config: Config,
    cache_path: Path,
    saved: SavedPlan,
    outcome: SyncOutcome,
) -> SyncOutcome:
    """``sync --apply FILE``: exactly the saved plan, or nothing (see the module docstring).

    Refusals, each with nothing written to the state database or any tracker: a plan
    applied before, one whose phases or issues changed since it was made, one whose
    issues cannot all be read.
    """
    assert outcome.saved_plan is not None
    name = outcome.saved_plan.file
    run = outcome.plan.run
    applied_at = state.plan_applied_at(saved.id)
    if applied_at is not None:
        raise StalePlanError(already_applied(saved.id, applied_at))
    reasons = stale_phases(saved, state.phases(run.id))
    if reasons:
        raise StalePlanError(stale_message(name, reasons))
    links = state.linked_issues(run.id)
    watched = [*links, *watched_unlinked(links, state.unlinked_issues(run.id))]
    tracked = {link.key: link.display_key for link in watched}
    if saved.direction == "from-tracker":
        refs = [ref_from_canonical(*issue.key) for issue in saved.observed()]
        outcome.fetch = _fetch(config, cache_path, refs)
        require_complete(outcome)
        reasons = stale_issues(saved, _fresh(outcome.fetch), tracked)
        if reasons:
            raise StalePlanError(stale_message(name, reasons))
        return apply_from_tracker(state, outcome, saved=saved)
    return _apply_saved_push(state, config, cache_path, saved, outcome, tracked)


def _fresh(fetch: FetchResult) -> dict[IssueKey, IssueStatus]:
    return {
        (ref.platform, ref.canonical): issue.status
        for ref, issue in fetch.issues.items()
        if issue.source == "fresh" and issue.status is not None
    }


def _apply_saved_push(
    state: StateManager,
    config: Config,
    cache_path: Path,
    saved: SavedPlan,
    outcome: SyncOutcome,
    tracked: dict[IssueKey, str],
) -> SyncOutcome:
    """The plan's writes through the convergence engine, judged on its one read.

    The read the convergence makes anyway is the staleness check: between it and the
    first write, ``check`` refuses when an issue changed, when the rules would now
    send anything the plan does not list, or when the plan was applied meanwhile.
    """
    assert outcome.saved_plan is not None
    name = outcome.saved_plan.file
    plan = outcome.plan
    wanted = {issue.key for issue in saved.observed()}
    targets = [
        target
        for target in _push_targets(state, config, plan)
        if (target.ref.platform, target.ref.canonical) in wanted
    ]
    untracked = wanted - {(t.ref.platform, t.ref.canonical) for t in targets}
    if untracked:
        shown = sorted(key[1] for key in untracked)
        raise StalePlanError(
            stale_message(name, [f"{key} is no longer tracked by the run" for key in shown])
        )
    planned = {write.describe() for write in plan.writes}
    closing = {write.display_key for write in plan.writes if write.action == "close"}

    def check(convergence: Convergence, views: Mapping[IssueRef, IssueView]) -> None:
        outcome.fetch = FetchResult(
            issues={
                ref: FetchedIssue(ref, view.status, "fresh", 0.0) for ref, view in views.items()
            },
            fetched=len(views),
            requests=dict(convergence.requests),
        )
        if convergence.read_failures:
            problems = [f"{f.platform}: {f.message}" for f in convergence.read_failures]
            raise IncompleteDataError("nothing applied: " + "; ".join(problems))
        statuses = {(ref.platform, ref.canonical): view.status for ref, view in views.items()}
        reasons = stale_issues(saved, statuses, tracked)
        reasons += [
            f"{write.describe()} is needed now and is not in the plan"
            for write in convergence.writes
            if write.describe() not in planned
            and not (write.action == "comment" and write.display_key in closing)
        ]
        if reasons:
            raise StalePlanError(stale_message(name, reasons))
        state.claim_plan(
            saved.id,
            run_id=plan.run.id,
            direction=plan.direction,
            made_at=saved.made_at,
            digest=saved.digest,
        )

    return _push(state, config, cache_path, outcome, targets, check)
