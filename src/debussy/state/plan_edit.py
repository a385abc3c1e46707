"""How a run follows its plan: the difference between what the run tracks and what the plan says.

Plans are living documents (README.md, "Commands"): people add the issue they just opened,
split a phase, drop an issue that moved elsewhere. ``diff_plan`` compares the run's
phases and links with the plan as parsed now and returns a ``PlanEdit``: the phase
and link changes to make, and the ``PlanChange`` lines to show and keep in history.
It is pure (no I/O) so the ``StateManager`` can run it inside the one write
transaction that applies it, on rows read under the write lock.

Phase identity: a phase is the same phase when its file is the same (renumbered or
retitled, it keeps its status and history; a removed phase whose file is listed again
comes back); failing that, a listed phase with the same id whose old file is no longer
in the plan (or was never recorded, in runs started before phases remembered their
files). Everything else is added or removed: a new phase never inherits the status of
a removed one just because it took its number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from debussy.state.records import REMOVED_MARK as REMOVED_MARK
from debussy.state.records import shown_phase_id as shown_phase_id

ChangeKind = Literal[
    "link_added",
    "link_removed",
    "link_moved",
    "phase_added",
    "phase_removed",
    "phase_restored",
    "phase_renumbered",
    "phase_retitled",
]


@dataclass(frozen=True, slots=True)
class WantedPhase:
    """A phase as the plan lists it now; ``file`` is relative to the plan's folder."""

    phase_id: str
    title: str
    file: str


@dataclass(frozen=True, slots=True)
class WantedLink:
    """An issue the plan links now; ``phase_id`` None means plan level."""

    platform: str
    ref: str
    display_key: str
    phase_id: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.ref)


@dataclass(frozen=True, slots=True)
class CurrentPhase:
    """A phase row of the run as the state database has it (removed ones included)."""

    phase_id: str
    title: str
    file: str | None
    removed: bool


@dataclass(frozen=True, slots=True)
class PlanChange:
    """One change the plan made to the run, as printed (``+ GH-6 (phase 1)``) and kept."""

    kind: ChangeKind
    subject: str
    phase_id: str | None
    text: str


@dataclass(frozen=True, slots=True)
class PhaseMove:
    """A phase of the run that stays: its id, title, file and position from now on."""

    old_id: str
    new_id: str
    title: str
    file: str
    position: int
    restored: bool


@dataclass(slots=True)
class PlanEdit:
    kept: list[PhaseMove] = field(default_factory=list[PhaseMove])
    added: list[tuple[WantedPhase, int]] = field(default_factory=list[tuple[WantedPhase, int]])
    removed: list[str] = field(default_factory=list[str])
    """Ids (before the edit) of phases that left the plan now."""
    links: list[WantedLink] = field(default_factory=list[WantedLink])
    """Every link the run tracks after the edit, in plan order."""
    unlinked: list[WantedLink] = field(default_factory=list[WantedLink])
    """Links the plan dropped now, with the phase (old id) they belonged to."""
    changes: list[PlanChange] = field(default_factory=list[PlanChange])


def where(phase_id: str | None) -> str:
    return f"phase {shown_phase_id(phase_id)}" if phase_id is not None else "plan"


