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
from debussy.issues import GitHubRef, IssueRef, JiraRef
from debussy.sync.cache import IssueCache
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
    recent_jira: Mapping[str, int] | None = None,
    before_send: BeforeSend | None = None,
) -> Convergence:
    """Read, plan, and (with ``send``) write; failures come back in the result.

    ``recent_jira``: key -> id of Jira issues an earlier command moved moments ago
    (``IssueCache.recently_written``); the write read names them in
    ``reconcileIssues`` so it does not plan from a lagging search index.
    ``before_send`` lets a caller judge the one read before anything is sent:
    ``sync --apply FILE`` refuses there when an issue changed since the saved plan.
    """
    outcome = Convergence(dry_run=not send)
    github = [t.ref for t in targets if isinstance(t.ref, GitHubRef)]
    jira = [t.ref for t in targets if isinstance(t.ref, JiraRef)]
    views: dict[IssueRef, IssueView] = {}

    async def read_github() -> None:
        if not github:
            return
        client = clients.github()
        comments = any(
            t.comment is not None or t.close_comment is not None
            for t in targets
            if isinstance(t.ref, GitHubRef)
        )
        try:
            statuses, pulls = await client.read_for_writes(github, comments=comments)
        except DebussyError as exc:
            outcome.read_failures.append(ReadFailure("github", exc.message, len(github)))
            return
        markers = client.comment_markers() if comments else {}
        for ref, status in statuses.items():
            views[ref] = IssueView(status, is_pull_request=ref in pulls, markers=markers.get(ref))

    async def read_jira() -> None:
        if not jira:
            return
        comments = any(t.comment is not None for t in targets if isinstance(t.ref, JiraRef))
        try:
            client = clients.jira()
            if recent_jira:
                client.learn_ids(recent_jira)
            found = await client.read_for_writes(jira, comments=comments)
            for ref, view in found.items():
                views[ref] = view
        except DebussyError as exc:
            outcome.read_failures.append(ReadFailure("jira", exc.message, len(jira)))

    await asyncio.gather(read_github(), read_jira())
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
    """Both trackers at once; results in the order of ``writes``."""
    github = [w for w in writes if w.ref.platform == "github"]
    jira = [w for w in writes if w.ref.platform == "jira"]

    async def none() -> list[WriteResult]:
        return []

    github_results, jira_results = await asyncio.gather(
        clients.github().apply_writes(github) if github else none(),
        clients.jira().apply_writes(jira) if jira else none(),
    )
    by_write = {id(r.write): r for r in [*github_results, *jira_results]}
    return [by_write[id(w)] for w in writes]


def run_convergence(
    targets: Sequence[ConvergeTarget], config: Config, cache_path: Path, *, send: bool
) -> Convergence:
    """``converge`` from synchronous code; the written issues leave the cache.

    Their cached entries are now known to be old; showing them would report
    drift that is not there, so the next look reads them again, and names the
    Jira issues it moved in ``reconcileIssues`` (``IssueCache.remember_written``).
    """

    moved: dict[str, int] = {}
    jira = [t.ref for t in targets if isinstance(t.ref, JiraRef)]
    recent: dict[str, int] = {}
    if jira:
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            recent = cache.recently_written(config.jira.host, (ref.key for ref in jira))

    async def run() -> Convergence:
        async with TrackerClients(config) as clients:
            done = await converge(targets, clients, send=send, recent_jira=recent)
            moved.update(clients.jira_written_ids())
            return done

    outcome = asyncio.run(run()) if targets else Convergence(dry_run=not send)
    if outcome.sent:
        touched = touched_refs(outcome.writes)
        with IssueCache(cache_path, config.cache.ttl_seconds) as cache:
            cache.invalidate(config.github.host, [r for r in touched if r.platform == "github"])
            cache.invalidate(config.jira.host, [r for r in touched if r.platform == "jira"])
            cache.remember_written(config.jira.host, moved)
    return outcome
