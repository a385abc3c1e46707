"""Several debussy processes on one project at once: no lost update, no "database is locked".

Every child is forked with Debussy imported (``tests/reliability/zygote.py``) and waits
at a barrier, so the parent releases them together (no sleeping). Each child then runs
its list of commands through Click's runner, in its own process, and records one JSON
line per command: arguments, exit code, stderr.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from debussy.errors import StateError
from debussy.sandbox import SandboxTracker
from debussy.state.manager import StateManager
from tests.reliability.conftest import (
    SEED,
    UNEXPECTED,
    Scale,
    child_environment,
    integrity,
    scaled_project,
    write_scaled_plan,
)
from tests.reliability.zygote import run_scripts_together
from tests.sandbox_project import SandboxProject

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Outcome:
    args: list[str]
    code: int
    stderr: str
    crash: str | None


def run_together(
    root: Path, env: dict[str, str], scripts: Sequence[Sequence[Sequence[str]]]
) -> list[list[Outcome]]:
    """Start one child per script, release them at once, collect every command's outcome."""
    output = Path(tempfile.mkdtemp(prefix="children-", dir=root.parent))
    results = run_scripts_together(root, env, scripts, output)
    return [[Outcome(**outcome) for outcome in script] for script in results]


def assert_no_crash(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        assert outcome.crash is None, outcome
        assert "Traceback" not in outcome.stderr, outcome
        assert "locked" not in outcome.stderr, f"database is locked reached the user: {outcome}"
        assert UNEXPECTED not in outcome.stderr, outcome


# --- the first open of a new database --------------------------------------------------------


def test_switching_a_new_database_to_wal_waits_for_the_busy_timeout(tmp_path: Path) -> None:
    """SQLite does not call the busy handler for a journal-mode change: Debussy must wait itself."""
    path = tmp_path / "state.db"
    path.touch()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of creating it
    started = time.monotonic()
    try:
        with pytest.raises(StateError, match="locked by another debussy process"):
            StateManager(path, busy_timeout=0.5)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert waited >= 0.45, f"gave up after {waited:.3f}s instead of waiting the busy timeout"
    with StateManager(path) as state:
        assert state.integrity_check() == "ok"


def test_commands_racing_to_create_the_state_database_all_succeed(
    tmp_path: Path, pycache_prefix: Path
) -> None:
    """Four ``debussy start`` released together on a project whose state.db does not exist."""
    env = child_environment(pycache_prefix)
    with SandboxTracker() as sandbox:
        for trial in range(3):
            project = SandboxProject(tmp_path / f"trial-{trial}", sandbox)
            project.root.mkdir()
            project.write_config()
            write_scaled_plan(project.root, Scale(3, 1, 0))
            start = [["start", "plans/MASTER_PLAN.md", "--force"]]
            results = run_together(project.root, env, [start] * 4)
            outcomes = [o for script in results for o in script]
            assert_no_crash(outcomes)
            assert [o.code for o in outcomes] == [0, 0, 0, 0], outcomes
            with StateManager(project.root / ".debussy" / "state.db") as state:
                assert len(state.list_runs()) == 4
                assert state.integrity_check() == "ok"


# --- lifecycle events, syncs and dashboards at once ------------------------------------------

PHASES = 12
SYNCED = [str(n) for n in range(1, 7)]
"""Phases whose issues were closed by hand: the syncs complete them."""
DRIVEN = [str(n) for n in range(7, PHASES + 1)]
"""Phases the lifecycle processes move by hand."""


@pytest.fixture
def busy_project(tmp_path: Path) -> Iterator[SandboxProject]:
    with SandboxTracker() as sandbox:
        project, plan = scaled_project(tmp_path, sandbox, Scale(PHASES, 1, 0))
        project.ok("start", "plans/MASTER_PLAN.md")
        project.backdate_phases()
        for phase in SYNCED:
            for number in plan.github[phase]:
                sandbox.close_issue("octo/app", number)
        yield project


def lifecycle_script(rng: random.Random, phases: list[str], rounds: int) -> list[list[str]]:
    """Start and finish each phase ``rounds`` times, phases in a random order per round.

    Every command changes its phase's status, so every one must leave an event.
    Events are recorded without pushing (``--dry-run-sync``) to keep the database busy.
    """
    script: list[list[str]] = []
    for _ in range(rounds):
        order = phases[:]
        rng.shuffle(order)
        for phase in order:
            script.append(["phase", "start", phase, "--dry-run-sync"])
            script.append(["phase", "done", phase, "--dry-run-sync"])
    return script


def replay_events(path: Path) -> tuple[dict[str, str], int]:
    """The phases' statuses and the run completions that the event log alone implies."""
    conn = sqlite3.connect(path)
    try:
        statuses = {row[0]: "pending" for row in conn.execute("SELECT phase_id FROM phases")}
        completions = 0
        for phase_id, status in conn.execute(
            "SELECT phase_id, status FROM phase_events ORDER BY id"
        ):
            was_done = all(s == "completed" for s in statuses.values())
            statuses[phase_id] = status
            if not was_done and all(s == "completed" for s in statuses.values()):
                completions += 1
        return statuses, completions
    finally:
        conn.close()


def table(path: Path, sql: str) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_lifecycle_events_syncs_and_dashboards_at_once_lose_nothing(
    busy_project: SandboxProject, pycache_prefix: Path
) -> None:
    rng = random.Random(f"{SEED}-concurrency")
    half = len(DRIVEN) // 2
    first = lifecycle_script(rng, DRIVEN[:half], rounds=3)
    second = lifecycle_script(rng, DRIVEN[half:], rounds=3)
    syncs = [["sync", "--apply", "--force", "--json"]] * 6
    dashboards = [["status", "--issues", "--refresh", "--json"]] * 6
    env = {**child_environment(pycache_prefix), **busy_project.env}

    results = run_together(busy_project.root, env, [first, second, syncs, dashboards])

    every = [outcome for script in results for outcome in script]
    assert_no_crash(every)
    lifecycle = results[0] + results[1]
    assert all(o.code == 0 for o in lifecycle), [o for o in lifecycle if o.code]
    applied = [o for o in results[2] if o.code == 0]
    for o in results[2]:
        assert o.code == 0 or "`debussy sync` again" in o.stderr, o
    assert all(o.code == 0 for o in results[3]), results[3]

    path = busy_project.root / ".debussy" / "state.db"
    assert integrity(path) == "ok"
    cli_events = table(path, "SELECT COUNT(*) FROM phase_events WHERE source = 'cli'")[0][0]
    assert cli_events == len(lifecycle), "every lifecycle command left exactly one event"
    assert table(path, "SELECT COUNT(*) FROM sync_history")[0][0] == len(applied), (
        "every applied sync, and only those, is in the history"
    )
    replayed, completions = replay_events(path)
    stored = dict(table(path, "SELECT phase_id, status FROM phases"))
    assert replayed == stored, "the phases are what their event log says"
    features = table(path, "SELECT COUNT(*) FROM completed_features")[0][0]
    assert features == completions, "the run was recorded complete exactly each time it completed"

    final = busy_project.run("sync", "--apply", "--force", "--json")
    assert final.exit_code == 0, final.output
    statuses = busy_project.phase_statuses()
    assert statuses == {str(n): "completed" for n in range(1, PHASES + 1)}
    run = json.loads(busy_project.ok("status", "--json").stdout)["run"]
    assert run["status"] == "completed"
