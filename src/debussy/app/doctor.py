"""``debussy doctor``: is this project ready to talk to its trackers? Checks only, no changes.

Each check is one line a person can act on: what was looked at, what was found,
and when it failed, the fix. The checks, in order:

- the config loads (and the state database, if there is one, is not empty);
- GitHub, when enabled: a token is found (which variable, or the GitHub CLI); the
  API answers ``GET /user`` and accepts the token; what the token may do — a
  classic token lists its scopes in ``X-OAuth-Scopes``, a fine-grained one has no
  such header and is judged by the repository's ``permissions``; the default
  repository exists;
- Jira, when enabled: credentials are set; ``/myself`` accepts them; each
  configured transition target is a status of the project's workflow (projects
  taken from the latest run's Jira issues, else every status of the site).

Nothing is written: no cache, no state, no labels. Requests go through the same
clients (and so the same retries, timeouts and secret handling) as every command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from debussy.app.project import Project, left_empty
from debussy.config import Config, GitHubConfig, JiraConfig, is_loopback_host
from debussy.config_snapshot import PHASE_STATUS_KEYS
from debussy.errors import DebussyError, TrackerError
from debussy.state.manager import StateManager
from debussy.sync.trackers.github.client import GitHubClient, resolve_token
from debussy.sync.trackers.jira.client import JiraClient
from debussy.sync.trackers.probe import ProbeAnswer

CLASSIC_WRITE_SCOPES = frozenset({"repo", "public_repo"})
"""Either lets a classic token label, close and reopen issues (public_repo: public repos only)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def run_doctor(start: Path | None = None) -> list[Check]:
    """Every check that applies to the project found from ``start`` (blocking)."""
    try:
        project = Project.find(start)
        config = project.config
    except DebussyError as exc:
        return [Check("config", False, exc.message, "fix the file named above, or `debussy init`")]
    checks = [Check("config", True, f"{project.config_path} loads")]
    checks += _state_checks(project)
    jira_projects = _jira_projects(project)
    checks += asyncio.run(_tracker_checks(config, jira_projects))
    return checks


def _state_checks(project: Project) -> list[Check]:
    path = project.state_path
    if not path.exists():
        return [Check("state", True, f"{path} not created yet (`debussy start` creates it)")]
    if left_empty(path):
        return [
            Check(
                "state",
                False,
                f"{path} is empty (0 bytes): its runs are gone",
                "restore it from a backup, or delete it to start afresh",
            )
        ]
    return [Check("state", True, f"{path} present")]


def _jira_projects(project: Project) -> list[str]:
    """The Jira project keys of the latest run, if it can be read; [] otherwise."""
    if not project.state_path.exists() or left_empty(project.state_path):
        return []
    # Opened read-only: doctor changes nothing, not even an old database's schema.
    try:
        with StateManager(project.state_path, writable=False) as state:
            run = state.get_run(None)
            links = state.linked_issues(run.id)
    except DebussyError:
        return []
    keys = {link.display_key.rsplit("-", 1)[0] for link in links if link.platform == "jira"}
    return sorted(keys)


async def _tracker_checks(config: Config, jira_projects: Sequence[str]) -> list[Check]:
    checks: list[Check] = []
    if config.github.enabled:
        checks += await github_checks(config.github)
    if config.jira.active:
        checks += await jira_checks(config.jira, jira_projects)
    elif config.jira.enabled:
        checks.append(
            Check("jira", True, "Jira enabled but no url set: Jira is not contacted", None)
        )
    return checks


# --- GitHub -------------------------------------------------------------------------------


async def github_checks(config: GitHubConfig) -> list[Check]:
    token, source = resolve_token(config)
    checks: list[Check] = []
    if token is None:
        loopback = is_loopback_host(urlsplit(config.api_url).hostname or "")
        where = (
            "(for a loopback api_url only this variable is read)"
            if loopback
            else "(classic: repo scope; fine-grained: Issues read & write), "
            "or log in with `gh auth login`"
        )
        checks.append(
            Check("github.token", False, "no GitHub token found", f"set {config.token_env} {where}")
        )
    else:
        checks.append(Check("github.token", True, f"token from {source}"))
    async with GitHubClient(config, token=token) as client:
        try:
            user = await client.probe("/user")
        except TrackerError as exc:
            checks.append(
                Check(
                    "github.reachable",
                    False,
                    exc.message,
                    f"check github.api_url ({config.api_url})",
                )
            )
            return checks
        checks.append(Check("github.reachable", True, f"{config.api_url} answers"))
        if token is not None:
            checks += _github_auth(user, source or config.token_env)
        if config.repo:
            checks.append(await _github_repo(client, config.repo))
    return checks


def _is_classic(user: ProbeAnswer) -> bool:
    return "x-oauth-scopes" in user.headers


