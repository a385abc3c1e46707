"""kill -9 at random points: the state database stays intact and every change all-or-nothing.

Two commands are killed over and over, each as a real child process:

- ``sync --apply`` from the tracker, on a plan of 300 phases whose 300 issues were
  all closed by hand: one transaction of 300 guarded phase changes, 300 events,
  the run's completion, the completed feature and the sync history entry;
- ``phase done`` of the last of three phases, each linking 17 issues: the event, the
  run's completion and the completed feature with its 51 issues (one transaction),
  then 17 tracker pushes over HTTP, then their records (a second transaction).

Kill points come from three strategies, drawn from one seeded RNG (the seed is in
every failure message; ``DEBUSSY_RELIABILITY_SEED`` replays it):

- ``anywhere``: after a delay drawn uniformly from an undisturbed run's duration;
- ``late``: once the sandbox has seen the command's reads (sync) or its first
  write (lifecycle), after a delay drawn from the rest of the undisturbed run;
- ``in_transaction``: as soon as a probe connection finds the database's write
  lock taken by the child (it is inside a write transaction), plus a short random
  delay. For the lifecycle that is the event's transaction: the one recording the
  pushes lasts about a millisecond and is reached by the other two strategies.

After every kill: ``PRAGMA integrity_check`` is ``ok``; the state is exactly the
state before, or exactly the state after a whole transaction (never in between);
and the same command, run again, finishes the job. ``DEBUSSY_CRASH_KILLS`` sets
the kills per strategy (default 8, i.e. 24 per command). Each (command, strategy)
is its own test, so ``pytest -n 2`` spreads the six loops over both workers
instead of two long tests setting the suite's floor.

Each child runs the console script's ``main`` in a process forked from a server that
has imported Debussy already (``tests/reliability/zygote.py``): its own process, killed
with SIGKILL, but without 0.25 s of imports before every run, so the kills land in the
command's work.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.github_api import RateLimits
from tests.reliability.conftest import (
    SEED,
    Scale,
    checkpointed_bytes,
    child_environment,
    integrity,
    restore_state,
    scaled_project,
)
from tests.reliability.zygote import Forked
from tests.sandbox_project import SandboxProject

pytestmark = [
    pytest.mark.slow,
    # The sandbox serves untraced children here: its threads need not be traced either.
    pytest.mark.usefixtures("sandbox_threads_not_measured"),
]

KILLS_PER_STRATEGY = int(os.environ.get("DEBUSSY_CRASH_KILLS", "8"))
POLL = 0.002
"""Seconds between two looks at observable state (a process wait, not a sleep)."""
IN_TRANSACTION_JITTER = 0.02
PATIENCE = 60.0
"""Longest a single child may take before the test gives up on it."""


# --- killing ----------------------------------------------------------------------------------


class WriteLockProbe:
    """Tells whether another connection holds the database's write lock, without waiting."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, timeout=0, isolation_level=None)

    def taken(self) -> bool:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        self._conn.execute("ROLLBACK")
        return False

    def close(self) -> None:
        self._conn.close()


@dataclass
class Child:
    """One ``debussy`` child process and what happened to it."""

    process: Forked
    started: float = field(default_factory=time.monotonic)

    def wait_for(self, condition: Callable[[], bool]) -> bool:
        """Poll ``condition`` between short waits on the process; False if it ended first."""
        while not condition():
            try:
                self.process.wait(timeout=POLL)
            except subprocess.TimeoutExpired:
                if time.monotonic() - self.started > PATIENCE:
                    self.process.kill()
                    raise AssertionError("a child never reached its kill point") from None
            else:
                return False
        return True

    def kill_after(self, delay: float) -> bool:
        """SIGKILL once ``delay`` has passed; False when the command finished first."""
        try:
            self.process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return True
        return False

    def finish(self) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return code, self.process.stderr()


@dataclass
class Timings:
    """An undisturbed run: its duration and when it reached the milestone ``late`` waits for."""

    total: float
    milestone: float


@dataclass
class Tally:
    """What the loop did, for the failure message and for docs/RELIABILITY.md."""

    seed: str
    kills: dict[str, int] = field(default_factory=dict[str, int])
    finished_first: dict[str, int] = field(default_factory=dict[str, int])
    outcomes: dict[str, int] = field(default_factory=dict[str, int])

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1

    def __str__(self) -> str:
        return (
            f"seed {self.seed}; kills {self.kills}; finished before the kill "
            f"{self.finished_first}; states found {self.outcomes}"
        )


