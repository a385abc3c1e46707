"""``IssueStatusFetcher``: the current status of linked issues, from the cache or the trackers.

One call answers for every issue of a run, whatever happens:

- fresh cache entries are served without any network (nor any ``import httpx``:
  the clients are built only when something must be fetched);
- the rest is fetched, GitHub and Jira concurrently, in as few requests as the
  clients can batch, and written back to the cache;
- a platform that fails after the clients' retries does not fail the call: its
  issues are served from cache entries of any age (``stale``) or reported
  ``unknown``, and the failure is listed in ``errors`` for the caller to show;
- a disabled platform is never contacted; its issues are ``disabled``.

``sync`` must never act on cached or partial data: it passes ``refresh=True``
and checks ``FetchResult.complete`` (or uses ``fetch_github_status`` /
``fetch_jira_status``, which raise instead of falling back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from debussy import timeutil
from debussy.config import Config
from debussy.errors import TrackerError
from debussy.sync.cache import CacheEntry, IssueCache
from debussy.sync.models import GitHubRef, IssueRef, IssueStatus, JiraRef, Platform
from debussy.timeutil import Clock, humanize_age

if TYPE_CHECKING:
    from debussy.sync.clients import TrackerClients

cache_log = logging.getLogger("debussy.cache")
log = logging.getLogger("debussy.fetch")

Source = Literal["fresh", "cache", "stale", "unknown", "disabled"]
RefT = TypeVar("RefT", GitHubRef, JiraRef)


@dataclass(frozen=True, slots=True)
class PlatformError:
    """One tracker that could not be read: ``kind`` is ``TrackerError.kind``; no secrets."""

    platform: str
    kind: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"platform": self.platform, "kind": self.kind, "message": self.message}


@dataclass(slots=True)
class FetchedIssue:
    """What is known about one issue and where it came from.

    ``age_seconds`` is how old the data is (0 when fetched now, None when there
    is none); ``error`` says why a ``stale`` or ``unknown`` issue could not be read.
    """

    ref: IssueRef
    status: IssueStatus | None
    source: Source
    age_seconds: float | None
    error: str | None = None


@dataclass(slots=True)
class FetchResult:
    issues: dict[IssueRef, FetchedIssue] = field(default_factory=dict[IssueRef, FetchedIssue])
    errors: list[PlatformError] = field(default_factory=list[PlatformError])
    requests: dict[str, int] = field(default_factory=dict[str, int])
    from_cache: int = 0
    """Issues served from the cache, fresh or stale."""
    fetched: int = 0
    """Issues read from a tracker during this call."""
    oldest_age_seconds: float | None = None
    """Age of the oldest data served (0 when all of it was fetched now; None: no data)."""
    stale: bool = False

    def statuses(self) -> dict[tuple[str, str], IssueStatus]:
        """``(platform, canonical) -> status`` for every issue with data, for ``DriftDetector``."""
        return {
            (ref.platform, ref.canonical): issue.status
            for ref, issue in self.issues.items()
            if issue.status is not None
        }

    @property
    def complete(self) -> bool:
        """No platform failed and no issue is unknown: the only data ``sync`` may act on."""
        return not self.errors and all(i.source != "unknown" for i in self.issues.values())

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


@dataclass(slots=True)
class _PlatformOutcome(Generic[RefT]):
    """One platform's share of a fetch, before it is merged into the ``FetchResult``."""

    issues: dict[RefT, FetchedIssue]
    fetched: dict[RefT, IssueStatus]
    error: TrackerError | None = None


