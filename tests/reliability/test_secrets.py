"""The secrets sweep: every command, verbose, through success and every failure mode.

Tokens are set to recognisable values and the sandbox accepts nothing else, so a
command that succeeds proves the tokens travelled. Then their absence is checked
everywhere a user or a log collector could see them: stdout, stderr (where ``-v``
and ``-vv`` logging goes, httpx included), tracebacks with ``DEBUSSY_DEBUG=1``,
and every file under the project, ``.debussy/`` databases included. Not only the
whole tokens: no 12-character piece of one may show either (a message cut in the
middle of an echoed token must not leak its first half), nor the Basic
``email:token`` credential in base64.

Servers that echo the credentials back in their error bodies (some proxies do)
are part of the failure modes.
"""

from __future__ import annotations

import base64
import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from debussy.cli import cli
from debussy.config import GitHubConfig
from debussy.errors import BadResponseError, ConfigError
from debussy.issues import GitHubRef
from debussy.sandbox import SandboxTracker
from debussy.sync.trackers.github.client import GitHubClient
from debussy.sync.trackers.http import TrackerHttp
from tests.sandbox_project import SandboxProject

GITHUB_TOKEN = "ghp_Rel1abil1tyGitHubT0kenQx7Zk2Vw8Lm4Np6Bd"
GH_TOKEN_UNUSED = "ghp_Rel1abil1tyOtherGhT0kenYy3Hh5Jj7Kk9Ll1"
JIRA_TOKEN = "ATATTRel1abil1tyJiraT0kenPp2Oo4Ii6Uu8Yy0Tt"
JIRA_EMAIL = "reliability@example.com"
WRONG_TOKEN = "ghp_Rel1abil1tyWrongT0kenMm1Nn3Bb5Vv7Cc9Xx"
TOKENS = (GITHUB_TOKEN, GH_TOKEN_UNUSED, JIRA_TOKEN, WRONG_TOKEN)
WINDOW = 12


def _needles() -> list[bytes]:
    needles = [token.encode() for token in TOKENS]
    needles.append(base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()))
    for token in TOKENS:
        needles += [token[i : i + WINDOW].encode() for i in range(len(token) - WINDOW + 1)]
    return needles


NEEDLES = _needles()


def leaks(data: str | bytes) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return [needle.decode() for needle in NEEDLES if needle in raw]


def assert_no_secret(data: str | bytes, where: str) -> None:
    found = leaks(data)
    assert not found, f"a secret leaked into {where}: {found[:3]}"


def everything_said(result: Result) -> str:
    """Output, error output and, when an exception escaped, its whole formatted chain."""
    parts = [result.stdout, result.stderr]
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        error = result.exc_info[1]
        parts.append("".join(traceback.format_exception(error)))
        current: BaseException | None = error
        seen: set[int] = set()
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            parts += [str(current), repr(current), repr(current.args)]
            current = current.__cause__ or current.__context__
    return "\n".join(parts)


# --- the project ----------------------------------------------------------------------------


ENV = {
    "GITHUB_TOKEN": GITHUB_TOKEN,
    "GH_TOKEN": GH_TOKEN_UNUSED,
    "JIRA_API_TOKEN": JIRA_TOKEN,
    "JIRA_EMAIL": JIRA_EMAIL,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProject]:
    yield from _secrets_project(tmp_path_factory)


@pytest.fixture
def own_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProject]:
    """A project of its own: the walk through every command must not start from whatever
    state the module's other tests left (xdist worksteal runs them in any order)."""
    yield from _secrets_project(tmp_path_factory)


def _secrets_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProject]:
    sandbox = SandboxTracker(
        github_token=GITHUB_TOKEN, jira_email=JIRA_EMAIL, jira_token=JIRA_TOKEN
    )
    with sandbox:
        project = SandboxProject(tmp_path_factory.mktemp("secrets"), sandbox, env=dict(ENV))
        project.write_config()
        project.write_plan()
        project.seed()
        # github.token_env names GITHUB_TOKEN: GH_TOKEN is set too, and must never be used or shown.
        (project.root / ".debussy" / "config.yaml").write_text(
            (project.root / ".debussy" / "config.yaml")
            .read_text()
            .replace("  repo: octo/app\n", "  repo: octo/app\n  token_env: GITHUB_TOKEN\n")
        )
        yield project


def run(project: SandboxProject, *args: str, env: dict[str, str] | None = None) -> Result:
    saved = project.env
    project.env = {**saved, **(env or {})}
    try:
        return project.run(*args)
    finally:
        project.env = saved


