"""Values shared by the tracker clients, the cache, drift detection and sync.

Issue references are small frozen dataclasses (hashable, cheap: a plan may link
hundreds); what comes back from a tracker is a pydantic ``IssueStatus`` because it
crosses a trust boundary and is persisted in the cache as JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Platform = Literal["github", "jira"]
PLATFORMS: tuple[Platform, ...] = ("github", "jira")

# GitHub logins: letters, digits, hyphens (underscores appear on Enterprise via SSO
# normalisation). Repository names: letters, digits, ``.``, ``_``, ``-``.
GITHUB_OWNER = r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}"
GITHUB_NAME = r"[A-Za-z0-9._-]{1,100}"
_REPO = re.compile(rf"(?P<owner>{GITHUB_OWNER})/(?P<name>{GITHUB_NAME})")


def is_repo_name(value: str) -> bool:
    """True for ``owner/name`` as GitHub spells repositories (``.`` and ``..`` are not names).

    The one check for the plan's ``GitHub Repo``, ``github.repo`` in the config and the
    references a client will put in a URL path.
    """
    match = _REPO.fullmatch(value)
    return match is not None and match["name"] not in (".", "..")


@dataclass(frozen=True, slots=True, eq=False)
class GitHubRef:
    """One GitHub issue: ``owner/name`` plus number.

    ``repo`` keeps the spelling of the plan; ``canonical`` is what identity,
    hashing and storage use, because GitHub treats owner and name case-insensitively.
    """

    repo: str
    number: int

    platform: ClassVar[Literal["github"]] = "github"

    @property
    def canonical(self) -> str:
        return f"{self.repo.lower()}#{self.number}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GitHubRef) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(("github", self.canonical))

    def __lt__(self, other: GitHubRef) -> bool:
        return (self.repo.lower(), self.number) < (other.repo.lower(), other.number)

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]

    def display_key(self, default_repo: str | None) -> str:
        """``GH-12`` for the plan's own repository, ``GH octo/other#7`` for others."""
        if default_repo and default_repo.lower() == self.repo.lower():
            return f"GH-{self.number}"
        return f"GH {self.repo}#{self.number}"


@dataclass(frozen=True, slots=True, order=True)
class JiraRef:
    """One Jira issue, by key (``PROJ-123``, always upper case)."""

    key: str

    platform: ClassVar[Literal["jira"]] = "jira"

    @property
    def canonical(self) -> str:
        return self.key

    @property
    def project(self) -> str:
        return self.key.rsplit("-", 1)[0]

    def display_key(self, default_repo: str | None = None) -> str:
        return self.key


IssueRef = GitHubRef | JiraRef


def ref_from_canonical(platform: str, canonical: str) -> IssueRef:
    """Rebuild a reference from what ``canonical`` produced (state database, cache)."""
    if platform == "github":
        repo, _, number = canonical.rpartition("#")
        return GitHubRef(repo, int(number))
    return JiraRef(canonical)


class IssueStatus(BaseModel):
    """An issue as its tracker sees it right now (or as the cache last saw it).

    GitHub: ``state`` is ``open``/``closed``, ``state_reason`` the lower-cased
    ``stateReason`` (``completed``, ``not_planned``, ``duplicate``, ``reopened``).
    Jira: ``state`` is the status *name* (workflow-specific, display only),
    ``status_category`` its key (``new``, ``indeterminate``, ``done``) which is
    what drift is judged by, and ``state_reason`` the resolution name.
    ``state_changed_at`` is GitHub's ``closedAt`` or Jira's
    ``statuscategorychangedate``: the best answer to "when did the state change".
    """

    model_config = ConfigDict(frozen=True)

    platform: Platform
    id: str = Field(description="canonical reference: 'owner/repo#12' or 'PROJ-1'")
    missing: bool = False
    state: str | None = None
    state_reason: str | None = None
    status_category: str | None = None
    labels: tuple[str, ...] = ()
    milestone: str | None = None
    title: str | None = None
    url: str | None = None
    last_updated: datetime | None = None
    state_changed_at: datetime | None = None
    etag: str | None = Field(default=None, description="REST ETag for If-None-Match revalidation")
    moved_to: str | None = Field(
        default=None,
        description="Jira: the key the issue answers to now, when it was moved to another "
        "project (the plan still links the old key, which Jira keeps following)",
    )

    @property
    def is_closed(self) -> bool:
        """Closed on GitHub, or in the ``done`` status category on Jira."""
        if self.platform == "github":
            return self.state == "closed"
        return self.status_category == "done"

    @classmethod
    def missing_issue(cls, ref: IssueRef) -> IssueStatus:
        """The status of an issue the tracker says does not exist or cannot be seen."""
        return cls(platform=ref.platform, id=ref.canonical, missing=True)


DriftType = Literal[
    "closed_externally",
    "reopened_externally",
    "status_mismatch",
    "label_mismatch",
    "missing",
    "unlinked",
]
Newer = Literal["tracker", "debussy", "unknown"]


class Drift(BaseModel):
    """One way an issue differs from what Debussy expects (PRODUCT.md §7)."""

    model_config = ConfigDict(frozen=True)

    type: DriftType
    newer: Newer
    detail: str


class DriftReport(BaseModel):
    """An issue with at least one drift, as ``sync`` plans from and ``status`` shows."""

    model_config = ConfigDict(frozen=True)

    issue: str = Field(description="display key: GH-12, GH octo/other#7, PROJ-3")
    platform: Platform
    ref: str = Field(description="canonical reference")
    phase: str | None = Field(description="phase id, None for a plan-level issue")
    expected_state: str
    actual_state: str
    drift_type: DriftType
    newer: Newer
    detail: str
    state_reason: str | None = None