def _github_auth(user: ProbeAnswer, source: str) -> list[Check]:
    if user.status in (401, 403):
        return [
            Check(
                "github.auth",
                False,
                f"GitHub rejected the token from {source} ({user.status})",
                f"replace the token in {source} (expired or revoked?)",
            )
        ]
    login = user.body.get("login") if isinstance(user.body, dict) else None
    checks = [Check("github.auth", True, f"signed in as {login or 'an unknown user'}")]
    if _is_classic(user):
        scopes = {s.strip() for s in user.headers["x-oauth-scopes"].split(",") if s.strip()}
        listed = ", ".join(sorted(scopes)) or "none"
        if scopes & CLASSIC_WRITE_SCOPES:
            checks.append(Check("github.scopes", True, f"classic token, scopes: {listed}"))
        else:
            checks.append(
                Check(
                    "github.scopes",
                    False,
                    f"classic token without the repo scope (scopes: {listed})",
                    "grant the token the repo scope (public_repo for public repositories only)",
                )
            )
    else:
        checks.append(
            Check(
                "github.scopes",
                True,
                "fine-grained token (no X-OAuth-Scopes): judged by the repository check",
            )
        )
    return checks


async def _github_repo(client: GitHubClient, repo: str) -> Check:
    try:
        answer = await client.probe(f"/repos/{repo}")
    except TrackerError as exc:
        return Check("github.repo", False, f"{repo}: {exc.message}", None)
    if answer.status == 404:
        return Check(
            "github.repo",
            False,
            f"{repo} not found (or the token cannot see it)",
            "fix github.repo in the config, or give the token access to the repository",
        )
    if answer.status != 200 or not isinstance(answer.body, dict):
        return Check("github.repo", False, f"{repo}: GitHub answered {answer.status}", None)
    permissions = answer.body.get("permissions")
    if isinstance(permissions, dict) and not (permissions.get("push") or permissions.get("triage")):
        return Check(
            "github.repo",
            False,
            f"{repo} exists but the token may not label or close its issues",
            "grant Issues read & write (fine-grained) or triage access to the repository",
        )
    what = "may write issues" if isinstance(permissions, dict) else "readable"
    return Check("github.repo", True, f"{repo} exists ({what})")


# --- Jira ---------------------------------------------------------------------------------


async def jira_checks(config: JiraConfig, projects: Sequence[str]) -> list[Check]:
    version = "3" if config.deployment == "cloud" else "2"
    needs_email = config.deployment == "cloud"
    variables = f"{config.email_env} and {config.token_env}" if needs_email else config.token_env
    try:
        client = JiraClient(config)
    except DebussyError as exc:
        return [
            Check(
                "jira.credentials",
                False,
                exc.message,
                f"export {variables} (Cloud: an API token; Data Center: a personal access token)",
            )
        ]
    checks = [Check("jira.credentials", True, f"from {variables}")]
    async with client:
        try:
            me = await client.probe(f"/rest/api/{version}/myself")
        except TrackerError as exc:
            return [
                *checks,
                Check("jira.reachable", False, exc.message, f"check jira.url ({config.url})"),
            ]
        checks.append(Check("jira.reachable", True, f"{config.url} answers"))
        if me.status in (401, 403):
            checks.append(
                Check(
                    "jira.auth",
                    False,
                    f"Jira rejected the credentials ({me.status})",
                    f"check {variables}",
                )
            )
            return checks
        name = me.body.get("displayName") if isinstance(me.body, dict) else None
        checks.append(Check("jira.auth", True, f"signed in as {name or 'an unknown user'}"))
        checks += await _jira_transitions(client, config, version, projects)
    return checks


async def _jira_transitions(
    client: JiraClient, config: JiraConfig, version: str, projects: Sequence[str]
) -> list[Check]:
    targets = {phase: getattr(config.transitions, phase) for phase in PHASE_STATUS_KEYS}
    wanted = {phase: target for phase, target in targets.items() if isinstance(target, str)}
    if not wanted:
        return []
    where = ", ".join(projects) if projects else "the site"
    try:
        names = await _status_names(client, version, projects)
    except TrackerError as exc:
        return [Check("jira.transitions", False, f"statuses of {where}: {exc.message}", None)]
    checks: list[Check] = []
    for phase, target in wanted.items():
        if target.casefold() in names:
            checks.append(
                Check(f"jira.transitions.{phase}", True, f"'{target}' is a status in {where}")
            )
        else:
            checks.append(
                Check(
                    f"jira.transitions.{phase}",
                    False,
                    f"'{target}' is not a status in {where}",
                    f"set jira.transitions.{phase} to one of: " + ", ".join(sorted(names.values())),
                )
            )
    return checks


async def _status_names(
    client: JiraClient, version: str, projects: Sequence[str]
) -> dict[str, str]:
    """Folded name → name of every status the projects' workflows (or the site) use."""
    names: dict[str, str] = {}
    paths = [f"/rest/api/{version}/project/{key}/statuses" for key in projects] or [
        f"/rest/api/{version}/status"
    ]
    for path in paths:
        answer = await client.probe(path)
        if answer.status != 200:
            raise TrackerError("jira", f"GET {path} answered {answer.status}")
        for status in _statuses_in(answer.body):
            names[status.casefold()] = status
    return names


def _statuses_in(body: object) -> list[str]:
    """Status names from ``/status`` (a list of statuses) or ``/project/K/statuses``
    (a list of issue types, each with its statuses)."""
    found: list[str] = []
    if not isinstance(body, list):
        return found
    for item in body:
        if not isinstance(item, dict):
            continue
        nested = item.get("statuses")
        if isinstance(nested, list):
            found += [
                s["name"] for s in nested if isinstance(s, dict) and isinstance(s.get("name"), str)
            ]
        elif isinstance(item.get("name"), str):
            found.append(item["name"])
    return found
