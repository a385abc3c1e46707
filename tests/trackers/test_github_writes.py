"""GitHubClient writes: one Debussy label, close/reopen, comments, and when they are retried.

Every REST request is checked against GitHub's OpenAPI description when each
test ends (``FakeGitHub.running``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from debussy.config import GitHubConfig, GitHubLabels
from debussy.errors import (
    BadResponseError,
    TrackerAuthError,
    TrackerNotFoundError,
    TrackerServerError,
    TrackerUnavailableError,
)
from debussy.issues import GitHubRef
from debussy.sync.trackers.github.client import GitHubClient
from tests.contract.openapi import assert_conforms
from tests.fixtures.github.fake import TOKEN, FakeGitHub, already_exists

T = TypeVar("T")
APP = "octo/app"
ISSUE = GitHubRef(APP, 12)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub().running() as fake:
        yield fake


def write(
    fake: FakeGitHub,
    action: Callable[[GitHubClient], Awaitable[T]],
    *,
    config: GitHubConfig | None = None,
    token: str | None = TOKEN,
) -> tuple[T, int]:
    """The action's result and the number of HTTP requests it sent."""

    async def main() -> tuple[T, int]:
        async with GitHubClient(config or fake.config, token=token) as client:
            return await action(client), client.requests

    return asyncio.run(main())


def write_error(
    fake: FakeGitHub, action: Callable[[GitHubClient], Awaitable[Any]], **kwargs: Any
) -> tuple[Exception, int]:
    sent: list[int] = []

    async def main() -> None:
        client = GitHubClient(fake.config, token=kwargs.get("token", TOKEN))
        try:
            await action(client)
        finally:
            sent.append(client.requests)
            await client.aclose()

    with pytest.raises(Exception) as caught:  # noqa: PT011 -- callers assert the type
        asyncio.run(main())
    return caught.value, sent[0]


