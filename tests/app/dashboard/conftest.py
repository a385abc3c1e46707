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

# --- a project wired to the sandbox tracker ---------------------------------------------------

MASTER_PLAN = """\
# Checkout revamp

**GitHub Repo:** octo/app
**GitHub Issues:** #1
**Jira Issues:** PROJ-1

| Phase | Title | Status |
|---|---|---|
| 1 | [Cart model](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
| 3 | [Receipts](phases/phase-3.md) | Pending |
| 4 | [Rollout](phases/phase-4.md) | Pending |
"""

PHASES = {
    "phase-1.md": "# Cart model\n\n**GitHub Issues:** #10, #11\n**Jira Issues:** PROJ-10\n",
    "phase-2.md": "# Payment step\n\n**GitHub Issues:** #20, #21\n**Jira Issues:** PROJ-20\n",
    "phase-3.md": "# Receipts\n\n**GitHub Issues:** #30, octo/other#7\n**Jira Issues:** PROJ-30\n",
    "phase-4.md": "# Rollout\n\n**GitHub Issues:** #40, #99\n**Jira Issues:** PROJ-40\n",
}
GITHUB_ISSUES = [("octo/app", n) for n in (1, 10, 11, 20, 21, 30, 40)] + [("octo/other", 7)]
JIRA_ISSUES = ["PROJ-1", "PROJ-10", "PROJ-20", "PROJ-30", "PROJ-40"]
"""Everything the plan links except octo/app#99, which does not exist."""

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
        config = {
            "github": {
                "enabled": github,
                "repo": "octo/app",
                "api_url": self.sandbox.github_api_url,
                "auto_close": auto_close,
            },
            "jira": {"enabled": jira, "url": self.sandbox.jira_url},
            "cache": {"ttl_seconds": ttl},
        }
        (self.root / ".debussy" / "config.yaml").write_text(json.dumps(config))

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
        for repo, number in GITHUB_ISSUES:
            tracker.add_issue(repo, number, title=f"{repo}#{number}")
        for key in JIRA_ISSUES:
            tracker.add_jira_issue(key, summary=key)
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
    (root / ".debussy").mkdir(parents=True)
    (root / "plans" / "phases").mkdir(parents=True)
    (root / "plans" / "MASTER_PLAN.md").write_text(MASTER_PLAN)
    for name, text in PHASES.items():
        (root / "plans" / "phases" / name).write_text(text)
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
