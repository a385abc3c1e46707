"""Fixtures every test module may use."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import threading
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
    from debussy.logs import get_logger

    # The warnings handler is installed when a module first asks for its logger, maybe
    # during a test: install it before saving, or the restore would take it away from
    # every later test in the process (whose modules are imported already).
    get_logger("debussy")
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


def pytest_configure(config: pytest.Config) -> None:
    """Every Python process of the run compiles each module once per machine, not once per start.

    Hundreds of tests run ``debussy`` (or the demo, which runs it again) as a child
    process, and every xdist worker imports the product, its libraries and ~130 test
    modules, which pytest rewrites for its assertions. With ``PYTHONDONTWRITEBYTECODE=1``,
    as in this development environment, each of those processes compiled (and
    rewrote) all of it again: 0.3-0.5 s per child, 2-3 s per worker. This runs in the
    controller before xdist starts its workers, so workers and children inherit one
    bytecode cache outside the repository (pytest keeps its rewritten test modules
    there too); this process switches to it for everything it imports from now on.
    Python checks every ``.pyc`` against its source, so an edit is never missed. A
    child that sets its own prefix (tests/reliability, bench) keeps it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    prefix = os.environ.setdefault(
        "PYTHONPYCACHEPREFIX",
        str(Path(tempfile.gettempdir()) / f"debussy-tests-pycache-{os.getuid()}"),
    )
    sys.dont_write_bytecode = False
    sys.pycache_prefix = prefix
    _build_hypothesis_text_tables_once(config)


def _build_hypothesis_text_tables_once(config: pytest.Config) -> None:
    """Under xdist, the controller builds Hypothesis's table of UTF-8 characters for the workers.

    The first ``st.text()`` of a process needs the set of characters UTF-8 can encode:
    Hypothesis computes it by encoding all 1.1 million code points (~1.4 s of CPU) and
    keeps it in ``.hypothesis/unicode_data``. On a fresh clone there is no such file, so
    both workers computed it. The controller sits idle while its workers run; it now
    computes the table in the background as the workers start, and they read the file
    (Hypothesis writes it atomically; a worker that needs it before it exists computes
    it itself, as before). Serial runs are left alone: the thread would only compete.
    """
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", default=None):
        return
    try:  # an internal module: a Hypothesis without it just means each worker builds its own
        from hypothesis.internal.charmap import intervals_from_codec
    except ImportError:  # pragma: no cover - depends on the installed Hypothesis
        return
    threading.Thread(
        target=intervals_from_codec, args=("utf-8",), name="hypothesis-tables", daemon=True
    ).start()


# A live sandbox tracker and a project wired to it, for every end-to-end test.
from tests.sandbox_project import (  # noqa: E402, F401
    clocked_project,
    manual_clock,
    sandbox,
    sandbox_project,
    sandbox_threads_not_measured,
)


@pytest.fixture(autouse=True)
def _github_writes_without_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub mutations are paced 1 s apart; in-process tests pin the pacing, not the wait."""
    monkeypatch.setattr("debussy.sync.trackers.github.client.MUTATION_INTERVAL", 0.0)