def sent(fake: FakeGitHub) -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every request, in order."""
    return [
        (request.method, request.url.path, json.loads(request.content) if request.content else None)
        for request in fake.calls()
    ]


# --- labels -----------------------------------------------------------------------------


def test_label_replaces_the_debussy_label_and_keeps_the_others(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["bug", "debussy:in-progress", "ui"])

    labels, requests = write(
        github,
        lambda c: c.set_debussy_label(
            ISSUE, "debussy:completed", ["bug", "debussy:in-progress", "ui"]
        ),
    )

    assert labels == ("bug", "ui", "debussy:completed")
    assert github.issue(APP, 12).labels == ["bug", "ui", "debussy:completed"]
    assert sent(github) == [
        ("POST", "/repos/octo/app/labels", {"name": "debussy:completed", "color": "0e8a16"}),
        ("PUT", "/repos/octo/app/issues/12/labels", {"labels": ["bug", "ui", "debussy:completed"]}),
    ]
    assert requests == 2


def test_replaying_a_label_change_sends_nothing(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["bug"])

    async def twice(client: GitHubClient) -> tuple[tuple[str, ...], tuple[str, ...]]:
        first = await client.set_debussy_label(ISSUE, "debussy:failed", ["bug"])
        return first, await client.set_debussy_label(ISSUE, "debussy:failed", first)

    (first, second), requests = write(github, twice)

    assert first == second == ("bug", "debussy:failed")
    assert requests == 2  # label creation + PUT, nothing for the replay


def test_label_comparison_ignores_case_and_order(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)

    labels, requests = write(
        github, lambda c: c.set_debussy_label(ISSUE, "debussy:blocked", ["Debussy:Blocked", "bug"])
    )

    assert (labels, requests) == (("Debussy:Blocked", "bug"), 0)


def test_existing_label_answers_422_already_exists_and_that_is_fine(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.add_repo(APP, labels={"debussy:in-progress": "1d76db"})

    labels, _ = write(github, lambda c: c.set_debussy_label(ISSUE, "debussy:in-progress", []))

    assert labels == ("debussy:in-progress",)
    assert [(method, path) for method, path, _ in sent(github)] == [
        ("POST", "/repos/octo/app/labels"),
        ("PUT", "/repos/octo/app/issues/12/labels"),
    ]


def test_other_422_on_label_creation_is_an_error(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script(
        "repo_labels",
        httpx.Response(
            422,
            json={
                "message": "Validation Failed",
                "errors": [{"resource": "Label", "code": "invalid", "field": "color"}],
                "documentation_url": "https://docs.github.com",
            },
        ),
    )

    error, requests = write_error(
        github, lambda c: c.set_debussy_label(ISSUE, "debussy:failed", [])
    )

    assert isinstance(error, TrackerServerError)
    assert "refused to create label 'debussy:failed' in octo/app (422): Validation Failed" in str(
        error
    )
    assert requests == 1
    assert github.issue(APP, 12).labels == []


def test_each_label_is_created_once_per_repository_per_client(github: FakeGitHub) -> None:
    for number in (1, 2):
        github.add_issue(APP, number)
    github.add_issue("octo/lib", 3)

    async def label_all(client: GitHubClient) -> None:
        for ref in (GitHubRef(APP, 1), GitHubRef(APP, 2), GitHubRef("octo/lib", 3)):
            await client.set_debussy_label(ref, "debussy:in-progress", [])

    write(github, label_all)

    creations = [
        path for method, path, _ in sent(github) if path.endswith("/labels") and method == "POST"
    ]
    assert creations == ["/repos/octo/app/labels", "/repos/octo/lib/labels"]


def test_a_label_already_on_the_issue_is_not_created_again(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["debussy:failed", "debussy:in-progress"])

    labels, requests = write(
        github,
        lambda c: c.set_debussy_label(
            ISSUE, "debussy:failed", ["debussy:failed", "debussy:in-progress"]
        ),
    )

    assert labels == ("debussy:failed",)
    assert [method for method, _, _ in sent(github)] == ["PUT"]
    assert requests == 1


def test_configured_and_prefixed_labels_all_count_as_debussy_labels(github: FakeGitHub) -> None:
    config = GitHubConfig(labels=GitHubLabels(in_progress="wip", completed="done-by-bot"))
    github.add_issue(APP, 12)

    labels, _ = write(
        github,
        lambda c: c.set_debussy_label(ISSUE, "done-by-bot", ["WIP", "debussy:legacy", "bug"]),
        config=config,
    )

    assert labels == ("bug", "done-by-bot")
    assert sent(github)[0][2] == {"name": "done-by-bot", "color": "0e8a16"}


def test_an_unconfigured_debussy_label_is_created_grey(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)

    write(github, lambda c: c.set_debussy_label(ISSUE, "debussy:reviewing", []))

    assert sent(github)[0][2] == {"name": "debussy:reviewing", "color": "ededed"}


def test_writes_to_an_invalid_reference_send_nothing(github: FakeGitHub) -> None:
    error, requests = write_error(github, lambda c: c.add_comment(GitHubRef("../x", 1), "hi"))

    assert isinstance(error, TrackerNotFoundError)
    assert "../x#1 is not a GitHub issue" in str(error)
    assert requests == 0


def test_no_label_removes_only_debussy_labels(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["bug", "debussy:failed"])

    labels, _ = write(github, lambda c: c.set_debussy_label(ISSUE, None, ["bug", "debussy:failed"]))

    assert labels == ("bug",)
    assert sent(github) == [("PUT", "/repos/octo/app/issues/12/labels", {"labels": ["bug"]})]


def test_removing_the_last_label_uses_delete_because_put_needs_one(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["debussy:failed"])

    labels, _ = write(github, lambda c: c.set_debussy_label(ISSUE, None, ["debussy:failed"]))

    assert labels == ()
    assert github.issue(APP, 12).labels == []
    assert sent(github) == [("DELETE", "/repos/octo/app/issues/12/labels", None)]


def test_put_with_an_empty_label_list_breaks_the_api_description() -> None:
    """Why the client deletes instead: GitHub's description requires at least one label."""
    request = httpx.Request(
        "PUT", "https://api.github.com/repos/octo/app/issues/12/labels", json={"labels": []}
    )

    with pytest.raises(AssertionError, match="does not conform"):
        assert_conforms("github", request)


