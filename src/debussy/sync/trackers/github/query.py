"""GitHub issue reads without I/O: batching, the GraphQL document, and parsing answers.

Each linked number is read with ``issueOrPullRequest``: a plan may link a pull
request, which is read (kind ``pr``, state ``open``/``draft``/``merged``/``closed``)
and never reported missing. With ``github.sub_issues`` the issue's ``parent`` and
``subIssuesSummary`` come along.

Kept apart from the HTTP client so that the query shape can be validated against
GitHub's schema (tests/contract) and the parsing tested with plain values. This
module does not import httpx.

Every answer from GitHub is untrusted input: a missing field, a wrong type or a
``null`` where an object belongs becomes a ``BadResponseError`` that names the
issue and the field, never a ``KeyError`` or ``TypeError`` deep in the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import msgspec

from debussy.errors import BadResponseError, TrackerAuthError
from debussy.issues import GitHubRef, IssueStatus, is_repo_name
from debussy.sync.trackers.base import bad_fields_message
from debussy.timeutil import parse_iso

MAX_ISSUES_PER_QUERY = 100
"""GitHub's ceiling for one query is node count, not aliases; 100 keeps a query cheap."""

LABELS_PER_ISSUE = 100
"""``labels(first:)`` accepts 1..100; more labels than that on one issue are not read."""


NOT_FOUND = "NOT_FOUND"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
RATE_LIMIT_TYPES = frozenset({RATE_LIMITED, "RATE_LIMIT"})
"""GraphQL error types for a rate limit: ``RATE_LIMITED``, and the newer ``RATE_LIMIT``
(with ``"code": "graphql_rate_limit"``) GitHub also answers."""
RATE_LIMIT_CODE = "graphql_rate_limit"
INSUFFICIENT_SCOPES = "INSUFFICIENT_SCOPES"
_INVISIBLE = frozenset({NOT_FOUND, FORBIDDEN})
"""Error types that mean "this issue cannot be seen": the issue is reported missing."""


def is_valid_ref(ref: GitHubRef) -> bool:
    """True when ``ref`` can name a GitHub issue, so it is safe to put in a URL path."""
    if type(ref.number) is not int or ref.number < 1:  # a bool is an int, not an issue number
        return False
    return is_repo_name(ref.repo)


# --- batching ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepoSlice:
    """The issues of one repository inside one query, under the alias ``alias``."""

    alias: str
    repo: str
    refs: tuple[GitHubRef, ...]


@dataclass(frozen=True, slots=True)
class IssueBatch:
    """What one GraphQL request reads: at most ``MAX_ISSUES_PER_QUERY`` issues."""

    repos: tuple[RepoSlice, ...]


def plan_batches(refs: Iterable[GitHubRef], size: int = MAX_ISSUES_PER_QUERY) -> list[IssueBatch]:
    """Pack issues into as few queries as possible: ``ceil(n / size)`` whatever the repos.

    Issues are sorted so that one repository's issues stay together and a query
    mentions as few repositories as it can; duplicates (same canonical reference)
    are read once.
    """
    unique = sorted(dict.fromkeys(refs))
    batches: list[IssueBatch] = []
    for start in range(0, len(unique), size):
        batches.append(_group_by_repo(unique[start : start + size]))
    return batches


def _group_by_repo(refs: Sequence[GitHubRef]) -> IssueBatch:
    grouped: dict[str, list[GitHubRef]] = {}
    for ref in refs:
        grouped.setdefault(ref.repo.lower(), []).append(ref)
    return IssueBatch(
        tuple(
            RepoSlice(alias=f"r{index}", repo=members[0].repo, refs=tuple(members))
            for index, members in enumerate(grouped.values())
        )
    )


# --- the query document -----------------------------------------------------------------


def issue_alias(ref: GitHubRef) -> str:
    return f"i{ref.number}"


