"""JiraClient reads: batching, paging, unknown keys, mapping, failures, credentials.

Every test talks to the sandbox tracker through its in-process transport, so the real
client runs down to httpx against the one fake; the site's quirks (smaller pages,
unknown keys named one at a time) are sandbox switches, and broken answers are
injected faults. Every ``/rest/api/3`` request sent is checked against Atlassian's
OpenAPI description when the test ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from debussy.config import JiraConfig
from debussy.errors import (
    BadResponseError,
    ConfigError,
    RateLimitedError,
    TrackerAuthError,
    TrackerServerError,
)
from debussy.issues import IssueStatus, JiraRef
from debussy.sync.trackers.jira.client import MAX_CONCURRENT_SEARCHES, SEARCH_FIELDS, JiraClient
from tests.clock import ManualClock as Clock
from tests.fixtures.sandbox_clients import (
    BASIC_CREDENTIALS,
    CLOUD_URL,
    SERVER_URL,
    Deployment,
    InProcessSandbox,
    body,
)
from tests.fixtures.sandbox_clients import JIRA_EMAIL as EMAIL
from tests.fixtures.sandbox_clients import JIRA_TOKEN as TOKEN

T = TypeVar("T")
HERE = Path(__file__).parent.parent / "fixtures" / "jira"


class FakeJira(InProcessSandbox):
    """The sandbox as one Jira site: ``deployment`` picks the API version the client uses."""

    def __init__(
        self,
        deployment: Deployment = "cloud",
        *,
        page_size: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or Clock(datetime.now(UTC))
        super().__init__(CLOUD_URL if deployment == "cloud" else SERVER_URL, clock=self.clock)
        self.deployment: Deployment = deployment
        self.tracker.quirks.jira_page_size = page_size
        self.requests = self.transport.sent
        _MADE.append(self)

    def add_many(self, count: int, project: str = "PROJ") -> list[str]:
        return self.add_jira_issues(count, project)

    def client(self, *, email: str | None = EMAIL, token: str | None = TOKEN) -> JiraClient:
        return self.jira_client(self.deployment, email=email, token=token)

    def config(self, **overrides: Any) -> JiraConfig:
        return self.jira_config(self.deployment, **overrides)

    body = staticmethod(body)


_MADE: list[FakeJira] = []


@pytest.fixture(autouse=True)
def _contract() -> Iterator[None]:
    """Check every request each ``FakeJira`` of the test sent against the API description."""
    _MADE.clear()
    yield
    for jira in _MADE:
        jira.check_contract()
        assert "/rest/api/3/search" not in {r.url.path for r in jira.requests}


def status_field(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "id": "1", "statusCategory": {"id": 2, "key": category, "name": name}}


def issue_payload(key: str, **fields: Any) -> dict[str, Any]:
    """A search-result issue shaped like Jira Cloud's, from ``issue.json``, fields overridden."""
    issue = json.loads((HERE / "issue.json").read_text())
    issue["key"] = key
    issue["fields"].update(fields)
    return issue


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fetch(jira: FakeJira, keys: Sequence[str]) -> tuple[dict[JiraRef, IssueStatus], int]:
    """Fetch through a fresh client; returns the statuses and the client's request count."""

    async def go() -> tuple[dict[JiraRef, IssueStatus], int]:
        async with jira.client() as client:
            result = await client.fetch_issues([JiraRef(key) for key in keys])
            return result, client.requests

    return run(go())


def fetch_error(jira: FakeJira, keys: Sequence[str], error: type[Exception]) -> Exception:
    with pytest.raises(error) as caught:
        fetch(jira, keys)
    return caught.value


# --- batching and paging ----------------------------------------------------------------


