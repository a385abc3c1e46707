"""``debussy init``: the commented config a new project starts from.

The ``origin`` remote decides ``github.repo`` and, on a GitHub Enterprise host,
``github.api_url``; what was detected and written is reported back so the user
can check the guess (a remote URL does not say which software serves it).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from debussy.config import CONFIG_FILE, DEFAULT_GITHUB_API, STATE_DIR
from debussy.errors import ConfigError
from debussy.plans.git_remote import Origin, origin_remote

CONFIG_TEMPLATE = """\
# Debussy configuration. Secrets never go here: only the NAMES of the
# environment variables that hold them. Every key is optional.

github:
  enabled: true
  repo: {repo}                     # default repository for #N references
  api_url: {api_url}    # GitHub Enterprise: https://ghe.example.com/api/v3
  token_env: GITHUB_TOKEN            # GH_TOKEN is tried when this is unset
  auto_close: false                  # close linked issues when the whole run completes
  sub_issues: false                  # phase issues become sub-issues of the plan issue
  # write_interval_seconds: 1        # pause between writes (GitHub asks for >= 1 s)
  labels:
    in_progress: "debussy:in-progress"
    completed: "debussy:completed"
    failed: "debussy:failed"
    blocked: "debussy:blocked"

jira:
  enabled: false                     # set to true and fill in url to sync Jira issues
  url: https://your-site.atlassian.net
  deployment: cloud                  # cloud: API token + email; server: personal access token
  email_env: JIRA_EMAIL
  token_env: JIRA_API_TOKEN
  transitions:                       # target status names; null leaves Jira alone
    in_progress: "In Progress"
    completed: "Done"
    failed: null
    blocked: null
    pending: null                    # a phase back to pending (e.g. "To Do"); null leaves it

cache:
  ttl_seconds: 300                   # how long `status --issues` trusts what it fetched; 0 disables
"""

GITIGNORE = """\
# Everything here is local state (databases, caches, the config's snapshot), written
# by the commands; only config.yaml (and this file) belong in version control.
*
!.gitignore
!config.yaml
"""

OLD_GITIGNORES = frozenset(
    {"# Local state: not for version control (config.yaml is).\nstate.db*\ncache.db*\n"}
)
"""What earlier versions wrote: replaced when found unchanged (they missed files written
since, such as config.snapshot.json); an edited .gitignore is the user's and is kept."""


@dataclass(frozen=True, slots=True)
class InitResult:
    """The config written and one line per thing detected, for ``init`` to print."""

    path: Path
    detected: tuple[str, ...]


def init_project(folder: Path, *, force: bool = False) -> InitResult:
    """Write ``.debussy/config.yaml`` (and a .gitignore for the local databases)."""
    state_dir = folder / STATE_DIR
    config_path = state_dir / CONFIG_FILE
    if config_path.exists() and not force:
        raise ConfigError(f"{config_path} already exists (use --force to overwrite it)")
    origin = origin_remote(folder)
    repo = origin.repo if origin is not None else None
    api_url = (origin.api_url if origin is not None else None) or DEFAULT_GITHUB_API
    text = CONFIG_TEMPLATE.format(repo=repo or "null  # e.g. octo/app", api_url=api_url)
    try:
        state_dir.mkdir(exist_ok=True)
        _write_atomically(config_path, text)
        gitignore = state_dir / ".gitignore"
        if not gitignore.exists() or _unchanged_old(gitignore):
            _write_atomically(gitignore, GITIGNORE)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise ConfigError(_refused(config_path)) from None
    return InitResult(config_path, describe_origin(origin, repo, api_url))


def _unchanged_old(gitignore: Path) -> bool:
    try:
        return gitignore.read_text() in OLD_GITIGNORES
    except (OSError, UnicodeDecodeError):
        return False


def _refused(config_path: Path) -> str:
    """The read-only message the state database gives, for the config: file, folder, chmod.

    The config is written beside and renamed into place, so it is the folder that must
    be writable (or, before ``.debussy/`` exists, the folder that would hold it).
    """
    folder = config_path.parent
    where = folder if folder.is_dir() else folder.parent
    return (
        f"{config_path}: cannot write the config: {where} is read-only for this user; give "
        f"it write permission (e.g. chmod u+w {where}) or run as its owner"
    )


def describe_origin(origin: Origin | None, repo: str | None, api_url: str) -> tuple[str, ...]:
    """What ``init`` tells the user it found in ``origin`` and wrote because of it."""
    if origin is None:
        return (
            "No origin remote found: github.repo left empty (set it, or name the "
            "repository in each plan with **GitHub Repo:**).",
        )
    if origin.kind == "other":
        return (f"origin is on {origin.host}, which is not GitHub: github.repo left empty.",)
    where = "github.com" if origin.kind == "github" else f"GitHub Enterprise at {origin.host}"
    lines = [f"Detected origin on {where}."]
    lines.append(
        f"Wrote github.repo: {repo}"
        if repo
        else "origin names no owner/name: github.repo left empty."
    )
    if origin.kind == "enterprise":
        lines.append(
            f"Wrote github.api_url: {api_url} (a host that is not github.com nor a known "
            "GitLab/Bitbucket host is taken for GitHub Enterprise; edit it if that is wrong)."
        )
    return tuple(lines)


def _write_atomically(path: Path, text: str) -> None:
    """Write beside, then rename: an interrupted init never leaves half a config."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
