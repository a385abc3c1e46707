"""The in-process transport: the same sandbox as loopback HTTP, without sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from tests.sandbox.conftest import GITHUB_HEADERS, GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN

URL = "https://ghe.example.com"


@pytest.fixture
def tracker() -> SandboxTracker:
    return SandboxTracker(github_token=GITHUB_TOKEN, jira_email=JIRA_EMAIL, jira_token=JIRA_TOKEN)


def test_answers_without_start_at_the_url_it_is_given(tracker: SandboxTracker) -> None:
    tracker.add_issue("octo/app", 1, labels=["bug"])
    transport = tracker.transport(URL)

    with httpx.Client(transport=transport, headers=GITHUB_HEADERS) as client:
        answer = client.get(f"{tracker.github_api_url}/repos/octo/app/issues/1")

    assert tracker.github_api_url == f"{URL}/api/v3"
    assert answer.status_code == 200
    assert answer.json()["html_url"] == f"{URL}/octo/app/issues/1"
    assert [label["name"] for label in answer.json()["labels"]] == ["bug"]
    assert "stopped" in repr(tracker)  # no port was bound
    (record,) = tracker.requests
    assert (record.method, record.path, record.status) == (
        "GET",
        "/api/v3/repos/octo/app/issues/1",
        200,
    )


def test_async_graphql_and_jira_search_are_served_like_over_http(tracker: SandboxTracker) -> None:
    tracker.add_issue("octo/app", 2, state="closed", state_reason="not_planned")
    tracker.add_jira_issue("PROJ-1", status="In Review")

    async def main() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=tracker.transport()) as client:
            graphql = await client.post(
                f"{tracker.url}/api/graphql",
                json={
                    "query": '{ repository(owner: "octo", name: "app") { issue(number: 2) '
                    "{ state stateReason } } }"
                },
                headers=GITHUB_HEADERS,
            )
            search = await client.post(
                f"{tracker.jira_url}/rest/api/3/search/jql",
                json={"jql": "key in (PROJ-1)", "fields": ["status"]},
                auth=(JIRA_EMAIL, JIRA_TOKEN),
            )
            return graphql, search

    graphql, search = asyncio.run(main())

    assert graphql.json() == {
        "data": {"repository": {"issue": {"state": "CLOSED", "stateReason": "NOT_PLANNED"}}}
    }
    assert search.json()["issues"][0]["fields"]["status"]["name"] == "In Review"


def test_credentials_are_checked_in_process_too(tracker: SandboxTracker) -> None:
    tracker.add_issue("octo/app", 1)
    with httpx.Client(transport=tracker.transport()) as client:
        answer = client.get(
            f"{tracker.github_api_url}/repos/octo/app/issues/1",
            headers={"Authorization": "Bearer wrong"},
        )
    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"


def test_injected_statuses_and_bodies_replace_the_answer(tracker: SandboxTracker) -> None:
    tracker.add_issue("octo/app", 1)
    tracker.inject(path="/issues/1$", status=503, headers={"Retry-After": "7"})
    tracker.inject(path="/issues/1$", status=200, body="<html>proxy</html>")

    with httpx.Client(transport=tracker.transport(), headers=GITHUB_HEADERS) as client:
        url = f"{tracker.github_api_url}/repos/octo/app/issues/1"
        unavailable, html, healthy = client.get(url), client.get(url), client.get(url)

    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "7")
    assert html.headers["content-type"].startswith("text/html")
    assert html.text == "<html>proxy</html>"
    assert healthy.json()["number"] == 1
    assert [record.fault for record in tracker.requests] == ["status:503", "status:200", None]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("connect", httpx.ConnectError),
        ("read_timeout", httpx.ReadTimeout),
        ("disconnect", httpx.RemoteProtocolError),
    ],
)
def test_transport_errors_raise_the_httpx_error_and_change_nothing(
    tracker: SandboxTracker, kind: str, error: type[httpx.TransportError]
) -> None:
    tracker.add_issue("octo/app", 1)
    tracker.inject(method="PATCH", transport_error=kind)

    async def main() -> None:
        async with httpx.AsyncClient(transport=tracker.transport(), headers=GITHUB_HEADERS) as c:
            await c.patch(
                f"{tracker.github_api_url}/repos/octo/app/issues/1", json={"state": "closed"}
            )

    with pytest.raises(error):
        asyncio.run(main())
    assert tracker.github_issue("octo/app", 1)["state"] == "open"
    (record,) = tracker.requests
    assert (record.status, record.fault) == (None, f"transport_error:{kind}")


def test_a_dropped_connection_is_a_remote_protocol_error(tracker: SandboxTracker) -> None:
    tracker.inject(platform="jira", drop_connection=True)
    with (
        httpx.Client(transport=tracker.transport()) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get(f"{tracker.jira_url}/rest/api/3/serverInfo")


def test_an_unknown_transport_error_is_refused(tracker: SandboxTracker) -> None:
    with pytest.raises(ValueError, match="transport_error"):
        tracker.inject(transport_error="cosmic_ray")


def test_concurrent_requests_overlap_and_are_counted(tracker: SandboxTracker) -> None:
    for number in range(1, 7):
        tracker.add_issue("octo/app", number)

    async def main() -> None:
        async with httpx.AsyncClient(transport=tracker.transport(), headers=GITHUB_HEADERS) as c:
            base = f"{tracker.github_api_url}/repos/octo/app/issues"
            await asyncio.gather(*(c.get(f"{base}/{n}") for n in range(1, 7)))
            await c.get(f"{base}/1")  # alone: one in flight

    asyncio.run(main())

    assert tracker.max_in_flight == 6
    tracker.reset_max_in_flight()
    assert tracker.max_in_flight == 0


def test_a_started_sandbox_keeps_its_loopback_url() -> None:
    with SandboxTracker() as running:
        transport = running.transport()
        with pytest.raises(ValueError, match="loopback"):
            running.transport(URL)
        with httpx.Client(transport=transport) as client:
            answer = client.get(f"{running.jira_url}/rest/api/2/serverInfo")
    assert answer.json()["baseUrl"] == running.jira_url
