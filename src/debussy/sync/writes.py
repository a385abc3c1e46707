"""Tracker writes: what to send to make an issue match Debussy, and sending it.

Lifecycle events and ``sync --direction to-tracker`` both describe their work as
a list of ``TrackerWrite`` values first. That list is what ``--dry-run-sync``
and the sync plan print, what gets recorded, and what ``execute_writes`` sends —
so a dry run shows exactly the requests a real run would make.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from debussy.config import Config
from debussy.errors import DebussyError, TrackerError
from debussy.issues import GitHubRef, IssueRef, IssueStatus, JiraRef
from debussy.sync.expected import GitHubExpectation, JiraExpectation, is_debussy_label
from debussy.sync.trackers.clients import TrackerClients

WriteAction = Literal["set_label", "close", "reopen", "transition", "comment"]
Outcome = Literal["ok", "unchanged", "error", "skipped"]

CONCURRENCY = 8
"""Issues written at once: enough to hide latency, few enough for GitHub's secondary limits."""


@dataclass(frozen=True, slots=True)
class TrackerWrite:
    """One change to one issue. ``value``: label name (None = no Debussy label), close
    reason, target status name, or comment text."""

    ref: IssueRef
    display_key: str
    phase_id: str | None
    action: WriteAction
    value: str | None
    why: str = ""

    def describe(self) -> str:
        if self.action == "set_label":
            what = f"set label {self.value}" if self.value else "remove Debussy labels"
        elif self.action == "close":
            what = f"close as {(self.value or 'completed').replace('_', ' ')}"
        elif self.action == "reopen":
            what = "reopen"
        elif self.action == "transition":
            what = f"transition to '{self.value}'"
        else:
            what = "comment"
        return f"{self.display_key}: {what}"

    def as_json(self) -> dict[str, object]:
        return {
            "issue": self.display_key,
            "platform": self.ref.platform,
            "ref": self.ref.canonical,
            "phase": self.phase_id,
            "action": self.action,
            "value": self.value if self.action != "comment" else None,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class WriteResult:
    write: TrackerWrite
    outcome: Outcome
    detail: str | None = None

    def as_json(self) -> dict[str, object]:
        return {**self.write.as_json(), "outcome": self.outcome, "detail": self.detail}


def writes_for_status(
    ref: IssueRef,
    display_key: str,
    phase_id: str | None,
    expectation: GitHubExpectation | JiraExpectation,
    *,
    why: str,
) -> list[TrackerWrite]:
    """The unconditional writes a lifecycle event sends (the clients make replays free)."""
    if isinstance(expectation, GitHubExpectation):
        return [TrackerWrite(ref, display_key, phase_id, "set_label", expectation.label, why)]
    if expectation.transition:
        return [TrackerWrite(ref, display_key, phase_id, "transition", expectation.transition, why)]
    return []


def writes_to_match(
    ref: IssueRef,
    display_key: str,
    phase_id: str | None,
    actual: IssueStatus,
    expectation: GitHubExpectation | JiraExpectation,
    config: Config,
    *,
    why: str,
) -> tuple[list[TrackerWrite], str | None]:
    """Only the writes needed to turn ``actual`` into ``expectation`` (``to-tracker`` sync).

    Returns the writes and, when the difference cannot be fixed by a write (no
    Jira transition configured for that status), a note saying why.
    """
    writes: list[TrackerWrite] = []
    if isinstance(expectation, GitHubExpectation):
        have = sorted(label for label in actual.labels if is_debussy_label(label, config.github))
        want = [expectation.label] if expectation.label else []
        if have != want:
            writes.append(
                TrackerWrite(ref, display_key, phase_id, "set_label", expectation.label, why)
            )
        if not expectation.allows(actual.state, actual.state_reason):
            reasons = expectation.close_reasons or frozenset({"completed"})
            reason = "completed" if "completed" in reasons else "not_planned"
            if actual.state == "closed" and reason != "completed":
                # Closed for a reason the phase does not allow (blocked, yet "completed"): reopen.
                writes.append(TrackerWrite(ref, display_key, phase_id, "reopen", None, why))
            elif actual.state == "closed" and "closed" in expectation.states:
                # Closed, but not as completed while the phase completed: re-close as completed.
                writes.append(TrackerWrite(ref, display_key, phase_id, "close", reason, why))
            elif actual.state == "closed":
                writes.append(TrackerWrite(ref, display_key, phase_id, "reopen", None, why))
            else:
                writes.append(TrackerWrite(ref, display_key, phase_id, "close", reason, why))
        return writes, None
    if expectation.allows(actual.status_category, actual.state_reason):
        return [], None
    if not expectation.transition:
        return [], (
            f"{display_key}: Jira is {actual.state} ({actual.status_category}); no transition is "
            f"configured to reach '{expectation.describe()}'"
        )
    return [
        TrackerWrite(ref, display_key, phase_id, "transition", expectation.transition, why)
    ], None


async def execute_writes(
    writes: Sequence[TrackerWrite], clients: TrackerClients
) -> list[WriteResult]:
    """Send every write; one issue's writes go in order, issues go concurrently.

    A failure is a result, never an exception: the caller records and reports
    it, and the remaining issues are still written. Once a write to an issue
    fails, that issue's later writes are skipped (they assumed it succeeded).
    """
    by_issue: dict[IssueRef, list[TrackerWrite]] = {}
    for write in writes:
        by_issue.setdefault(write.ref, []).append(write)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run_issue(queue: list[TrackerWrite]) -> list[WriteResult]:
        results: list[WriteResult] = []
        async with gate:
            failed = False
            for write in queue:
                if failed:
                    results.append(WriteResult(write, "skipped", "an earlier write failed"))
                    continue
                result = await _send(write, clients)
                failed = result.outcome == "error"
                results.append(result)
        return results

    batches = await asyncio.gather(*(run_issue(queue) for queue in by_issue.values()))
    order = {id(write): index for index, write in enumerate(writes)}
    flat = [result for batch in batches for result in batch]
    return sorted(flat, key=lambda result: order[id(result.write)])


async def _send(write: TrackerWrite, clients: TrackerClients) -> WriteResult:
    try:
        ref = write.ref
        if isinstance(ref, GitHubRef):
            return await _send_github(write, ref, clients)
        return await _send_jira(write, ref, clients)
    except TrackerError as exc:
        return WriteResult(write, "error", exc.message)
    except DebussyError as exc:
        return WriteResult(write, "error", exc.message)


async def _send_github(write: TrackerWrite, ref: GitHubRef, clients: TrackerClients) -> WriteResult:
    github = clients.github()
    if write.action == "set_label":
        labels = await github.set_debussy_label(ref, write.value)
        return WriteResult(write, "ok", ", ".join(labels) or "no labels")
    if write.action == "close":
        await github.close_issue(
            ref, "not_planned" if write.value == "not_planned" else "completed"
        )
    elif write.action == "reopen":
        await github.reopen_issue(ref)
    elif write.action == "comment":
        await github.add_comment(ref, write.value or "")
    else:
        return WriteResult(write, "error", f"GitHub issues have no '{write.action}'")
    return WriteResult(write, "ok")


async def _send_jira(write: TrackerWrite, ref: JiraRef, clients: TrackerClients) -> WriteResult:
    jira = clients.jira()
    if write.action == "transition" and write.value:
        outcome = await jira.transition_to(ref, write.value)
        return WriteResult(write, "unchanged" if outcome == "already" else "ok")
    if write.action == "comment":
        await jira.add_comment(ref, write.value or "")
        return WriteResult(write, "ok")
    return WriteResult(write, "error", f"Jira issues have no '{write.action}'")
