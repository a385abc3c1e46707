"""GitHub's GraphQL API, the subset Debussy reads, executed with graphql-core.

The schema is ``github_schema.graphql``: type and field definitions copied from
GitHub's public schema (``tests/sandbox/cut_graphql_schema.py`` writes it), so a
query the sandbox accepts is a query GitHub accepts. graphql-core is imported
only here, and this module only when the server starts or a GraphQL request
arrives: ``import debussy.sandbox`` stays cheap.

GitHub-specific answers reproduced on top of plain graphql-core:
- a missing repository or issue resolves to ``null`` with an error carrying
  ``"type": "NOT_FOUND"`` and GitHub's message;
- connections need ``first`` or ``last`` (1..100), else the whole query fails with
  ``MISSING_PAGINATION_BOUNDARIES`` / ``EXCESSIVE_PAGINATION``;
- syntax and validation errors come back with ``errors`` and no ``data``;
- ``stateReason`` reports ``DUPLICATE`` only with ``enableDuplicate: true``
  (otherwise ``NOT_PLANNED``), as the schema's description of the enum says;
- ``issue(number:)`` on a pull request is NOT_FOUND, ``issueOrPullRequest`` says which,
  with the pull request's state (``OPEN``, ``CLOSED``, ``MERGED``) and ``isDraft``;
- sub-issues: ``parent``, ``subIssues``, ``subIssuesSummary``, ``addSubIssue`` and
  ``removeSubIssue`` with GitHub's refusals (another owner, a second parent without
  ``replaceParent``, a cycle, more than 100 under one parent) as ``UNPROCESSABLE``;
- ``comments`` of an issue (bodies), where Debussy looks for its markers;
- the issue mutations Debussy sends: labels added or removed by id (the others
  stay), ``closeIssue`` whose ``stateReason`` is ignored on a closed issue (only
  the update time moves, as on GitHub), ``reopenIssue``, ``addComment``,
  ``createLabel`` (a taken name is an ``UNPROCESSABLE`` error).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from debussy.sandbox.store import (
    Issue,
    Label,
    Milestone,
    Repo,
    Store,
    SubIssueError,
    iso,
    node_id,
)

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLError, GraphQLResolveInfo, GraphQLSchema

    Info = GraphQLResolveInfo[Any]

SCHEMA_FILE = Path(__file__).with_name("github_schema.graphql")
MAX_PAGE = 100
QUERY_LEVEL_ERRORS = frozenset({"MISSING_PAGINATION_BOUNDARIES", "EXCESSIVE_PAGINATION"})
"""Error types GitHub reports for the whole query (no data) rather than for one field."""

JSON = dict[str, Any]
SAML_MESSAGE = (
    "Resource protected by organization SAML enforcement. You must grant your Personal Access "
    "token access to this organization."
)


@dataclass(frozen=True)
class RateLimitView:
    """What ``Query.rateLimit`` answers: the caller's GraphQL window after this query."""

    limit: int
    remaining: int
    used: int
    reset_at: datetime


@dataclass(frozen=True)
class GraphQLContext:
    store: Store
    web_url: str
    """Base of ``url`` fields: the sandbox itself (GitHub Enterprise layout)."""
    rate: RateLimitView
    saml_orgs: frozenset[str] = frozenset()
    """Lower-cased owners whose SAML SSO withholds their repositories from this token."""


def _typed_error(message: str, error_type: str) -> GraphQLError:
    from graphql import GraphQLError

    return GraphQLError(message, extensions={"type": error_type})


# --------------------------------------------------------------------------- connections


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, index = text.rpartition(":")
        if prefix != "cursor:v2":
            raise ValueError(text)
        return int(index)
    except ValueError:
        from graphql import GraphQLError

        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _check_page_size(info: Info, first: int | None, last: int | None) -> None:
    name = info.field_name
    if first is None and last is None:
        raise _typed_error(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )
    for argument, size in (("first", first), ("last", last)):
        if size is not None and (size < 0 or size > MAX_PAGE):
            raise _typed_error(
                f"Requesting {size} records on the `{name}` connection exceeds the "
                f"`{argument}` limit of {MAX_PAGE} records.",
                "EXCESSIVE_PAGINATION",
            )


