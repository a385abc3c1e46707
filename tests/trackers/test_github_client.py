"""GitHubClient reads: GraphQL batching, missing issues, rate limits, broken answers, REST.

Every test talks to ``FakeGitHub`` through respx: the client code under test is
the real one down to httpx. The fixture validates every REST request the client
sent against GitHub's OpenAPI description when the test ends, and the fake
validates every GraphQL document against the schema subset as it arrives.
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

from debussy.config import GitHubConfig
from debussy.errors import (
    BadResponseError,
    RateLimitedError,
    TrackerAuthError,
    TrackerServerError,
)
from debussy.issues import GitHubRef, IssueStatus
from debussy.sync.trackers.github.client import GitHubClient
from tests.contract.openapi import assert_conforms
from tests.fixtures.github.fake import TOKEN, UPDATED, FakeGitHub

T = TypeVar("T")
APP, LIB = "octo/app", "octo/lib"


def run(job: Awaitable[T]) -> T:
    async def main() -> T:
        return await job

    return asyncio.run(main())


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub().running() as fake:
        yield fake


def fetch(
    fake: FakeGitHub,
    refs: list[GitHubRef],
    *,
    token: str | None = TOKEN,
    known: dict[GitHubRef, IssueStatus] | None = None,
    config: GitHubConfig | None = None,
) -> tuple[dict[GitHubRef, IssueStatus], int]:
    """Statuses and the number of HTTP requests it took."""

    async def main() -> tuple[dict[GitHubRef, IssueStatus], int]:
        async with GitHubClient(config or fake.config, token=token) as client:
            return await client.fetch_issues(refs, known), client.requests

    return asyncio.run(main())


def fetch_error(fake: FakeGitHub, refs: list[GitHubRef], **kwargs: Any) -> tuple[Exception, int]:
    """The error a fetch raised and how many requests were sent before giving up."""
    sent: list[int] = []

    async def main() -> None:
        client = GitHubClient(fake.config, **kwargs)
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
        "url": f"https://github.com/octo/app/issues/{number}",
        "updatedAt": UPDATED,
        "closedAt": None,
        "labels": {"nodes": []},
        "milestone": None,
    }
    node.update(overrides)
    return node


def rate_limit_reset_headers(seconds_from_now: int) -> dict[str, str]:
    reset = int(time.time()) + seconds_from_now
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}


# --- batching ---------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "expected_requests"), [(1, 1), (100, 1), (101, 2), (250, 3)])
def test_reads_up_to_100_issues_per_graphql_request_across_repos(
    github: FakeGitHub, count: int, expected_requests: int
) -> None:
    refs = [GitHubRef(APP if n % 2 else LIB, n) for n in range(1, count + 1)]
    for ref in refs:
        github.add_issue(ref.repo, ref.number)

    statuses, requests = fetch(github, refs)

    assert requests == expected_requests
    assert len(github.calls("graphql")) == expected_requests
    assert list(statuses) == refs
    assert all(status.state == "open" and not status.missing for status in statuses.values())
    aliased = [query["query"].count("issue(number:") for query in github.queries()]
    assert sum(aliased) == count
    assert max(aliased) <= 100


def test_one_query_reads_several_repositories(github: FakeGitHub) -> None:
    refs = [GitHubRef("octo/app", 1), GitHubRef("octo/lib", 2), GitHubRef("acme/tool", 3)]
    for ref in refs:
        github.add_issue(ref.repo, ref.number, title=f"issue in {ref.repo}")

    statuses, requests = fetch(github, refs)

    assert requests == 1
    (query,) = github.queries()
    assert query["query"].count("repository(") == 3
    assert set(query["variables"].values()) == {"octo", "acme", "app", "lib", "tool"}
    assert [statuses[ref].title for ref in refs] == [f"issue in {ref.repo}" for ref in refs]


def test_duplicate_references_are_read_once(github: FakeGitHub) -> None:
    github.add_issue("Octo/App", 5)
    refs = [GitHubRef("octo/app", 5), GitHubRef("Octo/App", 5)]

    statuses, _ = fetch(github, refs)

    (query,) = github.queries()
    assert query["query"].count("issue(number: 5)") == 1
    assert statuses[refs[1]].id == "octo/app#5"


def test_no_references_send_no_request(github: FakeGitHub) -> None:
    assert fetch(github, []) == ({}, 0)


def test_invalid_references_are_missing_without_asking(github: FakeGitHub) -> None:
    refs = [GitHubRef("../etc", 1), GitHubRef("octo/app", 0), GitHubRef("no-slash", 2)]

    statuses, requests = fetch(github, refs)

    assert requests == 0
    assert all(statuses[ref].missing for ref in refs)


def peak_concurrency(fake: FakeGitHub, refs: list[GitHubRef], token: str | None) -> int:
    """The most requests in flight at once while fetching ``refs``."""
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):  # yield to the event loop so other requests can start
            await asyncio.sleep(0)
        in_flight -= 1
        if request.url.path == "/graphql":
            return fake.answer_graphql(request)
        assert_conforms("github", request)
        owner, name, _, number = request.url.path.split("/")[2:]
        return fake.answer_issue(request, owner, name, number)

    async def main() -> dict[GitHubRef, IssueStatus]:
        transport = httpx.MockTransport(handler)
        async with GitHubClient(fake.config, token=token, transport=transport) as client:
            return await client.fetch_issues(refs)

    statuses = run(main())
    assert len(statuses) == len(refs)
    assert not any(status.missing for status in statuses.values())
    return peak


@pytest.mark.parametrize(("count", "token", "bound"), [(800, TOKEN, 4), (40, None, 8)])
def test_requests_run_concurrently_within_a_bound(
    count: int, token: str | None, bound: int
) -> None:
    fake = FakeGitHub()
    refs = [GitHubRef(APP, n) for n in range(1, count + 1)]
    for ref in refs:
        fake.add_issue(ref.repo, ref.number)

    assert 1 < peak_concurrency(fake, refs, token) <= bound


# --- mapping ----------------------------------------------------------------------------


def test_maps_graphql_fields_to_issue_status(github: FakeGitHub) -> None:
    github.add_issue(
        APP,
        12,
        state="closed",
        state_reason="completed",
        title="Ship it",
        labels=["bug", "debussy:in-progress"],
        milestone="v1",
        updated_at="2026-11-27T10:00:00Z",
        closed_at="2026-11-27T09:30:00Z",
    )
    github.add_issue(APP, 13, state="closed", state_reason="duplicate", closed_at=UPDATED)
    github.add_issue(APP, 14, state="open", state_reason="reopened")

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
        url="https://github.com/octo/app/issues/12",
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
    github: FakeGitHub, state: str, closed_at: str | None
) -> None:
    """An open issue's closedAt is an old closing, not when it changed to open."""
    node = issue_node(state=state, closedAt=closed_at)
    github.script("graphql", graphql_answer({"r0": {"i1": node}}))

    statuses, _ = fetch(github, [GitHubRef(APP, 1)])

    assert statuses[GitHubRef(APP, 1)].state_changed_at is None
    assert statuses[GitHubRef(APP, 1)].last_updated == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_old_enterprise_without_enable_duplicate_is_asked_again_once(github: FakeGitHub) -> None:
    github.old_enterprise = True
    github.add_issue(APP, 1, state="closed", state_reason="duplicate", closed_at=UPDATED)

    async def main() -> tuple[IssueStatus, int, int]:
        async with GitHubClient(github.config, token=TOKEN) as client:
            first = await client.fetch_issues([GitHubRef(APP, 1)])
            after_first = client.requests
            await client.fetch_issues([GitHubRef(APP, 1)])
            return first[GitHubRef(APP, 1)], after_first, client.requests

    status, after_first, after_second = run(main())

    assert status.state_reason == "not_planned"  # the best an old server can say
    assert (after_first, after_second) == (2, 3)


