"""Every REST answer the sandbox gives validates against the official API descriptions.

Each case sends a real request over HTTP and validates the response (status
documented for the operation, body against its schema) with openapi-core; the
request itself is checked too where it is a valid call, so the cases exercise
the API as clients are allowed to use it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from tests.contract.openapi import assert_conforms
from tests.sandbox.openapi_response import assert_response_conforms

# openapi-core warns about Jira's OAuth2 scheme when it checks an anonymous request.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Phase 2 done"}]}],
}


@pytest.fixture
def seeded(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_issue(
        "octo/app", 12, title="Ship it", labels=["debussy:in-progress", "bug"], milestone="v1"
    )
    sandbox.add_issue("octo/app", 13, state="closed", state_reason="not_planned")
    sandbox.add_pull_request("octo/app", 14)
    sandbox.add_jira_issue("PROJ-1", summary="First", status="In Progress", labels=["backend"])
    sandbox.add_jira_issue("PROJ-2", summary="Second", status="Done")
    return sandbox


ISSUE = "/repos/octo/app/issues"
GITHUB_CASES: list[tuple[str, str, str, dict[str, Any], int, bool]] = [
    # id, method, path, httpx kwargs, expected status, is the request itself valid
    ("get-open", "GET", f"{ISSUE}/12", {}, 200, True),
    ("get-closed", "GET", f"{ISSUE}/13", {}, 200, True),
    ("get-missing-issue", "GET", f"{ISSUE}/999", {}, 404, True),
    ("get-pull-request", "GET", f"{ISSUE}/14", {}, 200, True),
    ("get-missing-repo", "GET", "/repos/octo/nope/issues/1", {}, 404, True),
    ("close", "PATCH", f"{ISSUE}/12", {"json": {"state": "closed", "state_reason": "not_planned"}}, 200, True),
    ("reopen", "PATCH", f"{ISSUE}/13", {"json": {"state": "open"}}, 200, True),
    ("patch-missing", "PATCH", f"{ISSUE}/999", {"json": {"state": "closed"}}, 404, True),
    ("patch-invalid", "PATCH", f"{ISSUE}/12", {"json": {"state": "sideways"}}, 422, False),
    ("list-issue-labels", "GET", f"{ISSUE}/12/labels", {}, 200, True),
    ("list-labels-missing", "GET", f"{ISSUE}/999/labels", {}, 404, True),
    ("add-labels", "POST", f"{ISSUE}/12/labels", {"json": {"labels": ["debussy:failed"]}}, 200, True),
    ("set-labels", "PUT", f"{ISSUE}/12/labels", {"json": {"labels": ["debussy:completed", "new"]}}, 200, True),
    ("set-labels-missing", "PUT", f"{ISSUE}/999/labels", {"json": {"labels": ["x"]}}, 404, True),
    ("clear-labels", "DELETE", f"{ISSUE}/12/labels", {}, 204, True),
    ("remove-label", "DELETE", f"{ISSUE}/12/labels/bug", {}, 200, True),
    ("remove-absent-label", "DELETE", f"{ISSUE}/12/labels/absent", {}, 404, True),
    ("comment", "POST", f"{ISSUE}/12/comments", {"json": {"body": "Done by Debussy"}}, 201, True),
    ("comment-missing", "POST", f"{ISSUE}/999/comments", {"json": {"body": "x"}}, 404, True),
    ("comment-empty", "POST", f"{ISSUE}/12/comments", {"json": {}}, 422, False),
    ("repo-labels", "GET", "/repos/octo/app/labels", {}, 200, True),
    ("repo-labels-missing", "GET", "/repos/octo/nope/labels", {}, 404, True),
    ("create-label", "POST", "/repos/octo/app/labels", {"json": {"name": "debussy:blocked", "color": "fbca04"}}, 201, True),
    ("create-label-exists", "POST", "/repos/octo/app/labels", {"json": {"name": "debussy:in-progress", "color": "1d76db"}}, 422, True),
    ("create-label-repo-missing", "POST", "/repos/octo/nope/labels", {"json": {"name": "x"}}, 404, True),
    ("get-label", "GET", "/repos/octo/app/labels/debussy%3Ain-progress", {}, 200, True),
    ("get-label-missing", "GET", "/repos/octo/app/labels/absent", {}, 404, True),
    ("user", "GET", "/user", {}, 200, True),
    ("rate-limit", "GET", "/rate_limit", {}, 200, True),
    ("user-without-token", "GET", "/user", {"headers": {"Authorization": ""}}, 401, True),
    ("user-bad-token", "GET", "/user", {"headers": {"Authorization": "Bearer nope"}}, 401, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "expected", "valid_request"),
    [case[1:] for case in GITHUB_CASES],
    ids=[case[0] for case in GITHUB_CASES],
)
def test_github_rest_answers_conform(
    seeded: SandboxTracker,
    github: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    expected: int,
    valid_request: bool,
) -> None:
    response = github.request(method, path, **kwargs)

    assert response.status_code == expected, response.text
    assert_response_conforms("github", response, strip_prefix="/api/v3")
    if valid_request:
        assert_conforms("github", response.request, strip_prefix="/api/v3")


def test_github_not_modified_conforms(seeded: SandboxTracker, github: httpx.Client) -> None:
    first = github.get(f"{ISSUE}/12")
    again = github.get(f"{ISSUE}/12", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert_response_conforms("github", again, strip_prefix="/api/v3")


def test_github_issue_with_every_optional_part_conforms(
    sandbox: SandboxTracker, github: httpx.Client
) -> None:
    """A closed duplicate with labels, milestone and comments: the largest issue shape."""
    sandbox.add_issue("octo/app", 1, state="closed", state_reason="duplicate", milestone="v2")
    github.post(f"{ISSUE}/1/comments", json={"body": "dup of #2"})
    github.put(f"{ISSUE}/1/labels", json={"labels": ["duplicate", "debussy:failed"]})

    response = github.get(f"{ISSUE}/1")

    assert response.json()["comments"] == 1
    assert_response_conforms("github", response, strip_prefix="/api/v3")


SEARCH = "/rest/api/3/search/jql"
FIELDS = ["status", "labels", "resolution", "updated", "statuscategorychangedate", "summary"]
JIRA_CASES: list[tuple[str, str, str, dict[str, Any], int, bool]] = [
    ("search", "POST", SEARCH, {"json": {"jql": "key in (PROJ-1, PROJ-2)", "fields": FIELDS, "maxResults": 100}}, 200, True),
    ("search-transitions", "POST", SEARCH, {"json": {"jql": "key in (PROJ-1, PROJ-2)", "fields": FIELDS, "expand": "transitions"}}, 200, True),
    ("search-all-fields", "POST", SEARCH, {"json": {"jql": "key = PROJ-1", "fields": ["*all"]}}, 200, True),
    ("search-get", "GET", SEARCH, {"params": {"jql": "key = PROJ-1", "fields": "status"}}, 200, True),
    ("search-unknown-key", "POST", SEARCH, {"json": {"jql": "key in (PROJ-1, PROJ-999)"}}, 400, True),
    ("search-anonymous", "POST", SEARCH, {"json": {"jql": "key = PROJ-1"}, "auth": None}, 401, True),
    ("issue", "GET", "/rest/api/3/issue/PROJ-1", {}, 200, True),
    ("issue-status-only", "GET", "/rest/api/3/issue/PROJ-1", {"params": {"fields": "status"}}, 200, True),
    ("issue-missing", "GET", "/rest/api/3/issue/PROJ-404", {}, 404, True),
    ("transitions", "GET", "/rest/api/3/issue/PROJ-1/transitions", {}, 200, True),
    ("transitions-missing", "GET", "/rest/api/3/issue/PROJ-404/transitions", {}, 404, True),
    ("transition", "POST", "/rest/api/3/issue/PROJ-1/transitions", {"json": {"transition": {"id": "41"}}}, 204, True),
    ("transition-invalid", "POST", "/rest/api/3/issue/PROJ-1/transitions", {"json": {"transition": {"id": "61"}}}, 400, True),
    ("transition-missing", "POST", "/rest/api/3/issue/PROJ-404/transitions", {"json": {"transition": {"id": "41"}}}, 404, True),
    ("comment", "POST", "/rest/api/3/issue/PROJ-1/comment", {"json": {"body": ADF}}, 201, True),
    ("comment-not-adf", "POST", "/rest/api/3/issue/PROJ-1/comment", {"json": {"body": "plain"}}, 400, True),
    ("comment-missing", "POST", "/rest/api/3/issue/PROJ-404/comment", {"json": {"body": ADF}}, 404, True),
    ("myself", "GET", "/rest/api/3/myself", {}, 200, True),
    ("myself-anonymous", "GET", "/rest/api/3/myself", {"auth": None}, 401, True),
    ("server-info", "GET", "/rest/api/3/serverInfo", {"auth": None}, 200, True),
    ("statuses", "GET", "/rest/api/3/status", {}, 200, True),
    ("status-categories", "GET", "/rest/api/3/statuscategory", {}, 200, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "expected", "valid_request"),
    [case[1:] for case in JIRA_CASES],
    ids=[case[0] for case in JIRA_CASES],
)
def test_jira_cloud_answers_conform(
    seeded: SandboxTracker,
    jira: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    expected: int,
    valid_request: bool,
) -> None:
    if kwargs.get("auth", "set") is None:
        kwargs = {k: v for k, v in kwargs.items() if k != "auth"}
        response = httpx.request(method, seeded.jira_url + path, **kwargs)
    else:
        response = jira.request(method, path, **kwargs)

    assert response.status_code == expected, response.text
    assert_response_conforms("jira", response)
    if valid_request:
        assert_conforms("jira", response.request)


def test_conformance_check_rejects_a_wrong_body(
    seeded: SandboxTracker, github: httpx.Client
) -> None:
    """The validator is live: an issue without its required ``number`` fails it."""
    response = github.get(f"{ISSUE}/12")
    broken = response.json()
    del broken["number"]
    forged = httpx.Response(
        200, json=broken, headers={"content-type": "application/json"}, request=response.request
    )

    with pytest.raises(AssertionError, match="does not conform"):
        assert_response_conforms("github", forged, strip_prefix="/api/v3")
