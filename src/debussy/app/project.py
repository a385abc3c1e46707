"""A Debussy project: the folder holding ``.debussy/``, its config and its state.

Commands find the project from the current folder upwards, as git finds
``.git``. Config and the state database are opened lazily, so a command that
only needs the cache never pays for what it does not use.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from debussy.config_snapshot import CONFIG_FILE, STATE_DIR, find_project_root, remembered_config
from debussy.errors import ConfigError, StateError
from debussy.state.manager import STATE_FILE, StateManager

if TYPE_CHECKING:  # the models import pydantic: only commands that read config pay for it
    from debussy.config import Config


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
