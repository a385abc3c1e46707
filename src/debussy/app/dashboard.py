"""The issue dashboard behind ``debussy status --issues``: fetch, compare, remember.

``build_dashboard`` reads one run's linked issues from the state database, asks
the ``IssueStatusFetcher`` for their statuses (cache first), has the run's
``DriftDetector`` judge each against the expectation of its phase, and returns a
``Dashboard`` that both renderers (Rich table, §6 JSON document) read.

Issues the plan no longer links are read too (GitHub only: Jira never carries a
Debussy label) and shown, with drift ``unlinked``, while they still carry a
Debussy label; once one is seen fresh without it, the run forgets it.

It also records tracker snapshots, and only of issues fetched just now whose
*state* agrees with Debussy (no drift other than ``label_mismatch``): a snapshot
is "the last state Debussy and the tracker agreed on", which is what makes a
reopened issue show ``reopened_externally`` on every look until someone acts.
Snapshotting an issue with a state drift would make that drift vanish the next
time. Labels are not part of that agreement: the drift rules read only the
snapshot's state, and a ``sync`` from the tracker leaves labels as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from debussy import timeutil
from debussy.config_snapshot import STATE_DIR
from debussy.errors import EXIT_DRIFT, EXIT_ERROR, EXIT_OK
from debussy.issues import Drift, IssueRef, IssueStatus, ref_from_canonical
from debussy.state.manager import StateManager
from debussy.state.records import LinkedIssue, RunRecord, Snapshot
from debussy.state.status import PhaseStatus
from debussy.sync.cache import CACHE_FILE, IssueCache
from debussy.sync.drift_detector import DriftDetector, structure_parent, sub_issues_added
from debussy.sync.expected import (
    GitHubExpectation,
    JiraExpectation,
    PullRequestExpectation,
    pull_request_expectation,
)
from debussy.sync.status_fetcher import FetchedIssue, FetchResult, IssueStatusFetcher, Source
from debussy.sync.trackers import tracker_settings
from debussy.timeutil import Clock

if TYPE_CHECKING:
    from debussy.app.project import Project
    from debussy.config import Config
    from debussy.sync.trackers.clients import TrackerClients


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One linked issue: what the tracker says, what Debussy expects, how they differ."""

    link: LinkedIssue
    ref: IssueRef
    fetched: FetchedIssue
    expected: GitHubExpectation | JiraExpectation | PullRequestExpectation
    debussy_status: PhaseStatus | None
    """None for an issue the plan no longer links."""
    debussy_changed_at: datetime | None
    drifts: tuple[Drift, ...]

    @property
    def unlinked(self) -> bool:
        return self.debussy_status is None

    @property
    def key(self) -> str:
        return self.link.display_key

    @property
    def phase(self) -> str | None:
        """The phase id, or None for a plan-level issue."""
        return self.link.phase_id

    @property
    def status(self) -> IssueStatus | None:
        return self.fetched.status

    @property
    def source(self) -> Source:
        return self.fetched.source


@dataclass(frozen=True, slots=True)
class Dashboard:
    run: RunRecord
    rows: tuple[IssueRow, ...]
    fetch: FetchResult
    config: Config
    generated_at: datetime

    @property
    def drifted(self) -> list[IssueRow]:
        return [row for row in self.rows if row.drifts]

    @property
    def drift_count(self) -> int:
        """Issues with at least one drift (not the number of drifts)."""
        return len(self.drifted)

    @property
    def unknown(self) -> list[IssueRow]:
        return [row for row in self.rows if row.source == "unknown"]

    def exit_code(self, *, drift_fails: bool) -> int:
        """1 when anything could not be read, else 3 for drift with ``--exit-code``, else 0."""
        if self.fetch.errors or self.unknown:
            return EXIT_ERROR
        if drift_fails and self.drift_count:
            return EXIT_DRIFT
        return EXIT_OK


def cache_path(root: Path) -> Path:
    return root / STATE_DIR / CACHE_FILE


def drift_detector(state: StateManager, config: Config, run: RunRecord) -> DriftDetector:
    """The run's ``DriftDetector`` from one read of the state (the dashboard's and sync's).

    The sync history is read only when the plan issue has unlinked issues Debussy may have
    made its sub-issues (the warm path reads no history).
    """
    links = state.linked_issues(run.id)
    unlinked = state.unlinked_issues(run.id)
    plan_issue = structure_parent(run, links, config) if unlinked else None
    made: frozenset[str] = frozenset()
    if plan_issue is not None:
        syncs = [entry for entry in state.sync_history() if entry.run_id == run.id]
        made = frozenset(sub_issues_added(plan_issue, state.pushes(run.id), syncs))
    return DriftDetector(
        run,
        state.phases(run.id),
        links,
        config,
        snapshots=state.snapshots(link.key for link in links),
        unlinked=unlinked,
        linked_by_debussy=made,
        holds=state.holds(run.id),
    )


