"""A Debussy project: the folder holding ``.debussy/``, its config and its state.

Commands find the project from the current folder upwards, as git finds
``.git``. Config and the state database are opened lazily, so a command that
only needs the cache never pays for what it does not use.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from debussy.config_snapshot import (
    CONFIG_FILE,
    STATE_DIR,
    ConfigView,
    find_project_root,
    fingerprint,
    read_snapshot,
    write_snapshot,
)
from debussy.errors import ConfigError, StateError
from debussy.state.manager import STATE_FILE, StateManager
from debussy.sync.trackers import TRACKERS, is_active

if TYPE_CHECKING:  # the models import pydantic: only commands that read config pay for it
    from debussy.config import Config


def remembered_config(root: Path) -> Config:
    """The project's config for read-only commands: a ``ConfigView`` when the snapshot holds.

    Otherwise the file is read and validated by pydantic (errors as ``ConfigError``,
    exactly as ``load_config``), the snapshot rewritten, and the model returned.
    Typed as ``Config``: the view answers every attribute the models have.
    """
    state_dir = root / STATE_DIR
    key = fingerprint(state_dir / CONFIG_FILE)
    settings = read_snapshot(state_dir, key)
    if settings is not None:
        return cast("Config", ConfigView(settings))
    from debussy.config import load_config  # pydantic: only when config.yaml changed

    config = load_config(root)
    if state_dir.is_dir():
        write_snapshot(state_dir, key, config.model_dump(mode="json"))
    return config


def tracker_names(config: Config) -> str:
    """``GitHub and Jira``: the trackers a wait is for, as the spinner names them.

    Read from the validated snapshot: naming the trackers must not cost the warm
    dashboard the config models (pydantic) it otherwise never loads.
    """
    names = [entry.name for entry in TRACKERS.values() if is_active(config, entry.platform)]
    return " and ".join(names) or "the trackers"


def left_empty(path: Path) -> bool:
    """True for a 0-byte state.db: truncated, or replaced, at whatever age.

    ``StateManager`` builds a new database beside and links it into place whole, so an
    empty state.db is never one being created (and SQLite would take it for a new
    database and silently start over).
    """
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        root = find_project_root(start)
        if root is None:
            raise ConfigError(
                f"no {STATE_DIR}/ folder here or in any parent of {start or Path.cwd()}; "
                "run `debussy init` first"
            )
        return cls(root)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def config_path(self) -> Path:
        return self.state_dir / CONFIG_FILE

    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    @cached_property
    def config(self) -> Config:
        """The validated config: from its snapshot while ``config.yaml`` is unchanged.

        pydantic validates the file whenever it changed (errors as ``ConfigError``);
        otherwise no YAML parse and no pydantic import (``debussy.config_snapshot``), on
        every command: the models and their import cost ~90 ms a start, and the view
        answers every attribute the models have.
        """
        return remembered_config(self.root)

    @cached_property
    def state(self) -> StateManager:
        path = self.state_path
        if left_empty(path):
            # SQLite would take an empty file for a new database and silently start
            # over; a state.db that became empty lost its runs, and the user must know.
            raise StateError(
                f"{path} is empty (0 bytes): its runs and history are gone; restore it from "
                "a backup, or delete it to start afresh"
            )
        return StateManager(path)

    def close(self) -> None:
        if "state" in self.__dict__:
            self.state.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root when inside it (how runs record plans)."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.resolve().as_posix()


# --- the plan files' fingerprint (app/plan_follow.py compares it on every command) ----------


def _stat(path: Path) -> list[object]:
    try:
        info = os.stat(path)
    except OSError:
        return [None, None]
    return [info.st_mtime_ns, info.st_size]


def plan_fingerprint(project: Project, files: list[Path]) -> str:
    """The plan files' ``(path, mtime_ns, size)``, plus the config's, as one JSON string."""
    entries = [[project.relative(path), *_stat(path)] for path in [project.config_path, *files]]
    return json.dumps(entries, separators=(",", ":"))


def unchanged(project: Project, stored: str | None) -> bool:
    """Whether every file of a stored fingerprint still has its ``mtime_ns`` and size."""
    if not stored:
        return False
    try:
        entries = [(project.root / str(entry[0]), list(entry[1:])) for entry in json.loads(stored)]
    except (ValueError, TypeError, IndexError):
        return False
    # The names were made relative when stored: a stat per file, no path resolving (every
    # command asks this; resolving cost a dozen syscalls per file of a 300-phase plan).
    return (
        bool(entries)
        and entries[0][0] == project.config_path
        and all(_stat(path) == stat for path, stat in entries)
    )


def plan_files(plan_path: Path, phase_files: list[Path | None]) -> list[Path]:
    return [plan_path, *(file for file in phase_files if file is not None)]