@pytest.mark.parametrize(("count", "searches"), [(1, 1), (100, 1), (101, 2), (250, 3)])
def test_cloud_reads_at_most_100_keys_per_search(count: int, searches: int) -> None:
    jira = FakeJira("cloud")
    keys = jira.add_many(count)

    result, requests = fetch(jira, keys)

    assert len(jira.searches()) == searches
    assert requests == searches
    assert sorted(ref.key for ref, status in result.items() if not status.missing) == sorted(keys)
    batch_sizes = sorted(len(jira.body(r)["jql"].split(",")) for r in jira.searches())
    assert sum(batch_sizes) == count
    assert max(batch_sizes) <= 100


def test_cloud_search_asks_only_for_the_needed_fields() -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)

    fetch(jira, ["PROJ-1", "PROJ-2"])

    (search,) = jira.searches()
    assert search.url.path == "/rest/api/3/search/jql"
    assert jira.body(search) == {
        "jql": "key in (PROJ-1, PROJ-2)",
        "fields": [
            "status",
            "labels",
            "resolution",
            "updated",
            "statuscategorychangedate",
            "summary",
        ],
        "maxResults": 100,
    }
    assert list(SEARCH_FIELDS) == jira.body(search)["fields"]


def test_cloud_follows_next_page_token_until_is_last() -> None:
    jira = FakeJira("cloud", page_size=60)
    keys = jira.add_many(100)

    result, requests = fetch(jira, keys)

    first, second = jira.searches()
    assert requests == 2
    assert "nextPageToken" not in jira.body(first)
    assert jira.body(second)["nextPageToken"]
    assert jira.body(second)["jql"] == jira.body(first)["jql"]
    assert not any(status.missing for status in result.values())
    assert len(result) == 100


def test_cloud_stops_when_the_token_is_absent_even_without_is_last() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)
    jira.inject_jira(httpx.Response(200, json={"issues": [issue_payload("PROJ-1")]}))

    result, requests = fetch(jira, ["PROJ-1"])

    assert requests == 1
    assert result[JiraRef("PROJ-1")].state == "In Progress"


def test_cloud_stops_at_is_last_even_if_a_token_comes_along() -> None:
    jira = FakeJira("cloud")
    page = {"issues": [issue_payload("PROJ-1")], "nextPageToken": "spare", "isLast": True}
    jira.inject_jira(httpx.Response(200, json=page))

    result, requests = fetch(jira, ["PROJ-1"])

    assert requests == 1
    assert not result[JiraRef("PROJ-1")].missing


def test_a_page_token_repeated_by_jira_is_an_error_not_an_endless_loop() -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)
    page = {"issues": [issue_payload("PROJ-1")], "nextPageToken": "same", "isLast": False}
    jira.inject_jira(httpx.Response(200, json=page), httpx.Response(200, json=page))

    error = fetch_error(jira, ["PROJ-1", "PROJ-2"], BadResponseError)

    assert "nextPageToken" in str(error)
    assert len(jira.searches()) == 2


def test_server_pages_with_start_at_and_total() -> None:
    jira = FakeJira("server", page_size=40)
    keys = jira.add_many(100)

    result, requests = fetch(jira, keys)

    searches = jira.searches()
    assert requests == 3
    assert [request.url.path for request in searches] == ["/rest/api/2/search"] * 3
    assert [jira.body(request)["startAt"] for request in searches] == [0, 40, 80]
    assert all(jira.body(request)["maxResults"] == 100 for request in searches)
    assert all(jira.body(request)["fields"] == list(SEARCH_FIELDS) for request in searches)
    assert not any(status.missing for status in result.values())


def test_server_stops_on_an_empty_page_even_if_total_says_more() -> None:
    jira = FakeJira("server")
    jira.add_many(5)
    jira.inject_jira(httpx.Response(200, json={"startAt": 0, "total": 5, "issues": []}))

    result, requests = fetch(jira, ["PROJ-1", "PROJ-2"])

    assert requests == 1
    assert all(status.missing for status in result.values())


