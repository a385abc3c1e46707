"""Tools shared by the reliability suite: projects of any size, child processes, oracles.

The oracles are what every reliability test asks of Debussy, whatever it did to it:
one line on stderr naming the culprit and no traceback (``assert_one_line_error``),
a state database SQLite calls intact (``integrity``), and, where a change must be
all-or-nothing, the logical content of the state tables (``dump_state``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox import project as layout
from debussy.sandbox.project import PlanSpec
from tests.sandbox_project import SANDBOX_ENV, SandboxProject

SEED = int(os.environ.get("DEBUSSY_RELIABILITY_SEED", "20261127"))
"""Seed of every random choice in this suite (kill points, fuzz-independent picks).

Failure messages print it; re-run with ``DEBUSSY_RELIABILITY_SEED=<seed>`` to replay."""

UNEXPECTED = "Error: unexpected "
"""How the CLI reports an exception nobody translated: always a bug, even on one line."""

TRACKER_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "JIRA_API_TOKEN", "JIRA_EMAIL")

STATE_TABLES = (
    "runs",
    "phases",
    "linked_issues",
    "completed_features",
    "completed_feature_issues",
    "phase_events",
    "tracker_pushes",
    "sync_history",
)
"""What Debussy remembers (snapshots left out: a dashboard look legitimately rewrites them)."""


# --- child processes ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def pycache_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the children keep their bytecode: the run's shared cache when there is one.

    ``tests/conftest.py`` gives every process of the run one ``PYTHONPYCACHEPREFIX``,
    which the product and its libraries are already compiled into by the time these
    tests run. A folder of this worker's own made each worker's first children compile
    all of it again (the load test's warm-up alone: ~1 s per worker).
    """
    shared = os.environ.get("PYTHONPYCACHEPREFIX")
    return Path(shared) if shared else tmp_path_factory.mktemp("pycache")


def child_environment(pycache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``debussy`` child process.

    Coverage is left out: a child killed with SIGKILL would otherwise leave a
    half-written data file behind for ``coverage combine`` to trip on. Bytecode is
    cached in ``pycache`` so that interpreter start-up does not dwarf the command.
    Tracker variables of the developer never leak in; ``extra`` sets the sandbox's.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COVERAGE_", "COV_CORE_")) and name not in TRACKER_VARIABLES
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra or {})
    return env


# --- projects of any size -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scale:
    """A plan of ``phases`` phases, each linking this many GitHub and Jira issues."""

    phases: int
    github_per_phase: int
    jira_per_phase: int

    @property
    def issues(self) -> int:
        return self.phases * (self.github_per_phase + self.jira_per_phase)


@dataclass(frozen=True, slots=True)
class ScaledPlan:
    github: dict[str, list[int]]
    """Phase id -> issue numbers in ``octo/app``."""
    jira: dict[str, list[str]]
    """Phase id -> Jira keys."""

    @property
    def phase_ids(self) -> list[str]:
        return list(self.github)


def scaled_spec(scale: Scale) -> PlanSpec:
    """The plan of ``scale``: ``octo/app`` issues from #100 on, Jira keys from PROJ-1 on."""
    return layout.scaled_plan(scale.phases, scale.github_per_phase, scale.jira_per_phase)


def write_scaled_plan(root: Path, scale: Scale) -> ScaledPlan:
    """``plans/MASTER_PLAN.md`` plus one phase file per phase, numbered from 1."""
    spec = scaled_spec(scale)
    layout.write_plan(root, spec)
    return ScaledPlan(
        github={p.id: [int(ref.lstrip("#")) for ref in p.github] for p in spec.phases},
        jira={p.id: list(p.jira) for p in spec.phases},
    )


def seed_scaled(sandbox: SandboxTracker, plan: ScaledPlan) -> None:
    for numbers in plan.github.values():
        for number in numbers:
            sandbox.add_issue("octo/app", number, title=f"Issue {number}")
    for keys in plan.jira.values():
        for key in keys:
            sandbox.add_jira_issue(key, summary=f"Work item {key}")


def scaled_project(
    root: Path, sandbox: SandboxTracker, scale: Scale
) -> tuple[SandboxProject, ScaledPlan]:
    """A project wired to ``sandbox`` with a plan of ``scale``, issues seeded, no run yet."""
    project = SandboxProject(root, sandbox, env=dict(SANDBOX_ENV))
    project.write_config()
    plan = write_scaled_plan(root, scale)
    seed_scaled(sandbox, plan)
    return project, plan


# --- oracles ----------------------------------------------------------------------------------


def integrity(path: Path) -> str:
    """SQLite's own verdict on the database file (opening it also recovers a hot WAL)."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def dump_state(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row Debussy keeps about runs, phases, events, features, pushes and syncs."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: [tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]  # noqa: S608 -- constant names
            for table in STATE_TABLES
        }
    finally:
        conn.close()


def restore_state(path: Path, pristine: bytes) -> None:
    """Put a checkpointed copy of the state database back, without its WAL and index."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(pristine)


def checkpointed_bytes(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.read_bytes()


def assert_one_line_error(stderr: str, *, naming: str, context: str = "") -> str:
    """stderr holds exactly one ``Error:`` line, naming ``naming``, and no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    where = f" ({context})" if context else ""
    assert "Traceback" not in stderr, f"a traceback reached the user{where}:\n{stderr}"
    assert UNEXPECTED not in stderr, f"an unexpected exception reached the user{where}:\n{stderr}"
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, f"expected one Error: line{where}, got:\n{stderr}"
    assert naming in errors[0], f"the error does not name {naming!r}{where}: {errors[0]}"
    return errors[0]
