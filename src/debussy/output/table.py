"""Tables on a pipe: plain aligned text, without Rich.

A terminal gets Rich's tables, fitted to its width (the views build them). Anywhere
else a table is laid out here (docs/CLI.md, "Terminal or pipe"): every character of
every cell (nothing cut or wrapped, whatever the width or ``COLUMNS`` says), one line
per row, columns two spaces apart starting at the first character of the line, no
trailing blanks, so ``grep``, ``cut`` and ``awk`` see the values themselves. Loading
Rich for this would cost about 20 ms of a command whose budget is 80 (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from debussy.output.console import Console, PlainConsole, cell_width, strip_markup

GAP = "  "
"""Between two columns."""


@dataclass(slots=True)
class Table:
    """Headers and rows of markup cells (``escape`` what came from a person or a tracker).

    A row may be shorter than the headers: its missing cells are empty.
    """

    headers: Sequence[str]
    title: str | None = None
    rows: list[tuple[str, ...]] = field(default_factory=list[tuple[str, ...]])

    def add_row(self, *cells: str) -> None:
        self.rows.append(cells)


def print_table(console: Console, table: Table) -> None:
    """The title line, the header and one line per row.

    A ``PlainConsole`` gets the characters written as they are; a Rich console on a
    pipe (colour forced, or a test's console) gets the same lines with their markup.
    """
    plain = isinstance(console, PlainConsole)
    if table.title is not None:
        console.print(f"[bold]{table.title}[/]")
    for line in plain_lines(table, keep_markup=not plain):
        if plain:
            console.file.write(line + "\n")
        else:
            console.print(line, soft_wrap=True)


def plain_lines(table: Table, *, keep_markup: bool = False) -> list[str]:
    """The header and one line per row, aligned on the plain text of each cell.

    A line break inside a cell becomes a space: one row is one line. With
    ``keep_markup`` the lines keep their cells' markup (for a console that colours
    them); the alignment is the same.
    """
    count = len(table.headers)
    lines = [
        tuple(f"[bold]{header}[/]" for header in table.headers),
        *(tuple(row) + ("",) * (count - len(row)) for row in table.rows),
    ]
    texts = [[strip_markup(cell).replace("\n", " ") for cell in line] for line in lines]
    widths = [max(cell_width(row[index]) for row in texts) for index in range(count)]
    out: list[str] = []
    for line, plain in zip(lines, texts, strict=True):
        used = max((index for index, text in enumerate(plain) if text), default=-1)
        pieces: list[str] = []
        for index in range(used + 1):
            text = plain[index]
            shown = line[index].replace("\n", " ") if keep_markup else text
            pad = " " * (widths[index] - cell_width(text)) + GAP if index < used else ""
            pieces.append(shown + pad)
        out.append("".join(pieces))
    return out
