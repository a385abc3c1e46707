"""Where output goes and how it looks, decided in one place (as gh's iostreams does).

Colour and spinners only on a terminal; ``NO_COLOR`` always wins; ``CLICOLOR_FORCE``
or ``FORCE_COLOR`` force colour when piped (for CI logs that render ANSI). When
stdout is not a terminal, tables drop their borders so the output stays easy to
``grep`` and ``cut``.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 200
"""Columns to lay out for when nothing tells us the width (piped output)."""


def is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_wanted(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("CLICOLOR_FORCE", "0") != "0" or os.environ.get("FORCE_COLOR"):
        return True
    return is_tty(stream)


def make_console(*, stderr: bool = False) -> Console:
    """A Rich console for stdout (or stderr) that follows the rules above."""
    stream = sys.stderr if stderr else sys.stdout
    tty = is_tty(stream)
    color = color_wanted(stream)
    return _console_class()(
        file=stream,
        force_terminal=color if color and not tty else None,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        emoji=False,
        width=None if tty else PIPED_WIDTH,
        soft_wrap=not tty,
    )


@functools.cache
def _console_class() -> type[Console]:
    """Rich's console, except that a closed pipe is left to the CLI.

    Rich's own ``on_broken_pipe`` exits 1 on the spot; a reader that went away
    (``debussy sync | head -2``) is not a failure, and the CLI ends those runs the
    way git and gh do (``cli._end_like_a_closed_pipe``), so the error travels up.
    """
    from rich.console import Console

    class QuietPipeConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")

    return QuietPipeConsole