@pytest.mark.parametrize(("count", "searches"), [(1, 1), (100, 1), (250, 3)])
def test_server_batches_like_cloud(count: int, searches: int) -> None:
    jira = FakeJira("server")
    keys = jira.add_many(count)

    _, requests = fetch(jira, keys)

    assert requests == searches


def test_batches_run_concurrently_but_at_most_four_at_once() -> None:
    jira = FakeJira("cloud")
    keys = jira.add_many(1000)

    result, requests = fetch(jira, keys)

    assert requests == 10
    assert jira.tracker.max_in_flight == MAX_CONCURRENT_SEARCHES == 4
    assert len(result) == 1000


def test_duplicate_refs_are_searched_once() -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)

    result, requests = fetch(jira, ["PROJ-1", "PROJ-2", "PROJ-1"])

    assert requests == 1
    assert jira.body(jira.searches()[0])["jql"] == "key in (PROJ-1, PROJ-2)"
    assert set(result) == {JiraRef("PROJ-1"), JiraRef("PROJ-2")}


def test_no_refs_means_no_request() -> None:
    jira = FakeJira("cloud")

    result, requests = fetch(jira, [])

    assert result == {}
    assert requests == 0


def test_a_ref_that_is_not_an_issue_key_is_missing_and_never_sent() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)

    result, requests = fetch(jira, ["PROJ-1", "PROJ-1) OR project = SECRET", "proj", "PROJ-0"])

    assert requests == 1
    assert jira.body(jira.searches()[0])["jql"] == "key in (PROJ-1)"
    assert result[JiraRef("PROJ-1) OR project = SECRET")].missing
    assert result[JiraRef("proj")].missing
    assert result[JiraRef("PROJ-0")].missing, "the plans' key pattern: numbers start at 1"
    assert not result[JiraRef("PROJ-1")].missing


def test_the_removed_search_endpoint_is_never_used() -> None:
    jira = FakeJira("cloud", page_size=30)
    jira.tracker.quirks.jira_names_one_unknown_key = True
    keys = jira.add_many(150)

    fetch(jira, [*keys, "PROJ-998", "PROJ-999"])

    paths = {request.url.path for request in jira.requests}
    assert paths == {"/rest/api/3/search/jql"}
    assert "/rest/api/3/search" not in paths


# --- unknown keys ---------------------------------------------------------------------


@pytest.mark.parametrize("rejection", ["does_not_exist", "invalid"])
def test_unknown_keys_are_dropped_and_reported_missing(rejection: Any) -> None:
    jira = FakeJira("cloud")
    jira.tracker.quirks.jira_unknown_key_message = rejection
    jira.add_many(3)

    result, requests = fetch(jira, ["PROJ-1", "PROJ-404", "PROJ-2", "PROJ-999", "PROJ-3"])

    assert requests == 2  # the rejected search, then the same batch without the two keys
    assert jira.body(jira.searches()[1])["jql"] == "key in (PROJ-1, PROJ-2, PROJ-3)"
    assert result[JiraRef("PROJ-404")] == IssueStatus.missing_issue(JiraRef("PROJ-404"))
    assert result[JiraRef("PROJ-999")].missing
    assert [ref.key for ref, status in result.items() if not status.missing] == [
        "PROJ-1",
        "PROJ-2",
        "PROJ-3",
    ]


@pytest.mark.parametrize("deployment", ["cloud", "server"])
def test_unknown_keys_named_one_per_answer_are_dropped_until_the_search_is_clean(
    deployment: Any,
) -> None:
    jira = FakeJira(deployment)
    jira.tracker.quirks.jira_names_one_unknown_key = True
    jira.add_many(2)

    result, requests = fetch(jira, ["PROJ-7", "PROJ-1", "PROJ-8", "PROJ-2", "PROJ-9"])

    assert requests == 4  # three rejections naming one key each, then the clean search
    assert {ref.key for ref, status in result.items() if status.missing} == {
        "PROJ-7",
        "PROJ-8",
        "PROJ-9",
    }
    assert not result[JiraRef("PROJ-1")].missing


