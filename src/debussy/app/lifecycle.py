"""Phase lifecycle events → tracker convergence (labels, Jira transitions, auto-close).

By the time this runs, the event is already committed to the state database:
whatever happens here (tracker down, token wrong, transition missing) is
reported and recorded, and never undoes or blocks the event.

Which issues an event affects (README.md, "Commands"), always, whatever the event
changed: the phase's issues, expected to match the phase's status, and the
plan-level issues, expected to match the run's aggregate. When the run is
complete, every linked issue is included, so auto-close closes them all (with a
comment, sent only together with the close). Because each issue is compared
with what it should be — not with what this event changed — a replay, a retry
after a failure or a real run after ``--dry-run-sync`` finishes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.issues import ref_from_canonical
from debussy.state.manager import LinkedIssue, NewPush, PhaseRecord, RunRecord
from debussy.sync.converge import Convergence, run_convergence
from debussy.sync.drift_detector import (
    UNLINKED,
    LinkedContext,
    expectation_for,
    linked_contexts,
    watched_unlinked,
    why_expected,
)
from debussy.sync.expected import closes_issues
from debussy.sync.writes import ConvergeTarget, WriteResult

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.config import Config


def lifecycle_targets(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    phase_id: str | None,
    config: Config,
    *,
    before: Sequence[PhaseRecord] | None = None,
) -> tuple[list[ConvergeTarget], list[LinkedIssue]]:
    """The issues an event on ``phase_id`` affects, with their expectations (pure).

    ``phase_id=None``: every linked issue (``sync --direction to-tracker``).
    ``before``: the phases as they were before the event. Given (a lifecycle
    event), each target carries what Debussy expected before and when it last
    decided, so a person's newer change of state is left alone
    (``writes.person_holds``, PRODUCT.md §5); auto-close's closing is the one
    exception (``overrides``: it closes, and says so), as ``to-tracker --apply`` is
    (no ``before``; its plan marks such writes).

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
    comment = (
        f"Closed by Debussy: the plan '{run.plan_title}' ({run.plan_path}) completed "
        f"in run {run.id}."
    )
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
        targets.append(
            ConvergeTarget(
                ref_from_canonical(link.platform, link.ref),
                link.display_key,
                link.phase_id,
                expectation,
                why=why_expected(link.phase_id, context.status)
                + (" (auto-close)" if closes else ""),
                close_comment=comment if closes and link.platform == "github" else None,
                previous=was,
                decided_at=decided_at,
                overrides=closes and link.platform == "github",
            )
        )
    return targets, disabled


def _link_key(link: LinkedIssue) -> tuple[str, str, str | None]:
    return (link.platform, link.ref, link.phase_id)


def unlinked_targets(
    links: Sequence[LinkedIssue], unlinked: Sequence[LinkedIssue], config: Config
) -> list[ConvergeTarget]:
    """Issues the plan no longer links: only Debussy's label comes off (``UNLINKED``)."""
    if not config.github.enabled:
        return []
    return [
        ConvergeTarget(
            ref_from_canonical(link.platform, link.ref),
            link.display_key,
            link.phase_id,
            UNLINKED,
            why="no longer in the plan",
        )
        for link in watched_unlinked(links, unlinked)
    ]


def _enabled(platform: str, config: Config) -> bool:
    return config.github.enabled if platform == "github" else config.jira.active


def converge_event(
    targets: Sequence[ConvergeTarget], config: Config, cache_path: Path, *, send: bool
) -> Convergence:
    """Read the targets fresh, plan, and (unless a dry run) send (blocking)."""
    return run_convergence(targets, config, cache_path, send=send)


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
