"""``debussy --help`` loads click and nothing heavy (PRODUCT.md §12: help within 0.25 s).

The budget itself is a time and is checked by ``bench/run.py``, never here; what a
test can hold steady is the cause: help must not import the libraries that make
the other commands slow to start. The warm ``status --issues`` path has its own
check (no httpx) in ``tests/app/dashboard/test_process.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

RUNNER = """
import runpy, sys
sys.argv = ["debussy", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("debussy", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code or 0
# A None entry is a placeholder that blocks an import (debussy.sync.trackers), not a module.
sys.stderr.write("\\nMODULES:" + ",".join(sorted(n for n, m in sys.modules.items() if m)) + "\\n")
sys.exit(code)
"""

HEAVY = (
    "rich",
    "pydantic",
    "pydantic_core",
    "httpx",
    "httpcore",
    "anyio",
    "yaml",
    "sqlite3",
    "_sqlite3",
    "asyncio",
    "stamina",
    "graphql",
    "pygments",
)
"""Top-level packages none of the help screens may import."""
DEBUSSY_AT_STARTUP = {"debussy", "debussy.__main__", "debussy.cli", "debussy.errors"}
"""Debussy's own modules help may load: every command imports its work inside its body."""

HELP_SCREENS = [
    ["--help"],
    ["status", "--help"],
    ["sync", "--help"],
    ["phase", "start", "--help"],
    ["start", "--help"],
    ["demo", "--help"],
]


PYCACHE = Path(tempfile.gettempdir()) / f"debussy-tests-pycache-{os.getuid()}"
"""Bytecode for the children (``PYTHONPYCACHEPREFIX``): compiled once, not in every child.

Importing is what these tests look at, and compiling every module on every start
(``PYTHONDONTWRITEBYTECODE=1`` in this environment) would be most of their time.
Python checks each ``.pyc`` against its source, so a stale one is never used.
"""


def imported_by(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run debussy in a fresh interpreter and list every module it ended up with.

    Coverage's subprocess hook is left out of the child's environment: it would
    load sqlite3 itself and hide what debussy does.
    """
    child_env = {
        name: value
        for name, value in {**os.environ, **(env or {})}.items()
        if not name.startswith(("COVERAGE_", "COV_CORE_")) and name != "PYTHONDONTWRITEBYTECODE"
    }
    child_env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        cwd=cwd,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"^MODULES:(.*)$", done.stderr, re.MULTILINE)
    assert match, done.stderr
    return done, set(match.group(1).split(","))


@pytest.mark.parametrize("args", HELP_SCREENS, ids=" ".join)
def test_help_loads_click_and_nothing_heavy(args: list[str]) -> None:
    done, modules = imported_by(*args)
    assert done.returncode == 0, done.stderr
    assert "Usage: debussy" in done.stdout
    assert "click" in modules, "the check sees what was imported"
    heavy = sorted(name for name in modules if name.split(".")[0] in HEAVY)
    assert heavy == []
    ours = {name for name in modules if name.split(".")[0] == "debussy"}
    assert ours <= DEBUSSY_AT_STARTUP, sorted(ours - DEBUSSY_AT_STARTUP)


def test_the_check_sees_heavy_imports_when_a_command_does_work(tmp_path: Path) -> None:
    """Reading config and state loads pydantic, yaml and sqlite3: the check is not vacuous."""
    (tmp_path / ".debussy").mkdir()
    (tmp_path / ".debussy" / "config.yaml").write_text("cache:\n  ttl_seconds: 300\n")
    done, modules = imported_by("status", "--issues", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # a project without any run: one error line
    assert {"pydantic", "yaml", "sqlite3"} <= modules
