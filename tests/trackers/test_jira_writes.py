"""JiraClient writes: transitions by target status name, idempotent replays, comments."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from debussy.errors import (
    TrackerNotFoundError,
    TrackerServerError,
    TrackerUnavailableError,
    TransitionError,
)
from debussy.issues import JiraRef
from debussy.sync.trackers.jira.client import JiraClient
from tests.contract.openapi import assert_conforms
from tests.fixtures.jira.fake_jira import FakeJira, status_field

T = TypeVar("T")
PROJ_3 = JiraRef("PROJ-3")


def with_client(jira: FakeJira, action: Callable[[JiraClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with jira.client() as client:
            return await action(client)

    return asyncio.run(go())


def jira_with_todo_issue(deployment: Any = "cloud") -> FakeJira:
    jira = FakeJira(deployment)
    jira.add("PROJ-3", status=status_field("To Do", "new"))
    return jira


def current_status(jira: FakeJira, key: str = "PROJ-3") -> str:
    return jira.issues[key]["fields"]["status"]["name"]


# --- transitions ---------------------------------------------------------------------


@pytest.mark.parametrize("deployment", ["cloud", "server"])
def test_transition_is_resolved_by_target_status_name(deployment: Any) -> None:
    jira = jira_with_todo_issue(deployment)
    api = jira.api

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert outcome == "transitioned"
    assert current_status(jira) == "Done"
    assert [(r.method, r.url.path) for r in jira.requests] == [
        ("GET", f"{api}/issue/PROJ-3"),
        ("GET", f"{api}/issue/PROJ-3/transitions"),
        ("POST", f"{api}/issue/PROJ-3/transitions"),
    ]
    assert jira.requests[0].url.params["fields"] == "status"
    assert jira.body(jira.requests[2]) == {"transition": {"id": "31"}}


def test_target_status_matches_case_insensitively() -> None:
    jira = jira_with_todo_issue()

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "in review"))

    assert outcome == "transitioned"
    assert jira.body(jira.calls_to("/issue/PROJ-3/transitions", "POST")[0]) == {
        "transition": {"id": "21"}
    }


def test_transition_name_is_the_fallback_when_no_target_status_matches() -> None:
    jira = jira_with_todo_issue()

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "Resolve"))

    assert outcome == "transitioned"
    assert current_status(jira) == "Done"


def test_target_status_wins_over_a_transition_with_that_name() -> None:
    jira = jira_with_todo_issue()
    jira.transitions[0]["name"] = "Blocked"  # "Blocked" names transition 21 and targets 41

    with_client(jira, lambda client: client.transition_to(PROJ_3, "Blocked"))

    assert jira.body(jira.calls_to("/issue/PROJ-3/transitions", "POST")[0]) == {
        "transition": {"id": "41"}
    }


def test_an_issue_already_in_the_status_is_left_alone() -> None:
    jira = FakeJira("cloud")
    jira.add("PROJ-3", status=status_field("Done", "done"))

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "DONE"))

    assert outcome == "already"
    assert [(r.method, r.url.path) for r in jira.requests] == [("GET", "/rest/api/3/issue/PROJ-3")]


def test_replaying_a_transition_sends_one_post_in_total() -> None:
    jira = jira_with_todo_issue()

    async def twice(client: JiraClient) -> list[str]:
        return [
            await client.transition_to(PROJ_3, "Done"),
            await client.transition_to(PROJ_3, "Done"),
        ]

    assert with_client(jira, twice) == ["transitioned", "already"]
    assert len(jira.calls_to("/issue/PROJ-3/transitions", "POST")) == 1


def test_no_matching_transition_lists_the_available_statuses() -> None:
    jira = jira_with_todo_issue()
    jira.transitions = [t for t in jira.transitions if t["to"]["name"] != "Done"]

    with pytest.raises(TransitionError) as caught:
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert str(caught.value) == "PROJ-3: no transition to 'Done' (available: In Review, Blocked)"
    assert caught.value.kind == "transition"
    assert jira.calls_to("/issue/PROJ-3/transitions", "POST") == []
    assert current_status(jira) == "To Do"


def test_no_transitions_at_all_says_none_are_available() -> None:
    jira = jira_with_todo_issue()
    jira.transitions = []

    with pytest.raises(TransitionError, match=r"available: none"):
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))


def test_an_unknown_issue_is_not_found_naming_it() -> None:
    jira = FakeJira("cloud")

    with pytest.raises(TrackerNotFoundError) as caught:
        with_client(jira, lambda client: client.transition_to(JiraRef("PROJ-404"), "Done"))

    assert "PROJ-404" in str(caught.value)
    assert len(jira.requests) == 1


def test_an_issue_deleted_between_read_and_post_is_not_found() -> None:
    jira = jira_with_todo_issue()
    jira.route("do_transition").mock(
        return_value=httpx.Response(404, json={"errorMessages": ["Issue does not exist"]})
    )

    with pytest.raises(TrackerNotFoundError, match="PROJ-3"):
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))


def test_a_transition_jira_refuses_is_a_transition_error_with_jiras_reason() -> None:
    jira = jira_with_todo_issue()
    jira.route("do_transition").mock(
        return_value=httpx.Response(
            400, json={"errorMessages": [], "errors": {"resolution": "Resolution is required."}}
        )
    )

    with pytest.raises(TransitionError) as caught:
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert "PROJ-3" in str(caught.value)
    assert "Resolution is required." in str(caught.value)
    assert len(jira.calls_to("/issue/PROJ-3/transitions", "POST")) == 1


def test_a_transition_post_that_timed_out_is_not_sent_again() -> None:
    jira = jira_with_todo_issue()
    jira.route("do_transition").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(TrackerUnavailableError):
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert len(jira.calls_to("/issue/PROJ-3/transitions", "POST")) == 1


def test_a_transition_post_that_never_connected_is_retried() -> None:
    jira = jira_with_todo_issue()
    jira.route("do_transition").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(204)]
    )

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert outcome == "transitioned"
    assert len(jira.calls_to("/issue/PROJ-3/transitions", "POST")) == 2


def test_a_transition_post_answered_503_is_not_retried() -> None:
    jira = jira_with_todo_issue()
    jira.route("do_transition").mock(return_value=httpx.Response(503))

    with pytest.raises(TrackerServerError):
        with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert len(jira.calls_to("/issue/PROJ-3/transitions", "POST")) == 1


def test_reads_before_a_transition_are_retried() -> None:
    jira = jira_with_todo_issue()
    jira.fail_next(httpx.Response(503))

    outcome = with_client(jira, lambda client: client.transition_to(PROJ_3, "Done"))

    assert outcome == "transitioned"
    assert len(jira.calls_to("/issue/PROJ-3", "GET")) == 2


def test_a_key_that_is_not_an_issue_key_never_reaches_a_url() -> None:
    jira = FakeJira("cloud")

    with pytest.raises(TrackerNotFoundError, match="not a Jira issue key"):
        with_client(jira, lambda client: client.transition_to(JiraRef("../../myself"), "Done"))

    assert jira.requests == []


# --- comments ------------------------------------------------------------------------


def test_cloud_comment_is_an_atlassian_document() -> None:
    jira = jira_with_todo_issue()

    with_client(jira, lambda client: client.add_comment(PROJ_3, "Phase 2 completed by Debussy."))

    assert jira.comments["PROJ-3"] == [
        {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "Phase 2 completed by Debussy."}],
                }
            ],
        }
    ]
    (request,) = jira.requests
    assert (request.method, request.url.path) == ("POST", "/rest/api/3/issue/PROJ-3/comment")


def test_cloud_comment_keeps_paragraphs_and_line_breaks() -> None:
    jira = jira_with_todo_issue()

    with_client(jira, lambda client: client.add_comment(PROJ_3, "Done.\nAll checks green.\n\nBye"))

    (document,) = jira.comments["PROJ-3"]
    assert document["content"] == [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Done."},
                {"type": "hardBreak"},
                {"type": "text", "text": "All checks green."},
            ],
        },
        {"type": "paragraph", "content": [{"type": "text", "text": "Bye"}]},
    ]


def test_server_comment_is_plain_text() -> None:
    jira = jira_with_todo_issue("server")

    with_client(jira, lambda client: client.add_comment(PROJ_3, "Phase 2 completed."))

    assert jira.comments["PROJ-3"] == ["Phase 2 completed."]
    assert jira.requests[0].url.path == "/rest/api/2/issue/PROJ-3/comment"


def test_comment_on_an_unknown_issue_is_not_found() -> None:
    jira = FakeJira("cloud")

    with pytest.raises(TrackerNotFoundError, match="PROJ-3"):
        with_client(jira, lambda client: client.add_comment(PROJ_3, "hello"))


def test_an_empty_comment_is_refused_before_sending() -> None:
    jira = jira_with_todo_issue()

    with pytest.raises(ValueError, match="needs some text"):
        with_client(jira, lambda client: client.add_comment(PROJ_3, "  \n "))

    assert jira.requests == []


# --- the contract check itself ------------------------------------------------------------


def test_the_contract_check_the_fake_applies_does_reject_a_malformed_request() -> None:
    """Guards the guard: every v3 request in these tests passes through assert_conforms."""
    bad = httpx.Request(
        "POST",
        "https://acme.atlassian.net/rest/api/3/search/jql",
        json={"jql": "key in (PROJ-1)", "maxResults": "100", "nextPageToken": None},
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )

    with pytest.raises(AssertionError, match="does not conform"):
        assert_conforms("jira", bad)
