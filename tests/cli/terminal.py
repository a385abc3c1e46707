"""Run ``debussy`` on a real pseudo-terminal of a given width, as a person at a shell would.

stdout and stderr both go to the terminal (so ``isatty()`` is true for each and
Rich measures the window), the output is read until the child closes it, and
ANSI escapes can be stripped to check what a person reads.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


@dataclass(frozen=True)
class TerminalRun:
    exit_code: int
    raw: str
    stderr: str = ""
    """Only with ``stderr_on_terminal=False``: stderr, captured apart."""

    @property
    def text(self) -> str:
        """What the terminal shows, escapes removed (spinner frames included, if any)."""
        return ANSI.sub("", self.raw)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def run_in_terminal(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    columns: int = 80,
    timeout: float = 120,
    stderr_on_terminal: bool = True,
) -> TerminalRun:
    """``python -m debussy ARGS`` on a ``columns``-wide pty; its exit code and all it printed.

    ``stderr_on_terminal=False`` sends stderr to a pipe instead (stdout alone on the
    terminal), to check a document printed on stdout without the spinner beside it.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    child_env = {**os.environ, **env, "TERM": "xterm-256color"}
    child_env.pop("COLUMNS", None)
    child_env.pop("LINES", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "debussy", *args],
        cwd=cwd,
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave if stderr_on_terminal else subprocess.PIPE,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed its side of the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    errors = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    code = process.wait(timeout=timeout)
    return TerminalRun(code, b"".join(chunks).decode("utf-8", "replace"), errors)
