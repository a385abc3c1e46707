"""Which GitHub repository a checkout belongs to, from its ``origin`` remote.

This is the last fallback for what ``#12`` means (after the plan's ``GitHub Repo``
and ``github.repo`` in config) and what ``debussy init`` proposes. It reads
``.git/config`` directly instead of running ``git``: no subprocess, no dependency
on git being installed, and nothing slow on the ``status`` path.

What is understood: ``.git`` folders and ``.git`` files (``gitdir:`` of worktrees
and submodules, with ``commondir`` for worktrees), ``[remote "origin"]`` with
quoting, escapes, comments and continuation lines, and ``url.<base>.insteadOf``
rewrites. ``include``/``includeIf`` files are not followed.

Which host it is: ``github.com`` is GitHub; well-known hosts that are not GitHub
(GitLab, Bitbucket, Azure DevOps, Codeberg, ...; also any host whose first label
starts with ``gitlab`` or ``bitbucket``, the usual self-hosted names) give no
repository; any other host is taken for GitHub Enterprise Server, whose API is
``https://HOST/api/v3`` (``*.ghe.com``: ``https://api.HOST``). A remote URL does
not say which software serves it, so this is a guess ``init`` prints for the
user to check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from debussy.plans.refs import is_repo_name

MAX_GIT_CONFIG_BYTES = 1024 * 1024

_SECTION_RE = re.compile(
    r'^\s*\[\s*(?P<section>[A-Za-z0-9.-]+)(?:\s+"(?P<sub>(?:[^"\\]|\\.)*)")?\s*\](?P<rest>.*)$'
)
_KEY_RE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9-]*)\s*(?:=(?P<value>.*))?$")
_SCP_LIKE_RE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^/:]+):(?P<path>.+)$")
_URL_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})
_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}

GitConfig = dict[tuple[str, str | None], dict[str, list[str]]]

GITHUB_HOSTS = frozenset({"github.com", "www.github.com", "ssh.github.com"})
NOT_GITHUB_HOSTS = frozenset(
    {
        "gitlab.com",
        "bitbucket.org",
        "codeberg.org",
        "dev.azure.com",
        "ssh.dev.azure.com",
        "vs-ssh.visualstudio.com",
        "git.sr.ht",
        "gitee.com",
        "salsa.debian.org",
        "git.code.sf.net",
    }
)
"""Hosts (and their subdomains) known to serve something other than GitHub."""
_NOT_GITHUB_LABELS = ("gitlab", "bitbucket", "gitea", "forgejo")
"""A first host label starting with one of these is a self-hosted non-GitHub forge."""

HostKind = Literal["github", "enterprise", "other"]


@dataclass(frozen=True, slots=True)
class Origin:
    """What the ``origin`` remote says: its host, what kind of host, and the repository."""

    host: str
    kind: HostKind
    repo: str | None
    """``owner/name``; None on a host that is not GitHub, or a URL without one."""

    @property
    def api_url(self) -> str | None:
        """The REST API of a GitHub Enterprise host; None for github.com and non-GitHub hosts."""
        if self.kind != "enterprise":
            return None
        if self.host.endswith(".ghe.com"):  # GitHub Enterprise Cloud with data residency
            return f"https://api.{self.host}"
        return f"https://{self.host}/api/v3"


def host_kind(host: str) -> HostKind:
    """github.com, a well-known non-GitHub host, or (anything else) GitHub Enterprise."""
    host = host.lower().rstrip(".")
    if host in GITHUB_HOSTS:
        return "github"
    if any(host == known or host.endswith(f".{known}") for known in NOT_GITHUB_HOSTS):
        return "other"
    if host.split(".", 1)[0].startswith(_NOT_GITHUB_LABELS):
        return "other"
    return "enterprise"


def origin_remote(start: Path) -> Origin | None:
    """The ``origin`` remote of the repository enclosing ``start``, or None without one."""
    config_path = find_git_config(start)
    if config_path is None:
        return None
    config = parse_git_config(_read_config(config_path))
    urls = config.get(("remote", "origin"), {}).get("url", [])
    if not urls:
        return None
    url = _apply_instead_of(urls[0], config)
    host = host_from_remote_url(url)
    if host is None:
        return None
    kind = host_kind(host)
    return Origin(host, kind, repo_from_remote_url(url) if kind != "other" else None)


def origin_repo(start: Path) -> str | None:
    """``owner/name`` of the ``origin`` remote of the repository enclosing ``start``.

    None when there is no repository, no ``origin``, its URL is not ``host/owner/name``
    (a local path, a GitLab subgroup), or its host is not GitHub (GitLab, Bitbucket...).
    """
    origin = origin_remote(start)
    return origin.repo if origin is not None else None


def host_from_remote_url(url: str) -> str | None:
    """The host of a remote URL (``https://h/...``, ``ssh://u@h:22/...``, ``u@h:path``)."""
    url = url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
            return None
        # The port of an https remote is the web port (kept); an ssh port is not the API's.
        https_port = port is not None and parts.scheme.lower() in ("https", "http")
        return f"{parts.hostname}:{port}" if https_port else parts.hostname
    scp = _SCP_LIKE_RE.match(url)
    return scp["host"].lower() if scp is not None else None


def repo_from_remote_url(url: str) -> str | None:
    """``owner/name`` from a remote URL in any of git's spellings, or None.

    Credentials in the URL (``https://x-access-token:...@github.com/...`` in CI
    checkouts) are never part of the answer.
    """
    url = url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
            return None
        path = parts.path
    else:
        scp = _SCP_LIKE_RE.match(url)
        if scp is None:
            return None
        path = scp["path"]
    repo = path.strip("/").removesuffix(".git")
    return repo if is_repo_name(repo) else None


def find_git_config(start: Path) -> Path | None:
    """The config file of the nearest repository at or above ``start``, as git finds it."""
    here = start.absolute()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return _config_in(dot_git)
        if dot_git.is_file():
            git_dir = _gitdir_from_file(dot_git)
            return _config_in(git_dir) if git_dir is not None else None
    return None


def _gitdir_from_file(dot_git: Path) -> Path | None:
    """The ``gitdir: path`` a ``.git`` file points at (worktrees, submodules)."""
    try:
        text = dot_git.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "gitdir" and value.strip():
            return (dot_git.parent / value.strip()).resolve()
    return None


def _config_in(git_dir: Path) -> Path | None:
    """``config`` of a git dir; a worktree's lives in the ``commondir`` it names."""
    commondir = git_dir / "commondir"
    if commondir.is_file():
        try:
            common = commondir.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            common = ""
        if common:
            git_dir = (git_dir / common).resolve()
    config = git_dir / "config"
    return config if config.is_file() else None


def _read_config(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_GIT_CONFIG_BYTES)
    except OSError:
        return ""
    return raw.decode("utf-8", errors="replace")


def parse_git_config(text: str) -> GitConfig:
    """Sections keyed ``(section, subsection)``; keys lower-cased; values in file order.

    Section and key names are case-insensitive in git, subsections are not.
    ``[remote.origin]`` (the old spelling) means ``[remote "origin"]``.
    """
    config: GitConfig = {}
    current: dict[str, list[str]] | None = None
    lines = _join_continuations(text)
    for line in lines:
        section = _SECTION_RE.match(line)
        if section is not None:
            current = config.setdefault(_section_key(section["section"], section["sub"]), {})
            line = section["rest"]
        if current is None:
            continue
        entry = _KEY_RE.match(line)
        if entry is None:
            continue
        value = "true" if entry["value"] is None else _config_value(entry["value"])
        current.setdefault(entry["key"].lower(), []).append(value)
    return config


def _section_key(name: str, sub: str | None) -> tuple[str, str | None]:
    if sub is not None:
        return name.lower(), re.sub(r"\\(.)", r"\1", sub)
    head, dot, tail = name.partition(".")
    return (head.lower(), tail.lower()) if dot else (name.lower(), None)


def _join_continuations(text: str) -> list[str]:
    """Physical lines joined where a value ends in an unescaped backslash."""
    joined: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.rstrip()
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        if trailing % 2 == 1:
            pending += stripped[:-1]
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    return joined


def _config_value(raw: str) -> str:
    """A value with quotes removed, escapes applied and a trailing ``#``/``;`` comment dropped."""
    out: list[str] = []
    quoted = False
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            out.append(_ESCAPES.get(raw[index + 1], raw[index + 1]))
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            out.append(char)
        index += 1
    return "".join(out).strip()


def _apply_instead_of(url: str, config: GitConfig) -> str:
    """Apply the longest matching ``url.<base>.insteadOf`` prefix, as git does."""
    best: tuple[int, str, str] | None = None  # (length, prefix, base)
    for (section, base), values in config.items():
        if section != "url" or base is None:
            continue
        for prefix in values.get("insteadof", []):
            if prefix and url.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), prefix, base)
    if best is None:
        return url
    return best[2] + url[best[0] :]
