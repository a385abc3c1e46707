"""Phase lifecycle events → tracker writes (labels, Jira transitions, auto-close).

By the time this runs, the event is already committed to the state database:
whatever happens here (tracker down, token wrong, transition missing) is
reported and recorded, and never undoes or blocks the event.

Which issues a phase event touches:
- the issues linked to that phase, written to the phase's new status;
- the plan-level issues, written to the run's aggregate status, only when the
  event changed that aggregate (so a busy run does not rewrite them each time);
- when the event completed the run and auto-close is on: every linked GitHub
  issue is closed as completed, with a comment naming the plan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from debussy.config import Config
from debussy.issues import ref_from_canonical
from debussy.state.manager import LinkedIssue, NewPush, PhaseRecord, PhaseTransition, RunRecord
from debussy.state.status import PhaseStatus, run_aggregate
from debussy.sync.cache import IssueCache
from debussy.sync.expected import github_expectation, jira_expectation
from debussy.sync.trackers.clients import TrackerClients
from debussy.sync.writes import TrackerWrite, WriteResult, execute_writes, writes_for_status


@dataclass(frozen=True, slots=True)
class LifecyclePush:
    """The writes an event calls for, split by whether their platform is enabled."""

    writes: tuple[TrackerWrite, ...]
    disabled: tuple[LinkedIssue, ...]


def _writes_for(
    link: LinkedIssue, status: PhaseStatus, config: Config, *, why: str
) -> list[TrackerWrite]:
    ref = ref_from_canonical(link.platform, link.ref)
    # Labels and transitions only: closing is auto-close's business, at run completion.
    expectation = (
        github_expectation(status, config.github, auto_close=False)
        if link.platform == "github"
        else jira_expectation(status, config.jira)
    )
    return writes_for_status(ref, link.display_key, link.phase_id, expectation, why=why)


def plan_lifecycle_writes(
    run: RunRecord,
    phases_after: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    transition: PhaseTransition,
    config: Config,
) -> LifecyclePush:
    """Work out the writes for one event (pure: no I/O), see the module docstring."""
    writes: list[TrackerWrite] = []
    disabled: list[LinkedIssue] = []
    after = run_aggregate(phase.status for phase in phases_after)
    before = run_aggregate(
        transition.old_status if phase.phase_id == transition.phase_id else phase.status
        for phase in phases_after
    )
    why = f"phase {transition.phase_id} {transition.new_status}"
    for link in links:
        if not _enabled(link.platform, config):
            if link.phase_id == transition.phase_id or link.phase_id is None:
                disabled.append(link)
            continue
        if link.phase_id == transition.phase_id:
            writes += _writes_for(link, transition.new_status, config, why=why)
        elif link.phase_id is None and (before != after or transition.run_completed):
            writes += _writes_for(link, after, config, why=f"run {after}")
    if transition.run_completed and run.auto_close and config.github.enabled:
        comment = (
            f"Closed by Debussy: the plan '{run.plan_title}' ({run.plan_path}) completed "
            f"in run {run.id}."
        )
        for link in links:
            if link.platform != "github":
                continue
            ref = ref_from_canonical("github", link.ref)
            writes.append(TrackerWrite(ref, link.display_key, link.phase_id, "comment", comment))
            writes.append(
                TrackerWrite(
                    ref, link.display_key, link.phase_id, "close", "completed", "auto-close"
                )
            )
    return LifecyclePush(tuple(writes), tuple(disabled))


def _enabled(platform: str, config: Config) -> bool:
    return config.github.enabled if platform == "github" else config.jira.active


def send_lifecycle_writes(
    writes: Sequence[TrackerWrite], config: Config, cache_path: Path
) -> list[WriteResult]:
    """Send the writes (blocking); failures come back as results, never as exceptions.

    The touched issues are dropped from the issue cache: their cached labels are now
    known to be old, and showing them would report drift that is not there.
    """

    async def send() -> list[WriteResult]:
        async with TrackerClients(config) as clients:
            return await execute_writes(writes, clients)

    results = asyncio.run(send())
    touched = list(dict.fromkeys(write.ref for write in writes))
    with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
        cache.invalidate(config.github.host, [r for r in touched if r.platform == "github"])
        cache.invalidate(config.jira.host, [r for r in touched if r.platform == "jira"])
    return results


def push_records(run_id: str, results: Sequence[WriteResult]) -> list[NewPush]:
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
