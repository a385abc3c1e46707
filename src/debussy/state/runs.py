"""Runs, their phases and linked issues, and following a plan's edits (``RunStore``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from debussy.errors import StateError
from debussy.state.database import (
    Database,
    from_row,
    like_prefix,
    phase_record,
    run_record,
    with_marks,
    with_table,
)
from debussy.state.records import (
    REMOVED_MARK,
    IssueKey,
    LinkedIssue,
    PhaseRecord,
    RunRecord,
)

if TYPE_CHECKING:
    from debussy.state.changes import NewLink, NewPhase, PlanChangeRecord
    from debussy.state.plan_edit import PlanChange, PlanEdit, WantedLink, WantedPhase


class RunStore(Database):
    """Runs, their phases and linked issues, and following a plan's edits (``RunStore``)."""

    def create_run(
        self,
        *,
        plan_path: str,
        plan_title: str,
        phases: Sequence[NewPhase],
        issues: Sequence[NewLink],
        auto_close: bool = False,
        github_repo: str | None = None,
        plan_fingerprint: str | None = None,
    ) -> RunRecord:
        """Record a new run with all phases pending (and untouched) and its linked issues."""
        import secrets  # only `start` needs it; read-only commands skip the import

        run_id = secrets.token_hex(4)
        now = self._now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO runs (id, plan_path, plan_title, status, started_at, auto_close,"
                " github_repo, plan_fingerprint) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (
                    run_id,
                    plan_path,
                    plan_title,
                    now,
                    int(auto_close),
                    github_repo,
                    plan_fingerprint,
                ),
            )
            conn.executemany(
                "INSERT INTO phases (run_id, phase_id, title, position, status, file)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                [(run_id, p.phase_id, p.title, i, p.file) for i, p in enumerate(phases)],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO linked_issues"
                " (run_id, phase_id, platform, ref, display_key, position)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, link.phase_id, link.platform, link.ref, link.display_key, i)
                    for i, link in enumerate(issues)
                ],
            )
        return self.get_run(run_id)

    def get_run(self, run_id: str | None = None) -> RunRecord:
        """A run by id or unique id prefix; ``None`` means the most recently started."""
        if run_id is None:
            rows = self._read("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT 1")
            if not rows:
                raise StateError("no runs yet: start one with `debussy start PLAN`")
            return run_record(rows[0])
        rows = self._read(
            "SELECT * FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY started_at DESC",
            (run_id, like_prefix(run_id)),
        )
        exact = [row for row in rows if row["id"] == run_id]
        if exact:
            return run_record(exact[0])
        if len(rows) == 1:
            return run_record(rows[0])
        if not rows:
            raise StateError(f"no run with id '{run_id}' (see `debussy history`)")
        candidates = ", ".join(str(row["id"]) for row in rows[:10])
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        raise StateError(
            f"run id '{run_id}' is ambiguous: it starts {len(rows)} run ids ({candidates}{more}); "
            "give more characters"
        )

    def list_runs(self, limit: int | None = None) -> list[RunRecord]:
        sql = "SELECT * FROM runs ORDER BY started_at DESC, rowid DESC"
        params: tuple[object, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [run_record(row) for row in self._read(sql, params)]

    def run_progress(self, run_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """``run id → (completed phases, all phases)`` in one query, for ``history``."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        sql = with_marks(
            "SELECT run_id, SUM(status = 'completed') AS done, COUNT(*) AS total FROM phases"
            " WHERE run_id IN ({marks}) AND removed_at IS NULL GROUP BY run_id",
            marks,
        )
        rows = self._read(sql, list(run_ids))
        return {row["run_id"]: (int(row["done"] or 0), int(row["total"])) for row in rows}

    def phases(self, run_id: str) -> list[PhaseRecord]:
        """The phases the plan lists now (removed ones are in ``removed_phases``)."""
        rows = self._read(
            "SELECT * FROM phases WHERE run_id = ? AND removed_at IS NULL ORDER BY position",
            (run_id,),
        )
        return [phase_record(row) for row in rows]

    def removed_phases(self, run_id: str) -> list[PhaseRecord]:
        """Phases the plan no longer lists: kept with their history, shown as ``removed``."""
        rows = self._read(
            "SELECT * FROM phases WHERE run_id = ? AND removed_at IS NOT NULL ORDER BY position",
            (run_id,),
        )
        return [phase_record(row) for row in rows]

    def phase(self, run_id: str, phase_id: str) -> PhaseRecord:
        return self._locked_phase(self._conn, run_id, phase_id)

    def running_runs(self, plan_path: str) -> list[RunRecord]:
        """Runs of this plan still running, newest first (``start`` refuses another)."""
        rows = self._read(
            "SELECT * FROM runs WHERE plan_path = ? AND status = 'running'"
            " ORDER BY started_at DESC, rowid DESC",
            (plan_path,),
        )
        return [run_record(row) for row in rows]

    def linked_issues(self, run_id: str) -> list[LinkedIssue]:
        rows = self._read(
            "SELECT * FROM linked_issues WHERE run_id = ? ORDER BY position", (run_id,)
        )
        return [from_row(LinkedIssue, row) for row in rows]

    def unlinked_issues(self, run_id: str) -> list[LinkedIssue]:
        """Issues the plan stopped linking (``phase_id``: where they were), oldest first."""
        rows = self._read(
            "SELECT * FROM unlinked_issues WHERE run_id = ? ORDER BY unlinked_at, rowid",
            (run_id,),
        )
        return [from_row(LinkedIssue, row) for row in rows]

    def forget_unlinked(self, run_id: str, keys: Iterable[IssueKey]) -> None:
        """Stop watching unlinked issues that no longer carry a Debussy label."""
        rows = [(run_id, platform, ref) for platform, ref in keys]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM unlinked_issues WHERE run_id = ? AND platform = ? AND ref = ?", rows
            )

    def _locked_phase(self, conn: sqlite3.Connection, run_id: str, phase_id: str) -> PhaseRecord:
        try:
            row = conn.execute(
                "SELECT * FROM phases WHERE run_id = ? AND phase_id = ?", (run_id, phase_id)
            ).fetchone()
            if row is not None and row["removed_at"] is None:
                return phase_record(row)
            # Only an error lists the phases: read for every change, the list made a
            # transaction of n changes read n² rows (a sync of 300 phases: 90,000).
            known = conn.execute(
                "SELECT phase_id FROM phases WHERE run_id = ? AND removed_at IS NULL"
                " ORDER BY position",
                (run_id,),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        names = ", ".join(r["phase_id"] for r in known) or "none"
        if row is None:
            raise StateError(f"run {run_id} has no phase '{phase_id}' (phases: {names})")
        if row["removed_at"] is not None:
            raise StateError(
                f"phase '{phase_id}' of run {run_id} was removed from the plan "
                f"(at {row['removed_at']}); phases now: {names}"
            )
        return phase_record(row)

    # --- following the plan ---------------------------------------------------------------

    def follow_plan(
        self,
        run_id: str,
        phases: Sequence[WantedPhase],
        links: Sequence[WantedLink],
        *,
        fingerprint: str | None,
    ) -> list[PlanChange]:
        """Make the run track what the plan says now, in one transaction (``plan_edit``).

        The difference is computed from rows read under the write lock, so two
        commands seeing the same edit at once record it once. Returns the changes
        made (empty when the plan says what the run already tracks).
        """
        # here, not at the top: a command whose plan did not change never needs the diff
        from debussy.state.plan_edit import CurrentPhase, WantedLink, diff_plan

        with self._write() as conn:
            rows = conn.execute(
                "SELECT * FROM phases WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
            current = [
                CurrentPhase(r["phase_id"], r["title"], r["file"], r["removed_at"] is not None)
                for r in rows
            ]
            linked = [
                WantedLink(r["platform"], r["ref"], r["display_key"], r["phase_id"])
                for r in conn.execute(
                    "SELECT * FROM linked_issues WHERE run_id = ? ORDER BY position", (run_id,)
                )
            ]
            edit = diff_plan(current, linked, phases, links)
            self._apply_plan_edit(conn, run_id, edit)
            conn.execute("UPDATE runs SET plan_fingerprint = ? WHERE id = ?", (fingerprint, run_id))
        return edit.changes

    def _apply_plan_edit(self, conn: sqlite3.Connection, run_id: str, edit: PlanEdit) -> None:
        now = self._now()
        final_ids = {move.new_id for move in edit.kept} | {p.phase_id for p, _ in edit.added}
        conn.executemany(
            "UPDATE phases SET removed_at = ? WHERE run_id = ? AND phase_id = ?",
            [(now, run_id, phase_id) for phase_id in edit.removed],
        )
        # Removed phases keep their rows; one whose id a listed phase now uses steps aside.
        kept_old = {move.old_id for move in edit.kept}
        parked = [
            row["phase_id"]
            for row in conn.execute(
                "SELECT phase_id FROM phases WHERE run_id = ? AND removed_at IS NOT NULL",
                (run_id,),
            )
            if row["phase_id"] in final_ids and row["phase_id"] not in kept_old
        ]
        renames = [(old, f"{old}{REMOVED_MARK}{now}") for old in parked]
        moving = [move for move in edit.kept if move.old_id != move.new_id]
        # Two steps through temporary ids, so swapping two phases' numbers never collides.
        renames += [(move.old_id, f"~moving~{index}") for index, move in enumerate(moving)]
        for old, new in renames:
            self._rename_phase(conn, run_id, old, new)
        for index, move in enumerate(moving):
            self._rename_phase(conn, run_id, f"~moving~{index}", move.new_id)
        conn.executemany(
            "UPDATE phases SET title = ?, file = ?, position = ?, removed_at = NULL"
            " WHERE run_id = ? AND phase_id = ?",
            [(m.title, m.file, m.position, run_id, m.new_id) for m in edit.kept],
        )
        conn.executemany(
            "INSERT INTO phases (run_id, phase_id, title, position, status, file)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            [(run_id, p.phase_id, p.title, position, p.file) for p, position in edit.added],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO unlinked_issues"
            " (run_id, phase_id, platform, ref, display_key, unlinked_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, u.phase_id, u.platform, u.ref, u.display_key, now) for u in edit.unlinked],
        )
        conn.executemany(
            "DELETE FROM unlinked_issues WHERE run_id = ? AND platform = ? AND ref = ?",
            [(run_id, link.platform, link.ref) for link in edit.links],
        )
        conn.execute("DELETE FROM linked_issues WHERE run_id = ?", (run_id,))
        conn.executemany(
            "INSERT INTO linked_issues (run_id, phase_id, platform, ref, display_key, position)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, link.phase_id, link.platform, link.ref, link.display_key, position)
                for position, link in enumerate(edit.links)
            ],
        )
        conn.executemany(
            "INSERT INTO plan_changes (run_id, seen_at, kind, subject, phase_id, change)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, now, c.kind, c.subject, c.phase_id, c.text) for c in edit.changes],
        )
        self._reopen_if_open_phases(conn, run_id)

    def _rename_phase(self, conn: sqlite3.Connection, run_id: str, old: str, new: str) -> None:
        for table in ("phases", "phase_events", "tracker_pushes", "unlinked_issues"):
            conn.execute(
                with_table(
                    "UPDATE {table} SET phase_id = ? WHERE run_id = ? AND phase_id = ?", table
                ),
                (new, run_id, old),
            )

    def _reopen_if_open_phases(self, conn: sqlite3.Connection, run_id: str) -> None:
        """A phase added to a completed run's plan makes the run running again.

        The opposite (removing the last open phase) does not complete the run: a
        run completes by a lifecycle event or a sync, which records the feature.
        """
        remaining = conn.execute(
            "SELECT COUNT(*) FROM phases WHERE run_id = ? AND status != 'completed'"
            " AND removed_at IS NULL",
            (run_id,),
        ).fetchone()[0]
        run_row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if remaining > 0 and run_row["status"] == "completed":
            conn.execute(
                "UPDATE runs SET status = 'running', completed_at = NULL WHERE id = ?", (run_id,)
            )

    def plan_changes(self, run_ids: Sequence[str]) -> list[PlanChangeRecord]:
        """Every change the plans of these runs made, in the order they were seen."""
        from debussy.state.changes import PlanChangeRecord

        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        sql = with_marks("SELECT * FROM plan_changes WHERE run_id IN ({marks}) ORDER BY id", marks)
        return [
            PlanChangeRecord(
                id=row["id"],
                run_id=row["run_id"],
                seen_at=row["seen_at"],
                kind=row["kind"],
                subject=row["subject"],
                phase_id=row["phase_id"],
                change=row["change"],
            )
            for row in self._read(sql, list(run_ids))
        ]
