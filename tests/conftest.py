"""Fixtures every test module may use."""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(autouse=True, scope="session")
def _children_can_be_interrupted() -> Iterator[None]:
    """Children that tests stop with SIGINT must see it even when the runner ignores SIGINT.

    A runner started in the background (``cmd &`` in a script, some CI agents) has
    SIGINT ignored, an ignored signal stays ignored across ``exec``, and Python then
    installs no ``KeyboardInterrupt`` handler: ``demo --serve`` would never stop
    and the test would wait out its timeout. A handled signal is reset to the
    default at ``exec``, so handling it here makes every child interruptible.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True, scope="session")
def _children_start_from_bytecode() -> Iterator[None]:
    """``debussy`` children compile each module once per machine, not once per start.

    Hundreds of tests run ``debussy`` (or the demo, which runs it again) as a child
    process. With ``PYTHONDONTWRITEBYTECODE=1``, as in this development environment,
    every one of them compiled click, pydantic, rich, httpx and Debussy itself
    (0.3-0.5 s each): most of the suite's time. Children inherit this prefix and
    share one bytecode cache outside the repository; Python checks every ``.pyc``
    against its source, so an edit is never missed. A child that sets its own
    prefix (tests/reliability, bench) keeps it.
    """
    saved = {
        name: os.environ.get(name) for name in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")
    }
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX",
        str(Path(tempfile.gettempdir()) / f"debussy-tests-pycache-{os.getuid()}"),
    )
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# A live sandbox tracker and a project wired to it, for every end-to-end test.
from tests.sandbox_project import sandbox, sandbox_project  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _github_writes_without_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub mutations are paced 1 s apart; in-process tests pin the pacing, not the wait."""
    monkeypatch.setattr("debussy.sync.trackers.github.client.MUTATION_INTERVAL", 0.0)
