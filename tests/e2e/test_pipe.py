"""`debussy status --issues --json | python -m json.tool`: a real pipe between two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.sandbox_project import DEBUSSY_SCRIPT, SandboxProject


def pipe_into_json_tool(project: SandboxProject, *args: str) -> tuple[int, int, str, str]:
    """Exit codes of both sides, what json.tool printed, and debussy's stderr."""
    env = {**os.environ, **project.env}
    producer = subprocess.Popen(
        [str(DEBUSSY_SCRIPT), *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdout is not None
    consumer = subprocess.Popen(
        [sys.executable, "-m", "json.tool"],
        stdin=producer.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    producer.stdout.close()  # json.tool holds the only reading end, as in a shell
    formatted, tool_errors = consumer.communicate(timeout=120)
    assert producer.stderr is not None
    debussy_errors = producer.stderr.read().decode()
    producer.stderr.close()
    producer.wait(timeout=120)
    assert tool_errors == "", tool_errors
    return producer.returncode, consumer.returncode, formatted, debussy_errors


def test_status_issues_json_pipes_into_json_tool(sandbox_project: SandboxProject) -> None:
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    sandbox_project.ok("phase", "start", "1")
    sandbox_project.sandbox.close_issue("octo/app", 12)  # drift does not change the exit code

    debussy_code, tool_code, formatted, errors = pipe_into_json_tool(
        sandbox_project, "status", "--issues", "--json"
    )
    assert (debussy_code, tool_code) == (0, 0), errors
    document = json.loads(formatted)
    assert document["drift_count"] == 1
    assert len(document["issues"]) == 8
    assert "Traceback" not in errors

    warm = pipe_into_json_tool(sandbox_project, "status", "--issues", "--json")
    assert warm[:2] == (0, 0)
    assert json.loads(warm[2])["cache"]["requests"] == 0, "the second look is served from cache"
