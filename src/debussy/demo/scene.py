"""The demo's scene: what the trackers hold, the run's history, the hand changes, and the
outcome each step must reach.

If you change the scene, change the expected outcomes beside it (``PHASES_*``,
``FIRST_LOOK_*``); the end-to-end tests tie plan files and seed table together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from debussy.sandbox.server import SandboxTracker
from debussy.state.status import PhaseStatus


@dataclass(frozen=True, slots=True)
class GitHubSeed:
    repo: str
    number: int
    title: str
    labels: tuple[str, ...] = ()
    closed: bool = False
    age: timedelta = timedelta(days=5)
    """How long ago the issue last changed (the lifecycle push of its phase)."""
    pull: bool = False
    """A pull request (opened, not merged yet) rather than an issue."""


@dataclass(frozen=True, slots=True)
class JiraSeed:
    key: str
    summary: str
    status: str
    age: timedelta = timedelta(days=5)


IN_PROGRESS = "debussy:in-progress"
COMPLETED = "debussy:completed"

GITHUB_SEED = (
    GitHubSeed("acme/shop", 1, "Order export API", (IN_PROGRESS,)),
    GitHubSeed("acme/shop", 11, "Define the export file layouts", (COMPLETED,), True, timedelta(4)),
    GitHubSeed("acme/infra", 4, "Bucket for order exports", (COMPLETED,), age=timedelta(4)),
    GitHubSeed(
        "acme/shop", 12, "Export jobs on the worker queue", (COMPLETED,), True, timedelta(2)
    ),
    GitHubSeed("acme/shop", 13, "Retry failed exports", (COMPLETED,), age=timedelta(2)),
    GitHubSeed(
        "acme/shop", 14, "Download page for finished exports", (IN_PROGRESS,), age=timedelta(1)
    ),
    GitHubSeed("acme/infra", 5, "Signed download links", (IN_PROGRESS,), age=timedelta(1)),
    GitHubSeed("acme/shop", 15, "Roll out behind the order_export flag"),
    GitHubSeed("acme/shop", 21, "Turn order_export on for everyone", pull=True),
)
"""Eight issues and a pull request in two repositories, as the lifecycle pushes of the run
left them; the issues of the plan's owner are sub-issues of the plan issue (acme/shop#1)."""

PLAN_ISSUE = ("acme/shop", 1)
"""The plan-level issue: with ``github.sub_issues`` its sub-issues are the phase issues."""

JIRA_SEED = (
    JiraSeed("SHOP-1", "Order export for merchants", "In Progress"),
    JiraSeed("SHOP-2", "Export worker capacity plan", "Done", timedelta(days=2)),
    JiraSeed("SHOP-3", "Download page UX review", "In Progress", timedelta(days=1)),
    JiraSeed("SHOP-4", "Export dashboards and alerts", "To Do"),
    JiraSeed("SHOP-5", "Security review of signed links", "In Review", timedelta(days=1)),
)
"""Five Jira issues; SHOP-5 is "In Review", which Debussy judges by category (in progress)."""

RUN_AGE = timedelta(days=5)
PHASE_HISTORY: tuple[tuple[str, PhaseStatus, timedelta], ...] = (
    ("1", "running", timedelta(days=5)),
    ("1", "completed", timedelta(days=4)),
    ("2", "running", timedelta(days=4)),
    ("2", "completed", timedelta(days=2)),
    ("3", "running", timedelta(days=1)),
)
LAST_LOOK_AGE = timedelta(hours=6)
"""When Debussy last saw the issues (and that GH-11 was closed): what makes a reopen show."""


@dataclass(frozen=True, slots=True)
class HandChange:
    """Something a person does in the tracker's web UI while Debussy is not looking."""

    where: str
    what: str
    apply: Callable[[SandboxTracker], None]


HAND_CHANGES: tuple[HandChange, ...] = (
    HandChange(
        "GitHub acme/shop#14",
        "closed as not planned",
        lambda sandbox: sandbox.close_issue("acme/shop", 14, "not_planned"),
    ),
    HandChange(
        "GitHub acme/shop#15",
        "closed as completed",
        lambda sandbox: sandbox.close_issue("acme/shop", 15),
    ),
    HandChange(
        "Jira SHOP-4", "moved to Done", lambda sandbox: sandbox.move_jira_issue("SHOP-4", "Done")
    ),
    HandChange(
        "GitHub acme/shop#21",
        "pull request merged",
        lambda sandbox: sandbox.merge_pull_request("acme/shop", 21),
    ),
    HandChange(
        "GitHub acme/shop#11", "reopened", lambda sandbox: sandbox.reopen_issue("acme/shop", 11)
    ),
    HandChange(
        "GitHub acme/shop#13",
        f"label {COMPLETED} removed",
        lambda sandbox: sandbox.set_labels("acme/shop", 13, []),
    ),
)

PHASES_BEFORE: dict[str, str] = {"1": "completed", "2": "completed", "3": "running", "4": "pending"}
PHASES_AFTER_SYNC: dict[str, str] = {
    "1": "pending",  # GH-11 reopened
    "2": "completed",  # a missing label changes nothing in Debussy
    "3": "blocked",  # GH-14 closed as not planned
    "4": "completed",  # all of its issues closed (GH-15, SHOP-4) and its pull request merged
}
FIRST_LOOK_DRIFT: dict[str, str] = {
    "GH-14": "closed_externally",
    "GH-15": "closed_externally",
    "SHOP-4": "closed_externally",
    "GH-21": "pr_merged",
    "GH-11": "reopened_externally",
    "GH-13": "label_mismatch",
}
"""The drift the first ``status --issues`` must show, by issue; every other issue has none."""
FIRST_LOOK_REASONS: dict[str, str] = {
    "GH-14": "not_planned",
    "GH-15": "completed",
    "SHOP-4": "Done",
    "GH-21": "completed",
}
SUB_ISSUES = 7
"""The plan issue's sub-issues: every phase issue of the acme owner (a pull request is none)."""


def seed_demo(sandbox: SandboxTracker, *, now: datetime | None = None) -> None:
    """Put the demo's issues in ``sandbox`` (``python -m debussy.sandbox --seed demo`` too)."""
    moment = now or datetime.now(UTC)
    for issue in GITHUB_SEED:
        if issue.pull:
            sandbox.add_pull_request(issue.repo, issue.number, title=issue.title)
            continue
        sandbox.add_issue(
            issue.repo,
            issue.number,
            title=issue.title,
            state="closed" if issue.closed else "open",
            labels=issue.labels,
            updated_at=moment - issue.age,
        )
    for jira in JIRA_SEED:
        sandbox.add_jira_issue(
            jira.key, summary=jira.summary, status=jira.status, updated_at=moment - jira.age
        )
    parent_repo, parent = PLAN_ISSUE
    for issue in GITHUB_SEED:
        if not issue.pull and (issue.repo, issue.number) != PLAN_ISSUE:
            sandbox.add_sub_issue_across(parent_repo, parent, issue.repo, issue.number, touch=False)
