"""The demo's steps, and after each the check that judges what it did (never its prose)."""

from __future__ import annotations

import json
import subprocess  # nosec B404
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from debussy.demo.runner import STEP_TIMEOUT_SECONDS, DemoRun
from debussy.demo.scene import (
    FIRST_LOOK_DRIFT,
    FIRST_LOOK_REASONS,
    PHASES_AFTER_SYNC,
    PHASES_BEFORE,
    SUB_ISSUES,
)
from debussy.sandbox.server import RecordedRequest

Check = Callable[[DemoRun, "StepRecord"], list[str]]


@dataclass(frozen=True, slots=True)
class Step:
    args: tuple[str, ...]
    explanation: str
    check: Check


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What a step left behind, for its check: its exit code and the requests it sent."""

    exit_code: int
    requests: tuple[RecordedRequest, ...]

    @property
    def writes(self) -> int:
        return sum(1 for request in self.requests if request.is_write)


def _phase_problems(demo: DemoRun, wanted: Mapping[str, str]) -> list[str]:
    have = {phase_id: status for phase_id, (status, _) in demo.phases().items()}
    if have == dict(wanted):
        return []
    return [f"phases are {_phase_list(have)}, expected {_phase_list(wanted)}"]


def _phase_list(statuses: Mapping[str, str]) -> str:
    return ", ".join(f"{phase_id} {status}" for phase_id, status in statuses.items())


def _dashboard(demo: DemoRun) -> tuple[dict[str, Any] | None, list[str]]:
    """``status --issues --json`` (from the cache the step just filled), parsed."""
    try:
        result = demo.quietly(("status", "--issues", "--json"))
    except subprocess.TimeoutExpired:
        return None, [f"`status --issues --json` did not finish within {STEP_TIMEOUT_SECONDS} s"]
    if result.returncode != 0:
        return None, [f"`status --issues --json` exited {result.returncode}"]
    try:
        document = json.loads(result.stdout)
    except ValueError:
        return None, ["`status --issues --json` did not print one JSON document"]
    if not isinstance(document, dict):
        return None, ["`status --issues --json` did not print a JSON object"]
    problems = [f"{error['platform']} could not be read" for error in document.get("errors", [])]
    return document, problems


def _exit_problems(record: StepRecord) -> list[str]:
    if record.exit_code == -1:
        return [f"it did not finish within {STEP_TIMEOUT_SECONDS} s"]
    if record.exit_code != 0:
        return [f"it exited with code {record.exit_code}"]
    return []


def check_first_look(demo: DemoRun, record: StepRecord) -> list[str]:
    """Every hand change shows as its drift type, the tracker is the newer side, nothing else."""
    problems = _exit_problems(record)
    kinds = sorted(request.kind for request in record.requests)
    if kinds != ["graphql", "search"]:
        problems.append(f"it sent {', '.join(kinds) or 'no'} requests, expected graphql, search")
    document, more = _dashboard(demo)
    problems += more
    if document is None:
        return problems
    for issue in document["issues"]:
        key = issue["key"]
        types = [drift["type"] for drift in issue["drift"]]
        wanted = [FIRST_LOOK_DRIFT[key]] if key in FIRST_LOOK_DRIFT else []
        if types != wanted:
            problems.append(f"{key} shows drift {types or 'none'}, expected {wanted or 'none'}")
        if any(drift["newer"] != "tracker" for drift in issue["drift"]):
            problems.append(f"{key}: the tracker should be the newer side")
        reason = FIRST_LOOK_REASONS.get(key)
        if reason is not None and issue["state_reason"] != reason:
            problems.append(f"{key} was closed as {issue['state_reason']}, expected {reason}")
    if document.get("drift_count") != len(FIRST_LOOK_DRIFT):
        problems.append(
            f"drift_count is {document.get('drift_count')}, expected {len(FIRST_LOOK_DRIFT)}"
        )
    return problems + _evidence_problems(document)


def _evidence_problems(document: dict[str, Any]) -> list[str]:
    """The pull request reads as one, and the plan issue shows its sub-issue progress."""
    by_key = {issue["key"]: issue for issue in document["issues"]}
    problems: list[str] = []
    pull = by_key.get("GH-21", {})
    if (pull.get("kind"), pull.get("state")) != ("pr", "merged"):
        problems.append(f"GH-21 reads as {pull.get('kind')} {pull.get('state')}, not a merged PR")
    progress = by_key.get("GH-1", {}).get("sub_issues") or {}
    if progress.get("total") != SUB_ISSUES:
        problems.append(f"GH-1 has {progress.get('total')} sub-issues, expected {SUB_ISSUES}")
    return problems


def check_dry_run(demo: DemoRun, record: StepRecord) -> list[str]:
    problems = _exit_problems(record) + _phase_problems(demo, PHASES_BEFORE)
    if record.writes:
        problems.append(f"a dry run sent {record.writes} write(s) to the trackers")
    return problems


def check_from_tracker(demo: DemoRun, record: StepRecord) -> list[str]:
    problems = _exit_problems(record) + _phase_problems(demo, PHASES_AFTER_SYNC)
    if record.writes:
        problems.append(f"from-tracker sent {record.writes} write(s) to the trackers")
    reason = demo.phases().get("3", ("", None))[1] or ""
    if "GH-14" not in reason:
        problems.append(f"phase 3's reason is {reason!r}, expected it to name GH-14")
    return problems


def check_to_tracker(demo: DemoRun, record: StepRecord) -> list[str]:
    problems = _exit_problems(record) + _phase_problems(demo, PHASES_AFTER_SYNC)
    if not record.writes:
        problems.append("to-tracker sent no write to the trackers")
    return problems


def check_clean(demo: DemoRun, record: StepRecord) -> list[str]:
    problems = _exit_problems(record)
    document, more = _dashboard(demo)
    problems += more
    if document is not None and document.get("drift_count") != 0:
        drifted = [issue["key"] for issue in document["issues"] if issue["drift"]]
        problems.append(f"still drifting: {', '.join(drifted)}")
    return problems


STEPS: tuple[Step, ...] = (
    Step(
        ("status", "--issues"),
        "What drifted? Debussy reads every linked issue over HTTP (one GraphQL query, one "
        "Jira search) and compares it with its phase.",
        check_first_look,
    ),
    Step(
        ("sync",),
        "What would sync do? A dry run: the trackers are the source of truth; nothing changes yet.",
        check_dry_run,
    ),
    Step(
        ("sync", "--apply"),
        "Apply it: phases follow what people did on the trackers, in one transaction.",
        check_from_tracker,
    ),
    Step(
        ("sync", "--direction", "to-tracker", "--apply"),
        "Push the rest: labels only Debussy can fix go out to GitHub.",
        check_to_tracker,
    ),
    Step(
        ("status", "--issues"),
        "Look again: Debussy and the trackers agree (read from the cache the syncs refreshed).",
        check_clean,
    ),
)
