"""``debussy sync``: plan, save, or apply, as one use case the command calls once.

The command parses options and renders; this decides what runs: a saved plan applied
exactly (``--apply FILE``), or a plan made now from a fresh read, saved (``--out``)
and/or applied (``--apply``). A failure after the read is handed back with the outcome
(``SyncRun.failure``) rather than raised, so the command still prints what was
planned and done before it reports the failure, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.errors import DebussyError

if TYPE_CHECKING:
    from debussy.app.project import Project
    from debussy.app.sync_apply import SyncOutcome
    from debussy.sync.reconcile import Direction


@dataclass(slots=True)
class SyncRun:
    """What ``sync`` did: the outcome to render, the failure to report after it."""

    outcome: SyncOutcome
    force: bool
    """As decided: a saved plan keeps the ``--force`` it was made with."""
    failure: DebussyError | None = None


def run_sync(
    project: Project,
    run_id: str,
    *,
    direction: str | None,
    apply_changes: bool,
    plan_file: Path | None,
    out: Path | None,
    force: bool,
    waiting: Callable[[str], AbstractContextManager[object]],
    note_saved: Callable[[str], None],
) -> SyncRun:
    """``sync`` for a run that followed its plan; see the module docstring.

    ``direction``: as given (None: not given; a saved plan then keeps its own).
    ``note_saved`` is told, before any tracker write, what an interruption would leave
    half done (the Ctrl-C message); ``waiting`` shows the wait while trackers are read.
    """
    from debussy.app.dashboard import cache_path
    from debussy.app.project import tracker_names
    from debussy.app.sync_apply import (
        apply_from_tracker,
        apply_saved_plan,
        apply_to_tracker,
        load_saved_plan_for,
        prepare_sync,
        save_plan,
    )

    chosen: Direction = "to-tracker" if direction == "to-tracker" else "from-tracker"
    state, config = project.state, project.config
    cache = cache_path(project.root)
    reading = f"Reading issue statuses from {tracker_names(config)}…"
    failure: DebussyError | None = None
    if plan_file is not None:
        saved, outcome = load_saved_plan_for(
            state, run_id, plan_file, direction=None if direction is None else chosen
        )
        force = saved.force
        if outcome.plan.direction == "to-tracker":
            note_saved(
                "some tracker writes of the saved plan may have been sent; make a new "
                "plan to finish the rest"
            )
        with waiting(reading):
            try:
                apply_saved_plan(state, config, cache, saved, outcome)
            except DebussyError as exc:
                failure = exc
    else:
        with waiting(reading):
            outcome = prepare_sync(state, config, cache, run_id, direction=chosen, force=force)
        if out is not None:
            try:
                save_plan(outcome, out, force=force)
            except DebussyError as exc:
                failure = exc
        if apply_changes:
            if outcome.plan.direction == "to-tracker":
                note_saved(
                    "some tracker writes may have been sent; run the same command again "
                    "to finish the rest"
                )
            try:
                if outcome.plan.direction == "from-tracker":
                    apply_from_tracker(state, outcome)
                else:
                    apply_to_tracker(state, config, cache, outcome)
            except DebussyError as exc:
                failure = exc
    if failure is not None and apply_changes and not outcome.applied:
        outcome.stopped = failure.message
    return SyncRun(outcome, force, failure)