def issue_fields(
    *,
    enable_duplicate: bool = True,
    for_writes: bool = False,
    structure: bool = False,
    comments: bool = False,
) -> str:
    """The fragments every aliased ``issueOrPullRequest`` selects: one per kind.

    ``stateReason`` reports ``DUPLICATE`` only when asked with ``enableDuplicate``;
    without it a duplicate reads as ``NOT_PLANNED``. Older GitHub Enterprise
    servers reject the argument, hence the switch. ``for_writes`` adds the node
    ids the mutations need (the issue's and its labels'), as the write engine's
    read asks for them (``DebussyWriteIssue``). ``structure`` (``github.sub_issues``)
    adds the issue's ``parent`` and ``subIssuesSummary``; ``comments`` the bodies of
    the latest comments, where the write read looks for Debussy's markers.
    A pull request is read for its state only: it is never written. Its ``state`` is
    aliased ``prState``: beside the issue's ``state`` (another enum) in one selection,
    GraphQL refuses two fields of one name with different types.
    """
    state_reason = "stateReason(enableDuplicate: true)" if enable_duplicate else "stateReason"
    name, issue_id, label = (
        ("DebussyWriteIssue", "  id\n", "id name") if for_writes else ("DebussyIssue", "", "name")
    )
    extra = ""
    if structure:
        extra += (
            "  parent { id number repository { nameWithOwner } }\n"
            "  subIssuesSummary { completed total }\n"
        )
    if comments:
        extra += f"  comments(last: {COMMENTS_READ}) {{ nodes {{ body }} }}\n"
    return (
        f"fragment {name} on Issue {{\n"
        f"{issue_id}"
        "  number\n"
        "  state\n"
        f"  {state_reason}\n"
        "  title\n"
        "  url\n"
        "  updatedAt\n"
        "  closedAt\n"
        f"  labels(first: {LABELS_PER_ISSUE}) {{ nodes {{ {label} }} }}\n"
        "  milestone { title }\n"
        f"{extra}"
        "}\n"
        f"fragment {PULL_FRAGMENT} on PullRequest {{\n"
        "  number\n"
        "  prState: state\n"
        "  isDraft\n"
        "  title\n"
        "  url\n"
        "  updatedAt\n"
        "  closedAt\n"
        "  mergedAt\n"
        "}\n"
    )


PULL_FRAGMENT = "DebussyPull"
COMMENTS_READ = 100
"""The latest comments the write read searches for a marker (a connection page holds 100)."""


def issue_selection(ref: GitHubRef, fragment: str) -> str:
    """``issueOrPullRequest``: ``issue(number:)`` answers NOT_FOUND for a pull request,
    which would make a linked pull request look deleted."""
    return (
        f"issueOrPullRequest(number: {int(ref.number)}) "
        f"{{ __typename ...{fragment} ...{PULL_FRAGMENT} }}"
    )


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, str]

    def body(self) -> dict[str, Any]:
        return {"query": self.query, "variables": self.variables}


def build_query(
    batch: IssueBatch, *, enable_duplicate: bool = True, structure: bool = False
) -> GraphQLRequest:
    """One query reading every issue (or pull request) of ``batch``, repositories side by side."""
    return batch_document(
        "DebussyIssues",
        batch,
        lambda ref: issue_selection(ref, "DebussyIssue"),
        issue_fields(enable_duplicate=enable_duplicate, structure=structure),
    )


def batch_document(
    operation: str,
    batch: IssueBatch,
    issue_selection: Callable[[GitHubRef], str],
    fragments: str,
    *,
    variables: Mapping[str, str] | None = None,
    repo_fields: str = "",
) -> GraphQLRequest:
    """The one way a batch becomes a GraphQL document (reads and the write engine's read).

    Owner and name travel as variables, so no user text is ever spliced into the
    document; issue numbers are validated ints and appear as literals. ``variables``
    come first (already declared as ``String!``), then each repository's owner and
    name; ``repo_fields`` are selected in every repository before its issues.
    """
    values = dict(variables or {})
    declarations = [f"${name}: String!" for name in values]
    selections: list[str] = []
    for index, part in enumerate(batch.repos):
        owner_var, name_var = f"owner{index}", f"name{index}"
        declarations.append(f"${owner_var}: String!, ${name_var}: String!")
        values[owner_var], values[name_var] = part.repo.split("/", 1)
        issues = "".join(f"    {issue_alias(ref)}: {issue_selection(ref)}\n" for ref in part.refs)
        selections.append(
            f"  {part.alias}: repository(owner: ${owner_var}, name: ${name_var}) {{\n"
            f"{repo_fields}{issues}  }}\n"
        )
    query = (
        f"query {operation}({', '.join(declarations)}) {{\n"
        + "".join(selections)
        + "}\n"
        + fragments
    )
    return GraphQLRequest(query=query, variables=values)


# --- parsing GraphQL answers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GraphQLProblem:
    """One entry of a GraphQL ``errors`` array, reduced to what decisions need."""

    message: str
    type: str | None
    path: tuple[str | int, ...]
    code: str | None = None
    saml_failure: bool = False
    """``extensions.saml_failure``: an organisation's SAML SSO refused this token."""


