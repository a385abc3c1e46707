"""GitHubClient reads: GraphQL batching, missing issues, rate limits, broken answers, REST.

Every test talks to the sandbox tracker through its in-process transport: the
client code under test is the real one down to httpx. The fixture validates every
REST request the client sent against GitHub's OpenAPI description when the test
ends; the sandbox executes every GraphQL document against GitHub's schema, so an
invalid query fails the fetch. Canned answers (rate limits, broken bodies) are
injected faults.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

import debussy
from debussy.config import GitHubConfig
from debussy.errors import (
    BadResponseError,
    RateLimitedError,
    TrackerAuthError,
    TrackerServerError,
)
from debussy.issues import GitHubRef, IssueStatus
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.github.client import GitHubClient
from tests.clock import ManualClock as Clock
from tests.fixtures.sandbox_clients import GHE_URL, InProcessSandbox
from tests.fixtures.sandbox_clients import GITHUB_TOKEN as TOKEN

T = TypeVar("T")
APP, LIB = "octo/app", "octo/lib"
UPDATED = "2026-11-27T10:00:00Z"
WEB = GHE_URL


def run(job: Awaitable[T]) -> T:
    async def main() -> T:
        return await job

    return asyncio.run(main())


@pytest.fixture
def github() -> Iterator[InProcessSandbox]:
    sandbox = InProcessSandbox(GHE_URL)
    yield sandbox
    sandbox.check_contract()


def fetch(
    fake: InProcessSandbox,
    refs: list[GitHubRef],
    *,
    token: str | None = TOKEN,
    known: dict[GitHubRef, IssueStatus] | None = None,
    config: GitHubConfig | None = None,
) -> tuple[dict[GitHubRef, IssueStatus], int]:
    """Statuses and the number of HTTP requests it took."""

    async def main() -> tuple[dict[GitHubRef, IssueStatus], int]:
        async with fake.github_client(token=token, config=config) as client:
            return await client.fetch_issues(refs, known), client.requests

    return asyncio.run(main())


def fetch_error(
    fake: InProcessSandbox, refs: list[GitHubRef], **kwargs: Any
) -> tuple[Exception, int]:
    """The error a fetch raised and how many requests were sent before giving up."""
    sent: list[int] = []

    async def main() -> None:
        client = fake.github_client(token=kwargs.get("token"))  # None: from the environment
        try:
            await client.fetch_issues(refs)
        finally:
            sent.append(client.requests)
            await client.aclose()

    with pytest.raises(Exception) as caught:  # noqa: PT011 -- callers assert the type
        asyncio.run(main())
    return caught.value, sent[0]


def graphql_answer(
    data: Any, errors: list[dict[str, Any]] | None = None, **kw: Any
) -> httpx.Response:
    body: dict[str, Any] = {"data": data}
    if errors is not None:
        body["errors"] = errors
    return httpx.Response(200, json=body, **kw)


def issue_node(number: int = 1, **overrides: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "number": number,
        "state": "OPEN",
        "stateReason": None,
        "title": "t",
        "url": f"{WEB}/octo/app/issues/{number}",
        "updatedAt": UPDATED,
        "closedAt": None,
        "labels": {"nodes": []},
        "milestone": None,
    }
    node.update(overrides)
    return node


def current_etag(sandbox: InProcessSandbox, repo: str, number: int) -> str:
    """The ETag GitHub (the sandbox) serves for an issue right now, read without a token."""
    with httpx.Client(transport=sandbox.transport) as client:
        answer = client.get(f"{sandbox.tracker.github_api_url}/repos/{repo}/issues/{number}")
    sandbox.transport.sent.pop()  # not the client's request
    return answer.headers["etag"]


def rate_limit_reset_headers(seconds_from_now: int) -> dict[str, str]:
    reset = int(time.time()) + seconds_from_now
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}


# --- batching ---------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "expected_requests"), [(1, 1), (100, 1), (101, 2), (250, 3)])
def test_reads_up_to_100_issues_per_graphql_request_across_repos(
    github: InProcessSandbox, count: int, expected_requests: int
) -> None:
    refs = [GitHubRef(APP if n % 2 else LIB, n) for n in range(1, count + 1)]
    for ref in refs:
        github.tracker.add_issue(ref.repo, ref.number)

    statuses, requests = fetch(github, refs)

    assert requests == expected_requests
    assert len(github.graphql_calls()) == expected_requests
    assert list(statuses) == refs
    assert all(status.state == "open" and not status.missing for status in statuses.values())
    aliased = [
        query["query"].count("issueOrPullRequest(number:") for query in github.graphql_queries()
    ]
    assert sum(aliased) == count
    assert max(aliased) <= 100


def test_one_query_reads_several_repositories(github: InProcessSandbox) -> None:
    refs = [GitHubRef("octo/app", 1), GitHubRef("octo/lib", 2), GitHubRef("acme/tool", 3)]
    for ref in refs:
        github.tracker.add_issue(ref.repo, ref.number, title=f"issue in {ref.repo}")

    statuses, requests = fetch(github, refs)

    assert requests == 1
    (query,) = github.graphql_queries()
    assert query["query"].count("repository(") == 3
    assert set(query["variables"].values()) == {"octo", "acme", "app", "lib", "tool"}
    assert [statuses[ref].title for ref in refs] == [f"issue in {ref.repo}" for ref in refs]


def test_duplicate_references_are_read_once(github: InProcessSandbox) -> None:
    github.tracker.add_issue("Octo/App", 5)
    refs = [GitHubRef("octo/app", 5), GitHubRef("Octo/App", 5)]

    statuses, _ = fetch(github, refs)

    (query,) = github.graphql_queries()
    assert query["query"].count("issueOrPullRequest(number: 5)") == 1
    assert statuses[refs[1]].id == "octo/app#5"


def test_no_references_send_no_request(github: InProcessSandbox) -> None:
    assert fetch(github, []) == ({}, 0)


def test_invalid_references_are_missing_without_asking(github: InProcessSandbox) -> None:
    refs = [GitHubRef("../etc", 1), GitHubRef("octo/app", 0), GitHubRef("no-slash", 2)]

    statuses, requests = fetch(github, refs)

    assert requests == 0
    assert all(statuses[ref].missing for ref in refs)


def peak_concurrency(fake: InProcessSandbox, refs: list[GitHubRef], token: str | None) -> int:
    """The most requests in flight at once while fetching ``refs``."""

    async def main() -> dict[GitHubRef, IssueStatus]:
        async with fake.github_client(token=token) as client:
            return await client.fetch_issues(refs)

    statuses = run(main())
    assert len(statuses) == len(refs)
    assert not any(status.missing for status in statuses.values())
    fake.check_contract()
    return fake.tracker.max_in_flight


@pytest.mark.parametrize(("count", "token", "bound"), [(800, TOKEN, 4), (40, None, 8)])
def test_requests_run_concurrently_within_a_bound(
    count: int, token: str | None, bound: int
) -> None:
    fake = InProcessSandbox()
    refs = [GitHubRef(APP, n) for n in range(1, count + 1)]
    for ref in refs:
        fake.tracker.add_issue(ref.repo, ref.number)

    assert 1 < peak_concurrency(fake, refs, token) <= bound


# --- mapping ----------------------------------------------------------------------------


def test_maps_graphql_fields_to_issue_status() -> None:
    clock = Clock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    github = InProcessSandbox(GHE_URL, clock=clock)
    github.tracker.add_issue(
        APP,
        12,
        state="closed",
        state_reason="completed",
        title="Ship it",
        labels=["bug"],
        milestone="v1",
    )  # closed at 09:30 ...
    clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    github.tracker.set_labels(APP, 12, ["bug", "debussy:in-progress"])  # ... updated at 10:00
    github.tracker.add_issue(APP, 13, state="closed", state_reason="duplicate")
    github.tracker.add_issue(APP, 14, state="open", state_reason="reopened")

    statuses, _ = fetch(github, [GitHubRef(APP, n) for n in (12, 13, 14)])

    closed = statuses[GitHubRef(APP, 12)]
    assert closed == IssueStatus(
        platform="github",
        id="octo/app#12",
        state="closed",
        state_reason="completed",
        labels=("bug", "debussy:in-progress"),
        milestone="v1",
        title="Ship it",
        url=f"{WEB}/octo/app/issues/12",
        last_updated=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        state_changed_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )
    assert statuses[GitHubRef(APP, 13)].state_reason == "duplicate"
    reopened = statuses[GitHubRef(APP, 14)]
    assert (reopened.state, reopened.state_reason, reopened.state_changed_at) == (
        "open",
        "reopened",
        None,
    )


@pytest.mark.parametrize(
    ("state", "closed_at"), [("OPEN", "2026-11-20T08:00:00Z"), ("CLOSED", None)]
)
def test_state_change_time_is_only_a_closed_issues_closed_at(
    github: InProcessSandbox, state: str, closed_at: str | None
) -> None:
    """An open issue's closedAt is an old closing, not when it changed to open."""
    node = issue_node(state=state, closedAt=closed_at)
    github.inject_graphql(graphql_answer({"r0": {"i1": node}}))

    statuses, _ = fetch(github, [GitHubRef(APP, 1)])

    assert statuses[GitHubRef(APP, 1)].state_changed_at is None
    assert statuses[GitHubRef(APP, 1)].last_updated == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_old_enterprise_without_enable_duplicate_is_asked_again_once(
    github: InProcessSandbox,
) -> None:
    github.tracker.quirks.github_without_enable_duplicate = True
    github.tracker.add_issue(APP, 1, state="closed", state_reason="duplicate")

    async def main() -> tuple[IssueStatus, int, int]:
        async with github.github_client() as client:
            first = await client.fetch_issues([GitHubRef(APP, 1)])
            after_first = client.requests
            await client.fetch_issues([GitHubRef(APP, 1)])
            return first[GitHubRef(APP, 1)], after_first, client.requests

    status, after_first, after_second = run(main())

    assert status.state_reason == "not_planned"  # the best an old server can say
    assert (after_first, after_second) == (2, 3)


