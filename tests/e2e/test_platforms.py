"""The whole flow through the installed `debussy`, for each way a project can use the trackers.

start → phase start (lifecycle pushes) → a hand change on a tracker → status --issues →
sync --apply → sync --direction to-tracker --apply → status --issues clean; with GitHub only,
Jira only, both, and one of them disabled (never contacted, its issues shown as disabled).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from debussy.sandbox import SandboxTracker
from tests.sandbox_project import MASTER_PLAN, PHASES, SandboxProject

GITHUB_ONLY_PLAN = """\
# Checkout revamp

**GitHub Repo:** octo/app
**GitHub Issues:** #1

| Phase | Title | Status |
|-------|-------|--------|
| 1 | [Cart model](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
"""
GITHUB_ONLY_PHASES = {
    "phase-1.md": "# Phase 1: Cart model\n\n**GitHub Issues:** #10, octo/lib#7\n",
    "phase-2.md": "# Phase 2: Payment step\n\n**GitHub Issues:** #11\n",
}

JIRA_ONLY_PLAN = """\
# Checkout revamp

**Jira Issues:** PROJ-1

| Phase | Title | Status |
|-------|-------|--------|
| 1 | [Cart model](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
"""
JIRA_ONLY_PHASES = {
    "phase-1.md": "# Phase 1: Cart model\n\n**Jira Issues:** PROJ-2\n",
    "phase-2.md": "# Phase 2: Payment step\n\n**Jira Issues:** PROJ-3\n",
}


@dataclass(frozen=True)
class Scenario:
    config: Mapping[str, bool]
    master: str
    phases: Mapping[str, str]
    started: tuple[str, ...]
    """Phases started with `debussy phase start`."""
    marked: tuple[str, ...]
    """Sandbox issues the lifecycle pushes must mark in progress."""
    closed_on_github: bool = False
    """By hand: octo/app#10 closed as not planned."""
    wont_do_on_jira: bool = False
    """By hand: PROJ-2 moved to Won't Do."""
    drifted: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    disabled: str | None = None
    """A platform switched off in config while the plan links its issues."""
    never_asked: str | None = None
    """The platform the sandbox must see zero requests for."""
    untouched: tuple[str, ...] = field(default=())
    """Sandbox issues a disabled platform holds: never written."""


SCENARIOS = {
    "github-only": Scenario(
        config={"jira_section": False},
        master=GITHUB_ONLY_PLAN,
        phases=GITHUB_ONLY_PHASES,
        started=("1",),
        marked=("octo/app#1", "octo/app#10", "octo/lib#7"),
        closed_on_github=True,
        drifted=frozenset({"GH-10"}),
        blocked=frozenset({"1"}),
        never_asked="jira",
    ),
    "jira-only": Scenario(
        config={"github": False},
        master=JIRA_ONLY_PLAN,
        phases=JIRA_ONLY_PHASES,
        started=("1",),
        marked=("PROJ-1", "PROJ-2"),
        wont_do_on_jira=True,
        drifted=frozenset({"PROJ-2"}),
        blocked=frozenset({"1"}),
        never_asked="github",
    ),
    "both": Scenario(
        config={},
        master=MASTER_PLAN,
        phases=PHASES,
        started=("1", "2"),
        marked=("octo/app#1", "octo/app#10", "octo/lib#7", "octo/app#11", "PROJ-1", "PROJ-2"),
        closed_on_github=True,
        wont_do_on_jira=True,
        drifted=frozenset({"GH-10", "PROJ-2"}),
        blocked=frozenset({"1", "2"}),
    ),
    "github-disabled": Scenario(
        config={"github": False},
        master=MASTER_PLAN,
        phases=PHASES,
        started=("2",),
        marked=("PROJ-1", "PROJ-2"),
        wont_do_on_jira=True,
        drifted=frozenset({"PROJ-2"}),
        blocked=frozenset({"2"}),
        disabled="github",
        never_asked="github",
        untouched=("octo/app#1", "octo/app#11"),
    ),
    "jira-disabled": Scenario(
        config={"jira": False},
        master=MASTER_PLAN,
        phases=PHASES,
        started=("1",),
        marked=("octo/app#1", "octo/app#10", "octo/lib#7"),
        closed_on_github=True,
        drifted=frozenset({"GH-10"}),
        blocked=frozenset({"1"}),
        disabled="jira",
        never_asked="jira",
        untouched=("PROJ-1", "PROJ-2"),
    ),
}


def mark(sandbox: SandboxTracker, ref: str) -> str:
    """How Debussy's lifecycle push shows on an issue: its debussy label, or its Jira status."""
    if "#" in ref:
        repo, _, number = ref.partition("#")
        labels = sandbox.github_issue(repo, int(number))["labels"]
        return ",".join(label for label in labels if label.startswith("debussy:")) or "none"
    return sandbox.jira_issue(ref)["status"]


def in_progress(ref: str) -> str:
    return "debussy:in-progress" if "#" in ref else "In Progress"


def run_json(project: SandboxProject, *args: str) -> Any:
    result = project.installed(*args, "--json")
    assert result.returncode == 0, f"debussy {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def run_ok(project: SandboxProject, *args: str) -> None:
    result = project.installed(*args)
    assert result.returncode == 0, f"debussy {' '.join(args)}:\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_whole_flow_through_the_installed_command(
    sandbox_project: SandboxProject, name: str
) -> None:
    scenario = SCENARIOS[name]
    project, sandbox = sandbox_project, sandbox_project.sandbox
    project.write_config(**scenario.config)
    project.write_plan(scenario.master, scenario.phases)
    before = {ref: mark(sandbox, ref) for ref in scenario.untouched}

    run_ok(project, "start", "plans/MASTER_PLAN.md")
    for phase_id in scenario.started:
        run_ok(project, "phase", "start", phase_id)
    assert {ref: mark(sandbox, ref) for ref in scenario.marked} == {
        ref: in_progress(ref) for ref in scenario.marked
    }

    project.backdate_phases()
    if scenario.closed_on_github:
        sandbox.close_issue("octo/app", 10, "not_planned")
    if scenario.wont_do_on_jira:
        sandbox.move_jira_issue("PROJ-2", "Won't Do")
    first = run_json(project, "status", "--issues")
    assert {i["key"] for i in first["issues"] if i["drift"]} == scenario.drifted
    assert {i["drift"][0]["type"] for i in first["issues"] if i["drift"]} == {"closed_externally"}
    disabled = {i["key"] for i in first["issues"] if i["source"] == "disabled"}
    assert disabled == {i["key"] for i in first["issues"] if i["platform"] == scenario.disabled}
    assert all(i["drift"] == [] for i in first["issues"] if i["key"] in disabled)

    synced = run_json(project, "sync", "--apply")
    assert {(a["phase"], a["to"]) for a in synced["actions"]} == {
        (phase_id, "blocked") for phase_id in scenario.blocked
    }
    run_ok(project, "sync", "--direction", "to-tracker", "--apply")
    last = run_json(project, "status", "--issues", "--refresh")
    assert last["drift_count"] == 0
    assert last["errors"] == []

    if scenario.never_asked is not None:
        assert sandbox.request_count(scenario.never_asked) == 0
    assert sandbox.request_count() > 0
    assert {ref: mark(sandbox, ref) for ref in scenario.untouched} == before
