"""``debussy demo``: the whole issue-sync feature in one command, against a local sandbox.

The demo starts the sandbox tracker (``debussy.sandbox``) in a thread on
127.0.0.1, lays out a sample project whose run is half done, changes a few
issues "by hand" on the trackers, then runs the real ``debussy`` commands as
subprocesses of this interpreter, over HTTP, and checks after each one that it
ended as it should. Nothing is mocked: what the user sees is what they would see
against GitHub and Jira, and the exit code says whether every step worked (a
test relies on it).

The scene is deterministic without sleeping: the run's history (phase changes,
the issues' timestamps, Debussy's last look at them) is laid out in the past
with an explicit clock, so every hand change made now is the newer side.

The children get the sandbox's own credentials: a real ``GITHUB_TOKEN`` or
``JIRA_API_TOKEN`` in the user's environment is removed from theirs, so it can
reach neither the sandbox nor the output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess  # nosec B404
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from debussy.app.project import Project
from debussy.app.runs import links_of, load_project_plan
from debussy.config import CONFIG_FILE, STATE_DIR
from debussy.errors import DebussyError
from debussy.output.console import color_wanted
from debussy.sandbox.server import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    RecordedRequest,
    SandboxTracker,
)
from debussy.state.manager import STATE_FILE, LinkedIssue, NewPhase, Snapshot, StateManager
from debussy.state.status import PhaseStatus
from debussy.timeutil import to_iso

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

MARKER_FILE = "DEBUSSY_DEMO.md"
MARKER_TITLE = "# Debussy demo project"
PLAN_FOLDER = "plans"
PLAN_PATH = f"{PLAN_FOLDER}/MASTER_PLAN.md"
LAID_OUT = (STATE_DIR, PLAN_FOLDER, MARKER_FILE)
"""Everything the demo writes in its folder: all it removes when it reuses one."""

STEP_TIMEOUT_SECONDS = 120
"""A child that runs this long is stuck; the sandbox answers in milliseconds."""


class DemoFolderError(DebussyError):
    """``--dir`` names a folder the demo must not write into."""

    exit_code = EXIT_USAGE


# --- the scene: what the trackers hold, and the run's history -------------------------------


@dataclass(frozen=True, slots=True)
class GitHubSeed:
    repo: str
    number: int
    title: str
    labels: tuple[str, ...] = ()
    closed: bool = False
    age: timedelta = timedelta(days=5)
    """How long ago the issue last changed (the lifecycle push of its phase)."""


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
)
"""Eight issues in two repositories, as the lifecycle pushes of the run left them."""

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
    "4": "completed",  # all of its issues closed: GH-15 and SHOP-4
}
FIRST_LOOK_DRIFT: dict[str, str] = {
    "GH-14": "closed_externally",
    "GH-15": "closed_externally",
    "SHOP-4": "closed_externally",
    "GH-11": "reopened_externally",
    "GH-13": "label_mismatch",
}
"""The drift the first ``status --issues`` must show, by issue; every other issue has none."""
FIRST_LOOK_REASONS: dict[str, str] = {
    "GH-14": "not_planned",
    "GH-15": "completed",
    "SHOP-4": "Done",
}


def seed_demo(sandbox: SandboxTracker, *, now: datetime | None = None) -> None:
    """Put the demo's issues in ``sandbox`` (``python -m debussy.sandbox --seed demo`` too)."""
    moment = now or datetime.now(UTC)
    for issue in GITHUB_SEED:
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


# --- laying out the project -----------------------------------------------------------------


