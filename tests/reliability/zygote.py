"""``debussy`` child processes that start with Debussy already imported.

The crash and concurrency tests need real processes (killed with SIGKILL, racing on
one SQLite file), dozens of them. Started with ``python -m debussy``, each spent
about 0.25 s of its 0.3 s importing click, httpx, msgspec and Debussy before doing
the work the test is about. Here one ``multiprocessing`` fork server per pytest
process imports them once and forks every child from itself: each child is still
its own process with its own database connections, its own signals and exit code,
and runs the console script's ``main`` with its own argv, working directory and
environment. Only the imports are shared, and they happen before the fork, so a
kill drawn "anywhere in the run" lands in the command's work rather than in
``import``.

The fork server is started without coverage's variables (as ``child_environment``
leaves them out): a child killed with SIGKILL would leave half a data file behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from multiprocessing import forkserver, get_context
from multiprocessing.context import ForkServerContext, ForkServerProcess
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

PRELOAD = [
    "debussy.cli",
    "debussy.config",
    "debussy.app.project",
    "debussy.app.plan_follow",
    "debussy.app.runs",
    "debussy.app.lifecycle",
    "debussy.app.sync_apply",
    "debussy.app.dashboard",
    "debussy.sync.converge",
    "debussy.sync.trackers.clients",
    "debussy.output.issues_view",
    "debussy.output.lifecycle_view",
    "debussy.output.sync_view",
    "debussy.output.documents",
    "click.testing",
    "tests.reliability.zygote",
]
"""What any child of these tests imports; importing more than one command needs is harmless."""

_context: ForkServerContext | None = None


def context() -> ForkServerContext:
    """The fork server of this pytest process, started once, without coverage's variables."""
    global _context
    if _context is None:
        ctx = get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        saved = dict(os.environ)
        try:
            for name in list(os.environ):
                if name.startswith(("COVERAGE_", "COV_CORE_")):
                    del os.environ[name]
            forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        _context = ctx
    return _context


@contextmanager
def _nothing_to_rerun() -> Iterator[None]:
    """Start children without re-running this process's main script in each of them.

    ``multiprocessing`` prepares every child by running the parent's ``__main__`` file
    again (as ``__mp_main__``); under a plain ``pytest`` that is pytest's console script,
    which imports pytest in every child (~0.1 s each). The children need nothing from it.
    (Under xdist the worker's main has no file and this changes nothing.)
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _enter(cwd: str, env: Mapping[str, str], stdout: str, stderr: str) -> None:
    """In the child: its own directory, environment and output files, as ``Popen`` would set."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, stdout), (2, stderr)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)


def _run_command(argv: list[str], cwd: str, env: dict[str, str], stdout: str, stderr: str) -> None:
    """The child of ``Forked``: ``debussy ARGV`` through the console script's entry point."""
    import sys

    from debussy.cli import main

    _enter(cwd, env, stdout, stderr)
    sys.argv = ["debussy", *argv]
    main()


class Forked:
    """One forked ``debussy`` command, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output: Path
    ) -> None:
        output.mkdir(parents=True, exist_ok=True)
        self._stderr = output / "stderr"
        self.process: ForkServerProcess = context().Process(
            target=_run_command,
            args=(list(argv), str(cwd), dict(env), os.devnull, str(self._stderr)),
        )
        with _nothing_to_rerun():
            self.process.start()

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code; ``subprocess.TimeoutExpired`` if it is still running after ``timeout``."""
        self.process.join(timeout)
        code = self.process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired("debussy", timeout)
        return code

    def kill(self) -> None:
        self.process.kill()

    def stderr(self) -> str:
        return self._stderr.read_text(errors="replace") if self._stderr.exists() else ""


def _run_script(
    commands: list[list[str]], cwd: str, env: dict[str, str], results: str, barrier: Barrier
) -> None:
    """The child of ``run_together``: wait for the others, then run each command in-process."""
    from click.testing import CliRunner

    from debussy.cli import cli

    _enter(cwd, env, os.devnull, results + ".stderr")
    barrier.wait(timeout=60)
    runner = CliRunner()
    with open(results, "w") as out:
        for args in commands:
            result = runner.invoke(cli, args)
            exception = result.exception
            crash = (
                None if exception is None or isinstance(exception, SystemExit) else repr(exception)
            )
            line = {"args": args, "code": result.exit_code, "stderr": result.stderr, "crash": crash}
            out.write(json.dumps(line) + "\n")


def run_scripts_together(
    cwd: Path, env: Mapping[str, str], scripts: Sequence[Sequence[Sequence[str]]], output: Path
) -> list[list[dict[str, Any]]]:
    """One child per script, all released at once by a barrier; each command's outcome.

    The barrier is passed when the child is forked, so no child starts its first command
    before every other one is ready to (no sleeping to line them up).
    """
    ctx = context()
    output.mkdir(parents=True, exist_ok=True)
    barrier = ctx.Barrier(len(scripts))
    children: list[tuple[ForkServerProcess, Path]] = []
    for index, script in enumerate(scripts):
        results = output / f"child-{index}.jsonl"
        process = ctx.Process(
            target=_run_script,
            args=([list(a) for a in script], str(cwd), dict(env), str(results), barrier),
        )
        with _nothing_to_rerun():
            process.start()
        children.append((process, results))
    outcomes: list[list[dict[str, Any]]] = []
    for process, results in children:
        process.join(120)
        if process.exitcode is None:
            process.kill()
            process.join()
        errors = Path(f"{results}.stderr")
        assert process.exitcode == 0, errors.read_text() if errors.exists() else process.exitcode
        outcomes.append([json.loads(line) for line in results.read_text().splitlines() if line])
    return outcomes
