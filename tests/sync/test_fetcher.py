"""IssueStatusFetcher against the sandbox tracker: batching, concurrency, cache, fallbacks.

GitHub and Jira are the sandbox tracker (``debussy.sandbox``) answering through its
in-process transport, which ``TrackerClients`` is given, so the real clients run
down to httpx and every request they send is counted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from debussy.config import Config, GitHubConfig, JiraConfig
from debussy.errors import TrackerServerError
from debussy.issues import GitHubRef, IssueRef, JiraRef
from debussy.sync.cache import IssueCache
from debussy.sync.status_fetcher import FetchResult, IssueStatusFetcher, PlatformError
from debussy.sync.trackers.clients import TrackerClients
from tests.clock import ManualClock as Clock
from tests.fixtures.sandbox_clients import GITHUB_TOKEN, InProcessSandbox
from tests.fixtures.sandbox_clients import JIRA_EMAIL as EMAIL
from tests.fixtures.sandbox_clients import JIRA_TOKEN as JIRA_TOKEN

APP_1, APP_2, APP_3 = (GitHubRef("octo/app", n) for n in (1, 2, 3))
PROJ_1, PROJ_2 = JiraRef("PROJ-1"), JiraRef("PROJ-2")


class Trackers:
    """The sandbox (GitHub and Jira), with the config and credentials that point at it."""

    def __init__(self, sandbox: InProcessSandbox) -> None:
        self.sandbox = sandbox
        self.tracker = sandbox.tracker

    def config(self, *, github: bool = True, jira: bool = True, ttl: int = 300) -> Config:
        return Config.model_validate(
            {
                "github": GitHubConfig(
                    enabled=github, api_url=self.tracker.github_api_url
                ).model_dump(),
                "jira": JiraConfig(enabled=jira, url=self.tracker.jira_url).model_dump(),
                "cache": {"ttl_seconds": ttl},
            }
        )

    @property
    def github_host(self) -> str:
        """The cache namespace of the GitHub side."""
        return self.config().github.host

    def github_requests(self) -> int:
        return len(self.sandbox.github_calls())

    def jira_requests(self) -> int:
        return len(self.sandbox.jira_calls())

    def jira_searches(self) -> int:
        return len(self.sandbox.searches())

    def fail_github(
        self,
        times: int = 3,
        *,
        status: int | None = None,
        body: str | None = None,
        transport_error: str | None = None,
    ) -> None:
        """The next ``times`` GraphQL requests fail so (``SandboxTracker.inject``)."""
        self.tracker.inject(
            path="/api/graphql$",
            times=times,
            status=status,
            body=body,
            transport_error=transport_error,
        )


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("JIRA_EMAIL", EMAIL)
    monkeypatch.setenv("JIRA_API_TOKEN", JIRA_TOKEN)


@pytest.fixture
def trackers(credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trackers]:
    sandbox = InProcessSandbox()
    for number in (1, 2, 3):
        sandbox.tracker.add_issue("octo/app", number, labels=["debussy:in-progress"])
    sandbox.tracker.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.tracker.add_jira_issue("PROJ-2", status="To Do")
    wired = functools.partialmethod(TrackerClients.__init__, transport=sandbox.transport)
    monkeypatch.setattr(TrackerClients, "__init__", wired)  # every command's clients reach it
    yield Trackers(sandbox)
    sandbox.check_contract()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> Iterator[IssueCache]:
    with IssueCache(tmp_path / "cache.db", 300, clock=clock) as opened:
        yield opened


def fetch(
    config: Config,
    refs: list[IssueRef],
    *,
    cache: IssueCache | None,
    clock: Clock,
    refresh: bool = False,
    clients: TrackerClients | None = None,
) -> FetchResult:
    async def main() -> FetchResult:
        async with IssueStatusFetcher(config, cache=cache, clients=clients, clock=clock) as fetcher:
            return await fetcher.fetch(refs, refresh=refresh)

    return asyncio.run(main())


def sources(result: FetchResult) -> dict[str, str]:
    return {ref.canonical: issue.source for ref, issue in result.issues.items()}


def test_github_and_jira_are_fetched_concurrently(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    """The GitHub and the Jira request are in the sandbox at the same time."""
    result = fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock)
    assert (trackers.github_requests(), trackers.jira_requests()) == (1, 1)
    assert trackers.tracker.max_in_flight == 2
    assert sources(result) == {"octo/app#1": "fresh", "PROJ-1": "fresh"}
    assert result.complete


def test_many_issues_take_one_request_per_hundred_on_each_tracker(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    github_refs: list[IssueRef] = []
    for number in range(1, 151):
        repo = "octo/app" if number % 2 else "octo/lib"
        trackers.tracker.add_issue(repo, number + 10)
        github_refs.append(GitHubRef(repo, number + 10))
    jira_keys = trackers.sandbox.add_jira_issues(150, project="BIG")
    jira_refs: list[IssueRef] = [JiraRef(key) for key in jira_keys]
    result = fetch(trackers.config(), github_refs + jira_refs, cache=cache, clock=clock)
    assert result.requests == {"github": 2, "jira": 2}
    assert (trackers.github_requests(), trackers.jira_searches()) == (2, 2)
    assert (result.fetched, result.from_cache, result.oldest_age_seconds) == (300, 0, 0)
    assert set(sources(result).values()) == {"fresh"}
    assert result.complete


def test_a_second_look_within_the_ttl_asks_nobody(
    trackers: Trackers, cache: IssueCache, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs: list[IssueRef] = [APP_1, APP_2, PROJ_1]
    fetch(trackers.config(), refs, cache=cache, clock=clock)
    sent = trackers.github_requests() + trackers.jira_requests()
    clock.advance(120)

    def no_clients(*_args: object) -> None:
        raise AssertionError("a client was built although everything was cached")

    monkeypatch.setattr(TrackerClients, "__init__", no_clients)
    result = fetch(trackers.config(), refs, cache=cache, clock=clock)
    assert trackers.github_requests() + trackers.jira_requests() == sent
    assert set(sources(result).values()) == {"cache"}
    assert (result.from_cache, result.fetched, result.requests) == (3, 0, {})
    assert result.oldest_age_seconds == 120
    assert not result.stale
    assert result.complete


def test_only_issues_missing_from_the_cache_or_expired_are_fetched(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    fetch(trackers.config(), [APP_1], cache=cache, clock=clock)
    clock.advance(200)
    fetch(trackers.config(), [APP_2], cache=cache, clock=clock)
    for number in (1, 2, 3):
        trackers.tracker.close_issue("octo/app", number)
    clock.advance(150)  # APP_1 is now 350 s old (expired), APP_2 150 s (fresh)
    result = fetch(trackers.config(), [APP_1, APP_2, APP_3], cache=cache, clock=clock)
    assert sources(result) == {"octo/app#1": "fresh", "octo/app#2": "cache", "octo/app#3": "fresh"}
    states = {
        ref.canonical: issue.status.state for ref, issue in result.issues.items() if issue.status
    }
    assert states == {"octo/app#1": "closed", "octo/app#2": "open", "octo/app#3": "closed"}
    assert result.requests == {"github": 1}
    assert result.oldest_age_seconds == 150


def test_refresh_ignores_fresh_entries_and_rewrites_them(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock)
    trackers.tracker.close_issue("octo/app", 1)
    trackers.tracker.move_jira_issue("PROJ-1", "Done")
    refreshed = fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock, refresh=True)
    assert set(sources(refreshed).values()) == {"fresh"}
    clock.advance(10)
    cached = fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock)
    assert set(sources(cached).values()) == {"cache"}
    assert cached.statuses()[("github", "octo/app#1")].state == "closed"
    assert cached.statuses()[("jira", "PROJ-1")].status_category == "done"


def test_ttl_zero_fetches_on_every_look(trackers: Trackers, tmp_path: Path, clock: Clock) -> None:
    config = trackers.config(ttl=0)
    with IssueCache(tmp_path / "cache.db", 0, clock=clock) as cache:
        for _ in range(2):
            result = fetch(config, [APP_1, PROJ_1], cache=cache, clock=clock)
            assert set(sources(result).values()) == {"fresh"}
    assert trackers.github_requests() == 2
    assert trackers.jira_searches() == 2


@pytest.mark.parametrize(
    ("github_on", "jira_on", "expected"),
    [
        (True, False, {"octo/app#1": "fresh", "PROJ-1": "disabled"}),
        (False, True, {"octo/app#1": "disabled", "PROJ-1": "fresh"}),
        (False, False, {"octo/app#1": "disabled", "PROJ-1": "disabled"}),
    ],
)
def test_a_disabled_platform_is_never_contacted(
    trackers: Trackers,
    cache: IssueCache,
    clock: Clock,
    github_on: bool,
    jira_on: bool,
    expected: dict[str, str],
) -> None:
    config = trackers.config(github=github_on, jira=jira_on)
    result = fetch(config, [APP_1, PROJ_1], cache=cache, clock=clock)
    assert sources(result) == expected
    assert (trackers.github_requests() > 0, trackers.jira_requests() > 0) == (github_on, jira_on)
    assert result.complete, "a disabled platform is not a failure"
    assert all(
        issue.status is None and issue.age_seconds is None
        for issue in result.issues.values()
        if issue.source == "disabled"
    )


def test_a_failing_tracker_falls_back_to_cache_of_any_age_or_unknown(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock)
    clock.advance(7200)
    trackers.fail_github(status=503)
    result = fetch(trackers.config(), [APP_1, APP_2, PROJ_1], cache=cache, clock=clock)
    assert sources(result) == {"octo/app#1": "stale", "octo/app#2": "unknown", "PROJ-1": "fresh"}
    stale, unknown = result.issues[APP_1], result.issues[APP_2]
    assert stale.age_seconds == 7200
    assert stale.status is not None
    assert stale.status.state == "open"
    assert unknown.status is None
    assert stale.error == unknown.error == "GitHub is unavailable (503)"
    assert result.errors == [PlatformError("github", "server_error", "GitHub is unavailable (503)")]
    assert result.requests == {"github": 3, "jira": 1}, "the client retried; Jira was unaffected"
    assert (result.stale, result.complete) == (True, False)
    assert (result.from_cache, result.fetched, result.oldest_age_seconds) == (1, 1, 7200)
    assert set(result.statuses()) == {("github", "octo/app#1"), ("jira", "PROJ-1")}


def test_a_failure_under_refresh_still_falls_back_to_the_cache(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    fetch(trackers.config(), [APP_1], cache=cache, clock=clock)
    trackers.fail_github(transport_error="connect")
    result = fetch(trackers.config(), [APP_1], cache=cache, clock=clock, refresh=True)
    assert sources(result) == {"octo/app#1": "stale"}
    assert [error.kind for error in result.errors] == ["unreachable"]


def test_missing_credentials_fail_that_platform_only(
    trackers: Trackers, cache: IssueCache, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIRA_API_TOKEN")
    monkeypatch.delenv("JIRA_EMAIL")
    result = fetch(trackers.config(), [APP_1, PROJ_1], cache=cache, clock=clock)
    assert sources(result) == {"octo/app#1": "fresh", "PROJ-1": "unknown"}
    (error,) = result.errors
    assert (error.platform, error.kind) == ("jira", "auth")
    assert "JIRA_EMAIL" in error.message
    assert "JIRA_API_TOKEN" in error.message
    assert trackers.jira_requests() == 0


def test_a_rejected_token_is_an_auth_error_naming_the_variable(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    trackers.fail_github(times=1, status=401, body='{"message": "Bad credentials"}')
    result = fetch(trackers.config(), [APP_1], cache=cache, clock=clock)
    (error,) = result.errors
    assert error.kind == "auth"
    assert "GITHUB_TOKEN" in error.message
    assert GITHUB_TOKEN not in error.message
    assert sources(result) == {"octo/app#1": "unknown"}


def test_the_single_platform_reads_raise_instead_of_falling_back(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    config = trackers.config()

    async def main() -> None:
        async with IssueStatusFetcher(config, cache=cache, clock=clock) as fetcher:
            statuses = await fetcher.fetch_jira_status([PROJ_1, PROJ_2])
            assert {ref.key: s.status_category for ref, s in statuses.items()} == {
                "PROJ-1": "indeterminate",
                "PROJ-2": "new",
            }
            await fetcher.fetch_github_status([APP_1])
            trackers.fail_github(status=502)
            with pytest.raises(TrackerServerError):
                await fetcher.fetch_github_status([APP_1], refresh=True)

    asyncio.run(main())


def test_single_platform_reads_of_a_disabled_platform_return_nothing(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    async def main() -> None:
        config = trackers.config(jira=False)
        async with IssueStatusFetcher(config, cache=cache, clock=clock) as fetcher:
            assert await fetcher.fetch_jira_status([PROJ_1]) == {}

    asyncio.run(main())
    assert trackers.jira_requests() == 0


def test_without_a_token_expired_entries_are_revalidated_with_their_etag(
    trackers: Trackers, cache: IssueCache, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    fetch(trackers.config(jira=False), [APP_1], cache=cache, clock=clock)
    clock.advance(600)
    result = fetch(trackers.config(jira=False), [APP_1], cache=cache, clock=clock)
    first, second = trackers.sandbox.github_rest_calls()
    assert "if-none-match" not in first.headers
    assert (
        second.headers["if-none-match"]
        == cache.get_many(trackers.github_host, [APP_1])[APP_1].status.etag
    )
    assert sources(result) == {"octo/app#1": "fresh"}
    assert cache.get_many(trackers.github_host, [APP_1])[APP_1].age_seconds == 0, "re-stamped"


def test_request_counts_cover_this_fetch_only_when_clients_are_shared(
    trackers: Trackers, cache: IssueCache, clock: Clock
) -> None:
    config = trackers.config()

    async def main() -> list[FetchResult]:
        async with TrackerClients(config) as clients:
            fetcher = IssueStatusFetcher(config, cache=cache, clients=clients, clock=clock)
            results = [await fetcher.fetch([APP_1, PROJ_1], refresh=True) for _ in range(2)]
            await fetcher.aclose()
            # The caller's clients stay open for its own writes.
            await clients.github().fetch_issues([APP_2])
            return results

    first, second = asyncio.run(main())
    assert first.requests == second.requests == {"github": 1, "jira": 1}


def test_verbose_logs_each_hit_and_miss_with_its_age(
    trackers: Trackers,
    cache: IssueCache,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger("debussy"), "propagate", True)
    fetch(trackers.config(), [APP_1, APP_2], cache=cache, clock=clock)
    clock.advance(150)
    cache.put_many(trackers.github_host, [])
    caplog.set_level(logging.INFO, logger="debussy.cache")
    fetch(trackers.config(), [APP_1, APP_3], cache=cache, clock=clock)
    clock.advance(400)
    fetch(trackers.config(), [APP_1], cache=cache, clock=clock)
    messages = [r.getMessage() for r in caplog.records if r.name == "debussy.cache"]
    assert messages == [
        "cache hit: octo/app#1 (fetched 2m ago)",
        "cache miss: octo/app#3 (not cached)",
        "cache miss: octo/app#1 (expired; fetched 9m ago)",
    ]


def test_the_blocking_fetch_starts_no_event_loop_when_everything_is_cached(
    trackers: Trackers, cache: IssueCache, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs: list[IssueRef] = [APP_1, PROJ_1]
    cold = IssueStatusFetcher(trackers.config(), cache=cache, clock=clock).fetch_blocking(refs)
    assert set(sources(cold).values()) == {"fresh"}
    assert cold.requests == {"github": 1, "jira": 1}

    def no_loop(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an event loop was started for cached data")

    monkeypatch.setattr(asyncio, "run", no_loop)
    warm = IssueStatusFetcher(trackers.config(), cache=cache, clock=clock).fetch_blocking(refs)
    assert set(sources(warm).values()) == {"cache"}
    assert warm.requests == {}
