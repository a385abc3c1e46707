"""GitHub GraphQL behaviour of the sandbox: results, GitHub's error shapes, batching."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.graphql_schema import SCHEMA_FILE
from tests.sandbox.conftest import GITHUB_TOKEN, graphql
from tests.sandbox.cut_graphql_schema import SOURCE_NAME, cut

ISSUE_FIELDS = """
  number state stateReason(enableDuplicate: true) title url updatedAt closedAt
  labels(first: 100) { nodes { name } totalCount pageInfo { hasNextPage endCursor } }
  milestone { title }
"""
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@pytest.fixture
def seeded(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_issue(
        "octo/app", 12, title="Ship it", labels=["debussy:in-progress"], milestone="v1"
    )
    sandbox.add_issue("octo/app", 13, state="closed", state_reason="duplicate")
    return sandbox


def test_found_issue_has_githubs_field_values(seeded: SandboxTracker) -> None:
    query = (
        f'{{ repository(owner: "octo", name: "app") {{ issue(number: 12) {{ {ISSUE_FIELDS} }} }} }}'
    )

    answer = graphql(seeded, query)

    assert answer.status_code == 200
    assert "errors" not in answer.json()
    issue = answer.json()["data"]["repository"]["issue"]
    assert issue["number"] == 12
    assert issue["state"] == "OPEN"
    assert issue["stateReason"] is None
    assert issue["closedAt"] is None
    assert issue["url"] == f"{seeded.url}/octo/app/issues/12"
    assert issue["updatedAt"].endswith("Z")
    assert issue["labels"]["nodes"] == [{"name": "debussy:in-progress"}]
    assert issue["labels"]["totalCount"] == 1
    assert issue["labels"]["pageInfo"]["hasNextPage"] is False
    assert issue["milestone"] == {"title": "v1"}


def test_variables_are_honoured(seeded: SandboxTracker) -> None:
    query = """query($owner: String!, $name: String!, $n: Int!) {
      repository(owner: $owner, name: $name) { issue(number: $n) { title } } }"""

    answer = graphql(seeded, query, {"owner": "octo", "name": "app", "n": 12})

    assert answer.json() == {"data": {"repository": {"issue": {"title": "Ship it"}}}}


@pytest.mark.parametrize(
    ("enable_duplicate", "expected"), [("true", "DUPLICATE"), ("false", "NOT_PLANNED")]
)
def test_duplicate_is_reported_only_when_asked_for(
    seeded: SandboxTracker, enable_duplicate: str, expected: str
) -> None:
    query = (
        '{ repository(owner: "octo", name: "app") { issue(number: 13) '
        f"{{ state closedAt stateReason(enableDuplicate: {enable_duplicate}) }} }} }}"
    )

    issue = graphql(seeded, query).json()["data"]["repository"]["issue"]

    assert issue["state"] == "CLOSED"
    assert issue["closedAt"] is not None
    assert issue["stateReason"] == expected


def test_missing_issue_is_null_with_a_not_found_error(seeded: SandboxTracker) -> None:
    query = '{ repository(owner: "octo", name: "app") { ok: issue(number: 12) { number } gone: issue(number: 999) { number } } }'

    answer = graphql(seeded, query).json()

    assert answer["data"] == {"repository": {"ok": {"number": 12}, "gone": None}}
    assert answer["errors"] == [
        {
            "type": "NOT_FOUND",
            "path": ["repository", "gone"],
            "locations": [{"line": 1, "column": query.index("gone") + 1}],
            "message": "Could not resolve to an Issue with the number of 999.",
        }
    ]


def test_missing_repository_is_null_with_a_not_found_error(seeded: SandboxTracker) -> None:
    query = '{ a: repository(owner: "octo", name: "app") { id } b: repository(owner: "octo", name: "nope") { issue(number: 1) { number } } }'

    answer = graphql(seeded, query).json()

    assert answer["data"]["a"] is not None
    assert answer["data"]["b"] is None
    (error,) = answer["errors"]
    assert error["type"] == "NOT_FOUND"
    assert error["path"] == ["b"]
    assert error["message"] == "Could not resolve to a Repository with the name 'octo/nope'."


@pytest.mark.parametrize(
    "query",
    [
        '{ repository(owner: "octo", name: "app") { nosuchfield } }',
        '{ repository(owner: "octo") { id } }',
        "{ repository(owner: ",
        'mutation { addLabel(name: "x") { id } }',
    ],
    ids=["unknown-field", "missing-argument", "syntax", "mutation"],
)
def test_invalid_queries_answer_200_with_errors_and_no_data(
    seeded: SandboxTracker, query: str
) -> None:
    answer = graphql(seeded, query)

    assert answer.status_code == 200
    body = answer.json()
    assert "data" not in body
    assert body["errors"]
    assert all(error["message"] for error in body["errors"])
    assert all("locations" in error for error in body["errors"])


def test_a_body_without_a_query_is_an_error(seeded: SandboxTracker) -> None:
    answer = httpx.post(
        f"{seeded.url}/api/graphql",
        json={"variables": {}},
        headers={"Authorization": f"bearer {GITHUB_TOKEN}"},
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [{"message": "A query attribute must be specified and must be a string."}]
    }


def test_hundred_aliased_issues_across_two_repos_in_one_request(sandbox: SandboxTracker) -> None:
    for number in range(1, 51):
        sandbox.add_issue("octo/app", number, labels=[f"l{number % 3}"])
        sandbox.add_issue("octo/lib", number, state="closed" if number % 2 else "open")
    app = " ".join(f"i{n}: issue(number: {n}) {{ {ISSUE_FIELDS} }}" for n in range(1, 51))
    lib = " ".join(f"i{n}: issue(number: {n}) {{ {ISSUE_FIELDS} }}" for n in range(1, 51))
    query = (
        f'{{ r0: repository(owner: "octo", name: "app") {{ {app} }} '
        f'r1: repository(owner: "octo", name: "lib") {{ {lib} }} }}'
    )
    sandbox.clear_requests()

    answer = graphql(sandbox, query).json()

    assert "errors" not in answer
    assert sandbox.request_count("github") == 1
    assert sandbox.requests[0].kind == "graphql"
    assert not sandbox.requests[0].is_write
    issues = [*answer["data"]["r0"].values(), *answer["data"]["r1"].values()]
    assert len(issues) == 100
    assert answer["data"]["r0"]["i7"]["labels"]["nodes"] == [{"name": "l1"}]
    assert answer["data"]["r1"]["i7"]["state"] == "CLOSED"
    assert answer["data"]["r1"]["i8"]["state"] == "OPEN"


def test_label_connection_pages_with_cursors(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1, labels=["a", "b", "c"])
    page = '{{ repository(owner: "octo", name: "app") {{ issue(number: 1) {{ labels({args}) {{ nodes {{ name }} pageInfo {{ hasNextPage endCursor }} }} }} }} }}'

    def labels(args: str) -> dict[str, object]:
        answer = graphql(sandbox, page.format(args=args)).json()
        return answer["data"]["repository"]["issue"]["labels"]

    first = labels("first: 2")
    rest = labels(f'first: 2, after: "{first["pageInfo"]["endCursor"]}"')

    assert first["nodes"] == [{"name": "a"}, {"name": "b"}]
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["nodes"] == [{"name": "c"}]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert labels("last: 1, orderBy: {field: NAME, direction: DESC}")["nodes"] == [{"name": "a"}]


@pytest.mark.parametrize(
    ("arguments", "error_type", "message"),
    [
        ("", "MISSING_PAGINATION_BOUNDARIES", "You must provide a `first` or `last` value"),
        ("(first: 101)", "EXCESSIVE_PAGINATION", "Requesting 101 records on the `labels`"),
    ],
)
def test_connections_need_a_page_size_of_at_most_100(
    seeded: SandboxTracker, arguments: str, error_type: str, message: str
) -> None:
    query = f'{{ repository(owner: "octo", name: "app") {{ issue(number: 12) {{ labels{arguments} {{ totalCount }} }} }} }}'

    answer = graphql(seeded, query).json()

    assert answer["data"] is None
    (error,) = answer["errors"]
    assert error["type"] == error_type
    assert error["message"].startswith(message)


def test_rate_limit_reports_the_graphql_window(seeded: SandboxTracker) -> None:
    first = graphql(seeded, "{ rateLimit { limit remaining used cost resetAt } }")
    second = graphql(seeded, "{ rateLimit { limit remaining used cost resetAt } }")

    one, two = first.json()["data"]["rateLimit"], second.json()["data"]["rateLimit"]
    assert one["limit"] == 5000
    assert two["remaining"] == one["remaining"] - 1
    assert two["used"] == one["used"] + 1
    assert second.headers["x-ratelimit-resource"] == "graphql"
    assert second.headers["x-ratelimit-remaining"] == str(two["remaining"])


def test_graphql_needs_a_token(seeded: SandboxTracker) -> None:
    without = graphql(seeded, "{ rateLimit { limit } }", token=None)
    wrong = graphql(seeded, "{ rateLimit { limit } }", token="ghp_wrong")

    assert without.status_code == 401
    assert without.json()["message"] == "This endpoint requires you to be authenticated."
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Bad credentials"


def test_changes_made_by_hand_show_in_the_next_query(seeded: SandboxTracker) -> None:
    query = '{ repository(owner: "octo", name: "app") { issue(number: 12) { state stateReason closedAt labels(first: 10) { nodes { name } } } } }'
    seeded.close_issue("octo/app", 12, reason="not_planned")
    seeded.set_labels("octo/app", 12, ["debussy:failed"])

    issue = graphql(seeded, query).json()["data"]["repository"]["issue"]

    assert issue["state"] == "CLOSED"
    assert issue["stateReason"] == "NOT_PLANNED"
    assert issue["closedAt"] is not None
    assert issue["labels"]["nodes"] == [{"name": "debussy:failed"}]

    seeded.reopen_issue("octo/app", 12)
    issue = graphql(seeded, query).json()["data"]["repository"]["issue"]
    assert (issue["state"], issue["stateReason"], issue["closedAt"]) == ("OPEN", "REOPENED", None)


def test_schema_is_the_committed_cut_of_githubs_schema() -> None:
    """The served SDL equals what the cut script makes from GitHub's published schema."""
    source = REFERENCE / SOURCE_NAME
    if not source.exists():
        pytest.skip(f"GitHub's full schema is not available at {source}")

    assert SCHEMA_FILE.read_text() == cut(source.read_text())
