"""``StateManager``: everything Debussy remembers, in ``.debussy/state.db`` (SQLite).

Design points a successor must keep:

- Every write is one ``BEGIN IMMEDIATE`` transaction, so a crash at any point
  leaves either the old or the new state, and two processes serialise instead of
  failing (WAL mode plus a busy timeout; "database is locked" after the timeout
  becomes a one-line ``StateError``).
- A lifecycle event is committed *before* anything talks to a tracker: a tracker
  failure can never lose it.
- Completing the last phase completes the run and records the completed feature
  in the same transaction as the phase change, whoever changed it (CLI or sync).
- SQL is parameterised everywhere; table and column names are never built from input.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from debussy.errors import StalePlanError
from debussy.state.database import BUSY_TIMEOUT_SECONDS as BUSY_TIMEOUT_SECONDS
from debussy.state.database import (
    CHUNK,
    InTransaction,
    from_row,
    run_record,
    with_marks,
)
from debussy.state.database import STATE_FILE as STATE_FILE
from debussy.state.records import (
    Hold,
    IssueKey,
    PhaseRecord,
    RunRecord,
    Snapshot,
    shown_phase_id,
)
from debussy.state.runs import RunStore
from debussy.state.status import PhaseStatus

if TYPE_CHECKING:  # built only by the methods that write or read history (state/changes.py)
    from debussy.state.changes import (
        CompletedFeature,
        GuardedChange,
        NewPush,
        PhaseEventRecord,
        PhaseTransition,
        PushRecord,
        SyncEntry,
    )


def _decode_labels(texts: list[str]) -> list[list[str]]:
    """Every row's label list in one ``json.loads``: a warm ``status --issues`` reads one
    snapshot per linked issue, and a call per row costs more than the parsing.

    Rows that do not decode as one value each are decoded one by one, as before (a
    damaged row fails the same way it always did).
    """
    try:
        decoded: object = json.loads("[" + ",".join(texts) + "]")
    except ValueError:
        decoded = None
    if isinstance(decoded, list) and len(cast(list[object], decoded)) == len(texts):
        return cast(list[list[str]], decoded)
    return [json.loads(text) for text in texts]


def _actor() -> str:
    """``user@host`` for the sync history: who ran it, for a shared CI database."""
    import getpass  # here, not at the top: read-only commands never need them (issue 16)
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class StateManager(RunStore):
    """The state database. Open it with ``StateManager(path)``; close it or use ``with``.

    Its concerns: the connection, migrations and transactions (``state/database.py``),
    runs and following their plan (``state/runs.py``), and here the lifecycle,
    completed features, what was seen and sent on the trackers, the sync history and
    saved plans. Records are plain values in ``state/records.py``.
    """

    # --- lifecycle ------------------------------------------------------------
    def record_phase_status(
        self,
        run_id: str,
        phase_id: str,
        status: PhaseStatus,
        reason: str | None = None,
        *,
        source: str = "cli",
    ) -> PhaseTransition:
        """Move one phase to ``status`` whatever it was; completes the run when it is the last."""
        with self._write() as conn:
            current = self._locked_phase(conn, run_id, phase_id)
            return self._change_phase(conn, current, status, reason, source)

    def apply_phase_changes(
        self,
        run_id: str,
        changes: Sequence[GuardedChange],
        *,
        source: str = "sync",
        before_commit: InTransaction | None = None,
    ) -> list[PhaseTransition]:
        """Apply all ``changes`` in one transaction, or none if any phase moved meanwhile.

        Each change names the status the caller saw; if a phase no longer has it,
        the whole transaction rolls back and ``StalePlanError`` says which phase
        moved. ``before_commit(conn)`` runs inside the transaction (the sync
        history entry is written there so it commits with the changes).
        """
        with self._write() as conn:
            transitions: list[PhaseTransition] = []
            # Counted once and kept up to date: counting per change read every phase
            # for each one (n² rows for a sync of n phase changes).
            open_phases = self._open_phases(conn, run_id)
            for change in changes:
                current = self._locked_phase(conn, run_id, change.phase_id)
                if current.status != change.expected_status:
                    raise StalePlanError(
                        f"phase {change.phase_id} is now '{current.status}', not "
                        f"'{change.expected_status}' as when the plan was made; nothing was "
                        "written — run `debussy sync` again"
                    )
                open_phases += (change.new_status != "completed") - (current.status != "completed")
                transitions.append(
                    self._change_phase(
                        conn,
                        current,
                        change.new_status,
                        change.reason,
                        source,
                        open_phases=open_phases,
                    )
                )
            if before_commit is not None:
                before_commit(conn)
            return transitions

    def _change_phase(
        self,
        conn: sqlite3.Connection,
        current: PhaseRecord,
        status: PhaseStatus,
        reason: str | None,
        source: str,
        *,
        open_phases: int | None = None,
    ) -> PhaseTransition:
        """Record the change and settle the run (completed when no phase is left open).

        ``open_phases``: the run's phases not completed once this change is made, when
        the caller keeps count (``apply_phase_changes``); otherwise they are counted.
        """
        from debussy.state.changes import PhaseTransition

        if current.status == status and current.reason == reason:
            # Replaying an event changes nothing, not even changed_at (which `newer` relies on).
            return PhaseTransition(
                run_id=current.run_id,
                phase_id=current.phase_id,
                old_status=current.status,
                new_status=status,
                reason=reason,
                changed_at=current.changed_at,
            )
        now = self._now()
        conn.execute(
            "UPDATE phases SET status = ?, reason = ?, changed_at = ?"
            " WHERE run_id = ? AND phase_id = ?",
            (status, reason, now, current.run_id, current.phase_id),
        )
        conn.execute(
            "INSERT INTO phase_events (run_id, phase_id, status, reason, source, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (current.run_id, current.phase_id, status, reason, source, now),
        )
        run_completed = False
        feature: CompletedFeature | None = None
        remaining = self._open_phases(conn, current.run_id) if open_phases is None else open_phases
        run_reopened = False
        run_row = conn.execute("SELECT * FROM runs WHERE id = ?", (current.run_id,)).fetchone()
        if remaining == 0 and run_row["status"] != "completed":
            conn.execute(
                "UPDATE runs SET status = 'completed', completed_at = ? WHERE id = ?",
                (now, current.run_id),
            )
            run_completed = True
            feature = self._record_feature(conn, run_record(run_row), now)
        elif remaining > 0 and run_row["status"] == "completed":
            # A phase was reopened after the run completed: the run is open again.
            # The completed feature stays recorded: it *was* delivered once.
            conn.execute(
                "UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?",
                (current.run_id,),
            )
            run_reopened = True
        return PhaseTransition(
            run_id=current.run_id,
            phase_id=current.phase_id,
            old_status=current.status,
            new_status=status,
            reason=reason,
            changed_at=now,
            run_completed=run_completed,
            feature=feature,
            run_reopened=run_reopened,
        )

    @staticmethod
    def _open_phases(conn: sqlite3.Connection, run_id: str) -> int:
        """The run's phases in the plan that are not completed."""
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM phases WHERE run_id = ? AND status != 'completed'"
                " AND removed_at IS NULL",
                (run_id,),
            ).fetchone()[0]
        )

    def _record_feature(
        self, conn: sqlite3.Connection, run: RunRecord, now: str
    ) -> CompletedFeature:
        from debussy.state.changes import CompletedFeature

        cursor = conn.execute(
            "INSERT INTO completed_features (name, completed_at, plan_path, run_id)"
            " VALUES (?, ?, ?, ?)",
            (run.plan_title, now, run.plan_path, run.id),
        )
        feature_id = int(cursor.lastrowid or 0)
        issues = [
            (row["platform"], row["ref"])
            for row in conn.execute(
                "SELECT platform, ref FROM linked_issues WHERE run_id = ? ORDER BY position",
                (run.id,),
            )
        ]
        conn.executemany(
            "INSERT OR IGNORE INTO completed_feature_issues (feature_id, platform, ref)"
            " VALUES (?, ?, ?)",
            [(feature_id, platform, ref) for platform, ref in issues],
        )
        return CompletedFeature(
            id=feature_id,
            name=run.plan_title,
            completed_at=now,
            plan_path=run.plan_path,
            run_id=run.id,
            issues=tuple(issues),
        )

    def phase_events(self, run_id: str) -> list[sqlite3.Row]:
        return self._read("SELECT * FROM phase_events WHERE run_id = ? ORDER BY id", (run_id,))

    def phase_event_log(self, run_id: str) -> list[PhaseEventRecord]:
        """Every status change of the run's phases, oldest first, each with where it came from."""
        from debussy.state.changes import PhaseEventRecord

        previous: dict[str, str] = {}
        log: list[PhaseEventRecord] = []
        for row in self.phase_events(run_id):
            phase_id = row["phase_id"]
            log.append(
                PhaseEventRecord(
                    id=row["id"],
                    run_id=row["run_id"],
                    phase_id=shown_phase_id(phase_id),
                    from_status=previous.get(phase_id, "pending"),
                    status=row["status"],
                    reason=row["reason"],
                    source=row["source"],
                    at=row["at"],
                )
            )
            previous[phase_id] = row["status"]
        return log

    # --- completed features ----------------------------------------------------------------

    def completed_features(self) -> list[CompletedFeature]:
        from debussy.state.changes import CompletedFeature

        rows = self._read("SELECT * FROM completed_features ORDER BY completed_at, id")
        issue_rows = self._read(
            "SELECT feature_id, platform, ref FROM completed_feature_issues ORDER BY rowid"
        )
        by_feature: dict[int, list[IssueKey]] = {}
        for row in issue_rows:
            by_feature.setdefault(row["feature_id"], []).append((row["platform"], row["ref"]))
        return [
            CompletedFeature(
                id=row["id"],
                name=row["name"],
                completed_at=row["completed_at"],
                plan_path=row["plan_path"],
                run_id=row["run_id"],
                issues=tuple(by_feature.get(row["id"], ())),
            )
            for row in rows
        ]

    def find_delivered(self, issues: Iterable[IssueKey]) -> dict[IssueKey, list[CompletedFeature]]:
        """Which of ``issues`` belong to completed features, and to which ones."""
        wanted = set(issues)
        if not wanted:
            return {}
        matches: dict[IssueKey, list[CompletedFeature]] = {}
        for feature in self.completed_features():
            for key in feature.issues:
                if key in wanted:
                    matches.setdefault(key, []).append(feature)
        return matches

    def save_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        rows = [
            (
                s.platform,
                s.ref,
                s.state,
                s.state_reason,
                s.status_category,
                json.dumps(list(s.labels)),
                s.last_updated,
                s.seen_at,
            )
            for s in snapshots
        ]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO tracker_snapshots (platform, ref, state, state_reason,"
                " status_category, labels, last_updated, seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def snapshots(self, keys: Iterable[IssueKey]) -> dict[IssueKey, Snapshot]:
        wanted = sorted(set(keys))
        result: dict[IssueKey, Snapshot] = {}
        rows: list[sqlite3.Row] = []
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ",".join("(?, ?)" for _ in chunk)
            sql = with_marks(
                "SELECT * FROM tracker_snapshots WHERE (platform, ref) IN (VALUES {marks})", marks
            )
            rows += self._read(sql, [part for key in chunk for part in key])
        for row, labels in zip(rows, _decode_labels([row["labels"] for row in rows]), strict=True):
            result[(row["platform"], row["ref"])] = Snapshot(
                platform=row["platform"],
                ref=row["ref"],
                state=row["state"],
                state_reason=row["state_reason"],
                status_category=row["status_category"],
                labels=tuple(labels),
                last_updated=row["last_updated"],
                seen_at=row["seen_at"],
            )
        return result

    def record_pushes(
        self,
        pushes: Iterable[NewPush],
        *,
        holds: Iterable[Hold] = (),
        released: Iterable[tuple[str, IssueKey]] = (),
    ) -> None:
        """Record tracker writes and their outcomes, for ``history`` and troubleshooting.

        In the same transaction, a lifecycle event's ``holds`` (a person's state it
        left as is; one per run and issue, the newest kept) are stored and the
        ``released`` ones, ``(run_id, (platform, ref))``, deleted: the event's
        record and what it decided about people's changes never disagree.
        """
        now = self._now()
        rows = [
            (p.run_id, p.phase_id, p.platform, p.ref, p.action, p.outcome, p.detail, now)
            for p in pushes
        ]
        hold_rows = [
            (
                h.run_id,
                h.platform,
                h.ref,
                h.state,
                h.state_reason,
                h.status_category,
                h.state_changed_at,
                now,
            )
            for h in holds
        ]
        release_rows = [(run_id, platform, ref) for run_id, (platform, ref) in released]
        if not (rows or hold_rows or release_rows):
            return
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO tracker_pushes (run_id, phase_id, platform, ref, action, outcome,"
                " detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            _release_holds(conn, release_rows)
            conn.executemany(
                "INSERT OR REPLACE INTO person_holds (run_id, platform, ref, state,"
                " state_reason, status_category, state_changed_at, held_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                hold_rows,
            )

    def holds(self, run_id: str) -> dict[IssueKey, Hold]:
        """The run's recorded holds by issue (a person's state an event left as is)."""
        rows = self._read("SELECT * FROM person_holds WHERE run_id = ?", (run_id,))
        return {(row["platform"], row["ref"]): from_row(Hold, row) for row in rows}

    def pushes(self, run_id: str) -> list[PushRecord]:
        from debussy.state.changes import PushRecord

        rows = self._read("SELECT * FROM tracker_pushes WHERE run_id = ? ORDER BY id", (run_id,))
        return [from_row(PushRecord, row) for row in rows]

    def sync_writer(
        self,
        run_id: str,
        *,
        direction: str,
        applied: bool,
        outcome: str,
        actions: list[dict[str, Any]],
        results: list[dict[str, Any]],
    ) -> InTransaction:
        """A ``before_commit`` callback that records a sync inside the apply transaction."""
        at = self._now()
        actor = _actor()

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sync_history (run_id, at, actor, direction, applied, outcome,"
                " actions, results) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    at,
                    actor,
                    direction,
                    int(applied),
                    outcome,
                    json.dumps(actions),
                    json.dumps(results),
                ),
            )

        return write

    def record_sync(
        self,
        run_id: str,
        *,
        direction: str,
        applied: bool,
        outcome: str,
        actions: list[dict[str, Any]],
        results: list[dict[str, Any]],
        released: Iterable[IssueKey] = (),
    ) -> None:
        """Record a sync on its own (dry runs, to-tracker pushes).

        ``released``: issues whose state the push changed, so a person's hold on
        them ends (deleted in the same transaction as the record).
        """
        write = self.sync_writer(
            run_id,
            direction=direction,
            applied=applied,
            outcome=outcome,
            actions=actions,
            results=results,
        )
        with self._write() as conn:
            write(conn)
            _release_holds(conn, [(run_id, platform, ref) for platform, ref in released])

    # --- saved sync plans ---------------------------------------------------------------

    def plan_applied_at(self, plan_id: str) -> str | None:
        """When the saved plan ``plan_id`` was applied, or None if it never was."""
        rows = self._read("SELECT applied_at FROM applied_plans WHERE id = ?", (plan_id,))
        return str(rows[0]["applied_at"]) if rows else None

    def plan_claimer(
        self, plan_id: str, *, run_id: str, direction: str, made_at: str, digest: str
    ) -> InTransaction:
        """A ``before_commit`` callback that marks a saved plan applied, or refuses.

        Run inside the apply's own transaction, so a plan refused as stale is not
        burnt, and two processes applying the same file serialise on the primary
        key: the second gets ``StalePlanError`` ("already applied"), nothing written.
        """
        at = self._now()

        def claim(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT applied_at FROM applied_plans WHERE id = ?", (plan_id,)
            ).fetchone()
            if row is not None:
                raise StalePlanError(already_applied(plan_id, row["applied_at"]))
            conn.execute(
                "INSERT INTO applied_plans (id, run_id, direction, made_at, applied_at, digest)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (plan_id, run_id, direction, made_at, at, digest),
            )

        return claim

    def claim_plan(
        self, plan_id: str, *, run_id: str, direction: str, made_at: str, digest: str
    ) -> None:
        """``plan_claimer`` in a transaction of its own (before tracker writes are sent)."""
        claim = self.plan_claimer(
            plan_id, run_id=run_id, direction=direction, made_at=made_at, digest=digest
        )
        with self._write() as conn:
            claim(conn)

    def sync_history(self, limit: int | None = None) -> list[SyncEntry]:
        from debussy.state.changes import SyncEntry

        sql = "SELECT * FROM sync_history ORDER BY at DESC, id DESC"
        params: tuple[object, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [
            SyncEntry(
                id=row["id"],
                run_id=row["run_id"],
                at=row["at"],
                actor=row["actor"],
                direction=row["direction"],
                applied=bool(row["applied"]),
                outcome=row["outcome"],
                actions=json.loads(row["actions"]),
                results=json.loads(row["results"]),
            )
            for row in self._read(sql, params)
        ]


def _release_holds(conn: sqlite3.Connection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Delete holds ``(run_id, platform, ref)``: Debussy changed that issue's state itself."""
    conn.executemany("DELETE FROM person_holds WHERE run_id = ? AND platform = ? AND ref = ?", keys)


def already_applied(plan_id: str, applied_at: str) -> str:
    """The refusal of a saved plan applied before (a retried CI job, a second click)."""
    return (
        f"saved plan {plan_id[:8]} was already applied at {applied_at}; nothing was written "
        "— make a new plan (`debussy sync --out FILE`) to sync again"
    )
