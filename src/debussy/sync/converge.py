"""The convergence engine: read the affected issues once, send only what closes the gap.

Every write path calls ``converge`` with the issues its action affects and what
Debussy expects of each (``ConvergeTarget``). It reads them fresh — never from
the cache: a write planned from a five-minute-old picture could undo a person's
change — in one batch per tracker (GitHub and Jira at the same time), asks the
pure rules in ``debussy.sync.writes`` for the fewest writes, and, unless it is a
dry run, sends them. A replay, a retry after a failure, a command that was only
dry-run before and ``sync --direction to-tracker`` all end in the same place,
and a second run sends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.errors import DebussyError
from debussy.issues import IssueRef
from debussy.sync.cache import IssueCache
from debussy.sync.trackers import TRACKERS, tracker_settings
from debussy.sync.trackers.clients import TrackerClients
from debussy.sync.trackers.writes import IssueView, TrackerWrite, WriteResult
from debussy.sync.writes import ConvergeTarget, Note, plan_writes, touched_refs

if TYPE_CHECKING:  # annotations only: pydantic loads when a command validates config
    from debussy.config import Config


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A tracker that could not be read: its issues were neither planned nor written."""

    platform: str
    message: str
    issues: int


@dataclass(slots=True)
class Convergence:
    """What one convergence found and did."""

    writes: list[TrackerWrite] = field(default_factory=list[TrackerWrite])
    notes: list[Note] = field(default_factory=list[Note])
    results: list[WriteResult] = field(default_factory=list[WriteResult])
    read_failures: list[ReadFailure] = field(default_factory=list[ReadFailure])
    sent: bool = False
    dry_run: bool = False
    requests: dict[str, int] = field(default_factory=dict[str, int])

    @property
    def failed_results(self) -> list[WriteResult]:
        """Writes the trackers are not known to match: refused, unconfirmed or skipped."""
        return [r for r in self.results if not r.done]

    @property
    def unfinished(self) -> int:
        """Writes and notes that leave the push incomplete (the command exits 1)."""
        return len(self.failed_results) + sum(1 for note in self.notes if note.failed)

    @property
    def complete(self) -> bool:
        """True when the trackers now match (or, for a dry run, could be made to)."""
        return (
            not self.read_failures
            and not self.failed_results
            and not any(note.failed for note in self.notes)
        )


BeforeSend = Callable[["Convergence", Mapping[IssueRef, IssueView]], None]
"""Called between the read and the first write; raising stops the writes (none sent)."""


async def converge(
    targets: Sequence[ConvergeTarget],
    clients: TrackerClients,
    *,
    send: bool,
    recent: Mapping[str, Mapping[str, int]] | None = None,
    before_send: BeforeSend | None = None,
) -> Convergence:
    """Read, plan, and (with ``send``) write; failures come back in the result.

    ``recent``: per platform, key -> id of issues an earlier command moved moments ago
    (``recently_moved``); Jira's write read names them in ``reconcileIssues`` so it
    does not plan from a lagging search index.
    ``before_send`` lets a caller judge the one read before anything is sent:
    ``sync --apply FILE`` refuses there when an issue changed since the saved plan.
    """
    outcome = Convergence(dry_run=not send)
    by_platform: dict[str, list[ConvergeTarget]] = {}
    for target in targets:
        by_platform.setdefault(target.ref.platform, []).append(target)
    views: dict[IssueRef, IssueView] = {}
    for platform, ids in (recent or {}).items():
        if ids:
            clients.learn_written(platform, ids)

    async def read(platform: str, group: Sequence[ConvergeTarget]) -> None:
        comments = any(t.comment is not None or t.close_comment is not None for t in group)
        try:
            found = await clients.client(platform).views_for_writes(
                [t.ref for t in group], comments=comments
            )
        except DebussyError as exc:
            outcome.read_failures.append(ReadFailure(platform, exc.message, len(group)))
            return
        views.update(found)

    platforms = [platform for platform in TRACKERS if platform in by_platform]
    await asyncio.gather(*(read(platform, by_platform[platform]) for platform in platforms))
    plan = plan_writes(targets, views, clients.config)
    outcome.writes, outcome.notes = plan.writes, plan.notes
    if send and before_send is not None:
        before_send(outcome, views)
    if send and outcome.writes:
        outcome.results = await _send(outcome.writes, clients)
        outcome.sent = True
    outcome.requests = clients.requests()
    return outcome


async def _send(writes: Sequence[TrackerWrite], clients: TrackerClients) -> list[WriteResult]:
    """Every tracker at once; results in the order of ``writes``."""
    by_platform: dict[str, list[TrackerWrite]] = {}
    for write in writes:
        by_platform.setdefault(write.ref.platform, []).append(write)
    platforms = [platform for platform in TRACKERS if platform in by_platform]
    sent = await asyncio.gather(
        *(clients.client(platform).apply_writes(by_platform[platform]) for platform in platforms)
    )
    by_write = {id(r.write): r for results in sent for r in results}
    return [by_write[id(w)] for w in writes]


def run_convergence(
    targets: Sequence[ConvergeTarget], config: Config, cache_path: Path, *, send: bool
) -> Convergence:
    """``converge`` from synchronous code; the written issues leave the cache.

    Their cached entries are now known to be old; showing them would report
    drift that is not there, so the next look reads them again, and names the
    Jira issues it moved in ``reconcileIssues`` (``IssueCache.remember_written``).
    """

    recent: dict[str, dict[str, int]] = {}
    if targets:
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            recent = recently_moved(cache, config, targets)

    async def run() -> tuple[Convergence, dict[str, dict[str, int]]]:
        async with TrackerClients(config) as clients:
            done = await converge(targets, clients, send=send, recent=recent)
            return done, clients.written_ids()

    if not targets:
        return Convergence(dry_run=not send)
    outcome, moved = asyncio.run(run())
    if outcome.sent:
        touched = touched_refs(outcome.writes)
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            for platform in TRACKERS:
                host = tracker_settings(config, platform).host
                cache.invalidate(host, [ref for ref in touched if ref.platform == platform])
            remember_moved(cache, config, moved)
    return outcome


def recently_moved(
    cache: IssueCache, config: Config, targets: Sequence[ConvergeTarget]
) -> dict[str, dict[str, int]]:
    """Per platform, the targets an earlier command moved moments ago (key -> id)."""
    found: dict[str, dict[str, int]] = {}
    for platform in dict.fromkeys(target.ref.platform for target in targets):
        keys = [target.ref.canonical for target in targets if target.ref.platform == platform]
        found[platform] = cache.recently_written(tracker_settings(config, platform).host, keys)
    return found


def remember_moved(
    cache: IssueCache, config: Config, moved: Mapping[str, Mapping[str, int]]
) -> None:
    """Keep the issues a push moved (``TrackerClients.written_ids``) for the next read."""
    for platform, ids in moved.items():
        if ids:
            cache.remember_written(tracker_settings(config, platform).host, ids)
