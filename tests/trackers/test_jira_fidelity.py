"""What real Jira Cloud does that the plain sandbox did not (issue #15, cases 1-5).

Each case is switched on in the sandbox tracker (a scene option or a fault) and
driven through the real ``JiraClient`` over loopback HTTP, then through the
``debussy`` commands, asserting what the user sees: the dashboard row, the JSON
field, the error line and the exit code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from debussy.config import JiraConfig
from debussy.errors import TrackerAuthError, TransitionError
from debussy.issues import IssueStatus, JiraRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.jira.client import JiraClient
from tests.sandbox_project import SandboxProject

T = TypeVar("T")
EMAIL = "demo@example.com"
TOKEN = "sandbox-jira-token"
SCOPED = "scoped-sandbox-token"


def run(awaitable: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await awaitable

    return asyncio.run(wrapper())


def client(sandbox: SandboxTracker, token: str = TOKEN, **config: Any) -> JiraClient:
    return JiraClient(JiraConfig(url=sandbox.jira_url, **config), email=EMAIL, token=token)


async def fetch(jira: JiraClient, *keys: str, **options: Any) -> dict[JiraRef, IssueStatus]:
    async with jira:
        return await jira.fetch_issues([JiraRef(key) for key in keys], **options)


def set_jira_config(project: SandboxProject, *extra: str) -> None:
    """Add lines under ``jira:`` of the project's config."""
    path = project.root / ".debussy" / "config.yaml"
    lines = path.read_text().splitlines()
    at = lines.index("jira:") + 1
    path.write_text("\n".join([*lines[:at], *extra, *lines[at:]]) + "\n")


def dashboard_json(project: SandboxProject) -> tuple[int, dict[str, Any], str]:
    result = project.run("status", "--issues", "--json", "--refresh")
    return result.exit_code, json.loads(result.stdout), result.stderr


def jira_rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in document["issues"] if row["platform"] == "jira"}


# --- 1. moved issues ------------------------------------------------------------------------


def test_a_moved_issue_is_read_under_its_old_key_with_its_new_one(
    sandbox: SandboxTracker,
) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.add_jira_issue("PROJ-2")
    sandbox.move_jira_issue_to_project("PROJ-1", "NEW-5")
    sandbox.clear_requests()

    statuses = run(fetch(client(sandbox), "PROJ-1", "PROJ-2"))

    moved = statuses[JiraRef("PROJ-1")]
    assert not moved.missing
    assert (moved.id, moved.moved_to, moved.state) == ("PROJ-1", "NEW-5", "In Progress")
    assert moved.url == f"{sandbox.jira_url}/browse/NEW-5"
    assert statuses[JiraRef("PROJ-2")].moved_to is None
    # One search, then one look-up of the key that came back under another name.
    assert [r.kind for r in sandbox.requests] == ["search", "rest"]


def test_several_moves_and_a_deleted_key_in_one_read(sandbox: SandboxTracker) -> None:
    for key in ("PROJ-1", "PROJ-2", "PROJ-3"):
        sandbox.add_jira_issue(key)
    sandbox.move_jira_issue_to_project("PROJ-1", "OPS-1")
    sandbox.move_jira_issue_to_project("PROJ-2", "OPS-2")
    sandbox.clear_requests()

    statuses = run(fetch(client(sandbox), "PROJ-1", "PROJ-2", "PROJ-3", "PROJ-404"))

    assert {ref.key: status.moved_to for ref, status in statuses.items()} == {
        "PROJ-1": "OPS-1",
        "PROJ-2": "OPS-2",
        "PROJ-3": None,
        "PROJ-404": None,
    }
    assert statuses[JiraRef("PROJ-404")].missing
    # The unknown key costs a search retry without it and one look-up answering 404.
    looked_up = sorted(r.path.rsplit("/", 1)[1] for r in sandbox.requests if r.kind == "rest")
    assert looked_up == ["PROJ-1", "PROJ-2", "PROJ-404"]