def build_dashboard(
    state: StateManager,
    config: Config,
    run_id: str | None,
    *,
    cache: IssueCache | None,
    refresh: bool = False,
    clients: TrackerClients | None = None,
    clock: Clock = timeutil.now,
) -> Dashboard:
    """The dashboard of one run (the latest when ``run_id`` is None); blocking.

    Raises ``StateError`` for an unknown run; tracker failures never raise, they
    are in ``dashboard.fetch.errors`` and the affected rows.
    """
    run = state.get_run(run_id)
    detector = drift_detector(state, config, run)
    refs = [ref_from_canonical(link.platform, link.ref) for link in detector.issues_to_read]

    fetcher = IssueStatusFetcher(config, cache=cache, clients=clients, clock=clock)
    result = fetcher.fetch_blocking(refs, refresh=refresh)
    dashboard = assemble(detector, result, now=clock())
    if state.read_only:
        # A look is a read: what it would remember (issues last seen agreeing, unlinked
        # issues no longer labelled) is bookkeeping, and a read-only .debussy/ is no
        # reason to fail it. The next look from a writable folder remembers it.
        import logging

        logging.getLogger(__name__).info(
            "state is read-only: the issues' last-seen states are not remembered"
        )
        return dashboard
    state.save_snapshots(agreed_snapshots(dashboard))
    state.forget_unlinked(run.id, cleared_unlinked(detector, result))
    return dashboard


def assemble(detector: DriftDetector, result: FetchResult, *, now: datetime) -> Dashboard:
    """One row per linked issue, and per unlinked issue still labelled, as judged (pure)."""
    statuses = result.statuses()
    rows: list[IssueRow] = []
    for judgement in detector.judge(statuses):
        link = judgement.link
        ref = ref_from_canonical(link.platform, link.ref)
        fetched = result.issues.get(ref) or FetchedIssue(ref, None, "unknown", None)
        rows.append(
            IssueRow(
                link=link,
                ref=ref,
                fetched=fetched,
                expected=(
                    pull_request_expectation(judgement.status)
                    if judgement.status is not None
                    and fetched.status is not None
                    and fetched.status.is_pull_request
                    else judgement.expected
                ),
                debussy_status=judgement.status,
                debussy_changed_at=judgement.changed_at,
                drifts=judgement.drifts,
            )
        )
    return Dashboard(
        run=detector.run,
        rows=tuple(rows),
        fetch=result,
        config=detector.config,
        generated_at=now,
    )


def cleared_unlinked(detector: DriftDetector, result: FetchResult) -> list[tuple[str, str]]:
    """Unlinked issues just read fresh without a Debussy label: nothing left to watch."""
    if not detector.unlinked:
        return []
    fresh = {
        key: status
        for key, status in result.statuses().items()
        if result.issues[ref_from_canonical(*key)].source == "fresh"
    }
    return detector.cleared(fresh)


def agreed_snapshots(dashboard: Dashboard) -> list[Snapshot]:
    """Snapshots of the issues fetched just now whose state agrees with Debussy (see above)."""
    seen_at = timeutil.to_iso(dashboard.generated_at)
    snapshots: list[Snapshot] = []
    saved: set[tuple[str, str]] = set()
    for row in dashboard.rows:
        status = row.status
        if row.source != "fresh" or status is None or status.missing or row.unlinked:
            continue
        if any(drift.type != "label_mismatch" for drift in row.drifts):
            continue
        if row.link.key in saved:
            continue
        saved.add(row.link.key)
        snapshots.append(
            Snapshot(
                platform=row.link.platform,
                ref=row.link.ref,
                state=status.state,
                state_reason=status.state_reason,
                status_category=status.status_category,
                labels=status.labels,
                last_updated=_iso(status.last_updated),
                seen_at=seen_at,
            )
        )
    return snapshots


def issue_url(ref: IssueRef, config: Config) -> str | None:
    """Where a person would look at the issue, also when the tracker could not be asked."""
    return ref.web_url(tracker_settings(config, ref.platform))


def _iso(moment: datetime | None) -> str | None:
    return timeutil.to_iso(moment) if moment is not None else None


def look(
    project: Project,
    run_id: str,
    *,
    refresh: bool,
    waiting: Callable[[str], AbstractContextManager[object]],
) -> Dashboard:
    """``status --issues``: the dashboard of a run that followed its plan, cache first.

    ``waiting`` shows the wait (the spinner) while the trackers are read.
    """
    from debussy.app.project import tracker_names

    config = project.config  # the snapshot: no YAML, no pydantic while unchanged
    with (
        IssueCache(cache_path(project.root), config.cache.ttl_seconds) as cache,
        waiting(f"Reading issue statuses from {tracker_names(config)}…"),
    ):
        return build_dashboard(project.state, config, run_id, cache=cache, refresh=refresh)
