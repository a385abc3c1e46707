"""What the sandbox tracker knows: repositories, issues, labels, Jira issues, workflow.

One ``threading.RLock`` (``Store.lock``) guards everything here; the HTTP handlers
and the seeding methods of ``SandboxTracker`` take it around every read-modify-write,
so a request never sees half of a change made by another thread.

Times come from ``clock`` and move forward per issue even when two changes land
in the same clock tick: "updated always bumps" is something clients rely on for
conditional requests and for deciding which side changed last.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from debussy.timeutil import to_iso

Clock = Callable[[], datetime]

GITHUB_TICK = timedelta(seconds=1)
"""GitHub timestamps have second resolution."""
JIRA_TICK = timedelta(milliseconds=1)
"""Jira timestamps have millisecond resolution."""

DEFAULT_LABEL_COLOR = "ededed"
"""The colour GitHub gives a label it creates implicitly (issue label writes)."""

NEW_REPO_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
"""The labels GitHub puts in every new repository."""

CLOSE_REASONS = ("completed", "not_planned", "duplicate")
JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")


def system_clock() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp form (``2026-11-27T10:00:00Z``), ``None`` stays ``None``."""
    return None if moment is None else to_iso(moment)


def node_id(prefix: str, number: int) -> str:
    """An opaque GraphQL-style node id (``I_...``) for a sandbox object, the same in REST."""
    return f"{prefix}_" + base64.b64encode(f"sandbox:{number}".encode()).decode().rstrip("=")


# --------------------------------------------------------------------------- GitHub


@dataclass(eq=False)
class Label:
    id: int
    name: str
    color: str
    description: str | None
    default: bool
    created_at: datetime
    repo_name: str


@dataclass(eq=False)
class Milestone:
    id: int
    number: int
    title: str
    created_at: datetime
    repo_name: str


@dataclass(eq=False)
class Comment:
    id: int
    body: object
    """GitHub: markdown text; Jira v3: the Atlassian Document Format tree as sent."""
    created_at: datetime


@dataclass(eq=False)
class Issue:
    repo: Repo
    id: int
    number: int
    title: str
    state: str
    state_reason: str | None
    labels: list[Label]
    milestone: Milestone | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    comments: list[Comment] = field(default_factory=list[Comment])
    is_pull_request: bool = False
    """Pull requests share issue numbers: REST serves them as issues with a ``pull_request``
    key, GraphQL's ``repository.issue`` does not find them."""
    draft: bool = False
    merged_at: datetime | None = None
    """A pull request that merged (its ``state`` is then ``closed``, as REST says)."""
    parent: Issue | None = None
    sub_issues: list[Issue] = field(default_factory=list["Issue"])
    """GitHub sub-issues, in the order they were added."""


@dataclass(eq=False)
class Repo:
    owner: str
    name: str
    id: int
    created_at: datetime
    labels: dict[str, Label] = field(default_factory=dict[str, Label])
    """By lower-cased name: GitHub label names are case-insensitive."""
    issues: dict[int, Issue] = field(default_factory=dict[int, Issue])
    milestones: dict[str, Milestone] = field(default_factory=dict[str, Milestone])
    transferred: dict[int, Issue] = field(default_factory=dict[int, Issue])
    """Issues moved to another repository, by their old number here."""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def label(self, name: str) -> Label | None:
        return self.labels.get(name.lower())


MAX_SUB_ISSUES = 100
"""GitHub's limit of sub-issues per parent issue."""


class SubIssueError(Exception):
    """GitHub refused a sub-issue link (the message is GitHub-like)."""


class LabelExistsError(Exception):
    """``create_label`` for a name the repository already has."""


# --------------------------------------------------------------------------- Jira


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color_name: str


@dataclass(frozen=True)
class JiraStatus:
    id: str
    name: str
    category: StatusCategory
    resolution: str | None
    """The resolution a move into this status sets (done statuses only)."""


@dataclass(frozen=True)
class JiraTransition:
    id: str
    name: str
    to: JiraStatus
    sources: frozenset[str]
    """Names of the statuses it is available from."""


NEW = StatusCategory(2, "new", "To Do", "blue-gray")
INDETERMINATE = StatusCategory(4, "indeterminate", "In Progress", "yellow")
DONE = StatusCategory(3, "done", "Done", "green")
STATUS_CATEGORIES = (NEW, INDETERMINATE, DONE)

TO_DO = JiraStatus("10000", "To Do", NEW, None)
IN_PROGRESS = JiraStatus("3", "In Progress", INDETERMINATE, None)
IN_REVIEW = JiraStatus("10001", "In Review", INDETERMINATE, None)
DONE_STATUS = JiraStatus("10002", "Done", DONE, "Done")
WONT_DO = JiraStatus("10003", "Won't Do", DONE, "Won't Do")
STATUSES = (TO_DO, IN_PROGRESS, IN_REVIEW, DONE_STATUS, WONT_DO)

