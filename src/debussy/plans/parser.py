"""Master plans and phase files (README.md, "Link issues in your plan").

A master plan is markdown: a ``# Title``, ``**Key:** value`` header lines in its
preamble, and a phases table whose Title cells link the phase files. Phase files
carry the same header lines and/or YAML frontmatter. Issue references live in the
``GitHub Issues`` / ``Jira Issues`` headers (``github_issues`` / ``jira_issues`` in
frontmatter) and are resolved here, once, so nothing downstream ever sees a
bare ``#12``.

Every problem is a ``PlanError`` that names the file as the caller spelled it and
the line, because the person fixing it has the file open in an editor. Reading
the files as markdown (frontmatter, header lines, tables, links, with their line
numbers) is ``plans.markdown``'s job; this module gives what it reads a meaning.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from debussy.errors import MissingPhaseFileError, PlanError
from debussy.issues import GitHubRef, IssueRef
from debussy.plans.markdown import (
    HEADING_RE,
    LINK_RE,
    Document,
    Frontmatter,
    HeaderLine,
    Line,
    cell_at,
    column_name,
    heading_text,
    is_delimiter_row,
    split_row,
    table_rows,
)
from debussy.plans.markdown import header_lines as read_header_lines
from debussy.plans.refs import (
    GITHUB_COM,
    parse_github_refs,
    parse_github_repo,
    parse_jira_refs,
)

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

_PHASE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PHASE_PREFIX_RE = re.compile(r"^phase\s+", re.IGNORECASE)


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
    master = _read(resolved, str(path))
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


_DEBUSSY_KEYS = frozenset({_GITHUB_ISSUES, _JIRA_ISSUES, _GITHUB_REPO})
_DEBUSSY_WORDS = frozenset({"github", "gh", "jira"})


def _read(path: Path, shown: str) -> Document:
    """A plan file read as markdown, its frontmatter keys checked (see below)."""
    document = Document.read(path, shown)
    _check_frontmatter_keys(document.frontmatter, shown)
    return document


def _header_lines(region: Iterable[Line]) -> list[HeaderLine]:
    """Header lines; an issue header with no value takes the bullet list below it."""
    return read_header_lines(region, lambda key: normalize_key(key) in _ISSUE_KEYS)


def _check_frontmatter_keys(frontmatter: Frontmatter, shown: str) -> None:
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


# ------------------------------------------------------------------------ headers


def _headers(document: Document, region: Iterable[Line]) -> Headers:
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


def _reject_issue_headers(document: Document, region: Iterable[Line], after: str) -> None:
    """Issue headers outside the header region would be silently ignored: refuse them."""
    for header in _header_lines(region):
        if normalize_key(header.key) in _ISSUE_KEYS | {_GITHUB_REPO}:
            raise PlanError(
                f"{document.where(header.line)}: '**{header.key}:**' must be in the header "
                f"of the file, before {after}"
            )


def _declared_repo(document: Document, region: Iterable[Line], web_host: str) -> str | None:
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
    document: Document, region: Iterable[Line], settings: _IssueSettings
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


def _frontmatter_issues(document: Document, settings: _IssueSettings) -> Iterator[IssueRef]:
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
    document: Document, key: str, kind: str, value: object, line: int, settings: _IssueSettings
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


def _find_phase_table(document: Document) -> _Table:
    """The first table with Phase and Title columns."""
    lines = document.lines
    near_miss: tuple[int, tuple[str, ...]] | None = None
    for index in range(len(lines) - 1):
        header, delimiter = lines[index], lines[index + 1]
        if delimiter.number != header.number + 1 or not is_delimiter_row(delimiter.text):
            continue
        names = tuple(column_name(cell) for cell in split_row(header.text))
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
            rows=tuple(table_rows(lines[index + 2 :], delimiter.number)),
        )
    hint = "expected a table like '| Phase | Title | Status |' linking each phase file"
    if near_miss is not None:
        columns = ", ".join(near_miss[1])
        hint += f"; the table at line {near_miss[0]} has columns {columns}"
    raise PlanError(f"{document.shown}: no phases table: {hint}")


def _column(names: tuple[str, ...], wanted: frozenset[str]) -> int | None:
    return next((index for index, name in enumerate(names) if name in wanted), None)


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
    master: Document, table: _Table, folder: _PlanFolder, settings: _IssueSettings
) -> tuple[PhaseSpec, ...]:
    if not table.rows:
        raise PlanError(f"{master.where(table.header_line)}: the phases table has no phases")
    seen_ids: dict[str, int] = {}
    seen_files: dict[Path, int] = {}
    phases: list[PhaseSpec] = []
    for line, cells in table.rows:
        where = master.where(line)
        phase_id = _phase_id(cell_at(cells, table.phase_column), where)
        _check_unique(seen_ids, phase_id.casefold(), line, where, f"phase '{phase_id}'")
        title, target = _phase_link(cell_at(cells, table.title_column), where)
        file = _phase_file(folder, target, where)
        _check_unique(seen_files, file, line, where, f"phase file '{target}'")
        status = cell_at(cells, table.status_column) or None
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
    match = LINK_RE.search(cell)
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
        raise MissingPhaseFileError(
            f"{where}: phase file '{target}' does not exist (restore it, or remove its row "
            "from the phases table)"
        )
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
    document = _read(file, shown)
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


def _phase_header_region(document: Document) -> tuple[tuple[Line, ...], tuple[Line, ...]]:
    """A phase file's header is what precedes its first section heading (``##`` or deeper)."""
    for position, entry in enumerate(document.lines):
        heading = HEADING_RE.match(entry.text)
        if heading is not None and len(heading["level"]) >= 2:
            return document.lines[:position], document.lines[position:]
    return document.lines, ()


def _title(master: Document, headers: Headers, path: Path) -> str:
    """The first ``# `` heading; else a frontmatter ``title``; else the file name."""
    for entry in master.lines:
        heading = HEADING_RE.match(entry.text)
        if heading is not None and len(heading["level"]) == 1:
            text = heading_text(heading["text"] or "")
            if text:
                return text
    return headers.get("title") or path.stem
