"""docs/CI.md's recipe, as written, run by a real shell against the sandbox over HTTP.

The plan script reports and saves the plan, the apply script applies exactly it, and a
retried apply job fails (exit codes are the gate). The scripts are read from the page,
so the documented recipe cannot drift from what works.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.sandbox_project import DEBUSSY_SCRIPT, SandboxProject
from tests.test_docs import workflow_run_lines

CI_PAGE = Path(__file__).parent.parent.parent / "docs" / "CI.md"
RECIPE = re.compile(r"^```sh\n# ci-recipe: (\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def recipes() -> dict[str, str]:
    return dict(RECIPE.findall(CI_PAGE.read_text()))


def run_script(
    project: SandboxProject, script: str, summary: Path
) -> subprocess.CompletedProcess[str]:
    """``script`` in bash from the project root, with the installed ``debussy`` on PATH."""
    path = f"{DEBUSSY_SCRIPT.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, **project.env, "PATH": path, "GITHUB_STEP_SUMMARY": str(summary)}
    return subprocess.run(
        ["bash", "-c", script],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_shell_recipe_is_the_github_actions_one() -> None:
    """Every debussy command of the shell scripts is a ``run:`` step of the workflow."""
    scripts = recipes()
    assert set(scripts) == {"plan", "apply"}
    steps = workflow_run_lines()
    commands = [
        line.strip()
        for body in scripts.values()
        for line in body.splitlines()
        if line.strip().startswith("debussy ")
    ]
    assert len(commands) == 3
    assert all(command in steps for command in commands), (commands, steps)


@pytest.mark.timeout(120)
def test_plan_review_apply_then_a_retried_apply_job_fails(
    sandbox_project: SandboxProject, tmp_path: Path
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "start", "1")
    project.backdate_phases()
    project.sandbox.close_issue("octo/app", 10)
    project.sandbox.close_issue("octo/lib", 7)
    scripts = recipes()
    summary = tmp_path / "summary.md"

    planned = run_script(project, scripts["plan"], summary)
    assert planned.returncode == 0, planned.stderr
    text = summary.read_text()
    assert "| Issue | Phase | Current state | Expected state | Last updated | Drift |" in text
    assert "**Plan: 1 phase change planned.**" in text
    saved = json.loads((project.root / "plan.json").read_text())
    assert saved["kind"] == "debussy-sync-plan"
    assert project.phase_statuses()["1"] == "running", "the plan job changes no phase"

    applied = run_script(project, scripts["apply"], summary)
    assert applied.returncode == 0, applied.stderr
    assert "**1 phase change applied.**" in summary.read_text()
    assert project.phase_statuses()["1"] == "completed"

    retried = run_script(project, scripts["apply"], summary)
    assert retried.returncode == 1, "a retried apply job fails instead of applying twice"
    assert "was already applied" in retried.stderr
