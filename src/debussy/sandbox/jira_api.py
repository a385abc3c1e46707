"""Jira's REST API, the subset Debussy uses: Cloud v3 and Server/Data Center v2 side by side.

``/rest/api/3`` behaves as Jira Cloud does today: ``/search/jql`` with cursor paging
(``nextPageToken``, ``isLast``, no ``total``), the removed ``/search`` answering
410 with Atlassian's migration message, Atlassian Document Format comments.
``/rest/api/2/search`` behaves as Server/Data Center (``startAt``/``total``
paging, plain-text comments); on real Cloud that endpoint is gone too.

JQL is the one shape Debussy sends (``key in (...)`` / ``key = ...``, optionally
``ORDER BY``); a key that does not exist or is hidden fails the whole search with
400 and one message per key, which is what Jira does and what clients must handle.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from debussy.sandbox.store import (
    DONE,
    JIRA_KEY,
    STATUS_CATEGORIES,
    STATUSES,
    JiraIssue,
    JiraStatus,
    JiraTransition,
    StatusCategory,
    Store,
)
from debussy.sandbox.wire import (
    Abort,
    BadJsonError,
    Params,
    Request,
    Response,
    Route,
    Site,
    route,
    status_phrase,
)

JSON = dict[str, Any]
JIRA_JSON = "application/json;charset=UTF-8"
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
MAX_RECONCILE = 50
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
FIELDS = (
    "summary",
    "status",
    "resolution",
    "resolutiondate",
    "labels",
    "created",
    "updated",
    "statuscategorychangedate",
    "issuetype",
    "project",
    "comment",
)
"""Every field the sandbox knows; ``*all`` and ``*navigable`` mean these."""
RESOLUTIONS = {
    "Done": "10000",
    "Won't Do": "10001",
    "Duplicate": "10002",
    "Cannot Reproduce": "10003",
}
ACCOUNT_ID = "557058:sandbox-0000-4000-8000-000000000001"
GATEWAY_HEADER = "x-sandbox-via-gateway"
"""Set by the server (never trusted from clients) on requests that came through /ex/jira."""
ANONYMOUS_HEADER = "x-sandbox-anonymous"
"""Set by ``handle`` on searches served to an anonymous caller."""
RESOLUTION_REQUIRED = "Resolution is required."
DEFAULT_PAGE = 50
ENHANCED_MAX_PAGE = 100
"""/search/jql pages with fields: Jira returns at most 100 issues however many are asked for."""
ID_ONLY_MAX_PAGE = 5000
"""/search/jql pages of bare ids: "It returns max 5000 issues" (the description)."""
SERVER_MAX_PAGE = 1000
"""Server/DC default of ``jira.search.views.default.max``."""

_JQL = re.compile(
    r"""^\s*(?:issue)?key\s*
        (?: in\s*\((?P<many>[^()]*)\) | =\s*(?P<one>"[^"]*"|'[^']*'|[^\s()"']+) )
        \s*(?:order\s+by\s+(?P<order>\w+)(?:\s+(?P<direction>asc|desc))?)?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def jira_time(moment: datetime | None) -> str | None:
    """``2026-11-27T10:00:00.000+0000``: Jira's timestamp form (UTC here)."""
    if moment is None:
        return None
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def error_payload(status: int, messages: Sequence[str] = (), errors: JSON | None = None) -> JSON:
    """Jira's ``ErrorCollection``: ``errorMessages`` plus per-field ``errors``."""
    if not messages and not errors:
        messages = {401: [NOT_AUTHENTICATED], 404: [ISSUE_MISSING]}.get(
            status, [status_phrase(status)]
        )
    return {"errorMessages": list(messages), "errors": errors or {}}


def _error(status: int, *messages: str, errors: JSON | None = None) -> Response:
    return Response.json(status, error_payload(status, messages, errors), content_type=JIRA_JSON)


def _ok(payload: object, status: int = 200) -> Response:
    return Response.json(status, payload, content_type=JIRA_JSON)


class JqlError(Exception):
    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = messages


def parse_jql(jql: str) -> tuple[list[str], str | None, bool]:
    """Keys as written (quotes stripped), the ORDER BY field and whether it is descending."""
    if not jql.strip():
        raise JqlError(UNBOUNDED)
    found = _JQL.match(jql)
    if found is None:
        raise JqlError(
            "Error in the JQL Query: the sandbox understands `key in (A-1, B-2)` and `key = A-1` "
            f"only (got {jql!r})."
        )
    raw = found.group("many") if found.group("many") is not None else found.group("one")
    keys = [part.strip().strip("\"'").strip() for part in raw.split(",")]
    if not all(keys):
        raise JqlError("Error in the JQL Query: an issue key is missing in the list.")
    direction = (found.group("direction") or "asc").lower()
    return keys, found.group("order"), direction == "desc"


def requested_fields(raw: object, *, default_all: bool) -> list[str]:
    """Field names from a JSON list or comma-separated query values, ``*all``/``-x`` honoured.

    Unknown names are ignored, as Jira does.
    """
    entries: list[str] = []
    items: list[object] = list(raw) if isinstance(raw, list | tuple) else [raw]
    for item in items:
        if isinstance(item, str):
            entries += [part.strip() for part in item.split(",") if part.strip()]
    if not entries:
        return list(FIELDS) if default_all else []
    include: set[str] = set()
    exclude: set[str] = set()
    for entry in entries:
        if entry in ("*all", "*navigable"):
            include |= set(FIELDS)
        elif entry.startswith("-"):
            exclude.add(entry[1:])
        else:
            include.add(entry)
    return [name for name in FIELDS if name in include and name not in exclude]


class JiraApi:
    """Routes and handlers for ``/rest/api/2`` and ``/rest/api/3``; ``handle`` adds auth."""

    def __init__(self, store: Store, site: Site) -> None:
        self.store = store
        self.site = site
        api = "/rest/api/{version:[23]}"
        issue = api + "/issue/{key}"
        search = "search"
        self.routes: list[Route] = [
            route("POST", api + "/search/jql", self.search_jql, kind=search),
            route("GET", api + "/search/jql", self.search_jql, kind=search),
            route("POST", "/rest/api/3/search", self.search_removed, kind=search, public=True),
            route("GET", "/rest/api/3/search", self.search_removed, kind=search, public=True),
            route("POST", "/rest/api/2/search", self.search_server, kind=search),
            route("GET", "/rest/api/2/search", self.search_server, kind=search),
            route("GET", issue, self.get_issue),
            route("GET", issue + "/transitions", self.get_transitions),
            route("POST", issue + "/transitions", self.do_transition),
            route("POST", issue + "/comment", self.add_comment),
            route("GET", api + "/myself", self.myself),
            route("GET", api + "/project/{project}/statuses", self.project_statuses),
            route("GET", api + "/serverInfo", self.server_info, public=True),
            route("GET", api + "/status", self.statuses),
            route("GET", api + "/statuscategory", self.status_categories),
        ]

    # ------------------------------------------------------------------ envelope

    def _authenticated(self, request: Request) -> bool:
        """Cloud sends Basic email:token, Server/DC a Bearer PAT; both work on both versions.

        A scoped token is accepted only through the gateway (``/ex/jira/{cloudId}``):
        Atlassian's scoped API tokens do not work against the site URL.
        """
        if not self.site.require_auth:
            return True
        tokens = [self.site.jira_token]
        if self.site.jira_scoped_token and request.header(GATEWAY_HEADER):
            tokens.append(self.site.jira_scoped_token)
        scheme, _, credential = (request.header("authorization") or "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer":
            return any(hmac.compare_digest(credential.encode(), t.encode()) for t in tokens)
        if scheme.lower() == "basic":
            try:
                given = base64.b64decode(credential, validate=True)
            except (binascii.Error, ValueError):
                return False
            return any(
                hmac.compare_digest(given, f"{self.site.jira_email}:{token}".encode())
                for token in tokens
            )
        return False

    def handle(self, request: Request, matched: tuple[Route, Params] | None) -> Response:
        if matched is None:
            return _error(404, f"null for uri: {self.site.url}{request.path}")
        found, params = matched
        anonymous = False
        if not found.public and not self._authenticated(request):
            if not (self.site.jira_anonymous_search and found.kind == "search"):
                response = _error(401, NOT_AUTHENTICATED)
                if request.header("authorization"):
                    response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
                return response
            # Jira Cloud serves searches to anonymous users; failed credentials only
            # show in this header, and the anonymous user sees no issue at all.
            anonymous = True
            request = dataclasses.replace(
                request, headers={**request.headers, ANONYMOUS_HEADER: "1"}
            )
        try:
            response = found.handler(request, params)
        except Abort as abort:
            response = abort.response
        if anonymous and request.header("authorization"):
            response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        return response

    # ------------------------------------------------------------------ JSON shapes

    def _api(self, version: str) -> str:
        return f"{self.site.url}/rest/api/{version}"

    def _category(self, category: StatusCategory, version: str) -> JSON:
        return {
            "self": f"{self._api(version)}/statuscategory/{category.id}",
            "id": category.id,
            "key": category.key,
            "colorName": category.color_name,
            "name": category.name,
        }

    def _status(self, status: JiraStatus, version: str) -> JSON:
        return {
            "self": f"{self._api(version)}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.site.url}/images/icons/statuses/generic.png",
            "name": status.name,
            "untranslatedName": status.name,
            "id": status.id,
            "statusCategory": self._category(status.category, version),
        }

    def _user(self, version: str) -> JSON:
        size_urls = {
            size: f"{self.site.url}/avatars/{size}.png"
            for size in ("16x16", "24x24", "32x32", "48x48")
        }
        user: JSON = {
            "self": f"{self._api(version)}/user?accountId={ACCOUNT_ID}",
            "accountId": ACCOUNT_ID,
            "accountType": "atlassian",
            "emailAddress": self.site.jira_email,
            "avatarUrls": size_urls,
            "displayName": "Sandbox User",
            "active": True,
            "timeZone": "Etc/UTC",
        }
        if version == "2":
            user |= {"name": "sandbox", "key": "sandbox"}
        return user

    def _field(self, issue: JiraIssue, name: str, version: str) -> object:
        api = self._api(version)
        project = issue.key.rsplit("-", 1)[0]
        if name == "summary":
            return issue.summary
        if name == "status":
            return self._status(issue.status, version)
        if name == "resolution":
            if issue.resolution is None:
                return None
            resolution_id = RESOLUTIONS.get(issue.resolution, "10099")
            return {
                "self": f"{api}/resolution/{resolution_id}",
                "id": resolution_id,
                "description": "",
                "name": issue.resolution,
            }
        if name == "labels":
            return list(issue.labels)
        if name == "comment":
            comments = [
                {
                    "self": f"{api}/issue/{issue.id}/comment/{comment.id}",
                    "id": str(comment.id),
                    "author": self._user(version),
                    "body": comment.body,
                    "created": jira_time(comment.created_at),
                    "updated": jira_time(comment.created_at),
                }
                for comment in issue.comments
            ]
            return {
                "comments": comments,
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            }
        if name == "issuetype":
            return {
                "self": f"{api}/issuetype/10001",
                "id": "10001",
                "description": "A small, distinct piece of work.",
                "name": "Task",
                "subtask": False,
            }
        if name == "project":
            return {
                "self": f"{api}/project/{project}",
                "id": str(
                    10000 + int(hashlib.sha256(project.encode()).hexdigest()[:4], 16) % 10000
                ),
                "key": project,
                "name": project,
                "projectTypeKey": "software",
            }
        moments = {
            "resolutiondate": issue.resolution_date,
            "created": issue.created,
            "updated": issue.updated,
            "statuscategorychangedate": issue.status_category_changed,
        }
        return jira_time(moments[name])

    def _issue(self, issue: JiraIssue, fields: Sequence[str], version: str) -> JSON:
        shaped: JSON = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": str(issue.id),
            "self": f"{self._api(version)}/issue/{issue.id}",
            "key": issue.key,
        }
        if fields:
            shaped["fields"] = {name: self._field(issue, name, version) for name in fields}
        return shaped

    def _needs_resolution(self, transition: JiraTransition) -> bool:
        return self.store.jira_resolution_required and transition.to.category is DONE

    def _transition(
        self, transition: JiraTransition, version: str, *, with_fields: bool = False
    ) -> JSON:
        shaped: JSON = {
            "id": transition.id,
            "name": transition.name,
            "to": self._status(transition.to, version),
            "hasScreen": self._needs_resolution(transition),
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if with_fields:
            shaped["fields"] = (
                {
                    "resolution": {
                        "required": True,
                        "name": "Resolution",
                        "key": "resolution",
                        "operations": ["set"],
                        "schema": {"type": "resolution", "system": "resolution"},
                    }
                }
                if self._needs_resolution(transition)
                else {}
            )
        return shaped

    def _with_expand(
        self, shaped: JSON, issue: JiraIssue, expand: frozenset[str], params: Params
    ) -> JSON:
        """``expand=transitions``: what the issue can move to now, as on the transitions call."""
        if "transitions" in expand:
            shaped["transitions"] = [
                self._transition(t, params["version"]) for t in issue.transitions()
            ]
        return shaped

    # ------------------------------------------------------------------ helpers

    def _find(self, params: Params) -> JiraIssue:
        issue = self.store.jira_issue(params["key"])
        if issue is None:
            raise Abort(_error(404, ISSUE_MISSING))
        return issue

    @staticmethod
    def _body(request: Request) -> JSON:
        try:
            data = request.json()
        except BadJsonError:
            raise Abort(
                _error(400, "Unexpected character in the request body: not JSON.")
            ) from None
        if not isinstance(data, dict):
            raise Abort(_error(400, "The request body must be a JSON object."))
        return data

    @staticmethod
    def _search_input(request: Request) -> JSON:
        """POST body or GET query parameters, as one mapping (query values stay strings)."""
        if request.method == "POST":
            return JiraApi._body(request)
        data: JSON = {name: values[-1] for name, values in request.query.items()}
        if "fields" in request.query:
            data["fields"] = list(request.query["fields"])
        return data

    @staticmethod
    def _int(data: JSON, name: str, default: int) -> int:
        value = data.get(name, default)
        if value is None:
            return default
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        except (TypeError, ValueError):
            raise Abort(_error(400, f"The value '{value}' is not valid for '{name}'.")) from None

    def _matching(self, jql: object, *, anonymous: bool = False) -> list[JiraIssue]:
        """The issues a ``key in (...)`` query selects, or the 400 Jira answers for it.

        An anonymous caller sees no issue, so every key is "does not exist".
        A moved issue answers to its old key under its new one.
        """
        if not isinstance(jql, str):
            raise Abort(_error(400, UNBOUNDED))
        try:
            keys, order, descending = parse_jql(jql)
        except JqlError as exc:
            raise Abort(_error(400, *exc.messages)) from None
        problems: list[str] = []
        selected: dict[str, JiraIssue] = {}
        quirks = self.site.quirks
        with self.store.lock:
            for key in keys:
                if not JIRA_KEY.match(key.upper()):
                    problems.append(f"The issue key '{key}' for field 'key' is invalid.")
                    continue
                issue = None if anonymous else self.store.jira_issue(key)
                if issue is not None:
                    selected[issue.key] = issue
                elif quirks.jira_hidden_issues_omitted and key.upper() in self.store.jira_issues:
                    continue
                elif quirks.jira_unknown_key_message == "invalid":
                    problems.append(f"The issue key '{key}' for field 'key' is invalid.")
                else:
                    problems.append(f"An issue with key '{key}' does not exist for field 'key'.")
        if problems:
            raise Abort(_error(400, *problems[: 1 if quirks.jira_names_one_unknown_key else None]))
        if order and order.lower() in ("key", "issuekey"):
            ranked = sorted(selected.values(), key=_key_rank)
        else:
            ranked = sorted(selected.values(), key=lambda issue: issue.id)
        if descending:
            ranked.reverse()
        return ranked

    @staticmethod
    def _page_token(jql: str, offset: int) -> str:
        digest = hashlib.sha256(jql.encode()).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")

    @staticmethod
    def _token_offset(jql: str, token: object) -> int:
        if not token:
            return 0
        try:
            text = base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)).decode()
            offset, _, digest = text.partition(":")
            if digest != hashlib.sha256(jql.encode()).hexdigest()[:16]:
                raise ValueError(digest)
            return int(offset)
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise Abort(
                _error(400, "The provided nextPageToken is not valid for this query.")
            ) from None

    # ------------------------------------------------------------------ search

    @staticmethod
    def _reconcile(data: JSON) -> frozenset[int]:
        """``reconcileIssues``: up to 50 issue ids to read consistently, not from the index."""
        raw = data.get("reconcileIssues")
        if raw is None:
            return frozenset()
        if not isinstance(raw, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in raw
        ):
            raise Abort(_error(400, "'reconcileIssues' must be a list of issue ids."))
        if len(raw) > MAX_RECONCILE:
            raise Abort(_error(400, f"'reconcileIssues' accepts at most {MAX_RECONCILE} ids."))
        return frozenset(raw)

    def _cap(self, api_cap: int) -> int:
        """Results per page: the API cap, or the site's smaller one (``Quirks.jira_page_size``)."""
        own = self.site.quirks.jira_page_size
        return api_cap if own is None else min(api_cap, own)

    def search_jql(self, request: Request, params: Params) -> Response:
        data = self._search_input(request)
        issues = self._matching(data.get("jql"), anonymous=bool(request.header(ANONYMOUS_HEADER)))
        fields = requested_fields(data.get("fields"), default_all=False)
        cap = ENHANCED_MAX_PAGE if fields else ID_ONLY_MAX_PAGE
        size = min(max(self._int(data, "maxResults", DEFAULT_PAGE), 1), self._cap(cap))
        jql = str(data["jql"])
        offset = self._token_offset(jql, data.get("nextPageToken"))
        reconcile = self._reconcile(data) if request.method == "POST" else frozenset[int]()
        expand = _expands(data.get("expand"))
        with self.store.lock:
            page: list[JSON] = []
            for issue in issues[offset : offset + size]:
                if issue.id in reconcile:
                    issue.search_view = None  # read through: the index is consistent again
                view = issue.search_view or issue
                page.append(
                    self._with_expand(
                        self._issue(view, fields, params["version"]), issue, expand, params
                    )
                )
        answer: JSON = {"issues": page, "isLast": offset + size >= len(issues)}
        if not answer["isLast"]:
            answer["nextPageToken"] = self._page_token(jql, offset + size)
        return _ok(answer)

    def search_removed(self, request: Request, params: Params) -> Response:
        return _error(410, SEARCH_REMOVED)

    def search_server(self, request: Request, params: Params) -> Response:
        data = self._search_input(request)
        issues = self._matching(data.get("jql"), anonymous=bool(request.header(ANONYMOUS_HEADER)))
        fields = requested_fields(data.get("fields"), default_all=True)
        start = max(self._int(data, "startAt", 0), 0)
        size = min(max(self._int(data, "maxResults", DEFAULT_PAGE), 0), self._cap(SERVER_MAX_PAGE))
        expand = _expands(data.get("expand"))
        with self.store.lock:
            page = [
                self._with_expand(self._issue(i, fields, "2"), i, expand, {"version": "2"})
                for i in issues[start : start + size]
            ]
        return _ok(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(issues),
                "issues": page,
            }
        )

    # ------------------------------------------------------------------ issues

    def get_issue(self, request: Request, params: Params) -> Response:
        fields = requested_fields(request.query.get("fields"), default_all=True)
        with self.store.lock:
            return _ok(self._issue(self._find(params), fields, params["version"]))

    def get_transitions(self, request: Request, params: Params) -> Response:
        wanted = request.param("transitionId")
        with self.store.lock:
            offered = self._find(params).transitions()
        if wanted:
            offered = [t for t in offered if t.id == wanted]
        with_fields = "transitions.fields" in (request.param("expand") or "")
        return _ok(
            {
                "expand": "transitions",
                "transitions": [
                    self._transition(t, params["version"], with_fields=with_fields) for t in offered
                ],
            }
        )

    def do_transition(self, request: Request, params: Params) -> Response:
        data = self._body(request)
        transition = data.get("transition")
        wanted = transition.get("id") if isinstance(transition, dict) else None
        if wanted is None:
            return _error(400, "Missing 'transition' identifier.")
        fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
        resolution = (fields or {}).get("resolution")
        resolution_name = resolution.get("name") if isinstance(resolution, dict) else None
        if resolution_name is not None and resolution_name not in RESOLUTIONS:
            return _error(
                400, errors={"resolution": f"Resolution '{resolution_name}' is not valid."}
            )
        with self.store.lock:
            issue = self._find(params)
            chosen = next((t for t in issue.transitions() if t.id == str(wanted)), None)
            if chosen is None:
                return _error(400, f"Transition id '{wanted}' is not valid for this issue.")
            if resolution_name and chosen.to.category is not DONE:
                return _error(
                    400,
                    errors={
                        "resolution": "Field 'resolution' cannot be set. It is not on the "
                        "appropriate screen, or unknown."
                    },
                )
            if self._needs_resolution(chosen) and not resolution_name:
                return _error(400, errors={"resolution": RESOLUTION_REQUIRED})
            self.store.move_jira(issue, chosen.to, resolution_name, indexed=False)
        return Response(204)

    def add_comment(self, request: Request, params: Params) -> Response:
        data = self._body(request)
        body = data.get("body")
        version = params["version"]
        if version == "3" and not (isinstance(body, dict) and body.get("type") == "doc"):
            return _error(
                400,
                errors={
                    "comment": "Operation value must be an Atlassian Document "
                    "(see the Atlassian Document Format)"
                },
            )
        if version == "2" and not (isinstance(body, str) and body.strip()):
            return _error(400, errors={"comment": "Comment body can not be empty!"})
        with self.store.lock:
            issue = self._find(params)
            comment = self.store.add_comment(issue, body)
            created = jira_time(comment.created_at)
            payload = {
                "self": f"{self._api(version)}/issue/{issue.id}/comment/{comment.id}",
                "id": str(comment.id),
                "author": self._user(version),
                "body": body,
                "updateAuthor": self._user(version),
                "created": created,
                "updated": created,
                "jsdPublic": True,
            }
        return _ok(payload, 201)

    # ------------------------------------------------------------------ small reads

    def myself(self, request: Request, params: Params) -> Response:
        user = self._user(params["version"])
        return _ok({**user, "locale": "en_US", "expand": "groups,applicationRoles"})

    def project_statuses(self, request: Request, params: Params) -> Response:
        """The statuses of the project's workflow per issue type (one type, one workflow here)."""
        key = params["project"]
        version = params["version"]
        with self.store.lock:
            known = any(k.rsplit("-", 1)[0] == key for k in self.store.jira_issues)
        if not known:
            return _error(404, f"No project could be found with key '{key}'.")
        api = self._api(version)
        return _ok(
            [
                {
                    "self": f"{api}/issuetype/10001",
                    "id": "10001",
                    "name": "Task",
                    "subtask": False,
                    "statuses": [self._status(status, version) for status in STATUSES],
                }
            ]
        )

    def server_info(self, request: Request, params: Params) -> Response:
        now = jira_time(self.store.clock())
        cloud = params["version"] == "3"
        return _ok(
            {
                "baseUrl": self.site.url,
                "displayUrl": self.site.url,
                "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.0",
                "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 0],
                "deploymentType": "Cloud" if cloud else "Server",
                "buildNumber": 100282,
                "buildDate": "2026-01-01T00:00:00.000+0000",
                "serverTime": now,
                "scmInfo": "sandbox",
                "serverTitle": "Debussy sandbox Jira",
            }
        )

    def statuses(self, request: Request, params: Params) -> Response:
        return _ok([self._status(status, params["version"]) for status in STATUSES])

    def status_categories(self, request: Request, params: Params) -> Response:
        no_category = StatusCategory(1, "undefined", "No Category", "medium-gray")
        categories = (no_category, *STATUS_CATEGORIES)
        return _ok([self._category(category, params["version"]) for category in categories])


def _expands(raw: object) -> frozenset[str]:
    """Cloud's ``/search/jql`` takes ``expand`` as a comma-separated string; v2 a list."""
    if isinstance(raw, str):
        return frozenset(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list):
        return frozenset(str(part).strip() for part in raw)
    return frozenset()


def _key_rank(issue: JiraIssue) -> tuple[str, int]:
    project, _, number = issue.key.rpartition("-")
    return project, int(number)
