"""Reading plan-shaped markdown: frontmatter, ``**Key:** value`` lines, tables, links.

This is the document layer under ``plans.parser``: it knows markdown and YAML,
not plans. Every value keeps the line it came from (1-based, as editors count)
and every problem is a ``PlanError`` naming ``file:line``, because the person
fixing it has the file open. Fenced code blocks and HTML comments are not prose:
plans show the header format in code blocks and keep templates in comments.
Each file is read once, at most ``MAX_PLAN_BYTES``, and must be UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debussy.errors import PlanError

MAX_PLAN_BYTES = 5 * 1024 * 1024
# Values are captured whole and trimmed in Python: lazy groups before ``\s*$`` go
# quadratic on long whitespace runs, and a plan file may be 5 MB.
_HEADER_RE = re.compile(
    r"^ {0,3}(?:[-*+] +)?\*\*(?P<key>[^*\n]+?)(?::\*\*|\*\*[ \t]*:)(?P<value>.*)$"
)
_BULLET_RE = re.compile(r"^ {0,3}[-*+] +(?P<item>.*)$")
HEADING_RE = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*))?$")
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_DELIMITER_CELL_RE = re.compile(r"^\s*:?-+:?\s*$")
_UNESCAPED_PIPE_RE = re.compile(r"(?<!\\)\|")
LINK_RE = re.compile(
    r"(?<!!)\[(?P<text>(?:[^\[\]\\]|\\.)*)\]\(\s*(?P<target><[^<>\n]*>|[^\s()]+)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_FRONTMATTER_END = ("---", "...")


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based, as editors count
    text: str


@dataclass(frozen=True, slots=True)
class Frontmatter:
    values: Mapping[str, Any]
    key_lines: Mapping[str, int]  # top-level key -> line of the key in the file
    item_lines: Mapping[str, tuple[int, ...]]  # top-level key -> lines of its list items


@dataclass(frozen=True, slots=True)
class Document:
    """One plan file: its frontmatter and the markdown lines outside code and comments."""

    shown: str
    frontmatter: Frontmatter
    lines: tuple[Line, ...]

    @classmethod
    def read(cls, path: Path, shown: str) -> Document:
        all_lines = _LINE_BREAK_RE.split(read_text(path, shown))
        frontmatter, body_start = split_frontmatter(all_lines, shown)
        lines = tuple(markdown_lines(all_lines, body_start))
        return cls(shown=shown, frontmatter=frontmatter, lines=lines)

    def where(self, line: int) -> str:
        return f"{self.shown}:{line}"

    def lines_before(self, line: int) -> tuple[Line, ...]:
        return tuple(entry for entry in self.lines if entry.number < line)

    def lines_after(self, line: int) -> tuple[Line, ...]:
        return tuple(entry for entry in self.lines if entry.number > line)


def read_text(path: Path, shown: str) -> str:
    """The file as text, refusing what is too large to be a plan or is not UTF-8."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"{shown}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PLAN_BYTES:
        limit_mb = MAX_PLAN_BYTES // (1024 * 1024)
        raise PlanError(f"{shown}: larger than {limit_mb} MB, which is too large for a plan file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanError(
            f"{shown}:{line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from exc
    return text.removeprefix("\ufeff")


def split_frontmatter(lines: list[str], shown: str) -> tuple[Frontmatter, int]:
    """YAML between a first-line ``---`` and the next ``---``/``...``; where markdown starts."""
    empty = Frontmatter({}, {}, {})
    if not lines or lines[0].rstrip() != "---":
        return empty, 0
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _FRONTMATTER_END:
            return load_frontmatter("\n".join(lines[1:index]), shown), index + 1
    raise PlanError(f"{shown}:1: frontmatter is not closed: add a '---' line after it")


def load_frontmatter(text: str, shown: str) -> Frontmatter:
    import yaml  # lazy: most plans have no frontmatter

    try:
        node, data = _compose_and_construct(text)
    except yaml.MarkedYAMLError as exc:
        raise PlanError(f"{shown}:{_yaml_error_text(exc)}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text[: exc.position].count("\n") + 2
        raise PlanError(
            f"{shown}:{line}: malformed YAML frontmatter: character {_code_point(exc.character)} "
            "is not allowed in YAML"
        ) from exc
    except yaml.YAMLError as exc:
        raise PlanError(f"{shown}:1: malformed YAML frontmatter: {exc}") from exc
    except RecursionError as exc:  # PyYAML composes nested collections recursively
        raise PlanError(f"{shown}:1: YAML frontmatter is nested too deeply") from exc
    if data is None:
        return Frontmatter({}, {}, {})
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise PlanError(f"{shown}:2: frontmatter must be a mapping of 'key: value' lines")
    return Frontmatter(
        values={str(key): value for key, value in data.items()},
        key_lines=_frontmatter_key_lines(node),
        item_lines=_frontmatter_item_lines(node),
    )


def _yaml_error_text(exc: Any) -> str:
    """``line: malformed YAML frontmatter: ...`` at the line to fix.

    The context mark (where an unclosed ``[``, ``{`` or quote started) beats the
    problem mark, which often points at the next key or the end of the block.
    File lines are YAML lines + 2: 1-based, plus the opening ``---``.
    """
    problem = exc.problem or "cannot be parsed"
    if exc.context_mark is not None:
        line = exc.context_mark.line + 2
        if exc.problem_mark is not None and exc.problem_mark.line + 2 != line:
            problem += f" at line {exc.problem_mark.line + 2}"
        return f"{line}: malformed YAML frontmatter: {exc.context}: {problem}"
    line = exc.problem_mark.line + 2 if exc.problem_mark is not None else 1
    return f"{line}: malformed YAML frontmatter: {problem}"


def _code_point(character: object) -> str:
    """``U+0007``: PyYAML reports the offending character as an int or a one-byte str."""
    if isinstance(character, str) and len(character) == 1:
        character = ord(character)
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def _compose_and_construct(text: str) -> tuple[Any, Any]:
    """The node tree (for line numbers) and the values, from one safe parse."""
    import yaml

    loader = yaml.SafeLoader(text)  # checks the characters: may raise ReaderError
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _frontmatter_key_lines(node: Any) -> dict[str, int]:
    return {str(key.value): key.start_mark.line + 2 for key, _value in node.value}


def _frontmatter_item_lines(node: Any) -> dict[str, tuple[int, ...]]:
    import yaml

    lines: dict[str, tuple[int, ...]] = {}
    for key, value in node.value:
        if isinstance(value, yaml.SequenceNode):
            lines[str(key.value)] = tuple(item.start_mark.line + 2 for item in value.value)
    return lines


def markdown_lines(lines: list[str], start: int) -> Iterator[Line]:
    """Lines that are markdown prose: fenced code blocks and HTML comments are skipped.

    Plans often show the header format in a code block or keep a template line in
    a comment; neither may link issues or define phases.
    """
    fence: str | None = None
    in_comment = False
    for index in range(start, len(lines)):
        text = lines[index]
        if fence is not None:
            stripped = text.strip()
            if stripped.startswith(fence) and not stripped.lstrip(fence[0]):
                fence = None
            continue
        if in_comment:
            in_comment = "-->" not in text
            continue
        opening = _FENCE_RE.match(text)
        if opening is not None:
            fence = opening["fence"]
            continue
        if text.lstrip().startswith("<!--"):
            in_comment = "-->" not in text
            continue
        yield Line(index + 1, text)


@dataclass(frozen=True, slots=True)
class HeaderLine:
    key: str
    value: str
    line: int


def header_lines(
    region: Iterable[Line], takes_list: Callable[[str], bool] = lambda _key: False
) -> list[HeaderLine]:
    """``**Key:** value`` lines; a header ``takes_list`` accepts, with no value, takes the
    bullet list below it (an issue header listing one reference per line).

    The list ends at the first line that is not a bullet, or at a blank line once
    an item was seen, so an unrelated list further down is never read as issues.
    """
    found: list[HeaderLine] = []
    list_key: str | None = None  # an issue header whose references follow as bullets
    items_seen = False
    for entry in region:
        match = _HEADER_RE.match(entry.text)
        if match is not None:
            key, value = match["key"].strip(), trim_value(match["value"])
            found.append(HeaderLine(key, value, entry.number))
            list_key = key if takes_list(key) and not value else None
            items_seen = False
            continue
        if list_key is None:
            continue
        bullet = _BULLET_RE.match(entry.text)
        if bullet is not None:
            found.append(HeaderLine(list_key, trim_value(bullet["item"]), entry.number))
            items_seen = True
        elif entry.text.strip() or items_seen:
            list_key = None
    return found


def trim_value(value: str) -> str:
    """Drop surrounding blanks and a trailing markdown hard break (two spaces or ``\\``)."""
    return value.strip().removesuffix("\\").rstrip()


def table_rows(lines: Iterable[Line], previous: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Rows up to the first blank line, non-table line or gap (a code block, a comment)."""
    for entry in lines:
        if entry.number != previous + 1 or not entry.text.strip():
            return
        if not _UNESCAPED_PIPE_RE.search(entry.text):
            return
        previous = entry.number
        yield entry.number, split_row(entry.text)


def split_row(text: str) -> tuple[str, ...]:
    """Cells of a table row; ``\\|`` is a pipe inside a cell, outer pipes are optional."""
    row = text.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return tuple(cell.replace("\\|", "|").strip() for cell in _UNESCAPED_PIPE_RE.split(row))


def is_delimiter_row(text: str) -> bool:
    if "|" not in text or "-" not in text:
        return False
    cells = split_row(text)
    return all(_DELIMITER_CELL_RE.match(cell) for cell in cells)


def column_name(cell: str) -> str:
    return " ".join(cell.strip("*_` ").split()).casefold()


def cell_at(cells: tuple[str, ...], column: int | None) -> str:
    if column is None or column >= len(cells):
        return ""
    return cells[column]


def heading_text(text: str) -> str:
    """Heading text without the optional closing ``#`` run (``# Title #`` -> ``Title``)."""
    text = text.strip()
    without_closing = text.rstrip("#")
    if without_closing != text and (not without_closing or without_closing[-1] in " \t"):
        return without_closing.strip()
    return text
