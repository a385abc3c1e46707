"""GitHub writes against the sandbox over loopback HTTP: batched GraphQL mutations, paced.

What is pinned here: labels are only added or removed (never the set replaced),
missing labels are created once per repository, ``ceil(n / 50)`` mutation
requests, one mutating request at a time with the pacing asked for between them,
pull requests never written, the REST fallback keeping the same semantics, and
failures (rate limit, no token) coming back as results, not exceptions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from debussy.config import GitHubConfig
from debussy.errors import BadResponseError
from debussy.issues import GitHubRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.github.client import GitHubClient
from debussy.sync.trackers.github.mutations import parse_write_batch
from debussy.sync.trackers.github.query import plan_batches
from debussy.sync.trackers.writes import TrackerWrite, WriteResult

TOKEN = "sandbox-github-token"


def config(sandbox: SandboxTracker) -> GitHubConfig:
    return GitHubConfig(api_url=sandbox.github_api_url)


def label(ref: GitHubRef, add: str | None, *remove: str) -> TrackerWrite:
    return TrackerWrite(
        ref, f"GH-{ref.number}", "1", "set_label", add, add=(add,) if add else (), remove=remove
    )


def act(ref: GitHubRef, action: str, value: str | None = None) -> TrackerWrite:
    return TrackerWrite(ref, f"GH-{ref.number}", "1", action, value)  # type: ignore[arg-type]


def converge(
    sandbox: SandboxTracker,
    refs: list[GitHubRef],
    writes: Callable[[], list[TrackerWrite]],
    *,
    token: str | None = TOKEN,
    setup: Callable[[GitHubClient], None] = lambda client: None,
) -> list[WriteResult]:
    """Read ``refs`` for writing, then apply ``writes()`` with one client."""

    async def main() -> list[WriteResult]:
        async with GitHubClient(config(sandbox), token=token) as client:
            setup(client)
            await client.read_for_writes(refs)
            return await client.apply_writes(writes())

    return asyncio.run(main())


def mutation_bodies(sandbox: SandboxTracker) -> list[dict[str, Any]]:
    return [r.json() for r in sandbox.requests if r.kind == "graphql" and r.is_write]


APP = "octo/app"
ISSUE = GitHubRef(APP, 12)


def test_the_read_learns_ids_and_pull_requests_in_one_request(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12, labels=["bug"])
    sandbox.add_pull_request(APP, 13)

    async def main() -> tuple[Any, set[GitHubRef]]:
        async with GitHubClient(config(sandbox), token=TOKEN) as client:
            return await client.read_for_writes([ISSUE, GitHubRef(APP, 13), GitHubRef(APP, 99)])

    statuses, pulls = asyncio.run(main())
    assert pulls == {GitHubRef(APP, 13)}
    assert statuses[ISSUE].labels == ("bug",)
    assert statuses[GitHubRef(APP, 99)].missing
    assert sandbox.request_count() == 1


def test_labels_are_added_and_removed_and_the_others_stay(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12, labels=["bug", "debussy:failed"])
    [result] = converge(
        sandbox, [ISSUE], lambda: [label(ISSUE, "debussy:in-progress", "debussy:failed")]
    )
    assert result.outcome == "applied"
    assert sorted(sandbox.github_issue(APP, 12)["labels"]) == ["bug", "debussy:in-progress"]
    [create, write] = mutation_bodies(sandbox)
    assert "createLabel" in create["query"], "the missing label was created first"
    assert "removeLabelsFromLabelable" in write["query"]
    assert "addLabelsToLabelable" in write["query"]
    assert all(r.method != "PUT" for r in sandbox.requests)


def test_created_labels_get_their_configured_colour(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12)
    converge(sandbox, [ISSUE], lambda: [label(ISSUE, "debussy:in-progress")])
    answer = httpx.get(
        f"{sandbox.github_api_url}/repos/{APP}/labels/debussy:in-progress",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    assert answer["color"] == "1d76db"


def test_an_existing_repository_label_is_not_created_again(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12)
    sandbox.add_issue(APP, 13, labels=["debussy:completed"])
    sandbox.set_labels(APP, 13, [])  # the label stays in the repository, on no issue
    converge(sandbox, [ISSUE], lambda: [label(ISSUE, "debussy:completed")])
    assert ["createLabel" in body["query"] for body in mutation_bodies(sandbox)] == [False]
    assert sandbox.github_issue(APP, 12)["labels"] == ["debussy:completed"]


def test_fifty_issues_share_a_mutation_request(sandbox: SandboxTracker) -> None:
    refs = [GitHubRef(APP, n) for n in range(1, 121)]
    for ref in refs:
        sandbox.add_issue(APP, ref.number)
    sandbox.clear_requests()
    results = converge(sandbox, refs, lambda: [label(ref, "debussy:in-progress") for ref in refs])
    assert {r.outcome for r in results} == {"applied"}
    bodies = mutation_bodies(sandbox)
    assert len(bodies) == 1 + 3, "one createLabel, then ceil(120 / 50) requests"
    assert sandbox.request_count() == 2 + 4, "two reads (100 + 20 issues) before"


@pytest.mark.parametrize(
    ("configured", "expected_pause"),
    [(None, 1.0), (0.25, 0.25)],
    ids=["github-documented-second", "write_interval_seconds"],
)
def test_mutating_requests_are_never_concurrent_and_pacing_is_asked_for(
    sandbox: SandboxTracker,
    monkeypatch: pytest.MonkeyPatch,
    configured: float | None,
    expected_pause: float,
) -> None:
    # The suite turns the default pause off for in-process tests; this one is about it.
    monkeypatch.setattr("debussy.sync.trackers.github.client.MUTATION_INTERVAL", 1.0)
    refs = [GitHubRef(APP, n) for n in range(1, 121)]
    for ref in refs:
        sandbox.add_issue(APP, ref.number)
    in_flight = 0
    most = 0
    sleeps: list[float] = []
    now = [1000.0]

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self._inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, most
            writing = b"mutation" in request.content[:40]
            in_flight += writing
            most = max(most, in_flight)
            try:
                await asyncio.sleep(0)  # give a concurrent sender its chance
                return await self._inner.handle_async_request(request)
            finally:
                in_flight -= writing

        async def aclose(self) -> None:
            await self._inner.aclose()

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    async def main() -> list[WriteResult]:
        settings = config(sandbox).model_copy(update={"write_interval_seconds": configured})
        client = GitHubClient(settings, token=TOKEN, transport=Counting())
        client.sleep = fake_sleep
        client.clock = lambda: now[0]
        async with client:
            await client.read_for_writes(refs)
            writes = [label(ref, "debussy:in-progress") for ref in refs]
            return await client.apply_writes(writes)

    results = asyncio.run(main())
    assert {r.outcome for r in results} == {"applied"}
    assert most == 1, "one mutating request at a time"
    assert sleeps == [expected_pause] * 3, "each request after the first waits the full pause"


def test_a_pull_request_is_never_written(sandbox: SandboxTracker) -> None:
    sandbox.add_pull_request(APP, 13)
    pull = GitHubRef(APP, 13)
    [result] = converge(sandbox, [pull], lambda: [label(pull, "debussy:in-progress")])
    assert result.outcome == "refused"
    assert "pull request" in (result.detail or "")
    assert mutation_bodies(sandbox) == []


def test_close_reopen_and_comment_go_in_order_in_one_request(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12, state="closed", state_reason="not_planned")
    results = converge(
        sandbox,
        [ISSUE],
        lambda: [
            act(ISSUE, "reopen"),
            act(ISSUE, "comment", "Done."),
            act(ISSUE, "close", "completed"),
        ],
    )
    assert [r.outcome for r in results] == ["applied", "applied", "applied"]
    issue = sandbox.github_issue(APP, 12)
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert issue["comments"] == ["Done."]
    assert len(mutation_bodies(sandbox)) == 1


def test_closing_a_closed_issue_with_another_reason_changes_nothing(
    sandbox: SandboxTracker,
) -> None:
    """Why a reason change is reopen-then-close: GitHub ignores the reason on a closed issue."""
    sandbox.add_issue(APP, 12, state="closed", state_reason="not_planned")
    converge(sandbox, [ISSUE], lambda: [act(ISSUE, "close", "completed")])
    assert sandbox.github_issue(APP, 12)["state_reason"] == "not_planned"


def test_a_secondary_rate_limit_stops_the_writes_and_says_when(sandbox: SandboxTracker) -> None:
    refs = [GitHubRef(APP, n) for n in range(1, 121)]
    for ref in refs:
        sandbox.add_issue(APP, ref.number, labels=["debussy:failed"])

    def limited(tracker: SandboxTracker) -> None:
        tracker.inject(
            platform="github",
            path="/api/graphql",
            status=403,
            headers={"retry-after": "120"},
            body=json.dumps({"message": "You have exceeded a secondary rate limit."}),
        )

    sandbox.before_write = limited
    results = converge(sandbox, refs, lambda: [label(ref, None, "debussy:failed") for ref in refs])
    assert [r.outcome for r in results].count("refused") == 50, "the first request's writes"
    assert [r.outcome for r in results].count("skipped") == 70, "the rest were not sent"
    assert "UTC" in (results[-1].detail or ""), "names when to try again"
    assert len(mutation_bodies(sandbox)) == 1


def test_writes_without_a_token_fail_naming_the_variable(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12)
    [result] = converge(sandbox, [ISSUE], lambda: [label(ISSUE, "debussy:failed")], token="")
    assert result.outcome == "skipped"
    assert "GITHUB_TOKEN" in (result.detail or "")
    assert sandbox.request_count(writes_only=True) == 0


def test_without_the_mutations_writes_fall_back_to_rest_add_and_remove(
    sandbox: SandboxTracker,
) -> None:
    """An older GitHub Enterprise: same semantics over REST, one label at a time."""
    sandbox.add_issue(APP, 12, labels=["bug", "debussy:failed"])

    def old_server(tracker: SandboxTracker) -> None:
        message = "Field 'createLabel' doesn't exist on type 'Mutation'"
        tracker.inject(
            platform="github",
            path="/api/graphql",
            status=200,
            body=json.dumps({"errors": [{"message": message}]}),
        )

    sandbox.before_write = old_server
    results = converge(
        sandbox,
        [ISSUE],
        lambda: [
            label(ISSUE, "debussy:completed", "debussy:failed"),
            act(ISSUE, "close", "completed"),
        ],
    )
    assert [r.outcome for r in results] == ["applied", "applied"]
    issue = sandbox.github_issue(APP, 12)
    assert sorted(issue["labels"]) == ["bug", "debussy:completed"]
    assert issue["state"] == "closed"
    rest = [(r.method, r.path) for r in sandbox.requests if r.kind == "rest"]
    assert rest == [
        ("DELETE", "/api/v3/repos/octo/app/issues/12/labels/debussy%3Afailed"),
        ("POST", "/api/v3/repos/octo/app/issues/12/labels"),
        ("PATCH", "/api/v3/repos/octo/app/issues/12"),
    ]


@pytest.mark.parametrize("reason", ["completed", "not_planned"])
def test_rest_close_sends_state_and_reason(sandbox: SandboxTracker, reason: str) -> None:
    sandbox.add_issue(APP, 12)

    async def main() -> None:
        async with GitHubClient(config(sandbox), token=TOKEN) as client:
            await client.close_issue(ISSUE, reason)  # type: ignore[arg-type]

    asyncio.run(main())
    issue = sandbox.github_issue(APP, 12)
    assert (issue["state"], issue["state_reason"]) == ("closed", reason)


def test_rest_label_change_removes_singly_and_never_puts(sandbox: SandboxTracker) -> None:
    sandbox.add_issue(APP, 12, labels=["bug", "debussy:failed"])

    async def main() -> tuple[str, ...]:
        async with GitHubClient(config(sandbox), token=TOKEN) as client:
            return await client.set_debussy_label(ISSUE, "debussy:completed")

    assert sorted(asyncio.run(main())) == ["bug", "debussy:completed"]
    methods = [r.method for r in sandbox.requests]
    assert methods == ["GET", "DELETE", "POST"]


@pytest.mark.parametrize(
    ("ids", "described"),
    [
        (
            {"labels": {"nodes": [{"id": 5, "name": "bug"}]}},
            "'labels.nodes.0.id': expected a string",
        ),
        ({"labels": {"nodes": [{"id": "L1"}]}}, "'labels.nodes.0.name': field required"),
        ({"__typename": None}, "'__typename': expected a string, got null"),
    ],
)
def test_node_ids_of_the_wrong_shape_are_a_bad_response(
    ids: dict[str, Any], described: str
) -> None:
    """The write read's ids go through the same strict conversion and wording as statuses."""
    node = {
        "__typename": "Issue",
        "id": "I_12",
        "state": "OPEN",
        "stateReason": None,
        "title": "t",
        "url": "https://github.com/octo/app/issues/12",
        "updatedAt": "2026-11-27T10:00:00Z",
        "closedAt": None,
        "labels": {"nodes": []},
        "milestone": None,
        **ids,
    }
    (batch,) = plan_batches([ISSUE])
    payload = {"data": {"r0": {"id": "R_1", "i12": node}}}

    with pytest.raises(BadResponseError) as caught:
        parse_write_batch(batch, [], payload)

    assert str(caught.value).startswith(f"GitHub sent issue octo/app#12 with a bad {described}")
