"""Values shared by the tracker clients, the cache, drift detection and sync.

Every value here is a frozen, slotted dataclass and the module imports nothing
but the standard library: the warm ``status --issues`` path builds thousands of
them and must not pay for pydantic (docs/PERFORMANCE.md). Tracker answers are
validated where they cross the trust boundary (the clients' own msgspec Structs
of the raw JSON) and reach ``IssueStatus`` already typed; the cache stores
``IssueStatus.as_json()`` and reads it back with ``IssueStatus.from_json``.

References are compared and hashed many times per issue (sets and dicts in the
fetcher, drift detection, sync plans: 5,000 issues mean tens of thousands of
lookups), so each ``GitHubRef`` computes its canonical key once, when built, and
``__eq__``/``__hash__`` only read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, cast
from urllib.parse import urlsplit

Platform = Literal["github", "jira"]
IssueKind = Literal["issue", "pr"]
PR_STATES = ("open", "draft", "merged", "closed")
"""A pull request's ``state``: ``closed`` means closed without merging."""
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
    canonical: str = field(init=False, repr=False)
    """``owner/name#12`` lower-cased: computed once in ``__post_init__``."""
    _repo_key: str = field(init=False, repr=False)

    platform: ClassVar[Literal["github"]] = "github"

    def __post_init__(self) -> None:
        repo_key = self.repo.lower()
        object.__setattr__(self, "_repo_key", repo_key)
        object.__setattr__(self, "canonical", f"{repo_key}#{self.number}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GitHubRef) and other.canonical == self.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)  # str caches its hash: O(1) after the first call

    def __lt__(self, other: GitHubRef) -> bool:
        return (self._repo_key, self.number) < (other._repo_key, other.number)

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

    def document_fields(self) -> dict[str, object]:
        """What a JSON row adds to ``key`` and ``platform`` to name the issue (§6)."""
        return {"repo": self.repo, "number": self.number}

    def web_url(self, settings: Any) -> str | None:
        """Where a person would look at it, also when GitHub could not be asked
        (``settings``: the ``github:`` section, model or view)."""
        scheme = urlsplit(settings.api_url).scheme
        return f"{scheme}://{settings.web_host}/{self.repo}/issues/{self.number}"


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

    def document_fields(self) -> dict[str, object]:
        """The key says it all: nothing to add to a JSON row."""
        return {}

    def web_url(self, settings: Any) -> str | None:
        """The browse URL (``settings``: the ``jira:`` section), when a site is configured."""
        return settings.browse_url(self.key) if settings.url else None


IssueRef = GitHubRef | JiraRef


def ref_from_canonical(platform: str, canonical: str) -> IssueRef:
    """Rebuild a reference from what ``canonical`` produced (state database, cache)."""
    if platform == "github":
        repo, _, number = canonical.rpartition("#")
        return GitHubRef(repo, int(number))
    return JiraRef(canonical)


@dataclass(frozen=True, slots=True)
class IssueStatus:
    """An issue as its tracker sees it right now (or as the cache last saw it).

    GitHub: ``state`` is ``open``/``closed``, ``state_reason`` the lower-cased
    ``stateReason`` (``completed``, ``not_planned``, ``duplicate``, ``reopened``).
    Jira: ``state`` is the status *name* (workflow-specific, display only),
    ``status_category`` its key (``new``, ``indeterminate``, ``done``) which is
    what drift is judged by, and ``state_reason`` the resolution name.
    ``state_changed_at`` is GitHub's ``closedAt`` or Jira's
    ``statuscategorychangedate``: the best answer to "when did the state change".
    ``id`` is the canonical reference (``owner/repo#12`` or ``PROJ-1``); ``etag``
    the REST ETag kept for ``If-None-Match`` revalidation.
    """

    platform: Platform
    id: str
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
    etag: str | None = None
    moved_to: str | None = None
    """Jira: the key the issue answers to now, when it was moved to another project
    (the plan still links the old key, which Jira keeps following)."""
    kind: IssueKind = "issue"
    """``pr`` for a GitHub pull request: ``state`` is then one of ``PR_STATES`` and
    ``state_reason`` ``completed`` (merged) or ``not_planned`` (closed unmerged), so the
    rules that read closed issues read a pull request the same way. Never written."""
    parent: str | None = None
    """GitHub sub-issues (read only with ``github.sub_issues``): the canonical reference
    of the parent issue, None when it has none."""
    sub_issues: tuple[int, int] | None = None
    """GitHub sub-issues: the issue's ``subIssuesSummary`` as (completed, total)."""

    def __post_init__(self) -> None:
        if self.labels.__class__ is not tuple:  # a list from a caller stays hashable and equal
            object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def is_pull_request(self) -> bool:
        return self.kind == "pr"

    @property
    def is_closed(self) -> bool:
        """Closed (or merged) on GitHub, or in the ``done`` status category on Jira."""
        if self.platform == "github":
            return self.state in ("closed", "merged")
        return self.status_category == "done"

    @classmethod
    def missing_issue(cls, ref: IssueRef) -> IssueStatus:
        """The status of an issue the tracker says does not exist or cannot be seen."""
        return cls(platform=ref.platform, id=ref.canonical, missing=True)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (times as ISO 8601) that ``from_json`` reads back exactly."""
        return {
            "platform": self.platform,
            "id": self.id,
            "missing": self.missing,
            "state": self.state,
            "state_reason": self.state_reason,
            "status_category": self.status_category,
            "labels": list(self.labels),
            "milestone": self.milestone,
            "title": self.title,
            "url": self.url,
            "last_updated": _iso(self.last_updated),
            "state_changed_at": _iso(self.state_changed_at),
            "etag": self.etag,
            "moved_to": self.moved_to,
            "kind": self.kind,
            "parent": self.parent,
            "sub_issues": list(self.sub_issues) if self.sub_issues is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> IssueStatus:
        """Rebuild what ``as_json`` wrote; raises ``ValueError`` for anything else.

        Only the cache calls this, on rows Debussy wrote itself: the checks are
        there to turn an old or damaged row into a cache miss, not to validate
        a tracker (the clients did that before the status was built).
        """
        if data.__class__ is not dict:
            raise ValueError("a cached status must be a JSON object")
        fields = cast(dict[str, Any], data)
        get = fields.get
        platform, identity, labels = get("platform"), get("id"), get("labels", [])
        texts = [get(key) for key in _TEXT_FIELDS]
        if (
            platform not in PLATFORMS
            or identity.__class__ is not str
            or labels.__class__ is not list
        ):
            raise ValueError("not a cached status")
        # Plain loops, not all(...): this runs for every cached issue on the warm path.
        for value in texts:
            if value is not None and value.__class__ is not str:
                raise ValueError("cached fields must be text")
        names = tuple(cast(list[Any], labels))
        for name in names:
            if name.__class__ is not str:
                raise ValueError("cached labels must be text")
        state, reason, category, milestone, title, url, etag, updated, changed, moved, parent = (
            texts
        )
        kind = get("kind", "issue")
        if kind not in ("issue", "pr"):
            raise ValueError("a cached kind must be issue or pr")
        summary = get("sub_issues")
        sub_issues: tuple[int, int] | None = None
        if summary is not None:
            if summary.__class__ is not list or len(summary) != 2:
                raise ValueError("cached sub-issue progress must be two counts")
            done, total = cast(list[Any], summary)
            if done.__class__ is not int or total.__class__ is not int:
                raise ValueError("cached sub-issue progress must be two counts")
            sub_issues = (done, total)
        return cls(
            platform=platform,
            id=cast(str, identity),
            missing=get("missing") is True,
            state=state,
            state_reason=reason,
            status_category=category,
            labels=names,
            milestone=milestone,
            title=title,
            url=url,
            last_updated=datetime.fromisoformat(updated) if updated is not None else None,
            state_changed_at=datetime.fromisoformat(changed) if changed is not None else None,
            etag=etag,
            moved_to=moved,
            kind=kind,
            parent=parent,
            sub_issues=sub_issues,
        )


_TEXT_FIELDS = (
    "state",
    "state_reason",
    "status_category",
    "milestone",
    "title",
    "url",
    "etag",
    "last_updated",
    "state_changed_at",
    "moved_to",
    "parent",
)
"""The optional text fields of a cached status, in the order ``from_json`` unpacks them."""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


DriftType = Literal[
    "closed_externally",
    "reopened_externally",
    "status_mismatch",
    "label_mismatch",
    "missing",
    "unlinked",
    "pr_not_merged",
    "pr_merged",
    "structure",
]
Newer = Literal["tracker", "debussy", "unknown"]


@dataclass(frozen=True, slots=True)
class Drift:
    """One way an issue differs from what Debussy expects (docs/STATUS_AND_SYNC.md)."""

    type: DriftType
    newer: Newer
    detail: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    """An issue with at least one drift, as ``sync`` plans from and ``status`` shows.

    ``issue`` is the display key (GH-12, GH octo/other#7, PROJ-3), ``ref`` the
    canonical reference, ``phase`` the phase id (None for a plan-level issue).
    """

    issue: str
    platform: Platform
    ref: str
    phase: str | None
    expected_state: str
    actual_state: str
    drift_type: DriftType
    newer: Newer
    detail: str
    state_reason: str | None = None


SUB_ISSUE_WORDS = {
    "add_sub_issue": "make sub-issue of ",
    "remove_sub_issue": "remove as sub-issue of ",
}
"""How a sub-issue write is worded, before the parent's display key (``writes.describe``).

Here, below the trackers, because the write vocabulary (``sync/trackers/writes.py``) and the
drift rules both read it, and the warm dashboard (and ``--json``) must load neither the write
rules nor the clients (tests/perf/test_warm_path.py)."""


JIRA_KEY_RE = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*")
"""A Jira issue key as Debussy stores it: upper case, numbered from 1 (``PROJ-0`` is not one).

The one pattern for Jira keys: plans are parsed with it, and the Jira client
checks every key against it before a key goes into JQL or a URL path.
"""


def is_jira_key(key: str) -> bool:
    """Whether ``key`` is a Jira issue key in canonical (upper-case) form."""
    return key.isascii() and JIRA_KEY_RE.fullmatch(key) is not None
