"""Projects of any size against the sandbox tracker, for the benchmarks and the budget tests.

A project of ``n`` linked issues splits them evenly between GitHub (alternating
between two repositories, so one GraphQL query spans both) and Jira, over five
phases: phase 1 completed, phase 2 running, phases 3-5 pending. The sandbox holds
the issues as the lifecycle pushes would have left them, except every twentieth
one, which someone closed by hand: the dashboard then has a few drifted rows
and their detail lines to draw, as a real one would.

All sizes share one seeded sandbox: a project of ``n`` issues links the first
``n`` of the seed (each project has its own cache and state database).
"""

from __future__ import annotations

import math
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from debussy.app.project import Project
from debussy.app.runs import load_project_plan, start_run
from debussy.config import STATE_DIR
from debussy.sandbox import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    SandboxTracker,
)
from debussy.sandbox import project as layout
from debussy.sandbox.project import PhaseSpec, PlanSpec
from debussy.state.manager import STATE_FILE, StateManager

GITHUB_REPOS = ("bench/app", "bench/lib")
"""The first is the plan's repo (``#N``); the second is linked as ``bench/lib#N``."""
JIRA_PROJECT = "BENCH"
PHASES = 5
DRIFT_EVERY = 20
"""Every twentieth issue (all in phase 5, pending) was closed by hand: drift."""
CACHE_TTL_SECONDS = 300
LABELS = {1: "debussy:completed", 2: "debussy:in-progress"}
JIRA_STATUSES = {1: "Done", 2: "In Progress"}

CREDENTIALS = layout.credentials_env(DEFAULT_GITHUB_TOKEN, DEFAULT_JIRA_EMAIL, DEFAULT_JIRA_TOKEN)
"""The sandbox's own fake credentials (public by design), for the child processes."""


@dataclass(frozen=True, slots=True)
class GitHubIssue:
    repo: str
    number: int
    phase: int
    drifted: bool

    @property
    def reference(self) -> str:
        """How the plan links it: ``#N`` in the plan's repo, ``owner/name#N`` elsewhere."""
        if self.repo == GITHUB_REPOS[0]:
            return f"#{self.number}"
        return f"{self.repo}#{self.number}"


@dataclass(frozen=True, slots=True)
class JiraIssue:
    key: str
    phase: int
    drifted: bool


@dataclass(frozen=True, slots=True)
class Split:
    """How ``total`` linked issues divide between the platforms."""

    total: int
    github: int
    jira: int

    @classmethod
    def of(cls, total: int) -> Split:
        return cls(total, github=(total + 1) // 2, jira=total // 2)

    def request_budget(self, platform: str) -> int:
        """PRODUCT.md §12: at most one request per 100 issues of that platform (no paging here)."""
        count = self.github if platform == "github" else self.jira
        return math.ceil(count / 100)


def github_issues(count: int) -> list[GitHubIssue]:
    return [
        GitHubIssue(
            repo=GITHUB_REPOS[index % 2],
            number=index // 2 + 1,
            phase=index % PHASES + 1,
            drifted=index % DRIFT_EVERY == DRIFT_EVERY - 1,
        )
        for index in range(count)
    ]


def jira_issues(count: int) -> list[JiraIssue]:
    return [
        JiraIssue(
            key=f"{JIRA_PROJECT}-{index + 1}",
            phase=index % PHASES + 1,
            drifted=index % DRIFT_EVERY == DRIFT_EVERY - 1,
        )
        for index in range(count)
    ]


def seed(sandbox: SandboxTracker, largest: int, *, now: datetime | None = None) -> None:
    """Put the issues of the largest project in the sandbox (smaller ones link a prefix)."""
    split = Split.of(largest)
    yesterday = (now or datetime.now(UTC)) - timedelta(days=1)
    for issue in github_issues(split.github):
        label = LABELS.get(issue.phase)
        sandbox.add_issue(
            issue.repo,
            issue.number,
            title=f"Benchmark issue {issue.repo}#{issue.number}",
            state="closed" if issue.phase == 1 else "open",
            state_reason="completed" if issue.phase == 1 else None,
            labels=[label] if label else [],
            milestone="v1",
            updated_at=yesterday,
        )
        if issue.drifted:
            sandbox.close_issue(issue.repo, issue.number, "not_planned")
    for issue in jira_issues(split.jira):
        sandbox.add_jira_issue(
            issue.key,
            summary=f"Benchmark issue {issue.key}",
            status=JIRA_STATUSES.get(issue.phase, "To Do"),
            updated_at=yesterday,
        )
        if issue.drifted:
            sandbox.move_jira_issue(issue.key, "Done", "Done")


@dataclass(frozen=True, slots=True)
class ScaledProject:
    root: Path
    split: Split
    run_id: str

    @property
    def cache_file(self) -> Path:
        return self.root / STATE_DIR / "cache.db"

    def forget_cache(self) -> None:
        """Make the next ``status --issues`` cold (the cache is only a cache)."""
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.cache_file}{suffix}").unlink(missing_ok=True)