def graphql_problems(payload: Any) -> list[GraphQLProblem]:
    """The ``errors`` array of an answer, checked for shape."""
    if not isinstance(payload, dict):
        raise _bad("a GraphQL answer that is not a JSON object")
    raw = payload.get("errors")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad("a GraphQL 'errors' field that is not a list")
    problems: list[GraphQLProblem] = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
            raise _bad("a GraphQL error without a message")
        kind = entry.get("type")
        path = entry.get("path")
        code = entry.get("code")
        extensions = entry.get("extensions")
        saml = isinstance(extensions, dict) and extensions.get("saml_failure") is True
        problems.append(
            GraphQLProblem(
                message=entry["message"],
                type=kind if isinstance(kind, str) else None,
                path=tuple(path) if isinstance(path, list) else (),
                code=code if isinstance(code, str) else None,
                saml_failure=saml,
            )
        )
    return problems


def is_rate_limited(payload: Any) -> bool:
    """True when GitHub answered a query with a rate-limit error, in either shape."""
    try:
        return any(
            problem.type in RATE_LIMIT_TYPES or problem.code == RATE_LIMIT_CODE
            for problem in graphql_problems(payload)
        )
    except BadResponseError:
        return False


LIMIT_PHRASES = (
    "rate limit",
    "abuse detection",
    "was submitted too quickly",
)
"""Words of GitHub's rate-limit answers that may come with any status and without a
``type``: "API rate limit exceeded" (primary), "You have exceeded a secondary rate
limit", the older "You have triggered an abuse detection mechanism", and the
content-creation limit's per-field "was submitted too quickly" (docs/RELIABILITY.md)."""


def says_limited(message: str) -> bool:
    """True when an error message is one of GitHub's rate-limit answers."""
    folded = message.casefold()
    return any(phrase in folded for phrase in LIMIT_PHRASES)


def limit_problems(payload: Any) -> list[GraphQLProblem]:
    """The errors of an answer that are rate limits, whatever their type or path."""
    try:
        problems = graphql_problems(payload)
    except BadResponseError:
        return []
    return [
        problem
        for problem in problems
        if problem.type in RATE_LIMIT_TYPES
        or problem.code == RATE_LIMIT_CODE
        or says_limited(problem.message)
    ]


def saml_protected(payload: Any) -> list[tuple[str | int, ...]]:
    """Paths of the parts of an answer an organisation's SAML SSO withheld from the token."""
    try:
        return [problem.path for problem in graphql_problems(payload) if problem.saml_failure]
    except BadResponseError:
        return []


def rejects_argument(payload: Any, argument: str) -> bool:
    """True when the server refused the query because it does not know ``argument``."""
    if not isinstance(payload, dict) or payload.get("data") is not None:
        return False
    try:
        problems = graphql_problems(payload)
    except BadResponseError:
        return False
    return any(argument in problem.message for problem in problems)


def parse_batch(
    batch: IssueBatch, payload: Any, *, auth_hint: str = ""
) -> dict[GitHubRef, IssueStatus]:
    """Map one GraphQL answer to a status per issue of ``batch``.

    A repository or issue that comes back ``null`` with a ``NOT_FOUND`` (or
    ``FORBIDDEN``: visible to someone, not to this token) error is missing; a
    ``null`` with any other explanation, or none, is a bad response.
    """
    problems = graphql_problems(payload)
    data = payload.get("data")
    if data is None:
        raise _no_data(problems, auth_hint)
    if not isinstance(data, dict):
        raise _bad("a GraphQL 'data' field that is not an object")
    statuses: dict[GitHubRef, IssueStatus] = {}
    for part in batch.repos:
        statuses.update(_parse_repo(part, data, problems))
    return statuses


def _parse_repo(
    part: RepoSlice, data: Mapping[str, Any], problems: Sequence[GraphQLProblem]
) -> dict[GitHubRef, IssueStatus]:
    if part.alias not in data:
        raise _bad(f"a GraphQL answer without repository {part.repo}")
    node = data[part.alias]
    if node is None:
        _explain_null(f"repository {part.repo}", (part.alias,), problems)
        return {ref: IssueStatus.missing_issue(ref) for ref in part.refs}
    if not isinstance(node, dict):
        raise _bad(f"repository {part.repo} as something other than an object")
    statuses: dict[GitHubRef, IssueStatus] = {}
    for ref in part.refs:
        alias = issue_alias(ref)
        if alias not in node:
            raise _bad(f"a GraphQL answer without issue {_display(ref)}")
        issue = node[alias]
        if issue is None:
            _explain_null(f"issue {_display(ref)}", (part.alias, alias), problems)
            statuses[ref] = IssueStatus.missing_issue(ref)
        else:
            statuses[ref] = _status_from_graphql(ref, issue)
    return statuses


