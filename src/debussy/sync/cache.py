"""The issue cache: tracker answers kept in ``.debussy/cache.db`` between invocations.

A CLI process lives about a second, so an in-memory cache would never be hit;
the cache is a small SQLite file instead (stdlib only: the warm ``status
--issues`` path must not import the HTTP stack). Entries are keyed by tracker
host, platform and issue, so two GitHub Enterprise servers, or a sandbox that
serves GitHub and Jira on one port, never see each other's answers.

It is only a cache: a file that SQLite cannot read is deleted and rebuilt with a
warning, an entry that no longer parses is a miss, and a cache that cannot be
written (read-only folder, lock held too long) degrades to "no cache" rather
than failing the command. The file is created ``0600`` because issue titles of
private projects are in it; tokens never are (only ``IssueStatus`` values go in).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar, cast

from debussy import timeutil
from debussy.issues import IssueRef, IssueStatus
from debussy.logs import get_logger
from debussy.timeutil import Clock

log = get_logger("debussy.cache")  # its warnings reach stderr as "Warning: ..."

CACHE_FILE = "cache.db"
CACHE_SCHEMA = 1
"""Bump when the stored shape changes: an old file is then emptied, not misread."""
BUSY_TIMEOUT_SECONDS = 5.0

_CREATE = """
CREATE TABLE IF NOT EXISTS entries (
    host TEXT NOT NULL,
    platform TEXT NOT NULL,
    ref TEXT NOT NULL,
    status TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (host, platform, ref)
) WITHOUT ROWID
"""

_CREATE_WRITTEN = """
CREATE TABLE IF NOT EXISTS written (
    host TEXT NOT NULL,
    ref TEXT NOT NULL,
    issue_id INTEGER NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (host, ref)
) WITHOUT ROWID
"""
"""Jira issues Debussy moved lately, with their ids: the next process's search names them
in ``reconcileIssues`` (see ``IssueCache.remember_written``)."""

RECONCILE_WINDOW_SECONDS = 600
"""How long a write is reconciled by later reads. Jira Cloud's search index usually
catches up within seconds; ten minutes covers a slow day at no cost (an id is a number
in a request body that is sent anyway)."""

ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached status, how old it is, and whether it is young enough to use without asking."""

    status: IssueStatus
    fetched_at: datetime
    age_seconds: float
    fresh: bool