def test_old_enterprise_with_concurrent_batches_still_reads_everything() -> None:
    """All batches are in flight (and refused) before the first one turns the flag off."""
    fake = FakeGitHub()
    fake.old_enterprise = True
    refs = [GitHubRef(APP, n) for n in range(1, 301)]
    for ref in refs:
        fake.add_issue(ref.repo, ref.number)
    sent = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        for _ in range(5):  # let the other batches send before this one answers
            await asyncio.sleep(0)
        return fake.answer_graphql(request)

    async def main() -> dict[GitHubRef, IssueStatus]:
        transport = httpx.MockTransport(handler)
        async with GitHubClient(fake.config, token=TOKEN, transport=transport) as client:
            return await client.fetch_issues(refs)

    statuses = run(main())

    assert all(status.state == "open" for status in statuses.values())
    assert sent == 6  # three refused, three asked again


# --- missing issues ---------------------------------------------------------------------


def test_not_found_issue_and_repository_are_missing_not_errors(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.add_issue(APP, 3, is_pull_request=True)
    github.add_issue(APP, 4, moved=True)
    refs = [GitHubRef(APP, n) for n in (1, 2, 3, 4)] + [GitHubRef("octo/gone", 7)]

    statuses, requests = fetch(github, refs)

    assert requests == 1
    assert [statuses[ref].missing for ref in refs] == [False, True, True, True, True]
    assert statuses[GitHubRef("octo/gone", 7)] == IssueStatus.missing_issue(
        GitHubRef("octo/gone", 7)
    )


def test_forbidden_repository_is_missing(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        graphql_answer(
            {"r0": None},
            [{"type": "FORBIDDEN", "path": ["r0"], "message": "Resource protected by SAML"}],
        ),
    )

    statuses, _ = fetch(github, [GitHubRef(APP, 1)])

    assert statuses[GitHubRef(APP, 1)].missing


def test_null_with_another_error_is_a_bad_response_naming_it(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        graphql_answer(
            {"r0": {"i1": None}},
            [{"type": "SERVICE_UNAVAILABLE", "path": ["r0", "i1"], "message": "Timeout on issue"}],
        ),
    )

    error, _ = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError)
    assert "Timeout on issue" in str(error)
    assert "octo/app#1" in str(error)


