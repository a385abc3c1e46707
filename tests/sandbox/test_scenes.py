"""The real-service scenes of the sandbox (issue #15), from ``python -m debussy.sandbox`` flags
and over raw HTTP: what the clients' fidelity tests rely on, checked on the wire."""

from __future__ import annotations

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.__main__ import _parser, apply_scenes
from tests.sandbox.conftest import GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN

AUTH = (JIRA_EMAIL, JIRA_TOKEN)


def search(sandbox: SandboxTracker, body: dict[str, object], **kwargs: object) -> httpx.Response:
    return httpx.post(
        f"{sandbox.jira_url}/rest/api/3/search/jql",
        json={"fields": ["status"], **body},
        **kwargs,  # type: ignore[arg-type]
    )


def test_command_line_scenes_switch_the_behaviours_on(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1")
    sandbox.add_issue("octo/app", 1)
    options = _parser().parse_args(
        [
            "--scene",
            "jira-anonymous-search",
            "--scene",
            "jira-resolution-required",
            "--saml-sso",
            "octo",
        ]
    )
    apply_scenes(sandbox, options.scene, options.saml_sso)

    anonymous = search(sandbox, {"jql": "key in (PROJ-1)"}, auth=(JIRA_EMAIL, "wrong"))
    assert anonymous.status_code == 400
    assert anonymous.headers["x-seraph-loginreason"] == "AUTHENTICATED_FAILED"

    done = httpx.post(
        f"{sandbox.jira_url}/rest/api/3/issue/PROJ-1/transitions",
        json={"transition": {"id": "41"}},
        auth=AUTH,
    )
    assert (done.status_code, done.json()["errors"]) == (
        400,
        {"resolution": "Resolution is required."},
    )

    rest = httpx.get(
        f"{sandbox.github_api_url}/repos/octo/app/issues/1",
        headers={"Authorization": f"Bearer {GITHUB_TOKEN}"},
    )
    assert rest.status_code == 403
    assert rest.headers["x-github-sso"].startswith(f"required; url={sandbox.url}/orgs/octo/sso")


def test_unknown_scene_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--scene", "everything-broken"])


def test_the_gateway_serves_the_site_api_and_only_it_takes_a_scoped_token() -> None:
    with SandboxTracker(jira_scoped_token="scoped-token") as sandbox:
        sandbox.add_jira_issue("PROJ-1")
        scoped = ("demo@example.com", "scoped-token")  # the sandbox's default email
        through = httpx.get(f"{sandbox.jira_gateway_url}/rest/api/3/issue/PROJ-1", auth=scoped)
        direct = httpx.get(f"{sandbox.jira_url}/rest/api/3/issue/PROJ-1", auth=scoped)
        spoofed = httpx.get(
            f"{sandbox.jira_url}/rest/api/3/issue/PROJ-1",
            auth=scoped,
            headers={"X-Sandbox-Via-Gateway": "1"},
        )
        assert through.status_code == 200
        assert through.json()["key"] == "PROJ-1"
        assert (direct.status_code, spoofed.status_code) == (401, 401)
        wrong_cloud = httpx.get(f"{sandbox.url}/ex/jira/not-the-id/rest/api/3/issue/PROJ-1")
        assert wrong_cloud.status_code == 404


def test_reconcile_issues_is_checked_like_jira_does(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1")
    jql = {"jql": "key in (PROJ-1)"}
    too_many = search(sandbox, {**jql, "reconcileIssues": list(range(1, 52))}, auth=AUTH)
    not_ids = search(sandbox, {**jql, "reconcileIssues": ["PROJ-1"]}, auth=AUTH)
    fine = search(sandbox, {**jql, "reconcileIssues": [10001]}, auth=AUTH)
    assert (too_many.status_code, not_ids.status_code, fine.status_code) == (400, 400, 200)


def test_a_moved_issue_answers_to_its_old_key_everywhere(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.move_jira_issue_to_project("PROJ-1", "OPS-5")
    found = search(sandbox, {"jql": "key in (PROJ-1)"}, auth=AUTH).json()["issues"]
    by_get = httpx.get(f"{sandbox.jira_url}/rest/api/3/issue/PROJ-1", auth=AUTH).json()
    assert [issue["key"] for issue in found] == ["OPS-5"]
    assert (by_get["key"], by_get["id"]) == ("OPS-5", found[0]["id"])
