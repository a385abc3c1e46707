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

The children get the sandbox's own credentials in variables only the demo uses
(``DEBUSSY_DEMO_*``, named by the demo config): a real ``GITHUB_TOKEN`` or
``JIRA_API_TOKEN`` in the user's environment is removed from theirs, and a kept
demo folder never reads it, so it can reach neither the sandbox nor the output.

Modules: ``scene`` (seed data, hand changes, expected outcomes), ``layout`` (the
folder, config, plan and run), ``runner`` (child processes), ``checks`` (the steps
and their checks); this module prints, serves and handles signals.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import threading
from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click

from debussy.config import CONFIG_FILE, STATE_DIR
from debussy.demo.checks import STEPS, StepRecord
from debussy.demo.layout import (
    GITHUB_TOKEN_VARIABLE,
    JIRA_EMAIL_VARIABLE,
    JIRA_TOKEN_VARIABLE,
    DemoFolderError,
    copy_plan,
    lay_out_project,
    prepare_folder,
    write_marker,
)
from debussy.demo.runner import DemoRun, child_environment
from debussy.demo.scene import (
    FIRST_LOOK_DRIFT,
    GITHUB_SEED,
    HAND_CHANGES,
    JIRA_SEED,
    LAST_LOOK_AGE,
    PHASES_AFTER_SYNC,
    PHASES_BEFORE,
    RUN_AGE,
    seed_demo,
)
from debussy.errors import EXIT_INTERRUPTED, EXIT_OK
from debussy.output.console import color_wanted
from debussy.output.words import plural
from debussy.sandbox.server import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    SandboxTracker,
)

EXIT_STEP_FAILED = 1
"""A step did not end as expected (the message names it)."""

__all__ = [
    "EXIT_STEP_FAILED",
    "FIRST_LOOK_DRIFT",
    "GITHUB_SEED",
    "HAND_CHANGES",
    "JIRA_SEED",
    "PHASES_AFTER_SYNC",
    "PHASES_BEFORE",
    "DemoFolderError",
    "child_environment",
    "copy_plan",
    "run_demo",
    "seed_demo",
    "write_marker",
]


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
    issues = [seed for seed in GITHUB_SEED if not seed.pull]
    pulls = [seed for seed in GITHUB_SEED if seed.pull]
    out.line(f"Project: {scene.root}" + ("" if scene.kept else " (temporary)"))
    out.line(
        f"  plan '{scene.plan_title}': {scene.phase_count} phases, {len(issues)} GitHub "
        f"issues in {' and '.join(repos)} and {plural(len(pulls), 'pull request')}, "
        f"{len(JIRA_SEED)} Jira issues, at plan and phase level; the phase issues are "
        "sub-issues of the plan issue"
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


INSTALL_HINT = "`uv tool install .` in the clone puts `debussy` on your PATH"


def debussy_command() -> str:
    """How the user can run Debussy from the demo folder, from another shell.

    Plain ``debussy`` only when the shell finds it: after ``uv sync`` the command lives
    in the clone's ``.venv/bin``, which is not on PATH, and ``uv run`` only finds the
    project from inside the clone. Otherwise the installed script's full path, which
    works from any folder.
    """
    if shutil.which("debussy"):
        return "debussy"
    script = Path(sys.executable).parent / "debussy"
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m debussy"


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
        f"    export {GITHUB_TOKEN_VARIABLE}={DEFAULT_GITHUB_TOKEN} "
        f"{JIRA_EMAIL_VARIABLE}={DEFAULT_JIRA_EMAIL} {JIRA_TOKEN_VARIABLE}={DEFAULT_JIRA_TOKEN}"
    )
    command = debussy_command()
    out.line(f"    cd {demo.root} && {command} status --issues")
    out.line(f"    then: {command} sync, {command} sync --apply, {command} history …")
    if command != "debussy":
        out.line(f"  ({INSTALL_HINT})")
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
        command = debussy_command()
        out.line(f"  cd {demo.root} && {command} status --issues")
        out.line(f"  {command} status, {command} history")
        if command != "debussy":
            out.line(f"  ({INSTALL_HINT})")
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
