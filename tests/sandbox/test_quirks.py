"""Quirks, pull requests and transferred issues: what only some sites or issues do."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.quirks import UnknownKeyMessage
from tests.sandbox.conftest import GITHUB_HEADERS, GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN

STATE_REASON = (
    '{ repository(owner: "octo", name: "app") '
    "{ issue(number: 1) { stateReason(enableDuplicate: true) } } }"
)


@pytest.fixture
def tracker() -> SandboxTracker:
    return SandboxTracker(github_token=GITHUB_TOKEN, jira_email=JIRA_EMAIL, jira_token=JIRA_TOKEN)


@pytest.fixture
def client(tracker: SandboxTracker) -> Iterator[httpx.Client]:
    with httpx.Client(transport=tracker.transport(), headers=GITHUB_HEADERS) as opened:
        yield opened


def graphql(tracker: SandboxTracker, client: httpx.Client, query: str) -> httpx.Response:
    return client.post(f"{tracker.url}/api/graphql", json={"query": query})


def search(
    tracker: SandboxTracker, client: httpx.Client, jql: str, **extra: object
) -> httpx.Response:
    return client.post(
        f"{tracker.jira_url}/rest/api/3/search/jql",
        json={"jql": jql, "fields": ["status"], **extra},
        auth=(JIRA_EMAIL, JIRA_TOKEN),
    )


def test_old_enterprise_refuses_enable_duplicate_and_answers_without_it(
    tracker: SandboxTracker, client: httpx.Client
) -> None:
    tracker.add_issue("octo/app", 1, state="closed", state_reason="duplicate")
    assert graphql(tracker, client, STATE_REASON).json() == {
        "data": {"repository": {"issue": {"stateReason": "DUPLICATE"}}}
    }

    tracker.quirks.github_without_enable_duplicate = True
    refused = graphql(tracker, client, STATE_REASON).json()
    plain = graphql(tracker, client, STATE_REASON.replace("(enableDuplicate: true)", "")).json()

    assert "data" not in refused
    assert refused["errors"][0]["extensions"]["code"] == "argumentNotAccepted"
    assert plain == {"data": {"repository": {"issue": {"stateReason": "NOT_PLANNED"}}}}


def test_a_pull_request_is_an_issue_in_rest_and_not_found_in_graphql(
    tracker: SandboxTracker, client: httpx.Client
) -> None:
    tracker.add_pull_request("octo/app", 1)

    rest = client.get(f"{tracker.github_api_url}/repos/octo/app/issues/1").json()
    answer = graphql(tracker, client, STATE_REASON).json()

    assert rest["pull_request"]["url"].endswith("/repos/octo/app/pulls/1")
    assert answer["errors"][0]["type"] == "NOT_FOUND"


def test_a_transferred_issue_answers_301_at_its_old_address(
    tracker: SandboxTracker, client: httpx.Client
) -> None:
    tracker.add_issue("octo/app", 1, labels=["bug"])
    tracker.add_issue("octo/lib", 4)

    number = tracker.transfer_issue("octo/app", 1, "octo/lib")
    moved = client.get(f"{tracker.github_api_url}/repos/octo/app/issues/1")
    found = client.get(f"{tracker.github_api_url}/repos/octo/lib/issues/{number}")

    assert number == 5
    assert moved.status_code == 301
    assert moved.json()["message"] == "Moved Permanently"
    assert moved.headers["location"] == moved.json()["url"]
    assert [label["name"] for label in found.json()["labels"]] == ["bug"]
    assert graphql(tracker, client, STATE_REASON).json()["errors"][0]["type"] == "NOT_FOUND"


def test_jira_page_size_caps_search_pages(tracker: SandboxTracker, client: httpx.Client) -> None:
    for number in range(1, 6):
        tracker.add_jira_issue(f"PROJ-{number}")
    tracker.quirks.jira_page_size = 2
    jql = "key in (PROJ-1, PROJ-2, PROJ-3, PROJ-4, PROJ-5)"

    first = search(tracker, client, jql, maxResults=100).json()
    second = search(tracker, client, jql, maxResults=100, nextPageToken=first["nextPageToken"])

    assert [issue["key"] for issue in first["issues"]] == ["PROJ-1", "PROJ-2"]
    assert [issue["key"] for issue in second.json()["issues"]] == ["PROJ-3", "PROJ-4"]


@pytest.mark.parametrize(
    ("one_key", "style", "expected"),
    [
        (
            False,
            "does_not_exist",
            [
                "An issue with key 'PROJ-8' does not exist for field 'key'.",
                "An issue with key 'PROJ-9' does not exist for field 'key'.",
            ],
        ),
        (True, "does_not_exist", ["An issue with key 'PROJ-8' does not exist for field 'key'."]),
        (True, "invalid", ["The issue key 'PROJ-8' for field 'key' is invalid."]),
    ],
)
def test_jira_unknown_keys_are_named_as_the_site_does(
    tracker: SandboxTracker,
    client: httpx.Client,
    one_key: bool,
    style: UnknownKeyMessage,
    expected: list[str],
) -> None:
    tracker.add_jira_issue("PROJ-1")
    tracker.quirks.jira_names_one_unknown_key = one_key
    tracker.quirks.jira_unknown_key_message = style

    answer = search(tracker, client, "key in (PROJ-1, PROJ-8, PROJ-9)")

    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == expected


def test_hidden_jira_issues_fail_the_search_unless_the_site_omits_them(
    tracker: SandboxTracker, client: httpx.Client
) -> None:
    tracker.add_jira_issue("PROJ-1")
    tracker.add_jira_issue("PROJ-2")
    tracker.hide_jira_issue("PROJ-2")

    strict = search(tracker, client, "key in (PROJ-1, PROJ-2)")
    tracker.quirks.jira_hidden_issues_omitted = True
    lenient = search(tracker, client, "key in (PROJ-1, PROJ-2)")

    assert strict.status_code == 400
    assert [issue["key"] for issue in lenient.json()["issues"]] == ["PROJ-1"]