def test_errors_without_data_are_a_bad_response_naming_the_message(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        httpx.Response(200, json={"errors": [{"message": 'Parse error on "}" (RCURLY)'}]}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError)
    assert 'Parse error on "}"' in str(error)
    assert requests == 1


def test_insufficient_scopes_is_an_auth_error_with_the_hint(github: FakeGitHub) -> None:
    github.script(
        "graphql",
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


def test_graphql_rate_limited_with_http_200_is_retried(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.script(
        "graphql",
        graphql_answer(None, [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]),
    )

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert statuses[GitHubRef(APP, 1)].state == "open"


def test_graphql_rate_limited_with_http_403_and_no_headers_fails_fast(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.script(
        "graphql",
        httpx.Response(403, json={"errors": [{"type": "RATE_LIMITED", "message": "slow down"}]}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert requests == 1, "a secondary limit without retry-after means wait a minute"


def test_primary_limit_with_a_far_reset_fails_at_once_naming_the_reset(
    github: FakeGitHub,
) -> None:
    headers = rate_limit_reset_headers(3600)
    github.script(
        "graphql",
        httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=headers),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
    assert error.reset_at == reset
    assert f"resets at {reset:%H:%M} UTC" in str(error)
    assert requests == 1


def test_graphql_rate_limited_with_a_far_reset_is_not_retried(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        graphql_answer(
            None,
            [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}],
            headers=rate_limit_reset_headers(1800),
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert requests == 1


def test_primary_limit_resetting_soon_is_waited_for(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.script(
        "graphql",
        httpx.Response(
            403, json={"message": "API rate limit exceeded"}, headers=rate_limit_reset_headers(3)
        ),
    )

    _, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_with_short_retry_after_is_retried(github: FakeGitHub, status: int) -> None:
    github.add_issue(APP, 1)
    github.script(
        "graphql",
        httpx.Response(
            status,
            json={"message": "You have exceeded a secondary rate limit."},
            headers={"retry-after": "2"},
        ),
    )

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert not statuses[GitHubRef(APP, 1)].missing


def test_secondary_limit_with_long_retry_after_fails_with_its_time(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        httpx.Response(
            403, json={"message": "secondary rate limit"}, headers={"retry-after": "600"}
        ),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert "(in 10 min)" in str(error)
    assert requests == 1


def test_secondary_limit_without_headers_fails_fast_asking_for_a_minute(
    github: FakeGitHub,
) -> None:
    github.add_issue(APP, 1)
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    github.script("graphql", httpx.Response(403, json=body))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, RateLimitedError)
    assert "at least a minute" in str(error)
    assert requests == 1


# --- auth, server errors, broken bodies -------------------------------------------------


def test_401_is_an_auth_error_naming_the_variable_not_the_token(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    github.script("graphql", httpx.Response(401, json={"message": "Bad credentials"}))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)])

    assert isinstance(error, TrackerAuthError)
    assert "GH_TOKEN" in str(error)
    assert "repo scope" in str(error)
    assert TOKEN not in str(error)
    assert requests == 1


def test_auth_hint_names_the_configured_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeGitHub()
    config = GitHubConfig(token_env="DEBUSSY_GH")
    monkeypatch.setenv("DEBUSSY_GH", TOKEN)
    with fake.running():
        fake.script("graphql", httpx.Response(401, json={"message": "Bad credentials"}))

        async def main() -> None:
            async with GitHubClient(config) as client:
                await client.fetch_issues([GitHubRef(APP, 1)])

        with pytest.raises(TrackerAuthError, match="check the token in DEBUSSY_GH"):
            run(main())


def test_plain_403_is_an_auth_error_naming_the_scope(github: FakeGitHub) -> None:
    github.script(
        "graphql",
        httpx.Response(403, json={"message": "Resource not accessible by personal access token"}),
    )

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerAuthError)
    assert "Resource not accessible" in str(error)
    assert "issues:write" in str(error)
    assert requests == 1


def test_a_5xx_then_success_is_retried(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.script("graphql", httpx.Response(502, text="Bad Gateway"))

    statuses, requests = fetch(github, [GitHubRef(APP, 1)])

    assert requests == 2
    assert statuses[GitHubRef(APP, 1)].state == "open"


def test_500_is_not_retried_and_fails_as_server_error(github: FakeGitHub) -> None:
    """500 is a deterministic failure in the shared policy: one attempt only."""
    github.script("graphql", httpx.Response(500), httpx.Response(500))

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerServerError)
    assert "(500)" in str(error)
    assert requests == 1


def test_503_every_time_fails_after_three_attempts(github: FakeGitHub) -> None:
    github.script("graphql", *[httpx.Response(503) for _ in range(3)])

    error, requests = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, TrackerServerError)
    assert requests == 3


def test_one_failing_batch_raises_one_tracker_error_not_a_group(github: FakeGitHub) -> None:
    refs = [GitHubRef(APP, n) for n in range(1, 251)]
    for ref in refs:
        github.add_issue(ref.repo, ref.number)
    github.script("graphql", httpx.Response(401, json={"message": "Bad credentials"}))

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
    github: FakeGitHub, body: bytes, expected: str
) -> None:
    github.script("graphql", *[httpx.Response(200, content=body) for _ in range(3)])

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
        ({"data": {"r0": {"i1": issue_node(state=5)}}}, "'state'"),
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
        ({"data": {"r0": {"i1": {"number": 1}}}}, "(and 7 more)"),
        ({"data": {"r0": None}}, "null without an error explaining why"),
        ({"data": None, "errors": "boom"}, "'errors' field that is not a list"),
        ({"data": None, "errors": [{"nope": 1}]}, "error without a message"),
        ({}, "neither data nor errors"),
    ],
)
def test_malformed_payloads_are_bad_responses_not_crashes(
    github: FakeGitHub, payload: Any, expected: str
) -> None:
    github.script("graphql", httpx.Response(200, content=json.dumps(payload).encode()))

    error, _ = fetch_error(github, [GitHubRef(APP, 1)], token=TOKEN)

    assert isinstance(error, BadResponseError), repr(error)
    assert expected in str(error)


# --- Enterprise, headers, transport -----------------------------------------------------


def test_enterprise_uses_api_graphql_and_api_v3_paths() -> None:
    fake = FakeGitHub("https://ghe.example.com/api/v3")
    with fake.running():
        fake.add_issue(APP, 1)

        graphql_statuses, _ = fetch(fake, [GitHubRef(APP, 1)])
        rest_statuses, _ = fetch(fake, [GitHubRef(APP, 1)], token=None)

        urls = [str(request.url) for request in fake.calls()]
    assert urls == [
        "https://ghe.example.com/api/graphql",
        "https://ghe.example.com/api/v3/repos/octo/app/issues/1",
    ]
    assert graphql_statuses[GitHubRef(APP, 1)].url == "https://ghe.example.com/octo/app/issues/1"
    assert rest_statuses[GitHubRef(APP, 1)].state == "open"


def test_requests_carry_github_headers(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)

    fetch(github, [GitHubRef(APP, 1)])
    fetch(github, [GitHubRef(APP, 1)], token=None)

    with_token, without_token = github.calls()
    for request in (with_token, without_token):
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"].startswith("debussy/")
    assert with_token.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in without_token.headers


def test_token_is_read_from_the_environment_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    config = GitHubConfig(token_env="MY_TOKEN")
    assert not GitHubClient(config).has_token
    monkeypatch.setenv("GITHUB_TOKEN", "from-github-token")
    monkeypatch.setenv("GH_TOKEN", "from-gh-token")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"data": {"r0": {"i1": issue_node()}}})

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        async with GitHubClient(config, transport=transport) as client:
            assert client.has_token
            await client.fetch_issues([GitHubRef(APP, 1)])

    run(main())
    assert seen == ["Bearer from-gh-token"]


