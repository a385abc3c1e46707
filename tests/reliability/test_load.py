"""Load: a plan linking 2,000 issues, in a state database holding 10,000 runs.

The plan goes through the user path (``debussy start``); the 9,999 older runs
(with their phases, links, events, completed features and sync history) are
written straight into SQLite, because starting and finishing them one by one
would take minutes. Every command then runs as a real child process.

PRODUCT.md §12 says budgets are checked by benchmarks, not timed tests: this
module asserts what must not change with scale (request counts, no network when
warm, complete output) and prints the wall times, which docs/PERFORMANCE.md
("## Load") records.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from debussy.sandbox import SandboxTracker
from tests.reliability.conftest import Scale, ScaledPlan, child_environment, scaled_project
from tests.sandbox_project import SandboxProject

pytestmark = [
    pytest.mark.slow,
    # The sandbox serves untraced children here: its threads need not be traced either.
    pytest.mark.usefixtures("sandbox_threads_not_measured"),
]

SCALE = Scale(phases=100, github_per_phase=10, jira_per_phase=10)
OLD_RUNS = 9_999
PHASES_PER_OLD_RUN = 5
LINKS_PER_OLD_RUN = 4
CLOSED_PHASES = 10
"""Phases whose issues are all closed by hand, so ``sync`` has work to plan."""


def fill_history(path: Path) -> None:
    """9,999 completed runs before the current one, each with everything a run leaves."""
    runs, phases, links, events, features, feature_issues, syncs = [], [], [], [], [], [], []
    for index in range(OLD_RUNS):
        run_id = f"old{index:05d}"
        day = f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}T{index % 24:02d}:00:00Z"
        runs.append(
            (
                run_id,
                f"plans/old-{index}.md",
                f"Old plan {index}",
                "completed",
                day,
                day,
                0,
                "octo/old",
            )
        )
        for position in range(PHASES_PER_OLD_RUN):
            phases.append(
                (
                    run_id,
                    str(position + 1),
                    f"Phase {position + 1}",
                    position,
                    "completed",
                    None,
                    day,
                )
            )
            events.append((run_id, str(position + 1), "running", None, "cli", day))
            events.append((run_id, str(position + 1), "completed", None, "cli", day))
        refs = [f"octo/old#{index * LINKS_PER_OLD_RUN + k + 1}" for k in range(LINKS_PER_OLD_RUN)]
        for position, ref in enumerate(refs):
            links.append(
                (
                    run_id,
                    str(position % PHASES_PER_OLD_RUN + 1),
                    "github",
                    ref,
                    f"GH {ref}",
                    position,
                )
            )
        features.append((index + 1, f"Old plan {index}", day, f"plans/old-{index}.md", run_id))
        feature_issues += [(index + 1, "github", ref) for ref in refs]
        actions = json.dumps(
            [{"kind": "phase", "phase": "1", "from": "running", "to": "completed"}]
        )
        syncs.append(
            (
                run_id,
                day,
                "ci@runner",
                "from-tracker",
                1,
                "1 phase change applied",
                actions,
                actions,
            )
        )
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO runs (id, plan_path, plan_title, status, started_at, completed_at,"
                " auto_close, github_repo) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                runs,
            )
            conn.executemany(
                "INSERT INTO phases (run_id, phase_id, title, position, status, reason,"
                " changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                phases,
            )
            conn.executemany("INSERT INTO linked_issues VALUES (?, ?, ?, ?, ?, ?)", links)
            conn.executemany(
                "INSERT INTO phase_events (run_id, phase_id, status, reason, source, at) VALUES (?, ?, ?, ?, ?, ?)",
                events,
            )
            conn.executemany("INSERT INTO completed_features VALUES (?, ?, ?, ?, ?)", features)
            conn.executemany(
                "INSERT INTO completed_feature_issues VALUES (?, ?, ?)", feature_issues
            )
            conn.executemany(
                "INSERT INTO sync_history (run_id, at, actor, direction, applied, outcome, actions, results)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                syncs,
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


WARM_UP = (
    "import debussy.cli, debussy.app.project, debussy.app.runs, debussy.plans, debussy.app.sync_apply,"
    " debussy.app.dashboard, debussy.app.lifecycle, debussy.sync.trackers.github.client,"
    " debussy.sync.trackers.jira.client, debussy.output.issues_view, debussy.output.sync_view,"
    " debussy.output.run_view, debussy.output.lifecycle_view, yaml, rich.console"
)
"""Imports every module the commands use once, so the timed runs find their bytecode."""


@dataclass
class Loaded:
    project: SandboxProject
    plan: ScaledPlan
    env: dict[str, str]
    timings: dict[str, float]

    @property
    def sandbox(self) -> SandboxTracker:
        return self.project.sandbox

    def debussy(self, *args: str, label: str | None = None) -> subprocess.CompletedProcess[str]:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "debussy", *args],
            cwd=self.project.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.timings[label or " ".join(args)] = time.perf_counter() - started
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def requests(self, kind: str) -> int:
        return sum(1 for record in self.sandbox.requests if record.kind == kind)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, pycache_prefix: Path) -> Iterator[Loaded]:
    with SandboxTracker() as sandbox:
        project, plan = scaled_project(tmp_path_factory.mktemp("load"), sandbox, SCALE)
        env = child_environment(pycache_prefix, project.env)
        state = Loaded(project, plan, env, {})
        warm_up = subprocess.run([sys.executable, "-c", WARM_UP], env=env, check=False)
        assert warm_up.returncode == 0
        assert state.debussy("start", "plans/MASTER_PLAN.md").returncode == 0
        project.backdate_phases()
        fill_history(project.root / ".debussy" / "state.db")
        for phase in plan.phase_ids[:CLOSED_PHASES]:
            for number in plan.github[phase]:
                sandbox.close_issue("octo/app", number)
            for key in plan.jira[phase]:
                sandbox.move_jira_issue(key, "Done", "Done")
        yield state
        print("\nload timings (s):", json.dumps({k: round(v, 2) for k, v in state.timings.items()}))


def issues_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_dashboard_of_2000_issues_costs_one_request_per_hundred(loaded: Loaded) -> None:
    loaded.sandbox.clear_requests()
    cold = issues_of(loaded.debussy("status", "--issues", "--json", label="status --issues (cold)"))
    assert len(cold["issues"]) == SCALE.issues
    assert {issue["source"] for issue in cold["issues"]} == {"fresh"}
    assert loaded.requests("graphql") == 10, "GitHub: ceil(1000 / 100) queries"
    assert loaded.requests("search") == 10, "Jira: ceil(1000 / 100) searches"
    assert cold["drift_count"] == CLOSED_PHASES * (SCALE.github_per_phase + SCALE.jira_per_phase)

    loaded.sandbox.clear_requests()
    warm = issues_of(
        loaded.debussy("status", "--issues", "--json", label="status --issues --json (warm)")
    )
    assert {issue["source"] for issue in warm["issues"]} == {"cache"}
    assert warm["cache"]["requests"] == 0
    assert loaded.sandbox.requests == []

    table = loaded.debussy("status", "--issues", label="status --issues (warm, table)")
    assert table.returncode == 0, table.stderr
    assert (
        sum(1 for line in table.stdout.splitlines() if line.startswith(("GH-", "PROJ-")))
        == SCALE.issues
    )
    assert loaded.sandbox.requests == []


def test_sync_plans_and_applies_from_a_fresh_read_of_2000_issues(loaded: Loaded) -> None:
    loaded.sandbox.clear_requests()
    plan = issues_of(loaded.debussy("sync", "--json", label="sync (plan)"))
    assert plan["fetch"]["requests"] == 20
    assert plan["fetch"]["fetched"] == SCALE.issues
    phases = [action for action in plan["actions"] if action["kind"] == "phase"]
    assert sorted(int(action["phase"]) for action in phases) == list(range(1, CLOSED_PHASES + 1))

    applied = issues_of(loaded.debussy("sync", "--apply", "--json", label="sync --apply"))
    assert applied["applied"] is True
    assert len([r for r in applied["results"] if r["kind"] == "phase"]) == CLOSED_PHASES


def test_history_and_status_stay_small_among_10000_runs(loaded: Loaded) -> None:
    history = issues_of(loaded.debussy("history", "--json", label="history --json"))
    assert len(history["runs"]) == 20, "the default limit"
    assert history["runs"][0]["plan"] == "plans/MASTER_PLAN.md", "the newest run first"

    text = loaded.debussy("history", label="history")
    assert text.returncode == 0, text.stderr
    assert "plans/MASTER_PLAN.md" in text.stdout

    everything = issues_of(
        loaded.debussy(
            "history", "--json", "--limit", "10000", label="history --limit 10000 --json"
        )
    )
    assert len(everything["runs"]) == OLD_RUNS + 1

    status = issues_of(loaded.debussy("status", "--json", label="status --json"))
    assert len(status["phases"]) == SCALE.phases

    # --force: the run started by the fixture is still running (a second one is refused).
    again = loaded.debussy(
        "start", "plans/MASTER_PLAN.md", "--force", label="start (10,000 runs to check)"
    )
    assert again.returncode == 0, again.stderr