def test_without_current_labels_they_are_read_first(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, labels=["bug", "debussy:in-progress"])

    labels, _ = write(github, lambda c: c.set_debussy_label(ISSUE, "debussy:completed"))

    assert labels == ("bug", "debussy:completed")
    first = github.calls()[0]
    assert (first.method, first.url.path, first.url.params["per_page"]) == (
        "GET",
        "/repos/octo/app/issues/12/labels",
        "100",
    )


def test_reading_labels_follows_pagination(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    next_page = "https://api.github.com/repos/octo/app/issues/12/labels?per_page=100&page=2"
    github.script(
        "issue_labels",
        httpx.Response(200, json=[{"name": "a"}], headers={"link": f'<{next_page}>; rel="next"'}),
        httpx.Response(200, json=[{"name": "debussy:blocked"}]),
    )

    labels, _ = write(github, lambda c: c.set_debussy_label(ISSUE, "debussy:blocked"))

    assert labels == ("a", "debussy:blocked")
    assert str(github.calls()[1].url) == next_page


def test_a_label_that_is_not_debussys_is_refused(github: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="not a Debussy label"):
        write(github, lambda c: c.set_debussy_label(ISSUE, "bug", []))
    assert github.calls() == []


# --- state and comments -----------------------------------------------------------------


@pytest.mark.parametrize("reason", ["completed", "not_planned"])
def test_close_sends_state_and_reason(github: FakeGitHub, reason: str) -> None:
    github.add_issue(APP, 12)

    write(github, lambda c: c.close_issue(ISSUE, reason))  # type: ignore[arg-type]

    assert sent(github) == [
        ("PATCH", "/repos/octo/app/issues/12", {"state": "closed", "state_reason": reason})
    ]
    assert (github.issue(APP, 12).state, github.issue(APP, 12).state_reason) == ("closed", reason)


def test_reopen_sends_open(github: FakeGitHub) -> None:
    github.add_issue(APP, 12, state="closed", state_reason="completed")

    write(github, lambda c: c.reopen_issue(ISSUE))

    assert sent(github) == [("PATCH", "/repos/octo/app/issues/12", {"state": "open"})]
    assert github.issue(APP, 12).state == "open"


def test_comment_is_posted(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)

    write(github, lambda c: c.add_comment(ISSUE, "Closed by Debussy: run 4 completed."))

    assert github.issue(APP, 12).comments == ["Closed by Debussy: run 4 completed."]
    assert sent(github) == [
        (
            "POST",
            "/repos/octo/app/issues/12/comments",
            {"body": "Closed by Debussy: run 4 completed."},
        )
    ]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(404, json={"message": "Not Found"}), "octo/app#12 not found on GitHub"),
        (httpx.Response(410, json={"message": "Gone"}), "octo/app#12 was deleted on GitHub"),
        (httpx.Response(301, json={"message": "Moved"}), "octo/app#12 was moved to another"),
    ],
)
def test_writes_to_a_gone_issue_name_it(
    github: FakeGitHub, answer: httpx.Response, expected: str
) -> None:
    github.add_issue(APP, 12)
    github.script("issue", answer)

    error, requests = write_error(github, lambda c: c.close_issue(ISSUE, "completed"))

    assert isinstance(error, TrackerNotFoundError)
    assert expected in str(error)
    assert requests == 1


def test_comment_on_a_missing_issue_is_not_found(github: FakeGitHub) -> None:
    error, _ = write_error(github, lambda c: c.add_comment(GitHubRef(APP, 404), "hi"))

    assert isinstance(error, TrackerNotFoundError)
    assert "octo/app#404 not found on GitHub" in str(error)


def test_label_creation_in_a_missing_repository_is_not_found(github: FakeGitHub) -> None:
    error, _ = write_error(
        github, lambda c: c.set_debussy_label(GitHubRef("octo/gone", 1), "debussy:failed", [])
    )

    assert isinstance(error, TrackerNotFoundError)
    assert "octo/gone not found on GitHub" in str(error)


def test_writes_need_a_token_and_say_where_to_put_it(github: FakeGitHub) -> None:
    error, requests = write_error(github, lambda c: c.reopen_issue(ISSUE), token=None)

    assert isinstance(error, TrackerAuthError)
    assert "GITHUB_TOKEN" in str(error)
    assert requests == 0


