"""Starting runs and checking what was already delivered.

This is the application layer under the ``start`` command: it turns a parsed
plan into a recorded run, and answers "were these issues delivered before?"
without deciding how to ask the user (the CLI owns prompts and exit codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from debussy.app.project import Project, plan_files, plan_fingerprint
from debussy.issues import IssueRef
from debussy.plans import Plan, load_plan, origin_repo
from debussy.state.changes import CompletedFeature, NewLink, NewPhase
from debussy.state.manager import StateManager
from debussy.state.plan_edit import WantedLink, WantedPhase
from debussy.state.records import RunRecord


def default_github_repo(project: Project) -> str | None:
    """``github.repo`` from config, else the ``origin`` remote's repository."""
    return project.config.github.repo or origin_repo(project.root)


def load_project_plan(project: Project, path: Path) -> Plan:
    """Parse a plan with the project's defaults (repo for ``#N``, GitHub and Jira hosts)."""
    config = project.config
    jira_hosts = [config.jira.host] if config.jira.url else []
    return load_plan(
        path,
        default_repo=default_github_repo(project),
        github_web_host=config.github.web_host,
        jira_hosts=jira_hosts,
    )


@dataclass(frozen=True, slots=True)
class DeliveredIssue:
    """A linked issue of the plan that a completed feature already contains."""

    ref: IssueRef
    display_key: str
    features: tuple[CompletedFeature, ...]


@dataclass(frozen=True, slots=True)
class RerunCheck:
    delivered: tuple[DeliveredIssue, ...]
    total: int

    @property
    def full(self) -> bool:
        """Every linked issue was delivered before (as opposed to some of them)."""
        return bool(self.delivered) and len(self.delivered) == self.total


def check_rerun(project: Project, plan: Plan) -> RerunCheck:
    refs = plan.all_issues()
    found = project.state.find_delivered((ref.platform, ref.canonical) for ref in refs)
    delivered = tuple(
        DeliveredIssue(
            ref=ref,
            display_key=ref.display_key(plan.github_repo),
            features=tuple(found[(ref.platform, ref.canonical)]),
        )
        for ref in refs
        if (ref.platform, ref.canonical) in found
    )
    return RerunCheck(delivered=delivered, total=len(refs))


def links_of(plan: Plan) -> list[NewLink]:
    """Plan-level issues first, then each phase's, as the state database stores them."""
    links = [
        NewLink(ref.platform, ref.canonical, ref.display_key(plan.github_repo), None)
        for ref in plan.issues
    ]
    for phase in plan.phases:
        links += [
            NewLink(ref.platform, ref.canonical, ref.display_key(plan.github_repo), phase.id)
            for ref in phase.issues
        ]
    return links


def phase_file(plan: Plan, file: Path | None) -> str:
    """A phase file relative to the plan's folder: the phase's identity across renumbering."""
    if file is None:
        return ""
    try:
        return file.relative_to(plan.path.parent).as_posix()
    except ValueError:
        return file.as_posix()


def wanted_of(plan: Plan) -> tuple[list[WantedPhase], list[WantedLink]]:
    """The phases and links a run of ``plan`` should track, as ``follow_plan`` compares them."""
    phases = [
        WantedPhase(phase.id, phase.title, phase_file(plan, phase.file)) for phase in plan.phases
    ]
    links = [
        WantedLink(link.platform, link.ref, link.display_key, link.phase_id)
        for link in links_of(plan)
    ]
    return phases, links


def still_running(project: Project, plan: Plan) -> list[RunRecord]:
    """Earlier runs of this plan that are still running (``start`` refuses another)."""
    return project.state.running_runs(project.relative(plan.path))


def start_run(
    project: Project, plan: Plan, *, auto_close: bool, state: StateManager | None = None
) -> RunRecord:
    """Record a run of ``plan`` with its phases, links and the plan's fingerprint.

    ``state``: another handle on the project's database (the demo and the bench
    start runs in the past with a clock of their own).
    """

    files = plan_files(plan.path, [phase.file for phase in plan.phases])
    return (state or project.state).create_run(
        plan_path=project.relative(plan.path),
        plan_title=plan.title,
        phases=[
            NewPhase(phase.id, phase.title, phase_file(plan, phase.file)) for phase in plan.phases
        ],
        issues=links_of(plan),
        auto_close=auto_close,
        github_repo=plan.github_repo,
        plan_fingerprint=plan_fingerprint(project, files),
    )