class _SceneClock:
    """A clock the scene moves by hand, so the run's history lies in the past."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def prepare_folder(folder: Path | None) -> tuple[Path, bool]:
    """The folder to lay the project out in, and whether it is kept afterwards.

    A kept folder must be empty or a previous demo's (whose demo files are then
    replaced); anything else is refused rather than written into.
    """
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="debussy-demo-")), False
    if folder.exists() and not folder.is_dir():
        raise DemoFolderError(f"--dir {folder}: not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not is_demo_folder(folder):
            raise DemoFolderError(
                f"--dir {folder}: the folder is not empty and not a previous demo's; "
                "give an empty or new folder"
            )
        for name in LAID_OUT:
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve(), True


def is_demo_folder(folder: Path) -> bool:
    marker = folder / MARKER_FILE
    try:
        return marker.read_text(encoding="utf-8").startswith(MARKER_TITLE)
    except OSError:
        return False


def write_config(root: Path, sandbox: SandboxTracker) -> Path:
    path = root / STATE_DIR / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `debussy demo`: points Debussy at the local sandbox tracker.\n"
        "# Credentials: the sandbox's own (see the demo's --serve output).\n"
        "github:\n"
        "  enabled: true\n"
        "  repo: acme/shop\n"
        f"  api_url: {sandbox.github_api_url}\n"
        "jira:\n"
        "  enabled: true\n"
        f"  url: {sandbox.jira_url}\n"
        "cache:\n"
        "  ttl_seconds: 300\n",
        encoding="utf-8",
    )
    return path


def copy_plan(root: Path) -> Path:
    """The sample plan from the package data (``demo/data/plans``) into ``root/plans``."""
    _copy_markdown(
        resources.files("debussy.demo").joinpath("data", PLAN_FOLDER), root / PLAN_FOLDER
    )
    return root / PLAN_PATH


def _copy_markdown(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_markdown(entry, target / entry.name)
        elif entry.name.endswith(".md"):
            text = entry.read_text(encoding="utf-8")
            (target / entry.name).write_text(text, encoding="utf-8")


def write_marker(root: Path) -> None:
    (root / MARKER_FILE).write_text(
        f"{MARKER_TITLE}\n\n"
        "Laid out by `debussy demo`. `debussy demo --dir` may replace `.debussy/`, `plans/`\n"
        "and this file; anything else here is left alone.\n\n"
        "Look around: `debussy status`, `debussy status --issues`, `debussy history`.\n"
        "The sandbox tracker lives only as long as the demo process (`--serve` keeps it up).\n",
        encoding="utf-8",
    )


@dataclass(frozen=True, slots=True)
class Scene:
    root: Path
    kept: bool
    run_id: str
    plan_title: str
    phase_count: int


def lay_out_project(root: Path, kept: bool, sandbox: SandboxTracker, now: datetime) -> Scene:
    """Config, plan, and a run whose phases 1-2 completed days ago and 3 is running.

    The run is recorded through the real plan parser and ``StateManager``, with
    a clock set to each historical moment; the last look stores what the issues
    looked like then (the snapshots a ``status --issues`` back then saved).
    """
    write_config(root, sandbox)
    write_marker(root)
    plan_path = copy_plan(root)
    clock = _SceneClock(now - RUN_AGE)
    with (
        Project(root) as project,
        StateManager(root / STATE_DIR / STATE_FILE, clock=clock) as state,
    ):
        plan = load_project_plan(project, plan_path)
        run = state.create_run(
            plan_path=project.relative(plan.path),
            plan_title=plan.title,
            phases=[NewPhase(phase.id, phase.title) for phase in plan.phases],
            issues=links_of(plan),
            github_repo=plan.github_repo,
        )
        for phase_id, status, age in PHASE_HISTORY:
            clock.moment = now - age
            state.record_phase_status(run.id, phase_id, status)
        state.save_snapshots(
            last_look(sandbox, state.linked_issues(run.id), to_iso(now - LAST_LOOK_AGE))
        )
    return Scene(root, kept, run.id, plan.title, len(plan.phases))


def last_look(
    sandbox: SandboxTracker, links: Sequence[LinkedIssue], seen_at: str
) -> list[Snapshot]:
    """What each linked issue looks like in the sandbox now, as Debussy's last snapshot."""
    snapshots: list[Snapshot] = []
    for link in links:
        if link.platform == "github":
            repo, _, number = link.ref.partition("#")
            issue = sandbox.github_issue(repo, int(number))
            snapshots.append(
                Snapshot(
                    platform="github",
                    ref=link.ref,
                    state=issue["state"],
                    state_reason=issue["state_reason"],
                    status_category=None,
                    labels=tuple(issue["labels"]),
                    last_updated=to_iso(issue["updated_at"]),
                    seen_at=seen_at,
                )
            )
        else:
            jira = sandbox.jira_issue(link.ref)
            snapshots.append(
                Snapshot(
                    platform="jira",
                    ref=link.ref,
                    state=jira["status"],
                    state_reason=jira["resolution"],
                    status_category=jira["status_category"],
                    labels=tuple(jira["labels"]),
                    last_updated=jira["updated"],
                    seen_at=seen_at,
                )
            )
    return snapshots