def ensure_run(project: SandboxProject) -> None:
    """Tests of this module may run alone: start a run when there is none yet."""
    if run(project, "status").exit_code != 0:
        assert run(project, "start", "plans/MASTER_PLAN.md", "--force").exit_code == 0


SUCCESS = [
    ["-v", "start", "plans/MASTER_PLAN.md", "--force"],
    ["phase", "start", "1", "-vv"],
    ["phase", "fail", "1", "--reason", "tests red", "-vv"],
    ["phase", "block", "1", "--reason", "waiting", "-v"],
    ["done", "--phase", "1", "-vv"],
    ["phase", "start", "2", "--dry-run-sync", "-vv"],
    ["phase", "start", "3", "-vv"],
    ["status", "-vv"],
    ["status", "--json", "-v"],
    ["status", "--issues", "-vv"],
    ["status", "--issues", "--json", "-vv"],
    ["status", "--issues", "--refresh", "--exit-code", "-vv"],
    ["sync", "-vv"],
    ["sync", "--json", "-vv"],
    ["sync", "--apply", "-vv"],
    ["sync", "--direction", "to-tracker", "--apply", "-vv"],
    ["history", "-vv"],
    ["history", "--json", "-v"],
]


def test_every_command_succeeds_verbosely_without_showing_a_token(
    own_project: SandboxProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = own_project
    for args in SUCCESS:
        result = run(project, *args)
        assert result.exit_code in (0, 3), (args, result.output)
        assert_no_secret(everything_said(result), " ".join(args))
    assert "HTTP Request" in run(project, "status", "--issues", "--refresh", "-vv").stderr, (
        "-vv really logs every request, so the check above covers httpx's log lines"
    )
    monkeypatch.chdir(tmp_path)
    init = CliRunner().invoke(cli, ["init", "-vv"], env=ENV)
    assert init.exit_code == 0, init.output
    assert_no_secret(everything_said(init), "init")
    assert_no_file_holds_a_token(project)  # what every command above wrote


# --- every failure mode -------------------------------------------------------------------------

PREFIX = "x" * 180
"""Puts an echoed token across the 200-character cut of GitHub error summaries..."""
JIRA_PREFIX = "y" * 280
"""... and across the 300-character cut of Jira's."""
ECHO = json.dumps(
    {
        "message": f"{PREFIX} {GITHUB_TOKEN} {JIRA_TOKEN}",
        "errorMessages": [f"{JIRA_PREFIX} {JIRA_TOKEN} {GITHUB_TOKEN}"],
    }
)
HTML_ECHO = f"<html><body><pre>Authorization: Bearer {GITHUB_TOKEN}\nAuthorization: Basic {JIRA_TOKEN}</pre></body></html>"
FAULTS: dict[str, dict[str, Any]] = {
    "401": {"status": 401, "body": '{"message": "Bad credentials"}'},
    "403_echoing_the_token": {"status": 403, "body": ECHO},
    "400_echoing_the_token": {"status": 400, "body": ECHO},
    "422_echoing_the_token": {"status": 422, "body": ECHO},
    "404": {"status": 404},
    "429_for_an_hour": {"status": 429, "headers": {"Retry-After": "3600"}},
    "500": {"status": 500, "body": ECHO},
    "503": {"status": 503},
    "dropped_connection": {"drop_connection": True},
    "html_page_echoing_the_token": {"status": 200, "body": HTML_ECHO},
    "html_502_echoing_the_token": {"status": 502, "body": HTML_ECHO},
    "truncated_json": {"truncate": True},
    "jira_transition_refused_echoing_the_token": {
        "path": r"/transitions$",
        "method": "POST",
        "status": 400,
        "body": ECHO,
    },
    "graphql_error_echoing_the_token": {
        "status": 200,
        "body": json.dumps({"errors": [{"message": f"{PREFIX} {GITHUB_TOKEN}"}]}),
    },
}
TRACKER_COMMANDS = [
    ["status", "--issues", "--refresh", "-vv"],
    ["status", "--issues", "--refresh", "--json", "-vv"],
    ["sync", "--apply", "-vv"],
    ["sync", "--direction", "to-tracker", "--apply", "--json", "-vv"],
    ["phase", "start", "2", "-vv"],
    ["phase", "done", "2", "-vv"],
]


@pytest.mark.parametrize("fault", list(FAULTS), ids=str)
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "DEBUSSY_DEBUG"])
def test_no_failure_mode_shows_a_token(project: SandboxProject, fault: str, debug: bool) -> None:
    project.sandbox.clear_faults()
    ensure_run(project)
    project.sandbox.inject(times=10_000, **FAULTS[fault])
    env = {"DEBUSSY_DEBUG": "1"} if debug else {}
    try:
        for args in TRACKER_COMMANDS:
            result = run(project, *args, env=env)
            assert_no_secret(everything_said(result), f"{' '.join(args)} under {fault}")
    finally:
        project.sandbox.clear_faults()


