"""Laying out the demo project: the folder, its config (with the demo's own token
variables), the sample plan, and a run whose history lies in the past.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from debussy.app.project import Project
from debussy.app.runs import load_project_plan, start_run
from debussy.config import CONFIG_FILE, STATE_DIR
from debussy.demo.scene import LAST_LOOK_AGE, PHASE_HISTORY, RUN_AGE
from debussy.errors import DemoFolderError
from debussy.sandbox.server import SandboxTracker
from debussy.state.manager import STATE_FILE, StateManager
from debussy.state.records import LinkedIssue, Snapshot
from debussy.timeutil import to_iso

MARKER_FILE = "DEBUSSY_DEMO.md"
MARKER_TITLE = "# Debussy demo project"
PLAN_FOLDER = "plans"
PLAN_PATH = f"{PLAN_FOLDER}/MASTER_PLAN.md"
LAID_OUT = (STATE_DIR, PLAN_FOLDER, MARKER_FILE)
"""Everything the demo writes in its folder: all it removes when it reuses one."""

GITHUB_TOKEN_VARIABLE = "DEBUSSY_DEMO_GITHUB_TOKEN"  # noqa: S105 -- a variable's name
JIRA_EMAIL_VARIABLE = "DEBUSSY_DEMO_JIRA_EMAIL"
JIRA_TOKEN_VARIABLE = "DEBUSSY_DEMO_JIRA_TOKEN"  # noqa: S105 -- a variable's name
"""The demo config's own credential variables. A kept demo folder points at a loopback
port where, once the sandbox is gone, anything may listen: a user's real GITHUB_TOKEN,
GH_TOKEN or JIRA_API_TOKEN must never be sent there, so the demo names variables only
the demo sets (and a loopback GitHub never falls back to GH_TOKEN or the gh CLI)."""


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
        "# Credentials: the sandbox's own, in variables only the demo sets (see the\n"
        "# demo's --serve output); your GITHUB_TOKEN, GH_TOKEN and JIRA_* are never used.\n"
        "github:\n"
        "  enabled: true\n"
        "  repo: acme/shop\n"
        f"  api_url: {sandbox.github_api_url}\n"
        f"  token_env: {GITHUB_TOKEN_VARIABLE}\n"
        "  # The sandbox has no secondary rate limit: no need for GitHub's 1 s between writes.\n"
        "  write_interval_seconds: 0\n"
        "  # Phase issues are sub-issues of the plan issue; status --issues shows its progress.\n"
        "  sub_issues: true\n"
        "jira:\n"
        "  enabled: true\n"
        f"  url: {sandbox.jira_url}\n"
        f"  email_env: {JIRA_EMAIL_VARIABLE}\n"
        f"  token_env: {JIRA_TOKEN_VARIABLE}\n"
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
        run = start_run(project, plan, auto_close=False, state=state)
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