def _explain_null(what: str, path: tuple[str, ...], problems: Sequence[GraphQLProblem]) -> None:
    """Accept a ``null`` only when an error at exactly that path says it cannot be seen."""
    for problem in problems:
        if problem.path == path:
            if problem.type in _INVISIBLE:
                return
            raise BadResponseError("github", f"GitHub could not read {what}: {problem.message}")
    raise _bad(f"{what} as null without an error explaining why")


def _no_data(
    problems: Sequence[GraphQLProblem], auth_hint: str
) -> BadResponseError | TrackerAuthError:
    if not problems:
        return _bad("a GraphQL answer with neither data nor errors")
    messages = "; ".join(problem.message for problem in problems[:3])
    if any(problem.type == INSUFFICIENT_SCOPES for problem in problems):
        hint = f"; {auth_hint}" if auth_hint else ""
        return TrackerAuthError("github", f"GitHub refused the query: {messages}{hint}")
    return BadResponseError("github", f"GitHub rejected the query: {messages}")


# What GitHub sends, as far as Debussy reads it. msgspec Structs, not pydantic models:
# msgspec imports in a few milliseconds where pydantic took ~70 on every cold read
# (notes/NOTES_performance.md). ``msgspec.convert`` is strict: a number where a name
# belongs is a bad answer, never coerced. Unknown fields are ignored; ``rename`` gives
# the camelCase names GraphQL uses.


class _Named(msgspec.Struct, frozen=True):
    name: str


class _Titled(msgspec.Struct, frozen=True):
    title: str


class _LabelConnection(msgspec.Struct, frozen=True):
    nodes: list[_Named]


class _RepoName(msgspec.Struct, frozen=True, rename="camel"):
    name_with_owner: str


class _Parent(msgspec.Struct, frozen=True):
    number: int
    repository: _RepoName


class _Summary(msgspec.Struct, frozen=True):
    completed: int
    total: int


class _GraphQLIssue(msgspec.Struct, frozen=True, rename="camel"):
    state: Literal["OPEN", "CLOSED"]
    state_reason: str | None
    title: str
    url: str
    updated_at: str
    closed_at: str | None
    labels: _LabelConnection
    milestone: _Titled | None
    parent: _Parent | None = None
    sub_issues_summary: _Summary | None = None


class _GraphQLPull(msgspec.Struct, frozen=True, rename="camel"):
    pr_state: Literal["OPEN", "CLOSED", "MERGED"]
    is_draft: bool
    title: str
    url: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None


def pull_state(state: str, *, draft: bool, merged: bool) -> str:
    """``open``, ``draft``, ``merged`` or ``closed`` (unmerged): what Debussy shows."""
    if merged:
        return "merged"
    if state == "closed":
        return "closed"
    return "draft" if draft else "open"


def pull_reason(state: str) -> str | None:
    """A merged pull request reads as closed as completed, a closed one as not planned."""
    return {"merged": "completed", "closed": "not_planned"}.get(state)


def _status_from_graphql(ref: GitHubRef, node: Any) -> IssueStatus:
    if isinstance(node, dict) and node.get("__typename") == "PullRequest":
        return _pull_from_graphql(ref, node)
    issue = read_issue(_GraphQLIssue, node, ref)
    state = issue.state.lower()
    parent = issue.parent
    summary = issue.sub_issues_summary
    return IssueStatus(
        platform="github",
        id=ref.canonical,
        state=state,
        state_reason=issue.state_reason.lower() if issue.state_reason else None,
        labels=tuple(label.name for label in issue.labels.nodes),
        milestone=issue.milestone.title if issue.milestone else None,
        title=issue.title,
        url=issue.url,
        last_updated=_moment(ref, "updatedAt", issue.updated_at),
        state_changed_at=_closed_moment(ref, state, issue.closed_at),
        parent=(
            GitHubRef(parent.repository.name_with_owner, parent.number).canonical
            if parent is not None
            else None
        ),
        sub_issues=(summary.completed, summary.total) if summary is not None else None,
    )


def _pull_from_graphql(ref: GitHubRef, node: Any) -> IssueStatus:
    pull = read_issue(_GraphQLPull, node, ref)
    state = pull_state(pull.pr_state.lower(), draft=pull.is_draft, merged=pull.pr_state == "MERGED")
    changed = pull.merged_at or pull.closed_at
    return _pull_status(
        ref, state, pull.title, pull.url, ("updatedAt", pull.updated_at), ("mergedAt", changed)
    )


