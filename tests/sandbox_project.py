"""A Debussy project wired to a live sandbox tracker, for end-to-end tests over real HTTP.

``SandboxProject`` lays out ``.debussy/config.yaml`` pointing at the sandbox, a
master plan whose phases link GitHub issues in two repositories and Jira issues,
seeds those issues in the sandbox (all three with ``debussy.sandbox.project``, the
one builder tests, demo and benchmarks share), and runs ``debussy`` commands
in-process (Click's runner) or as a subprocess of the installed entry point.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from debussy.cli import cli
from debussy.sandbox import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    SandboxTracker,
)
from debussy.sandbox import (
    project as layout,
)
from debussy.sandbox.project import CHECKOUT_REVAMP, credentials_env
from debussy.state.manager import StateManager
from tests.clock import ManualClock

SANDBOX_ENV = credentials_env(DEFAULT_GITHUB_TOKEN, DEFAULT_JIRA_EMAIL, DEFAULT_JIRA_TOKEN)
"""The sandbox's own credentials, as the commands read them from the environment."""
GITHUB_TOKEN = SANDBOX_ENV["GITHUB_TOKEN"]
JIRA_TOKEN = SANDBOX_ENV["JIRA_API_TOKEN"]
JIRA_EMAIL = SANDBOX_ENV["JIRA_EMAIL"]

DEBUSSY_SCRIPT = Path(sys.executable).parent / "debussy"
"""The console script ``uv sync`` installs next to the interpreter."""

MASTER_PLAN = CHECKOUT_REVAMP.master_text()
PHASES = CHECKOUT_REVAMP.phase_texts()
GITHUB_ISSUES = CHECKOUT_REVAMP.github_issues()
JIRA_ISSUES = CHECKOUT_REVAMP.jira_keys()


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
        sub_issues: bool = False,
    ) -> None:
        """``jira_section=False`` leaves the ``jira:`` section out (a GitHub-only project)."""
        layout.write_config(
            self.root,
            self.sandbox,
            github=github,
            jira=jira,
            ttl=ttl,
            auto_close=auto_close,
            transitions=transitions,
            jira_section=jira_section,
            sub_issues=sub_issues,
        )

    def write_plan(self, master: str = MASTER_PLAN, phases: Mapping[str, str] = PHASES) -> Path:
        folder = self.root / "plans" / "phases"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in phases.items():
            (folder / name).write_text(text)
        path = self.root / "plans" / "MASTER_PLAN.md"
        path.write_text(master)
        return path

    def seed(self) -> None:
        layout.seed(self.sandbox, CHECKOUT_REVAMP)

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

        document = json.loads(self.ok("status", "--json").stdout)
        return {phase["id"]: phase["status"] for phase in document["phases"]}

    def issues_json(self, *args: str) -> dict[str, Any]:

        result = self.run("status", "--issues", "--json", *args)
        assert result.exit_code in (0, 3), result.output
        return json.loads(result.stdout)


def sync_json(project: SandboxProject, *args: str, code: int = 0) -> dict[str, Any]:
    """``debussy sync --json ARGS``: the document, after checking the exit code."""
    result = project.run("sync", "--json", *args)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def started(project: SandboxProject, *args: str) -> SandboxProject:
    """The plan started (``start ARGS``), with the request log cleared after it."""
    project.ok("start", "plans/MASTER_PLAN.md", *args)
    project.sandbox.clear_requests()
    return project


def clean(project: SandboxProject) -> None:
    """The dashboard read fresh shows no drift (exit 0 with ``--exit-code``)."""
    result = project.run("status", "--issues", "--refresh", "--exit-code")
    assert result.exit_code == 0, result.output


def labels(project: SandboxProject, repo: str, number: int) -> list[str]:
    """A GitHub issue's labels on the sandbox, sorted."""
    return sorted(project.sandbox.github_issue(repo, number)["labels"])


def phase_one_running(project: SandboxProject) -> SandboxProject:
    """A run with phase 1 running; every phase change an hour old, so hand edits are newer."""
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "start", "1")
    project.backdate_phases()
    project.sandbox.clear_requests()
    return project


@pytest.fixture
def sandbox() -> Iterator[SandboxTracker]:
    with SandboxTracker() as tracker:
        yield tracker


@pytest.fixture
def sandbox_project(tmp_path: Path, sandbox: SandboxTracker) -> SandboxProject:
    """A seeded sandbox and a project with config and plan; no run started yet."""
    return SandboxProject.wired(tmp_path, sandbox)


@pytest.fixture
def manual_clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """One hand-moved clock for the state database every in-process command opens.

    Give the same clock to a ``SandboxTracker`` (``clocked_project`` does) and the
    order of a person's change and Debussy's event is the test's, not the machine's.
    """
    import functools

    from debussy.app import project as app_project

    clock = ManualClock()
    monkeypatch.setattr(app_project, "StateManager", functools.partial(StateManager, clock=clock))
    return clock


@pytest.fixture
def clocked_project(tmp_path: Path, manual_clock: ManualClock) -> Iterator[SandboxProject]:
    """``sandbox_project`` with the sandbox and the state on ``manual_clock``; no run yet."""
    with SandboxTracker(clock=manual_clock) as tracker:
        yield SandboxProject.wired(tmp_path, tracker)


@pytest.fixture(scope="module")
def sandbox_threads_not_measured() -> Iterator[None]:
    """Threads started while the module runs (the sandbox's server) are not traced by coverage.

    For modules whose sandbox serves hundreds or thousands of issues a test, mostly to
    ``debussy`` children that coverage does not measure either (``pyproject.toml``):
    tracing the server's threads made serving ~2.5 times slower (graphql-core's execution
    pays the tracer too, though it is not measured), ~5 s of the suite's CPU for the
    crash, load, closed-pipe and request-budget modules. The same sandbox code runs traced in every other
    end-to-end test and in tests/sandbox, so the suite's coverage does not change (checked
    file by file). The tests' own thread, and so every in-process command, stays traced.
    Request it with ``pytestmark = pytest.mark.usefixtures(...)`` so that it starts
    before the module's sandbox does.
    """
    hook = threading.gettrace()
    threading.settrace(None)  # type: ignore[arg-type]  # typeshed omits None; new threads start untraced
    try:
        yield
    finally:
        threading.settrace(hook)  # type: ignore[arg-type]
