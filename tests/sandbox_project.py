"""A Debussy project wired to a live sandbox tracker, for end-to-end tests over real HTTP.

``SandboxProject`` lays out ``.debussy/config.yaml`` pointing at the sandbox, a
master plan whose phases link GitHub issues in two repositories and Jira issues,
seeds those issues in the sandbox, and runs ``debussy`` commands in-process
(Click's runner) or as a subprocess of the installed entry point.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from debussy.cli import cli
from debussy.sandbox import SandboxTracker

GITHUB_TOKEN = "sandbox-github-token"
JIRA_TOKEN = "sandbox-jira-token"
JIRA_EMAIL = "demo@example.com"
SANDBOX_ENV = {"GITHUB_TOKEN": GITHUB_TOKEN, "JIRA_API_TOKEN": JIRA_TOKEN, "JIRA_EMAIL": JIRA_EMAIL}
"""The sandbox's own credentials, as the commands read them from the environment."""

DEBUSSY_SCRIPT = Path(sys.executable).parent / "debussy"
"""The console script ``uv sync`` installs next to the interpreter."""

MASTER_PLAN = """\
# Checkout revamp

**Owner:** @dana
**GitHub Repo:** octo/app
**GitHub Issues:** #1
**Jira Issues:** PROJ-1

## Phases

| Phase | Title | Status |
|-------|-------|--------|
| 1 | [Cart model](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
| 3 | [Rollout](phases/phase-3.md) | Pending |
"""

PHASES = {
    "phase-1.md": "# Phase 1: Cart model\n\n**GitHub Issues:** #10, octo/lib#7\n",
    "phase-2.md": "# Phase 2: Payment step\n\n**GitHub Issues:** #11\n**Jira Issues:** PROJ-2\n",
    "phase-3.md": "# Phase 3: Rollout\n\n**GitHub Issues:** #12\n**Jira Issues:** PROJ-3\n",
}

GITHUB_ISSUES = [
    ("octo/app", 1),
    ("octo/app", 10),
    ("octo/lib", 7),
    ("octo/app", 11),
    ("octo/app", 12),
]
JIRA_ISSUES = ["PROJ-1", "PROJ-2", "PROJ-3"]


@dataclass
class SandboxProject:
    root: Path
    sandbox: SandboxTracker
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wired(cls, root: Path, sandbox: SandboxTracker) -> SandboxProject:
        """The standard scene: config and plan in ``root``, its issues seeded; no run yet."""
        project = cls(root, sandbox, env=dict(SANDBOX_ENV))
        project.write_config()
        project.write_plan()
        project.seed()
        return project

    # --- layout ----------------------------------------------------------------------------

    def write_config(
        self,
        *,
        github: bool = True,
        jira: bool = True,
        ttl: int = 300,
        auto_close: bool = False,
        transitions: Mapping[str, str | None] | None = None,
        jira_section: bool = True,
    ) -> None:
        """``jira_section=False`` leaves the ``jira:`` section out (a GitHub-only project)."""
        lines = [
            "github:",
            f"  enabled: {str(github).lower()}",
            "  repo: octo/app",
            f"  api_url: {self.sandbox.github_api_url}",
            f"  auto_close: {str(auto_close).lower()}",
        ]
        if jira_section:
            lines += ["jira:", f"  enabled: {str(jira).lower()}", f"  url: {self.sandbox.jira_url}"]
        if jira_section and transitions is not None:
            lines.append("  transitions:")
            for name, value in transitions.items():
                lines.append(f"    {name}: {value if value is not None else 'null'}")
        lines += ["cache:", f"  ttl_seconds: {ttl}"]
        (self.root / ".debussy").mkdir(exist_ok=True)
        (self.root / ".debussy" / "config.yaml").write_text("\n".join(lines) + "\n")

    def write_plan(self, master: str = MASTER_PLAN, phases: Mapping[str, str] = PHASES) -> Path:
        folder = self.root / "plans" / "phases"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in phases.items():
            (folder / name).write_text(text)
        path = self.root / "plans" / "MASTER_PLAN.md"
        path.write_text(master)
        return path

    def seed(self) -> None:
        for repo, number in GITHUB_ISSUES:
            self.sandbox.add_issue(repo, number, title=f"{repo}#{number}")
        for key in JIRA_ISSUES:
            self.sandbox.add_jira_issue(key, summary=f"Work item {key}")

    # --- running debussy ---------------------------------------------------------------------

    def run(self, *args: str, input: str | None = None) -> Result:
        """``debussy ARGS`` in-process, from the project root, with the sandbox's credentials."""
        previous = Path.cwd()
        os.chdir(self.root)
        try:
            return CliRunner().invoke(cli, list(args), env=self.env, input=input)
        finally:
            os.chdir(previous)

    def ok(self, *args: str) -> Result:
        result = self.run(*args)
        assert result.exit_code == 0, f"debussy {' '.join(args)}:\n{result.output}"
        return result

    def subprocess(
        self, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The installed entry point as a real process (for imports, exit codes, pipes)."""
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "debussy", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def installed(
        self, *args: str, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The installed ``debussy`` console script, as a user's shell runs it."""
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run(
            [str(DEBUSSY_SCRIPT), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # --- the state database, for setting the scene --------------------------------------------

    def set_phase_changed_at(self, phase_id: str, moment: datetime) -> None:
        """Pretend the phase changed at ``moment`` (to order it against tracker changes)."""
        with sqlite3.connect(self.root / ".debussy" / "state.db") as conn:
            conn.execute(
                "UPDATE phases SET changed_at = ? WHERE phase_id = ?",
                (moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), phase_id),
            )

    def backdate_phases(self, seconds: int = 3600) -> None:
        """Move every phase change into the past, so tracker changes made now are newer."""
        with sqlite3.connect(self.root / ".debussy" / "state.db") as conn:
            conn.execute(
                "UPDATE phases SET changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', changed_at, ?)",
                (f"-{int(seconds)} seconds",),
            )

    def state_bytes(self) -> bytes:
        """The state database's content, WAL checkpointed, for byte-for-byte comparisons."""
        path = self.root / ".debussy" / "state.db"
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.read_bytes()

    def phase_statuses(self) -> dict[str, str]:
        import json

        document = json.loads(self.ok("status", "--json").stdout)
        return {phase["id"]: phase["status"] for phase in document["phases"]}

    def issues_json(self, *args: str) -> dict[str, Any]:
        import json

        result = self.run("status", "--issues", "--json", *args)
        assert result.exit_code in (0, 3), result.output
        return json.loads(result.stdout)


@pytest.fixture
def sandbox() -> Iterator[SandboxTracker]:
    with SandboxTracker() as tracker:
        yield tracker


@pytest.fixture
def sandbox_project(tmp_path: Path, sandbox: SandboxTracker) -> SandboxProject:
    """A seeded sandbox and a project with config and plan; no run started yet."""
    return SandboxProject.wired(tmp_path, sandbox)
