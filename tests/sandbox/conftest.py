"""Fixtures for the sandbox tracker's tests: a running sandbox and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.http import trusting_nothing

GITHUB_TOKEN = "ghp_sandboxTestToken0123456789"
JIRA_EMAIL = "tester@example.com"
JIRA_TOKEN = "jira-sandbox-test-token-42"
LOOPBACK = trusting_nothing()
"""``verify=`` for clients of the sandbox (plain http): httpx would otherwise load the
whole CA bundle for each client it builds, ~30 ms a test that it never uses."""
GITHUB_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "Authorization": f"Bearer {GITHUB_TOKEN}",
}


@pytest.fixture
def sandbox() -> Iterator[SandboxTracker]:
    with SandboxTracker(
        github_token=GITHUB_TOKEN, jira_email=JIRA_EMAIL, jira_token=JIRA_TOKEN
    ) as running:
        yield running


@pytest.fixture
def github(sandbox: SandboxTracker) -> Iterator[httpx.Client]:
    """REST client with the sandbox's token, as the GitHub client sends requests."""
    with httpx.Client(
        base_url=sandbox.github_api_url, headers=GITHUB_HEADERS, verify=LOOPBACK
    ) as client:
        yield client


@pytest.fixture
def anonymous_github(sandbox: SandboxTracker) -> Iterator[httpx.Client]:
    headers = {k: v for k, v in GITHUB_HEADERS.items() if k != "Authorization"}
    with httpx.Client(base_url=sandbox.github_api_url, headers=headers, verify=LOOPBACK) as client:
        yield client


@pytest.fixture
def jira(sandbox: SandboxTracker) -> Iterator[httpx.Client]:
    """Jira Cloud client: Basic email:token."""
    with httpx.Client(
        base_url=sandbox.jira_url, auth=(JIRA_EMAIL, JIRA_TOKEN), verify=LOOPBACK
    ) as client:
        yield client


def graphql(
    sandbox: SandboxTracker,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = GITHUB_TOKEN,
) -> httpx.Response:
    headers = {"Authorization": f"bearer {token}"} if token else {}
    return httpx.post(
        f"{sandbox.url}/api/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        verify=LOOPBACK,
    )