def test_one_message_naming_several_keys_drops_them_all_at_once() -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)
    jira.inject_jira(
        httpx.Response(
            400, json={"errorMessages": ["Issues 'PROJ-8', 'PROJ-9' do not exist."], "errors": {}}
        )
    )

    result, requests = fetch(jira, ["PROJ-1", "PROJ-8", "PROJ-9", "PROJ-2"])

    assert requests == 2
    assert jira.body(jira.searches()[1])["jql"] == "key in (PROJ-1, PROJ-2)"
    assert result[JiraRef("PROJ-8")].missing
    assert result[JiraRef("PROJ-9")].missing


def test_an_unknown_key_only_costs_its_own_batch_a_retry() -> None:
    jira = FakeJira("cloud")
    keys = jira.add_many(150)

    result, requests = fetch(jira, [*keys[:120], "GONE-1", *keys[120:]])

    assert requests == 3  # batch 1: one search; batch 2: rejected, then clean
    assert result[JiraRef("GONE-1")].missing
    assert sum(not status.missing for status in result.values()) == 150


def test_a_batch_of_only_unknown_keys_ends_without_an_empty_search() -> None:
    jira = FakeJira("cloud")

    result, requests = fetch(jira, ["PROJ-1", "PROJ-2"])

    assert requests == 1
    assert all(status.missing for status in result.values())


def test_keys_absent_from_a_successful_answer_are_missing() -> None:
    jira = FakeJira("cloud")
    jira.add_many(3)
    jira.tracker.quirks.jira_hidden_issues_omitted = True
    jira.tracker.hide_jira_issue("PROJ-2")

    result, requests = fetch(jira, ["PROJ-1", "PROJ-2", "PROJ-3"])

    assert requests == 1
    assert result[JiraRef("PROJ-2")].missing
    assert not result[JiraRef("PROJ-3")].missing


@pytest.mark.parametrize(
    "answer",
    [
        {
            "errorMessages": ["Error in the JQL Query: 'key' is a reserved JQL word."],
            "errors": {},
        },
        {"errorMessages": ["An issue with key 'OTHER-5' does not exist for field 'key'."]},
        {"errorMessages": [], "errors": {"jql": "Error in the JQL Query: unexpected end"}},
        {},
    ],
    ids=["no-key", "key-not-in-batch", "errors-map", "empty"],
)
def test_a_400_that_names_none_of_our_keys_is_a_bad_response(answer: dict[str, Any]) -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)
    jira.inject_jira(httpx.Response(400, json=answer))

    error = fetch_error(jira, ["PROJ-1", "PROJ-2"], BadResponseError)

    assert "Jira rejected the search (400)" in str(error)
    messages = [*answer.get("errorMessages", []), *answer.get("errors", {}).values()]
    assert all(message in str(error) for message in messages)
    assert len(jira.searches()) == 1


# --- mapping ---------------------------------------------------------------------------


def test_an_issue_maps_to_its_status() -> None:
    jira = FakeJira("cloud", clock=Clock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC)))
    jira.tracker.add_jira_issue(
        "PROJ-1",
        summary="Phase 1: parse the master plan",
        status="In Progress",
        labels=["debussy", "backend"],
    )  # into In Progress at 09:30 ...
    jira.clock.now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    jira.tracker.move_jira_issue("PROJ-1", "In Progress")  # ... updated at 10:00, same category

    result, _ = fetch(jira, ["PROJ-1"])

    assert result[JiraRef("PROJ-1")] == IssueStatus(
        platform="jira",
        id="PROJ-1",
        state="In Progress",
        status_category="indeterminate",
        state_reason=None,
        labels=("debussy", "backend"),
        milestone=None,
        title="Phase 1: parse the master plan",
        url="https://acme.atlassian.net/browse/PROJ-1",
        last_updated=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        state_changed_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )


