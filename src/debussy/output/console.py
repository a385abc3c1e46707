"""Where output goes and how it looks, decided in one place (as gh's iostreams does).

Colour and spinners only on a terminal; ``NO_COLOR`` always wins; ``CLICOLOR_FORCE``
or ``FORCE_COLOR`` force colour when piped (for CI logs that render ANSI). When
stdout is not a terminal, output keeps the piped layout (tables as plain aligned
text, nothing wrapped or cut); without colour the views write through a
``PlainConsole``, which never imports Rich (about 20 ms of a command whose whole
budget is 80, docs/PERFORMANCE.md).

The views are written against ``Console``, the few members of Rich's console they
use, and mark text up in Rich's markup (``[bold]…[/]``); ``escape`` and
``strip_markup`` here follow Rich's markup rules so both consoles print the same
characters.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sys
from typing import IO, TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

PIPED_WIDTH = 200
"""Rich's width on a pipe with colour forced; nothing is wrapped or cut there (``soft_wrap``)."""

_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
"""A markup tag (``[bold]``, ``[/]``), with the backslashes before it; as Rich reads them."""


class Console(Protocol):
    """What a view may ask of a console: Rich's ``Console`` and ``PlainConsole`` both answer."""

    @property
    def is_terminal(self) -> bool: ...

    @property
    def file(self) -> IO[str]: ...

    @property
    def width(self) -> int: ...

    no_color: bool

    def print(
        self, *objects: object, style: str | None = None, soft_wrap: bool | None = None
    ) -> None: ...


class PlainConsole:
    """Plain text for a pipe: markup removed, nothing wrapped, cut or padded, no Rich.

    What a script reads from ``debussy status | cut …`` is exactly the characters
    of the values, one line per line printed (docs/CLI.md, "Terminal or pipe").
    """

    is_terminal = False
    no_color = True
    width = PIPED_WIDTH

    def __init__(self, file: TextIO) -> None:
        self.file = file

    def print(
        self, *objects: object, style: str | None = None, soft_wrap: bool | None = None
    ) -> None:
        """Each object as plain text (markup strings stripped), joined by a space.

        ``style`` and ``soft_wrap`` are accepted for Rich's signature: a pipe has no
        colour and is never wrapped.
        """
        del style, soft_wrap
        self.file.write(" ".join(plain_text(item) for item in objects) + "\n")


def plain_text(item: object) -> str:
    """What a printable object reads as without colour.

    Strings are markup; a styled text (ours or Rich's ``Text``) has its ``plain``;
    any other Rich renderable is rendered by Rich, unwrapped (a safety net: the
    views print strings and styled texts only).
    """
    if isinstance(item, str):
        return strip_markup(item)
    plain = getattr(item, "plain", None)
    if isinstance(plain, str):
        return plain
    import io

    from rich.console import Console as RichConsole

    buffer = io.StringIO()
    RichConsole(file=buffer, width=100_000, no_color=True, highlight=False).print(
        item, soft_wrap=True
    )
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").split("\n"))


def escape(text: str) -> str:
    """``text`` made safe to put inside markup: anything that reads as a tag is escaped.

    The same rule as ``rich.markup.escape`` (so a Rich console prints the same), without
    importing Rich.
    """

    def escape_tag(match: re.Match[str]) -> str:
        backslashes, tag = match.group(1), match.group(2)
        return f"{backslashes}{backslashes}\\[{tag}]"

    escaped = _TAG.sub(escape_tag, text)
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        escaped += "\\"
    return escaped


def strip_markup(markup: str) -> str:
    """The characters Rich would print for ``markup``, without the styles.

    Tags are dropped; an escaped tag (an odd number of backslashes before it) is
    kept as text, each pair of backslashes before a tag is one backslash, and an
    escaped bracket that is not a tag (``\\[``) is a bracket.
    """
    pieces: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        start, end = match.span()
        pieces.append(markup[position:start].replace("\\[", "["))
        backslashes, escaped = divmod(len(match.group(1)), 2)
        pieces.append("\\" * backslashes)
        if escaped:
            pieces.append(f"[{match.group(2)}]")
        position = end
    pieces.append(markup[position:].replace("\\[", "["))
    return "".join(pieces)


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes: wide East Asian characters two, combining marks none.

    Aligns the columns a view lays out itself (Rich's measuring comes with Rich's
    import). ASCII, nearly every cell, is its length.
    """
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


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
    """The console for stdout (or stderr) that follows the rules above.

    A terminal gets Rich, fitted to its width. A pipe gets plain text from a
    ``PlainConsole``, or, when colour is forced, a Rich console that still says it is
    not a terminal: the piped layout (every character, nothing wrapped) in colour.
    """
    stream = sys.stderr if stderr else sys.stdout
    if is_tty(stream):
        return rich_console(stream, terminal=True, color=color_wanted(stream))
    if color_wanted(stream):
        return rich_console(stream, terminal=False, color=True)
    return PlainConsole(stream)


def rich_console(stream: TextIO, *, terminal: bool, color: bool) -> RichConsole:
    """Rich for ``stream``; on a pipe (colour forced) never a terminal, never wrapping.

    ``force_terminal=False`` because Rich takes ``FORCE_COLOR`` as "this is a terminal"
    and would lay tables out for 80 columns; the colour system is then named, since
    Rich detects none off a terminal. Sixteen colours are all the views use.
    """
    return _console_class()(
        file=stream,
        force_terminal=None if terminal else False,
        no_color=not color,
        color_system=("auto" if terminal else "standard") if color else None,
        highlight=False,
        emoji=False,
        width=None if terminal else PIPED_WIDTH,
        soft_wrap=not terminal,
    )


@functools.cache
def _console_class() -> type[RichConsole]:
    """Rich's console, except that a closed pipe is left to the CLI.

    Rich's own ``on_broken_pipe`` exits 1 on the spot; a reader that went away
    (``debussy sync | head -2``) is not a failure, and the CLI ends those runs the
    way git and gh do (``cli._end_like_a_closed_pipe``), so the error travels up.
    """
    from rich.console import Console as RichConsole

    class QuietPipeConsole(RichConsole):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError(errno.EPIPE, "the reader of the output went away")

    return QuietPipeConsole