_OPEN = frozenset({TO_DO.name, IN_PROGRESS.name, IN_REVIEW.name})
TRANSITIONS = (
    JiraTransition("11", "Back to To Do", TO_DO, frozenset({IN_PROGRESS.name, IN_REVIEW.name})),
    JiraTransition("21", "Start Progress", IN_PROGRESS, frozenset({TO_DO.name, IN_REVIEW.name})),
    JiraTransition("31", "Review", IN_REVIEW, frozenset({IN_PROGRESS.name})),
    JiraTransition("41", "Done", DONE_STATUS, _OPEN),
    JiraTransition("51", "Won't Do", WONT_DO, _OPEN),
    JiraTransition("61", "Reopen", TO_DO, frozenset({DONE_STATUS.name, WONT_DO.name})),
)
"""A simplified software workflow: every open status can finish, finished ones reopen."""


def jira_status(name: str) -> JiraStatus:
    """The workflow status called ``name`` (case-insensitive), or ``ValueError``."""
    for status in STATUSES:
        if status.name.lower() == name.lower():
            return status
    known = ", ".join(s.name for s in STATUSES)
    raise ValueError(f"unknown Jira status {name!r} (the sandbox workflow has: {known})")


@dataclass(eq=False)
class JiraIssue:
    key: str
    id: int
    summary: str
    status: JiraStatus
    resolution: str | None
    labels: list[str]
    created: datetime
    updated: datetime
    status_category_changed: datetime
    resolution_date: datetime | None
    comments: list[Comment] = field(default_factory=list[Comment])
    hidden: bool = False
    search_view: JiraIssue | None = None
    """With ``Store.jira_search_lag``: what search still shows until the index catches up
    (or a search names this issue's id in ``reconcileIssues``)."""

    def transitions(self) -> list[JiraTransition]:
        """What the workflow offers from the current status (never a move to itself)."""
        return [t for t in TRANSITIONS if self.status.name in t.sources]


# --------------------------------------------------------------------------- the store