# --- looking at the state ------------------------------------------------------------------


def summary(path: Path) -> dict[str, Any]:
    """The state as far as all-or-nothing is concerned (timestamps left out)."""
    conn = sqlite3.connect(path)
    try:

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 -- constant names

        return {
            "phases": sorted(
                (row[0], row[1], row[2])
                for row in conn.execute("SELECT phase_id, status, reason FROM phases")
            ),
            "runs": sorted(
                (row[0], row[1], row[2] is not None)
                for row in conn.execute("SELECT id, status, completed_at FROM runs")
            ),
            "phase_events": count("phase_events"),
            "completed_features": count("completed_features"),
            "completed_feature_issues": count("completed_feature_issues"),
            "sync_history": count("sync_history"),
            "tracker_pushes": count("tracker_pushes"),
        }
    finally:
        conn.close()


@dataclass
class Loop:
    """Everything a crash loop needs: the project, the command and its legal end states."""

    name: str
    project: SandboxProject
    command: list[str]
    env: dict[str, str]
    pristine: bytes
    legal: dict[str, dict[str, Any]]
    """Name -> state summary of every state a kill may leave behind."""
    milestone: Callable[[], bool]
    reset_tracker: Callable[[], None]
    finish_job: Callable[[Loop, str, str], None]
    """``(loop, where, state found)``: runs the next command, checks it finished the work."""
    transactions: int
    measured: Timings | None = None

    @property
    def state_path(self) -> Path:
        return self.project.root / ".debussy" / "state.db"

    def reset(self) -> None:
        restore_state(self.state_path, self.pristine)
        self.reset_tracker()
        self.project.sandbox.clear_requests()

    def spawn(self) -> Child:
        """``debussy COMMAND`` in a process of its own, forked with its imports done."""
        output = self.project.root.parent / f"{self.project.root.name}-child"
        return Child(Forked(self.command, cwd=self.project.root, env=self.env, output=output))

    def timings(self) -> Timings:
        """An undisturbed run, measured once per loop and shared by its strategies.

        One run is enough: the children fork from a server that imported the commands
        already, and whatever a command imports lazily was compiled into the run's shared
        bytecode cache by the fixture's in-process run (a first, discarded run used to
        fill a cache of the children's own)."""
        if self.measured is None:
            self.measured = self._undisturbed()
        return self.measured

    def _undisturbed(self) -> Timings:
        self.reset()
        child = self.spawn()
        reached = child.wait_for(self.milestone)
        milestone = time.monotonic() - child.started
        code, err = child.finish()
        total = time.monotonic() - child.started
        assert code == 0, err
        assert reached, "the milestone is observable in an undisturbed run"
        return Timings(total=total, milestone=milestone)

    def run(self, strategy: str, rng: random.Random, timings: Timings, tally: Tally) -> None:
        self.reset()
        probe = WriteLockProbe(self.state_path) if strategy == "in_transaction" else None
        try:
            child = self.spawn()
            delay = self._arm(strategy, rng, timings, child, probe)
            killed = delay is not None and child.kill_after(delay)
        finally:
            if probe is not None:
                probe.close()
        where = f"{self.name}, {strategy}, {tally}"
        if not killed:
            code, err = child.finish()
            assert code == 0, f"{where}: an undisturbed finish failed: {err}"
            tally.count(tally.finished_first, strategy)
        else:
            tally.count(tally.kills, strategy)
        self.check_after_kill(where, tally)

    def _arm(
        self,
        strategy: str,
        rng: random.Random,
        timings: Timings,
        child: Child,
        probe: WriteLockProbe | None,
    ) -> float | None:
        """Wait for the strategy's moment; the delay still to wait, or None if it ended first."""
        if strategy == "anywhere":
            return rng.uniform(0, timings.total)
        if strategy == "late":
            rest = max(timings.total - timings.milestone, POLL)
            delay = rng.uniform(0, rest)
            return delay if child.wait_for(self.milestone) else None
        assert probe is not None
        which = rng.randrange(self.transactions)
        delay = rng.uniform(0, IN_TRANSACTION_JITTER)
        for _ in range(which + 1):
            if not child.wait_for(probe.taken):
                return None
            if _ < which and not child.wait_for(lambda: not probe.taken()):
                return None
        return delay

    def check_after_kill(self, where: str, tally: Tally) -> None:
        verdict = integrity(self.state_path)
        assert verdict == "ok", f"{where}: integrity_check says {verdict}"
        found = summary(self.state_path)
        names = [name for name, state in self.legal.items() if state == found]
        assert names, f"{where}: a state between two legal states: {found}"
        tally.count(tally.outcomes, names[0])
        self.finish_job(self, where, names[0])


