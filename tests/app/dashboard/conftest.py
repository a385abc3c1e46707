"""Fixtures for the status dashboard tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from debussy.cli import cli
from debussy.sandbox import SandboxTracker
from debussy.sandbox import project as layout
from debussy.sandbox.project import CHECKOUT_REVAMP_DASHBOARD

# --- a project wired to the sandbox tracker ---------------------------------------------------

SCENE = CHECKOUT_REVAMP_DASHBOARD
"""Four phases, each linking both trackers; ``octo/app#99`` is linked but does not exist."""
MASTER_PLAN = SCENE.master_text()
PHASES = SCENE.phase_texts()
GITHUB_ISSUES = SCENE.github_issues()
JIRA_ISSUES = SCENE.jira_keys()

GITHUB_TOKEN = "ghp_SandboxSecretToken0123456789abcdef"
JIRA_TOKEN = "ATATT-sandbox-jira-secret-token-4242"
JIRA_EMAIL = "robin@example.com"


class ShiftedClock:
    """The sandbox's clock: real time moved by ``offset``, to say who changed last."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class SandboxProject:
    root: Path
    sandbox: SandboxTracker
    clock: ShiftedClock
    env: dict[str, str]

    def configure(
        self, *, github: bool = True, jira: bool = True, ttl: int = 300, auto_close: bool = False
    ) -> None:
        layout.write_config(
            self.root, self.sandbox, github=github, jira=jira, ttl=ttl, auto_close=auto_close
        )

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """``debussy ARGS`` in this process (CliRunner: stdout and stderr are pipes)."""
        return CliRunner().invoke(cli, list(args), env=env)

    def ok(self, *args: str) -> Result:
        result = self.cli(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def issues(self, *args: str, code: int = 0) -> dict[str, Any]:
        """``status --issues --json`` as a document, checking the exit code."""
        result = self.cli("status", "--issues", "--json", *args)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    def subprocess(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m debussy ARGS`` in a fresh interpreter."""
        return subprocess.run(
            [sys.executable, "-m", "debussy", *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def by_key(self, document: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {issue["key"]: issue for issue in document["issues"]}

    def private_files(self) -> list[Path]:
        return [path for path in (self.root / ".debussy").rglob("*") if path.is_file()]


@pytest.fixture
def sandbox_clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def sandbox(sandbox_clock: ShiftedClock) -> Iterator[SandboxTracker]:
    with SandboxTracker(
        github_token=GITHUB_TOKEN,
        jira_email=JIRA_EMAIL,
        jira_token=JIRA_TOKEN,
        clock=sandbox_clock,
    ) as tracker:
        sandbox_clock.offset = -timedelta(days=1)  # the issues exist since yesterday
        layout.seed(tracker, SCENE, jira_summary="{key}")
        sandbox_clock.offset = timedelta(0)
        yield tracker


@pytest.fixture
def project(
    tmp_path: Path,
    sandbox: SandboxTracker,
    sandbox_clock: ShiftedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> SandboxProject:
    """A started run of the four-phase plan, every tracker reachable, nothing cached yet."""
    root = tmp_path / "shop"
    layout.write_plan(root, SCENE)
    env = {
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "JIRA_API_TOKEN": JIRA_TOKEN,
        "JIRA_EMAIL": JIRA_EMAIL,
        "NO_COLOR": "",
        "CLICOLOR_FORCE": "0",
        "FORCE_COLOR": "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    made = SandboxProject(root, sandbox, sandbox_clock, {**os.environ, **env})
    made.configure()
    made.ok("start", "plans/MASTER_PLAN.md")
    return made