def lay_out(root: Path, sandbox: SandboxTracker, total: int) -> ScaledProject:
    """Config, plan and a started run linking the first ``total`` seeded issues."""
    split = Split.of(total)
    root.mkdir(parents=True, exist_ok=True)
    _write_config(root, sandbox)
    plan_path = _write_plan(root, github_issues(split.github), jira_issues(split.jira))
    two_days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    with (
        Project(root) as project,
        StateManager(root / STATE_DIR / STATE_FILE, clock=lambda: two_days_ago) as state,
    ):
        plan = load_project_plan(project, plan_path)
        run = start_run(project, plan, auto_close=False, state=state)
        state.record_phase_status(run.id, "1", "completed")
        state.record_phase_status(run.id, "2", "running")
    return ScaledProject(root, split, run.id)


def _write_config(root: Path, sandbox: SandboxTracker) -> None:
    # The config a user would write (no ``write_interval_seconds``): the ``--before``
    # tree must read it too.
    layout.write_config(
        root, sandbox, repo=GITHUB_REPOS[0], ttl=CACHE_TTL_SECONDS, write_interval=None
    )


def _write_plan(root: Path, github: Sequence[GitHubIssue], jira: Sequence[JiraIssue]) -> Path:
    phases = [
        PhaseSpec(
            str(phase),
            f"Part {phase}",
            github=[issue.reference for issue in github if issue.phase == phase],
            jira=[issue.key for issue in jira if issue.phase == phase],
        )
        for phase in range(1, PHASES + 1)
    ]
    title = f"Benchmark plan ({len(github) + len(jira)} issues)"
    return layout.write_plan(root, PlanSpec(title, phases, github_repo=GITHUB_REPOS[0]))


SCHEMA_3 = """
    CREATE TABLE phases_v3 (
        run_id      TEXT NOT NULL REFERENCES runs(id),
        phase_id    TEXT NOT NULL,
        title       TEXT NOT NULL,
        position    INTEGER NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT,
        changed_at  TEXT NOT NULL,
        PRIMARY KEY (run_id, phase_id)
    );
    INSERT INTO phases_v3 (run_id, phase_id, title, position, status, reason, changed_at)
        SELECT p.run_id, p.phase_id, p.title, p.position, p.status, p.reason,
            COALESCE(p.changed_at, (SELECT r.started_at FROM runs r WHERE r.id = p.run_id))
        FROM phases p WHERE p.removed_at IS NULL;
    DROP TABLE phases;
    ALTER TABLE phases_v3 RENAME TO phases;
    ALTER TABLE runs DROP COLUMN plan_fingerprint;
    DROP TABLE unlinked_issues;
    DROP TABLE plan_changes;
    PRAGMA user_version = 3;
"""
"""Migration 4 (``debussy/state/schema.py``) undone: what a tree before living plans reads.

The ``phases`` table is written out as schema 3 had it (migration 1's): a released
schema never changes, so this copy cannot drift from it."""


UNDO: dict[int, str] = {
    6: "DROP TABLE person_holds; PRAGMA user_version = 5;",
    5: "DROP TABLE applied_plans; PRAGMA user_version = 4;",
    4: SCHEMA_3,
}
"""Each migration taken back, newest first, down to schema 3: the tables migrations 5
and 6 added hold nothing a benchmark project needs."""


def older_copy(project: ScaledProject, root: Path) -> ScaledProject:
    """The project for an older tree (``bench/run.py --before``): same plan, config and run.

    Each tree needs its own folder: the newer one migrates ``state.db`` to a schema the
    older refuses, and each keeps its own cache and config snapshot, which alternating
    runs in one folder would keep invalidating. The copy's database is taken back to
    schema 3 (``UNDO``; the oldest tree this benchmark is compared with, ``a810ae3``); a tree
    that knows a later schema migrates it forward on its first run, as for a user.
    """
    shutil.copytree(
        project.root,
        root,
        ignore=shutil.ignore_patterns("cache.db*", "config.snapshot.json", "state.db-*"),
    )
    conn = sqlite3.connect(root / STATE_DIR / STATE_FILE)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        while version in UNDO:
            conn.executescript(UNDO[version])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    return ScaledProject(root, project.split, project.run_id)
