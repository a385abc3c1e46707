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

import contextlib
import dataclasses
import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from debussy import timeutil
from debussy.errors import StalePlanError, StateError
from debussy.state.plan_edit import (
    REMOVED_MARK,
    CurrentPhase,
    PlanChange,
    PlanEdit,
    WantedLink,
    WantedPhase,
    diff_plan,
    shown_phase_id,
)
from debussy.state.schema import MIGRATIONS, SCHEMA_VERSION
from debussy.state.status import PhaseStatus, as_phase_status

BUSY_TIMEOUT_SECONDS = 15.0
STATE_FILE = "state.db"

IssueKey = tuple[str, str]
"""``(platform, canonical ref)``: how the database identifies an issue."""

InTransaction = Callable[[sqlite3.Connection], None]
"""Extra work to do inside a write transaction (a sync history entry)."""

_CHUNK = 500
"""Rows per ``IN (...)`` query: far below SQLite's variable limit."""


@dataclass(frozen=True, slots=True)
class NewPhase:
    phase_id: str
    title: str
    file: str | None = None
    """The phase file relative to the plan's folder: what identifies the phase later."""


@dataclass(frozen=True, slots=True)
class NewLink:
    """An issue to link to a new run; ``phase_id`` None means plan level."""

    platform: str
    ref: str
    display_key: str
    phase_id: str | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    plan_path: str
    plan_title: str
    status: str
    started_at: str
    completed_at: str | None
    auto_close: bool
    github_repo: str | None
    plan_fingerprint: str | None = None
    """``(path, mtime_ns, size)`` of the plan files when the run last followed its plan."""


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    run_id: str
    phase_id: str
    title: str
    position: int
    status: PhaseStatus
    reason: str | None
    changed_at: str | None
    """The last lifecycle event or sync that changed the phase; None: untouched since start."""
    file: str | None = None
    removed_at: str | None = None
    """When the plan stopped listing this phase (it is then shown as ``removed``)."""

    @property
    def shown_id(self) -> str:
        """The id to show: a removed phase whose number was reused keeps it, unmarked."""
        return shown_phase_id(self.phase_id)


@dataclass(frozen=True, slots=True)
class LinkedIssue:
    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    display_key: str

    @property
    def key(self) -> IssueKey:
        return (self.platform, self.ref)


@dataclass(frozen=True, slots=True)
class CompletedFeature:
    id: int
    name: str
    completed_at: str
    plan_path: str
    run_id: str | None
    issues: tuple[IssueKey, ...]


@dataclass(frozen=True, slots=True)
class PhaseTransition:
    """What one lifecycle event did; ``feature`` is set when it completed the run."""

    run_id: str
    phase_id: str
    old_status: PhaseStatus
    new_status: PhaseStatus
    reason: str | None
    changed_at: str | None
    run_completed: bool = False
    feature: CompletedFeature | None = None
    run_reopened: bool = False
    """The run had completed and this event made it running again."""


@dataclass(frozen=True, slots=True)
class GuardedChange:
    """A phase change that only applies if the phase still has ``expected_status``."""

    phase_id: str
    expected_status: PhaseStatus
    new_status: PhaseStatus
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The last tracker state seen for an issue (for ``reopened_externally``)."""

    platform: str
    ref: str
    state: str | None
    state_reason: str | None
    status_category: str | None
    labels: tuple[str, ...]
    last_updated: str | None
    seen_at: str


@dataclass(frozen=True, slots=True)
class NewPush:
    """A tracker write to record: what was sent for which issue, and how it went."""

    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    action: str
    outcome: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A person's state of an issue that a lifecycle event left as is (PRODUCT.md §5).

    GitHub: ``state`` and ``state_reason``; Jira: ``state`` (the status name) and
    ``status_category``; ``state_changed_at`` as the tracker said (ISO, or None).
    While the issue still shows it (``sync.expected.still_held``) the person's is
    the newer decision: drift says ``newer: tracker`` and later events leave it
    too. ``held_at`` is when it was recorded (None on a hold not yet stored).
    """

    run_id: str
    platform: str
    ref: str
    state: str | None
    state_reason: str | None
    status_category: str | None
    state_changed_at: str | None
    held_at: str | None = None

    @property
    def key(self) -> IssueKey:
        return (self.platform, self.ref)


