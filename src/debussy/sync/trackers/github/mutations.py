"""GraphQL documents for GitHub writes: the read that precedes them, and the mutations.

The convergence read is the status query plus what a write needs: the issue's
node ``id``, its labels' ids, whether the number is a pull request
(``issueOrPullRequest``; ``issue(number:)`` says NOT_FOUND for one, which would
make a linked pull request look deleted) and, per repository, the node ids of the
Debussy labels (``label(name:)``) so a missing one is created once.

Mutations go several to a request, each under an alias with its input as a
variable (no user text is spliced into a document). GitHub runs the top-level
fields of a mutation one after the other, in order, so "reopen, then close with
a new reason" in one request happens in that order.
Docs: https://docs.github.com/graphql/reference/mutations
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from debussy.errors import BadResponseError, redact
from debussy.issues import GitHubRef, IssueStatus
from debussy.sync.trackers.github.query import (
    GraphQLProblem,
    GraphQLRequest,
    IssueBatch,
    batch_document,
    graphql_problems,
    issue_alias,
    issue_fields,
    issue_selection,
    limit_problems,
    parse_batch,
    read_issue,
)
from debussy.sync.trackers.markers import markers_in

if TYPE_CHECKING:
    from debussy.sync.trackers.writes import Outcome

MAX_MUTATIONS_PER_REQUEST = 50
"""Mutation fields in one request (PRODUCT.md §9). An issue's writes take one to four
fields (a comment or a sub-issue link adds one); 200 in one request came near GitHub's
10-second GraphQL timeout, after which nothing can be told about what applied
(docs/RELIABILITY.md)."""


def write_fields(
    *, enable_duplicate: bool = True, structure: bool = False, comments: bool = False
) -> str:
    """The read fragment with the node ids mutations need (``query.issue_fields``)."""
    return issue_fields(
        enable_duplicate=enable_duplicate, for_writes=True, structure=structure, comments=comments
    )


def label_alias(index: int) -> str:
    return f"label{index}"


def build_write_query(
    batch: IssueBatch,
    label_names: Sequence[str],
    *,
    enable_duplicate: bool = True,
    structure: bool = False,
    comments: bool = False,
) -> GraphQLRequest:
    """One query reading ``batch`` for writing, plus each repository's Debussy labels.

    ``structure``: each issue's parent and sub-issue progress (``github.sub_issues``);
    ``comments``: the latest comment bodies, searched for Debussy's markers (only
    when a write might comment).
    """
    aliases = {label_alias(index): name for index, name in enumerate(label_names)}
    labels = "".join(f"    {alias}: label(name: ${alias}) {{ id name }}\n" for alias in aliases)
    return batch_document(
        "DebussyWriteRead",
        batch,
        lambda ref: issue_selection(ref, "DebussyWriteIssue"),
        write_fields(enable_duplicate=enable_duplicate, structure=structure, comments=comments),
        variables=aliases,
        repo_fields=f"    id\n{labels}",
    )


@dataclass(slots=True)
class WriteIds:
    """Node ids learnt by the convergence read, by canonical names (case-folded)."""

    issues: dict[GitHubRef, str] = field(default_factory=dict[GitHubRef, str])
    pull_requests: set[GitHubRef] = field(default_factory=set[GitHubRef])
    repos: dict[str, str] = field(default_factory=dict[str, str])
    """``owner/name`` folded → repository id (for ``createLabel``)."""
    labels: dict[tuple[str, str], str] = field(default_factory=dict[tuple[str, str], str])
    """(repo folded, label folded) → label id."""
    markers: dict[GitHubRef, frozenset[str]] = field(
        default_factory=dict[GitHubRef, frozenset[str]]
    )
    """The Debussy markers found in each issue's latest comments (when they were read)."""
    parents: dict[GitHubRef, str] = field(default_factory=dict[GitHubRef, str])
    """The node id of each issue's parent (when structure was read and it has one)."""

    def merge(self, other: WriteIds) -> None:
        self.issues.update(other.issues)
        self.pull_requests |= other.pull_requests
        self.repos.update(other.repos)
        self.labels.update(other.labels)
        self.markers.update(other.markers)
        self.parents.update(other.parents)


class _IdNamed(msgspec.Struct, frozen=True):
    id: str
    name: str


class _Nodes(msgspec.Struct, frozen=True):
    nodes: list[_IdNamed]


class _Body(msgspec.Struct, frozen=True):
    body: str


class _Comments(msgspec.Struct, frozen=True):
    nodes: list[_Body | None]


class _ParentId(msgspec.Struct, frozen=True):
    id: str


class _IssueIds(msgspec.Struct, frozen=True):
    """The node ids of an issue in the write read (its status is parsed by ``parse_batch``)."""

    typename: str = msgspec.field(name="__typename")
    id: str | None = None
    labels: _Nodes | None = None
    comments: _Comments | None = None
    parent: _ParentId | None = None


