"""The sandbox's GitHub write side: mutations, pull requests, and the read-then-write hook."""

from __future__ import annotations

from typing import Any

import httpx

from debussy.sandbox import SandboxTracker
from tests.sandbox.conftest import GITHUB_HEADERS as HEADERS
from tests.sandbox.conftest import LOOPBACK


def graphql(sandbox: SandboxTracker, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{sandbox.url}/api/graphql",
        json={"query": query, "variables": variables},
        headers=HEADERS,
        timeout=5,
        verify=LOOPBACK,
    )
    assert response.status_code == 200
    return response.json()


IDS = """query($n: Int!) { repository(owner: "octo", name: "app") {
  id
  label(name: "bug") { id }
  item: issueOrPullRequest(number: $n) {
    __typename ... on Issue { id labels(first: 10) { nodes { id name } } } ... on PullRequest { number }
  }
} }"""


def test_pull_requests_are_not_issues(sandbox: SandboxTracker) -> None:
    sandbox.add_pull_request("octo/app", 5)
    answer = graphql(sandbox, IDS, n=5)
    assert answer["data"]["repository"]["item"] == {"__typename": "PullRequest", "number": 5}
    missing = graphql(
        sandbox, 'query { repository(owner: "octo", name: "app") { issue(number: 5) { id } } }'
    )
    assert missing["errors"][0]["type"] == "NOT_FOUND"
    rest = httpx.get(
        f"{sandbox.github_api_url}/repos/octo/app/issues/5", headers=HEADERS, timeout=5
    )
    assert "pull_request" in rest.json()


def test_label_mutations_add_and_remove_only_what_they_name(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1, labels=["bug", "debussy:failed"])
    repo = graphql(sandbox, IDS, n=1)["data"]["repository"]
    issue = repo["item"]["id"]
    failed = next(n["id"] for n in repo["item"]["labels"]["nodes"] if n["name"] == "debussy:failed")
    created = graphql(
        sandbox,
        "mutation($in: CreateLabelInput!) { createLabel(input: $in) { label { id name } } }",
        **{"in": {"repositoryId": repo["id"], "name": "debussy:completed", "color": "0e8a16"}},
    )["data"]["createLabel"]["label"]
    graphql(
        sandbox,
        "mutation($r: RemoveLabelsFromLabelableInput!, $a: AddLabelsToLabelableInput!) {"
        " r: removeLabelsFromLabelable(input: $r) { clientMutationId }"
        " a: addLabelsToLabelable(input: $a) { clientMutationId } }",
        r={"labelableId": issue, "labelIds": [failed]},
        a={"labelableId": issue, "labelIds": [created["id"]]},
    )
    assert sorted(sandbox.github_issue("octo/app", 1)["labels"]) == ["bug", "debussy:completed"]
    again = graphql(
        sandbox,
        "mutation($in: CreateLabelInput!) { createLabel(input: $in) { label { id } } }",
        **{"in": {"repositoryId": repo["id"], "name": "Debussy:Completed", "color": "0e8a16"}},
    )
    assert again["errors"][0]["type"] == "UNPROCESSABLE"


def test_close_ignores_a_new_reason_on_a_closed_issue_and_reopen_reopens(
    sandbox: SandboxTracker,
) -> None:
    sandbox.add_issue("octo/app", 1, state="closed", state_reason="not_planned")
    issue = graphql(sandbox, IDS, n=1)["data"]["repository"]["item"]["id"]
    close = "mutation($in: CloseIssueInput!) { closeIssue(input: $in) { clientMutationId } }"
    graphql(sandbox, close, **{"in": {"issueId": issue, "stateReason": "COMPLETED"}})
    assert sandbox.github_issue("octo/app", 1)["state_reason"] == "not_planned"
    graphql(
        sandbox,
        "mutation($o: ReopenIssueInput!, $c: CloseIssueInput!) {"
        " o: reopenIssue(input: $o) { clientMutationId } c: closeIssue(input: $c) { clientMutationId } }",
        o={"issueId": issue},
        c={"issueId": issue, "stateReason": "COMPLETED"},
    )
    issue_now = sandbox.github_issue("octo/app", 1)
    assert (issue_now["state"], issue_now["state_reason"]) == ("closed", "completed")


def test_an_unknown_node_id_is_not_found(sandbox: SandboxTracker) -> None:
    sandbox.add_repo("octo/app")
    answer = graphql(
        sandbox,
        "mutation($in: ReopenIssueInput!) { reopenIssue(input: $in) { clientMutationId } }",
        **{"in": {"issueId": "I_nope"}},
    )
    assert answer["data"]["reopenIssue"] is None
    assert answer["errors"][0]["type"] == "NOT_FOUND"


def test_the_hook_runs_once_before_the_first_mutation_only(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1)
    calls: list[int] = []
    sandbox.before_write = lambda tracker: calls.append(len(tracker.requests))
    graphql(sandbox, IDS, n=1)
    assert calls == [], "a query is not a write"
    issue = graphql(sandbox, IDS, n=1)["data"]["repository"]["item"]["id"]
    comment = "mutation($in: AddCommentInput!) { addComment(input: $in) { clientMutationId } }"
    graphql(sandbox, comment, **{"in": {"subjectId": issue, "body": "hi"}})
    graphql(sandbox, comment, **{"in": {"subjectId": issue, "body": "again"}})
    assert calls == [2]
    assert [r.is_write for r in sandbox.requests] == [False, False, True, True]
    assert sandbox.github_issue("octo/app", 1)["comments"] == ["hi", "again"]