@pytest.mark.parametrize(
    "env",
    [
        {"GITHUB_TOKEN": WRONG_TOKEN},
        {"JIRA_API_TOKEN": WRONG_TOKEN},
        {"JIRA_EMAIL": "", "JIRA_API_TOKEN": ""},
        {"GITHUB_TOKEN": "", "GH_TOKEN": ""},
    ],
    ids=["wrong_github_token", "wrong_jira_token", "no_jira_credentials", "no_github_token"],
)
def test_wrong_or_missing_credentials_show_no_token(
    project: SandboxProject, env: dict[str, str]
) -> None:
    for args in TRACKER_COMMANDS:
        result = run(project, *args, env=env)
        assert result.exit_code in (0, 1), (args, result.output)
        assert_no_secret(everything_said(result), f"{' '.join(args)} with {sorted(env)}")


def test_no_file_under_the_project_holds_a_token(project: SandboxProject) -> None:
    """After every command above (this test runs last in the module) and a dashboard look."""
    ensure_run(project)
    assert run(project, "status", "--issues", "--refresh").exit_code in (0, 1)
    assert_no_file_holds_a_token(project)


def assert_no_file_holds_a_token(project: SandboxProject) -> None:
    files = [path for path in project.root.rglob("*") if path.is_file()]
    assert any(path.name == "state.db" for path in files)
    assert any(path.name == "cache.db" for path in files)
    for path in files:
        assert_no_secret(path.read_bytes(), str(path.relative_to(project.root)))


# --- tokens only over https, or plain http to loopback ----------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://ghe.example.com/api/v3", "http://10.0.0.7/api/v3", "http://[2001:db8::1]/api/v3"],
)
def test_plain_http_to_another_host_is_refused_before_anything_is_sent(
    project: SandboxProject, url: str
) -> None:
    ensure_run(project)  # `phase start` must reach the tracker step, even run alone
    config = project.root / ".debussy" / "config.yaml"
    original = config.read_text()
    config.write_text(original.replace(project.sandbox.github_api_url, url))
    project.sandbox.clear_requests()
    try:
        for args in (
            ["status", "--issues", "--refresh", "-vv"],
            ["sync", "-vv"],
            ["phase", "start", "1", "-vv"],
        ):
            result = run(project, *args)
            assert result.exit_code == 1, (args, result.output)
            error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
            assert len(error) == 1, result.stderr
            assert "plain http" in error[0], result.stderr
            assert_no_secret(everything_said(result), f"{' '.join(args)} to {url}")
    finally:
        config.write_text(original)
    assert project.sandbox.requests == []


@pytest.mark.parametrize("url", ["http://ghe.example.com/api/v3", "http://192.168.1.10:8080"])
def test_the_http_layer_itself_refuses_plain_http_to_another_host(url: str) -> None:
    """The second line of defence, for a client built without a validated config."""
    with pytest.raises(ConfigError, match="plain http"):
        TrackerHttp("github", url)
    TrackerHttp("github", "http://127.0.0.1:9/api/v3")  # loopback is fine (the sandbox)


def test_a_next_page_link_to_another_host_gets_no_token() -> None:
    """A server (or whoever rewrote its Link header) must not be able to send the token elsewhere."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.github.com":
            return httpx.Response(
                200,
                json=[{"name": "bug"}],
                headers={"link": '<http://collector.example.net/labels?page=2>; rel="next"'},
            )
        return httpx.Response(200, json=[])

    async def read_labels() -> None:
        client = GitHubClient(
            GitHubConfig(), token=GITHUB_TOKEN, transport=httpx.MockTransport(answer)
        )
        async with client:
            await client.set_debussy_label(GitHubRef("octo/app", 1), "debussy:completed", None)

    import asyncio

    with pytest.raises(BadResponseError, match="another host") as raised:
        asyncio.run(read_labels())
    assert [request.url.host for request in seen] == ["api.github.com"], "nothing went elsewhere"
    assert_no_secret(str(raised.value), "the error")