def parse_write_batch(
    batch: IssueBatch, label_names: Sequence[str], payload: Any, *, auth_hint: str = ""
) -> tuple[dict[GitHubRef, IssueStatus], WriteIds]:
    """Statuses (pull requests with ``kind="pr"``, flagged in ``WriteIds``) and node ids."""
    ids = WriteIds()
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict):
        for part in batch.repos:
            node = data.get(part.alias)
            if not isinstance(node, dict):
                continue
            repo_key = part.repo.casefold()
            if isinstance(node.get("id"), str):
                ids.repos[repo_key] = node["id"]
            for index in range(len(label_names)):
                label = node.get(label_alias(index))
                if isinstance(label, dict) and isinstance(label.get("id"), str):
                    name = label.get("name")
                    folded = (name if isinstance(name, str) else label_names[index]).casefold()
                    ids.labels[(repo_key, folded)] = label["id"]
            for ref in part.refs:
                issue = node.get(issue_alias(ref))
                if isinstance(issue, dict) and issue.get("__typename") == "PullRequest":
                    ids.pull_requests.add(ref)
                elif isinstance(issue, dict):
                    _learn_issue(ids, ref, repo_key, read_issue(_IssueIds, issue, ref))
    return parse_batch(batch, payload, auth_hint=auth_hint), ids


def _learn_issue(ids: WriteIds, ref: GitHubRef, repo_key: str, parsed: _IssueIds) -> None:
    if parsed.id is None:
        raise BadResponseError("github", f"GitHub sent {ref.repo}#{ref.number} without an id")
    ids.issues[ref] = parsed.id
    for label in parsed.labels.nodes if parsed.labels else ():
        ids.labels[(repo_key, label.name.casefold())] = label.id
    if parsed.comments is not None:
        ids.markers[ref] = frozenset(
            marker
            for comment in parsed.comments.nodes
            if comment is not None
            for marker in markers_in(comment.body)
        )
    if parsed.parent is not None:
        ids.parents[ref] = parsed.parent.id


# --- mutations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mutation:
    """One aliased mutation field: ``name(input: $alias)`` with ``input`` as its variable."""

    alias: str
    name: str
    input_type: str
    input: Mapping[str, Any]
    selection: str = "clientMutationId"


def build_mutation(mutations: Sequence[Mutation]) -> dict[str, Any]:
    """The POST body of one mutation request holding ``mutations``, in order."""
    declarations = ", ".join(f"${m.alias}: {m.input_type}!" for m in mutations)
    fields = "".join(
        f"  {m.alias}: {m.name}(input: ${m.alias}) {{ {m.selection} }}\n" for m in mutations
    )
    return {
        "query": f"mutation DebussyWrites({declarations}) {{\n{fields}}}\n",
        "variables": {m.alias: dict(m.input) for m in mutations},
    }


def add_labels(alias: str, issue_id: str, label_ids: Sequence[str]) -> Mutation:
    return Mutation(
        alias,
        "addLabelsToLabelable",
        "AddLabelsToLabelableInput",
        {"labelableId": issue_id, "labelIds": list(label_ids)},
    )


def remove_labels(alias: str, issue_id: str, label_ids: Sequence[str]) -> Mutation:
    return Mutation(
        alias,
        "removeLabelsFromLabelable",
        "RemoveLabelsFromLabelableInput",
        {"labelableId": issue_id, "labelIds": list(label_ids)},
    )


def close_issue(alias: str, issue_id: str, reason: str) -> Mutation:
    return Mutation(
        alias, "closeIssue", "CloseIssueInput", {"issueId": issue_id, "stateReason": reason.upper()}
    )


def reopen_issue(alias: str, issue_id: str) -> Mutation:
    return Mutation(alias, "reopenIssue", "ReopenIssueInput", {"issueId": issue_id})


def add_comment(alias: str, subject_id: str, body: str) -> Mutation:
    return Mutation(alias, "addComment", "AddCommentInput", {"subjectId": subject_id, "body": body})


def add_sub_issue(alias: str, parent_id: str, child_id: str) -> Mutation:
    """``addSubIssue`` without ``replaceParent``: an issue under another parent stays there."""
    return Mutation(
        alias, "addSubIssue", "AddSubIssueInput", {"issueId": parent_id, "subIssueId": child_id}
    )


def remove_sub_issue(alias: str, parent_id: str, child_id: str) -> Mutation:
    return Mutation(
        alias,
        "removeSubIssue",
        "RemoveSubIssueInput",
        {"issueId": parent_id, "subIssueId": child_id},
    )


def create_label(alias: str, repo_id: str, name: str, color: str) -> Mutation:
    return Mutation(
        alias,
        "createLabel",
        "CreateLabelInput",
        {"repositoryId": repo_id, "name": name, "color": color},
        selection="label { id name }",
    )


