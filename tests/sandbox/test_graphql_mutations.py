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


PULL = """query($n: Int!) { repository(owner: "octo", name: "app") {
  item: issueOrPullRequest(number: $n) {
    __typename ... on PullRequest { prState: state isDraft merged mergedAt closedAt }
  }
} }"""


def test_pull_requests_answer_with_their_merged_state(sandbox: SandboxTracker) -> None:
    for number, state in ((5, "open"), (6, "draft"), (7, "merged"), (8, "closed")):
        sandbox.add_pull_request("octo/app", number, state=state)
    shapes = {n: graphql(sandbox, PULL, n=n)["data"]["repository"]["item"] for n in (5, 6, 7, 8)}
    assert [(s["prState"], s["isDraft"], s["merged"]) for s in shapes.values()] == [
        ("OPEN", False, False),
        ("OPEN", True, False),
        ("MERGED", False, True),
        ("CLOSED", False, False),
    ]
    assert shapes[7]["mergedAt"] == shapes[7]["closedAt"] is not None
    rest = httpx.get(
        f"{sandbox.github_api_url}/repos/octo/app/issues/7", headers=HEADERS, timeout=5
    ).json()
    assert rest["pull_request"]["merged_at"] is not None
    assert rest["state"] == "closed"


SUB = """mutation($in: AddSubIssueInput!) { addSubIssue(input: $in) {
  issue { number subIssuesSummary { completed total } } subIssue { number }
} }"""
NODE = """query($n: Int!) { repository(owner: "octo", name: "app") {
  issue(number: $n) { id parent { number } subIssues(first: 10) { nodes { number } } }
} }"""


def node(sandbox: SandboxTracker, number: int) -> str:
    return graphql(sandbox, NODE, n=number)["data"]["repository"]["issue"]["id"]


def test_sub_issues_follow_githubs_rules(sandbox: SandboxTracker) -> None:
    for number in (1, 2, 3, 4):
        sandbox.add_issue("octo/app", number)
    sandbox.add_issue("acme/tool", 9)
    parent, child = node(sandbox, 1), node(sandbox, 2)

    added = graphql(sandbox, SUB, **{"in": {"issueId": parent, "subIssueId": child}})
    assert added["data"]["addSubIssue"]["issue"]["subIssuesSummary"] == {
        "completed": 0,
        "total": 1,
    }
    second = graphql(sandbox, SUB, **{"in": {"issueId": node(sandbox, 3), "subIssueId": child}})
    assert second["data"]["addSubIssue"] is None
    assert second["errors"][0]["message"] == "Sub issue may only have one parent"
    cycle = graphql(sandbox, SUB, **{"in": {"issueId": child, "subIssueId": parent}})
    assert "ancestor" in cycle["errors"][0]["message"]
    other = graphql(
        sandbox,
        'query { repository(owner: "acme", name: "tool") { issue(number: 9) { id } } }',
    )["data"]["repository"]["issue"]["id"]
    owner = graphql(sandbox, SUB, **{"in": {"issueId": parent, "subIssueId": other}})
    assert "same owner" in owner["errors"][0]["message"]
    moved = graphql(
        sandbox,
        SUB,
        **{"in": {"issueId": node(sandbox, 3), "subIssueId": child, "replaceParent": True}},
    )
    assert moved["data"]["addSubIssue"]["subIssue"] == {"number": 2}
    assert sandbox.sub_issues("octo/app", 3) == ["octo/app#2"]
    graphql(
        sandbox,
        "mutation($in: RemoveSubIssueInput!) { removeSubIssue(input: $in) { clientMutationId } }",
        **{"in": {"issueId": node(sandbox, 3), "subIssueId": child}},
    )
    assert graphql(sandbox, NODE, n=2)["data"]["repository"]["issue"]["parent"] is None


def test_a_parent_takes_at_most_a_hundred_sub_issues(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1)
    for number in range(2, 103):
        sandbox.add_issue("octo/app", number)
    for number in range(2, 102):
        sandbox.add_sub_issue("octo/app", 1, number)
    refused = graphql(
        sandbox, SUB, **{"in": {"issueId": node(sandbox, 1), "subIssueId": node(sandbox, 102)}}
    )
    assert "more than 100 sub-issues" in refused["errors"][0]["message"]


def test_issue_comments_are_readable(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1)
    issue = node(sandbox, 1)
    for body in ("first", "second <!-- debussy:r/1/e -->"):
        graphql(
            sandbox,
            "mutation($in: AddCommentInput!) { addComment(input: $in) { clientMutationId } }",
            **{"in": {"subjectId": issue, "body": body}},
        )
    last = graphql(
        sandbox,
        'query { repository(owner: "octo", name: "app") { issue(number: 1) {'
        " comments(last: 1) { totalCount nodes { body } } } } }",
    )["data"]["repository"]["issue"]["comments"]
    assert last == {"totalCount": 2, "nodes": [{"body": "second <!-- debussy:r/1/e -->"}]}