# --- retries ----------------------------------------------------------------------------


def test_patch_is_retried_after_a_502(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("issue", httpx.Response(502))

    _, requests = write(github, lambda c: c.close_issue(ISSUE, "completed"))

    assert requests == 2
    assert github.issue(APP, 12).state == "closed"


def test_put_labels_is_retried_after_a_timeout(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("issue_labels", httpx.ReadTimeout("read timed out"))

    labels, requests = write(github, lambda c: c.set_debussy_label(ISSUE, None, ["x", "debussy:a"]))

    assert labels == ("x",)
    assert requests == 2


def test_comment_is_not_retried_when_github_may_have_seen_it(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("comments", httpx.Response(502))

    error, requests = write_error(github, lambda c: c.add_comment(ISSUE, "once"))

    assert isinstance(error, TrackerServerError)
    assert requests == 1
    assert github.issue(APP, 12).comments == []


def test_comment_after_a_read_timeout_is_not_retried(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("comments", httpx.ReadTimeout("read timed out"))

    error, requests = write_error(github, lambda c: c.add_comment(ISSUE, "once"))

    assert isinstance(error, TrackerUnavailableError)
    assert requests == 1


def test_comment_is_retried_when_the_connection_never_opened(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("comments", httpx.ConnectError("connection refused"))

    _, requests = write(github, lambda c: c.add_comment(ISSUE, "once"))

    assert requests == 2
    assert github.issue(APP, 12).comments == ["once"]


def test_label_creation_is_retried_because_a_replay_is_harmless(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script("repo_labels", httpx.ReadTimeout("read timed out"), already_exists())

    labels, requests = write(github, lambda c: c.set_debussy_label(ISSUE, "debussy:failed", []))

    assert labels == ("debussy:failed",)
    assert requests == 3


def test_write_hitting_a_secondary_limit_is_retried(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script(
        "comments",
        httpx.Response(
            403,
            json={"message": "You have exceeded a secondary rate limit"},
            headers={"retry-after": "1"},
        ),
    )

    _, requests = write(github, lambda c: c.add_comment(ISSUE, "hello"))

    assert requests == 2
    assert github.issue(APP, 12).comments == ["hello"]


def test_write_refused_for_scope_names_issues_write(github: FakeGitHub) -> None:
    github.add_issue(APP, 12)
    github.script(
        "issue",
        httpx.Response(403, json={"message": "Resource not accessible by personal access token"}),
    )

    error, _ = write_error(github, lambda c: c.close_issue(ISSUE, "completed"))

    assert isinstance(error, TrackerAuthError)
    assert "issues:write" in str(error)


# --- Enterprise -------------------------------------------------------------------------


def test_enterprise_writes_go_under_api_v3() -> None:
    fake = FakeGitHub("https://ghe.example.com/api/v3")
    with fake.running():
        fake.add_issue(APP, 12)

        async def everything(client: GitHubClient) -> None:
            await client.set_debussy_label(ISSUE, "debussy:completed", [])
            await client.close_issue(ISSUE, "completed")
            await client.add_comment(ISSUE, "done")

        write(fake, everything)

        urls = [f"{request.method} {request.url}" for request in fake.calls()]
    assert urls == [
        "POST https://ghe.example.com/api/v3/repos/octo/app/labels",
        "PUT https://ghe.example.com/api/v3/repos/octo/app/issues/12/labels",
        "PATCH https://ghe.example.com/api/v3/repos/octo/app/issues/12",
        "POST https://ghe.example.com/api/v3/repos/octo/app/issues/12/comments",
    ]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>login</html>"),
        httpx.Response(200, json={"name": "not a list"}),
        httpx.Response(200, json=[{"name": None}]),
    ],
)
def test_broken_label_answers_are_bad_responses(github: FakeGitHub, answer: httpx.Response) -> None:
    github.add_issue(APP, 12)
    github.script("issue_labels", answer)

    error, _ = write_error(github, lambda c: c.set_debussy_label(ISSUE, "debussy:failed", None))

    assert isinstance(error, BadResponseError)
    assert github.issue(APP, 12).labels == []
