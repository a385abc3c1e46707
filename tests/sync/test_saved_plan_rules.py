"""The saved plan's rules with plain values: the document, its checks, applied-once.

End-to-end behaviour is in ``test_saved_plan.py``; these pin the refusals one by one
(each a single line naming the file) without a tracker.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from debussy.errors import StalePlanError
from debussy.issues import IssueStatus
from debussy.state.changes import NewLink, NewPhase
from debussy.state.manager import StateManager
from debussy.state.records import RunRecord
from debussy.sync.reconcile import PhaseAction, Skipped, SyncPlan
from debussy.sync.saved_plan import (
    SavedPlanError,
    check_target,
    encode,
    load_saved_plan,
    plan_document,
    stale_issues,
    stale_phases,
    to_sync_plan,
)

RUN = RunRecord("76a74411", "plans/MASTER_PLAN.md", "Checkout", "running", "t", None, False, None)
CHANGED = datetime(2026, 12, 8, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path) -> StateManager:
    manager = StateManager(tmp_path / "state.db")
    manager.create_run(
        plan_path="plans/MASTER_PLAN.md",
        plan_title="Checkout",
        phases=[NewPhase("1", "Cart"), NewPhase("2", "Pay")],
        issues=[NewLink("github", "octo/app#10", "GH-10", "1")],
    )
    yield manager
    manager.close()


def saved_text(state: StateManager) -> str:
    run = state.get_run()
    plan = SyncPlan("from-tracker", run)
    plan.phase_actions.append(
        PhaseAction("1", "Cart", "pending", "completed", None, ("GH-10",), "GH-10 is closed")
    )
    plan.skipped.append(Skipped("waiting", ("GH-11",), "2", "1 of 2 issues of phase 2"))
    status = IssueStatus("github", "octo/app#10", state="closed", last_updated=CHANGED)
    document = plan_document(
        plan,
        {("github", "octo/app#10"): status},
        state.phases(run.id),
        state.linked_issues(run.id),
        plan_id="p1",
        made_at="2026-12-08T10:00:05Z",
        force=False,
    )
    return encode(document)


def test_a_plan_round_trips_into_the_same_sync_plan(state: StateManager) -> None:
    saved = load_saved_plan(saved_text(state), "plan.json")
    plan = to_sync_plan(saved, state.get_run())
    assert [(a.phase_id, a.from_status, a.to_status, a.issues) for a in plan.phase_actions] == [
        ("1", "pending", "completed", ("GH-10",))
    ]
    assert [(s.kind, s.issues) for s in plan.skipped] == [("waiting", ("GH-11",))]
    assert [(i.issue, i.ref, i.changed_at) for i in saved.observed()] == [
        ("GH-10", "octo/app#10", "2026-12-08T10:00:00Z")
    ]


def edited(text: str, **changes: Any) -> str:
    """The document with keys changed and its digest recomputed (a deliberate forgery)."""
    document = json.loads(text)
    document.update(changes)
    return encode(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": [{"kind": "phase"}]}, "plan.json: not a valid sync plan: Object missing"),
        (
            {"direction": "sideways"},
            "plan.json: not a valid sync plan: Invalid enum value 'sideways'",
        ),
        ({"made_at": "yesterday"}, "plan.json: not a valid sync plan: bad time"),
        ({"extra": 1}, "plan.json: not a valid sync plan: Object contains unknown field"),
    ],
)
def test_a_well_formed_but_wrong_document_is_one_line(
    state: StateManager, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(SavedPlanError) as caught:
        load_saved_plan(edited(saved_text(state), **change), "plan.json")
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_a_hand_edit_without_a_new_digest_is_refused(state: StateManager) -> None:
    text = saved_text(state).replace('"completed"', '"failed"')
    with pytest.raises(SavedPlanError, match="changed after it was made"):
        load_saved_plan(text, "plan.json")


def test_another_run_and_another_direction_are_named(state: StateManager) -> None:
    saved = load_saved_plan(saved_text(state), "plan.json")
    other = RunRecord("0000beef", "p", "Other", "running", "t", None, False, None)
    with pytest.raises(SavedPlanError, match=r"plan for run .* not run 0000beef; pass --run"):
        check_target(saved, other, None, "plan.json")
    with pytest.raises(SavedPlanError, match="is a from-tracker plan, not to-tracker"):
        check_target(saved, state.get_run(), "to-tracker", "plan.json")
    check_target(saved, state.get_run(), "from-tracker", "plan.json")


def test_staleness_names_the_issue_and_the_phase(state: StateManager) -> None:
    saved = load_saved_plan(saved_text(state), "plan.json")
    run_id = state.get_run().id
    linked = {("github", "octo/app#10"): "GH-10"}
    same = IssueStatus("github", "octo/app#10", state="closed", last_updated=CHANGED)
    assert stale_issues(saved, {("github", "octo/app#10"): same}, linked) == []
    newer = IssueStatus(
        "github",
        "octo/app#10",
        state="closed",
        last_updated=datetime(2026, 12, 8, 10, 2, 13, tzinfo=UTC),
    )
    assert stale_issues(saved, {("github", "octo/app#10"): newer}, linked) == [
        "GH-10 changed at 2026-12-08T10:02:13Z, after the plan at 2026-12-08T10:00:05Z"
    ]
    assert stale_issues(saved, {}, {}) == ["GH-10 is no longer linked to the run"]
    joined = {**linked, ("jira", "PROJ-7"): "PROJ-7"}
    assert stale_issues(saved, {("github", "octo/app#10"): same}, joined) == [
        "PROJ-7 was linked after the plan was made"
    ]
    assert stale_phases(saved, state.phases(run_id)) == []
    state.record_phase_status(run_id, "2", "running")
    assert stale_phases(saved, state.phases(run_id)) == [], "phase 2 is not the plan's concern"
    state.record_phase_status(run_id, "1", "running")
    assert stale_phases(saved, state.phases(run_id)) == ["phase 1 is now 'running', not 'pending'"]


def test_a_plan_id_is_claimed_once(state: StateManager) -> None:
    claim = {"run_id": "r", "direction": "from-tracker", "made_at": "m", "digest": "d"}
    assert state.plan_applied_at("p1") is None
    state.claim_plan("p1", **claim)
    assert state.plan_applied_at("p1") is not None
    with pytest.raises(StalePlanError, match="saved plan p1 was already applied at "):
        state.claim_plan("p1", **claim)


def test_a_schema_4_database_gains_the_applied_plans_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateManager(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE applied_plans")
        conn.execute("DROP TABLE person_holds")  # migration 6: not in a schema 4 database
        conn.execute("PRAGMA user_version = 4")
    with StateManager(path) as state:
        assert state.plan_applied_at("anything") is None