def test_a_resolved_issue_carries_its_resolution_and_converts_offsets_to_utc() -> None:
    jira = FakeJira("server")
    issue = issue_payload(
        "OPS-12",
        status=status_field("Closed", "done"),
        resolution={"id": "10001", "name": "Won't Do"},
        labels=[],
        updated="2026-11-27T12:15:00.000+0200",
        statuscategorychangedate=None,
    )  # a workflow of the site's own ("Closed") and a server in another time zone
    jira.inject_jira(
        httpx.Response(200, json={"startAt": 0, "maxResults": 100, "total": 1, "issues": [issue]})
    )

    status = fetch(jira, ["OPS-12"])[0][JiraRef("OPS-12")]

    assert status.state == "Closed"
    assert status.status_category == "done"
    assert status.is_closed
    assert status.state_reason == "Won't Do"
    assert status.labels == ()
    assert status.last_updated == datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    assert status.state_changed_at is None
    assert status.url == "https://jira.example.com/browse/OPS-12"


def _break(path: str, value: Any) -> dict[str, Any]:
    """An issue payload with the field at ``path`` replaced (``...`` removes it)."""
    issue = issue_payload("PROJ-1")
    *parents, last = path.split(".")
    node = issue
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return issue


@pytest.mark.parametrize(
    ("issue", "named"),
    [
        (_break("fields.status", ...), "fields.status"),
        (_break("fields.status", None), "fields.status"),
        (_break("fields.status.name", 3), "fields.status.name"),
        (_break("fields.status.statusCategory", ...), "fields.status.statusCategory"),
        (_break("fields.status.statusCategory.key", None), "statusCategory.key"),
        (_break("fields.labels", "debussy,backend"), "fields.labels"),
        (_break("fields.labels", [1, 2]), "fields.labels"),
        (_break("fields.resolution", "Done"), "fields.resolution"),
        (_break("fields.updated", None), "fields.updated"),
        (_break("fields.updated", "yesterday"), "updated"),
        (_break("fields.statuscategorychangedate", "27/11/2026"), "statuscategorychangedate"),
        (_break("fields.summary", ["a"]), "fields.summary"),
        (_break("fields", None), "fields"),
        (_break("key", 10042), "key"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_malformed_issue_is_a_bad_response_naming_the_field(
    issue: dict[str, Any], named: str
) -> None:
    jira = FakeJira("cloud")
    jira.inject_jira(httpx.Response(200, json={"issues": [issue], "isLast": True}))

    error = fetch_error(jira, ["PROJ-1"], BadResponseError)

    assert named in str(error)
    assert len(jira.searches()) == 1


@pytest.mark.parametrize(
    "page",
    [
        [],
        {"isLast": True},
        {"issues": {"PROJ-1": {}}, "isLast": True},
        {"issues": [], "isLast": "yes"},
        {"issues": [], "nextPageToken": 7},
    ],
    ids=["list", "no-issues", "issues-dict", "isLast-string", "token-number"],
)
def test_a_malformed_search_page_is_a_bad_response(page: Any) -> None:
    jira = FakeJira("cloud")
    jira.inject_jira(httpx.Response(200, json=page))

    error = fetch_error(jira, ["PROJ-1"], BadResponseError)

    assert "Jira sent a search result with a bad '" in str(error)


def test_a_server_page_without_total_is_a_bad_response() -> None:
    jira = FakeJira("server")
    jira.inject_jira(httpx.Response(200, json={"startAt": 0, "issues": []}))

    error = fetch_error(jira, ["PROJ-1"], BadResponseError)

    assert "total" in str(error)


def test_an_html_page_is_a_bad_response() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)
    html = (HERE / "gateway_error.html").read_text()
    jira.inject_jira(
        *[httpx.Response(200, text=html, headers={"Content-Type": "text/html"}) for _ in range(3)]
    )

    error = fetch_error(jira, ["PROJ-1"], BadResponseError)

    assert "HTML page instead of JSON" in str(error)
    assert len(jira.searches()) == 3, "a garbled read is read again, like a 502"


def test_truncated_json_is_a_bad_response() -> None:
    jira = FakeJira("cloud")
    whole = json.dumps({"issues": [issue_payload("PROJ-1")], "isLast": True})
    jira.inject_jira(
        *[httpx.Response(200, content=whole[: len(whole) // 2].encode()) for _ in range(3)]
    )

    error = fetch_error(jira, ["PROJ-1"], BadResponseError)

    assert "truncated or malformed JSON" in str(error)


# --- HTTP failures ---------------------------------------------------------------------


def test_401_names_the_variables_to_check() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)

    async def go() -> None:
        async with JiraClient(
            jira.config(),
            email=EMAIL,
            token="not-the-right-token",
            transport=jira.transport,
        ) as client:
            await client.fetch_issues([JiraRef("PROJ-1")])

    with pytest.raises(TrackerAuthError) as caught:
        run(go())

    assert "401" in str(caught.value)
    assert "check JIRA_EMAIL and JIRA_API_TOKEN" in str(caught.value)
    assert caught.value.platform == "jira"
    assert len(jira.requests) == 1  # credentials are not retried


def test_401_on_server_names_only_the_token_variable() -> None:
    jira = FakeJira("server")
    jira.inject_jira(httpx.Response(401))

    error = fetch_error(jira, ["PROJ-1"], TrackerAuthError)

    assert "check JIRA_API_TOKEN" in str(error)
    assert "JIRA_EMAIL" not in str(error)


def test_403_is_an_auth_error_with_jiras_reason() -> None:
    jira = FakeJira("cloud")
    jira.inject_jira(
        httpx.Response(403, json={"errorMessages": ["You do not have permission to browse."]})
    )

    error = fetch_error(jira, ["PROJ-1"], TrackerAuthError)

    assert "You do not have permission to browse." in str(error)
    assert "JIRA_API_TOKEN" in str(error)


def test_403_from_a_captcha_lockout_says_so() -> None:
    jira = FakeJira("server")
    jira.inject_jira(httpx.Response(403, headers={"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}))

    error = fetch_error(jira, ["PROJ-1"], TrackerAuthError)

    assert "CAPTCHA" in str(error)


def test_429_with_a_short_retry_after_is_waited_out() -> None:
    jira = FakeJira("cloud")
    jira.add_many(2)
    jira.inject_jira(httpx.Response(429, headers={"Retry-After": "2"}))

    result, requests = fetch(jira, ["PROJ-1", "PROJ-2"])

    assert requests == 2
    assert not any(status.missing for status in result.values())


def test_429_with_a_long_retry_after_gives_up_and_says_when() -> None:
    jira = FakeJira("cloud")
    jira.inject_jira(httpx.Response(429, headers={"Retry-After": "3600"}))

    error = fetch_error(jira, ["PROJ-1"], RateLimitedError)

    assert "resets at" in str(error)
    assert len(jira.requests) == 1


def test_503_then_success_is_retried() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)
    jira.inject_jira(httpx.Response(503))

    result, requests = fetch(jira, ["PROJ-1"])

    assert requests == 2
    assert result[JiraRef("PROJ-1")].state == "In Progress"


def test_503_every_time_ends_in_a_server_error_after_three_attempts() -> None:
    jira = FakeJira("cloud")
    jira.inject_jira(httpx.Response(503), httpx.Response(503), httpx.Response(503))

    error = fetch_error(jira, ["PROJ-1"], TrackerServerError)

    assert "503" in str(error)
    assert len(jira.requests) == 3


def test_a_read_timeout_on_search_is_retried_because_search_is_a_read() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)
    jira.inject_jira("read_timeout")

    result, requests = fetch(jira, ["PROJ-1"])

    assert requests == 2
    assert not result[JiraRef("PROJ-1")].missing


@pytest.mark.parametrize(
    ("deployment", "hint"), [("cloud", "jira.deployment: server"), ("server", "cloud")]
)
def test_410_on_search_says_the_endpoint_was_removed(deployment: Any, hint: str) -> None:
    jira = FakeJira(deployment)
    jira.inject_jira(httpx.Response(410, json={"errorMessages": ["Gone"]}))

    error = fetch_error(jira, ["PROJ-1"], TrackerServerError)

    assert "was removed (410)" in str(error)
    assert hint in str(error)


def test_one_failing_batch_fails_the_fetch_with_its_own_error() -> None:
    jira = FakeJira("cloud")
    keys = jira.add_many(150)
    jira.inject_jira(*[httpx.Response(200, text="<html>proxy</html>") for _ in range(6)])

    error = fetch_error(jira, keys, BadResponseError)

    assert not isinstance(error, ExceptionGroup)
    assert "HTML" in str(error)


# --- construction and credentials --------------------------------------------------------


def test_cloud_sends_basic_email_and_token() -> None:
    jira = FakeJira("cloud")
    jira.add_many(1)

    fetch(jira, ["PROJ-1"])

    assert jira.requests[0].headers["authorization"] == f"Basic {BASIC_CREDENTIALS}"
    assert jira.requests[0].headers["accept"] == "application/json"


def test_server_sends_the_token_as_bearer_without_an_email() -> None:
    jira = FakeJira("server")
    jira.add_many(1)

    async def go() -> None:
        async with jira.client(email=None) as client:
            await client.fetch_issues([JiraRef("PROJ-1")])

    run(go())

    assert jira.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert jira.requests[0].url.path == "/rest/api/2/search"


def test_credentials_default_to_the_configured_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_JIRA_USER", EMAIL)
    monkeypatch.setenv("ACME_JIRA_PAT", TOKEN)
    jira = FakeJira("cloud")
    jira.add_many(1)
    config = jira.config(email_env="ACME_JIRA_USER", token_env="ACME_JIRA_PAT")

    async def go() -> IssueStatus:
        async with JiraClient(config, transport=jira.transport) as client:
            return (await client.fetch_issues([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]

    assert not run(go()).missing
    assert jira.requests[0].headers["authorization"] == f"Basic {BASIC_CREDENTIALS}"


@pytest.mark.parametrize(
    ("deployment", "env", "expected"),
    [
        ("cloud", {}, "set JIRA_EMAIL and JIRA_API_TOKEN"),
        ("cloud", {"JIRA_API_TOKEN": TOKEN}, "set JIRA_EMAIL"),
        ("cloud", {"JIRA_EMAIL": EMAIL}, "set JIRA_API_TOKEN"),
        ("server", {"JIRA_EMAIL": EMAIL}, "set JIRA_API_TOKEN"),
    ],
)
def test_missing_credentials_name_the_variables_before_any_request(
    monkeypatch: pytest.MonkeyPatch, deployment: Any, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jira = FakeJira(deployment)

    with pytest.raises(TrackerAuthError) as caught:
        JiraClient(jira.config(), transport=jira.transport)

    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert jira.requests == []


def test_server_needs_no_email(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    client = JiraClient(JiraConfig(url="https://jira.example.com", deployment="server"))
    assert client.requests == 0
    run(client.aclose())


def test_a_config_without_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"jira\.url"):
        JiraClient(JiraConfig(), email=EMAIL, token=TOKEN)


def test_a_site_below_a_context_path_keeps_it() -> None:
    jira = InProcessSandbox("https://intranet.example.com/jira")
    jira.add_jira_issues(1)
    config = JiraConfig(url="https://intranet.example.com/jira", deployment="server")

    async def go() -> IssueStatus:
        async with JiraClient(config, token=TOKEN, transport=jira.transport) as c:
            return (await c.fetch_issues([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]

    assert not run(go()).missing
    assert [request.url.path for request in jira.transport.sent] == ["/jira/rest/api/2/search"]