class Store:
    """Both trackers' data behind one lock. Callers hold ``lock`` around each use."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.repos: dict[str, Repo] = {}
        self.jira_issues: dict[str, JiraIssue] = {}
        self.jira_moved: dict[str, str] = {}
        """Old key -> new key of issues moved to another project (Jira keeps following)."""
        self.jira_search_lag = False
        """Scene option: search shows the state before a transition until reconciled."""
        self.jira_resolution_required = False
        """Scene option: moving into a done status needs a resolution on the screen."""
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        return next(self._ids)

    def _github_time(self, previous: datetime | None = None) -> datetime:
        moment = _utc(self.clock()).replace(microsecond=0)
        if previous is not None and moment <= previous:
            moment = previous + GITHUB_TICK
        return moment

    def _jira_time(self, previous: datetime | None = None) -> datetime:
        raw = _utc(self.clock())
        moment = raw.replace(microsecond=raw.microsecond // 1000 * 1000)
        if previous is not None and moment <= previous:
            moment = previous + JIRA_TICK
        return moment

    # ---- GitHub

    def repo(self, full_name: str) -> Repo | None:
        """GitHub resolves ``owner/name`` case-insensitively."""
        return self.repos.get(full_name.lower())

    def add_repo(self, full_name: str) -> Repo:
        existing = self.repo(full_name)
        if existing is not None:
            return existing
        owner, sep, name = full_name.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"repository must look like owner/name, not {full_name!r}")
        created = self._github_time()
        repo = Repo(owner, name, self.next_id(), created)
        for label_name, color, description in NEW_REPO_LABELS:
            repo.labels[label_name] = Label(
                self.next_id(), label_name, color, description, True, created, repo.full_name
            )
        self.repos[full_name.lower()] = repo
        return repo

    def add_issue(
        self,
        repo_name: str,
        number: int,
        *,
        title: str,
        state: str,
        state_reason: str | None,
        labels: Iterable[str],
        milestone: str | None,
        updated_at: datetime | None,
    ) -> Issue:
        if number < 1:
            raise ValueError("issue numbers start at 1")
        if state not in ("open", "closed"):
            raise ValueError(f"state must be 'open' or 'closed', not {state!r}")
        repo = self.add_repo(repo_name)
        if number in repo.issues:
            raise ValueError(f"{repo.full_name}#{number} already exists")
        moment = _utc(updated_at) if updated_at is not None else self._github_time()
        if state == "closed":
            state_reason = state_reason or "completed"
            if state_reason not in CLOSE_REASONS:
                raise ValueError(f"a closed issue's reason is one of {CLOSE_REASONS}")
        elif state_reason not in (None, "reopened"):
            raise ValueError("an open issue's state_reason is None or 'reopened'")
        issue = Issue(
            repo=repo,
            id=self.next_id(),
            number=number,
            title=title or f"Issue {number}",
            state=state,
            state_reason=state_reason,
            labels=[self.ensure_label(repo, name) for name in _unique(labels)],
            milestone=self._milestone(repo, milestone) if milestone else None,
            created_at=moment,
            updated_at=moment,
            closed_at=moment if state == "closed" else None,
        )
        repo.issues[number] = issue
        return issue

    def transfer(self, issue: Issue, to_repo: str) -> Issue:
        """Move ``issue`` to ``to_repo`` under the next free number there, as GitHub does."""
        target = self.add_repo(to_repo)
        number = max(target.issues, default=0) + 1
        del issue.repo.issues[issue.number]
        issue.repo.transferred[issue.number] = issue
        issue.repo, issue.number = target, number
        target.issues[number] = issue
        self.touch(issue)
        return issue

    def issue(self, repo_name: str, number: int) -> Issue | None:
        repo = self.repo(repo_name)
        return None if repo is None else repo.issues.get(number)

    def require_issue(self, repo_name: str, number: int) -> Issue:
        """For seeding methods: a typo in a test should fail loudly, not as a 404 later."""
        issue = self.issue(repo_name, number)
        if issue is None:
            raise KeyError(f"no issue {repo_name}#{number} in the sandbox")
        return issue

    def _milestone(self, repo: Repo, title: str) -> Milestone:
        milestone = repo.milestones.get(title)
        if milestone is None:
            milestone = Milestone(
                self.next_id(), len(repo.milestones) + 1, title, self._github_time(), repo.full_name
            )
            repo.milestones[title] = milestone
        return milestone

    def ensure_label(self, repo: Repo, name: str) -> Label:
        """The repository's label ``name``, created with GitHub's default colour if new."""
        label = repo.label(name)
        if label is None:
            label = Label(
                self.next_id(),
                name,
                DEFAULT_LABEL_COLOR,
                None,
                False,
                self._github_time(),
                repo.full_name,
            )
            repo.labels[name.lower()] = label
        return label

    def create_label(self, repo: Repo, name: str, color: str, description: str | None) -> Label:
        if repo.label(name) is not None:
            raise LabelExistsError(name)
        label = Label(
            self.next_id(),
            name,
            color.lower(),
            description,
            False,
            self._github_time(),
            repo.full_name,
        )
        repo.labels[name.lower()] = label
        return label

    def touch(self, issue: Issue) -> None:
        issue.updated_at = self._github_time(issue.updated_at)

    def set_labels(self, issue: Issue, names: Iterable[str], *, touch: bool = True) -> None:
        """Replace the label set; ``touch=False`` when the caller already bumped this change."""
        issue.labels = [self.ensure_label(issue.repo, name) for name in _unique(names)]
        if touch:
            self.touch(issue)

    def add_labels(self, issue: Issue, names: Iterable[str]) -> None:
        have = {label.name.lower() for label in issue.labels}
        for name in _unique(names):
            if name.lower() not in have:
                issue.labels.append(self.ensure_label(issue.repo, name))
                have.add(name.lower())
        self.touch(issue)

    def remove_label(self, issue: Issue, name: str) -> bool:
        kept = [label for label in issue.labels if label.name.lower() != name.lower()]
        if len(kept) == len(issue.labels):
            return False
        issue.labels = kept
        self.touch(issue)
        return True

    def close(self, issue: Issue, reason: str) -> None:
        """Close an open issue; closing a closed one changes only ``updated_at`` (as GitHub)."""
        if reason not in CLOSE_REASONS:
            raise ValueError(f"close reason must be one of {CLOSE_REASONS}, not {reason!r}")
        self.touch(issue)
        if issue.state != "closed":
            issue.state = "closed"
            issue.state_reason = reason
            issue.closed_at = issue.updated_at

    def reopen(self, issue: Issue) -> None:
        self.touch(issue)
        if issue.state != "open":
            issue.state = "open"
            issue.state_reason = "reopened"
            issue.closed_at = None

    def add_sub_issue(self, parent: Issue, child: Issue, *, touch: bool = True) -> None:
        """GitHub's rules for ``addSubIssue`` without ``replaceParent``; ``SubIssueError``.

        ``touch=False`` seeds a link made in the past (the parent's update time stays).
        """
        if parent.is_pull_request or child.is_pull_request:
            raise SubIssueError("Pull requests cannot be sub-issues or have sub-issues")
        if child is parent:
            raise SubIssueError("An issue cannot be a sub-issue of itself")
        if child.repo.owner.lower() != parent.repo.owner.lower():
            raise SubIssueError("Sub-issues must belong to the same owner as the parent issue")
        if child.parent is parent:
            raise SubIssueError("Sub issue may only be added to the parent once")
        if child.parent is not None:
            raise SubIssueError("Sub issue may only have one parent")
        ancestor: Issue | None = parent
        while ancestor is not None:
            if ancestor is child:
                raise SubIssueError("Sub issue cannot be an ancestor of the parent issue")
            ancestor = ancestor.parent
        if len(parent.sub_issues) >= MAX_SUB_ISSUES:
            raise SubIssueError(f"Parent cannot have more than {MAX_SUB_ISSUES} sub-issues")
        child.parent = parent
        parent.sub_issues.append(child)
        if touch:
            self.touch(parent)

    def remove_sub_issue(self, parent: Issue, child: Issue) -> None:
        if child.parent is not parent:
            raise SubIssueError("Sub issue is not a sub-issue of this issue")
        child.parent = None
        parent.sub_issues.remove(child)
        self.touch(parent)

    def add_comment(self, issue: Issue | JiraIssue, body: object) -> Comment:
        if isinstance(issue, Issue):
            self.touch(issue)
            comment = Comment(self.next_id(), body, issue.updated_at)
        else:
            self._touch_jira(issue)
            comment = Comment(self.next_id(), body, issue.updated)
        issue.comments.append(comment)
        return comment

    # ---- Jira

    def add_jira_issue(
        self,
        key: str,
        *,
        summary: str,
        status: str,
        labels: Iterable[str],
        resolution: str | None,
        updated_at: datetime | None,
    ) -> JiraIssue:
        key = key.upper()
        if not JIRA_KEY.match(key):
            raise ValueError(f"{key!r} is not a Jira issue key such as PROJ-1")
        if key in self.jira_issues:
            raise ValueError(f"{key} already exists")
        target = jira_status(status)
        moment = _utc(updated_at) if updated_at is not None else self._jira_time()
        if target.category is not DONE:
            resolution = None
        issue = JiraIssue(
            key=key,
            id=10000 + len(self.jira_issues) + 1,
            summary=summary or f"Issue {key}",
            status=target,
            resolution=resolution or target.resolution,
            labels=list(dict.fromkeys(labels)),  # Jira labels are case-sensitive
            created=moment,
            updated=moment,
            status_category_changed=moment,
            resolution_date=moment if target.category is DONE else None,
        )
        self.jira_issues[key] = issue
        return issue

    def jira_issue(self, key: str) -> JiraIssue | None:
        """The issue as an API caller sees it: hidden issues do not exist, moved ones answer."""
        key = key.upper()
        for _ in range(len(self.jira_moved) + 1):
            if key not in self.jira_moved:
                break
            key = self.jira_moved[key]
        issue = self.jira_issues.get(key)
        return None if issue is None or issue.hidden else issue

    def move_jira_to_project(self, key: str, new_key: str) -> JiraIssue:
        """Move an issue to another project: it gets ``new_key`` and still answers to ``key``."""
        issue = self.require_jira_issue(key)
        new_key = new_key.upper()
        if not JIRA_KEY.match(new_key) or new_key in self.jira_issues:
            raise ValueError(f"{new_key!r} is not a free Jira issue key")
        del self.jira_issues[issue.key]
        self.jira_moved[issue.key] = new_key
        issue.key = new_key
        self._touch_jira(issue)
        self.jira_issues[new_key] = issue
        return issue

    def require_jira_issue(self, key: str) -> JiraIssue:
        issue = self.jira_issues.get(key.upper())
        if issue is None:
            raise KeyError(f"no Jira issue {key} in the sandbox")
        return issue

    def _touch_jira(self, issue: JiraIssue) -> None:
        issue.updated = self._jira_time(issue.updated)

    def move_jira(
        self,
        issue: JiraIssue,
        target: JiraStatus,
        resolution: str | None,
        *,
        indexed: bool = True,
    ) -> None:
        """Put the issue in ``target``: resolution set on done, cleared otherwise.

        ``indexed=False`` (an API transition under ``jira_search_lag``) leaves search
        showing the issue as it was, as Jira Cloud's eventually consistent index does.
        """
        if not indexed and self.jira_search_lag and issue.search_view is None:
            issue.search_view = dataclasses.replace(issue, comments=[], search_view=None)
        self._touch_jira(issue)
        if target.category is not issue.status.category:
            issue.status_category_changed = issue.updated
        issue.status = target
        if target.category is DONE:
            issue.resolution = resolution or target.resolution
            issue.resolution_date = issue.updated
        else:
            issue.resolution = None
            issue.resolution_date = None


def _unique(names: Iterable[str]) -> list[str]:
    """Names in order, first spelling wins, compared case-insensitively (as GitHub does)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out
