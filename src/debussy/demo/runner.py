"""Running ``debussy`` commands for the demo: child processes of this interpreter, with the
sandbox's credentials in the demo's own variables and no tracker credential of the user's.
"""

from __future__ import annotations

import subprocess  # nosec B404
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from debussy.config import STATE_DIR
from debussy.demo.layout import (
    GITHUB_TOKEN_VARIABLE,
    JIRA_EMAIL_VARIABLE,
    JIRA_TOKEN_VARIABLE,
    Scene,
)
from debussy.sandbox.server import (
    DEFAULT_GITHUB_TOKEN,
    DEFAULT_JIRA_EMAIL,
    DEFAULT_JIRA_TOKEN,
    SandboxTracker,
)
from debussy.state.manager import STATE_FILE, StateManager

STEP_TIMEOUT_SECONDS = 120
"""A child that runs this long is stuck; the sandbox answers in milliseconds."""


def child_environment(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without any tracker credential, plus the sandbox's own in the demo's variables.

    The demo config reads only ``DEBUSSY_DEMO_*`` variables; the user's own are
    dropped as well, so that no child can send or print them whatever it reads.
    """
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(("JIRA_", "DEBUSSY_DEMO_"))
        and name not in ("GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN")
    }
    env.update(
        {
            GITHUB_TOKEN_VARIABLE: DEFAULT_GITHUB_TOKEN,
            JIRA_EMAIL_VARIABLE: DEFAULT_JIRA_EMAIL,
            JIRA_TOKEN_VARIABLE: DEFAULT_JIRA_TOKEN,
        }
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
