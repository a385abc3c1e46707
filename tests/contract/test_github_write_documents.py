"""The convergence read and the write mutations are valid against GitHub's real schema.

Same subset as the read query (``tests/fixtures/reference/github-graphql.subset.graphql``,
cut verbatim from GitHub's published SDL), variables coerced too: a mutation input
GitHub would refuse (a wrong enum, a missing id) fails here, not on a user's issues.
"""

from __future__ import annotations

from typing import Any

import pytest

from debussy.issues import GitHubRef
from debussy.sync.trackers.github import mutations
from debussy.sync.trackers.github.mutations import build_mutation, build_write_query
from debussy.sync.trackers.github.query import GraphQLRequest, plan_batches
from tests.contract.test_github_graphql_schema import problems

LABELS = ("debussy:in-progress", "debussy:completed", "debussy:failed", "debussy:blocked")


def as_request(body: dict[str, Any]) -> GraphQLRequest:
    return GraphQLRequest(query=body["query"], variables=body["variables"])


@pytest.mark.parametrize("enable_duplicate", [True, False])
def test_the_write_read_is_valid(enable_duplicate: bool) -> None:
    refs = [GitHubRef("octo/app", n) for n in range(1, 60)] + [GitHubRef("acme/tool", 3)]
    (batch,) = plan_batches(refs)
    request = build_write_query(batch, LABELS, enable_duplicate=enable_duplicate)
    assert "issueOrPullRequest(number: 59)" in request.query
    assert problems(request) == []


def test_every_mutation_with_its_variables_is_valid() -> None:
    body = build_mutation(
        [
            mutations.remove_labels("w0r", "I_1", ["LA_1", "LA_2"]),
            mutations.add_labels("w0a", "I_1", ["LA_3"]),
            mutations.reopen_issue("w1", "I_1"),
            mutations.close_issue("w2", "I_1", "not_planned"),
            mutations.add_comment("w3", "I_1", 'Closed by "Debussy" } { injection'),
            mutations.create_label("c0", "R_1", "debussy:failed", "d73a4a"),
        ]
    )
    assert "injection" not in body["query"], "user text travels as variables only"
    assert problems(as_request(body)) == []


def test_a_close_reason_github_does_not_know_is_refused() -> None:
    body = build_mutation([mutations.close_issue("w0", "I_1", "finished")])
    assert problems(as_request(body)) != []


@pytest.mark.parametrize("structure", [True, False])
@pytest.mark.parametrize("comments", [True, False])
def test_the_write_read_with_structure_and_comments_is_valid(
    structure: bool, comments: bool
) -> None:
    """Sub-issue fields and marker comments (issue 23) keep the write read valid."""
    refs = [GitHubRef("octo/app", n) for n in range(1, 30)] + [GitHubRef("octo/lib", 7)]
    (batch,) = plan_batches(refs)
    request = build_write_query(batch, LABELS, structure=structure, comments=comments)
    assert ("subIssuesSummary" in request.query) is structure
    assert ("comments(last: 100)" in request.query) is comments
    assert problems(request) == []


def test_sub_issue_mutations_are_valid_and_never_replace_a_parent() -> None:
    body = build_mutation(
        [
            mutations.add_sub_issue("w0", "I_parent", "I_child"),
            mutations.remove_sub_issue("w1", "I_parent", "I_other"),
        ]
    )
    assert problems(as_request(body)) == []
    assert "replaceParent" not in str(body), "an issue under another parent stays there"
    assert body["variables"]["w0"] == {"issueId": "I_parent", "subIssueId": "I_child"}
