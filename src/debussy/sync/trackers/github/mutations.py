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
from typing import Any

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
    parse_batch,
    read_issue,
)

MAX_ISSUES_PER_MUTATION = 50
"""Issues whose writes share one mutation request (docs/PERFORMANCE.md: ceil(n/50) requests)."""


def write_fields(*, enable_duplicate: bool = True) -> str:
    """The read fragment with the node ids mutations need (``query.issue_fields``)."""
    return issue_fields(enable_duplicate=enable_duplicate, for_writes=True)


def label_alias(index: int) -> str:
    return f"label{index}"


def build_write_query(
    batch: IssueBatch, label_names: Sequence[str], *, enable_duplicate: bool = True
) -> GraphQLRequest:
    """One query reading ``batch`` for writing, plus each repository's Debussy labels."""
    aliases = {label_alias(index): name for index, name in enumerate(label_names)}
    labels = "".join(f"    {alias}: label(name: ${alias}) {{ id name }}\n" for alias in aliases)
    return batch_document(
        "DebussyWriteRead",
        batch,
        lambda ref: (
            f"issueOrPullRequest(number: {int(ref.number)}) "
            "{ __typename ...DebussyWriteIssue ... on PullRequest { number } }"
        ),
        write_fields(enable_duplicate=enable_duplicate),
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

    def merge(self, other: WriteIds) -> None:
        self.issues.update(other.issues)
        self.pull_requests |= other.pull_requests
        self.repos.update(other.repos)
        self.labels.update(other.labels)


class _IdNamed(msgspec.Struct, frozen=True):
    id: str
    name: str


class _Nodes(msgspec.Struct, frozen=True):
    nodes: list[_IdNamed]


class _IssueIds(msgspec.Struct, frozen=True):
    """The node ids of an issue in the write read (its status is parsed by ``parse_batch``)."""

    typename: str = msgspec.field(name="__typename")
    id: str | None = None
    labels: _Nodes | None = None


def parse_write_batch(
    batch: IssueBatch, label_names: Sequence[str], payload: Any, *, auth_hint: str = ""
) -> tuple[dict[GitHubRef, IssueStatus], WriteIds]:
    """Statuses (pull requests: missing, flagged in ``WriteIds``) and node ids."""
    ids = WriteIds()
    statuses: dict[GitHubRef, IssueStatus] = {}
    data = payload.get("data") if isinstance(payload, dict) else None
    # Pull requests answer as a PullRequest object: read as "not an issue" before the
    # status parser, which would reject a node without issue fields.
    cleaned: dict[str, Any] = {}
    if isinstance(data, dict):
        for part in batch.repos:
            node = data.get(part.alias)
            if not isinstance(node, dict):
                cleaned[part.alias] = node
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
            kept: dict[str, Any] = {}
            for ref in part.refs:
                alias = issue_alias(ref)
                issue = node.get(alias)
                if isinstance(issue, dict) and issue.get("__typename") == "PullRequest":
                    ids.pull_requests.add(ref)
                    statuses[ref] = IssueStatus.missing_issue(ref)
                    kept[alias] = None
                    continue
                if isinstance(issue, dict):
                    parsed = read_issue(_IssueIds, issue, ref)
                    if parsed.id is None:
                        raise BadResponseError(
                            "github", f"GitHub sent {ref.repo}#{ref.number} without an id"
                        )
                    ids.issues[ref] = parsed.id
                    for label in parsed.labels.nodes if parsed.labels else ():
                        ids.labels[(repo_key, label.name.casefold())] = label.id
                kept[alias] = issue
            cleaned[part.alias] = kept
        payload = {**payload, "data": cleaned}
    # Pull requests were nulled above; give them the NOT_FOUND the status parser accepts.
    extra = [
        {"type": "NOT_FOUND", "message": "pull request", "path": [part.alias, issue_alias(ref)]}
        for part in batch.repos
        for ref in part.refs
        if ref in ids.pull_requests
    ]
    if extra and isinstance(payload, dict):
        payload = {**payload, "errors": [*(payload.get("errors") or []), *extra]}
    parsed_statuses = parse_batch(batch, payload, auth_hint=auth_hint)
    for ref, status in parsed_statuses.items():
        statuses.setdefault(ref, status)
    return statuses, ids


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


def create_label(alias: str, repo_id: str, name: str, color: str) -> Mutation:
    return Mutation(
        alias,
        "createLabel",
        "CreateLabelInput",
        {"repositoryId": repo_id, "name": name, "color": color},
        selection="label { id name }",
    )


def mutation_failures(payload: Any, aliases: Sequence[str]) -> tuple[dict[str, str], str | None]:
    """Per alias, the error GitHub reported for it; and a whole-request error, if any.

    A field that came back ``null`` with an error at its path failed; the others
    ran. An answer without ``data`` failed as a whole (nothing was applied).
    """
    problems: list[GraphQLProblem] = graphql_problems(payload)
    data = payload.get("data")
    if not isinstance(data, dict):
        text = "; ".join(problem.message for problem in problems[:3]) or "no data"
        return {}, redact(f"GitHub rejected the mutation: {text}")[:300]
    failed: dict[str, str] = {}
    for problem in problems:
        head = problem.path[0] if problem.path else None
        if isinstance(head, str) and head in aliases:
            failed[head] = redact(problem.message)[:300]
    for alias in aliases:
        if alias not in data and alias not in failed:
            failed[alias] = "GitHub sent no answer for this write"
    return failed, None


def rejects_mutations(payload: Any) -> bool:
    """True when the server does not know a mutation we use (an older GitHub Enterprise)."""
    if not isinstance(payload, dict) or payload.get("data") is not None:
        return False
    try:
        problems = graphql_problems(payload)
    except BadResponseError:
        return False
    return any("on type 'Mutation'" in problem.message for problem in problems)