@dataclass(frozen=True, slots=True)
class PushRecord:
    id: int
    run_id: str
    phase_id: str | None
    platform: str
    ref: str
    action: str
    outcome: str
    detail: str | None
    at: str


@dataclass(frozen=True, slots=True)
class PhaseEventRecord:
    """One lifecycle event or sync change of a phase, as ``history --events`` shows it.

    ``from_status`` is not stored: it is the status of the event before (``pending``
    for a phase's first), which is what the phase had when this one happened.
    """

    id: int
    run_id: str
    phase_id: str
    """As people know the phase: a removed phase set aside keeps its old number."""
    from_status: str
    status: str
    reason: str | None
    source: str
    """``cli`` (a ``phase`` / ``done`` command) or ``sync``."""
    at: str


@dataclass(frozen=True, slots=True)
class PlanChangeRecord:
    """A change the plan made to a run, with when a command first saw it."""

    id: int
    run_id: str
    seen_at: str
    kind: str
    subject: str
    phase_id: str | None
    change: str


@dataclass(frozen=True, slots=True)
class SyncEntry:
    id: int
    run_id: str
    at: str
    actor: str
    direction: str
    applied: bool
    outcome: str
    actions: list[dict[str, Any]]
    results: list[dict[str, Any]]


def _actor() -> str:
    """``user@host`` for the sync history: who ran it, for a shared CI database."""
    import getpass  # here, not at the top: read-only commands never need them (issue 16)
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _create(path: Path) -> None:
    """A new, valid (never empty) database at ``path``, unless another process made one first.

    Built beside under a private name, then linked into place, which fails if ``path``
    exists: so a ``state.db`` of 0 bytes is never one being created, always one that lost
    its content, and ``Project.state`` can refuse it at any age instead of guessing.
    Created private (0600): it names repositories and issues of possibly private projects.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        os.close(os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(partial, isolation_level=None)
        try:
            conn.execute("PRAGMA user_version = 0")
            conn.execute("VACUUM")  # writes the header page: a valid, empty database
        finally:
            conn.close()
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        except OSError:  # a file system without hard links: create it empty, as SQLite would
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except (OSError, sqlite3.Error):
        return  # the open that follows reports the folder's problem (read-only, full disk)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


class StateManager:
    """The state database. Open it with ``StateManager(path)``; close it or use ``with``."""

    def __init__(
        self,
        path: Path,
        *,
        clock: timeutil.Clock = timeutil.now,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        writable: bool = True,
    ) -> None:
        """``writable=False`` opens an existing database read-only and changes nothing, not
        even its schema (``doctor``, which promises to change nothing)."""
        self.path = path
        self._clock = clock
        self._busy_timeout = busy_timeout
        self.read_only = not writable
        """True when the folder or file refused writing: reads work, each write says why not."""
        self._conn = self._connect(path) if writable else self._connect_read_only(path)
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # --- connection and schema -------------------------------------------------

    def _connect(self, path: Path) -> sqlite3.Connection:
        """Open for writing; a read-only ``.debussy/`` (or file) is opened read-only instead.

        Commands that only read (``status``, ``history``, a cached ``status --issues``)
        then work, and a write fails naming the file and the permission to fix.
        """
        try:
            return self._connect_writable(path)
        except StateError:
            writable = os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)
            if not path.is_file() or writable:
                raise
        self.read_only = True
        return self._connect_read_only(path)

    def _connect_read_only(self, path: Path) -> sqlite3.Connection:
        """``mode=ro``; ``immutable=1`` when SQLite cannot even create its WAL index there
        (nothing can change a database in a folder nobody may write to)."""
        uri = path.resolve().as_uri()
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"{uri}?{flags}", uri=True, isolation_level=None)
                conn.row_factory = sqlite3.Row
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.DatabaseError as exc:
                failure = exc
        raise self._error(failure)

    def _connect_writable(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create(path)
        try:
            conn = sqlite3.connect(path, timeout=self._busy_timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            _enable_wal(conn, self._busy_timeout)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        return conn

    def _refused(self, what: str) -> StateError:
        """A write refused by the file system: which file, and which permission to fix."""
        folder = self.path.parent
        return StateError(
            f"{self.path}: cannot {what}: {folder} is read-only for this user; give it and "
            f"{self.path.name} write permission (e.g. chmod u+w {folder} {self.path}) "
            "or run as their owner"
        )

    def _error(self, exc: sqlite3.Error) -> StateError:
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            return self._refused("write")
        if "locked" in text or "busy" in text:
            return StateError(
                f"{self.path}: the state database is locked by another debussy process; "
                "try again when it has finished"
            )
        if "not a database" in text or "malformed" in text:
            return StateError(f"{self.path}: not a readable Debussy state database ({text})")
        return StateError(f"{self.path}: state database error: {text}")

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: written by a newer Debussy (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade debussy"
            )
        if version == SCHEMA_VERSION:
            return
        if self.read_only:
            raise self._refused("upgrade the state database to this Debussy's schema")
        with self._write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        try:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StateManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Generator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: all of it commits, or none of it.

        SQLite errors raised inside become one-line ``StateError``s here, once, for
        every write method.
        """
        if self.read_only:
            raise self._refused("save the change")
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise self._error(exc) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    def _now(self) -> str:
        return timeutil.to_iso(self._clock())

    # --- runs ----------------------------------------------------------------------

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
            return _run(rows[0])
        rows = self._read(
            "SELECT * FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY started_at DESC",
            (run_id, _like_prefix(run_id)),
        )
        exact = [row for row in rows if row["id"] == run_id]
        if exact:
            return _run(exact[0])
        if len(rows) == 1:
            return _run(rows[0])
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
        return [_run(row) for row in self._read(sql, params)]

    def run_progress(self, run_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """``run id → (completed phases, all phases)`` in one query, for ``history``."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        sql = _with_marks(
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
        return [_phase(row) for row in rows]

    def removed_phases(self, run_id: str) -> list[PhaseRecord]:
        """Phases the plan no longer lists: kept with their history, shown as ``removed``."""
        rows = self._read(
            "SELECT * FROM phases WHERE run_id = ? AND removed_at IS NOT NULL ORDER BY position",
            (run_id,),
        )
        return [_phase(row) for row in rows]

    def phase(self, run_id: str, phase_id: str) -> PhaseRecord:
        return self._locked_phase(self._conn, run_id, phase_id)

    def running_runs(self, plan_path: str) -> list[RunRecord]:
        """Runs of this plan still running, newest first (``start`` refuses another)."""
        rows = self._read(
            "SELECT * FROM runs WHERE plan_path = ? AND status = 'running'"
            " ORDER BY started_at DESC, rowid DESC",
            (plan_path,),
        )
        return [_run(row) for row in rows]

    def linked_issues(self, run_id: str) -> list[LinkedIssue]:
        rows = self._read(
            "SELECT * FROM linked_issues WHERE run_id = ? ORDER BY position", (run_id,)
        )
        return [_from_row(LinkedIssue, row) for row in rows]

    def unlinked_issues(self, run_id: str) -> list[LinkedIssue]:
        """Issues the plan stopped linking (``phase_id``: where they were), oldest first."""
        rows = self._read(
            "SELECT * FROM unlinked_issues WHERE run_id = ? ORDER BY unlinked_at, rowid",
            (run_id,),
        )
        return [_from_row(LinkedIssue, row) for row in rows]

    def forget_unlinked(self, run_id: str, keys: Iterable[IssueKey]) -> None:
        """Stop watching unlinked issues that no longer carry a Debussy label."""
        rows = [(run_id, platform, ref) for platform, ref in keys]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM unlinked_issues WHERE run_id = ? AND platform = ? AND ref = ?", rows
            )

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
                _with_table(
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
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        sql = _with_marks("SELECT * FROM plan_changes WHERE run_id IN ({marks}) ORDER BY id", marks)
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

    # --- lifecycle ---------------------------------------------------------------------

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

    def _locked_phase(self, conn: sqlite3.Connection, run_id: str, phase_id: str) -> PhaseRecord:
        try:
            row = conn.execute(
                "SELECT * FROM phases WHERE run_id = ? AND phase_id = ?", (run_id, phase_id)
            ).fetchone()
            if row is not None and row["removed_at"] is None:
                return _phase(row)
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
        return _phase(row)

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
            feature = self._record_feature(conn, _run(run_row), now)
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

    # --- tracker side -------------------------------------------------------------------

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
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("(?, ?)" for _ in chunk)
            sql = _with_marks(
                "SELECT * FROM tracker_snapshots WHERE (platform, ref) IN (VALUES {marks})", marks
            )
            rows += self._read(sql, [part for key in chunk for part in key])
        for row in rows:
            result[(row["platform"], row["ref"])] = Snapshot(
                platform=row["platform"],
                ref=row["ref"],
                state=row["state"],
                state_reason=row["state_reason"],
                status_category=row["status_category"],
                labels=tuple(json.loads(row["labels"])),
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
        return {(row["platform"], row["ref"]): _from_row(Hold, row) for row in rows}

    def pushes(self, run_id: str) -> list[PushRecord]:
        rows = self._read("SELECT * FROM tracker_pushes WHERE run_id = ? ORDER BY id", (run_id,))
        return [_from_row(PushRecord, row) for row in rows]

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

    def integrity_check(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])


def _enable_wal(conn: sqlite3.Connection, patience: float) -> None:
    """Switch to WAL, waiting up to ``patience`` seconds for other processes.

    SQLite does not call the busy handler for a journal-mode change: processes
    creating the database at once would see "database is locked" at once, long
    before the busy timeout. Retrying until it runs out makes them wait like any write.
    """
    deadline = time.monotonic() + patience
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _with_marks(template: str, marks: str) -> str:
    """Put placeholders into a query's ``IN`` list: only ``?`` marks ever go in, never values."""
    if set(marks) - set("?(), "):
        raise ValueError("only placeholders may be interpolated into SQL")
    return template.replace("{marks}", marks)


_TABLES = frozenset({"phases", "phase_events", "tracker_pushes", "unlinked_issues"})


def _with_table(template: str, table: str) -> str:
    """Put one of the known table names into a query: never a value from input."""
    if table not in _TABLES:
        raise ValueError(f"not a table phases can be renamed in: {table}")
    return template.replace("{table}", table)


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


RecordT = TypeVar("RecordT", "LinkedIssue", "PushRecord", "Hold")


def _from_row(cls: type[RecordT], row: sqlite3.Row) -> RecordT:
    """A record whose fields are all columns of ``row`` (other columns are ignored)."""
    return cls(**{name: row[name] for name in _field_names(cls)})


@functools.cache
def _field_names(cls: type[Any]) -> tuple[str, ...]:
    """``dataclasses.fields`` once per class, not once per row (thousands of linked issues)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        plan_path=row["plan_path"],
        plan_title=row["plan_title"],
        status=row["status"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        auto_close=bool(row["auto_close"]),
        github_repo=row["github_repo"],
        plan_fingerprint=row["plan_fingerprint"],
    )


def _phase(row: sqlite3.Row) -> PhaseRecord:
    return PhaseRecord(
        run_id=row["run_id"],
        phase_id=row["phase_id"],
        title=row["title"],
        position=row["position"],
        status=as_phase_status(row["status"]),
        reason=row["reason"],
        changed_at=row["changed_at"],
        file=row["file"],
        removed_at=row["removed_at"],
    )


def already_applied(plan_id: str, applied_at: str) -> str:
    """The refusal of a saved plan applied before (a retried CI job, a second click)."""
    return (
        f"saved plan {plan_id[:8]} was already applied at {applied_at}; nothing was written "
        "— make a new plan (`debussy sync --out FILE`) to sync again"
    )


def _release_holds(conn: sqlite3.Connection, keys: Sequence[tuple[str, str, str]]) -> None:
    """Delete holds ``(run_id, platform, ref)``: Debussy changed that issue's state itself."""
    conn.executemany("DELETE FROM person_holds WHERE run_id = ? AND platform = ? AND ref = ?", keys)