STRATEGIES = ("anywhere", "late", "in_transaction")


def kill_loop(loop: Loop, strategy: str, seed_label: str) -> Tally:
    """``KILLS_PER_STRATEGY`` kills of one strategy (a test each, so xdist runs them in parallel)."""
    seed = f"{SEED}-{seed_label}-{strategy}"
    rng = random.Random(seed)
    timings = loop.timings()
    tally = Tally(seed=seed)
    attempts = 0
    while tally.kills.get(strategy, 0) < KILLS_PER_STRATEGY and attempts < 3 * KILLS_PER_STRATEGY:
        attempts += 1
        loop.run(strategy, rng, timings, tally)
    assert tally.kills.get(strategy, 0) >= 1, f"{loop.name}: no {strategy} kill landed; {tally}"
    return tally


# --- sync --apply: 300 guarded changes in one transaction ----------------------------------


SYNC_SCALE = Scale(phases=300, github_per_phase=1, jira_per_phase=0)


@pytest.fixture(scope="module")
def sync_loop(tmp_path_factory: pytest.TempPathFactory, pycache_prefix: Path) -> Iterator[Loop]:
    with SandboxTracker() as sandbox:
        project, plan = scaled_project(tmp_path_factory.mktemp("crash-sync"), sandbox, SYNC_SCALE)
        project.ok("start", "plans/MASTER_PLAN.md")
        project.backdate_phases()
        for numbers in plan.github.values():
            for number in numbers:
                sandbox.close_issue("octo/app", number)
        state_path = project.root / ".debussy" / "state.db"
        pristine = checkpointed_bytes(state_path)
        before = summary(state_path)
        reads = -(-SYNC_SCALE.issues // 100)

        def reads_answered() -> bool:
            return sandbox.request_count("github") >= reads

        loop = Loop(
            name="sync --apply",
            project=project,
            command=["sync", "--apply"],
            env=child_environment(pycache_prefix, project.env),
            pristine=pristine,
            legal={"before": before},
            milestone=reads_answered,
            reset_tracker=lambda: None,
            finish_job=_sync_finishes,
            transactions=1,
        )
        loop.reset()
        assert project.run("sync", "--apply").exit_code == 0
        loop.legal["applied"] = summary(state_path)
        yield loop


def _sync_finishes(loop: Loop, where: str, found: str) -> None:
    """The next sync applies what the killed one did not, and is recorded like any sync."""
    result = loop.project.run("sync", "--apply", "--json")
    assert result.exit_code == 0, f"{where}: the next sync failed: {result.output}"
    expected = dict(loop.legal["applied"])
    if found == "applied":
        expected["sync_history"] += 1  # a sync with nothing left to do is still recorded
    assert summary(loop.state_path) == expected, f"{where}: the next sync fell short"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sync_apply_killed_anywhere_is_all_or_nothing(sync_loop: Loop, strategy: str) -> None:
    before, applied = sync_loop.legal["before"], sync_loop.legal["applied"]
    assert applied["phase_events"] - before["phase_events"] == SYNC_SCALE.phases
    assert (applied["sync_history"], applied["completed_features"]) == (1, 1)

    tally = kill_loop(sync_loop, strategy, "sync")
    print(f"sync --apply: {tally}")  # the counts docs/RELIABILITY.md records (pytest -s)

    assert set(tally.outcomes) <= {"before", "applied"}


# --- a lifecycle event: its transaction, 50 pushes, their records ---------------------------


LIFECYCLE_SCALE = Scale(phases=3, github_per_phase=14, jira_per_phase=3)
LAST_PHASE = str(LIFECYCLE_SCALE.phases)


@dataclass(frozen=True)
class LastPhase:
    """The last phase's issues, which the killed ``phase done`` pushes to."""

    numbers: list[int]
    keys: list[str]

    def reset_tracker(self, sandbox: SandboxTracker) -> None:
        # The sandbox enforces GitHub's 5000 requests an hour, which a long soak
        # (DEBUSSY_CRASH_KILLS=50) spends: every iteration starts a new hour.
        sandbox._github.limits = RateLimits()
        for number in self.numbers:
            sandbox.set_labels("octo/app", number, ["debussy:in-progress"])
        for key in self.keys:
            sandbox.move_jira_issue(key, "In Progress")

    def finish_job(self, loop: Loop, where: str, found: str) -> None:
        """Replaying the event is the documented way to finish: every issue ends right."""
        pushes_before = summary(loop.state_path)["tracker_pushes"]
        result = loop.project.run("phase", "done", LAST_PHASE)
        assert result.exit_code == 0, f"{where}: the replay failed: {result.output}"
        assert "Warning" not in result.stderr, f"{where}: {result.stderr}"
        after = summary(loop.state_path)
        # The replay converges: it sends (and records) only what is still off — nothing when
        # the killed run got every write through before dying, one write per issue at most.
        added = after["tracker_pushes"] - pushes_before
        assert 0 <= added <= len(self.numbers) + len(self.keys), where
        pushed = loop.legal["pushed"]
        assert {k: v for k, v in after.items() if k != "tracker_pushes"} == {
            k: v for k, v in pushed.items() if k != "tracker_pushes"
        }, f"{where}: the replay did not end in the completed state"
        sandbox = loop.project.sandbox
        labels = {tuple(sandbox.github_issue("octo/app", n)["labels"]) for n in self.numbers}
        assert labels == {("debussy:completed",)}, f"{where}: {labels}"
        statuses = {sandbox.jira_issue(key)["status"] for key in self.keys}
        assert statuses == {"Done"}, f"{where}: {statuses}"


@pytest.fixture(scope="module")
def lifecycle_loop(
    tmp_path_factory: pytest.TempPathFactory, pycache_prefix: Path
) -> Iterator[Loop]:
    with SandboxTracker() as sandbox:
        project, plan = scaled_project(
            tmp_path_factory.mktemp("crash-lifecycle"), sandbox, LIFECYCLE_SCALE
        )
        project.ok("start", "plans/MASTER_PLAN.md")
        for phase_id in plan.phase_ids:
            project.ok("phase", "start", phase_id)
            if phase_id != LAST_PHASE:
                project.ok("phase", "done", phase_id)
        last = LastPhase(plan.github[LAST_PHASE], plan.jira[LAST_PHASE])
        state_path = project.root / ".debussy" / "state.db"

        def first_write_seen() -> bool:
            return sandbox.request_count(writes_only=True) >= 1

        loop = Loop(
            name=f"phase done {LAST_PHASE}",
            project=project,
            command=["phase", "done", LAST_PHASE],
            env=child_environment(pycache_prefix, project.env),
            pristine=checkpointed_bytes(state_path),
            legal={"before": summary(state_path)},
            milestone=first_write_seen,
            reset_tracker=lambda: last.reset_tracker(sandbox),
            finish_job=last.finish_job,
            transactions=1,
        )
        loop.reset()
        assert project.run("phase", "done", LAST_PHASE).exit_code == 0
        pushed = summary(state_path)
        loop.legal["pushed"] = pushed
        loop.legal["recorded"] = {
            **pushed,
            "tracker_pushes": loop.legal["before"]["tracker_pushes"],
        }
        yield loop


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_lifecycle_event_killed_anywhere_is_all_or_nothing(
    lifecycle_loop: Loop, strategy: str
) -> None:
    legal = lifecycle_loop.legal
    assert legal["recorded"]["completed_features"] == 1
    assert legal["pushed"]["tracker_pushes"] - legal["before"]["tracker_pushes"] == (
        LIFECYCLE_SCALE.github_per_phase + LIFECYCLE_SCALE.jira_per_phase
    )

    tally = kill_loop(lifecycle_loop, strategy, "lifecycle")
    print(f"phase done: {tally}")

    assert set(tally.outcomes) <= {"before", "recorded", "pushed"}
