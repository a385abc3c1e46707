"""Injected faults: each kind, how they match and count down, and how clients see them."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from debussy.errors import BadResponseError, TrackerServerError
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.http import TrackerHttp, decode_json
from tests.sandbox.conftest import GITHUB_HEADERS, graphql

ISSUE = "/repos/octo/app/issues/12"


@pytest.fixture
def issue12(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_issue("octo/app", 12, title="Ship it")
    sandbox.add_jira_issue("PROJ-1")
    return sandbox


def test_status_fault_answers_instead_of_the_handler_then_wears_off(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    issue12.inject(platform="github", path=r"/issues/12$", status=503, times=2)

    answers = [github.patch(ISSUE, json={"state": "closed"}).status_code for _ in range(3)]

    assert answers == [503, 503, 200]
    assert [r.fault for r in issue12.requests] == ["status:503", "status:503", None]
    assert issue12.github_issue("octo/app", 12)["state"] == "closed"


def test_a_faulted_write_is_not_applied(issue12: SandboxTracker, github: httpx.Client) -> None:
    issue12.inject(method="patch", status=502)

    github.patch(ISSUE, json={"state": "closed"})

    assert issue12.github_issue("octo/app", 12)["state"] == "open"


def test_default_fault_bodies_speak_each_platforms_error_format(
    issue12: SandboxTracker, github: httpx.Client, jira: httpx.Client
) -> None:
    issue12.inject(platform="github", status=503)
    issue12.inject(platform="jira", status=503)

    gh = github.get(ISSUE)
    jr = jira.get("/rest/api/3/issue/PROJ-1")

    assert gh.status_code == jr.status_code == 503
    assert set(gh.json()) >= {"message", "documentation_url"}
    assert "x-ratelimit-limit" in gh.headers
    assert set(jr.json()) == {"errorMessages", "errors"}


def test_429_with_retry_after(issue12: SandboxTracker, jira: httpx.Client) -> None:
    issue12.inject(platform="jira", status=429, headers={"Retry-After": "0"})

    answer = jira.get("/rest/api/3/issue/PROJ-1")

    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "0"


def test_403_primary_rate_limit_headers_override_the_real_ones(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    issue12.inject(
        platform="github",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1900000000"},
        body=json.dumps({"message": "API rate limit exceeded for user ID 1."}),
    )

    answer = github.get(ISSUE)

    assert answer.status_code == 403
    assert answer.headers["x-ratelimit-remaining"] == "0"
    assert answer.headers["x-ratelimit-reset"] == "1900000000"
    assert answer.json()["message"].startswith("API rate limit exceeded")


def test_html_error_page_is_served_as_html(issue12: SandboxTracker, github: httpx.Client) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    issue12.inject(status=502, body=page)

    answer = github.get(ISSUE)

    assert answer.status_code == 502
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == page
    with pytest.raises(BadResponseError, match="HTML page"):
        decode_json("github", answer)


def test_truncate_sends_half_a_body_with_a_matching_length(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    whole = github.get(ISSUE).content
    issue12.inject(truncate=True)

    answer = github.get(ISSUE)

    assert answer.status_code == 200
    assert answer.content == whole[: len(whole) // 2]
    assert int(answer.headers["content-length"]) == len(answer.content)
    with pytest.raises(BadResponseError, match="truncated or malformed JSON"):
        decode_json("github", answer)


def test_drop_connection_closes_without_an_answer(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    issue12.inject(drop_connection=True, path="/issues/12")

    with pytest.raises(httpx.RemoteProtocolError):
        github.get(ISSUE)

    assert github.get(ISSUE).status_code == 200
    dropped = issue12.requests[0]
    assert (dropped.status, dropped.fault) == (None, "drop_connection")


def test_delay_makes_a_client_time_out(issue12: SandboxTracker) -> None:
    issue12.inject(delay=2.0)

    with pytest.raises(httpx.ReadTimeout):
        httpx.get(issue12.github_api_url + ISSUE, headers=GITHUB_HEADERS, timeout=0.2)


def test_delay_slows_one_answer_down(issue12: SandboxTracker, github: httpx.Client) -> None:
    issue12.inject(delay=0.3)

    slow = github.get(ISSUE)
    fast = github.get(ISSUE)

    assert slow.status_code == 200
    assert slow.elapsed.total_seconds() >= 0.3
    assert fast.status_code == 200
    assert [r.fault for r in issue12.requests] == ["delay", None]


def test_graphql_rate_limited_error(issue12: SandboxTracker) -> None:
    issue12.inject(platform="github", path="graphql", graphql_error="RATE_LIMITED")

    limited = graphql(issue12, "{ rateLimit { limit } }")
    normal = graphql(issue12, "{ rateLimit { limit } }")

    assert limited.status_code == 200
    assert limited.json() == {
        "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]
    }
    assert normal.json()["data"]["rateLimit"]["limit"] == 5000


def test_faults_match_platform_method_and_path(
    issue12: SandboxTracker, github: httpx.Client, jira: httpx.Client
) -> None:
    issue12.inject(platform="jira", method="POST", path=r"/transitions$", status=500)

    untouched = [
        github.get(ISSUE).status_code,
        jira.get("/rest/api/3/issue/PROJ-1/transitions").status_code,
        jira.post("/rest/api/2/issue/PROJ-1/comment", json={"body": "x"}).status_code,
    ]
    hit = jira.post("/rest/api/3/issue/PROJ-1/transitions", json={"transition": {"id": "21"}})

    assert untouched == [200, 200, 201]
    assert hit.status_code == 500
    assert issue12.jira_issue("PROJ-1")["status"] == "To Do"


def test_first_armed_fault_wins_and_clear_faults_disarms_all(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    issue12.inject(status=503)
    issue12.inject(status=504)
    first = github.get(ISSUE).status_code
    issue12.clear_faults()

    assert first == 503
    assert github.get(ISSUE).status_code == 200


def test_times_must_be_positive(sandbox: SandboxTracker) -> None:
    with pytest.raises(ValueError, match="times"):
        sandbox.inject(status=503, times=0)


def test_shared_retry_policy_recovers_from_a_transient_503(issue12: SandboxTracker) -> None:
    """Both sides meet: TrackerHttp retries the sandbox's 503 and then reads the issue."""
    issue12.inject(status=503, times=2)

    async def fetch() -> int:
        async with TrackerHttp("github", issue12.github_api_url, headers=GITHUB_HEADERS) as http:
            response = await http.request("GET", ISSUE)
            return response.json()["number"]

    assert asyncio.run(fetch()) == 12
    assert issue12.request_count("github") == 3


def test_shared_retry_policy_gives_up_after_its_attempts(issue12: SandboxTracker) -> None:
    issue12.inject(status=503, times=5)

    async def fetch() -> None:
        async with TrackerHttp("github", issue12.github_api_url, headers=GITHUB_HEADERS) as http:
            await http.request("GET", ISSUE)

    with pytest.raises(TrackerServerError):
        asyncio.run(fetch())
    assert issue12.request_count("github") == 3
