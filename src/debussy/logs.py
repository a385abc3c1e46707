"""Logging to stderr for ``-v``, with every registered secret scrubbed.

The redaction sits on the handler, so it also covers records from httpx and any
other library that logs through it: a token that reaches a log line by any path
is replaced with ``***`` before it is written.
"""

from __future__ import annotations

import logging

from debussy.errors import redact


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
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("debussy: %(message)s"))
    handler.addFilter(RedactingFilter())
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
