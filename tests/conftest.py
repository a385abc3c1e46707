"""Fixtures every test module may use."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def _retries_without_waiting() -> Iterator[None]:
    """Keep the real number of attempts but never sleep between them."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``-v`` reconfigures the ``debussy`` and httpx loggers for the process; undo it per test."""
    names = ("debussy", "debussy.http", "httpx", "httpcore")
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture(autouse=True)
def _no_tracker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real tokens from the environment."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "JIRA_API_TOKEN", "JIRA_EMAIL", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


# A live sandbox tracker and a project wired to it, for every end-to-end test.
from tests.sandbox_project import sandbox, sandbox_project  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _github_writes_without_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub mutations are paced 1 s apart; in-process tests pin the pacing, not the wait."""
    monkeypatch.setattr("debussy.sync.trackers.github.client.MUTATION_INTERVAL", 0.0)
