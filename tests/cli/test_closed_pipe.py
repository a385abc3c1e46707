"""A reader that leaves early (``debussy status --issues | head -5``) ends the command quietly.

As git and gh do: the process ends by SIGPIPE (the shell reports 141), nothing on stderr,
never the internal-error handler. Real processes on a real pipe: once with more output than
a pipe buffer holds and the reader leaving after one line, once with the reader gone before
the first byte (the output then fits any buffer and fails only when flushed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.project import lay_out, scaled_plan
from tests.sandbox_project import SANDBOX_ENV, SandboxProject

PIPE_BUFFER = 65536
"""Linux's default pipe capacity: output larger than this blocks until the reader reads."""

KILLED_BY_SIGPIPE = -signal.SIGPIPE

# The sandbox fills a cache of 1,815 issues: its threads need not be traced by coverage.
pytestmark = pytest.mark.usefixtures("sandbox_threads_not_measured")


def _env() -> dict[str, str]:
    return {**os.environ, **SANDBOX_ENV}


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProject]:
    """A started run linking 1,815 issues: every table is several pipe buffers long."""
    root = tmp_path_factory.mktemp("large")
    with SandboxTracker() as tracker:
        lay_out(root, tracker, scaled_plan(3, 600, 5))
        project = SandboxProject(root, tracker, env=dict(SANDBOX_ENV))
        project.ok("start", "plans/MASTER_PLAN.md")
        project.ok("status", "--issues")  # fills the cache: the piped runs below need no tracker
        yield project


def _read_one_line_then_leave(root: Path, *args: str) -> tuple[int, bytes, str]:
    """``debussy ARGS | head -1``: the child's exit code, the line read, its stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "debussy", *args],
        cwd=root,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # the reader leaves with most of the output unread
    errors = process.stderr.read().decode()
    process.stderr.close()
    return process.wait(timeout=120), first, errors


def _reader_already_gone(root: Path, *args: str) -> tuple[int, str]:
    """``debussy ARGS`` into a pipe whose reading end is closed before it writes a byte."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "debussy", *args],
            cwd=root,
            env=_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


def test_a_reader_leaving_mid_output_ends_the_command_quietly(large: SandboxProject) -> None:
    whole = large.subprocess("status", "--issues")
    assert len(whole.stdout.encode()) > PIPE_BUFFER, "the output must outgrow the pipe"

    code, first, errors = _read_one_line_then_leave(large.root, "status", "--issues")
    assert first.startswith(b"Scaled plan")
    assert errors == ""
    assert code == KILLED_BY_SIGPIPE


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--issues"),
        ("status",),
        ("history",),
        ("sync",),
        ("status", "--json"),
        ("sync", "--format", "markdown"),
    ],
)
def test_a_reader_gone_before_the_first_byte_ends_the_command_quietly(
    large: SandboxProject, args: tuple[str, ...]
) -> None:
    code, errors = _reader_already_gone(large.root, *args)
    assert errors == ""
    assert code == KILLED_BY_SIGPIPE
