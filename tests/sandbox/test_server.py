"""The server around the APIs: lifecycle, keep-alive, latency, request log, secrets, CLI."""

from __future__ import annotations

import http.client
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from debussy.config import GitHubConfig, JiraConfig
from debussy.sandbox import SandboxTracker
from tests.sandbox.conftest import GITHUB_HEADERS, JIRA_TOKEN, LOOPBACK, graphql

ROOT = Path(__file__).resolve().parents[2]
ISSUE = "/repos/octo/app/issues/12"


def seed_for_cli(sandbox: SandboxTracker) -> None:
    """Used by the ``--seed module:function`` test below."""
    sandbox.add_issue("octo/app", 12, title="Seeded from the command line")


# --------------------------------------------------------------------------- lifecycle


def test_start_and_stop_are_idempotent_and_free_the_port() -> None:
    sandbox = SandboxTracker()
    sandbox.start()
    url = sandbox.url
    sandbox.start()

    assert sandbox.url == url
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{url}/rest/api/3/serverInfo").status_code == 200
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/rest/api/3/serverInfo")


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not been started"):
        _ = SandboxTracker().url


def test_urls_follow_the_github_enterprise_layout(sandbox: SandboxTracker) -> None:
    assert sandbox.github_api_url == f"{sandbox.url}/api/v3"
    assert sandbox.jira_url == sandbox.url


def test_debussy_config_derives_the_sandbox_endpoints(sandbox: SandboxTracker) -> None:
    """GitHubConfig treats the sandbox as GitHub Enterprise: GraphQL and web host line up."""
    sandbox.add_issue("octo/app", 12)
    github = GitHubConfig(api_url=sandbox.github_api_url)
    jira = JiraConfig(url=sandbox.jira_url)

    answer = graphql(
        sandbox, '{ repository(owner: "octo", name: "app") { issue(number: 12) { url } } }'
    )

    assert github.graphql_url == f"{sandbox.url}/api/graphql"
    issue_url = answer.json()["data"]["repository"]["issue"]["url"]
    assert issue_url == f"http://{github.web_host}/octo/app/issues/12"
    assert jira.browse_url("PROJ-1") == f"{sandbox.url}/browse/PROJ-1"


def test_connections_are_kept_alive(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 12)
    host, port = sandbox.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", f"/api/v3{ISSUE}")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", f"/api/v3{ISSUE}")
        second = connection.getresponse()
        second.read()

        assert (first.status, second.status) == (200, 200)
        assert first.version == 11
        assert sock is not None
        assert connection.sock is sock
    finally:
        connection.close()


def test_stop_hangs_up_on_kept_alive_connections() -> None:
    sandbox = SandboxTracker()
    sandbox.start()
    with httpx.Client(base_url=sandbox.url) as client:
        assert client.get("/rest/api/3/serverInfo").status_code == 200
        sandbox.stop()

        with pytest.raises(httpx.TransportError):
            client.get("/rest/api/3/serverInfo")


