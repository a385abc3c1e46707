"""``.debussy/config.yaml``: models, discovery and validation.

Every key is declared; an unknown key is an error rather than silently ignored,
because a typo such as ``auto_colse`` would otherwise change behaviour without a
word. Secrets never live here: the file only names the environment variables
that hold them (``token_env``, ``email_env``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from debussy.config_snapshot import CONFIG_FILE as CONFIG_FILE  # these import no pydantic
from debussy.config_snapshot import STATE_DIR as STATE_DIR
from debussy.config_snapshot import find_project_root as find_project_root
from debussy.config_snapshot import is_loopback_host as is_loopback_host
from debussy.errors import ConfigError

MAX_CONFIG_BYTES = 256 * 1024

DEFAULT_GITHUB_API = "https://api.github.com"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_base_url(value: str) -> str:
    """Accept https anywhere and http only for loopback: tokens must not travel in clear."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as https://example.com")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError("plain http is only allowed for loopback hosts; use https")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    return value.rstrip("/")


def _check_env_name(value: str) -> str:
    if not value or not all(c.isalnum() or c == "_" for c in value) or value[0].isdigit():
        raise ValueError("must be the name of an environment variable, such as GITHUB_TOKEN")
    return value


class GitHubLabels(_Strict):
    """The ``debussy:*`` label Debussy puts on an issue for each phase status."""

    in_progress: str = "debussy:in-progress"
    completed: str = "debussy:completed"
    failed: str = "debussy:failed"
    blocked: str = "debussy:blocked"

    def all(self) -> tuple[str, ...]:
        return (self.in_progress, self.completed, self.failed, self.blocked)


class GitHubLabelColors(_Strict):
    """Colors (6 hex digits) used when Debussy creates its labels."""

    in_progress: str = "1d76db"
    completed: str = "0e8a16"
    failed: str = "d93f0b"
    blocked: str = "fbca04"

    @field_validator("*")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.lstrip("#").lower()
        if len(value) != 6 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("must be 6 hex digits such as 1d76db")
        return value


class GitHubConfig(_Strict):
    enabled: bool = True
    repo: str | None = Field(default=None, description="default repository for #N references")
    api_url: str = DEFAULT_GITHUB_API
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 -- the variable's name, not a token
    auto_close: bool = False
    labels: GitHubLabels = GitHubLabels()
    label_colors: GitHubLabelColors = GitHubLabelColors()

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        owner, sep, name = value.partition("/")
        if not sep or not owner or not name or "/" in name or " " in value:
            raise ValueError("must look like owner/name")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _check_base_url(value)

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str) -> str:
        return _check_env_name(value)

    @property
    def is_github_com(self) -> bool:
        return urlsplit(self.api_url).hostname == "api.github.com"

    @property
    def graphql_url(self) -> str:
        """``https://api.github.com/graphql``, or ``https://host/api/graphql`` on Enterprise."""
        if self.is_github_com:
            return f"{self.api_url}/graphql"
        base = self.api_url.removesuffix("/v3")
        return f"{base}/graphql"

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


class JiraTransitions(_Strict):
    """Target status *names* per phase status; ``null`` means "leave Jira alone"."""

    in_progress: str | None = "In Progress"
    completed: str | None = "Done"
    failed: str | None = None
    blocked: str | None = None
    pending: str | None = None


class JiraConfig(_Strict):
    enabled: bool = True
    url: str | None = None
    deployment: Literal["cloud", "server"] = "cloud"
    email_env: str = "JIRA_EMAIL"
    token_env: str = "JIRA_API_TOKEN"  # noqa: S105 -- the variable's name, not a token
    transitions: JiraTransitions = JiraTransitions()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_base_url(value)

    @field_validator("email_env", "token_env")
    @classmethod
    def _env_names(cls, value: str) -> str:
        return _check_env_name(value)

    @property
    def active(self) -> bool:
        """Enabled *and* pointed somewhere: only then is Jira ever contacted."""
        return self.enabled and self.url is not None

    @property
    def host(self) -> str:
        return urlsplit(self.url or "").netloc

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    def token(self) -> str | None:
        value = os.environ.get(self.token_env, "").strip()
        return value or None

    def email(self) -> str | None:
        value = os.environ.get(self.email_env, "").strip()
        return value or None


class CacheConfig(_Strict):
    ttl_seconds: int = Field(default=300, ge=0)


class Config(_Strict):
    github: GitHubConfig = GitHubConfig()
    jira: JiraConfig = JiraConfig(enabled=False)
    cache: CacheConfig = CacheConfig()


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'")
        elif error["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"'{key}': {message}")
    return f"{path}: " + "; ".join(problems)


def parse_config(text: str | bytes, path: Path) -> Config:
    """Validate config text; every problem names ``path`` and the offending key."""
    import yaml  # lazy: only commands that read config pay for it

    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: file is larger than {MAX_CONFIG_BYTES // 1024} KiB")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        data: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # The context mark points at the construct left open (an unclosed list);
        # the problem mark alone would often point at the end of the file.
        mark = exc.context_mark or exc.problem_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: malformed YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from exc
    except RecursionError as exc:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{path}: malformed YAML: nested too deeply") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from exc


def load_config(root: Path) -> Config:
    """Read ``root/.debussy/config.yaml``; a missing file means all defaults."""
    path = root / STATE_DIR / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_config(raw, path)