# --- REST without a token ---------------------------------------------------------------


def test_without_token_reads_each_issue_over_rest_with_etags(github: FakeGitHub) -> None:
    github.add_issue(APP, 1, labels=["bug"], milestone="v2")
    github.add_issue(APP, 2, state="closed", state_reason="not_planned", closed_at=UPDATED)
    refs = [GitHubRef(APP, 1), GitHubRef(APP, 2)]

    first, first_requests = fetch(github, refs, token=None)

    assert first_requests == 2
    assert [request.url.path for request in github.calls()] == [
        "/repos/octo/app/issues/1",
        "/repos/octo/app/issues/2",
    ]
    one = first[refs[0]]
    assert (one.state, one.labels, one.milestone, one.url) == (
        "open",
        ("bug",),
        "v2",
        "https://github.com/octo/app/issues/1",
    )
    assert one.etag == github.issue(APP, 1).etag(github.web)
    two = first[refs[1]]
    assert (two.state, two.state_reason) == ("closed", "not_planned")
    assert two.state_changed_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

    github.issue(APP, 2).state = "open"
    second, _ = fetch(github, refs, token=None, known=first)

    revalidations = github.calls()[2:]
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
def test_rest_gone_answers_are_missing(github: FakeGitHub, answer: httpx.Response) -> None:
    github.add_issue(APP, 1)
    github.script("issue", answer)

    statuses, requests = fetch(github, [GitHubRef(APP, 1)], token=None)

    assert statuses[GitHubRef(APP, 1)].missing
    assert requests == 1


def test_rest_pull_request_is_missing_like_in_graphql(github: FakeGitHub) -> None:
    github.add_issue(APP, 9, is_pull_request=True)

    statuses, _ = fetch(github, [GitHubRef(APP, 9)], token=None)

    assert statuses[GitHubRef(APP, 9)].missing


def test_rest_malformed_issue_is_a_bad_response(github: FakeGitHub) -> None:
    github.add_issue(APP, 1)
    github.script("issue", httpx.Response(200, json={"state": "open", "labels": "bug"}))

    error, _ = fetch_error(github, [GitHubRef(APP, 1)])

    assert isinstance(error, BadResponseError)
    assert "octo/app#1" in str(error)


def test_rest_primary_limit_names_the_reset(github: FakeGitHub) -> None:
    github.script(
        "issue",
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
