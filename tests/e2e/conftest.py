"""Running the installed ``debussy`` as a user's shell would, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from tests.sandbox_project import DEBUSSY_SCRIPT

PYTHON_M_DEBUSSY = (sys.executable, "-m", "debussy")

REAL_LOOKING_SECRETS = {
    "GITHUB_TOKEN": "ghp_e2eRealUserTokenThatMustStayHome0001",
    "GH_TOKEN": "gho_e2eAnotherRealUserTokenStayHome0002",
    "JIRA_API_TOKEN": "ATATT3xe2eRealJiraTokenStayHome0003",
    "JIRA_EMAIL": "real.person@corp.example",
}
"""What a developer's shell may export; the demo must neither send nor print any of it."""


def debussy(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    program: Sequence[str] = (str(DEBUSSY_SCRIPT),),
) -> subprocess.CompletedProcess[str]:
    """``debussy ARGS`` through the console script (or ``program``), output captured."""
    return subprocess.run(
        [*program, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def debussy_json(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Any:
    result = debussy(*args, cwd=cwd, env=env)
    assert result.returncode == 0, f"debussy {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def read_until(stream: IO[str], marker: str, seen: list[str]) -> str:
    """Lines of ``stream`` into ``seen`` up to the one containing ``marker`` (no sleeping)."""
    for line in stream:
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"the output ended before {marker!r}:\n{''.join(seen)}")