def _pull_status(
    ref: GitHubRef,
    state: str,
    title: str,
    url: str,
    updated: tuple[str, str],
    changed: tuple[str, str | None],
    etag: str | None = None,
) -> IssueStatus:
    """A pull request as GraphQL and REST both read it; ``updated``/``changed`` are
    ``(field, time)`` so a bad time names the field of the answer it came from."""
    return IssueStatus(
        platform="github",
        id=ref.canonical,
        kind="pr",
        state=state,
        state_reason=pull_reason(state),
        title=title,
        url=url,
        last_updated=_moment(ref, *updated),
        state_changed_at=_moment(ref, changed[0], changed[1]) if changed[1] is not None else None,
        etag=etag,
    )


# --- parsing REST answers ---------------------------------------------------------------


class _RestPull(msgspec.Struct, frozen=True, kw_only=True):
    merged_at: str | None = None


class _RestIssue(msgspec.Struct, frozen=True, kw_only=True):
    state: Literal["open", "closed"]
    state_reason: str | None = None
    title: str
    html_url: str
    updated_at: str
    closed_at: str | None
    labels: list[_Named | str]
    milestone: _Titled | None
    pull_request: _RestPull | None = None
    draft: bool = False


def status_from_rest(ref: GitHubRef, data: Any, etag: str | None) -> IssueStatus:
    """An issue (or a pull request) from ``GET /repos/{o}/{r}/issues/{n}``.

    A pull request answers on the same endpoint with a ``pull_request`` object whose
    ``merged_at`` says whether it merged, and ``draft``: read as GraphQL reads it.
    """
    issue = read_issue(_RestIssue, data, ref)
    if issue.pull_request is not None:
        merged = issue.pull_request.merged_at
        state = pull_state(issue.state, draft=issue.draft, merged=merged is not None)
        return _pull_status(
            ref,
            state,
            issue.title,
            issue.html_url,
            ("updated_at", issue.updated_at),
            ("merged_at", merged or issue.closed_at),
            etag,
        )
    return IssueStatus(
        platform="github",
        id=ref.canonical,
        state=issue.state,
        state_reason=issue.state_reason.lower() if issue.state_reason else None,
        labels=tuple(label if isinstance(label, str) else label.name for label in issue.labels),
        milestone=issue.milestone.title if issue.milestone else None,
        title=issue.title,
        url=issue.html_url,
        last_updated=_moment(ref, "updated_at", issue.updated_at),
        state_changed_at=_closed_moment(ref, issue.state, issue.closed_at),
        etag=etag,
    )


def label_names_from_rest(ref: GitHubRef, data: Any) -> tuple[str, ...]:
    """Names from a REST label list (``GET``/``PUT .../issues/{n}/labels``)."""
    if not isinstance(data, list):
        raise _bad(f"the labels of {_display(ref)} as something other than a list")
    names: list[str] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _bad(f"a label of {_display(ref)} without a name")
        names.append(item["name"])
    return tuple(names)


# --- helpers ----------------------------------------------------------------------------


AnswerT = TypeVar("AnswerT", bound=msgspec.Struct)


def read_issue(model: type[AnswerT], data: Any, ref: GitHubRef) -> AnswerT:
    """``data`` (one issue's JSON) as ``model``, or a ``BadResponseError`` naming the field."""
    if not isinstance(data, dict):
        raise _bad(f"issue {_display(ref)} as something other than an object")
    try:
        return msgspec.convert(data, type=model)
    except msgspec.ValidationError as exc:
        message = bad_fields_message("GitHub", f"issue {_display(ref)}", exc, whole="(issue)")
        raise BadResponseError("github", message) from None


def _moment(ref: GitHubRef, field: str, text: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        raise _bad(f"issue {_display(ref)} with a bad '{field}': not a timestamp") from None


def _closed_moment(ref: GitHubRef, state: str, closed_at: str | None) -> datetime | None:
    """When the issue was closed; ``None`` while it is open.

    GitHub does not say when an issue was *reopened* (that needs the timeline),
    so an open issue has no state change time and drift falls back to updatedAt.
    """
    if state != "closed" or closed_at is None:
        return None
    return _moment(ref, "closedAt", closed_at)


def _display(ref: GitHubRef) -> str:
    return f"{ref.repo}#{ref.number}"


def _bad(what: str) -> BadResponseError:
    return BadResponseError("github", f"GitHub sent {what}")