def _label_connection(
    info: Info,
    labels: Sequence[Label],
    context: GraphQLContext,
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    order_by: JSON | None = None,
) -> JSON:
    """A Relay connection over ``labels`` (offset cursors), as GitHub's ``LabelConnection``."""
    _check_page_size(info, first, last)
    order = order_by or {"field": "CREATED_AT", "direction": "ASC"}
    if order["field"] == "NAME":
        ordered = sorted(labels, key=lambda label: label.name.lower())
    else:
        ordered = sorted(labels, key=lambda label: (label.created_at, label.id))
    if order["direction"] == "DESC":
        ordered.reverse()
    start = _cursor_index(after) + 1 if after else 0
    stop = _cursor_index(before) if before else len(ordered)
    window = list(range(max(start, 0), min(stop, len(ordered))))
    has_next = has_previous = False
    if first is not None:
        has_next = len(window) > first
        window = window[:first]
    if last is not None:
        has_previous = len(window) > last
        window = window[len(window) - last :] if last else []
    edges = [{"cursor": _cursor(i), "node": _label(ordered[i], context)} for i in window]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "totalCount": len(ordered),
        "pageInfo": {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
        },
    }


def _labels_field(labels: Callable[[], Sequence[Label]], context: GraphQLContext) -> Any:
    """A resolver for a ``labels(...)`` field: graphql-core calls dict values that are callable."""

    def resolve(
        info: Info,
        *,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        orderBy: JSON | None = None,
        query: str | None = None,
    ) -> JSON:
        selected = list(labels())
        if query:
            needle = query.lower()
            selected = [
                label
                for label in selected
                if needle in label.name.lower() or needle in (label.description or "").lower()
            ]
        return _label_connection(
            info,
            selected,
            context,
            first=first,
            last=last,
            after=after,
            before=before,
            order_by=orderBy,
        )

    return resolve


# --------------------------------------------------------------------------- objects


def _label(label: Label, context: GraphQLContext) -> JSON:
    return {
        "color": label.color,
        "createdAt": iso(label.created_at),
        "description": label.description,
        "id": node_id("LA", label.id),
        "isDefault": label.default,
        "name": label.name,
        "updatedAt": iso(label.created_at),
        "url": f"{context.web_url}/{label.repo_name}/labels/{quote(label.name, safe='')}",
    }


def _milestone(milestone: Milestone, context: GraphQLContext) -> JSON:
    return {
        "closed": False,
        "closedAt": None,
        "createdAt": iso(milestone.created_at),
        "description": None,
        "dueOn": None,
        "id": node_id("MI", milestone.id),
        "number": milestone.number,
        "state": "OPEN",
        "title": milestone.title,
        "updatedAt": iso(milestone.created_at),
        "url": f"{context.web_url}/{milestone.repo_name}/milestone/{milestone.number}",
    }


def _state_reason(issue: Issue) -> Any:
    def resolve(info: Info, *, enableDuplicate: bool = False) -> str | None:
        reason = issue.state_reason
        if reason == "duplicate" and not enableDuplicate:
            reason = "not_planned"
        return None if reason is None else reason.upper()

    return resolve


def _page(info: Info, items: Sequence[Any], first: int | None, last: int | None) -> list[Any]:
    """The plain first/last window of a connection (no cursors: Debussy asks for one page)."""
    _check_page_size(info, first, last)
    window = list(items)
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[len(window) - last :] if last else []
    return window


def _parent_field(parent: Issue | None, context: GraphQLContext) -> Any:
    """Resolved lazily: a parent's own fields are built only when a query selects them."""
    if parent is None:
        return None
    return lambda info: _issue(parent, context)


def _page_info() -> JSON:
    return {"startCursor": None, "endCursor": None, "hasNextPage": False, "hasPreviousPage": False}


