"""``debussy init``: the commented config a new project starts from."""

from __future__ import annotations

import os
from pathlib import Path

from debussy.config import CONFIG_FILE, STATE_DIR
from debussy.errors import ConfigError
from debussy.plans import origin_repo

CONFIG_TEMPLATE = """\
# Debussy configuration. Secrets never go here: only the NAMES of the
# environment variables that hold them. Every key is optional.

github:
  enabled: true
  repo: {repo}                     # default repository for #N references
  api_url: https://api.github.com    # GitHub Enterprise: https://ghe.example.com/api/v3
  token_env: GITHUB_TOKEN            # GH_TOKEN is tried when this is unset
  auto_close: false                  # close linked issues when the whole run completes
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

cache:
  ttl_seconds: 300                   # how long `status --issues` trusts what it fetched; 0 disables
"""

GITIGNORE = """\
# Local state: not for version control (config.yaml is).
state.db*
cache.db*
"""


def init_project(folder: Path, *, force: bool = False) -> Path:
    """Write ``.debussy/config.yaml`` (and a .gitignore for the local databases)."""
    state_dir = folder / STATE_DIR
    config_path = state_dir / CONFIG_FILE
    if config_path.exists() and not force:
        raise ConfigError(f"{config_path} already exists (use --force to overwrite it)")
    repo = origin_repo(folder)
    state_dir.mkdir(exist_ok=True)
    _write_atomically(config_path, CONFIG_TEMPLATE.format(repo=repo or "null  # e.g. octo/app"))
    gitignore = state_dir / ".gitignore"
    if not gitignore.exists():
        _write_atomically(gitignore, GITIGNORE)
    return config_path


def _write_atomically(path: Path, text: str) -> None:
    """Write beside, then rename: an interrupted init never leaves half a config."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
