"""Logging to stderr for ``-v``, with every registered secret scrubbed.

The redaction sits on the handler, so it also covers records from httpx and any
other library that logs through it: a token that reaches a log line by any path
is replaced with ``***`` before it is written.

Warnings reach stderr without ``-v`` too, as ``Warning: ...`` like every other
warning the CLI prints (docs/CLI.md): a module that warns takes its logger from
``get_logger``, which gives the ``debussy`` logger that handler once.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from debussy.errors import redact


class _Lines(logging.Formatter):
    """``Warning: ...`` / ``Error: ...`` as the CLI words them; ``debussy: ...`` under -v."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"Error: {text}"
        if record.levelno >= logging.WARNING:
            return f"Warning: {text}"
        return f"debussy: {text}"


class _Stderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is now (Click's test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _handler() -> logging.Handler:
    handler = _Stderr()
    handler.setFormatter(_Lines("%(message)s"))
    handler.addFilter(RedactingFilter())
    return handler


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, the ``debussy`` logger first given its warnings handler.

    Only when it has none: ``-v`` (``configure``) installs its own, with the same wording.
    Nothing else changes (level, propagation), so tests' log capture still sees every record.
    """
    root = logging.getLogger("debussy")
    if not root.handlers:
        root.addHandler(_handler())
    return logging.getLogger(name)


class RedactingFilter(logging.Filter):
    """Render the record's message once, scrubbed, so no secret survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(verbosity: int) -> None:
    """0: warnings; 1 (``-v``): Debussy's info, cache hits, each request; 2: debug, httpx too."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = _handler()
    root = logging.getLogger("debussy")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # -v promises one line per request (method, URL, status, time): TrackerHttp logs
    # them at debug, so its logger alone opens up one level at -v.
    logging.getLogger("debussy.http").setLevel(logging.DEBUG if verbosity >= 1 else logging.NOTSET)
    for name in ("httpx", "httpcore"):
        library = logging.getLogger(name)
        library.handlers[:] = [handler] if verbosity >= 2 else []
        library.setLevel(
            logging.DEBUG if verbosity >= 3 else logging.INFO if verbosity >= 2 else logging.WARNING
        )
        library.propagate = False