def _issue(issue: Issue, context: GraphQLContext) -> JSON:
    repo = issue.repo

    def comments(
        info: Info,
        *,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        orderBy: JSON | None = None,
    ) -> JSON:
        shown = _page(info, issue.comments, first, last)
        return {
            "nodes": [
                {"id": node_id("IC", c.id), "body": c.body if isinstance(c.body, str) else ""}
                for c in shown
            ],
            "totalCount": len(issue.comments),
            "pageInfo": _page_info(),
        }

    def sub_issues(
        info: Info,
        *,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> JSON:
        shown = _page(info, issue.sub_issues, first, last)
        return {
            "nodes": [_issue(child, context) for child in shown],
            "totalCount": len(issue.sub_issues),
            "pageInfo": _page_info(),
        }

    def sub_issues_summary(info: Info) -> JSON:
        total = len(issue.sub_issues)
        done = sum(1 for child in issue.sub_issues if child.state == "closed")
        return {
            "completed": done,
            "total": total,
            "percentCompleted": (100 * done // total) if total else 0,
        }

    return {
        "comments": comments,
        "parent": _parent_field(issue.parent, context),
        "subIssues": sub_issues,
        "subIssuesSummary": sub_issues_summary,
        "closed": issue.state == "closed",
        "closedAt": iso(issue.closed_at),
        "createdAt": iso(issue.created_at),
        "id": node_id("I", issue.id),
        "labels": _labels_field(lambda: issue.labels, context),
        "milestone": None if issue.milestone is None else _milestone(issue.milestone, context),
        "number": issue.number,
        "repository": lambda info: _repository(repo, context),
        "state": issue.state.upper(),
        "stateReason": _state_reason(issue),
        "title": issue.title,
        "updatedAt": iso(issue.updated_at),
        "url": f"{context.web_url}/{repo.full_name}/issues/{issue.number}",
    }


def _pull_request(issue: Issue, context: GraphQLContext) -> JSON:
    merged = issue.merged_at is not None
    state = "MERGED" if merged else issue.state.upper()
    return {
        "__typename": "PullRequest",
        "closedAt": iso(issue.closed_at),
        "id": node_id("PR", issue.id),
        "isDraft": issue.draft,
        "merged": merged,
        "mergedAt": iso(issue.merged_at),
        "number": issue.number,
        "state": state,
        "title": issue.title,
        "updatedAt": iso(issue.updated_at),
        "url": f"{context.web_url}/{issue.repo.full_name}/pull/{issue.number}",
    }


def _repository(repo: Repo, context: GraphQLContext) -> JSON:
    def issue(info: Info, *, number: int) -> JSON:
        found = repo.issues.get(number)
        if found is None or found.is_pull_request:
            raise _typed_error(
                f"Could not resolve to an Issue with the number of {number}.", "NOT_FOUND"
            )
        return _issue(found, context)

    def issue_or_pull_request(info: Info, *, number: int) -> JSON:
        found = repo.issues.get(number)
        if found is None:
            raise _typed_error(
                f"Could not resolve to an issue or pull request with the number of {number}.",
                "NOT_FOUND",
            )
        if found.is_pull_request:
            return _pull_request(found, context)
        return {"__typename": "Issue", **_issue(found, context)}

    def label(info: Info, *, name: str) -> JSON | None:
        found = repo.label(name)
        return None if found is None else _label(found, context)

    def milestone(info: Info, *, number: int) -> JSON | None:
        for candidate in repo.milestones.values():
            if candidate.number == number:
                return _milestone(candidate, context)
        return None

    return {
        "createdAt": iso(repo.created_at),
        "description": None,
        "id": node_id("R", repo.id),
        "issue": issue,
        "issueOrPullRequest": issue_or_pull_request,
        "label": label,
        "labels": _labels_field(lambda: list(repo.labels.values()), context),
        "milestone": milestone,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "updatedAt": iso(repo.created_at),
        "url": f"{context.web_url}/{repo.full_name}",
    }


def _root(context: GraphQLContext) -> JSON:
    def repository(
        info: Info,
        *,
        owner: str,
        name: str,
        followRenames: bool = True,
    ) -> JSON:
        if owner.lower() in context.saml_orgs:
            from graphql import GraphQLError

            raise GraphQLError(SAML_MESSAGE, extensions={"type": "FORBIDDEN", "saml_failure": True})
        repo = context.store.repo(f"{owner}/{name}")
        if repo is None:
            raise _typed_error(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                "NOT_FOUND",
            )
        return _repository(repo, context)

    def rate_limit(info: Info, *, dryRun: bool = False) -> JSON:
        rate = context.rate
        return {
            "cost": 1,
            "limit": rate.limit,
            "nodeCount": 0,
            "remaining": rate.remaining,
            "resetAt": iso(rate.reset_at),
            "used": rate.used,
        }

    return {"repository": repository, "rateLimit": rate_limit, **_mutations(context)}


# --------------------------------------------------------------------------- mutations


def _node_number(node: object, prefix: str) -> int | None:
    """The store id inside a sandbox node id (``I_...``), or None when it is not one."""
    if not isinstance(node, str) or not node.startswith(f"{prefix}_"):
        return None
    encoded = node[len(prefix) + 1 :]
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except ValueError:
        return None
    head, _, number = text.partition(":")
    return int(number) if head == "sandbox" and number.isdigit() else None


def _unresolved(node: object) -> GraphQLError:
    return _typed_error(f"Could not resolve to a node with the global id of '{node}'", "NOT_FOUND")


def _find_issue(store: Store, node: object) -> Issue:
    number = _node_number(node, "I")
    for repo in store.repos.values():
        for issue in repo.issues.values():
            if issue.id == number and not issue.is_pull_request:
                return issue
    raise _unresolved(node)


def _find_labels(issue: Issue, nodes: object) -> list[Label]:
    labels: list[Label] = []
    for node in nodes if isinstance(nodes, list) else []:
        number = _node_number(node, "LA")
        found = next((lb for lb in issue.repo.labels.values() if lb.id == number), None)
        if found is None:
            raise _unresolved(node)
        labels.append(found)
    return labels


def _mutations(context: GraphQLContext) -> JSON:
    """GitHub's issue mutations, with GitHub's semantics (hooks run before any of them)."""
    store = context.store

    def done(data: JSON, **extra: object) -> JSON:
        return {"clientMutationId": data.get("clientMutationId"), **extra}

    def add_labels(info: Info, *, input: JSON) -> JSON:
        issue = _find_issue(store, input["labelableId"])
        store.add_labels(issue, [label.name for label in _find_labels(issue, input["labelIds"])])
        return done(input)

    def remove_labels(info: Info, *, input: JSON) -> JSON:
        issue = _find_issue(store, input["labelableId"])
        for label in _find_labels(issue, input["labelIds"]):
            store.remove_label(issue, label.name)
        return done(input)

    def close_issue(info: Info, *, input: JSON) -> JSON:
        issue = _find_issue(store, input["issueId"])
        reason = input.get("stateReason")
        store.close(issue, str(reason).lower() if reason else "completed")
        return done(input, issue=_issue(issue, context))

    def reopen_issue(info: Info, *, input: JSON) -> JSON:
        issue = _find_issue(store, input["issueId"])
        store.reopen(issue)
        return done(input, issue=_issue(issue, context))

    def add_comment(info: Info, *, input: JSON) -> JSON:
        issue = _find_issue(store, input["subjectId"])
        if not str(input.get("body") or "").strip():
            raise _typed_error("Body can't be blank", "UNPROCESSABLE")
        store.add_comment(issue, input["body"])
        return done(input)

    def add_sub_issue(info: Info, *, input: JSON) -> JSON:
        parent = _find_issue(store, input["issueId"])
        if input.get("subIssueId") is None:
            raise _typed_error("A sub-issue id is required", "UNPROCESSABLE")
        child = _find_issue(store, input["subIssueId"])
        if input.get("replaceParent") and child.parent is not None and child.parent is not parent:
            store.remove_sub_issue(child.parent, child)
        try:
            store.add_sub_issue(parent, child)
        except SubIssueError as exc:
            raise _typed_error(str(exc), "UNPROCESSABLE") from None
        return done(input, issue=_issue(parent, context), subIssue=_issue(child, context))

    def remove_sub_issue(info: Info, *, input: JSON) -> JSON:
        parent = _find_issue(store, input["issueId"])
        child = _find_issue(store, input["subIssueId"])
        try:
            store.remove_sub_issue(parent, child)
        except SubIssueError as exc:
            raise _typed_error(str(exc), "UNPROCESSABLE") from None
        return done(input, issue=_issue(parent, context), subIssue=_issue(child, context))

    def create_label(info: Info, *, input: JSON) -> JSON:
        number = _node_number(input["repositoryId"], "R")
        repo = next((r for r in store.repos.values() if r.id == number), None)
        if repo is None:
            raise _unresolved(input["repositoryId"])
        if repo.label(input["name"]) is not None:
            raise _typed_error("Name has already been taken", "UNPROCESSABLE")
        label = store.create_label(
            repo, input["name"], str(input["color"]).lstrip("#"), input.get("description")
        )
        return done(input, label=_label(label, context))

    return {
        "addLabelsToLabelable": add_labels,
        "removeLabelsFromLabelable": remove_labels,
        "closeIssue": close_issue,
        "reopenIssue": reopen_issue,
        "addComment": add_comment,
        "addSubIssue": add_sub_issue,
        "removeSubIssue": remove_sub_issue,
        "createLabel": create_label,
    }


# --------------------------------------------------------------------------- execution


@functools.cache
def github_schema() -> GraphQLSchema:
    """The executable schema (built once per process; resolvers come from the root value)."""
    from graphql import build_schema

    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def _github_error(error: GraphQLError) -> JSON:
    """graphql-core's error, reshaped as GitHub prints it: ``type`` at the top level."""
    formatted: JSON = dict(error.formatted)
    extensions = dict(formatted.pop("extensions", None) or {})
    shaped: JSON = {}
    if "type" in extensions:
        shaped["type"] = extensions.pop("type")
    for key in ("path", "locations"):
        if key in formatted:
            shaped[key] = formatted[key]
    if extensions:
        shaped["extensions"] = extensions
    shaped["message"] = formatted["message"]
    return shaped


@functools.lru_cache(maxsize=256)
def _prepared(query: str) -> tuple[DocumentNode | None, tuple[JSON, ...]]:
    """The parsed, validated document, or GitHub-shaped errors; cached by query text.

    Parsing and validating a 100-issue query costs more than executing it, and
    clients (benchmarks above all) send the same documents again and again.
    """
    from graphql import GraphQLError, parse, validate

    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, (_github_error(exc),)
    problems = validate(github_schema(), document)
    if problems:
        return None, tuple(_github_error(problem) for problem in problems)
    return document, ()


def execute(context: GraphQLContext, payload: object) -> JSON:
    """Answer one GraphQL POST body the way GitHub does (always HTTP 200)."""
    from graphql import execute_sync

    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return {
            "errors": [{"message": "A query attribute must be specified and must be a string."}]
        }
    variables = payload.get("variables")
    operation = payload.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return {"errors": [{"message": "Variables are invalid JSON."}]}
    document, problems = _prepared(payload["query"])
    if document is None:
        return {"errors": list(problems)}
    schema = github_schema()
    with context.store.lock:
        result = execute_sync(
            schema,
            document,
            root_value=_root(context),
            variable_values=variables,
            operation_name=operation if isinstance(operation, str) else None,
        )
    errors = [_github_error(error) for error in result.errors or ()]
    whole_query = [error for error in errors if error.get("type") in QUERY_LEVEL_ERRORS]
    if whole_query:
        return {"data": None, "errors": whole_query}
    answer: JSON = {"data": result.data}
    if errors:
        answer["errors"] = errors
    return answer