def test_old_enterprise_with_concurrent_batches_still_reads_everything() -> None:
    """All batches are in flight (and refused) before the first one turns the flag off."""
    fake = InProcessSandbox()
    fake.tracker.quirks.github_without_enable_duplicate = True
    refs = [GitHubRef(APP, n) for n in range(1, 301)]
    for ref in refs:
        fake.tracker.add_issue(ref.repo, ref.number)

    async def main() -> dict[GitHubRef, IssueStatus]:
        async with fake.github_client() as client:
            return await client.fetch_issues(refs)

    statuses = run(main())

    assert all(status.state == "open" for status in statuses.values())
    assert fake.tracker.max_in_flight == 3  # the three batches were refused together
    assert len(fake.graphql_calls()) == 6  # three refused, three asked again


# --- missing issues ---------------------------------------------------------------------


def test_not_found_issue_and_repository_are_missing_not_errors(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)
    github.tracker.add_pull_request(APP, 3)
    github.tracker.add_issue(APP, 4)
    github.tracker.transfer_issue(APP, 4, "octo/elsewhere")
    refs = [GitHubRef(APP, n) for n in (1, 2, 3, 4)] + [GitHubRef("octo/gone", 7)]

    statuses, requests = fetch(github, refs)

    assert requests == 1
    # A pull request is read as one (kind "pr"), never "missing" (PRODUCT.md §7).
    assert [statuses[ref].missing for ref in refs] == [False, True, False, True, True]
    assert statuses[GitHubRef(APP, 3)].kind == "pr"
    assert statuses[GitHubRef("octo/gone", 7)] == IssueStatus.missing_issue(
        GitHubRef("octo/gone", 7)
    )


