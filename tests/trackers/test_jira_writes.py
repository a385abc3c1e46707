"""Jira writes against the sandbox over loopback HTTP.

One search with ``expand=transitions`` gives every issue's status and the moves
it offers; then one ``POST .../transitions`` per issue that must move, by the id
the search offered. Failures come back as results naming the issue and Jira's
reason; a rate limit stops the writes not yet sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from debussy.config import JiraConfig
from debussy.issues import JiraRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.jira.client import JiraClient
from debussy.sync.trackers.writes import IssueView, TrackerWrite, WriteResult


def client(sandbox: SandboxTracker, deployment: str = "cloud") -> JiraClient:
    config = JiraConfig(url=sandbox.jira_url, deployment=deployment)  # type: ignore[arg-type]
    return JiraClient(config, email="demo@example.com", token="sandbox-jira-token")


def read(sandbox: SandboxTracker, refs: list[JiraRef], deployment: str = "cloud") -> Any:
    async def main() -> dict[JiraRef, IssueView]:
        async with client(sandbox, deployment) as jira:
            return await jira.read_for_writes(refs)

    return asyncio.run(main())


def apply(sandbox: SandboxTracker, writes: list[TrackerWrite]) -> list[WriteResult]:
    async def main() -> list[WriteResult]:
        async with client(sandbox) as jira:
            return await jira.apply_writes(writes)

    return asyncio.run(main())


def move(key: str, status: str, transition_id: str | None) -> TrackerWrite:
    return TrackerWrite(JiraRef(key), key, "1", "transition", status, target_id=transition_id)


@pytest.mark.parametrize("deployment", ["cloud", "server"])
def test_one_search_gives_status_and_available_transitions(
    sandbox: SandboxTracker, deployment: str
) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.add_jira_issue("PROJ-2", status="Done")
    views = read(sandbox, [JiraRef("PROJ-1"), JiraRef("PROJ-2"), JiraRef("PROJ-404")], deployment)
    todo, done = views[JiraRef("PROJ-1")], views[JiraRef("PROJ-2")]
    assert todo.status.status_category == "new"
    assert {t.to_name for t in todo.transitions} == {"In Progress", "Done", "Won't Do"}
    assert [(t.id, t.to_name, t.to_category) for t in done.transitions] == [("61", "To Do", "new")]
    assert views[JiraRef("PROJ-404")].status.missing, "an unknown key is missing, not an error"
    searches = [r for r in sandbox.requests if r.kind == "search"]
    assert len(sandbox.requests) == 1 + 1, "the search, then again without the unknown key"
    assert len(searches) == 2
    expand = searches[-1].json()["expand"]
    assert expand == ("transitions" if deployment == "cloud" else ["transitions"])


def test_250_issues_are_read_in_three_searches(sandbox: SandboxTracker) -> None:
    refs = [JiraRef(f"PROJ-{n}") for n in range(1, 251)]
    for ref in refs:
        sandbox.add_jira_issue(ref.key)
    views = read(sandbox, refs)
    assert all(view.transitions for view in views.values())
    assert sandbox.request_count() == 3


def test_each_move_is_one_post_by_the_offered_id(sandbox: SandboxTracker) -> None:
    for key in ("PROJ-1", "PROJ-2"):
        sandbox.add_jira_issue(key)
    results = apply(sandbox, [move("PROJ-1", "In Progress", "21"), move("PROJ-2", "Done", "41")])
    assert [r.outcome for r in results] == ["applied", "applied"]
    assert sandbox.jira_issue("PROJ-1")["status"] == "In Progress"
    assert sandbox.jira_issue("PROJ-2")["status"] == "Done"
    assert sorted((r.method, r.path) for r in sandbox.requests) == [
        ("POST", "/rest/api/3/issue/PROJ-1/transitions"),
        ("POST", "/rest/api/3/issue/PROJ-2/transitions"),
    ], "no GET of the issue or its transitions: the convergence read had them"


def test_a_refused_move_is_an_error_result_with_jiras_reason(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1", status="Done")
    sandbox.add_jira_issue("PROJ-2")
    results = apply(sandbox, [move("PROJ-1", "In Progress", "21"), move("PROJ-2", "Done", "41")])
    assert results[0].outcome == "refused"
    assert "PROJ-1" in (results[0].detail or "")
    assert "not valid" in (results[0].detail or "")
    assert results[1].outcome == "applied", "one refusal does not stop the others"


def test_an_unknown_issue_is_an_error_naming_it(sandbox: SandboxTracker) -> None:
    [result] = apply(sandbox, [move("PROJ-404", "Done", "41")])
    assert result.outcome == "refused"
    assert "PROJ-404" in (result.detail or "")


def test_a_rate_limit_stops_the_writes_not_yet_sent(sandbox: SandboxTracker) -> None:
    keys = [f"PROJ-{n}" for n in range(1, 11)]
    for key in keys:
        sandbox.add_jira_issue(key)
    sandbox.inject(platform="jira", status=429, headers={"retry-after": "600"}, times=100)
    results = apply(sandbox, [move(key, "Done", "41") for key in keys])
    outcomes = [r.outcome for r in results]
    assert "skipped" in outcomes
    assert "applied" not in outcomes
    assert sandbox.request_count() < len(keys), "stopped before sending them all"
    assert all(sandbox.jira_issue(key)["status"] == "To Do" for key in keys)


def test_a_key_that_is_not_an_issue_key_never_reaches_a_url(sandbox: SandboxTracker) -> None:
    [result] = apply(sandbox, [move("../../myself", "Done", "41")])
    assert result.outcome == "refused"
    assert sandbox.request_count() == 0


def test_a_cloud_comment_is_an_atlassian_document(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-3")
    write = TrackerWrite(JiraRef("PROJ-3"), "PROJ-3", "1", "comment", "Done.\nAll green.\n\nBye")
    [result] = apply(sandbox, [write])
    assert result.outcome == "applied"
    [request] = sandbox.requests
    body = request.json()["body"]
    assert body["type"] == "doc"
    assert [p["type"] for p in body["content"]] == ["paragraph", "paragraph"]
