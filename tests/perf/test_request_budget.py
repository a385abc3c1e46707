"""``status --issues`` asks each tracker once per 100 issues, end to end (PRODUCT.md §12).

The clients' batching is unit-tested against fakes (tests/trackers, tests/app);
this drives the real command over HTTP against the sandbox tracker with projects
built like the benchmark's (``bench/projects.py``): issues split between GitHub,
over two repositories, and Jira, on both sides of the 100-issue boundary.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from bench.projects import CREDENTIALS, ScaledProject, lay_out, seed
from click.testing import CliRunner

from debussy.cli import cli
from debussy.sandbox import SandboxTracker

# The sandbox serves up to 1,500 issues a test: its threads need not be traced by coverage.
pytestmark = pytest.mark.usefixtures("sandbox_threads_not_measured")


def issues_json(project: ScaledProject, *args: str) -> dict[str, Any]:
    previous = Path.cwd()
    os.chdir(project.root)
    try:
        result = CliRunner().invoke(cli, ["status", "--issues", "--json", *args], env=CREDENTIALS)
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sent(sandbox: SandboxTracker) -> Counter[tuple[str, str]]:
    """``(platform, kind)`` of every request since the last clear, then clear."""
    counts = Counter((record.platform, record.kind) for record in sandbox.requests)
    sandbox.clear_requests()
    return counts


@pytest.mark.parametrize("total", [2, 200, 202, 500])
def test_one_request_per_hundred_issues_on_each_tracker(
    tmp_path: Path, sandbox: SandboxTracker, total: int
) -> None:
    seed(sandbox, total)
    project = lay_out(tmp_path, sandbox, total)
    github, jira = project.split.github, project.split.jira
    expected = Counter(
        {("github", "graphql"): math.ceil(github / 100), ("jira", "search"): math.ceil(jira / 100)}
    )

    cold = issues_json(project)
    assert sent(sandbox) == expected
    assert cold["cache"]["requests"] == expected.total()
    assert len(cold["issues"]) == total
    assert {issue["source"] for issue in cold["issues"]} == {"fresh"}

    warm = issues_json(project)
    assert sent(sandbox) == Counter()
    assert {issue["source"] for issue in warm["issues"]} == {"cache"}

    issues_json(project, "--refresh")
    assert sent(sandbox) == expected


def test_the_benchmark_dashboard_flags_exactly_the_issues_closed_by_hand(
    tmp_path: Path, sandbox: SandboxTracker
) -> None:
    """Benchmarks draw a realistic dashboard: every 20th issue closed by hand, flagged as such."""
    seed(sandbox, 100)
    document = issues_json(lay_out(tmp_path, sandbox, 100))
    drifts = {
        issue["key"]: [drift["type"] for drift in issue["drift"]]
        for issue in document["issues"]
        if issue["drift"]
    }
    assert drifts == {
        "GH bench/lib#10": ["closed_externally"],
        "GH bench/lib#20": ["closed_externally"],
        "BENCH-20": ["closed_externally"],
        "BENCH-40": ["closed_externally"],
    }
    assert document["drift_count"] == 4
