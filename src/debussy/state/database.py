"""The state database's connection: opening, migrating, one-transaction writes, errors.

``Database`` is the base of ``StateManager`` (``state/manager.py``); each concern
(runs and plan following, the lifecycle, the tracker log, sync history) adds its
queries in a module of its own on top of it. Design points a successor must keep:

- Every write is one ``BEGIN IMMEDIATE`` transaction, so a crash at any point
  leaves either the old or the new state, and two processes serialise instead of
  failing (WAL mode plus a busy timeout; "database is locked" after the timeout
  becomes a one-line ``StateError``).
- SQL is parameterised everywhere; table and column names are never built from input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from debussy import timeutil
from debussy.errors import StateError
from debussy.state.records import Hold, LinkedIssue, PhaseRecord, RunRecord
from debussy.state.status import as_phase_status

if TYPE_CHECKING:  # read only by StateManager.pushes, which imports it (state/changes.py)
    from debussy.state.changes import PushRecord

BUSY_TIMEOUT_SECONDS = 15.0
STATE_FILE = "state.db"

SCHEMA_VERSION = 6
"""``len(schema.MIGRATIONS)``, written out so opening an up-to-date database never loads
the migrations (the warm path); ``tests/state/test_state.py`` keeps the two equal."""

InTransaction = Callable[[sqlite3.Connection], None]
"""Extra work to do inside a write transaction (a sync history entry)."""

CHUNK = 500
"""Rows per ``IN (...)`` query: far below SQLite's variable limit."""


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


class Database:
    """The connection under ``StateManager`` (open ``StateManager(path)``; close it or ``with``)."""

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
        from debussy.state.schema import MIGRATIONS  # only an older database needs them

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

    def __enter__(self) -> Self:
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


def with_marks(template: str, marks: str) -> str:
    """Put placeholders into a query's ``IN`` list: only ``?`` marks ever go in, never values."""
    if set(marks) - set("?(), "):
        raise ValueError("only placeholders may be interpolated into SQL")
    return template.replace("{marks}", marks)


TABLES = frozenset({"phases", "phase_events", "tracker_pushes", "unlinked_issues"})


def with_table(template: str, table: str) -> str:
    """Put one of the known table names into a query: never a value from input."""
    if table not in TABLES:
        raise ValueError(f"not a table phases can be renamed in: {table}")
    return template.replace("{table}", table)


def like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


RecordT = TypeVar("RecordT", LinkedIssue, "PushRecord", Hold)


def from_row(cls: type[RecordT], row: sqlite3.Row) -> RecordT:
    """A record whose fields are all columns of ``row`` (other columns are ignored)."""
    return cls(**{name: row[name] for name in _field_names(cls)})


@functools.cache
def _field_names(cls: type[Any]) -> tuple[str, ...]:
    """``dataclasses.fields`` once per class, not once per row (thousands of linked issues)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def run_record(row: sqlite3.Row) -> RunRecord:
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


def phase_record(row: sqlite3.Row) -> PhaseRecord:
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
