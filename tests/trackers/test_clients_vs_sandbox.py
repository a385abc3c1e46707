"""Both clients against the sandbox tracker over loopback HTTP: the two sides only meet at the
real API shape, so these tests catch a client and a sandbox that agree with each other but
not with GitHub or Jira as little as they can — and everything on the wire is real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

import pytest

from debussy.config import GitHubConfig, JiraConfig
from debussy.errors import (
    BadResponseError,
    RateLimitedError,
    TrackerAuthError,
    TrackerNotFoundError,
    TransitionError,
)
from debussy.issues import GitHubRef, IssueStatus, JiraRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.github.client import GitHubClient
from debussy.sync.trackers.jira.client import JiraClient

T = TypeVar("T")
TOKEN = "sandbox-github-token"


def run(awaitable: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await awaitable

    return asyncio.run(wrapper())


def github(sandbox: SandboxTracker, token: str = TOKEN) -> GitHubClient:
    return GitHubClient(GitHubConfig(api_url=sandbox.github_api_url), token=token)


def jira(sandbox: SandboxTracker, deployment: str = "cloud") -> JiraClient:
    config = JiraConfig(url=sandbox.jira_url, deployment=deployment)  # type: ignore[arg-type]
    return JiraClient(config, email="demo@example.com", token="sandbox-jira-token")


@pytest.fixture
def seeded(sandbox: SandboxTracker) -> SandboxTracker:
    for number in range(1, 126):
        sandbox.add_issue("octo/app", number, title=f"app {number}")
        sandbox.add_issue("octo/lib", number, title=f"lib {number}")
    for number in range(1, 251):
        sandbox.add_jira_issue(f"PROJ-{number}", summary=f"item {number}")
    sandbox.clear_requests()
    return sandbox


@pytest.mark.parametrize(("count", "requests"), [(1, 1), (100, 1), (250, 3)])
def test_github_reads_100_issues_per_graphql_request(
    seeded: SandboxTracker, count: int, requests: int
) -> None:
    refs = [GitHubRef("octo/app" if n % 2 else "octo/lib", n // 2 + 1) for n in range(count)]

    async def read() -> dict[GitHubRef, IssueStatus]:
        async with github(seeded) as client:
            return await client.fetch_issues(refs)

    statuses = run(read())
    assert len(statuses) == count
    assert seeded.request_count("github") == requests


@pytest.mark.parametrize(("count", "requests"), [(1, 1), (100, 1), (250, 3)])
def test_jira_reads_100_keys_per_search(seeded: SandboxTracker, count: int, requests: int) -> None:
    refs = [JiraRef(f"PROJ-{n}") for n in range(1, count + 1)]

    async def read() -> dict[JiraRef, IssueStatus]:
        async with jira(seeded) as client:
            return await client.fetch_issues(refs)

    assert len(run(read())) == count
    assert seeded.request_count("jira") == requests
    assert all("/rest/api/3/search/jql" in r.path for r in seeded.requests)


def test_server_deployment_pages_with_start_at(seeded: SandboxTracker) -> None:
    async def read() -> int:
        async with jira(seeded, "server") as client:
            return len(await client.fetch_issues([JiraRef(f"PROJ-{n}") for n in range(1, 151)]))

    assert run(read()) == 150
    assert all("/rest/api/2/search" in r.path for r in seeded.requests)


def test_missing_issues_are_missing_not_errors(seeded: SandboxTracker) -> None:
    seeded.hide_jira_issue("PROJ-2")

    async def read() -> tuple[dict[GitHubRef, IssueStatus], dict[JiraRef, IssueStatus]]:
        async with github(seeded) as gh, jira(seeded) as jc:
            return (
                await gh.fetch_issues([GitHubRef("octo/app", 1), GitHubRef("octo/app", 999)]),
                await jc.fetch_issues([JiraRef("PROJ-1"), JiraRef("PROJ-2"), JiraRef("NOPE-1")]),
            )

    gh_statuses, jira_statuses = run(read())
    assert [s.missing for s in gh_statuses.values()] == [False, True]
    assert [s.missing for s in jira_statuses.values()] == [False, True, True]


def test_github_writes_reach_the_issue(seeded: SandboxTracker) -> None:
    ref = GitHubRef("octo/app", 7)
    seeded.set_labels("octo/app", 7, ["bug"])

    async def write() -> None:
        async with github(seeded) as client:
            await client.set_debussy_label(ref, "debussy:in-progress")
            await client.set_debussy_label(ref, "debussy:completed")
            await client.close_issue(ref, "not_planned")
            await client.add_comment(ref, "Closed by the plan")

    run(write())
    issue = seeded.github_issue("octo/app", 7)
    assert sorted(issue["labels"]) == ["bug", "debussy:completed"]
    assert (issue["state"], issue["state_reason"]) == ("closed", "not_planned")
    assert issue["comments"] == ["Closed by the plan"]
    run(_reopen(seeded, ref))
    assert seeded.github_issue("octo/app", 7)["state"] == "open"


async def _reopen(sandbox: SandboxTracker, ref: GitHubRef) -> None:
    async with github(sandbox) as client:
        await client.reopen_issue(ref)


def test_jira_transitions_by_target_status_name(seeded: SandboxTracker) -> None:
    async def move() -> tuple[str, str]:
        async with jira(seeded) as client:
            first = await client.transition_to(JiraRef("PROJ-3"), "in progress")
            again = await client.transition_to(JiraRef("PROJ-3"), "In Progress")
            return first, again

    assert run(move()) == ("transitioned", "already")
    assert seeded.jira_issue("PROJ-3")["status"] == "In Progress"

    async def impossible() -> None:
        async with jira(seeded) as client:
            await client.transition_to(JiraRef("PROJ-3"), "Shipped")

    with pytest.raises(TransitionError, match="PROJ-3: no transition to 'Shipped'"):
        run(impossible())


def test_transient_failures_are_retried(seeded: SandboxTracker) -> None:
    seeded.inject(platform="github", status=503, times=2)
    seeded.inject(platform="jira", status=429, headers={"Retry-After": "0"}, times=1)
    seeded.inject(platform="jira", drop_connection=True, times=1)

    async def read() -> tuple[int, int]:
        async with github(seeded) as gh, jira(seeded) as jc:
            a = await gh.fetch_issues([GitHubRef("octo/app", 1)])
            b = await jc.fetch_issues([JiraRef("PROJ-1")])
            return len(a), len(b)

    assert run(read()) == (1, 1)
    assert seeded.request_count("github") == 3
    assert seeded.request_count("jira") == 3


def test_a_rate_limit_that_resets_later_is_a_clear_error(seeded: SandboxTracker) -> None:
    reset = int(time.time()) + 3600
    seeded.inject(
        platform="github",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        body='{"message": "API rate limit exceeded"}',
    )

    async def read() -> None:
        async with github(seeded) as client:
            await client.fetch_issues([GitHubRef("octo/app", 1)])

    with pytest.raises(RateLimitedError, match=r"resets at \d\d:\d\d UTC"):
        run(read())
    assert seeded.request_count("github") == 1, "not retried: the wait is too long"


def test_graphql_rate_limited_is_retried(seeded: SandboxTracker) -> None:
    seeded.inject(platform="github", graphql_error="RATE_LIMITED", times=1)

    async def read() -> int:
        async with github(seeded) as client:
            return len(await client.fetch_issues([GitHubRef("octo/app", 1)]))

    assert run(read()) == 1
    assert seeded.request_count("github") == 2


def test_wrong_credentials_are_auth_errors_naming_the_variable(seeded: SandboxTracker) -> None:
    async def read() -> None:
        async with github(seeded, token="not-the-token") as client:
            await client.fetch_issues([GitHubRef("octo/app", 1)])

    with pytest.raises(TrackerAuthError, match=r"GITHUB_TOKEN|GH_TOKEN") as caught:
        run(read())
    assert "not-the-token" not in str(caught.value)


def test_truncated_and_html_answers_are_bad_responses(seeded: SandboxTracker) -> None:
    seeded.inject(platform="jira", truncate=True, times=5)

    async def read() -> None:
        async with jira(seeded) as client:
            await client.fetch_issues([JiraRef("PROJ-1")])

    with pytest.raises(BadResponseError):
        run(read())
    seeded.clear_faults()
    seeded.inject(platform="github", status=200, body="<html><body>Sign in</body></html>", times=5)

    async def read_github() -> None:
        async with github(seeded) as client:
            await client.fetch_issues([GitHubRef("octo/app", 1)])

    with pytest.raises(BadResponseError, match="HTML"):
        run(read_github())


def test_writing_to_a_missing_issue_names_it(seeded: SandboxTracker) -> None:
    async def write() -> None:
        async with github(seeded) as client:
            await client.close_issue(GitHubRef("octo/app", 999), "completed")

    with pytest.raises(TrackerNotFoundError, match="octo/app#999"):
        run(write())