def test_forbidden_repository_is_missing(github: InProcessSandbox) -> None:
    github.inject_graphql(
        graphql_answer(
            {"r0": None},
            [{"type": "FORBIDDEN", "path": ["r0"], "message": "Resource protected by SAML"}],
        ),
    )

    statuses, _ = fetch(github, [GitHubRef(APP, 1)])

    assert statuses[GitHubRef(APP, 1)].missing


def test_null_with_another_error_is_a_bad_response_naming_it(github: InProcessSandbox) -> None:
    github.inject_graphql(
        graphql_answer(
            {"r0": {"i1": None}},
            [{"type": "SERVICE_UNAVAILABLE", "path": ["r0", "i1"], "message": "Timeout on issue"}],
        ),
    )

    error, _ = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError)
    assert "Timeout on issue" in str(error)
    assert "octo/app#1" in str(error)


def test_errors_without_data_are_a_bad_response_naming_the_message(
    github: InProcessSandbox,
) -> None:
    github.inject_graphql(
        httpx.Response(200, json={"errors": [{"message": 'Parse error on "}" (RCURLY)'}]}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError)
    assert 'Parse error on "}"' in str(error)
    assert requests == 1


def test_insufficient_scopes_is_an_auth_error_with_the_hint(github: InProcessSandbox) -> None:
    github.inject_graphql(
        graphql_answer(
            None,
            [
                {
                    "type": "INSUFFICIENT_SCOPES",
                    "message": "Your token has not been granted the required scopes",
                }
            ],
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerAuthError)
    assert "required scopes" in str(error)
    assert "repo scope" in str(error)
    assert requests == 1


# --- rate limits ------------------------------------------------------------------------


def test_graphql_rate_limited_with_http_200_is_retried(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_graphql(
        graphql_answer(None, [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]),
    )

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert statuses[GitHubRef(APP, 1)].state == "open"


def test_graphql_rate_limited_with_http_403_and_no_headers_fails_fast(
    github: InProcessSandbox,
) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_graphql(
        httpx.Response(403, json={"errors": [{"type": "RATE_LIMITED", "message": "slow down"}]}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert requests == 1, "a secondary limit without retry-after means wait a minute"


def test_primary_limit_with_a_far_reset_fails_at_once_naming_the_reset(
    github: InProcessSandbox,
) -> None:
    headers = rate_limit_reset_headers(3600)
    github.inject_graphql(
        httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=headers),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
    assert error.reset_at == reset
    assert f"resets at {reset:%H:%M} UTC" in str(error)
    assert requests == 1


def test_graphql_rate_limited_with_a_far_reset_is_not_retried(github: InProcessSandbox) -> None:
    github.inject_graphql(
        graphql_answer(
            None,
            [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}],
            headers=rate_limit_reset_headers(1800),
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert requests == 1


def test_primary_limit_resetting_soon_is_waited_for(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_graphql(
        httpx.Response(
            403, json={"message": "API rate limit exceeded"}, headers=rate_limit_reset_headers(3)
        ),
    )

    _, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_with_short_retry_after_is_retried(
    github: InProcessSandbox, status: int
) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_graphql(
        httpx.Response(
            status,
            json={"message": "You have exceeded a secondary rate limit."},
            headers={"retry-after": "2"},
        ),
    )

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert not statuses[GitHubRef(APP, 1)].missing


def test_secondary_limit_with_long_retry_after_fails_with_its_time(
    github: InProcessSandbox,
) -> None:
    github.inject_graphql(
        httpx.Response(
            403, json={"message": "secondary rate limit"}, headers={"retry-after": "600"}
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert "(in 10 min)" in str(error)
    assert requests == 1


def test_secondary_limit_without_headers_fails_fast_asking_for_a_minute(
    github: InProcessSandbox,
) -> None:
    github.tracker.add_issue(APP, 1)
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    github.inject_graphql(httpx.Response(403, json=body))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert "at least a minute" in str(error)
    assert requests == 1


# --- auth, server errors, broken bodies -------------------------------------------------


def test_401_is_an_auth_error_naming_the_variable_not_the_token(
    github: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    github.inject_graphql(httpx.Response(401, json={"message": "Bad credentials"}))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)])

    assert isinstance(error, TrackerAuthError)
    assert "GH_TOKEN" in str(error)
    assert "repo scope" in str(error)
    assert TOKEN not in str(error)
    assert requests == 1


def test_auth_hint_names_the_configured_variable(
    github: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = github.github_config(token_env="DEBUSSY_GH")
    monkeypatch.setenv("DEBUSSY_GH", "ghp_revokedToken")  # the sandbox answers 401 itself

    async def main() -> None:
        async with GitHubClient(config, transport=github.transport) as client:
            await client.fetch_issues([GitHubRef(APP, 1)])

    with pytest.raises(TrackerAuthError, match="check the token in DEBUSSY_GH"):
        run(main())


def test_plain_403_is_an_auth_error_naming_the_scope(github: InProcessSandbox) -> None:
    github.inject_graphql(
        httpx.Response(403, json={"message": "Resource not accessible by personal access token"}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerAuthError)
    assert "Resource not accessible" in str(error)
    assert "issues:write" in str(error)
    assert requests == 1


def test_a_5xx_then_success_is_retried(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_graphql(httpx.Response(502, text="Bad Gateway"))

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert statuses[GitHubRef(APP, 1)].state == "open"


def test_500_is_not_retried_and_fails_as_server_error(github: InProcessSandbox) -> None:
    """500 is a deterministic failure in the shared policy: one attempt only."""
    github.inject_graphql(httpx.Response(500), httpx.Response(500))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerServerError)
    assert "(500)" in str(error)
    assert requests == 1


def test_503_every_time_fails_after_three_attempts(github: InProcessSandbox) -> None:
    github.inject_graphql(*[httpx.Response(503) for _ in range(3)])

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerServerError)
    assert requests == 3


def test_one_failing_batch_raises_one_tracker_error_not_a_group(github: InProcessSandbox) -> None:
    refs = [GitHubRef(APP, n) for n in range(1, 251)]
    for ref in refs:
        github.tracker.add_issue(ref.repo, ref.number)
    github.inject_graphql(httpx.Response(401, json={"message": "Bad credentials"}))

    error, _ = fetch_error(github, refs, token=TOKEN)

    assert isinstance(error, TrackerAuthError)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<!DOCTYPE html><html><body>Unicorn!</body></html>", "HTML page"),
        (b'{"data": {"r0": {"i1": {"number": 1, "sta', "truncated or malformed JSON"),
        (b"", "empty body"),
    ],
)
def test_html_or_truncated_body_is_a_bad_response(
    github: InProcessSandbox, body: bytes, expected: str
) -> None:
    github.inject_graphql(*[httpx.Response(200, content=body) for _ in range(3)])

    error, _ = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError)
    assert expected in str(error)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([1, 2], "not a JSON object"),
        ({"data": "yes"}, "'data' field that is not an object"),
        ({"data": {}}, "without repository octo/app"),
        ({"data": {"r0": []}}, "repository octo/app as something other than an object"),
        ({"data": {"r0": {}}}, "without issue octo/app#1"),
        ({"data": {"r0": {"i1": "closed"}}}, "issue octo/app#1 as something other than an object"),
        (
            {"data": {"r0": {"i1": issue_node(state=5)}}},
            "issue octo/app#1 with a bad 'state': expected a string, got an integer",
        ),
        ({"data": {"r0": {"i1": issue_node(state="MERGED")}}}, "'state'"),
        ({"data": {"r0": {"i1": issue_node(labels=None)}}}, "'labels'"),
        (
            {"data": {"r0": {"i1": issue_node(labels={"nodes": [{"name": 3}]})}}},
            "'labels.nodes.0.name'",
        ),
        ({"data": {"r0": {"i1": issue_node(milestone="v1")}}}, "'milestone'"),
        (
            {"data": {"r0": {"i1": issue_node(updatedAt="yesterday")}}},
            "'updatedAt': not a timestamp",
        ),
        ({"data": {"r0": {"i1": issue_node(title=None)}}}, "'title'"),
        ({"data": {"r0": {"i1": {"number": 1}}}}, "with a bad 'state': field required"),
        ({"data": {"r0": None}}, "null without an error explaining why"),
        ({"data": None, "errors": "boom"}, "'errors' field that is not a list"),
        ({"data": None, "errors": [{"nope": 1}]}, "error without a message"),
        ({}, "neither data nor errors"),
    ],
)
def test_malformed_payloads_are_bad_responses_not_crashes(
    github: InProcessSandbox, payload: Any, expected: str
) -> None:
    github.inject_graphql(httpx.Response(200, content=json.dumps(payload).encode()))

    error, _ = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError), repr(error)
    assert expected in str(error)


# --- Enterprise, headers, transport -----------------------------------------------------


def test_enterprise_uses_api_graphql_and_api_v3_paths(github: InProcessSandbox) -> None:
    fake = github
    fake.tracker.add_issue(APP, 1)

    graphql_statuses, _ = fetch(fake, [GitHubRef(APP, 1)])
    rest_statuses, _ = fetch(fake, [GitHubRef(APP, 1)], token=None)

    urls = [str(request.url) for request in fake.github_calls()]
    assert urls == [
        "https://ghe.example.com/api/graphql",
        "https://ghe.example.com/api/v3/repos/octo/app/issues/1",
    ]
    assert graphql_statuses[GitHubRef(APP, 1)].url == "https://ghe.example.com/octo/app/issues/1"
    assert rest_statuses[GitHubRef(APP, 1)].state == "open"


def test_requests_carry_github_headers(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)

    fetch(github, [GitHubRef(APP, 1)])
    fetch(github, [GitHubRef(APP, 1)], token=None)

    with_token, without_token = github.github_calls()
    for request in (with_token, without_token):
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"] == f"debussy/{debussy.__version__}"
    assert with_token.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in without_token.headers


def test_token_is_read_from_the_environment_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    github = SandboxTracker(github_token="from-gh-token")
    transport = github.transport(GHE_URL)
    github.add_issue(APP, 1)
    config = GitHubConfig(api_url=github.github_api_url, token_env="MY_TOKEN")
    assert not GitHubClient(config).has_token
    monkeypatch.setenv("GITHUB_TOKEN", "from-github-token")
    monkeypatch.setenv("GH_TOKEN", "from-gh-token")

    async def main() -> IssueStatus:
        async with GitHubClient(config, transport=transport) as client:
            assert client.has_token
            return (await client.fetch_issues([GitHubRef(APP, 1)]))[GitHubRef(APP, 1)]

    assert run(main()).state == "open"
    assert [request.headers["authorization"] for request in transport.sent] == [
        "Bearer from-gh-token"
    ]


# --- REST without a token ---------------------------------------------------------------


def test_without_token_reads_each_issue_over_rest_with_etags(github: InProcessSandbox) -> None:
    closed = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    github.tracker.add_issue(APP, 1, labels=["bug"], milestone="v2")
    github.tracker.add_issue(APP, 2, state="closed", state_reason="not_planned", updated_at=closed)
    refs = [GitHubRef(APP, 1), GitHubRef(APP, 2)]

    first, first_requests = fetch(github, refs, token=None)

    assert first_requests == 2
    assert [request.url.path for request in github.github_calls()] == [
        "/api/v3/repos/octo/app/issues/1",
        "/api/v3/repos/octo/app/issues/2",
    ]
    one = first[refs[0]]
    assert (one.state, one.labels, one.milestone, one.url) == (
        "open",
        ("bug",),
        "v2",
        f"{WEB}/octo/app/issues/1",
    )
    assert one.etag == current_etag(github, APP, 1)
    two = first[refs[1]]
    assert (two.state, two.state_reason) == ("closed", "not_planned")
    assert two.state_changed_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

    github.tracker.reopen_issue(APP, 2)
    second, _ = fetch(github, refs, token=None, known=first)

    revalidations = github.github_calls()[2:]
    assert [request.headers.get("if-none-match") for request in revalidations] == [
        first[refs[0]].etag,
        first[refs[1]].etag,
    ]
    assert second[refs[0]] is first[refs[0]]  # 304: the known status, unchanged
    assert second[refs[1]].state == "open"
    assert second[refs[1]].etag != first[refs[1]].etag


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json={"message": "Not Found"}),
        httpx.Response(410, json={"message": "This issue was deleted"}),
        httpx.Response(301, json={"message": "Moved Permanently"}),
    ],
)
def test_rest_gone_answers_are_missing(github: InProcessSandbox, answer: httpx.Response) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_issue(answer)

    statuses, requests = fetch(github, [GitHubRef(APP, 1)], token=None)

    assert statuses[GitHubRef(APP, 1)].missing
    assert requests == 1