def test_nothing_moved_costs_no_extra_request(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.clear_requests()
    run(fetch(client(sandbox), "PROJ-1", "PROJ-404"))
    assert all(r.kind == "search" for r in sandbox.requests)


def test_the_dashboard_shows_the_move_and_keeps_judging_the_status(
    sandbox_project: SandboxProject,
) -> None:
    project, sandbox = sandbox_project, sandbox_project.sandbox
    project.ok("start", "plans/MASTER_PLAN.md")
    sandbox.move_jira_issue("PROJ-2", "Done")
    sandbox.move_jira_issue_to_project("PROJ-2", "OPS-5")

    code, document, _ = dashboard_json(project)
    row = jira_rows(document)["PROJ-2"]
    assert row["moved_to"] == "OPS-5"
    assert row["state"] == "Done"
    assert [drift["type"] for drift in row["drift"]] == ["closed_externally"]
    assert jira_rows(document)["PROJ-3"]["moved_to"] is None
    assert code == 0

    table = project.run("status", "--issues").stdout
    assert "PROJ-2 → OPS-5" in table

    cached = jira_rows(project.issues_json())["PROJ-2"]
    assert (cached["source"], cached["moved_to"]) == ("cache", "OPS-5"), "the cache keeps it"


# --- 2. failed credentials served anonymously -------------------------------------------


def test_an_anonymous_answer_to_bad_credentials_is_an_auth_error(
    sandbox: SandboxTracker,
) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.jira_scene(anonymous_search=True)

    with pytest.raises(TrackerAuthError) as caught:
        run(fetch(client(sandbox, token="expired-token"), "PROJ-1"))

    assert "JIRA_EMAIL and JIRA_API_TOKEN" in caught.value.message
    assert "AUTHENTICATED_FAILED" in caught.value.message
    assert "expired-token" not in caught.value.message
    # The 400 naming the keys was not taken for "unknown keys" and retried without them.
    assert sandbox.request_count("jira") == 1


@pytest.mark.parametrize("reason", ["AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED"])
def test_a_200_with_no_issues_and_the_seraph_header_is_an_auth_error(
    sandbox: SandboxTracker, reason: str
) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.inject(
        platform="jira",
        path="/search/jql",
        status=200,
        body='{"issues": [], "isLast": true}',
        headers={"X-Seraph-LoginReason": reason},
    )
    with pytest.raises(TrackerAuthError, match="JIRA_EMAIL and JIRA_API_TOKEN"):
        run(fetch(client(sandbox), "PROJ-1"))


def test_the_dashboard_says_the_credentials_failed_and_shows_no_issue_missing(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.jira_scene(anonymous_search=True)
    project.env["JIRA_API_TOKEN"] = "expired-token"

    code, document, stderr = dashboard_json(project)

    assert code == 1
    assert {row["state"] for row in jira_rows(document).values()} == {None}
    assert {row["source"] for row in jira_rows(document).values()} == {"unknown"}
    assert [(e["platform"], e["kind"]) for e in document["errors"]] == [("jira", "auth")]
    assert "JIRA_EMAIL and JIRA_API_TOKEN" in stderr
    assert "expired-token" not in stderr + json.dumps(document)


# --- 3. scoped API tokens through the gateway ------------------------------------------


def test_a_scoped_token_works_through_api_url_and_links_keep_the_site(
    sandbox: SandboxTracker,
) -> None:
    with SandboxTracker(jira_scoped_token=SCOPED) as scoped:
        scoped.add_jira_issue("PROJ-1", status="In Progress")
        gateway = client(scoped, token=SCOPED, api_url=scoped.jira_gateway_url)
        status = run(fetch(gateway, "PROJ-1"))[JiraRef("PROJ-1")]
        assert status.state == "In Progress"
        assert status.url == f"{scoped.jira_url}/browse/PROJ-1"
        assert all(r.path.startswith("/rest/api/3/") for r in scoped.requests)

        with pytest.raises(TrackerAuthError) as caught:
            run(fetch(client(scoped, token=SCOPED), "PROJ-1"))
        assert "jira.api_url: https://api.atlassian.com/ex/jira/<cloudId>" in caught.value.message


def test_api_url_from_config_is_used_by_the_commands(tmp_path: Any) -> None:
    with SandboxTracker(jira_scoped_token=SCOPED) as scoped:
        project = SandboxProject.wired(tmp_path, scoped)
        project.env["JIRA_API_TOKEN"] = SCOPED
        set_jira_config(project, f"  api_url: {scoped.jira_gateway_url}")
        project.ok("start", "plans/MASTER_PLAN.md")

        code, document, _ = dashboard_json(project)

        assert code == 0
        row = jira_rows(document)["PROJ-1"]
        assert (row["state"], row["url"]) == ("To Do", f"{scoped.jira_url}/browse/PROJ-1")


# --- 4. read after write: reconcileIssues --------------------------------------------------


def test_a_reread_after_a_transition_reconciles_the_written_issue(
    sandbox: SandboxTracker,
) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.add_jira_issue("PROJ-2")
    sandbox.jira_scene(search_lag=True)

    async def scenario() -> tuple[str | None, str | None, frozenset[JiraRef]]:
        async with client(sandbox) as jira:
            assert await jira.transition_to(JiraRef("PROJ-1"), "In Progress") == "transitioned"
            lagging = await jira.fetch_issues([JiraRef("PROJ-1"), JiraRef("PROJ-2")], reconcile=())
            written = jira.written
            fresh = await jira.fetch_issues(
                [JiraRef("PROJ-1"), JiraRef("PROJ-2")], reconcile=written
            )
            return lagging[JiraRef("PROJ-1")].state, fresh[JiraRef("PROJ-1")].state, written

    before, after, written = run(scenario())

    assert (before, after) == ("To Do", "In Progress")
    assert written == {JiraRef("PROJ-1")}
    searches = [r.json() for r in sandbox.requests if r.kind == "search"]
    reads = [s for s in searches if "expand" not in s]  # the first search is the write's read
    assert "reconcileIssues" not in reads[0]
    assert reads[1]["reconcileIssues"] == [10001]  # the id of PROJ-1, learnt on the way


def test_a_reread_on_the_writing_client_reconciles_by_default(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.jira_scene(search_lag=True)

    async def scenario() -> tuple[str | None, str | None]:
        async with client(sandbox) as writer, client(sandbox) as other:
            await writer.transition_to(JiraRef("PROJ-1"), "Done")
            # Another client has written nothing, so it sees what the index says.
            seen_elsewhere = (await other.fetch_issues([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]
            reread = (await writer.fetch_issues([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]
            return seen_elsewhere.state, reread.state

    assert run(scenario()) == ("In Progress", "Done")


def test_reconcile_sends_at_most_50_ids_and_reconciles_them_all(sandbox: SandboxTracker) -> None:
    """``reconcileIssues`` takes at most 50 ids: 60 to reconcile are searched as two halves."""
    keys = [f"PROJ-{n}" for n in range(1, 61)]
    for key in keys:
        sandbox.add_jira_issue(key)

    async def scenario() -> None:
        async with client(sandbox) as jira:
            refs = [JiraRef(key) for key in keys]
            await jira.fetch_issues(refs)
            sandbox.clear_requests()
            await jira.fetch_issues(refs, reconcile=refs)

    run(scenario())
    searches = [r.json() for r in sandbox.requests if r.kind == "search"]
    assert all(len(body["reconcileIssues"]) <= 50 for body in searches)
    assert sum(len(body["reconcileIssues"]) for body in searches) == 60


# --- 5. transitions whose screen needs a field ----------------------------------------------


def test_a_transition_that_needs_a_resolution_says_which_field_and_how_to_set_it(
    sandbox: SandboxTracker,
) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.jira_scene(resolution_required=True)

    async def finish(jira: JiraClient) -> str:
        async with jira:
            return await jira.transition_to(JiraRef("PROJ-1"), "Done")

    with pytest.raises(TransitionError) as caught:
        run(finish(client(sandbox)))
    message = caught.value.message
    assert "needs field 'resolution'" in message
    assert "jira.transition_fields: {completed: {resolution: <value>}}" in message
    assert sandbox.jira_issue("PROJ-1")["status"] == "In Progress"

    configured = client(sandbox, transition_fields={"completed": {"resolution": "Won't Do"}})
    assert run(finish(configured)) == "transitioned"
    issue = sandbox.jira_issue("PROJ-1")
    assert (issue["status"], issue["resolution"]) == ("Done", "Won't Do")
    sent = [r.json() for r in sandbox.requests if r.path.endswith("/transitions") and r.is_write]
    assert sent[-1]["fields"] == {"resolution": {"name": "Won't Do"}}


def test_phase_done_reports_the_missing_field_and_works_once_configured(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.sandbox.jira_scene(resolution_required=True)
    project.ok("start", "plans/MASTER_PLAN.md")

    failed = project.run("phase", "done", "3")
    assert "PROJ-3" in failed.stderr
    assert "needs field 'resolution'" in failed.stderr
    assert "jira.transition_fields" in failed.stderr
    assert project.sandbox.jira_issue("PROJ-3")["status_category"] != "done"

    set_jira_config(project, "  transition_fields: {completed: {resolution: Done}}")
    replay = project.run("phase", "done", "3")
    assert replay.exit_code == 0, replay.output
    assert project.sandbox.jira_issue("PROJ-3")["status"] == "Done"
