"""The GitHub token from the GitHub CLI: used when no variable holds one, said once under -v,
never for a loopback API (a kept demo folder), and never printed."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from debussy.config import GitHubConfig
from debussy.issues import GitHubRef
from debussy.sync.trackers.github import client as github_client
from debussy.sync.trackers.github.client import GH_CLI, GitHubClient, resolve_token

GH_TOKEN_FROM_CLI = "gho_fromTheFakeGitHubCli0000000000000001"


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `gh` on PATH that is logged in to github.com only, and notes every call."""
    calls = tmp_path / "gh-calls"
    script = tmp_path / "bin" / "gh"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'if [ "$1 $2 $3 $4" = "auth token --hostname github.com" ]; then\n'
        f"  echo {GH_TOKEN_FROM_CLI}\n"
        "  exit 0\n"
        "fi\n"
        "echo 'no oauth token found for that host' >&2\n"
        "exit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    github_client._gh_cli_token.cache_clear()
    yield calls
    github_client._gh_cli_token.cache_clear()


def test_no_variable_and_gh_logged_in_uses_gh_auth_token_once(
    fake_gh: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        node = {
            "number": 1,
            "state": "OPEN",
            "stateReason": None,
            "title": "t",
            "url": "https://github.com/octo/app/issues/1",
            "updatedAt": "2026-11-27T10:00:00Z",
            "closedAt": None,
            "labels": {"nodes": []},
            "milestone": None,
        }
        return httpx.Response(200, json={"data": {"r0": {"i1": node}}})

    async def main() -> None:
        transport = httpx.MockTransport(handler)
        async with GitHubClient(GitHubConfig(), transport=transport) as client:
            assert client.has_token
            await client.fetch_issues([GitHubRef("octo/app", 1)])

    with caplog.at_level(logging.INFO, logger="debussy"):
        asyncio.run(main())
        assert resolve_token(GitHubConfig()) == (GH_TOKEN_FROM_CLI, GH_CLI)
    assert seen == [f"Bearer {GH_TOKEN_FROM_CLI}"]
    assert fake_gh.read_text().splitlines() == ["auth token --hostname github.com"], "asked once"
    said = [r.getMessage() for r in caplog.records if "GitHub CLI" in r.getMessage()]
    assert said == ["GitHub: no token variable set; using the GitHub CLI's token for github.com"]
    assert GH_TOKEN_FROM_CLI not in caplog.text


def test_a_variable_wins_over_gh(fake_gh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_fromTheVariable000000000000000000001")
    assert resolve_token(GitHubConfig()) == ("ghp_fromTheVariable000000000000000000001", "GH_TOKEN")
    assert not fake_gh.exists(), "gh is not even asked"


def test_gh_not_logged_in_to_that_host_means_no_token(fake_gh: Path) -> None:
    config = GitHubConfig(api_url="https://ghe.example.com/api/v3")
    assert resolve_token(config) == (None, None)
    assert fake_gh.read_text().splitlines() == ["auth token --hostname ghe.example.com"]


def test_a_loopback_api_reads_only_its_own_variable(
    fake_gh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_realUserTokenMustStayHome0000000001")
    monkeypatch.setenv("GH_TOKEN", "gho_realUserTokenMustStayHome0000000002")
    config = GitHubConfig(
        api_url="http://127.0.0.1:9/api/v3", token_env="DEBUSSY_DEMO_GITHUB_TOKEN"
    )
    assert resolve_token(config) == (None, None)
    assert not fake_gh.exists(), "gh is not asked for a loopback API"
    monkeypatch.setenv("DEBUSSY_DEMO_GITHUB_TOKEN", "sandbox-github-token")
    assert resolve_token(config) == ("sandbox-github-token", "DEBUSSY_DEMO_GITHUB_TOKEN")


def test_without_gh_on_path_there_is_simply_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    github_client._gh_cli_token.cache_clear()
    try:
        assert resolve_token(GitHubConfig()) == (None, None)
    finally:
        github_client._gh_cli_token.cache_clear()
