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
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.app.lifecycle import lifecycle_targets, unlinked_targets
from debussy.errors import IncompleteDataError
from debussy.issues import DriftReport, ref_from_canonical
from debussy.state.manager import PhaseTransition, StateManager
from debussy.sync.cache import IssueCache
from debussy.sync.converge import Convergence, converge
from debussy.sync.drift_detector import DriftDetector
from debussy.sync.reconcile import (
    Direction,
    Skipped,
    SyncPlan,
    plan_from_tracker,
    plan_to_tracker,
)
from debussy.sync.status_fetcher import FetchResult, IssueStatusFetcher
from debussy.sync.trackers.clients import TrackerClients
from debussy.sync.writes import ConvergeTarget, TrackerWrite, WriteResult

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.config import Config


@dataclass(slots=True)
class SyncOutcome:
    plan: SyncPlan
    fetch: FetchResult
    applied: bool = False
    transitions: list[PhaseTransition] = field(default_factory=list[PhaseTransition])
    results: list[WriteResult] = field(default_factory=list[WriteResult])

    @property
    def failed_writes(self) -> list[WriteResult]:
        """Writes the trackers are not known to match: refused, unconfirmed or skipped."""
        return [r for r in self.results if not r.done]

    def write_rows(self) -> list[tuple[TrackerWrite, WriteResult | None]]:
        """Each planned write with what became of it, then writes only the apply found.

        ``--apply`` converges from its own fresh read, so its writes are matched to the
        plan's by what they do. A planned write the apply no longer needed (someone
        fixed it meanwhile) is shown as already so; one it added is listed after.
        """
        if not self.applied:
            return [(write, None) for write in self.plan.writes]
        return [(result.write, result) for result in self.results]

    @property
    def summary(self) -> str:
        """One line for people and for ``--json``; an incomplete fetch says so first."""
        if not self.applied and not self.fetch.complete:
            return f"incomplete: {self._summary()} among the issues that could be read"
        return self._summary()

    def _summary(self) -> str:
        plan = self.plan
        if not self.applied:
            if plan.empty:
                return "no changes"
            if plan.direction == "from-tracker":
                return f"{_count(len(plan.phase_actions), 'phase change')} planned"
            return f"{_count(len(plan.writes), 'tracker write')} planned"
        if plan.direction == "from-tracker":
            return f"{_count(len(self.transitions), 'phase change')} applied"
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        line = f"{_count(counts.pop('applied', 0), 'tracker write')} applied"
        return ", ".join([line, *(f"{n} {kind}" for kind, n in counts.items())])


def planned_results(planned: list[TrackerWrite], convergence: Convergence) -> list[WriteResult]:
    """Every planned write with one outcome, then the writes only the apply found.

    ``--apply`` converges from its own fresh read, so its writes are matched to the
    plan's by what they do. A planned write the apply did not send is ``refused``
    when the apply found it cannot be made (no Jira transition leads there: its
    note says why), else ``already`` (someone made it meanwhile). A failure is
    never absent from the results (PRODUCT.md §8 "Results").
    """
    by_what = {result.write.describe(): result for result in convergence.results}
    failed_notes = {note.display_key: note.detail for note in convergence.notes if note.failed}
    results: list[WriteResult] = []
    for write in planned:
        result = by_what.pop(write.describe(), None)
        if result is None and write.display_key in failed_notes:
            result = WriteResult(write, "refused", failed_notes[write.display_key])
        results.append(result or WriteResult(write, "already"))
    return results + list(by_what.values())


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
    detector = DriftDetector.for_run(state, config, run)
    to_read = detector.issues_to_read
    refs = [ref_from_canonical(link.platform, link.ref) for link in to_read]

    async def fetch() -> FetchResult:
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            async with IssueStatusFetcher(config, cache=cache) as fetcher:
                return await fetcher.fetch(refs, refresh=True)

    result = asyncio.run(fetch()) if to_read else FetchResult()
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
    return SyncOutcome(plan=plan, fetch=result)


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


def apply_from_tracker(state: StateManager, outcome: SyncOutcome) -> SyncOutcome:
    """All phase changes in one guarded transaction, with the history entry."""
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
    outcome.transitions = state.apply_phase_changes(
        plan.run.id, plan.guarded_changes(), source="sync", before_commit=record
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
    plan = outcome.plan
    run = plan.run
    links = state.linked_issues(run.id)
    targets, _disabled = lifecycle_targets(run, state.phases(run.id), links, None, config)
    targets += unlinked_targets(links, state.unlinked_issues(run.id), config)

    jira_keys = [t.ref.canonical for t in targets if t.ref.platform == "jira"]
    with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
        recent = cache.recently_written(config.jira.host, jira_keys) if jira_keys else {}

    async def send() -> Convergence:
        async with TrackerClients(config) as clients:
            done = await converge(targets, clients, send=True, recent_jira=recent)
            touched = list(dict.fromkeys(write.ref for write in done.writes))
            if touched:
                with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
                    fetcher = IssueStatusFetcher(config, cache=cache, clients=clients)
                    await fetcher.fetch(touched, refresh=True)
                    cache.remember_written(config.jira.host, clients.jira_written_ids())
            return done

    # The plan was made by the same rules from a read moments ago: nothing planned, nothing
    # to converge (and no second read) -- unless something could not be fixed, which the
    # apply must report as unfinished (exit 1), not as success.
    unfixable = any(item.kind == "cannot_fix" for item in plan.skipped)
    convergence = asyncio.run(send()) if targets and (plan.writes or unfixable) else Convergence()
    outcome.results = planned_results(plan.writes, convergence)
    outcome.applied = True
    state.record_sync(
        plan.run.id,
        direction=plan.direction,
        applied=True,
        outcome=outcome.summary,
        actions=plan.actions_json(),
        results=[r.as_json() for r in outcome.results],
    )
    problems = [f"{f.platform}: {f.message}" for f in convergence.read_failures]
    problems += [note.detail for note in convergence.notes if note.failed]
    if problems:
        raise IncompleteDataError("not every issue could be converged: " + "; ".join(problems))
    return outcome
