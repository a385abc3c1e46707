"""What real GitHub does that the plain sandbox did not (issue #15, cases 6-8), and garbled
answers on both trackers.

Each case is a sandbox scene or fault, driven through the real clients over
loopback HTTP and then through ``debussy status --issues``, asserting what the
user sees: the error line, the JSON ``errors`` and rows, the exit code, and the
number of requests (which pins retries without timing anything).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from debussy.config import GitHubConfig, JiraConfig
from debussy.errors import BadResponseError, RateLimitedError, TrackerAuthError
from debussy.issues import GitHubRef, IssueStatus, JiraRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.github.client import GitHubClient
from debussy.sync.trackers.jira.client import JiraClient
from tests.sandbox_project import SandboxProject

T = TypeVar("T")
TOKEN = "sandbox-github-token"
APP_1 = GitHubRef("octo/app", 1)


def run(awaitable: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await awaitable

    return asyncio.run(wrapper())


def github(sandbox: SandboxTracker) -> GitHubClient:
    return GitHubClient(GitHubConfig(api_url=sandbox.github_api_url), token=TOKEN)


async def read(sandbox: SandboxTracker, *refs: GitHubRef) -> dict[GitHubRef, IssueStatus]:
    async with github(sandbox) as client:
        return await client.fetch_issues(list(refs))


@pytest.fixture
def seeded(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_issue("octo/app", 1)
    sandbox.add_issue("acme/site", 2)
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    sandbox.clear_requests()
    return sandbox


def github_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in document["issues"] if row["platform"] == "github"]


# --- 6. SAML single sign-on ---------------------------------------------------------------


def test_an_sso_protected_organisation_is_an_auth_error_with_the_authorisation_url(
    seeded: SandboxTracker,
) -> None:
    seeded.require_saml_sso("octo")

    with pytest.raises(TrackerAuthError) as caught:
        run(read(seeded, APP_1, GitHubRef("acme/site", 2)))

    message = caught.value.message
    assert "organisation 'octo' enforces SAML single sign-on" in message
    assert f"authorise it at {seeded.url}/orgs/octo/sso?authorization_request=" in message
    assert TOKEN not in message
    assert seeded.request_count("github") == 1, "an authorisation problem is not retried"


def test_an_sso_refusal_on_rest_is_an_auth_error_too(seeded: SandboxTracker) -> None:
    seeded.require_saml_sso("octo")

    async def label() -> None:
        async with github(seeded) as client:
            await client.set_debussy_label(APP_1, "debussy:in-progress")

    with pytest.raises(TrackerAuthError, match=r"organisation 'octo' enforces SAML"):
        run(label())
    assert seeded.github_issue("octo/app", 1)["labels"] == []


def test_the_dashboard_reports_sso_and_shows_no_issue_missing(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.require_saml_sso("octo")

    result = project.run("status", "--issues", "--json", "--refresh")
    document = json.loads(result.stdout)

    assert result.exit_code == 1
    assert {row["state"] for row in github_rows(document)} == {None}
    assert {row["source"] for row in github_rows(document)} == {"unknown"}
    assert [(e["platform"], e["kind"]) for e in document["errors"]] == [("github", "auth")]
    assert "enforces SAML single sign-on and the token in GITHUB_TOKEN" in result.stderr
    assert f"{project.sandbox.url}/orgs/octo/sso" in result.stderr
    jira = [row for row in document["issues"] if row["platform"] == "jira"]
    assert {row["source"] for row in jira} == {"fresh"}


# --- 7. rate-limit shapes -------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["RATE_LIMITED", "RATE_LIMIT"])
def test_both_graphql_rate_limit_shapes_fail_at_once_naming_the_reset(
    seeded: SandboxTracker, shape: str
) -> None:
    reset = int(time.time()) + 3600
    seeded.inject(
        platform="github",
        graphql_error=shape,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )

    with pytest.raises(RateLimitedError) as caught:
        run(read(seeded, APP_1))

    assert caught.value.reset_at is not None
    assert int(caught.value.reset_at.timestamp()) == reset
    assert f"resets at {time.strftime('%H:%M', time.gmtime(reset))} UTC" in caught.value.message
    assert seeded.request_count("github") == 1


def test_the_new_rate_limit_shape_without_an_exhausted_window_is_retried(
    seeded: SandboxTracker,
) -> None:
    seeded.inject(platform="github", graphql_error="RATE_LIMIT")
    assert run(read(seeded, APP_1))[APP_1].state == "open"
    assert seeded.request_count("github") == 2


def test_a_rate_limit_that_persists_still_names_the_reset_github_sent(
    seeded: SandboxTracker,
) -> None:
    reset = int(time.time()) + 1800
    seeded.inject(
        platform="github",
        graphql_error="RATE_LIMIT",
        headers={"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(reset)},
        times=10,
    )
    with pytest.raises(RateLimitedError) as caught:
        run(read(seeded, APP_1))
    assert f"resets at {time.strftime('%H:%M', time.gmtime(reset))} UTC" in caught.value.message
    assert seeded.request_count("github") == 3


def test_a_secondary_limit_without_retry_after_fails_fast_naming_when_to_retry(
    seeded: SandboxTracker,
) -> None:
    seeded.inject_secondary_limit()

    with pytest.raises(RateLimitedError) as caught:
        run(read(seeded, APP_1))

    assert "secondary rate limit hit (403); GitHub asks to wait at least a minute" in str(
        caught.value
    )
    assert "(in 1 min)" in caught.value.message
    assert caught.value.reset_at is not None
    assert 55 <= caught.value.reset_at.timestamp() - time.time() <= 65
    assert seeded.request_count("github") == 1, "not retried within seconds"


def test_a_secondary_limit_with_a_short_retry_after_is_waited_out(
    seeded: SandboxTracker,
) -> None:
    seeded.inject_secondary_limit(retry_after=1)
    assert not run(read(seeded, APP_1))[APP_1].missing
    assert seeded.request_count("github") == 2


def test_the_dashboard_names_the_time_to_retry_after_a_secondary_limit(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.clear_requests()
    project.sandbox.inject_secondary_limit(times=5)

    result = project.run("status", "--issues", "--refresh")

    assert result.exit_code == 1
    assert "at least a minute" in result.stderr
    assert "resets at" in result.stderr
    assert project.sandbox.request_count("github") == 1


# --- 8. garbled answers ---------------------------------------------------------------------

HTML = "<!DOCTYPE html><html><body>Corporate proxy: please sign in</body></html>"


@pytest.mark.parametrize(
    "fault",
    [{"truncate": True}, {"status": 200, "body": HTML}, {"status": 200, "body": ""}],
    ids=["truncated", "html", "empty"],
)
def test_a_garbled_answer_to_a_read_is_read_again(
    seeded: SandboxTracker, fault: dict[str, Any]
) -> None:
    seeded.inject(platform="github", **fault)
    seeded.inject(platform="jira", **fault)

    async def both() -> tuple[str | None, str | None]:
        jira = JiraClient(
            JiraConfig(url=seeded.jira_url), email="demo@example.com", token="sandbox-jira-token"
        )
        async with github(seeded) as gh, jira:
            gh_status = (await gh.fetch_issues([APP_1]))[APP_1]
            jira_status = (await jira.fetch_issues([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]
        return gh_status.state, jira_status.state

    assert run(both()) == ("open", "In Progress")
    assert seeded.request_count("github") == 2
    assert seeded.request_count("jira") == 2


def test_a_read_garbled_every_time_is_reported_as_a_bad_response(seeded: SandboxTracker) -> None:
    seeded.inject(platform="github", truncate=True, times=10)
    with pytest.raises(BadResponseError, match="truncated or malformed JSON"):
        run(read(seeded, APP_1))
    assert seeded.request_count("github") == 3


def test_a_garbled_answer_to_a_write_is_not_sent_again(seeded: SandboxTracker) -> None:
    seeded.inject(platform="github", method="POST", path=r"/labels$", truncate=True, times=10)

    async def label() -> None:
        async with github(seeded) as client:
            await client.set_debussy_label(APP_1, "debussy:in-progress", current=[])

    with pytest.raises(BadResponseError):
        run(label())
    puts = [r for r in seeded.requests if r.method == "POST" and r.path.endswith("/labels")]
    assert len(puts) == 1
    assert seeded.github_issue("octo/app", 1)["labels"] == ["debussy:in-progress"]


def test_the_dashboard_rides_out_one_garbled_answer(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.inject(platform="github", status=200, body=HTML)
    project.sandbox.inject(platform="jira", truncate=True)

    result = project.run("status", "--issues", "--json", "--refresh")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["errors"] == []
    assert {row["source"] for row in document["issues"]} == {"fresh"}
