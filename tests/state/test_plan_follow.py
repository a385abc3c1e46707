"""A run following its plan in the state database: the diff, one transaction, the v3 migration."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from debussy.errors import StateError
from debussy.state.changes import NewLink, NewPhase
from debussy.state.manager import StateManager
from debussy.state.plan_edit import CurrentPhase, WantedLink, WantedPhase, diff_plan
from debussy.state.schema import MIGRATIONS, SCHEMA_VERSION

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path) -> StateManager:
    manager = StateManager(tmp_path / "state.db", clock=lambda: START)
    yield manager
    manager.close()


def gh(number: int, phase: str | None) -> WantedLink:
    return WantedLink("github", f"octo/app#{number}", f"GH-{number}", phase)


def started(state: StateManager) -> str:
    run = state.create_run(
        plan_path="plans/MASTER_PLAN.md",
        plan_title="Checkout",
        phases=[NewPhase("1", "Cart", "p1.md"), NewPhase("2", "Pay", "p2.md")],
        issues=[
            NewLink("github", "octo/app#1", "GH-1", None),
            NewLink("github", "octo/app#10", "GH-10", "1"),
            NewLink("github", "octo/app#11", "GH-11", "2"),
        ],
    )
    return run.id


def test_a_new_run_has_untouched_phases(state: StateManager) -> None:
    run_id = started(state)
    assert [p.changed_at for p in state.phases(run_id)] == [None, None]
    state.record_phase_status(run_id, "1", "running")
    assert state.phase(run_id, "1").changed_at == "2026-11-27T09:00:00Z"


def test_following_applies_links_and_phases_in_one_go(state: StateManager) -> None:
    run_id = started(state)
    state.record_phase_status(run_id, "2", "running")
    changes = state.follow_plan(
        run_id,
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("3", "Docs", "p3.md")],
        [gh(1, None), gh(10, "1"), gh(6, "1"), gh(13, "3")],
        fingerprint="fp",
    )
    assert [c.text for c in changes] == [
        "+ phase 3 'Docs'",
        "− phase 2 'Pay'",
        "+ GH-6 (phase 1)",
        "+ GH-13 (phase 3)",
        "− GH-11 (phase 2)",
    ]
    assert [(p.phase_id, p.status, p.changed_at) for p in state.phases(run_id)] == [
        ("1", "pending", None),
        ("3", "pending", None),
    ]
    [removed] = state.removed_phases(run_id)
    assert (removed.phase_id, removed.status) == ("2", "running")
    assert [i.display_key for i in state.unlinked_issues(run_id)] == ["GH-11"]
    assert state.get_run(run_id).plan_fingerprint == "fp"
    assert [c.subject for c in state.plan_changes([run_id])][-1] == "GH-11"
    with pytest.raises(StateError, match="removed from the plan"):
        state.record_phase_status(run_id, "2", "completed")
    again = state.follow_plan(
        run_id,
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("3", "Docs", "p3.md")],
        [gh(1, None), gh(10, "1"), gh(6, "1"), gh(13, "3")],
        fingerprint="fp2",
    )
    assert again == [], "each change is seen once"


def test_relinking_an_issue_stops_treating_it_as_unlinked(state: StateManager) -> None:
    run_id = started(state)
    phases = [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Pay", "p2.md")]
    state.follow_plan(run_id, phases, [gh(1, None), gh(10, "1")], fingerprint=None)
    assert [i.display_key for i in state.unlinked_issues(run_id)] == ["GH-11"]
    changes = state.follow_plan(run_id, phases, [gh(1, None), gh(11, "1")], fingerprint=None)
    assert [c.text for c in changes] == ["+ GH-11 (phase 1)", "− GH-10 (phase 1)"]
    assert [i.display_key for i in state.unlinked_issues(run_id)] == ["GH-10"]


def test_swapped_phase_numbers_follow_their_files(state: StateManager) -> None:
    run_id = started(state)
    state.record_phase_status(run_id, "1", "completed")
    state.follow_plan(
        run_id,
        [WantedPhase("1", "Pay", "p2.md"), WantedPhase("2", "Cart", "p1.md")],
        [gh(1, None), gh(10, "2"), gh(11, "1")],
        fingerprint=None,
    )
    assert [(p.phase_id, p.title, p.status) for p in state.phases(run_id)] == [
        ("1", "Pay", "pending"),
        ("2", "Cart", "completed"),
    ]
    assert [e["phase_id"] for e in state.phase_events(run_id)] == ["2"], "history moved too"


def test_a_phase_added_to_a_completed_run_reopens_it(state: StateManager) -> None:
    run_id = started(state)
    state.record_phase_status(run_id, "1", "completed")
    state.record_phase_status(run_id, "2", "completed")
    assert state.get_run(run_id).status == "completed"
    state.follow_plan(
        run_id,
        [
            WantedPhase("1", "Cart", "p1.md"),
            WantedPhase("2", "Pay", "p2.md"),
            WantedPhase("3", "Docs", "p3.md"),
        ],
        [gh(1, None), gh(10, "1"), gh(11, "2")],
        fingerprint=None,
    )
    assert state.get_run(run_id).status == "running"


def test_a_phase_without_a_recorded_file_is_matched_by_id() -> None:
    edit = diff_plan(
        [CurrentPhase("1", "Cart", None, False), CurrentPhase("2", "Pay", "old.md", False)],
        [],
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Pay", "p2.md")],
        [],
    )
    assert edit.changes == []
    assert [(m.old_id, m.file) for m in edit.kept] == [("1", "p1.md"), ("2", "p2.md")]


def test_a_version_3_database_marks_untouched_phases_null(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        for migration in MIGRATIONS[:3]:
            conn.executescript(migration)
        conn.execute("PRAGMA user_version = 3")
        start = "2026-11-27T09:00:00Z"
        conn.execute(
            "INSERT INTO runs (id, plan_path, plan_title, status, started_at) VALUES "
            "('r1', 'plans/MASTER_PLAN.md', 'Checkout', 'running', ?)",
            (start,),
        )
        conn.executemany(
            "INSERT INTO phases (run_id, phase_id, title, position, status, changed_at)"
            " VALUES ('r1', ?, ?, ?, ?, ?)",
            [
                ("1", "Cart", 0, "running", "2026-11-27T10:00:00Z"),
                ("2", "Pay", 1, "pending", start),
                ("3", "Ship", 2, "failed", start),
            ],
        )
        conn.execute(
            "INSERT INTO phase_events (run_id, phase_id, status, source, at)"
            " VALUES ('r1', '3', 'failed', 'cli', ?)",
            (start,),
        )
    with StateManager(path) as state:
        assert state.schema_version == SCHEMA_VERSION
        changed = {p.phase_id: p.changed_at for p in state.phases("r1")}
        # Phase 3 failed in the very second the run started: its event says it was touched.
        assert changed == {"1": "2026-11-27T10:00:00Z", "2": None, "3": start}
        assert state.get_run("r1").plan_fingerprint is None


def test_a_link_moved_between_levels_is_one_change(state: StateManager) -> None:
    run_id = started(state)
    phases = [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Pay", "p2.md")]
    changes = state.follow_plan(
        run_id, phases, [gh(1, None), gh(10, None), gh(11, "2")], fingerprint=None
    )
    assert [c.text for c in changes] == ["GH-10 (phase 1 → plan)"]
    assert [(i.display_key, i.phase_id) for i in state.linked_issues(run_id)][1] == ("GH-10", None)
    assert state.unlinked_issues(run_id) == []


def test_a_removed_phase_comes_back_with_its_status(state: StateManager) -> None:
    run_id = started(state)
    state.record_phase_status(run_id, "2", "failed", "flaky")
    links = [gh(1, None), gh(10, "1")]
    state.follow_plan(run_id, [WantedPhase("1", "Cart", "p1.md")], links, fingerprint=None)
    changes = state.follow_plan(
        run_id,
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Pay", "p2.md")],
        [*links, gh(11, "2")],
        fingerprint=None,
    )
    assert [c.text for c in changes] == [
        "+ phase 2 'Pay' (back in the plan)",
        "+ GH-11 (phase 2)",
    ]
    assert (state.phase(run_id, "2").status, state.phase(run_id, "2").reason) == (
        "failed",
        "flaky",
    )
    assert state.removed_phases(run_id) == []


def test_a_new_phase_may_take_a_removed_phase_number(state: StateManager) -> None:
    run_id = started(state)
    state.record_phase_status(run_id, "2", "running")
    changes = state.follow_plan(
        run_id,
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Docs", "docs.md")],
        [gh(1, None), gh(10, "1"), gh(13, "2")],
        fingerprint=None,
    )
    # Same number, other file, old file gone: the phase continues (status kept, retitled).
    assert "phase 2 'Pay' → 'Docs'" in [c.text for c in changes]
    assert state.phase(run_id, "2").status == "running"
    state.follow_plan(
        run_id,
        [
            WantedPhase("1", "Cart", "p1.md"),
            WantedPhase("2", "Docs", "docs.md"),
            WantedPhase("3", "Ship", "ship.md"),
        ],
        [gh(1, None), gh(10, "1"), gh(13, "2")],
        fingerprint=None,
    )
    state.follow_plan(
        run_id,
        [WantedPhase("1", "Cart", "p1.md"), WantedPhase("2", "Docs", "docs.md")],
        [gh(1, None), gh(10, "1"), gh(13, "2")],
        fingerprint=None,
    )
    state.record_phase_status(run_id, "2", "completed")
    changes = state.follow_plan(
        run_id,
        [
            WantedPhase("1", "Cart", "p1.md"),
            WantedPhase("2", "Docs", "docs.md"),
            WantedPhase("3", "Launch", "launch.md"),
        ],
        [gh(1, None), gh(10, "1"), gh(13, "2")],
        fingerprint=None,
    )
    assert [c.text for c in changes] == ["+ phase 3 'Launch'"]
    assert state.phase(run_id, "3").status == "pending"
    [parked] = state.removed_phases(run_id)
    assert parked.phase_id.startswith("3~removed~")
    assert parked.title == "Ship"