class IssueStatusFetcher:
    """Statuses of linked issues through the cache; see the module docstring."""

    def __init__(
        self,
        config: Config,
        *,
        cache: IssueCache | None,
        clients: TrackerClients | None = None,
        clock: Clock = timeutil.now,
    ) -> None:
        self._config = config
        self._cache = cache
        self._clients = clients
        self._owns_clients = clients is None
        self._clock = clock

    async def aclose(self) -> None:
        """Close the clients this fetcher built (clients passed in belong to the caller)."""
        if self._clients is not None and self._owns_clients:
            await self._clients.aclose()
            self._clients = None

    async def __aenter__(self) -> IssueStatusFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the whole run ----------------------------------------------------------------------

    async def fetch(self, refs: Sequence[IssueRef], *, refresh: bool = False) -> FetchResult:
        """Every ref's status, GitHub and Jira concurrently; never raises ``TrackerError``."""
        wanted = list(dict.fromkeys(refs))
        github = [ref for ref in wanted if isinstance(ref, GitHubRef)]
        jira = [ref for ref in wanted if isinstance(ref, JiraRef)]
        before = self._requests_so_far()
        github_outcome, jira_outcome = await asyncio.gather(
            self._platform_github(github, refresh=refresh),
            self._platform_jira(jira, refresh=refresh),
        )
        result = FetchResult()
        merged: dict[IssueRef, FetchedIssue] = {**github_outcome.issues, **jira_outcome.issues}
        result.issues = {ref: merged[ref] for ref in wanted}
        for outcome in (github_outcome, jira_outcome):
            if outcome.error is not None:
                error = outcome.error
                result.errors.append(PlatformError(error.platform, error.kind, error.message))
        result.requests = _delta(before, self._requests_so_far())
        _summarise(result)
        return result

    # --- one platform, for callers that must not fall back ----------------------------------

    async def fetch_github_status(
        self, refs: Sequence[GitHubRef], *, refresh: bool = False
    ) -> dict[GitHubRef, IssueStatus]:
        """Statuses of ``refs`` (fresh cache entries unless ``refresh``).

        Raises the ``TrackerError`` when GitHub cannot be read; returns ``{}``
        when GitHub is disabled.
        """
        outcome = await self._platform_github(list(dict.fromkeys(refs)), refresh=refresh)
        return _strict(outcome)

    async def fetch_jira_status(
        self, refs: Sequence[JiraRef], *, refresh: bool = False
    ) -> dict[JiraRef, IssueStatus]:
        """As ``fetch_github_status``, for Jira."""
        outcome = await self._platform_jira(list(dict.fromkeys(refs)), refresh=refresh)
        return _strict(outcome)

    # --- per platform -----------------------------------------------------------------------

    async def _platform_github(
        self, refs: list[GitHubRef], *, refresh: bool
    ) -> _PlatformOutcome[GitHubRef]:
        config = self._config.github

        async def read(
            missing: list[GitHubRef], cached: Mapping[GitHubRef, CacheEntry]
        ) -> dict[GitHubRef, IssueStatus]:
            # Old entries still revalidate over REST: a 304 costs no rate-limit quota.
            known = {ref: entry.status for ref, entry in cached.items()}
            client = self._tracker_clients().github()
            return await client.fetch_issues(missing, known=known)

        return await self._platform(
            "github", refs, enabled=config.enabled, host=config.host, refresh=refresh, read=read
        )

    async def _platform_jira(
        self, refs: list[JiraRef], *, refresh: bool
    ) -> _PlatformOutcome[JiraRef]:
        config = self._config.jira

        async def read(
            missing: list[JiraRef], _cached: Mapping[JiraRef, CacheEntry]
        ) -> dict[JiraRef, IssueStatus]:
            return await self._tracker_clients().jira().fetch_issues(missing)

        return await self._platform(
            "jira", refs, enabled=config.active, host=config.host, refresh=refresh, read=read
        )

    async def _platform(
        self,
        platform: Platform,
        refs: list[RefT],
        *,
        enabled: bool,
        host: str,
        refresh: bool,
        read: _Reader[RefT],
    ) -> _PlatformOutcome[RefT]:
        """Serve fresh entries, fetch the rest, fall back to old entries if the fetch fails."""
        outcome = _PlatformOutcome[RefT](issues={}, fetched={})
        if not refs:
            return outcome
        if not enabled:
            for ref in refs:
                outcome.issues[ref] = FetchedIssue(ref, None, "disabled", None)
            return outcome
        cached = self._cache.get_many(host, refs) if self._cache is not None else {}
        missing: list[RefT] = []
        for ref in refs:
            entry = cached.get(ref)
            if entry is not None and entry.fresh and not refresh:
                cache_log.info("cache hit: %s (fetched %s)", ref.canonical, _age(entry))
                outcome.issues[ref] = FetchedIssue(ref, entry.status, "cache", entry.age_seconds)
            else:
                cache_log.info(
                    "cache miss: %s (%s)", ref.canonical, self._miss_reason(entry, refresh)
                )
                missing.append(ref)
        if not missing:
            return outcome
        try:
            statuses = await read(missing, {ref: cached[ref] for ref in missing if ref in cached})
        except TrackerError as exc:
            log.info("%s: %s", platform, exc.message)
            outcome.error = exc
            for ref in missing:
                outcome.issues[ref] = _fallback(ref, cached.get(ref), exc)
            return outcome
        if self._cache is not None:
            self._cache.put_many(host, statuses.values())
        for ref in missing:
            status = statuses.get(ref)
            if status is None:
                # The client answers for every ref it is given; guard against one that did not.
                status = IssueStatus.missing_issue(ref)
            outcome.fetched[ref] = status
            outcome.issues[ref] = FetchedIssue(ref, status, "fresh", 0.0)
        return outcome

    def _miss_reason(self, entry: CacheEntry | None, refresh: bool) -> str:
        if self._cache is None or not self._cache.reads_enabled:
            return "cache disabled"
        if entry is None:
            return "not cached"
        why = "--refresh" if refresh else "expired"
        return f"{why}; fetched {_age(entry)}"

    def _tracker_clients(self) -> TrackerClients:
        if self._clients is None:
            from debussy.sync.clients import TrackerClients

            self._clients = TrackerClients(self._config)
        return self._clients

    def _requests_so_far(self) -> dict[str, int]:
        return self._clients.requests() if self._clients is not None else {}


class _Reader(Protocol[RefT]):
    async def __call__(
        self, missing: list[RefT], cached: Mapping[RefT, CacheEntry], /
    ) -> dict[RefT, IssueStatus]: ...


def _fallback(ref: IssueRef, entry: CacheEntry | None, exc: TrackerError) -> FetchedIssue:
    if entry is None:
        return FetchedIssue(ref, None, "unknown", None, exc.message)
    return FetchedIssue(ref, entry.status, "stale", entry.age_seconds, exc.message)


def _strict(outcome: _PlatformOutcome[RefT]) -> dict[RefT, IssueStatus]:
    if outcome.error is not None:
        raise outcome.error
    return {ref: issue.status for ref, issue in outcome.issues.items() if issue.status is not None}


def _summarise(result: FetchResult) -> None:
    ages: list[float] = []
    for issue in result.issues.values():
        if issue.source in ("cache", "stale"):
            result.from_cache += 1
        elif issue.source == "fresh":
            result.fetched += 1
        if issue.age_seconds is not None:
            ages.append(issue.age_seconds)
        result.stale = result.stale or issue.source == "stale"
    result.oldest_age_seconds = max(ages, default=None)


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {platform: count - before.get(platform, 0) for platform, count in after.items()}


def _age(entry: CacheEntry) -> str:
    return humanize_age(entry.age_seconds)
