"""The StateManager: runs, lifecycle, completion, guarded changes, migration, failure modes."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from debussy.errors import StalePlanError, StateError
from debussy.state.changes import GuardedChange, NewLink, NewPhase, NewPush
from debussy.state.manager import StateManager
from debussy.state.records import Snapshot
from debussy.state.schema import SCHEMA_VERSION
from tests.clock import ManualClock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "state"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


@pytest.fixture
def state(tmp_path: Path, clock: ManualClock) -> StateManager:
    manager = StateManager(tmp_path / ".debussy" / "state.db", clock=clock)
    yield manager
    manager.close()


def new_run(state: StateManager, phases: int = 3, *, title: str = "Checkout revamp") -> str:
    links = [
        NewLink("github", "octo/app#1", "GH-1", None),
        NewLink("jira", "PROJ-9", "PROJ-9", None),
    ]
    links += [
        NewLink("github", f"octo/app#{10 + n}", f"GH-{10 + n}", str(n))
        for n in range(1, phases + 1)
    ]
    run = state.create_run(
        plan_path="plans/MASTER_PLAN.md",
        plan_title=title,
        phases=[NewPhase(str(n), f"Phase {n}") for n in range(1, phases + 1)],
        issues=links,
    )
    return run.id


def test_a_new_run_has_pending_phases_and_its_linked_issues(state: StateManager) -> None:
    run_id = new_run(state)
    run = state.get_run()
    assert run.id == run_id
    assert run.status == "running"
    assert run.started_at == "2026-11-27T09:00:00Z"
    assert [(p.phase_id, p.status) for p in state.phases(run_id)] == [
        ("1", "pending"),
        ("2", "pending"),
        ("3", "pending"),
    ]
    keys = [(i.phase_id, i.display_key) for i in state.linked_issues(run_id)]
    assert keys[:2] == [(None, "GH-1"), (None, "PROJ-9")]
    assert ("2", "GH-12") in keys


def test_latest_run_is_the_most_recently_started(state: StateManager, clock: ManualClock) -> None:
    first = new_run(state)
    clock.advance()
    second = new_run(state)
    assert state.get_run().id == second
    assert state.get_run(first).id == first
    assert [run.id for run in state.list_runs()] == [second, first]


def test_run_ids_can_be_abbreviated_but_not_ambiguously(state: StateManager) -> None:
    run_id = new_run(state)
    assert state.get_run(run_id[:3]).id == run_id
    with pytest.raises(StateError, match="no run with id 'zzzz'"):
        state.get_run("zzzz")


def test_no_runs_yet_says_how_to_start_one(state: StateManager) -> None:
    with pytest.raises(StateError, match="debussy start"):
        state.get_run()


def test_lifecycle_records_status_reason_and_change_time(
    state: StateManager, clock: ManualClock
) -> None:
    run_id = new_run(state)
    clock.advance(120)
    transition = state.record_phase_status(run_id, "2", "blocked", "waiting for API keys")
    assert (transition.old_status, transition.new_status) == ("pending", "blocked")
    phase = state.phase(run_id, "2")
    assert phase.status == "blocked"
    assert phase.reason == "waiting for API keys"
    assert phase.changed_at == "2026-11-27T09:02:00Z"
    events = state.phase_events(run_id)
    assert [(e["phase_id"], e["status"], e["source"]) for e in events] == [("2", "blocked", "cli")]


def test_replaying_an_event_changes_nothing(state: StateManager, clock: ManualClock) -> None:
    run_id = new_run(state)
    state.record_phase_status(run_id, "1", "running")
    first = state.phase(run_id, "1").changed_at
    clock.advance(300)
    again = state.record_phase_status(run_id, "1", "running")
    assert again.old_status == again.new_status == "running"
    assert state.phase(run_id, "1").changed_at == first
    assert len(state.phase_events(run_id)) == 1


def test_unknown_phase_is_an_error_listing_the_phases(state: StateManager) -> None:
    run_id = new_run(state)
    with pytest.raises(StateError, match=r"no phase '7' \(phases: 1, 2, 3\)"):
        state.record_phase_status(run_id, "7", "running")


def test_completing_the_last_phase_completes_the_run_and_records_the_feature(
    state: StateManager,
) -> None:
    run_id = new_run(state, phases=2)
    assert not state.record_phase_status(run_id, "1", "completed").run_completed
    transition = state.record_phase_status(run_id, "2", "completed")
    assert transition.run_completed
    assert transition.feature is not None
    run = state.get_run(run_id)
    assert run.status == "completed"
    assert run.completed_at == transition.changed_at
    [feature] = state.completed_features()
    assert feature.name == "Checkout revamp"
    assert feature.plan_path == "plans/MASTER_PLAN.md"
    assert ("github", "octo/app#1") in feature.issues
    assert ("jira", "PROJ-9") in feature.issues
    assert ("github", "octo/app#12") in feature.issues
    delivered = state.find_delivered([("github", "octo/app#11"), ("github", "octo/app#99")])
    assert list(delivered) == [("github", "octo/app#11")]


def test_reopening_a_phase_of_a_completed_run_reopens_the_run(state: StateManager) -> None:
    run_id = new_run(state, phases=1)
    state.record_phase_status(run_id, "1", "completed")
    state.record_phase_status(run_id, "1", "pending")
    run = state.get_run(run_id)
    assert (run.status, run.completed_at) == ("running", None)
    assert len(state.completed_features()) == 1, "the delivery stays on record"
    assert state.record_phase_status(run_id, "1", "completed").run_completed
    assert len(state.completed_features()) == 2


def test_guarded_changes_apply_together(state: StateManager) -> None:
    run_id = new_run(state, phases=2)
    write_history = state.sync_writer(
        run_id, direction="from-tracker", applied=True, outcome="applied", actions=[], results=[]
    )
    transitions = state.apply_phase_changes(
        run_id,
        [
            GuardedChange("1", "pending", "completed"),
            GuardedChange("2", "pending", "completed"),
        ],
        before_commit=write_history,
    )
    assert [t.new_status for t in transitions] == ["completed", "completed"]
    assert transitions[-1].run_completed
    assert [e["source"] for e in state.phase_events(run_id)] == ["sync", "sync"]
    assert state.sync_history()[0].direction == "from-tracker"


def test_a_guard_that_no_longer_holds_writes_nothing(state: StateManager) -> None:
    run_id = new_run(state, phases=2)
    state.record_phase_status(run_id, "2", "running")
    before = [(p.phase_id, p.status, p.changed_at) for p in state.phases(run_id)]
    write_history = state.sync_writer(
        run_id, direction="from-tracker", applied=True, outcome="applied", actions=[], results=[]
    )
    with pytest.raises(StalePlanError, match="phase 2 is now 'running'"):
        state.apply_phase_changes(
            run_id,
            [GuardedChange("1", "pending", "completed"), GuardedChange("2", "pending", "blocked")],
            before_commit=write_history,
        )
    assert [(p.phase_id, p.status, p.changed_at) for p in state.phases(run_id)] == before
    assert state.sync_history() == []
    assert len(state.phase_events(run_id)) == 1


def test_a_failure_inside_the_transaction_rolls_everything_back(state: StateManager) -> None:
    run_id = new_run(state, phases=2)

    def explode(_conn: sqlite3.Connection) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        state.apply_phase_changes(
            run_id, [GuardedChange("1", "pending", "completed")], before_commit=explode
        )
    assert state.phase(run_id, "1").status == "pending"


def test_snapshots_pushes_and_syncs_round_trip(state: StateManager) -> None:
    run_id = new_run(state)
    snapshot = Snapshot(
        "github", "octo/app#1", "closed", "completed", None, ("bug",), "2026-11-27T08:00:00Z", "t"
    )
    state.save_snapshots([snapshot])
    assert state.snapshots([("github", "octo/app#1"), ("jira", "X-1")]) == {
        ("github", "octo/app#1"): snapshot
    }
    state.record_pushes([NewPush(run_id, "1", "github", "octo/app#11", "set label x", "ok")])
    assert [(p.ref, p.outcome) for p in state.pushes(run_id)] == [("octo/app#11", "ok")]
    state.record_sync(
        run_id,
        direction="to-tracker",
        applied=True,
        outcome="1 written",
        actions=[{"issue": "GH-11"}],
        results=[{"outcome": "ok"}],
    )
    [entry] = state.sync_history()
    assert entry.actions == [{"issue": "GH-11"}]
    assert "@" in entry.actor


def test_many_snapshots_are_read_in_chunks(state: StateManager) -> None:
    snaps = [Snapshot("github", f"o/r#{n}", "open", None, None, (), None, "t") for n in range(1200)]
    state.save_snapshots(snaps)
    assert len(state.snapshots([("github", f"o/r#{n}") for n in range(0, 1200, 2)])) == 600


def test_each_snapshot_reads_back_its_own_labels(state: StateManager) -> None:
    """The labels of every row are decoded in one pass: no row may take another's."""
    snaps = [
        Snapshot("github", f"o/r#{n}", "open", None, None, labels, None, "t")
        for n, labels in enumerate([(), ("bug",), ("a", "b, c"), ('say "hi"',), ("[x]",)])
    ]
    state.save_snapshots(snaps)
    assert state.snapshots((s.platform, s.ref) for s in snaps) == {
        (s.platform, s.ref): s for s in snaps
    }