class IssueCache:
    """Tracker statuses by ``(host, issue)``, fresh for ``ttl_seconds`` (0: never fresh).

    ``get_many`` returns entries of any age, each saying whether it is fresh:
    the fetcher serves fresh ones and keeps old ones for when a tracker is down.
    With ``ttl_seconds == 0`` reading is disabled altogether (nothing is served,
    not even as a stale fallback); writes still happen so a later, larger TTL
    starts warm.
    """

    def __init__(
        self, path: Path, ttl_seconds: int, *, clock: Clock = timeutil.precise_now
    ) -> None:
        self.path = path
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._broken = False

    # --- public API ---------------------------------------------------------------------

    @property
    def reads_enabled(self) -> bool:
        return self.ttl_seconds > 0

    def get_many(self, host: str, refs: Sequence[IssueRef]) -> dict[IssueRef, CacheEntry]:
        """Every cached entry for ``refs`` on ``host``, of any age; absent refs are misses."""
        if not self.reads_enabled or not refs:
            return {}
        wanted = {(ref.platform, ref.canonical): ref for ref in refs}
        rows = self._guarded(lambda conn: self._select(conn, host, list(wanted)), default=[])
        now = self._clock()
        entries: dict[IssueRef, CacheEntry] = {}
        moments: dict[str, datetime] = {}  # one ``put_many`` writes one time for all its rows
        documents = _decode_all([row[2] for row in rows])
        for (platform, canonical, payload, fetched_text), document in zip(
            rows, documents, strict=True
        ):
            ref = wanted.get((platform, canonical))
            entry = self._entry(payload, document, fetched_text, now, moments)
            if ref is not None and entry is not None:
                entries[ref] = entry
        return entries

    def put_many(self, host: str, statuses: Iterable[IssueStatus]) -> None:
        """Store ``statuses`` as fetched now, replacing what was there.

        Stamped to the microsecond: an age measured from a whole second could exceed the
        time since the fetch (docs/STATUS_AND_SYNC.md, ``age_seconds``).
        """
        fetched_at = timeutil.to_iso_precise(self._clock())
        rows = [
            (host, status.platform, status.id, _encode(status), fetched_at) for status in statuses
        ]
        if rows:
            self._guarded(lambda conn: self._replace(conn, rows), default=None)

    def remember_written(self, host: str, ids: Mapping[str, int]) -> None:
        """Issues (Jira key -> issue id) just written on ``host``; older memories are dropped.

        A write reaches Jira Cloud's search index a moment later, and the next
        command is another process: without this, ``status --issues`` right after
        ``phase start`` could read the old status from the index and call it drift.
        """
        now = self._clock()
        rows = [(host, key, issue_id, timeutil.to_iso(now)) for key, issue_id in ids.items()]
        cutoff = timeutil.to_iso(now - timedelta(seconds=RECONCILE_WINDOW_SECONDS))

        def store(conn: sqlite3.Connection) -> None:
            with conn:
                # Created by the first write, not at every open: the warm path never pays,
                # and a cache file from before this table keeps its entries.
                conn.execute(_CREATE_WRITTEN)
                conn.execute("DELETE FROM written WHERE written_at < ?", (cutoff,))
                conn.executemany("INSERT OR REPLACE INTO written VALUES (?, ?, ?, ?)", rows)

        if rows:
            self._guarded(store, default=None)

    def recently_written(self, host: str, keys: Iterable[str]) -> dict[str, int]:
        """The ids of ``keys`` written on ``host`` within ``RECONCILE_WINDOW_SECONDS``.

        Best effort, whatever the TTL: a cache that cannot answer (nothing written
        yet, so no table; or unreadable) simply reconciles nothing.
        """
        wanted = set(keys)
        if not wanted or self._broken:
            return {}
        cutoff = timeutil.to_iso(self._clock() - timedelta(seconds=RECONCILE_WINDOW_SECONDS))
        try:
            rows = (
                self._connection()
                .execute(
                    "SELECT ref, issue_id FROM written WHERE host = ? AND written_at >= ?",
                    (host, cutoff),
                )
                .fetchall()
            )
        except (sqlite3.Error, OSError):
            return {}
        return {ref: int(issue_id) for ref, issue_id in rows if ref in wanted}

    def invalidate(self, host: str, refs: Iterable[IssueRef]) -> None:
        """Forget ``refs`` on ``host`` (after a write, the cached answer is known to be old)."""
        keys = [(host, ref.platform, ref.canonical) for ref in refs]
        if keys:
            self._guarded(lambda conn: self._delete(conn, keys), default=None)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> IssueCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- entries --------------------------------------------------------------------------

    def _entry(
        self,
        payload: str,
        document: object,
        fetched_text: str,
        now: datetime,
        moments: dict[str, datetime],
    ) -> CacheEntry | None:
        """Decode one row; a row that no longer parses is a miss, not an error.

        Rows are decoded straight into ``IssueStatus`` dataclasses with the stdlib
        ``json`` module: no pydantic on the warm path (docs/PERFORMANCE.md).
        """
        try:
            status = IssueStatus.from_json(json.loads(payload) if document is None else document)
            fetched_at = moments.get(fetched_text)
            if fetched_at is None:
                fetched_at = moments[fetched_text] = timeutil.parse_iso(fetched_text)
        except ValueError:  # json.JSONDecodeError is a ValueError too
            log.debug("cache: ignoring an unreadable entry")
            return None
        age = max(0.0, (now - fetched_at).total_seconds())
        return CacheEntry(
            status=status,
            fetched_at=fetched_at,
            age_seconds=age,
            fresh=age < self.ttl_seconds,
        )

    # --- SQL --------------------------------------------------------------------------------

    @staticmethod
    def _select(
        conn: sqlite3.Connection, host: str, keys: list[tuple[str, str]]
    ) -> list[tuple[str, str, str, str]]:
        """One join against a temporary list of wanted keys: any number of issues, fixed SQL."""
        with conn:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS wanted (platform TEXT NOT NULL, ref TEXT NOT NULL)"
            )
            conn.execute("DELETE FROM temp.wanted")
            conn.executemany("INSERT INTO temp.wanted (platform, ref) VALUES (?, ?)", keys)
            return conn.execute(
                "SELECT e.platform, e.ref, e.status, e.fetched_at FROM temp.wanted AS w"
                " JOIN entries AS e ON e.host = ? AND e.platform = w.platform AND e.ref = w.ref",
                (host,),
            ).fetchall()

    @staticmethod
    def _replace(conn: sqlite3.Connection, rows: list[tuple[str, str, str, str, str]]) -> None:
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO entries (host, platform, ref, status, fetched_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    @staticmethod
    def _delete(conn: sqlite3.Connection, keys: list[tuple[str, str, str]]) -> None:
        with conn:
            conn.executemany(
                "DELETE FROM entries WHERE host = ? AND platform = ? AND ref = ?", keys
            )

    # --- the file ---------------------------------------------------------------------------

    def _guarded(
        self, work: Callable[[sqlite3.Connection], ResultT], *, default: ResultT
    ) -> ResultT:
        """Run ``work``; a corrupt file is rebuilt once, any other failure means "no cache"."""
        if self._broken:
            return default
        for attempt in (1, 2):
            try:
                return work(self._connection())
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and _is_corruption(exc):
                    self._discard(exc)
                    continue
                self._give_up(exc)
            except OSError as exc:
                self._give_up(exc)
            return default
        return default

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path.is_file() and not os.access(self.path.parent, os.W_OK | os.X_OK):
            # A read-only .debussy/: the cache still answers (`status --issues` works),
            # and what it cannot store is simply fetched again next time.
            return _open_read_only(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            # No fsync per commit (a cold run commits 3 times: 5-70 ms of waiting on disk).
            # Only a crash of the OS itself can then damage the file, and a damaged
            # cache is discarded and rebuilt (``_guarded``); locking is unchanged.
            conn.execute("PRAGMA synchronous = OFF")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version != CACHE_SCHEMA:
                with conn:
                    conn.execute("DROP TABLE IF EXISTS entries")
                    conn.execute(_CREATE)
                    conn.execute(f"PRAGMA user_version = {CACHE_SCHEMA}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _discard(self, exc: sqlite3.DatabaseError) -> None:
        log.warning(
            "cache: %s is not a readable cache (%s); discarding it and starting afresh",
            self.path,
            exc,
        )
        self.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):  # then opening fails and we give up instead
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _give_up(self, exc: sqlite3.DatabaseError | OSError) -> None:
        log.warning("cache: cannot use %s (%s); continuing without the cache", self.path, exc)
        self.close()
        self._broken = True


def _open_read_only(path: Path) -> sqlite3.Connection:
    """``mode=ro``, or ``immutable=1`` where SQLite cannot even create its lock files."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn.close()
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    return conn


def _decode_all(payloads: list[str]) -> list[object]:
    """Every row's JSON in one ``json.loads`` (thousands of calls cost more than the parsing).

    ``None`` for each row when the batch does not decode into exactly one value
    per row (a damaged row): ``_entry`` then decodes that row alone.
    """
    try:
        decoded: object = json.loads("[" + ",".join(payloads) + "]")
    except ValueError:
        return [None] * len(payloads)
    if not isinstance(decoded, list) or len(cast(list[object], decoded)) != len(payloads):
        return [None] * len(payloads)
    return cast(list[object], decoded)


def _encode(status: IssueStatus) -> str:
    return json.dumps(status.as_json(), separators=(",", ":"))


def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite opens it, and tighten an existing one."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(descriptor)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Not a database, malformed, or a table we did not create: rebuild rather than fail."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text or "readonly" in text or "read-only" in text:
        return False
    return not isinstance(exc, sqlite3.OperationalError) or any(
        marker in text
        for marker in ("not a database", "malformed", "no such table", "no such column")
    )
