"""Measure lifecycle-event writes against PRODUCT.md §12: requests and wall time.

    uv run python bench/writes.py               # 250 + 250 issues, 100 ms per answer
    uv run python bench/writes.py --size 50 --latency 0

A sandbox tracker runs in this process (127.0.0.1, no internet) and adds
``--latency`` seconds to every answer. A project links ``size`` GitHub issues
and ``size`` Jira issues: one of each at plan level, the rest in phase 1. Each
measured command is the installed ``debussy`` as a child process, timed from
spawn to exit, with GitHub's pacing honoured (one mutating request at a time,
1 s apart: nothing is patched). Measured, in order:

- ``phase start 1``: every issue moves; the Debussy labels do not exist yet;
- ``phase start 1`` again: a converged replay, reads only;
- ``phase done 1``: every issue moves again, the labels exist now.

Budget per event: GitHub ceil(n/100) reads + ceil(n/50) mutation requests
(+1 per label created); Jira ceil(m/100) searches + one transition per moving
issue; wall <= 6 s at 100 ms. Children run with bytecode (``PYTHONPYCACHEPREFIX``,
compiled by a warm-up project first), as bench/run.py runs them. Results go to stdout
and bench/results/writes.json
(the lead wires this into bench/run.py; the numbers are in docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/writes.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(ROOT))

from bench.projects import CREDENTIALS  # noqa: E402
from debussy.sandbox import SandboxTracker  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYCACHE = RESULTS / "pycache"
DEBUSSY = Path(sys.executable).parent / "debussy"
REPO = "bench/app"
JIRA = "BENCH"
WALL_BUDGET_SECONDS = 6.0


@dataclass(frozen=True, slots=True)
class Row:
    command: str
    wall_seconds: float
    exit_code: int
    github_reads: int
    github_writes: int
    jira_reads: int
    jira_writes: int
    github_budget: int
    jira_budget: int

    @property
    def within(self) -> bool:
        return (
            self.github_reads + self.github_writes <= self.github_budget
            and self.jira_reads + self.jira_writes <= self.jira_budget
        )


def lay_out(
    root: Path, sandbox: SandboxTracker, size: int, *, repo: str = REPO, jira: str = JIRA
) -> None:
    """Config and plan: issue #1 / BENCH-1 at plan level, the rest in phase 1."""
    (root / ".debussy").mkdir(parents=True)
    (root / ".debussy" / "config.yaml").write_text(
        f"github:\n  repo: {repo}\n  api_url: {sandbox.github_api_url}\n"
        f"jira:\n  url: {sandbox.jira_url}\ncache:\n  ttl_seconds: 300\n",
        encoding="utf-8",
    )
    phases = root / "plans" / "phases"
    phases.mkdir(parents=True)
    github_refs = ", ".join(f"#{n}" for n in range(2, size + 1))
    jira_keys = ", ".join(f"{jira}-{n}" for n in range(2, size + 1))
    (phases / "phase-1.md").write_text(
        f"# Phase 1: All of it\n\n**GitHub Issues:** {github_refs}\n**Jira Issues:** {jira_keys}\n",
        encoding="utf-8",
    )
    (phases / "phase-2.md").write_text("# Phase 2: Nothing linked\n", encoding="utf-8")
    (root / "plans" / "MASTER_PLAN.md").write_text(
        "# Writes bench\n\n"
        f"**GitHub Repo:** {repo}\n**GitHub Issues:** #1\n**Jira Issues:** {jira}-1\n\n"
        "| Phase | Title | Status |\n|---|---|---|\n"
        "| 1 | [All of it](phases/phase-1.md) | Pending |\n"
        "| 2 | [Nothing linked](phases/phase-2.md) | Pending |\n",
        encoding="utf-8",
    )
    for number in range(1, size + 1):
        sandbox.add_issue(repo, number, title=f"bench {number}")
        sandbox.add_jira_issue(f"{jira}-{number}", summary=f"bench {number}")


def debussy(root: Path, *args: str) -> tuple[float, int]:
    """One child process, with bytecode as a user's install has it (see bench/run.py)."""
    env = {**os.environ, **CREDENTIALS, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [str(DEBUSSY), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
    return wall, done.returncode


def measure(root: Path, sandbox: SandboxTracker, size: int, *args: str, moving: bool) -> Row:
    sandbox.clear_requests()
    wall, code = debussy(root, *args)
    requests = sandbox.requests
    github = [r for r in requests if r.platform == "github"]
    jira = [r for r in requests if r.platform == "jira"]
    reads = math.ceil(size / 100)
    return Row(
        command=f"debussy {' '.join(args)}",
        wall_seconds=round(wall, 2),
        exit_code=code,
        github_reads=sum(1 for r in github if not r.is_write),
        github_writes=sum(1 for r in github if r.is_write),
        jira_reads=sum(1 for r in jira if not r.is_write),
        jira_writes=sum(1 for r in jira if r.is_write),
        github_budget=reads + (math.ceil(size / 50) + 1 if moving else 0),
        jira_budget=reads + (size if moving else 0),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=250, help="issues per tracker")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added per answer")
    options = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder, SandboxTracker() as sandbox:
        warm = Path(folder) / "warm-up"  # compiles every module the measured commands import
        lay_out(warm, sandbox, 3, repo="bench/warm", jira="WARM")
        for args in (("start", "plans/MASTER_PLAN.md"), ("phase", "start", "1")):
            debussy(warm, *args)
        debussy(warm, "phase", "done", "1")
        root = Path(folder) / "project"
        lay_out(root, sandbox, options.size)
        debussy(root, "start", "plans/MASTER_PLAN.md")
        sandbox.latency = options.latency
        rows.append(measure(root, sandbox, options.size, "phase", "start", "1", moving=True))
        rows.append(measure(root, sandbox, options.size, "phase", "start", "1", moving=False))
        rows.append(measure(root, sandbox, options.size, "phase", "done", "1", moving=True))
    print(
        f"{options.size} GitHub + {options.size} Jira issues, {options.latency * 1000:.0f} ms "
        "per answer, GitHub writes paced 1 s apart"
    )
    print(f"{'command':<24} {'wall s':>7} {'GH r/w':>8} {'Jira r/w':>9} {'budget':>10}  ok")
    for row in rows:
        gh = f"{row.github_reads}/{row.github_writes}"
        jira = f"{row.jira_reads}/{row.jira_writes}"
        budget = f"{row.github_budget}+{row.jira_budget}"
        fine = row.within and row.exit_code == 0
        if row.command.endswith("start 1") and rows.index(row) == 0:
            fine = fine and row.wall_seconds <= WALL_BUDGET_SECONDS
        print(
            f"{row.command:<24} {row.wall_seconds:>7.2f} {gh:>8} {jira:>9} {budget:>10}  "
            f"{'yes' if fine else 'NO'}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "writes.json").write_text(
        json.dumps(
            {"size": options.size, "latency": options.latency, "rows": [asdict(r) for r in rows]},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
