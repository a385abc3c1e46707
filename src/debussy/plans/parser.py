"""Master plans and phase files (PRODUCT.md §2).

A master plan is markdown: a ``# Title``, ``**Key:** value`` header lines in its
preamble, and a phases table whose Title cells link the phase files. Phase files
carry the same header lines and/or YAML frontmatter. Issue references live in the
``GitHub Issues`` / ``Jira Issues`` headers (``github_issues`` / ``jira_issues`` in
frontmatter) and are resolved here, once, so nothing downstream ever sees a
bare ``#12``.

Every problem is a ``PlanError`` that names the file as the caller spelled it and
the line, because the person fixing it has the file open in an editor.
Only the plan files are read, each at most ``MAX_PLAN_BYTES``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from debussy.errors import PlanError
from debussy.issues import GitHubRef, IssueRef
from debussy.plans.refs import (
    GITHUB_COM,
    parse_github_refs,
    parse_github_repo,
    parse_jira_refs,
)

MAX_PLAN_BYTES = 5 * 1024 * 1024

_GITHUB_ISSUES = "github issues"
_JIRA_ISSUES = "jira issues"
_GITHUB_REPO = "github repo"
# Singular and long spellings people use for the same three headers.
_KEY_ALIASES = {
    "github issue": _GITHUB_ISSUES,
    "jira issue": _JIRA_ISSUES,
    "github repository": _GITHUB_REPO,
}
_ISSUE_KEYS = frozenset({_GITHUB_ISSUES, _JIRA_ISSUES})

_PHASE_COLUMNS = frozenset({"phase", "phase #", "phase id"})
_TITLE_COLUMNS = frozenset({"title", "phase title"})
_STATUS_COLUMNS = frozenset({"status", "state"})

# Values are captured whole and trimmed in Python: lazy groups before ``\s*$`` go
# quadratic on long whitespace runs, and a plan file may be 5 MB.
_HEADER_RE = re.compile(
    r"^ {0,3}(?:[-*+] +)?\*\*(?P<key>[^*\n]+?)(?::\*\*|\*\*[ \t]*:)(?P<value>.*)$"
)
_BULLET_RE = re.compile(r"^ {0,3}[-*+] +(?P<item>.*)$")
_HEADING_RE = re.compile(r"^ {0,3}(?P<level>#{1,6})(?:[ \t]+(?P<text>.*))?$")
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_DELIMITER_CELL_RE = re.compile(r"^\s*:?-+:?\s*$")
_UNESCAPED_PIPE_RE = re.compile(r"(?<!\\)\|")
_LINK_RE = re.compile(
    r"(?<!!)\[(?P<text>(?:[^\[\]\\]|\\.)*)\]\(\s*(?P<target><[^<>\n]*>|[^\s()]+)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_PHASE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PHASE_PREFIX_RE = re.compile(r"^phase\s+", re.IGNORECASE)
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_FRONTMATTER_END = ("---", "...")


# --------------------------------------------------------------------------- model


def normalize_key(key: str) -> str:
    """Lookup form of a header key: ``GitHub Issues`` and ``github_issues`` are one key."""
    words = key.replace("_", " ").replace("-", " ").split()
    normalized = " ".join(words).casefold()
    return _KEY_ALIASES.get(normalized, normalized)


class Headers(Mapping[str, str]):
    """Read-only header values, looked up case- and separator-insensitively.

    Iteration yields the keys as the file spelled them, so messages and ``--json``
    can show what the author wrote.
    """

    __slots__ = ("_by_key", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = {}
        self._by_key: dict[str, str] = {}
        for key, value in items:
            normalized = normalize_key(key)
            if normalized not in self._by_key:  # the first occurrence wins
                self._by_key[normalized] = key
                self._items[key] = value

    def __getitem__(self, key: str) -> str:
        return self._items[self._by_key[normalize_key(key)]]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and normalize_key(key) in self._by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._items == other._items
        return NotImplemented

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One row of the phases table, with what its phase file says."""

    id: str
    title: str
    file: Path | None
    table_status: str | None
    headers: Mapping[str, str]
    issues: tuple[IssueRef, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A master plan with its phases and every issue reference resolved."""

    path: Path
    title: str
    headers: Mapping[str, str]
    github_repo: str | None
    issues: tuple[IssueRef, ...]
    phases: tuple[PhaseSpec, ...]

    def all_issues(self) -> tuple[IssueRef, ...]:
        """Plan-level then phase-level issues, each issue once."""
        return _unique([*self.issues, *(ref for phase in self.phases for ref in phase.issues)])

    def phase(self, phase_id: str) -> PhaseSpec:
        """The phase called ``phase_id`` (``"2"``, ``"Phase 2"``; ``3A`` finds ``3a``)."""
        wanted = _PHASE_PREFIX_RE.sub("", phase_id.strip())
        for phase in self.phases:
            if phase.id == wanted:
                return phase
        for phase in self.phases:
            if phase.id.casefold() == wanted.casefold():
                return phase
        known = ", ".join(phase.id for phase in self.phases)
        raise PlanError(f"{self.path}: no phase '{phase_id}' in this plan (phases: {known})")


# ----------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class _IssueSettings:
    """How references resolve: the repository for ``#N`` and the accepted hosts."""

    repo: str | None
    web_host: str
    jira_hosts: Collection[str]


def load_plan(
    path: Path,
    *,
    default_repo: str | None = None,
    github_web_host: str = GITHUB_COM,
    jira_hosts: Collection[str] = (),
) -> Plan:
    """Read a master plan and its phase files.

    ``default_repo`` is what ``#N`` means when the plan names no ``GitHub Repo``
    (the caller passes ``github.repo`` from config, else ``origin_repo()``).
    ``github_web_host`` is the Enterprise host whose issue URLs are accepted
    besides github.com; ``jira_hosts``, if given, the only hosts Jira URLs may use.
    """
    resolved = _resolve_master(path)
    master = _Document.read(resolved, str(path))
    table = _find_phase_table(master)
    header_region = master.lines_before(table.header_line)
    headers = _headers(master, header_region)
    plan_repo = _declared_repo(master, header_region, github_web_host) or default_repo
    settings = _IssueSettings(plan_repo, github_web_host, tuple(jira_hosts))
    issues = _issues(master, header_region, settings)
    _reject_issue_headers(
        master,
        master.lines_after(table.header_line),
        "the phases table (a phase's issues go in its phase file)",
    )
    folder = _PlanFolder(real=path.absolute().parent.resolve(), shown=path.parent, master=resolved)
    phases = _phases(master, table, folder, settings)
    return Plan(
        path=resolved,
        title=_title(master, headers, path),
        headers=headers,
        github_repo=plan_repo,
        issues=issues,
        phases=phases,
    )


def _resolve_master(path: Path) -> Path:
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except (OSError, RuntimeError) as exc:
        raise PlanError(f"{path}: cannot open the plan file: {exc}") from exc
    if not resolved.is_file():
        raise PlanError(
            f"{path}: not a plan file (expected a markdown file such as MASTER_PLAN.md)"
        )
    return resolved


# ---------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class _Line:
    number: int  # 1-based, as editors count
    text: str


@dataclass(frozen=True, slots=True)
class _Frontmatter:
    values: Mapping[str, Any]
    key_lines: Mapping[str, int]  # top-level key -> line of the key in the file
    item_lines: Mapping[str, tuple[int, ...]]  # top-level key -> lines of its list items


@dataclass(frozen=True, slots=True)
class _Document:
    """One plan file: its frontmatter and the markdown lines outside code and comments."""

    shown: str
    frontmatter: _Frontmatter
    lines: tuple[_Line, ...]

    @classmethod
    def read(cls, path: Path, shown: str) -> _Document:
        all_lines = _LINE_BREAK_RE.split(_read_text(path, shown))
        frontmatter, body_start = _split_frontmatter(all_lines, shown)
        _check_frontmatter_keys(frontmatter, shown)
        lines = tuple(_markdown_lines(all_lines, body_start))
        return cls(shown=shown, frontmatter=frontmatter, lines=lines)

    def where(self, line: int) -> str:
        return f"{self.shown}:{line}"

    def lines_before(self, line: int) -> tuple[_Line, ...]:
        return tuple(entry for entry in self.lines if entry.number < line)

    def lines_after(self, line: int) -> tuple[_Line, ...]:
        return tuple(entry for entry in self.lines if entry.number > line)


_DEBUSSY_KEYS = frozenset({_GITHUB_ISSUES, _JIRA_ISSUES, _GITHUB_REPO})
_DEBUSSY_WORDS = frozenset({"github", "gh", "jira"})


def _check_frontmatter_keys(frontmatter: _Frontmatter, shown: str) -> None:
    """A misspelt Debussy key (``github_isues``) would silently link nothing: refuse it.

    Debussy owns the keys that name GitHub or Jira, or are one typo away from its
    own; other keys (``owner``, ``status``, ``phase``) are the author's metadata and
    stay free, as ``**Owner:**`` header lines are.
    """
    import difflib

    known = sorted(_DEBUSSY_KEYS)
    for key, line in frontmatter.key_lines.items():
        normalized = normalize_key(key)
        if normalized in _DEBUSSY_KEYS:
            continue
        close = difflib.get_close_matches(normalized, known, n=1, cutoff=0.8)
        if close or _DEBUSSY_WORDS & set(normalized.split()):
            hint = f"did you mean '{close[0].replace(' ', '_')}'? " if close else ""
            raise PlanError(
                f"{shown}:{line}: unknown frontmatter key '{key}' ({hint}known: "
                "github_issues, jira_issues, github_repo)"
            )


def _read_text(path: Path, shown: str) -> str:
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


def _split_frontmatter(lines: list[str], shown: str) -> tuple[_Frontmatter, int]:
    """YAML between a first-line ``---`` and the next ``---``/``...``; where markdown starts."""
    empty = _Frontmatter({}, {}, {})
    if not lines or lines[0].rstrip() != "---":
        return empty, 0
    for index in range(1, len(lines)):
        if lines[index].rstrip() in _FRONTMATTER_END:
            return _load_frontmatter("\n".join(lines[1:index]), shown), index + 1
    raise PlanError(f"{shown}:1: frontmatter is not closed: add a '---' line after it")


def _load_frontmatter(text: str, shown: str) -> _Frontmatter:
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
        return _Frontmatter({}, {}, {})
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise PlanError(f"{shown}:2: frontmatter must be a mapping of 'key: value' lines")
    return _Frontmatter(
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


def _markdown_lines(lines: list[str], start: int) -> Iterator[_Line]:
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
        yield _Line(index + 1, text)


# ------------------------------------------------------------------------ headers


@dataclass(frozen=True, slots=True)
class _Header:
    key: str
    value: str
    line: int


def _header_lines(region: Iterable[_Line]) -> list[_Header]:
    """``**Key:** value`` lines; an issue header with no value takes the bullet list below it.

    The list ends at the first line that is not a bullet, or at a blank line once
    an item was seen, so an unrelated list further down is never read as issues.
    """
    found: list[_Header] = []
    list_key: str | None = None  # an issue header whose references follow as bullets
    items_seen = False
    for entry in region:
        match = _HEADER_RE.match(entry.text)
        if match is not None:
            key, value = match["key"].strip(), _trim_value(match["value"])
            found.append(_Header(key, value, entry.number))
            list_key = key if normalize_key(key) in _ISSUE_KEYS and not value else None
            items_seen = False
            continue
        if list_key is None:
            continue
        bullet = _BULLET_RE.match(entry.text)
        if bullet is not None:
            found.append(_Header(list_key, _trim_value(bullet["item"]), entry.number))
            items_seen = True
        elif entry.text.strip() or items_seen:
            list_key = None
    return found


def _trim_value(value: str) -> str:
    """Drop surrounding blanks and a trailing markdown hard break (two spaces or ``\\``)."""
    return value.strip().removesuffix("\\").rstrip()


def _headers(document: _Document, region: Iterable[_Line]) -> Headers:
    """Frontmatter scalars then header lines; the first spelling of a key wins.

    Issue headers are the exception: all their lines are joined, so the value
    shows every reference linked (bullet lists and repeated lines included).
    """
    items: list[tuple[str, str]] = [
        (key, _scalar_text(value))
        for key, value in document.frontmatter.values.items()
        if _is_scalar(value)
    ]
    issue_values: dict[str, list[str]] = {}
    for header in _header_lines(region):
        if not header.value:
            continue
        normalized = normalize_key(header.key)
        if normalized in _ISSUE_KEYS:
            issue_values.setdefault(normalized, []).append(header.value)
            if len(issue_values[normalized]) > 1:
                continue
        items.append((header.key, header.value))
    joined = {key: ", ".join(values) for key, values in issue_values.items()}
    return Headers((key, joined.get(normalize_key(key), value)) for key, value in items)


def _is_scalar(value: object) -> bool:
    return not isinstance(value, list | dict | set | tuple)


def _scalar_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reject_issue_headers(document: _Document, region: Iterable[_Line], after: str) -> None:
    """Issue headers outside the header region would be silently ignored: refuse them."""
    for header in _header_lines(region):
        if normalize_key(header.key) in _ISSUE_KEYS | {_GITHUB_REPO}:
            raise PlanError(
                f"{document.where(header.line)}: '**{header.key}:**' must be in the header "
                f"of the file, before {after}"
            )


def _declared_repo(document: _Document, region: Iterable[_Line], web_host: str) -> str | None:
    """The ``GitHub Repo`` of this file (frontmatter or header line), if it names one."""
    declared: tuple[str, str] | None = None  # (repo, where)
    for key, value in document.frontmatter.values.items():
        if normalize_key(key) == _GITHUB_REPO and value is not None:
            where = document.where(document.frontmatter.key_lines[key])
            if not isinstance(value, str):
                raise PlanError(f"{where}: '{key}' must be a string such as octo/app")
            declared = (parse_github_repo(value, web_host=web_host, where=where), where)
    for header in _header_lines(region):
        if normalize_key(header.key) != _GITHUB_REPO or not header.value:
            continue
        where = document.where(header.line)
        repo = parse_github_repo(header.value, web_host=web_host, where=where)
        if declared is not None and declared[0].lower() != repo.lower():
            raise PlanError(
                f"{where}: GitHub Repo '{repo}' contradicts '{declared[0]}' at {declared[1]}"
            )
        declared = declared or (repo, where)
    return declared[0] if declared else None


# ------------------------------------------------------------------------- issues


def _issues(
    document: _Document, region: Iterable[_Line], settings: _IssueSettings
) -> tuple[IssueRef, ...]:
    """Frontmatter references then header references, in document order, each once."""
    refs: list[IssueRef] = list(_frontmatter_issues(document, settings))
    for header in _header_lines(region):
        key = normalize_key(header.key)
        where = document.where(header.line)
        if key == _GITHUB_ISSUES:
            refs.extend(_github_text(header.value, settings, where))
        elif key == _JIRA_ISSUES:
            refs.extend(parse_jira_refs(header.value, where=where, hosts=settings.jira_hosts))
    return _unique(refs)


def _frontmatter_issues(document: _Document, settings: _IssueSettings) -> Iterator[IssueRef]:
    frontmatter = document.frontmatter
    for key, value in frontmatter.values.items():
        kind = normalize_key(key)
        if kind not in _ISSUE_KEYS or value is None:
            continue
        key_line = frontmatter.key_lines[key]
        if isinstance(value, list):
            item_lines = frontmatter.item_lines.get(key, ())
            for index, item in enumerate(value):
                line = item_lines[index] if index < len(item_lines) else key_line
                yield from _frontmatter_value(document, key, kind, item, line, settings)
        else:
            yield from _frontmatter_value(document, key, kind, value, key_line, settings)


def _frontmatter_value(
    document: _Document, key: str, kind: str, value: object, line: int, settings: _IssueSettings
) -> list[IssueRef]:
    where = document.where(line)
    if kind == _GITHUB_ISSUES:
        if isinstance(value, int) and not isinstance(value, bool):
            return list(_github_text(f"#{value}", settings, where))
        if isinstance(value, str):
            return list(_github_text(value, settings, where))
        expected = "issue numbers or references such as 12, '#12', 'octo/app#12'"
    else:
        if isinstance(value, str):
            return list(parse_jira_refs(value, where=where, hosts=settings.jira_hosts))
        expected = "Jira keys such as PROJ-12"
    shown = type(value).__name__
    raise PlanError(f"{where}: '{key}' must list {expected}, not a {shown} ({value!r:.60})")


def _github_text(text: str, settings: _IssueSettings, where: str) -> list[GitHubRef]:
    return parse_github_refs(
        text, default_repo=settings.repo, web_host=settings.web_host, where=where
    )


def _unique(refs: Iterable[IssueRef]) -> tuple[IssueRef, ...]:
    """First occurrence of each issue (GitHub repos compare case-insensitively)."""
    return tuple(dict.fromkeys(refs))


# ------------------------------------------------------------------- phases table


@dataclass(frozen=True, slots=True)
class _Table:
    header_line: int
    phase_column: int
    title_column: int
    status_column: int | None
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line, cells)


def _find_phase_table(document: _Document) -> _Table:
    """The first table with Phase and Title columns."""
    lines = document.lines
    near_miss: tuple[int, tuple[str, ...]] | None = None
    for index in range(len(lines) - 1):
        header, delimiter = lines[index], lines[index + 1]
        if delimiter.number != header.number + 1 or not _is_delimiter_row(delimiter.text):
            continue
        names = tuple(_column_name(cell) for cell in _split_row(header.text))
        phase = _column(names, _PHASE_COLUMNS)
        title = _column(names, _TITLE_COLUMNS)
        if phase is None or title is None:
            near_miss = near_miss or (header.number, names)
            continue
        return _Table(
            header_line=header.number,
            phase_column=phase,
            title_column=title,
            status_column=_column(names, _STATUS_COLUMNS),
            rows=tuple(_table_rows(lines[index + 2 :], delimiter.number)),
        )
    hint = "expected a table like '| Phase | Title | Status |' linking each phase file"
    if near_miss is not None:
        columns = ", ".join(near_miss[1])
        hint += f"; the table at line {near_miss[0]} has columns {columns}"
    raise PlanError(f"{document.shown}: no phases table: {hint}")


def _table_rows(lines: Iterable[_Line], previous: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Rows up to the first blank line, non-table line or gap (a code block, a comment)."""
    for entry in lines:
        if entry.number != previous + 1 or not entry.text.strip():
            return
        if not _UNESCAPED_PIPE_RE.search(entry.text):
            return
        previous = entry.number
        yield entry.number, _split_row(entry.text)


def _split_row(text: str) -> tuple[str, ...]:
    """Cells of a table row; ``\\|`` is a pipe inside a cell, outer pipes are optional."""
    row = text.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return tuple(cell.replace("\\|", "|").strip() for cell in _UNESCAPED_PIPE_RE.split(row))


def _is_delimiter_row(text: str) -> bool:
    if "|" not in text or "-" not in text:
        return False
    cells = _split_row(text)
    return all(_DELIMITER_CELL_RE.match(cell) for cell in cells)


def _column_name(cell: str) -> str:
    return " ".join(cell.strip("*_` ").split()).casefold()


def _column(names: tuple[str, ...], wanted: frozenset[str]) -> int | None:
    return next((index for index, name in enumerate(names) if name in wanted), None)


def _cell(cells: tuple[str, ...], column: int | None) -> str:
    if column is None or column >= len(cells):
        return ""
    return cells[column]


@dataclass(frozen=True, slots=True)
class _PlanFolder:
    """The folder phase links are relative to, and may not leave.

    ``real`` is resolved (symlinks followed) for containment checks; ``shown`` is
    how the caller spelled it, for messages; ``master`` is the resolved master plan.
    """

    real: Path
    shown: Path
    master: Path


def _phases(
    master: _Document, table: _Table, folder: _PlanFolder, settings: _IssueSettings
) -> tuple[PhaseSpec, ...]:
    if not table.rows:
        raise PlanError(f"{master.where(table.header_line)}: the phases table has no phases")
    seen_ids: dict[str, int] = {}
    seen_files: dict[Path, int] = {}
    phases: list[PhaseSpec] = []
    for line, cells in table.rows:
        where = master.where(line)
        phase_id = _phase_id(_cell(cells, table.phase_column), where)
        _check_unique(seen_ids, phase_id.casefold(), line, where, f"phase '{phase_id}'")
        title, target = _phase_link(_cell(cells, table.title_column), where)
        file = _phase_file(folder, target, where)
        _check_unique(seen_files, file, line, where, f"phase file '{target}'")
        status = _cell(cells, table.status_column) or None
        shown = str(folder.shown / file.relative_to(folder.real))
        phases.append(_load_phase(phase_id, title, file, shown, status, line, settings))
    return tuple(phases)


def _check_unique(seen: dict[Any, int], key: object, line: int, where: str, what: str) -> None:
    first = seen.setdefault(key, line)
    if first != line:
        raise PlanError(f"{where}: {what} is already listed at line {first}")


def _phase_id(cell: str, where: str) -> str:
    """``1``, ``3a``, ``2.1``; ``Phase 2`` and ``**2**`` mean ``2``."""
    text = _PHASE_PREFIX_RE.sub("", cell.strip("*_` ").strip())
    if not _PHASE_ID_RE.fullmatch(text):
        shown = cell or "(empty)"
        raise PlanError(
            f"{where}: bad phase id '{shown}' (use 1, 2, 3a, 2.1 or 'Phase 2' in the Phase column)"
        )
    return text


def _phase_link(cell: str, where: str) -> tuple[str, str]:
    """Link text and target of the Title cell's ``[Title](phase-1.md)``."""
    match = _LINK_RE.search(cell)
    if match is None:
        shown = cell or "(empty)"
        raise PlanError(
            f"{where}: the Title cell '{shown}' does not link a phase file; "
            "write it as [Title](phases/phase-1.md)"
        )
    title = re.sub(r"\\(.)", r"\1", match["text"]).strip()
    return title, match["target"].removeprefix("<").removesuffix(">")


def _phase_file(folder: _PlanFolder, target: str, where: str) -> Path:
    """The linked file, which must exist inside the plan folder and not be the master plan."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        raise PlanError(
            f"{where}: phase link '{target}' is a URL; link a file inside the plan folder"
        )
    relative = unquote(parts.path)
    if not relative:
        raise PlanError(f"{where}: phase link '{target}' points at the master plan itself")
    if relative.startswith(("/", "\\")) or Path(relative).is_absolute():
        raise PlanError(
            f"{where}: phase link '{target}' is an absolute path; "
            "phase files must be inside the plan folder"
        )
    try:
        resolved = (folder.real / relative).resolve()
    except (OSError, RuntimeError) as exc:
        raise PlanError(f"{where}: phase link '{target}' cannot be resolved: {exc}") from exc
    if not resolved.is_relative_to(folder.real):
        raise PlanError(
            f"{where}: phase link '{target}' leads outside the plan folder; "
            "phase files must be inside it"
        )
    if resolved == folder.master:
        raise PlanError(f"{where}: phase link '{target}' points at the master plan itself")
    if not resolved.exists():
        raise PlanError(f"{where}: phase file '{target}' does not exist")
    if not resolved.is_file():
        raise PlanError(f"{where}: phase link '{target}' is not a file")
    return resolved


def _load_phase(
    phase_id: str,
    title: str,
    file: Path,
    shown: str,
    status: str | None,
    line: int,
    plan_settings: _IssueSettings,
) -> PhaseSpec:
    """Headers and issues of one phase file; its own ``GitHub Repo`` applies to its ``#N``."""
    document = _Document.read(file, shown)
    region, rest = _phase_header_region(document)
    repo = _declared_repo(document, region, plan_settings.web_host) or plan_settings.repo
    settings = _IssueSettings(repo, plan_settings.web_host, plan_settings.jira_hosts)
    issues = _issues(document, region, settings)
    _reject_issue_headers(document, rest, "the first '## ' section")
    return PhaseSpec(
        id=phase_id,
        title=title,
        file=file,
        table_status=status,
        headers=_headers(document, region),
        issues=issues,
        line=line,
    )


def _phase_header_region(document: _Document) -> tuple[tuple[_Line, ...], tuple[_Line, ...]]:
    """A phase file's header is what precedes its first section heading (``##`` or deeper)."""
    for position, entry in enumerate(document.lines):
        heading = _HEADING_RE.match(entry.text)
        if heading is not None and len(heading["level"]) >= 2:
            return document.lines[:position], document.lines[position:]
    return document.lines, ()


def _title(master: _Document, headers: Headers, path: Path) -> str:
    """The first ``# `` heading; else a frontmatter ``title``; else the file name."""
    for entry in master.lines:
        heading = _HEADING_RE.match(entry.text)
        if heading is not None and len(heading["level"]) == 1:
            text = _heading_text(heading["text"] or "")
            if text:
                return text
    return headers.get("title") or path.stem


def _heading_text(text: str) -> str:
    """Heading text without the optional closing ``#`` run (``# Title #`` -> ``Title``)."""
    text = text.strip()
    without_closing = text.rstrip("#")
    if without_closing != text and (not without_closing or without_closing[-1] in " \t"):
        return without_closing.strip()
    return text