@dataclass(frozen=True, slots=True)
class AliasOutcome:
    """What became of one aliased mutation field (see ``mutation_outcomes``)."""

    outcome: Outcome
    detail: str | None = None


@dataclass(slots=True)
class MutationAnswer:
    """Per alias, its outcome; ``stop``: why no further mutation may be sent, if so."""

    aliases: dict[str, AliasOutcome] = field(default_factory=dict[str, AliasOutcome])
    stop: str | None = None


_UNCONFIRMED_NULL = "GitHub answered without confirming this write (null field)"
_UNCONFIRMED_ABSENT = "GitHub sent no answer for this write"
_MAY_HAVE_RUN = ("something went wrong", "timeout", "timed out", "resource limits")
"""Pathless errors after which the fields before them may have run (a timeout, "resource
limits exceeded" partway): the affected writes are unconfirmed and writing stops."""


def mutation_outcomes(payload: Any, aliases: Sequence[str]) -> MutationAnswer:
    """Per alias, whether GitHub confirmed it; and whether to stop writing.

    Only a field that came back as an object confirms its write (``applied``).
    A field with an error at its path was refused (the error's message); a field
    that is ``null`` or absent with no error of its own is ``unconfirmed``: GitHub
    may have run it (a timeout, "resource limits exceeded" partway) or not, and
    the next read decides. A rate-limit error anywhere — ``RATE_LIMITED`` with or
    without a type, a secondary limit, "was submitted too quickly" on one alias
    (the content-creation limit) — stops all further writes, as do errors that
    say the request ran out of time or resources. An answer without ``data``
    applied nothing when its errors are validation errors (``refused``); after a
    timeout it is unconfirmed.
    """
    answer = MutationAnswer()
    try:
        problems: list[GraphQLProblem] = graphql_problems(payload)
    except BadResponseError as exc:
        for alias in aliases:
            answer.aliases[alias] = AliasOutcome("unconfirmed", exc.message)
        return answer
    limits = limit_problems(payload)
    pathless = [p for p in problems if not p.path]
    pathless_text = redact("; ".join(p.message for p in pathless[:3]))[:300]
    may_have_run = any(
        phrase in problem.message.casefold() for problem in pathless for phrase in _MAY_HAVE_RUN
    )
    if limits:
        answer.stop = redact(f"GitHub rate limit: {limits[0].message}")[:300]
    elif may_have_run:
        answer.stop = f"GitHub could not finish the request: {pathless_text}"
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        text = "; ".join(problem.message for problem in problems[:3]) or "no data"
        detail = redact(f"GitHub did not run the mutation: {text}")[:300]
        outcome: Outcome = "refused" if problems and not may_have_run else "unconfirmed"
        for alias in aliases:
            answer.aliases[alias] = AliasOutcome(outcome, detail)
        return answer
    refused: dict[str, str] = {}
    for problem in problems:
        head = problem.path[0] if problem.path else None
        if isinstance(head, str) and head in aliases:
            refused.setdefault(head, redact(problem.message)[:300])
    for alias in aliases:
        if alias in refused:
            answer.aliases[alias] = AliasOutcome("refused", refused[alias])
        elif isinstance(data.get(alias), dict):
            answer.aliases[alias] = AliasOutcome("applied")
        else:
            why = _UNCONFIRMED_NULL if alias in data else _UNCONFIRMED_ABSENT
            if pathless_text:
                why += f"; GitHub said: {pathless_text}"
            answer.aliases[alias] = AliasOutcome("unconfirmed", why)
    return answer


def worst(outcomes: Sequence[AliasOutcome]) -> AliasOutcome:
    """One write sent as several fields (labels: remove, then add): its weakest outcome."""
    for kind in ("refused", "unconfirmed"):
        for item in outcomes:
            if item.outcome == kind:
                return item
    return outcomes[0] if outcomes else AliasOutcome("applied")


def chunk_by_mutations(
    groups: Sequence[Sequence[Mutation]], limit: int = MAX_MUTATIONS_PER_REQUEST
) -> list[list[int]]:
    """Indices of ``groups`` per request: at most ``limit`` mutations, a group never split.

    One issue's mutations stay in one request because GitHub runs them in order
    (reopen, then close with a new reason).
    """
    chunks: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, group in enumerate(groups):
        if current and size + len(group) > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(index)
        size += len(group)
    if current:
        chunks.append(current)
    return chunks


def rejects_mutations(payload: Any) -> bool:
    """True when the server does not know a mutation we use (an older GitHub Enterprise)."""
    if not isinstance(payload, dict) or payload.get("data") is not None:
        return False
    try:
        problems = graphql_problems(payload)
    except BadResponseError:
        return False
    return any("on type 'Mutation'" in problem.message for problem in problems)