# --- running the commands -------------------------------------------------------------------


def child_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without any tracker credential, plus the sandbox's own ones."""
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith("JIRA_")
        and name not in ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN")
    }
    env.update(
        GITHUB_TOKEN=DEFAULT_GITHUB_TOKEN,
        JIRA_EMAIL=DEFAULT_JIRA_EMAIL,
        JIRA_API_TOKEN=DEFAULT_JIRA_TOKEN,
    )
    return env


def _inherits_stdout() -> bool:
    """Children write straight to our terminal when we have real file descriptors."""
    try:
        sys.stdout.fileno()
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


@dataclass
class DemoRun:
    """A running demo: where the project is, the sandbox, and how children are started."""

    scene: Scene
    sandbox: SandboxTracker
    env: dict[str, str]
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def root(self) -> Path:
        return self.scene.root

    def command(self, args: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "debussy", *args]

    def show(self, args: Sequence[str]) -> int:
        """Run ``debussy ARGS`` with its output going where ours goes; its exit code."""
        inherit = _inherits_stdout()
        try:
            # A fixed argv of this very interpreter, never a shell.
            result = subprocess.run(  # noqa: S603  # nosec B603
                self.command(args),
                cwd=self.root,
                env=self.env,
                stdout=None if inherit else subprocess.PIPE,
                stderr=None if inherit else subprocess.STDOUT,
                text=True,
                timeout=STEP_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return -1
        if not inherit and result.stdout:
            click.echo(result.stdout, nl=False)
        return result.returncode

    def quietly(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run ``debussy ARGS`` and keep its output, to check what a step did."""
        # A fixed argv of this very interpreter, never a shell.
        return subprocess.run(  # noqa: S603  # nosec B603
            self.command(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )

    def phases(self) -> dict[str, tuple[str, str | None]]:
        with StateManager(self.root / STATE_DIR / STATE_FILE) as state:
            return {p.phase_id: (p.status, p.reason) for p in state.phases(self.scene.run_id)}


# --- the steps and what each must achieve ---------------------------------------------------

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


# --- output ---------------------------------------------------------------------------------


class _Printer:
    def __init__(self) -> None:
        self.color = color_wanted(sys.stdout)
        self.err_color = color_wanted(sys.stderr)

    def line(self, text: str = "", **style: Any) -> None:
        click.echo(click.style(text, **style) if style else text, color=self.color)

    def error(self, text: str) -> None:
        click.echo(click.style(text, fg="red"), err=True, color=self.err_color)


def _describe_scene(out: _Printer, demo: DemoRun) -> None:
    scene = demo.scene
    repos = sorted({seed.repo for seed in GITHUB_SEED})
    out.line(f"Project: {scene.root}" + ("" if scene.kept else " (temporary)"))
    out.line(
        f"  plan '{scene.plan_title}': {scene.phase_count} phases, {len(GITHUB_SEED)} GitHub "
        f"issues in {' and '.join(repos)}, {len(JIRA_SEED)} Jira issues, at plan and phase level"
    )
    out.line(
        f"  run {scene.run_id}, started {RUN_AGE.days} days ago: phases 1 and 2 completed, "
        f"3 running, 4 pending; Debussy last looked at the issues "
        f"{LAST_LOOK_AGE.seconds // 3600} hours ago"
    )


def _make_hand_changes(out: _Printer, sandbox: SandboxTracker) -> None:
    out.line()
    out.line("Meanwhile, people change issues by hand on the trackers:", bold=True)
    for change in HAND_CHANGES:
        change.apply(sandbox)
        out.line(f"  • {change.where}: {change.what}")


def run_steps(out: _Printer, demo: DemoRun) -> int:
    """Each step: one line of why, the command and its output, then its check."""
    for number, step in enumerate(STEPS, start=1):
        if demo.stop.is_set():
            return EXIT_INTERRUPTED
        out.line()
        out.line(f"Step {number}/{len(STEPS)} · {step.explanation}", bold=True)
        out.line(f"$ debussy {' '.join(step.args)}", fg="cyan")
        seen_before = len(demo.sandbox.requests)
        code = demo.show(step.args)
        if demo.stop.is_set():
            return EXIT_INTERRUPTED
        record = StepRecord(code, tuple(demo.sandbox.requests[seen_before:]))
        problems = step.check(demo, record)
        if demo.stop.is_set():
            return EXIT_INTERRUPTED
        if problems:
            out.error(
                f"✗ Step {number} (`debussy {' '.join(step.args)}`) did not end as expected: "
                + "; ".join(problems)
            )
            return EXIT_STEP_FAILED
    out.line()
    out.line(
        "✓ Every step ended as expected: drift found, phases reconciled from the trackers, "
        "labels pushed back, 0 drift.",
        fg="green",
    )
    return EXIT_OK


def _serve(out: _Printer, demo: DemoRun) -> None:
    """Keep the sandbox up for exploring by hand until SIGINT or SIGTERM."""
    config = demo.root / STATE_DIR / CONFIG_FILE
    out.line()
    out.line("Serving the sandbox tracker for you to explore.", bold=True)
    out.line(f"  Sandbox tracker: {demo.sandbox.url}")
    out.line(f"  Config: {config}")
    for line in config.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            out.line(f"    {line}")
    out.line("  In another shell:")
    out.line(
        f"    export GITHUB_TOKEN={DEFAULT_GITHUB_TOKEN} JIRA_EMAIL={DEFAULT_JIRA_EMAIL} "
        f"JIRA_API_TOKEN={DEFAULT_JIRA_TOKEN}"
    )
    out.line(f"    cd {demo.root} && debussy status --issues")
    out.line("    then: debussy sync, debussy sync --apply, debussy history …")
    if not demo.scene.kept:
        out.line("  The project folder is removed when you stop (--dir PATH keeps it).")
    out.line("Press Ctrl-C to stop.")
    while not demo.stop.wait(0.2):
        pass
    out.line("Stopping the sandbox tracker.")


def _farewell(out: _Printer, demo: DemoRun) -> None:
    if demo.scene.kept:
        out.line()
        out.line(f"The project is kept in {demo.root}. Look around:")
        out.line(f"  cd {demo.root} && debussy status --issues")
        out.line("  debussy status, debussy history")
        out.line(
            "The sandbox tracker stops with the demo, so `status --issues` shows what the "
            "cache holds (for 5 minutes); `debussy demo --dir PATH --serve` keeps it running."
        )
    else:
        out.line("The temporary project is removed; `debussy demo --dir PATH` keeps it.")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Generator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising, so cleanup runs in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(folder: Path | None, *, serve: bool, steps: bool) -> int:
    """The whole demo; the exit code says whether every step ended as expected."""
    out = _Printer()
    root, kept = prepare_folder(folder)
    stop = threading.Event()
    try:
        with _stop_on_signals(stop), SandboxTracker() as sandbox:
            out.line(
                "Debussy demo: the issue-tracker sync end to end, against a local sandbox "
                "(nothing leaves this machine).",
                bold=True,
            )
            out.line(f"Sandbox tracker (GitHub + Jira) on {sandbox.url}")
            now = datetime.now(UTC).replace(microsecond=0)
            seed_demo(sandbox, now=now)
            scene = lay_out_project(root, kept, sandbox, now)
            demo = DemoRun(scene, sandbox, child_environment(os.environ), stop)
            _describe_scene(out, demo)
            _make_hand_changes(out, sandbox)
            code = run_steps(out, demo) if steps else EXIT_OK
            if code == EXIT_INTERRUPTED and not serve:
                out.error("Interrupted; the sandbox tracker is stopped.")
                return code
            if serve:
                if not stop.is_set():
                    _serve(out, demo)
                code = EXIT_OK if code == EXIT_INTERRUPTED else code
            _farewell(out, demo)
            return code
    finally:
        if not kept:
            shutil.rmtree(root, ignore_errors=True)
