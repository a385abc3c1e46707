"""The validated config, remembered: ``.debussy/config.snapshot.json`` and a light view of it.

Reading ``config.yaml`` costs a YAML parse and a pydantic validation, and merely
importing pydantic costs about 70 ms, half of what the warm ``status --issues``
may take in all (docs/PERFORMANCE.md). Yet the file rarely changes. So after pydantic
has validated it (``debussy.config.parse_config``) the result is written here as
JSON, keyed by the config file's ``(mtime_ns, size, inode)`` and by the same of
``debussy/config.py`` (the models; a release that adds a key or a default makes
old snapshots invalid). While both keys match, read-only commands get a
``ConfigView`` over that JSON: no YAML, no pydantic, no validation to repeat.
Any change to the file (or a damaged snapshot) means a miss: pydantic validates
the file again, every error is reported as before, and a new snapshot is written.

The snapshot holds exactly what ``Config.model_dump`` gives: the settings and the
*names* of environment variables, never a secret (tokens are read from the
environment when a client is built). It is written ``0600`` and atomically; a
snapshot that cannot be written is silently skipped (it is only a cache).

``ConfigView`` mirrors the pydantic models attribute for attribute, including
their computed members (``host``, ``web_host``, ``active``, ``browse_url``,
``labels.all()``, ...); ``tests/config/test_config_snapshot.py`` compares both for
every public member, so a member added to the models without its mirror fails
there. Every command reads its config through ``Project.config``: a view while
the snapshot holds, so the tracker clients, the write engine and ``sync`` read
settings from it as from the models, and only a changed file pays for pydantic
(about 90 ms a start with the YAML parse and the models).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
from pathlib import Path
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

STATE_DIR = ".debussy"
CONFIG_FILE = "config.yaml"
SNAPSHOT_FILE = "config.snapshot.json"
SNAPSHOT_FORMAT = 1

_MODELS_FILE = Path(__file__).with_name("config.py")


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.debussy/``, as git finds ``.git``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / STATE_DIR).is_dir():
            return folder
    return None


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, the only hosts allowed over http.

    Here rather than beside the models so that the HTTP layer can ask without
    building them (re-exported by ``debussy.config``).
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the snapshot file ------------------------------------------------------------------------


def fingerprint(config_path: Path) -> list[int | None]:
    """What must be unchanged for a snapshot to hold: the config file and the models' source.

    A missing config file is part of the key too (``None``s): all defaults.
    """
    return [*_stat_key(config_path), *_stat_key(_MODELS_FILE), SNAPSHOT_FORMAT]


def _stat_key(path: Path) -> tuple[int | None, int | None, int | None]:
    try:
        info = path.stat()
    except OSError:
        return (None, None, None)
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def read_snapshot(state_dir: Path, key: list[int | None]) -> dict[str, Any] | None:
    """The validated settings stored under ``key``, or None (absent, stale or unreadable)."""
    try:
        document = json.loads((state_dir / SNAPSHOT_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    document = cast(dict[str, Any], document)
    settings = document.get("config")
    if document.get("key") != key or not isinstance(settings, dict):
        return None
    return cast(dict[str, Any], settings)


def write_snapshot(state_dir: Path, key: list[int | None], settings: dict[str, Any]) -> None:
    """Store ``settings`` (``Config.model_dump(mode="json")``) under ``key``; never fails."""
    target = state_dir / SNAPSHOT_FILE
    temporary = state_dir / f".{SNAPSHOT_FILE}.{os.getpid()}.tmp"
    text = json.dumps({"key": key, "config": settings}, separators=(",", ":"))
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


# --- the view ---------------------------------------------------------------------------------


class _Section:
    """Attribute access over one mapping of validated settings; nested mappings are sections."""

    __slots__ = ("_sections", "settings")
    _nested: ClassVar[dict[str, type[_Section]]] = {}
    _raw: ClassVar[frozenset[str]] = frozenset()
    """Settings that are free-form mappings in the models (plain dicts, not sections)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self._sections: dict[str, _Section] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            value = self.settings[name]
        except KeyError:
            raise AttributeError(name) from None
        if not isinstance(value, dict) or name in self._raw:
            return value
        section = self._sections.get(name)  # ``config.github`` is read once per issue
        if section is None:
            kind = self._nested.get(name, _Section)
            section = self._sections[name] = kind(cast(dict[str, Any], value))
        return section

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Section) and other.settings == self.settings

    __hash__ = None  # type: ignore[assignment]  # mutable mapping inside, as the models are not


LABEL_STATUS_KEYS = ("in_progress", "completed", "failed", "blocked")
DEBUSSY_LABEL_PREFIX = "debussy:"
"""The phase statuses ``github.labels`` and ``github.label_colors`` are keyed by."""


