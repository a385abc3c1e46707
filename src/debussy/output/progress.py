"""Progress on stderr while the trackers are asked: a spinner on a terminal, nothing elsewhere.

Apart from the views so that a command whose output is a JSON document (``status
--issues --json``, ``sync --json``) loads no view it does not print with; Rich is
imported only when the spinner is drawn (stderr is a terminal).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, TextIO

from debussy.errors import redact
from debussy.output.console import color_wanted, escape, is_tty

if TYPE_CHECKING:
    from rich.status import Status


def fetching_spinner(
    stderr: TextIO | None = None, message: str = "Reading issue statuses…"
) -> AbstractContextManager[object]:
    """A spinner on stderr while the trackers are asked, naming each retry and its cause.

    Nothing when stderr is not a TTY, nor with ``-v``: log lines and a live
    spinner on one stream would garble each other (``-v`` prints the same news
    as log lines instead).
    """
    stream = stderr or sys.stderr
    if not is_tty(stream) or logging.getLogger("debussy").isEnabledFor(logging.INFO):
        return nullcontext()
    return _spinner(stream, message)


PROGRESS_LOGGERS = ("debussy.http", "debussy.progress")
"""Info lines from these loggers show in the spinner: retries (``debussy.http``) and any
progress a long operation reports (``debussy.progress``, e.g. "3/12 issues written")."""


class _SpinnerNews(logging.Handler):
    """Shows the request layer's retry notices and progress lines in the spinner's line.

    ``TrackerHttp`` logs each scheduled retry on ``debussy.http`` at info level
    ("GitHub is unavailable (502); retry 1 in 0.6 s"), which ``-v`` prints as a
    line; while the spinner runs, this handler puts it next to the spinner instead.
    """

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(logging.INFO)
        self._status = status
        self._message = message

    def emit(self, record: logging.LogRecord) -> None:
        self._status.update(f"{self._message} {escape(redact(record.getMessage()))}")


@contextmanager
def _spinner(stream: TextIO, message: str) -> Generator[object]:
    from rich.console import Console

    console = Console(file=stream, no_color=not color_wanted(stream), highlight=False)
    sources = [logging.getLogger(name) for name in PROGRESS_LOGGERS]
    previous = [source.level for source in sources]
    with console.status(message, spinner="dots") as status:
        news = _SpinnerNews(status, message)
        for source in sources:
            source.addHandler(news)
            source.setLevel(logging.INFO)
        try:
            yield status
        finally:
            for source, level in zip(sources, previous, strict=True):
                source.removeHandler(news)
                source.setLevel(level)
