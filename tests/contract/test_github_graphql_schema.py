"""The GraphQL documents GitHubClient sends are valid against GitHub's real schema.

Checked against ``tests/fixtures/reference/github-graphql.subset.graphql``, cut
from GitHub's published SDL by ``cut_graphql.py`` next to it (definitions copied
verbatim). When the full SDL is present (``../shared/reference``), the committed
subset must also be exactly what the script produces from it today.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    assert_valid_schema,
    build_schema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from debussy.issues import GitHubRef
from debussy.sync.trackers.github.query import (
    MAX_ISSUES_PER_QUERY,
    GraphQLRequest,
    build_query,
    plan_batches,
)
from tests.fixtures.reference import cut_graphql

SUBSET = cut_graphql.TARGET
FULL_SCHEMA = Path(__file__).parents[2].parent / "shared" / "reference" / cut_graphql.SOURCE_NAME


@functools.cache
def schema() -> GraphQLSchema:
    built = build_schema(SUBSET.read_text())
    assert_valid_schema(built)
    return built


def problems(request: GraphQLRequest) -> list[str]:
    """Validation errors of the document plus errors coercing its variables."""
    document = parse(request.query)
    found = [error.message for error in validate(schema(), document)]
    if found:
        return found
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    coerced: Any = get_variable_values(
        schema(), operation.variable_definitions or [], request.variables
    )
    return [error.message for error in coerced] if isinstance(coerced, list) else []


def only_query(refs: list[GitHubRef], **options: bool) -> GraphQLRequest:
    (batch,) = plan_batches(refs)
    return build_query(batch, **options)


@pytest.mark.parametrize("enable_duplicate", [True, False])
def test_one_repository_query_is_valid(enable_duplicate: bool) -> None:
    request = only_query([GitHubRef("octo/app", 12)], enable_duplicate=enable_duplicate)

    assert problems(request) == []


@pytest.mark.parametrize("structure", [True, False])
def test_the_read_of_pull_requests_and_sub_issues_is_valid(structure: bool) -> None:
    """``issueOrPullRequest`` with both fragments; the PR's ``state`` needs its alias."""
    request = only_query([GitHubRef("octo/app", 12)], structure=structure)

    assert "prState: state" in request.query
    assert problems(request) == []
    unaliased = request.query.replace("prState: state", "state")
    assert any("conflict" in problem for problem in problems(GraphQLRequest(unaliased, {})))


def test_several_repositories_in_one_query_are_valid() -> None:
    refs = [GitHubRef("octo/app", 1), GitHubRef("octo/app", 2), GitHubRef("acme/tool.py", 3)]
    request = only_query(refs)

    assert request.query.count("repository(") == 2
    assert problems(request) == []


def test_a_full_batch_of_100_issues_is_one_valid_query() -> None:
    refs = [GitHubRef(f"org{n % 3}/repo-{n % 3}", n) for n in range(1, MAX_ISSUES_PER_QUERY + 1)]
    request = only_query(refs)

    assert request.query.count("issueOrPullRequest(number:") == 100
    assert problems(request) == []


def test_odd_repository_names_travel_as_variables_not_in_the_document() -> None:
    request = only_query([GitHubRef("my-org/we.ird_name-1", 1)])

    assert "we.ird_name-1" not in request.query
    assert request.variables == {"owner0": "my-org", "name0": "we.ird_name-1"}
    assert problems(request) == []


@pytest.mark.parametrize(
    ("original", "broken", "expected"),
    [
        ("milestone { title }", "milestone { titel }", "Cannot query field 'titel'"),
        ("  closedAt\n", "  closedOn\n", "Cannot query field 'closedOn'"),
        ("enableDuplicate: true", "enableDuplicates: true", "Unknown argument 'enableDuplicates'"),
        ("labels(first: 100)", 'labels(first: "100")', "Int cannot represent"),
    ],
)
def test_a_wrong_query_fails_validation(original: str, broken: str, expected: str) -> None:
    request = only_query([GitHubRef("octo/app", 12)])
    assert original in request.query
    wrong = GraphQLRequest(request.query.replace(original, broken), request.variables)

    found = problems(wrong)

    assert any(expected in message for message in found), found


def test_a_variable_of_the_wrong_type_fails_validation() -> None:
    request = only_query([GitHubRef("octo/app", 12)])
    wrong = GraphQLRequest(request.query, {**request.variables, "owner0": 7})  # type: ignore[dict-item]

    assert problems(wrong)


@pytest.mark.skipif(not FULL_SCHEMA.exists(), reason="full GitHub SDL not available")
def test_committed_subset_is_what_the_script_cuts_from_the_full_schema() -> None:
    assert cut_graphql.cut(FULL_SCHEMA.read_text()) == SUBSET.read_text()
