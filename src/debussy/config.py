"""``.debussy/config.yaml``: models, discovery and validation.

Every key is declared; an unknown key is an error rather than silently ignored,
because a typo such as ``auto_colse`` would otherwise change behaviour without a
word. Secrets never live here: the file only names the environment variables
that hold them (``token_env``, ``email_env``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from debussy.config_snapshot import CONFIG_FILE as CONFIG_FILE  # these import no pydantic
from debussy.config_snapshot import PHASE_STATUS_KEYS, GitHubRules, JiraRules, LabelsRules
from debussy.config_snapshot import STATE_DIR as STATE_DIR
from debussy.config_snapshot import find_project_root as find_project_root
from debussy.config_snapshot import is_loopback_host as is_loopback_host
from debussy.errors import ConfigError
from debussy.issues import is_repo_name

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


class GitHubLabels(LabelsRules, _Strict):
    """The ``debussy:*`` label Debussy puts on an issue for each phase status."""

    in_progress: str = "debussy:in-progress"
    completed: str = "debussy:completed"
    failed: str = "debussy:failed"
    blocked: str = "debussy:blocked"

    @field_validator("*")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: GitHub labels need a name")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> GitHubLabels:
        """One label per status: otherwise a completed phase would read as in progress."""
        seen: dict[str, str] = {}
        for status, name in self.model_dump().items():
            other = seen.setdefault(str(name).casefold(), status)
            if other != status:
                raise ValueError(
                    f"'{name}' is used for both {other} and {status}; "
                    "each status needs its own label"
                )
        return self


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


class GitHubConfig(GitHubRules, _Strict):
    enabled: bool = True
    repo: str | None = Field(default=None, description="default repository for #N references")
    api_url: str = DEFAULT_GITHUB_API
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 -- the variable's name, not a token
    auto_close: bool = False
    sub_issues: bool = False
    """Phase issues become sub-issues of the plan issue (PRODUCT.md §7 "Structure")."""
    write_interval_seconds: float | None = Field(default=None, ge=0, le=60)
    """Pause between two mutating requests; ``None`` is GitHub's documented one second.

    0 suits only a tracker without secondary rate limits: the sandbox, or a GitHub
    Enterprise Server whose administrator turned rate limiting off.
    """
    labels: GitHubLabels = GitHubLabels()
    label_colors: GitHubLabelColors = GitHubLabelColors()

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_repo_name(value):
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


class JiraTransitions(_Strict):
    """Target status *names* per phase status; ``null`` means "leave Jira alone"."""

    in_progress: str | None = "In Progress"
    completed: str | None = "Done"
    failed: str | None = None
    blocked: str | None = None
    pending: str | None = None


TransitionFields = dict[str, dict[str, Any]]


class JiraConfig(JiraRules, _Strict):
    enabled: bool = True
    url: str | None = None
    api_url: str | None = Field(
        default=None,
        description="where API calls go when not the site url: the Atlassian gateway "
        "https://api.atlassian.com/ex/jira/{cloudId} for scoped API tokens",
    )
    deployment: Literal["cloud", "server"] = "cloud"
    email_env: str = "JIRA_EMAIL"
    token_env: str = "JIRA_API_TOKEN"  # noqa: S105 -- the variable's name, not a token
    transitions: JiraTransitions = JiraTransitions()
    transition_fields: TransitionFields = Field(
        default_factory=TransitionFields,
        description="fields sent with a transition, per phase status: "
        "{completed: {resolution: Done}}",
    )

    @field_validator("url", "api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_base_url(value)

    @field_validator("transition_fields")
    @classmethod
    def _transition_fields(cls, value: TransitionFields) -> TransitionFields:
        for status, fields in value.items():
            if status not in PHASE_STATUS_KEYS:
                raise ValueError(
                    f"'{status}' is not a phase status (use {', '.join(PHASE_STATUS_KEYS)})"
                )
            for name in fields:
                if not name.strip():
                    raise ValueError(f"an empty field name under '{status}'")
        return value

    @field_validator("email_env", "token_env")
    @classmethod
    def _env_names(cls, value: str) -> str:
        return _check_env_name(value)


class CacheConfig(_Strict):
    ttl_seconds: int = Field(default=300, ge=0, strict=True)
    """Strict: YAML's ``true`` would otherwise be read as a TTL of one second."""


class Config(_Strict):
    github: GitHubConfig = GitHubConfig()
    jira: JiraConfig = JiraConfig(enabled=False)
    cache: CacheConfig = CacheConfig()


_PLAIN_WORDS = {
    "model_type": "must be a group of settings (key: value lines below it)",
    "model_attributes_type": "must be a group of settings (key: value lines below it)",
    "dict_type": "must be a group of settings (key: value lines below it)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "greater_than_equal": "must be 0 or more",
}
"""pydantic's wording for common mistakes, in the words of a config file."""


def _plain(error: Any) -> str:
    """One problem in plain words: no Python class names ("instance of GitHubConfig")."""
    kind = str(error["type"])
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}".replace(" or ", ", ")
    if kind in _PLAIN_WORDS:
        return _PLAIN_WORDS[kind]
    return str(error["msg"]).removeprefix("Value error, ")


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors():
        # A dict key's own check (transition_fields) adds "[key]" parts; keep the real keys.
        key = ".".join(str(part) for part in error["loc"] if part != "[key]") or "(top level)"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key '{key}'")
        elif error["type"] == "missing":
            problems.append(f"missing key '{key}'")
        else:
            problems.append(f"'{key}': {_plain(error)}")
    return f"{path}: " + "; ".join(dict.fromkeys(problems))


def _check_workable(config: Config, data: dict[str, Any], path: Path) -> None:
    """Settings that validate one by one but cannot work together are errors too.

    ``jira.enabled: true`` without ``url`` used to mean "Jira silently off": the
    dashboard said "Jira disabled" and exited 0 while the user believed it checked.
    """
    jira = data.get("jira")
    if isinstance(jira, dict) and config.jira.enabled and config.jira.url is None:
        raise ConfigError(
            f"{path}: 'jira.url' is not set but Jira is enabled (jira.enabled is "
            f"{'true' if 'enabled' in jira else 'true by default'}); set jira.url to your "
            "site, such as https://acme.atlassian.net, or set jira.enabled: false"
        )


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
        data: Any = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 -- a SafeLoader
    except _DuplicateKeyError as exc:
        raise ConfigError(f"{path}:{exc.line}: {exc.message}") from exc
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
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from exc
    _check_workable(config, data, path)
    return config


class _DuplicateKeyError(Exception):
    """A key given twice in one mapping; YAML loaders silently keep the last one."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@functools.cache
def _unique_key_loader() -> type[Any]:
    """A ``SafeLoader`` that refuses duplicate keys (built lazily: yaml loads on demand).

    ``github: {repo: a/b}`` followed later by another ``github:`` would otherwise
    drop the first section without a word.
    """
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[object, int] = {}
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # ``<<: *anchor`` merges; explicit keys may override it
                key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen.setdefault(key, line)
                except TypeError:
                    continue  # unhashable key: the base class reports it
                if first is not None:
                    raise _DuplicateKeyError(
                        f"duplicate key '{key}' (first given on line {first}); "
                        "YAML would silently keep only the last one",
                        line,
                    )
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


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
