"""The issue dashboard behind ``debussy status --issues``: fetch, compare, remember.

``build_dashboard`` reads one run's linked issues from the state database, asks
the ``IssueStatusFetcher`` for their statuses (cache first), judges each against
the expectation of its phase with the drift rules of ``drift_detector``, and
returns a ``Dashboard`` that both renderers (Rich table, §6 JSON document) read.

It also records tracker snapshots, and only of issues fetched just now whose
*state* agrees with Debussy (no drift other than ``label_mismatch``): a snapshot
is "the last state Debussy and the tracker agreed on", which is what makes a
reopened issue show ``reopened_externally`` on every look until someone acts.
Snapshotting an issue with a state drift would make that drift vanish the next
time. Labels are not part of that agreement: the drift rules read only the
snapshot's state, and a ``sync`` from the tracker leaves labels as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from debussy import timeutil
from debussy.config_snapshot import STATE_DIR
from debussy.issues import Drift, GitHubRef, IssueRef, IssueStatus, ref_from_canonical
from debussy.state.manager import LinkedIssue, RunRecord, Snapshot, StateManager
from debussy.state.status import PhaseStatus
from debussy.sync.cache import CACHE_FILE, IssueCache
from debussy.sync.drift_detector import expectation_for, issue_drift, linked_contexts
from debussy.sync.expected import GitHubExpectation, JiraExpectation
from debussy.sync.status_fetcher import FetchedIssue, FetchResult, IssueStatusFetcher, Source
from debussy.timeutil import Clock

if TYPE_CHECKING:
    from debussy.config import Config
    from debussy.sync.trackers.clients import TrackerClients

SCHEMA_VERSION = 1
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 3


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One linked issue: what the tracker says, what Debussy expects, how they differ."""

    link: LinkedIssue
    ref: IssueRef
    fetched: FetchedIssue
    expected: GitHubExpectation | JiraExpectation
    debussy_status: PhaseStatus
    debussy_changed_at: datetime | None
    drifts: tuple[Drift, ...]

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
    links = state.linked_issues(run.id)
    refs = [ref_from_canonical(link.platform, link.ref) for link in links]

    fetcher = IssueStatusFetcher(config, cache=cache, clients=clients, clock=clock)
    result = fetcher.fetch_blocking(refs, refresh=refresh)
    dashboard = assemble(state, config, run, links, result, now=clock())
    state.save_snapshots(agreed_snapshots(dashboard))
    return dashboard


def assemble(
    state: StateManager,
    config: Config,
    run: RunRecord,
    links: Sequence[LinkedIssue],
    result: FetchResult,
    *,
    now: datetime,
) -> Dashboard:
    """Judge every fetched issue against its phase (pure apart from reading the state)."""
    phases = state.phases(run.id)
    snapshots = state.snapshots(link.key for link in links)
    rows: list[IssueRow] = []
    for context in linked_contexts(phases, links):
        link = context.link
        ref = ref_from_canonical(link.platform, link.ref)
        fetched = result.issues.get(ref) or FetchedIssue(ref, None, "unknown", None)
        drifts: list[Drift] = []
        if fetched.status is not None:
            drifts = issue_drift(
                context,
                fetched.status,
                snapshots.get(link.key),
                config,
                auto_close=run.auto_close,
            )
        rows.append(
            IssueRow(
                link=link,
                ref=ref,
                fetched=fetched,
                expected=expectation_for(context, config, auto_close=run.auto_close),
                debussy_status=context.status,
                debussy_changed_at=context.changed_at,
                drifts=tuple(drifts),
            )
        )
    return Dashboard(run=run, rows=tuple(rows), fetch=result, config=config, generated_at=now)


def agreed_snapshots(dashboard: Dashboard) -> list[Snapshot]:
    """Snapshots of the issues fetched just now whose state agrees with Debussy (see above)."""
    seen_at = timeutil.to_iso(dashboard.generated_at)
    snapshots: list[Snapshot] = []
    saved: set[tuple[str, str]] = set()
    for row in dashboard.rows:
        status = row.status
        if row.source != "fresh" or status is None or status.missing:
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


# --- the §6 JSON document -------------------------------------------------------------------


def dashboard_document(dashboard: Dashboard) -> dict[str, Any]:
    """``status --issues --json`` (PRODUCT.md §6): stable keys, UTC times, no secrets."""
    fetch = dashboard.fetch
    run = dashboard.run
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {"id": run.id, "plan": run.plan_path, "status": run.status},
        "cache": {
            "from_cache": fetch.from_cache,
            "fetched": fetch.fetched,
            "requests": fetch.total_requests,
            "oldest_age_seconds": _seconds(fetch.oldest_age_seconds),
            "stale": fetch.stale,
        },
        "issues": [issue_document(row, dashboard.config) for row in dashboard.rows],
        "drift_count": dashboard.drift_count,
        "errors": [error.as_json() for error in fetch.errors],
    }


def issue_document(row: IssueRow, config: Config) -> dict[str, Any]:
    status = row.status
    document: dict[str, Any] = {"key": row.key, "platform": row.ref.platform}
    if isinstance(row.ref, GitHubRef):
        document["repo"] = row.ref.repo
        document["number"] = row.ref.number
    document.update(
        {
            "phase": row.phase,
            "url": (status.url if status is not None else None) or issue_url(row.ref, config),
            "state": _visible_state(status),
            "state_reason": status.state_reason if status is not None else None,
            "status_category": status.status_category if status is not None else None,
            "labels": list(status.labels) if status is not None else [],
            "milestone": status.milestone if status is not None else None,
            "expected": row.expected.as_json(),
            "last_updated": _iso(status.last_updated if status is not None else None),
            "debussy_changed_at": _iso(row.debussy_changed_at),
            "drift": [
                {"type": drift.type, "newer": drift.newer, "detail": drift.detail}
                for drift in row.drifts
            ],
            "source": row.source,
            "age_seconds": _seconds(row.fetched.age_seconds),
            "error": row.fetched.error,
        }
    )
    return document


def issue_url(ref: IssueRef, config: Config) -> str | None:
    """Where a person would look at the issue, also when the tracker could not be asked."""
    if isinstance(ref, GitHubRef):
        scheme = urlsplit(config.github.api_url).scheme
        return f"{scheme}://{config.github.web_host}/{ref.repo}/issues/{ref.number}"
    return config.jira.browse_url(ref.key) if config.jira.url else None


def _visible_state(status: IssueStatus | None) -> str | None:
    if status is None:
        return None
    return "missing" if status.missing else status.state


def _iso(moment: datetime | None) -> str | None:
    return timeutil.to_iso(moment) if moment is not None else None


def _seconds(value: float | None) -> int | None:
    return round(value) if value is not None else None