class LabelsRules:
    """``labels.all()``: shared by the ``GitHubLabels`` model and its view."""

    __slots__ = ()
    in_progress: str
    completed: str
    failed: str
    blocked: str

    def all(self) -> tuple[str, ...]:
        return tuple(getattr(self, status) for status in LABEL_STATUS_KEYS)

    def owns(self, name: str) -> bool:
        """Labels Debussy owns: the configured ones and anything in the ``debussy:`` namespace.

        GitHub label names are case-insensitive (``Debussy:Completed`` *is* the configured
        label), so the comparison is too; drift detection, write plans and the client's
        label replacement all ask this one rule (``sync.expected.is_debussy_label``).
        """
        folded = name.casefold()
        return folded.startswith(DEBUSSY_LABEL_PREFIX) or any(
            folded == label.casefold() for label in self.all()
        )


class GitHubRules:
    """What follows from the ``github:`` settings; one home for the model and the view."""

    __slots__ = ()
    enabled: bool
    api_url: str
    token_env: str

    @property
    def active(self) -> bool:
        """Whether GitHub is contacted: enabled (its URL has a default), as ``JiraRules.active``."""
        return self.enabled

    @property
    def is_github_com(self) -> bool:
        return urlsplit(self.api_url).hostname == "api.github.com"

    @property
    def graphql_url(self) -> str:
        """``https://api.github.com/graphql``, or ``https://host/api/graphql`` on Enterprise."""
        if self.is_github_com:
            return f"{self.api_url}/graphql"
        return f"{self.api_url.removesuffix('/v3')}/graphql"

    @property
    def web_host(self) -> str:
        """The host of issue URLs: ``github.com``, or the Enterprise host itself."""
        if self.is_github_com:
            return "github.com"
        return urlsplit(self.api_url).netloc

    @property
    def host(self) -> str:
        """Cache namespace: the API host (with port, for loopback sandboxes)."""
        return urlsplit(self.api_url).netloc

    def token(self) -> str | None:
        """The token from ``token_env``, then ``GH_TOKEN``, then ``GITHUB_TOKEN``."""
        for name in (self.token_env, "GH_TOKEN", "GITHUB_TOKEN"):
            value = os.environ.get(name, "").strip()
            if value:
                return value
        return None


PHASE_STATUS_KEYS = ("in_progress", "completed", "failed", "blocked", "pending")
"""The phase statuses ``jira.transitions`` and ``jira.transition_fields`` are keyed by."""


class JiraRules:
    """What follows from the ``jira:`` settings; one home for the model and the view."""

    __slots__ = ()
    enabled: bool
    url: str | None
    api_url: str | None
    email_env: str
    token_env: str
    transitions: Any
    transition_fields: Any

    @property
    def api_base(self) -> str | None:
        """Where REST calls go: ``api_url`` when set (scoped tokens), else the site ``url``."""
        return self.api_url or self.url

    def fields_for(self, status_name: str) -> dict[str, Any]:
        """Fields to send with a transition to ``status_name`` (matched through ``transitions``).

        The write path only knows the target status name; the phase statuses that
        configure that name say which fields go with it.
        """
        wanted = status_name.strip().casefold()
        fields: dict[str, Any] = {}
        configured = _plain_mapping(self.transition_fields)
        for status in PHASE_STATUS_KEYS:
            target = getattr(self.transitions, status)
            if isinstance(target, str) and target.strip().casefold() == wanted:
                fields.update(configured.get(status, {}))
        return fields

    @property
    def active(self) -> bool:
        """Enabled *and* pointed somewhere: only then is Jira ever contacted."""
        return bool(self.enabled and self.url is not None)

    @property
    def host(self) -> str:
        return urlsplit(self.url or "").netloc

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    def token(self) -> str | None:
        return os.environ.get(self.token_env, "").strip() or None

    def email(self) -> str | None:
        return os.environ.get(self.email_env, "").strip() or None


def _plain_mapping(value: Any) -> dict[str, Any]:
    """A free-form mapping setting (a plain dict in the models and in the view)."""
    return cast(dict[str, Any], value)


class _LabelsView(LabelsRules, _Section):
    __slots__ = ()


class _GitHubView(GitHubRules, _Section):
    __slots__ = ()
    _nested: ClassVar[dict[str, type[_Section]]] = {"labels": _LabelsView}


class _JiraView(JiraRules, _Section):
    __slots__ = ()
    _raw: ClassVar[frozenset[str]] = frozenset({"transition_fields"})


class ConfigView(_Section):
    """A validated config read back from its snapshot; see the module docstring."""

    __slots__ = ()
    _nested: ClassVar[dict[str, type[_Section]]] = {"github": _GitHubView, "jira": _JiraView}