@pytest.mark.parametrize("state", ["open", "draft", "merged", "closed"])
def test_rest_reads_a_pull_request_like_graphql(github: InProcessSandbox, state: str) -> None:
    """Without a token the REST fallback reads ``pull_request.merged_at`` and ``draft``."""
    github.tracker.add_pull_request(APP, 9, state=state)
    ref = GitHubRef(APP, 9)

    rest, _ = fetch(github, [ref], token=None)
    graphql, _ = fetch(github, [ref])

    assert (rest[ref].kind, rest[ref].state, rest[ref].missing) == ("pr", state, False)
    assert (graphql[ref].kind, graphql[ref].state) == ("pr", state)
    assert rest[ref].state_reason == graphql[ref].state_reason


def test_rest_malformed_issue_is_a_bad_response(github: InProcessSandbox) -> None:
    github.tracker.add_issue(APP, 1)
    github.inject_issue(httpx.Response(200, json={"state": "open", "labels": "bug"}))

    error, _ = fetch_error(github, [GitHubRef(APP, 1)])

    assert isinstance(error, BadResponseError)
    assert "octo/app#1" in str(error)


def test_rest_primary_limit_names_the_reset(github: InProcessSandbox) -> None:
    github.inject_issue(
        httpx.Response(
            403,
            json={"message": "API rate limit exceeded for 192.0.2.1."},
            headers=rate_limit_reset_headers(2400),
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)])

    assert isinstance(error, RateLimitedError)
    assert "API rate limit exhausted; resets at" in str(error)
    assert requests == 1
