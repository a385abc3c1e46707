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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from debussy import timeutil
from debussy.errors import TrackerError
from debussy.issues import GitHubRef, IssueRef, IssueStatus, JiraRef, Platform
from debussy.sync.cache import CacheEntry, IssueCache
from debussy.sync.trackers.base import AsyncClosing
from debussy.timeutil import Clock, humanize_age

if TYPE_CHECKING:
    from debussy.config import Config
    from debussy.sync.trackers.clients import TrackerClients

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
class _Pending(Generic[RefT]):
    """One platform's share of a fetch: what the cache answered and what is left to ask."""

    platform: Platform
    host: str
    issues: dict[RefT, FetchedIssue] = field(default_factory=dict[RefT, FetchedIssue])
    missing: list[RefT] = field(default_factory=list[RefT])
    cached: dict[RefT, CacheEntry] = field(default_factory=dict[RefT, CacheEntry])
    error: TrackerError | None = None
    cache_unread: bool = False
    """``--refresh``: the cache is read only if the tracker fails (for the fallback)."""


class IssueStatusFetcher(AsyncClosing):
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

    # --- the whole run ----------------------------------------------------------------------

    async def fetch(self, refs: Sequence[IssueRef], *, refresh: bool = False) -> FetchResult:
        """Every ref's status, GitHub and Jira concurrently; never raises ``TrackerError``."""
        import asyncio  # not at module level: the warm path never starts an event loop

        wanted, github, jira = self._prepare(refs, refresh=refresh)
        before = self._requests_so_far()
        await asyncio.gather(self._complete_github(github), self._complete_jira(jira))
        return self._result(wanted, github, jira, before)

    def fetch_blocking(self, refs: Sequence[IssueRef], *, refresh: bool = False) -> FetchResult:
        """``fetch`` for code without an event loop; starts one only if something must be fetched.

        The warm path of ``status --issues`` goes through here: everything fresh in
        the cache means no event loop, no client and no ``import httpx`` at all.
        Clients this fetcher builds are closed before it returns.
        """
        wanted, github, jira = self._prepare(refs, refresh=refresh)
        before = self._requests_so_far()
        if not (github.missing or jira.missing):
            return self._result(wanted, github, jira, before)
        import asyncio

        async def network() -> FetchResult:
            try:
                await asyncio.gather(self._complete_github(github), self._complete_jira(jira))
                return self._result(wanted, github, jira, before)
            finally:
                await self.aclose()

        return asyncio.run(network())

    # --- one platform, for callers that must not fall back ----------------------------------

    async def fetch_github_status(
        self, refs: Sequence[GitHubRef], *, refresh: bool = False
    ) -> dict[GitHubRef, IssueStatus]:
        """Statuses of ``refs`` (fresh cache entries unless ``refresh``).

        Raises the ``TrackerError`` when GitHub cannot be read; returns ``{}``
        when GitHub is disabled.
        """
        config = self._config.github
        pending = self._pending("github", config.host, config.enabled, refs, refresh=refresh)
        await self._complete_github(pending)
        return _strict(pending)

    async def fetch_jira_status(
        self, refs: Sequence[JiraRef], *, refresh: bool = False
    ) -> dict[JiraRef, IssueStatus]:
        """As ``fetch_github_status``, for Jira."""
        config = self._config.jira
        pending = self._pending("jira", config.host, config.active, refs, refresh=refresh)
        await self._complete_jira(pending)
        return _strict(pending)

    # --- the cache first ----------------------------------------------------------------------

    def _prepare(
        self, refs: Sequence[IssueRef], *, refresh: bool
    ) -> tuple[list[IssueRef], _Pending[GitHubRef], _Pending[JiraRef]]:
        wanted = list(dict.fromkeys(refs))
        github_config, jira_config = self._config.github, self._config.jira
        github = self._pending(
            "github",
            github_config.host,
            github_config.enabled,
            [ref for ref in wanted if isinstance(ref, GitHubRef)],
            refresh=refresh,
        )
        jira = self._pending(
            "jira",
            jira_config.host,
            jira_config.active,
            [ref for ref in wanted if isinstance(ref, JiraRef)],
            refresh=refresh,
        )
        return wanted, github, jira

    def _pending(
        self,
        platform: Platform,
        host: str,
        enabled: bool,
        refs: Sequence[RefT],
        *,
        refresh: bool,
    ) -> _Pending[RefT]:
        """Serve what the cache has fresh (or mark the platform disabled); list the rest."""
        pending = _Pending[RefT](platform, host)
        refs = list(dict.fromkeys(refs))
        if not enabled:
            for ref in refs:
                pending.issues[ref] = FetchedIssue(ref, None, "disabled", None)
            return pending
        if refs and self._cache is not None and refresh:
            # Nothing cached is served under --refresh: decoding thousands of entries
            # only to ignore them made --refresh slower than no cache at all (issue 16).
            pending.cache_unread = True
        elif refs and self._cache is not None:
            pending.cached = self._cached(host, refs)
        verbose = cache_log.isEnabledFor(logging.INFO)  # -v: the messages' ages cost per issue
        for ref in refs:
            entry = pending.cached.get(ref)
            if entry is not None and entry.fresh and not refresh:
                if verbose:
                    cache_log.info("cache hit: %s (fetched %s)", ref.canonical, _age(entry))
                pending.issues[ref] = FetchedIssue(ref, entry.status, "cache", entry.age_seconds)
            else:
                if verbose:
                    cache_log.info(
                        "cache miss: %s (%s)", ref.canonical, self._miss_reason(entry, refresh)
                    )
                pending.missing.append(ref)
        return pending

    # --- then the trackers ------------------------------------------------------------------

    async def _complete_github(self, pending: _Pending[GitHubRef]) -> None:
        async def read(missing: list[GitHubRef]) -> dict[GitHubRef, IssueStatus]:
            # Old entries still revalidate over REST: a 304 costs no rate-limit quota.
            # (A set, not the list: ``in`` over a list was quadratic at thousands of issues.)
            asked = set(missing)
            known = {ref: entry.status for ref, entry in pending.cached.items() if ref in asked}
            client = self._tracker_clients().github()
            return await client.fetch_issues(missing, known=known)

        await self._complete(pending, read)

    async def _complete_jira(self, pending: _Pending[JiraRef]) -> None:
        async def read(missing: list[JiraRef]) -> dict[JiraRef, IssueStatus]:
            client = self._tracker_clients().jira()
            # Issues an earlier command moved moments ago: Cloud's search index may not
            # show it yet, so they go in ``reconcileIssues`` with this client's own writes.
            recent = self._recently_written(pending.host, missing)
            if not recent:
                return await client.fetch_issues(missing)
            client.learn_ids(recent)
            again = {ref for ref in missing if ref.key in recent}
            return await client.fetch_issues(missing, reconcile=again | client.written)

        await self._complete(pending, read)

    async def _complete(self, pending: _Pending[RefT], read: _Reader[RefT]) -> None:
        """Fetch what the cache could not serve; on failure fall back to entries of any age."""
        if not pending.missing:
            return
        try:
            statuses = await read(pending.missing)
        except TrackerError as exc:
            log.info("%s: %s", pending.platform, exc.message)
            pending.error = exc
            if pending.cache_unread:
                pending.cached = self._cached(pending.host, pending.missing)
            for ref in pending.missing:
                pending.issues[ref] = _fallback(ref, pending.cached.get(ref), exc)
            return
        if self._cache is not None:
            self._cache.put_many(pending.host, statuses.values())
        for ref in pending.missing:
            # The clients answer for every ref they are given; guard against one that did not.
            status = statuses.get(ref) or IssueStatus.missing_issue(ref)
            pending.issues[ref] = FetchedIssue(ref, status, "fresh", 0.0)

    def _result(
        self,
        wanted: list[IssueRef],
        github: _Pending[GitHubRef],
        jira: _Pending[JiraRef],
        before: Mapping[str, int],
    ) -> FetchResult:
        merged: dict[IssueRef, FetchedIssue] = {**github.issues, **jira.issues}
        result = FetchResult(issues={ref: merged[ref] for ref in wanted})
        for pending in (github, jira):
            if pending.error is not None:
                error = pending.error
                result.errors.append(PlatformError(error.platform, error.kind, error.message))
        result.requests = _delta(before, self._requests_so_far())
        _summarise(result)
        return result

    def _recently_written(self, host: str, refs: Sequence[JiraRef]) -> dict[str, int]:
        if self._cache is None:
            return {}
        return self._cache.recently_written(host, (ref.key for ref in refs))

    def _cached(self, host: str, refs: Sequence[RefT]) -> dict[RefT, CacheEntry]:
        if self._cache is None:
            return {}
        entries = self._cache.get_many(host, refs)
        return {ref: entries[ref] for ref in refs if ref in entries}

    def _miss_reason(self, entry: CacheEntry | None, refresh: bool) -> str:
        if self._cache is None or not self._cache.reads_enabled:
            return "cache disabled"
        if refresh:
            return "--refresh"
        if entry is None:
            return "not cached"
        return f"expired; fetched {_age(entry)}"

    def _tracker_clients(self) -> TrackerClients:
        if self._clients is None:
            from debussy.sync.trackers.clients import TrackerClients

            # On the dashboard this is a ``ConfigView``: the clients only read settings
            # (host, URLs, token and email from the environment), which it answers as
            # the models do, and building the models would cost ~30 ms (issue 16).
            self._clients = TrackerClients(self._config)
        return self._clients

    def _requests_so_far(self) -> dict[str, int]:
        return self._clients.requests() if self._clients is not None else {}


class _Reader(Protocol[RefT]):
    async def __call__(self, missing: list[RefT], /) -> dict[RefT, IssueStatus]: ...


def _fallback(ref: IssueRef, entry: CacheEntry | None, exc: TrackerError) -> FetchedIssue:
    if entry is None:
        return FetchedIssue(ref, None, "unknown", None, exc.message)
    return FetchedIssue(ref, entry.status, "stale", entry.age_seconds, exc.message)


def _strict(pending: _Pending[RefT]) -> dict[RefT, IssueStatus]:
    if pending.error is not None:
        raise pending.error
    return {ref: issue.status for ref, issue in pending.issues.items() if issue.status is not None}


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
