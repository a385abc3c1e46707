"""Runs follow their plan: every command re-reads the plan before it works on a run.

``follow_plan`` is called by every command that acts on a run (``status``,
``status --issues``, ``phase *``, ``done``, ``sync``, ``history``). It compares the
plan files' fingerprint — ``(path, mtime_ns, size)`` of the master plan, each phase
file and the config (whose ``github.repo`` gives ``#N`` its meaning) — with the one
stored when the run last followed its plan. Unchanged (the usual case): a few
``stat`` calls and nothing else, so the warm dashboard keeps its budget (§12) and
no plan parser is even imported. Changed: the plan is parsed (a plan that no
longer parses raises ``PlanError`` naming file and line, and nothing in the
state changes) and ``StateManager.follow_plan`` applies the difference in one
transaction, returning the changes to print once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from debussy.app.project import Project, plan_files, plan_fingerprint, unchanged
from debussy.errors import MissingPhaseFileError
from debussy.state.records import RunRecord

if TYPE_CHECKING:
    from debussy.state.plan_edit import PlanChange


@dataclass(frozen=True, slots=True)
class Followed:
    """What following the plan did: the run as it is now, the changes, a warning."""

    run: RunRecord
    changes: tuple[PlanChange, ...] = ()
    warning: str | None = None

    def message(self) -> str | None:
        """``plan changed since the run started: + GH-6 (phase 1), − GH-8 (phase 5)``."""
        if not self.changes:
            return None
        return "plan changed since the run started: " + ", ".join(c.text for c in self.changes)


def follow_plan(project: Project, run: RunRecord, *, reading: bool = False) -> Followed:
    """Bring ``run`` in line with its plan as it is now (see the module docstring).

    ``reading``: the command only shows the run (``status``, ``history``). A phase file
    the table still links but that is gone then leaves the run as last read, with a
    warning, instead of stopping: a plan in the middle of an edit must not hide the run.
    """
    if unchanged(project, run.plan_fingerprint):
        return Followed(run)
    master = project.root / run.plan_path
    if not master.exists():
        return Followed(
            run,
            warning=f"{run.plan_path} no longer exists; showing run {run.id} as its plan "
            "was when last read",
        )
    from debussy.app.runs import load_project_plan, wanted_of

    try:
        plan = load_project_plan(project, master)
    except MissingPhaseFileError as exc:
        if not reading:
            raise
        return Followed(
            run, warning=f"{exc.message}; showing run {run.id} as its plan was when last read"
        )
    phases, links = wanted_of(plan)
    files = plan_files(plan.path, [phase.file for phase in plan.phases])
    changes = project.state.follow_plan(
        run.id, phases, links, fingerprint=plan_fingerprint(project, files)
    )
    return Followed(project.state.get_run(run.id), tuple(changes))