def test_concurrent_writes_are_not_lost(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 12)
    names = [f"label-{n}" for n in range(16)]

    def add(name: str) -> None:
        httpx.post(
            f"{sandbox.github_api_url}{ISSUE}/labels",
            json={"labels": [name]},
            headers=GITHUB_HEADERS,
            verify=LOOPBACK,
        )

    threads = [threading.Thread(target=add, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(sandbox.github_issue("octo/app", 12)["labels"]) == sorted(names)
    assert sandbox.request_count("github", writes_only=True) == 16


# --------------------------------------------------------------------------- latency


def test_latency_is_added_to_every_answer_and_can_change_at_any_time(
    sandbox: SandboxTracker, github: httpx.Client, jira: httpx.Client
) -> None:
    sandbox.add_issue("octo/app", 12)
    sandbox.add_jira_issue("PROJ-1")
    sandbox.latency = 0.25

    started = time.perf_counter()
    github.get(ISSUE)
    jira.get("/rest/api/3/issue/PROJ-1")
    graphql(sandbox, "{ rateLimit { limit } }")
    slow = time.perf_counter() - started

    assert slow >= 3 * 0.25


def test_latency_from_the_constructor() -> None:
    with SandboxTracker(latency=0.2) as sandbox:
        started = time.perf_counter()
        httpx.get(f"{sandbox.url}/rest/api/3/serverInfo")

        assert time.perf_counter() - started >= 0.2


# --------------------------------------------------------------------------- request log


def test_request_log_counts_by_platform_kind_and_write(
    sandbox: SandboxTracker, github: httpx.Client, jira: httpx.Client
) -> None:
    sandbox.add_issue("octo/app", 12)
    sandbox.add_jira_issue("PROJ-1")

    github.get(ISSUE, params={"x": "1"})
    github.patch(ISSUE, json={"state": "closed"})
    graphql(sandbox, "{ rateLimit { limit } }")
    jira.post("/rest/api/3/search/jql", json={"jql": "key = PROJ-1"})
    jira.post("/rest/api/3/issue/PROJ-1/transitions", json={"transition": {"id": "41"}})
    httpx.get(f"{sandbox.url}/nowhere")

    log = sandbox.requests
    assert [(r.method, r.platform, r.kind, r.is_write, r.status) for r in log] == [
        ("GET", "github", "rest", False, 200),
        ("PATCH", "github", "rest", True, 200),
        ("POST", "github", "graphql", False, 200),
        ("POST", "jira", "search", False, 200),
        ("POST", "jira", "rest", True, 204),
        ("GET", "other", "rest", False, 404),
    ]
    assert log[0].path == f"/api/v3{ISSUE}"
    assert log[0].query == "x=1"
    assert log[1].json() == {"state": "closed"}
    assert sandbox.request_count() == 6
    assert sandbox.request_count("github") == 3
    assert sandbox.request_count("jira", writes_only=True) == 1
    assert sandbox.request_count(writes_only=True) == 2

    sandbox.clear_requests()
    assert sandbox.requests == []
    assert sandbox.request_count() == 0


# --------------------------------------------------------------------------- seeding


def test_clock_controls_timestamps_and_changes_still_move_forward() -> None:
    moment = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    sandbox = SandboxTracker(clock=lambda: moment)
    sandbox.add_issue("octo/app", 1)
    sandbox.close_issue("octo/app", 1)
    sandbox.add_jira_issue("PROJ-1")
    sandbox.move_jira_issue("PROJ-1", "Done")

    issue = sandbox.github_issue("octo/app", 1)
    assert issue["created_at"] == moment
    assert issue["closed_at"] == issue["updated_at"] == moment + timedelta(seconds=1)
    assert sandbox.jira_issue("PROJ-1")["created"] == "2026-11-27T10:00:00.000+0000"
    assert sandbox.jira_issue("PROJ-1")["updated"] == "2026-11-27T10:00:00.001+0000"


def test_backdated_seeding(sandbox: SandboxTracker) -> None:
    long_ago = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    sandbox.add_issue("octo/app", 1, state="closed", updated_at=long_ago)
    sandbox.add_jira_issue("PROJ-1", status="Done", updated_at=long_ago)

    assert sandbox.github_issue("octo/app", 1)["closed_at"] == long_ago
    assert (
        sandbox.jira_issue("PROJ-1")["statuscategorychangedate"] == "2026-01-02T03:04:05.000+0000"
    )


def test_seeding_mistakes_fail_loudly(sandbox: SandboxTracker) -> None:
    sandbox.add_issue("octo/app", 1)

    with pytest.raises(ValueError, match="already exists"):
        sandbox.add_issue("octo/app", 1)
    with pytest.raises(KeyError):
        sandbox.close_issue("octo/app", 2)
    with pytest.raises(ValueError, match="owner/name"):
        sandbox.add_repo("no-slash")
    with pytest.raises(ValueError, match="not a Jira issue key"):
        sandbox.add_jira_issue("proj")
    with pytest.raises(ValueError, match="unknown Jira status"):
        sandbox.add_jira_issue("PROJ-1", status="Blocked")


# --------------------------------------------------------------------------- secrets


def test_tokens_appear_in_no_log_repr_record_or_answer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="debussy")
    github_token = "ghp_SECRETgithubTOKEN1234"
    jira_token = "SECRETjiraTOKEN5678"
    wrong = "ghp_WRONGtokenSECRET9999"
    with SandboxTracker(github_token=github_token, jira_token=jira_token) as sandbox:
        sandbox.add_issue("octo/app", 12)
        sandbox.add_jira_issue("PROJ-1")
        answers = [
            httpx.get(f"{sandbox.github_api_url}{ISSUE}", headers={"Authorization": f"token {github_token}"}),
            httpx.get(f"{sandbox.github_api_url}{ISSUE}", headers={"Authorization": f"token {wrong}"}),
            httpx.post(f"{sandbox.url}/api/graphql", json={"query": "{"}, headers={"Authorization": f"bearer {github_token}"}),
            httpx.get(f"{sandbox.url}/rest/api/3/issue/PROJ-1", headers={"Authorization": f"Bearer {jira_token}"}),
            httpx.get(f"{sandbox.url}/rest/api/3/issue/PROJ-1", auth=("demo@example.com", wrong)),
        ]  # fmt: skip
        texts = [
            repr(sandbox),
            repr(sandbox.requests),
            caplog.text,
            *(answer.text for answer in answers),
            *(str(answer.headers) for answer in answers),
        ]

    assert [answer.status_code for answer in answers] == [200, 401, 200, 200, 401]
    for text in texts:
        for secret in (github_token, jira_token, wrong):
            assert secret not in text


# --------------------------------------------------------------------------- import cost and CLI


def test_importing_the_package_loads_neither_the_server_nor_graphql() -> None:
    code = (
        "import sys, debussy.sandbox; "
        "print([m for m in ('graphql', 'http.server', 'debussy.sandbox.server') if m in sys.modules])"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )

    assert loaded.stdout.strip() == "[]"


def _start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "debussy.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def _banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The URL and the whole banner, read up to its last line."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        line = process.stdout.readline()
        assert line, "the sandbox exited before printing its banner"
        lines.append(line)
    return lines[0].rsplit(" ", 1)[-1].strip(), "".join(lines)


def test_cli_serves_seeded_data_until_interrupted() -> None:
    env = {"GITHUB_TOKEN": "ghp_fromTheEnvironment42", "JIRA_API_TOKEN": JIRA_TOKEN}
    process = _start_cli("--seed", "tests.sandbox.test_server:seed_for_cli", env=env)
    try:
        url, banner = _banner(process)
        issue = httpx.get(
            f"{url}/api/v3{ISSUE}", headers={"Authorization": "Bearer ghp_fromTheEnvironment42"}
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert banner.startswith("Sandbox tracker on http://127.0.0.1:")
    assert issue.json()["title"] == "Seeded from the command line"
    assert process.returncode == 0
    assert "Sandbox tracker stopped." in out
    assert "Credentials: GITHUB_TOKEN, JIRA_API_TOKEN from the environment" in banner
    assert "ghp_fromTheEnvironment42" not in banner + out + err
    assert JIRA_TOKEN not in banner + out + err
    assert "Traceback" not in err


def test_cli_stops_cleanly_on_sigterm() -> None:
    process = _start_cli("--no-auth")
    try:
        url, banner = _banner(process)
        answer = httpx.post(f"{url}/api/graphql", json={"query": "{ rateLimit { limit } }"})
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert answer.json()["data"]["rateLimit"]["limit"] == 5000
    assert process.returncode == 0
    assert "Credentials: not required" in banner
    assert "Sandbox tracker stopped." in out


def test_cli_rejects_a_seed_it_cannot_import() -> None:
    process = _start_cli("--seed", "no_such_module:seed")
    out, err = process.communicate(timeout=30)

    assert process.returncode == 1
    assert "cannot import no_such_module" in err
    assert "Sandbox tracker on" not in out