def diff_plan(
    phases: Sequence[CurrentPhase],
    links: Sequence[WantedLink],
    wanted_phases: Sequence[WantedPhase],
    wanted_links: Sequence[WantedLink],
) -> PlanEdit:
    """What changes when the run follows the plan (see the module docstring)."""
    edit = PlanEdit()
    matches = _match_phases(phases, wanted_phases)
    renamed: dict[str, str] = {}  # old id -> new id of phases that stay
    for position, wanted in enumerate(wanted_phases):
        current = matches.get(position)
        if current is None:
            edit.added.append((wanted, position))
            edit.changes.append(
                PlanChange(
                    "phase_added", wanted.phase_id, wanted.phase_id, _phase_text("+", wanted)
                )
            )
            continue
        renamed[current.phase_id] = wanted.phase_id
        edit.kept.append(
            PhaseMove(
                current.phase_id,
                wanted.phase_id,
                wanted.title,
                wanted.file,
                position,
                current.removed,
            )
        )
        if current.removed:
            edit.changes.append(
                PlanChange(
                    "phase_restored",
                    wanted.phase_id,
                    wanted.phase_id,
                    _phase_text("+", wanted) + " (back in the plan)",
                )
            )
        if shown_phase_id(current.phase_id) != wanted.phase_id:
            edit.changes.append(
                PlanChange(
                    "phase_renumbered",
                    wanted.phase_id,
                    wanted.phase_id,
                    f"phase {shown_phase_id(current.phase_id)} → {wanted.phase_id} "
                    f"'{wanted.title}'",
                )
            )
        if current.title != wanted.title:
            edit.changes.append(
                PlanChange(
                    "phase_retitled",
                    wanted.phase_id,
                    wanted.phase_id,
                    f"phase {wanted.phase_id} '{current.title}' → '{wanted.title}'",
                )
            )
    kept_ids = {current.phase_id for current in matches.values()}
    for current in phases:
        if not current.removed and current.phase_id not in kept_ids:
            edit.removed.append(current.phase_id)
            edit.changes.append(
                PlanChange(
                    "phase_removed",
                    current.phase_id,
                    current.phase_id,
                    f"− phase {shown_phase_id(current.phase_id)} '{current.title}'",
                )
            )
    _diff_links(edit, links, wanted_links, renamed)
    return edit


def _phase_text(sign: str, phase: WantedPhase) -> str:
    return f"{sign} phase {phase.phase_id} '{phase.title}'"


def _match_phases(
    phases: Sequence[CurrentPhase], wanted: Sequence[WantedPhase]
) -> dict[int, CurrentPhase]:
    """Wanted position -> the run's phase it continues: same file first, then same id."""
    matches: dict[int, CurrentPhase] = {}
    taken: set[str] = set()
    by_file = {phase.file: phase for phase in phases if phase.file is not None}
    for position, phase in enumerate(wanted):
        current = by_file.get(phase.file)
        if current is not None and current.phase_id not in taken:
            matches[position] = current
            taken.add(current.phase_id)
    wanted_files = {phase.file for phase in wanted}
    by_id = {
        phase.phase_id: phase
        for phase in phases
        if not phase.removed
        and phase.phase_id not in taken
        and (phase.file is None or phase.file not in wanted_files)
    }
    for position, phase in enumerate(wanted):
        if position in matches:
            continue
        current = by_id.get(phase.phase_id)
        if current is not None and current.phase_id not in taken:
            matches[position] = current
            taken.add(current.phase_id)
    return matches


def _diff_links(
    edit: PlanEdit,
    links: Sequence[WantedLink],
    wanted: Sequence[WantedLink],
    renamed: dict[str, str],
) -> None:
    current = {link.key: link for link in links}
    first: dict[tuple[str, str], WantedLink] = {}
    for link in wanted:
        first.setdefault(link.key, link)  # an issue linked twice belongs where it first appears
    unique = list(first.values())
    edit.links = unique
    wanted_keys = {link.key for link in unique}
    for link in unique:
        before = current.get(link.key)
        if before is None:
            edit.changes.append(
                PlanChange(
                    "link_added",
                    link.display_key,
                    link.phase_id,
                    f"+ {link.display_key} ({where(link.phase_id)})",
                )
            )
            continue
        old_phase = before.phase_id
        if old_phase is not None:
            old_phase = renamed.get(old_phase, old_phase)
        if old_phase != link.phase_id:
            edit.changes.append(
                PlanChange(
                    "link_moved",
                    link.display_key,
                    link.phase_id,
                    f"{link.display_key} ({where(old_phase)} → {where(link.phase_id)})",
                )
            )
    for link in links:
        if link.key not in wanted_keys:
            edit.unlinked.append(link)
            edit.changes.append(
                PlanChange(
                    "link_removed",
                    link.display_key,
                    link.phase_id,
                    f"− {link.display_key} ({where(link.phase_id)})",
                )
            )