def test_the_database_file_is_private(state: StateManager) -> None:
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600


def test_the_connection_knows_the_schema_version_the_migrations_reach() -> None:
    """Opening a database compares its version with ``database.SCHEMA_VERSION`` without
    loading the migrations: a migration added without raising it would never run."""
    from debussy.state import database

    assert database.SCHEMA_VERSION == SCHEMA_VERSION


def test_an_older_database_is_migrated_in_place_without_losing_anything(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    with StateManager(path) as state:
        assert state.schema_version == SCHEMA_VERSION
        run = state.get_run()
        assert (run.id, run.plan_title, run.auto_close) == ("0ld1run0", "Checkout revamp", False)
        assert [p.status for p in state.phases(run.id)] == ["completed", "running"]
        assert [i.display_key for i in state.linked_issues(run.id)] == ["GH-40", "GH-41", "SHOP-7"]
        assert state.completed_features() == []
        transition = state.record_phase_status(run.id, "2", "completed")
        assert transition.run_completed
        assert state.completed_features()[0].issues == (
            ("github", "octo/shop#40"),
            ("github", "octo/shop#41"),
            ("jira", "SHOP-7"),
        )
    with StateManager(path) as again:
        assert again.get_run().status == "completed"


def test_a_database_from_a_newer_debussy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer Debussy"):
        StateManager(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="not a readable Debussy state database"):
        StateManager(path)


def test_a_locked_database_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateManager(path) as setup:
        run_id = new_run(setup)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with (
            StateManager(path, busy_timeout=0.05) as state,
            pytest.raises(StateError, match="locked by another debussy process"),
        ):
            state.record_phase_status(run_id, "1", "running")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with StateManager(path) as state:
        assert state.phase(run_id, "1").status == "pending"
        state.record_phase_status(run_id, "1", "running")
        assert state.phase(run_id, "1").status == "running"
        assert state.integrity_check() == "ok"


def sqlite_steps_to_apply_all(tmp_path: Path, phases: int) -> int:
    """SQLite VM steps (in thousands) of one guarded transaction moving every phase."""
    with StateManager(tmp_path / f"steps-{phases}" / "state.db") as state:
        run_id = new_run(state, phases=phases)
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0  # 0: go on

        state._conn.set_progress_handler(count, 1000)  # pyright: ignore[reportPrivateUsage]
        state.apply_phase_changes(
            run_id, [GuardedChange(str(n), "pending", "completed") for n in range(1, phases + 1)]
        )
        return steps


def test_a_transaction_of_n_phase_changes_does_work_linear_in_n(tmp_path: Path) -> None:
    """Each change once read every phase of the run (for an error message it rarely needed):
    a sync of 300 phase changes read 90,000 rows. Three times the phases, about three
    times the work now; the quadratic version did nine times."""
    small = sqlite_steps_to_apply_all(tmp_path, 100)
    large = sqlite_steps_to_apply_all(tmp_path, 300)
    assert small > 0
    assert large < 4.5 * small, (small, large)
