"""A Debussy project wired to the sandbox: plan files, ``.debussy/config.yaml``, seeded issues.

The one builder behind the test fixtures (``tests/sandbox_project.py``, the dashboard
and reliability suites) and the benchmarks (``bench/projects.py``). A ``PlanSpec`` says
which phases link which issues; from it come the markdown Debussy parses, the issues
the sandbox must hold, and the config pointing Debussy at the sandbox. Like the rest
of the sandbox this imports nothing of the product: it writes files, and running
``debussy`` over them is the caller's business.

``CHECKOUT_REVAMP`` is the standard scene of the end-to-end tests (three phases,
GitHub issues in two repositories, Jira issues); ``CHECKOUT_REVAMP_DASHBOARD`` the
dashboard's four-phase one, one of whose links (``#99``) does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from debussy.sandbox.server import SandboxTracker

STATE_DIR = ".debussy"
"""Where Debussy keeps config and state (``debussy.config.STATE_DIR``; not imported, the
sandbox stands apart from the product)."""
PLAN_PATH = "plans/MASTER_PLAN.md"


@dataclass(frozen=True)
class PhaseSpec:
    id: str
    title: str
    github: Sequence[str] = ()
    """References as the plan writes them: ``#10`` (the plan's repository) or ``octo/lib#7``."""
    jira: Sequence[str] = ()

    @property
    def file_name(self) -> str:
        return f"phase-{self.id}.md"

    def text(self) -> str:
        lines = [f"# Phase {self.id}: {self.title}", ""]
        if self.github:
            lines.append("**GitHub Issues:** " + ", ".join(self.github))
        if self.jira:
            lines.append("**Jira Issues:** " + ", ".join(self.jira))
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PlanSpec:
    """A master plan and its phases, and the tracker issues they link."""

    title: str
    phases: Sequence[PhaseSpec]
    github_repo: str | None = "octo/app"
    github: Sequence[str] = ()
    """Issues the master plan itself links."""
    jira: Sequence[str] = ()
    owner: str | None = None
    missing: frozenset[str] = field(default_factory=frozenset[str])
    """Linked references the sandbox must *not* hold (a link to a deleted issue)."""
    pulls: Mapping[str, str] = field(default_factory=dict[str, str])
    """Linked references that are pull requests, with their state (``open``, ``draft``,
    ``merged``, ``closed``); written as in the plan (``#20``, ``octo/lib#3``)."""

    def master_text(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.owner:
            lines.append(f"**Owner:** {self.owner}")
        if self.github_repo:
            lines.append(f"**GitHub Repo:** {self.github_repo}")
        if self.github:
            lines.append("**GitHub Issues:** " + ", ".join(self.github))
        if self.jira:
            lines.append("**Jira Issues:** " + ", ".join(self.jira))
        lines += ["", "## Phases", "", "| Phase | Title | Status |", "|-------|-------|--------|"]
        lines += [
            f"| {phase.id} | [{phase.title}](phases/{phase.file_name}) | Pending |"
            for phase in self.phases
        ]
        return "\n".join(lines) + "\n"

    def phase_texts(self) -> dict[str, str]:
        """File name -> content, for every phase."""
        return {phase.file_name: phase.text() for phase in self.phases}

    def github_issues(self) -> list[tuple[str, int]]:
        """Every linked GitHub issue the sandbox holds, as (repository, number), in plan order."""
        found: list[tuple[str, int]] = []
        for reference in self._github_references():
            if reference in self.missing:
                continue
            issue = self.github_key(reference)
            if issue not in found:
                found.append(issue)
        return found

    def github_key(self, reference: str) -> tuple[str, int]:
        """(repository, number) of ``#N``, ``owner/name#N`` or a ``.../pull/N`` URL."""
        if "://" in reference:
            parts = reference.rstrip("/").split("/")
            return (f"{parts[-4]}/{parts[-3]}", int(parts[-1]))
        repo, _, number = reference.rpartition("#")
        return (repo or self.github_repo or "", int(number))

    def jira_keys(self) -> list[str]:
        """Every linked Jira key the sandbox holds, in plan order."""
        keys = [*self.jira, *(key for phase in self.phases for key in phase.jira)]
        return [key for key in dict.fromkeys(keys) if key not in self.missing]

    def _github_references(self) -> Iterable[str]:
        yield from self.github
        for phase in self.phases:
            yield from phase.github


CHECKOUT_REVAMP = PlanSpec(
    title="Checkout revamp",
    owner="@dana",
    github=("#1",),
    jira=("PROJ-1",),
    phases=(
        PhaseSpec("1", "Cart model", github=("#10", "octo/lib#7")),
        PhaseSpec("2", "Payment step", github=("#11",), jira=("PROJ-2",)),
        PhaseSpec("3", "Rollout", github=("#12",), jira=("PROJ-3",)),
    ),
)
"""The standard end-to-end scene: three phases, two repositories, three Jira issues."""

CHECKOUT_REVAMP_DASHBOARD = PlanSpec(
    title="Checkout revamp",
    github=("#1",),
    jira=("PROJ-1",),
    phases=(
        PhaseSpec("1", "Cart model", github=("#10", "#11"), jira=("PROJ-10",)),
        PhaseSpec("2", "Payment step", github=("#20", "#21"), jira=("PROJ-20",)),
        PhaseSpec("3", "Receipts", github=("#30", "octo/other#7"), jira=("PROJ-30",)),
        PhaseSpec("4", "Rollout", github=("#40", "#99"), jira=("PROJ-40",)),
    ),
    missing=frozenset({"#99"}),
)
"""The dashboard's scene: four phases, every one linking both trackers; ``#99`` is gone."""


def scaled_plan(
    phases: int,
    github_per_phase: int,
    jira_per_phase: int,
    *,
    title: str = "Scaled plan",
    repo: str = "octo/app",
    first_number: int = 100,
    jira_project: str = "PROJ",
) -> PlanSpec:
    """``phases`` phases, each linking the next ``github_per_phase`` issues of ``repo``
    (numbered from ``first_number``) and the next ``jira_per_phase`` Jira keys."""
    specs: list[PhaseSpec] = []
    number, key = first_number, 1
    for index in range(1, phases + 1):
        github = [f"#{n}" for n in range(number, number + github_per_phase)]
        jira = [f"{jira_project}-{k}" for k in range(key, key + jira_per_phase)]
        number, key = number + github_per_phase, key + jira_per_phase
        specs.append(PhaseSpec(str(index), f"Phase {index}", github=github, jira=jira))
    return PlanSpec(title=title, github_repo=repo, phases=specs)


def write_plan(root: Path, spec: PlanSpec) -> Path:
    """Write ``plans/MASTER_PLAN.md`` and ``plans/phases/phase-N.md``; the master's path."""
    folder = root / "plans" / "phases"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in spec.phase_texts().items():
        (folder / name).write_text(text, encoding="utf-8")
    master = root / PLAN_PATH
    master.write_text(spec.master_text(), encoding="utf-8")
    return master


def write_config(
    root: Path,
    tracker: SandboxTracker,
    *,
    repo: str | None = "octo/app",
    github: bool = True,
    jira: bool = True,
    ttl: int = 300,
    auto_close: bool = False,
    transitions: Mapping[str, str | None] | None = None,
    jira_section: bool = True,
    write_interval: float | None = 0,
    sub_issues: bool = False,
) -> Path:
    """``.debussy/config.yaml`` pointing both trackers at ``tracker``, one key a line.

    ``jira_section=False`` leaves Jira out entirely (a GitHub-only project).
    ``write_interval``: the sandbox has no secondary rate limit, so GitHub writes are not
    paced by default; ``None`` leaves the key out (GitHub's one second, as the benchmark
    of writes wants).
    """
    lines = ["github:", f"  enabled: {_yaml(github)}"]
    if repo is not None:
        lines.append(f"  repo: {repo}")
    lines += [f"  api_url: {tracker.github_api_url}", f"  auto_close: {_yaml(auto_close)}"]
    if write_interval is not None:
        lines.append(f"  write_interval_seconds: {write_interval}")
    if sub_issues:
        lines.append("  sub_issues: true")
    if jira_section:
        lines += ["jira:", f"  enabled: {_yaml(jira)}", f"  url: {tracker.jira_url}"]
        if transitions is not None:
            lines.append("  transitions:")
            lines += [f"    {name}: {_yaml(value)}" for name, value in transitions.items()]
    lines += ["cache:", f"  ttl_seconds: {ttl}"]
    folder = root / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _yaml(value: str | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return value


def seed(
    tracker: SandboxTracker,
    spec: PlanSpec,
    *,
    github_title: str = "{repo}#{number}",
    jira_summary: str = "Work item {key}",
    updated_at: datetime | None = None,
) -> None:
    """Put every issue ``spec`` links (except its ``missing`` ones) in the sandbox, open."""
    pulls = {spec.github_key(reference): state for reference, state in spec.pulls.items()}
    for repo, number in spec.github_issues():
        title = github_title.format(repo=repo, number=number)
        if (repo, number) in pulls:
            tracker.add_pull_request(repo, number, title=title, state=pulls[repo, number])
        else:
            tracker.add_issue(repo, number, title=title, updated_at=updated_at)
    for key in spec.jira_keys():
        tracker.add_jira_issue(key, summary=jira_summary.format(key=key), updated_at=updated_at)


def credentials_env(github_token: str, jira_email: str, jira_token: str) -> dict[str, str]:
    """The environment variables Debussy reads its tracker credentials from."""
    return {"GITHUB_TOKEN": github_token, "JIRA_EMAIL": jira_email, "JIRA_API_TOKEN": jira_token}


def lay_out(
    root: Path, tracker: SandboxTracker, spec: PlanSpec = CHECKOUT_REVAMP, *, ttl: int = 300
) -> Path:
    """Config and plan in ``root``, the plan's issues seeded in ``tracker``; the plan's path."""
    write_config(root, tracker, repo=spec.github_repo, ttl=ttl)
    plan = write_plan(root, spec)
    seed(tracker, spec)
    return plan
