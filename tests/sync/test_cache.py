"""IssueCache: persistent, keyed by host and issue, fresh for the TTL, private, self-healing."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from debussy.issues import GitHubRef, IssueStatus, JiraRef
from debussy.sync.cache import IssueCache
from tests.clock import ManualClock as Clock

HOST = "api.github.com"
APP_1 = GitHubRef("octo/app", 1)
APP_2 = GitHubRef("octo/app", 2)
PROJ_1 = JiraRef("PROJ-1")


def github(ref: GitHubRef, state: str = "open", **fields: object) -> IssueStatus:
    return IssueStatus(platform="github", id=ref.canonical, state=state, **fields)  # type: ignore[arg-type]


def jira(ref: JiraRef, category: str = "indeterminate") -> IssueStatus:
    return IssueStatus(
        platform="jira", id=ref.canonical, state="In Progress", status_category=category
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".debussy" / "cache.db"


@pytest.fixture
def cache(path: Path, clock: Clock) -> Iterator[IssueCache]:
    with IssueCache(path, 300, clock=clock) as opened:
        yield opened


@pytest.fixture
def cache_warnings(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """Records of ``debussy.cache``, whatever an earlier ``-v`` did to the ``debussy`` logger."""
    root = logging.getLogger("debussy")
    monkeypatch.setattr(root, "propagate", True)
    monkeypatch.setattr(root, "handlers", [])
    caplog.set_level(logging.WARNING, logger="debussy.cache")
    return caplog


def test_a_stored_status_is_a_fresh_hit_and_an_unknown_issue_a_miss(
    cache: IssueCache, clock: Clock
) -> None:
    cache.put_many(HOST, [github(APP_1, "closed", state_reason="completed", labels=("x",))])
    entries = cache.get_many(HOST, [APP_1, APP_2])
    assert set(entries) == {APP_1}
    entry = entries[APP_1]
    assert entry.fresh
    assert entry.age_seconds == 0
    assert entry.fetched_at == clock.now
    assert entry.status == github(APP_1, "closed", state_reason="completed", labels=("x",))


def test_entries_expire_after_the_ttl_but_are_still_returned_with_their_age(
    cache: IssueCache, clock: Clock
) -> None:
    cache.put_many(HOST, [github(APP_1)])
    clock.advance(299)
    assert cache.get_many(HOST, [APP_1])[APP_1].fresh
    clock.advance(1)
    expired = cache.get_many(HOST, [APP_1])[APP_1]
    assert not expired.fresh
    assert expired.age_seconds == 300
    clock.advance(86_400)
    assert cache.get_many(HOST, [APP_1])[APP_1].age_seconds == 86_700, "any age is kept"


def test_writing_again_refreshes_the_entry(cache: IssueCache, clock: Clock) -> None:
    cache.put_many(HOST, [github(APP_1, "open")])
    clock.advance(1000)
    cache.put_many(HOST, [github(APP_1, "closed")])
    entry = cache.get_many(HOST, [APP_1])[APP_1]
    assert (entry.status.state, entry.fresh, entry.age_seconds) == ("closed", True, 0)


def test_the_cache_persists_across_invocations(path: Path, clock: Clock) -> None:
    with IssueCache(path, 300, clock=clock) as first:
        first.put_many(HOST, [github(APP_1)])
        first.put_many("acme.atlassian.net", [jira(PROJ_1)])
    clock.advance(60)
    with IssueCache(path, 300, clock=clock) as second:
        assert second.get_many(HOST, [APP_1])[APP_1].age_seconds == 60
        assert second.get_many("acme.atlassian.net", [PROJ_1])[PROJ_1].status == jira(PROJ_1)


def test_entries_are_keyed_by_tracker_host(cache: IssueCache) -> None:
    cache.put_many("ghe.example.com", [github(APP_1, "closed")])
    cache.put_many(HOST, [github(APP_1, "open")])
    assert cache.get_many("ghe.example.com", [APP_1])[APP_1].status.state == "closed"
    assert cache.get_many(HOST, [APP_1])[APP_1].status.state == "open"
    assert cache.get_many("other.example.com", [APP_1]) == {}


def test_lookups_follow_github_case_insensitivity(cache: IssueCache) -> None:
    cache.put_many(HOST, [github(APP_1)])
    spelled_differently = GitHubRef("Octo/App", 1)
    assert spelled_differently in cache.get_many(HOST, [spelled_differently])


def test_invalidate_forgets_only_the_named_issues(cache: IssueCache) -> None:
    cache.put_many(HOST, [github(APP_1), github(APP_2)])
    cache.invalidate(HOST, [APP_1])
    assert set(cache.get_many(HOST, [APP_1, APP_2])) == {APP_2}


def test_many_issues_in_one_lookup(cache: IssueCache) -> None:
    refs = [GitHubRef("octo/app", number) for number in range(1, 1201)]
    cache.put_many(HOST, [github(ref) for ref in refs])
    assert len(cache.get_many(HOST, refs)) == 1200


def test_ttl_zero_disables_reading_but_still_records(path: Path, clock: Clock) -> None:
    with IssueCache(path, 0, clock=clock) as disabled:
        disabled.put_many(HOST, [github(APP_1)])
        assert disabled.get_many(HOST, [APP_1]) == {}
    with IssueCache(path, 300, clock=clock) as enabled:
        assert APP_1 in enabled.get_many(HOST, [APP_1])


def test_the_file_is_created_private(path: Path, cache: IssueCache) -> None:
    previous = os.umask(0)  # even a permissive umask must not widen it
    try:
        cache.put_many(HOST, [github(APP_1)])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_readable_file_is_made_private(path: Path, clock: Clock) -> None:
    path.parent.mkdir(parents=True)
    path.touch()
    path.chmod(0o644)
    with IssueCache(path, 300, clock=clock) as cache:
        cache.put_many(HOST, [github(APP_1)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_corrupt_file_is_discarded_and_rebuilt_with_a_warning(
    path: Path, clock: Clock, cache_warnings: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not SQLite at all, just text that got here somehow\n" * 50)
    with IssueCache(path, 300, clock=clock) as cache:
        assert cache.get_many(HOST, [APP_1]) == {}
        cache.put_many(HOST, [github(APP_1)])
        assert APP_1 in cache.get_many(HOST, [APP_1])
    warnings = [r for r in cache_warnings.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "discarding" in warnings[0].getMessage()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_entry_that_no_longer_parses_is_a_miss(path: Path, cache: IssueCache) -> None:
    cache.put_many(HOST, [github(APP_1), github(APP_2)])
    cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET status = '{\"platform\": 42}' WHERE ref = 'octo/app#1'")
    assert set(cache.get_many(HOST, [APP_1, APP_2])) == {APP_2}


def test_a_cache_from_another_schema_version_is_emptied(path: Path, clock: Clock) -> None:
    with IssueCache(path, 300, clock=clock) as cache:
        cache.put_many(HOST, [github(APP_1)])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with IssueCache(path, 300, clock=clock) as reopened:
        assert reopened.get_many(HOST, [APP_1]) == {}
        reopened.put_many(HOST, [github(APP_1)])
        assert APP_1 in reopened.get_many(HOST, [APP_1])


def test_an_unusable_cache_never_fails_the_command(
    tmp_path: Path, clock: Clock, cache_warnings: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "cache.db"
    blocked.mkdir()  # a folder where the file should be: SQLite cannot open it
    (blocked / "keep").write_text("user data that must survive")
    with IssueCache(blocked, 300, clock=clock) as cache:
        cache.put_many(HOST, [github(APP_1)])
        assert cache.get_many(HOST, [APP_1]) == {}
        cache.invalidate(HOST, [APP_1])
    assert (blocked / "keep").read_text() == "user data that must survive"
    messages = [r.getMessage() for r in cache_warnings.records]
    assert len(messages) == 1, "one warning, not one per use"
    assert "continuing without the cache" in messages[0]


def test_every_field_survives_the_round_trip(cache: IssueCache) -> None:
    """Rows are decoded with the stdlib (no pydantic on the warm path): nothing may be lost."""
    moment = datetime(2026, 11, 27, 9, 30, 15, tzinfo=UTC)
    full = github(
        APP_1,
        "closed",
        state_reason="not_planned",
        labels=("debussy:failed", "bug"),
        milestone="v2",
        title='Crash on \u00e9t\u00e9 "quotes"',
        url="https://github.com/octo/app/issues/1",
        last_updated=moment,
        state_changed_at=moment - timedelta(hours=1),
        etag='W/"abc"',
    )
    cache.put_many(HOST, [full, IssueStatus.missing_issue(APP_2), jira(PROJ_1, "done")])
    entries = cache.get_many(HOST, [APP_1, APP_2, PROJ_1])
    assert entries[APP_1].status == full
    assert entries[APP_2].status == IssueStatus.missing_issue(APP_2)
    assert entries[PROJ_1].status == jira(PROJ_1, "done")


def test_rows_written_by_the_pydantic_version_still_read(path: Path, cache: IssueCache) -> None:
    """Existing cache files (``model_dump_json``: ``Z`` times, every key) stay warm after upgrade."""
    cache.put_many(HOST, [github(APP_1)])
    cache.close()
    old = (
        '{"platform":"github","id":"octo/app#1","missing":false,"state":"closed",'
        '"state_reason":"completed","status_category":null,"labels":["debussy:completed"],'
        '"milestone":null,"title":"T","url":"https://github.com/octo/app/issues/1",'
        '"last_updated":"2026-11-27T09:00:00Z","state_changed_at":"2026-11-27T08:00:00Z",'
        '"etag":null}'
    )
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET status = ? WHERE ref = 'octo/app#1'", (old,))
    status = cache.get_many(HOST, [APP_1])[APP_1].status
    assert status.labels == ("debussy:completed",)
    assert status.last_updated == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert status.is_closed


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '{"platform": "gitlab", "id": "octo/app#1"}',
        '{"platform": "github"}',
        '{"platform": "github", "id": "octo/app#1", "labels": "bug"}',
        '{"platform": "github", "id": "octo/app#1", "labels": [1]}',
        '{"platform": "github", "id": "octo/app#1", "state": 3}',
        '{"platform": "github", "id": "octo/app#1", "last_updated": "yesterday"}',
    ],
)
def test_a_damaged_row_is_a_miss_not_an_error(path: Path, cache: IssueCache, payload: str) -> None:
    cache.put_many(HOST, [github(APP_1), github(APP_2)])
    cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE entries SET status = ? WHERE ref = 'octo/app#1'", (payload,))
    assert set(cache.get_many(HOST, [APP_1, APP_2])) == {APP_2}


def test_written_jira_issues_are_remembered_for_the_reconcile_window(
    path: Path, clock: Clock
) -> None:
    """The next process learns which issues were moved, on which host, and for how long."""
    from debussy.sync.cache import RECONCILE_WINDOW_SECONDS

    with IssueCache(path, 300, clock=clock) as writer:
        writer.remember_written("acme.atlassian.net", {"PROJ-1": 10001, "PROJ-2": 10002})
    with IssueCache(path, 0, clock=clock) as reader:  # whatever the TTL: this is not caching
        assert reader.recently_written("acme.atlassian.net", ["PROJ-1", "PROJ-9"]) == {
            "PROJ-1": 10001
        }
        assert reader.recently_written("other.atlassian.net", ["PROJ-1"]) == {}
    clock.advance(RECONCILE_WINDOW_SECONDS + 1)
    with IssueCache(path, 300, clock=clock) as later:
        assert later.recently_written("acme.atlassian.net", ["PROJ-1", "PROJ-2"]) == {}
        later.remember_written("acme.atlassian.net", {"PROJ-3": 10003})
        rows = later._connection().execute("SELECT ref FROM written").fetchall()  # pyright: ignore[reportPrivateUsage]
    assert rows == [("PROJ-3",)], "a new write drops the memories past the window"


def test_a_cache_from_before_the_written_table_keeps_its_entries_and_gains_the_table(
    path: Path, clock: Clock, cache_warnings: pytest.LogCaptureFixture
) -> None:
    """Upgrading Debussy neither empties the cache nor warns: the table is simply added."""
    with IssueCache(path, 300, clock=clock) as cache:
        cache.put_many("api.github.com", [github(GitHubRef("octo/app", 1))])
    with sqlite3.connect(path) as conn:  # as a cache file from before this table
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "written" not in tables, "the table comes with the first write, not with an open"
    with IssueCache(path, 300, clock=clock) as cache:
        assert cache.recently_written("acme.atlassian.net", ["PROJ-1"]) == {}
        assert GitHubRef("octo/app", 1) in cache.get_many(
            "api.github.com", [GitHubRef("octo/app", 1)]
        )
        cache.remember_written("acme.atlassian.net", {"PROJ-1": 10001})
        assert cache.recently_written("acme.atlassian.net", ["PROJ-1"]) == {"PROJ-1": 10001}
    assert cache_warnings.records == []


def test_an_age_never_exceeds_the_time_since_the_fetch(path: Path, clock: Clock) -> None:
    """Fetched at 10:00:00.9 and read at 10:00:02.1: 1.2 s old, not the 2 s whole seconds say."""
    clock.advance(0.9)
    with IssueCache(path, 300, clock=clock) as cache:
        cache.put_many(HOST, [github(APP_1)])
        clock.advance(1.2)
        [entry] = cache.get_many(HOST, [APP_1]).values()
    assert entry.age_seconds == pytest.approx(1.2)
