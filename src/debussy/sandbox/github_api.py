"""GitHub's REST (``/api/v3``) and GraphQL (``/api/graphql``) APIs, the subset Debussy uses.

Laid out as GitHub Enterprise Server is, so ``GitHubConfig(api_url=sandbox.github_api_url)``
derives the GraphQL endpoint and the issue URLs' host exactly as it would for a
real GHE host. Bodies follow the response schemas of GitHub's REST description
(``tests/sandbox/test_conformance.py`` validates them); behaviour follows GitHub's
documentation: anonymous reads, 401 "Bad credentials", ETag / 304 that do not
count against the rate limit, implicit label creation, ``state_reason`` rules.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from debussy.sandbox.store import (
    CLOSE_REASONS,
    DEFAULT_LABEL_COLOR,
    Comment,
    Issue,
    Label,
    LabelExistsError,
    Milestone,
    Store,
    iso,
    node_id,
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
DOCS = "https://docs.github.com/rest"
ENABLE_DUPLICATE_REFUSED = {
    "message": "Field 'stateReason' doesn't accept argument 'enableDuplicate'",
    "extensions": {
        "code": "argumentNotAccepted",
        "name": "stateReason",
        "typeName": "Field",
        "argumentName": "enableDuplicate",
    },
}
"""What an older GitHub Enterprise Server answers a query using ``enableDuplicate``
(``Quirks.github_without_enable_duplicate``): a validation error and no data."""
ISSUES_DOCS = f"{DOCS}/issues/issues"
LABELS_DOCS = f"{DOCS}/issues/labels"
COMMENTS_DOCS = f"{DOCS}/issues/comments"
GRAPHQL_AUTH_DOCS = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)
RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#primary-rate-limit"
)
API_VERSION = "2022-11-28"
SAML_MESSAGE = (
    "Resource protected by organization SAML enforcement. You must grant your Personal Access "
    "token access to this organization."
)
SAML_DOCS = (
    "https://docs.github.com/authentication/authenticating-with-saml-single-sign-on/"
    "authorizing-a-personal-access-token-for-use-with-saml-single-sign-on"
)
USER_LOGIN = "sandbox-user"
USER_ID = 1
WINDOW_SECONDS = 3600
LIMITS = {("core", True): 5000, ("core", False): 60, ("graphql", True): 5000}
"""GitHub's primary limits per hour: (resource, authenticated) -> requests."""
PER_PAGE_DEFAULT = 30
PER_PAGE_MAX = 100
HEX = frozenset("0123456789abcdef")


def error_payload(status: int, message: str | None = None, doc: str = DOCS) -> JSON:
    """GitHub's ``basic-error`` body, as every REST error carries it."""
    return {
        "message": message or ("Bad credentials" if status == 401 else status_phrase(status)),
        "documentation_url": doc,
        "status": str(status),
    }


def _error(status: int, message: str | None = None, doc: str = DOCS) -> Response:
    return Response.json(status, error_payload(status, message, doc))


def _validation_failed(doc: str, resource: str, code: str, field: str) -> Abort:
    payload = {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "code": code, "field": field}],
        "documentation_url": doc,
        "status": "422",
    }
    return Abort(Response.json(422, payload))


@dataclass
class RateWindow:
    limit: int
    used: int
    reset: int
    """Epoch seconds: what ``x-ratelimit-reset`` says."""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class RateLimits:
    """GitHub's hourly primary limit per caller and resource (``core``, ``graphql``).

    Real wall-clock time on purpose: clients compare ``x-ratelimit-reset`` with
    their own clock to decide whether to wait.
    """

    def __init__(self) -> None:
        self._windows: dict[tuple[bool, str], RateWindow] = {}

    def window(self, authenticated: bool, resource: str) -> RateWindow:
        key = (authenticated, resource)
        now = int(time.time())
        current = self._windows.get(key)
        if current is None or now >= current.reset:
            limit = LIMITS.get((resource, authenticated), LIMITS[("core", authenticated)])
            current = RateWindow(limit, 0, now + WINDOW_SECONDS)
            self._windows[key] = current
        return current

    @staticmethod
    def headers(window: RateWindow, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(window.limit),
            "x-ratelimit-remaining": str(window.remaining),
            "x-ratelimit-reset": str(window.reset),
            "x-ratelimit-used": str(window.used),
            "x-ratelimit-resource": resource,
        }


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest() + '"'


def _etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` uses weak comparison: ``W/"x"`` matches ``"x"``."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


class GitHubApi:
    """Routes and handlers; ``handle`` adds auth, rate limits, ETags and headers around them."""

    def __init__(self, store: Store, site: Site) -> None:
        self.store = store
        self.site = site
        self.limits = RateLimits()
        repo = "/api/v3/repos/{owner}/{repo}"
        issue = repo + "/issues/{number:[0-9]+}"
        self.routes: list[Route] = [
            route("POST", "/api/graphql", self.graphql, kind="graphql"),
            route("GET", issue, self.get_issue, public=True),
            route("PATCH", issue, self.update_issue),
            route("GET", issue + "/labels", self.list_issue_labels, public=True),
            route("POST", issue + "/labels", self.add_issue_labels),
            route("PUT", issue + "/labels", self.set_issue_labels),
            route("DELETE", issue + "/labels", self.clear_issue_labels),
            route("DELETE", issue + "/labels/{name}", self.remove_issue_label),
            route("POST", issue + "/comments", self.create_comment),
            route("GET", repo + "/labels", self.list_labels, public=True),
            route("POST", repo + "/labels", self.create_label),
            route("GET", repo + "/labels/{name}", self.get_label, public=True),
            route("GET", repo, self.get_repo, public=True),
            route("GET", "/api/v3/user", self.user),
            route("GET", "/api/v3/rate_limit", self.rate_limit, public=True, charged=False),
        ]

    # ------------------------------------------------------------------ the envelope

    def _authenticated(self, request: Request) -> bool | None:
        """True with the right token, False without any, None with a wrong one."""
        header = request.header("authorization")
        if not self.site.require_auth:
            return True
        if not header:
            return False
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() in ("bearer", "token") and hmac.compare_digest(
            credential.strip().encode(), self.site.github_token.encode()
        ):
            return True
        return None

    def base_headers(self, request: Request, resource: str) -> dict[str, str]:
        """Rate-limit headers without charging: what error and fault responses carry."""
        authenticated = self._authenticated(request) is True
        with self.store.lock:
            window = self.limits.window(authenticated, resource)
            return {
                **RateLimits.headers(window, resource),
                "x-github-media-type": "github.v3; format=json",
                "x-github-api-version-selected": API_VERSION,
            }

    def handle(self, request: Request, matched: tuple[Route, Params] | None) -> Response:
        resource = "graphql" if matched and matched[0].kind == "graphql" else "core"
        authenticated = self._authenticated(request)
        if authenticated is None:
            response = _error(401, "Bad credentials", DOCS)
        elif matched is None:
            response = _error(404, "Not Found", DOCS)
        else:
            response = self._serve(request, *matched, authenticated=authenticated)
        response.headers = {**self.base_headers(request, resource), **response.headers}
        return response

    def _serve(
        self, request: Request, found: Route, params: Params, *, authenticated: bool
    ) -> Response:
        resource = "graphql" if found.kind == "graphql" else "core"
        if not authenticated and not found.public:
            if found.kind == "graphql":
                return _error(
                    401, "This endpoint requires you to be authenticated.", GRAPHQL_AUTH_DOCS
                )
            return _error(401, "Requires authentication", DOCS)
        owner = params.get("owner", "").lower()
        if (
            authenticated
            and request.header("authorization")
            and owner in {org.lower() for org in self.site.saml_orgs}
        ):
            # The token is valid but not authorised for this organisation's SAML SSO.
            response = _error(403, SAML_MESSAGE, SAML_DOCS)
            response.headers["X-GitHub-SSO"] = self.sso_header(owner)
            return response
        with self.store.lock:
            window = self.limits.window(authenticated, resource)
            if found.charged and window.remaining == 0:
                return self._rate_limited(found, authenticated)
        try:
            response = found.handler(request, params)
        except Abort as abort:
            response = abort.response
        if request.method == "GET" and response.status == 200:
            response.headers["ETag"] = etag_of(response.body)
            if _etag_matches(request.header("if-none-match"), response.headers["ETag"]):
                return Response(304, b"", {"ETag": response.headers["ETag"]})
        if found.charged:
            with self.store.lock:
                self.limits.window(authenticated, resource).used += 1
        return response

    def _rate_limited(self, found: Route, authenticated: bool) -> Response:
        who = f"user ID {USER_ID}" if authenticated else "127.0.0.1"
        if found.kind == "graphql":
            message = f"API rate limit exceeded for {who}."
            return Response.json(200, {"errors": [{"type": "RATE_LIMITED", "message": message}]})
        message = f"API rate limit exceeded for {who}."
        if not authenticated:
            message += (
                " (But here's the good news: Authenticated requests get a higher rate limit. "
                "Check out the documentation for more details.)"
            )
        return _error(403, message, RATE_LIMIT_DOCS)

    # ------------------------------------------------------------------ JSON shapes

    def _user(self) -> JSON:
        api = self.site.github_api
        user_url = f"{api}/users/{USER_LOGIN}"
        return {
            "login": USER_LOGIN,
            "id": USER_ID,
            "node_id": node_id("U", USER_ID),
            "avatar_url": f"{self.site.url}/avatars/{USER_LOGIN}",
            "gravatar_id": "",
            "url": user_url,
            "html_url": f"{self.site.url}/{USER_LOGIN}",
            "followers_url": f"{user_url}/followers",
            "following_url": f"{user_url}/following{{/other_user}}",
            "gists_url": f"{user_url}/gists{{/gist_id}}",
            "starred_url": f"{user_url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{user_url}/subscriptions",
            "organizations_url": f"{user_url}/orgs",
            "repos_url": f"{user_url}/repos",
            "events_url": f"{user_url}/events{{/privacy}}",
            "received_events_url": f"{user_url}/received_events",
            "type": "User",
            "site_admin": False,
            "user_view_type": "public",
        }

    @staticmethod
    def _reactions(url: str) -> JSON:
        counts = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
        return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(counts, 0)}

    def _label(self, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("LA", label.id),
            "url": f"{self.site.github_api}/repos/{label.repo_name}/labels/"
            + quote(label.name, safe=""),
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def _milestone(self, milestone: Milestone) -> JSON:
        repo = self.store.repo(milestone.repo_name)
        issues = (
            [] if repo is None else [i for i in repo.issues.values() if i.milestone is milestone]
        )
        url = f"{self.site.github_api}/repos/{milestone.repo_name}/milestones/{milestone.number}"
        return {
            "url": url,
            "html_url": f"{self.site.url}/{milestone.repo_name}/milestone/{milestone.number}",
            "labels_url": f"{url}/labels",
            "id": milestone.id,
            "node_id": node_id("MI", milestone.id),
            "number": milestone.number,
            "state": "open",
            "title": milestone.title,
            "description": None,
            "creator": self._user(),
            "open_issues": sum(1 for i in issues if i.state == "open"),
            "closed_issues": sum(1 for i in issues if i.state == "closed"),
            "created_at": iso(milestone.created_at),
            "updated_at": iso(milestone.created_at),
            "closed_at": None,
            "due_on": None,
        }

    def issue_html_url(self, issue: Issue) -> str:
        return f"{self.site.url}/{issue.repo.full_name}/issues/{issue.number}"

    def _issue(self, issue: Issue) -> JSON:
        repo_url = f"{self.site.github_api}/repos/{issue.repo.full_name}"
        url = f"{repo_url}/issues/{issue.number}"
        shaped = self._issue_fields(issue, repo_url, url)
        if issue.is_pull_request:
            web = f"{self.site.url}/{issue.repo.full_name}/pull/{issue.number}"
            shaped["pull_request"] = {
                "url": f"{repo_url}/pulls/{issue.number}",
                "html_url": web,
                "diff_url": f"{web}.diff",
                "patch_url": f"{web}.patch",
                "merged_at": iso(issue.merged_at),
            }
            shaped["draft"] = issue.draft
        return shaped

    def _issue_fields(self, issue: Issue, repo_url: str, url: str) -> JSON:
        return {
            "url": url,
            "repository_url": repo_url,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": self.issue_html_url(issue),
            "id": issue.id,
            "node_id": node_id("I", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self._user(),
            "labels": [self._label(label) for label in issue.labels],
            "state": issue.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None if issue.milestone is None else self._milestone(issue.milestone),
            "comments": len(issue.comments),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": "OWNER",
            "active_lock_reason": None,
            "body": None,
            "closed_by": self._user() if issue.state == "closed" else None,
            "reactions": self._reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
            **(
                {"pull_request": {"url": f"{repo_url}/pulls/{issue.number}"}}
                if issue.is_pull_request
                else {}
            ),
        }

    def _comment(self, issue: Issue, comment: Comment) -> JSON:
        repo_url = f"{self.site.github_api}/repos/{issue.repo.full_name}"
        url = f"{repo_url}/issues/comments/{comment.id}"
        return {
            "id": comment.id,
            "node_id": node_id("IC", comment.id),
            "url": url,
            "html_url": f"{self.issue_html_url(issue)}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self._user(),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "issue_url": f"{repo_url}/issues/{issue.number}",
            "author_association": "OWNER",
            "reactions": self._reactions(url),
        }

    # ------------------------------------------------------------------ helpers

    def _find_issue(self, params: Params, doc: str) -> Issue:
        repo_name, number = f"{params['owner']}/{params['repo']}", int(params["number"])
        issue = self.store.issue(repo_name, number)
        if issue is None:
            repo = self.store.repo(repo_name)
            moved = None if repo is None else repo.transferred.get(number)
            if moved is not None:
                raise Abort(self._moved(moved))
            raise Abort(_error(404, "Not Found", doc))
        return issue

    def _moved(self, issue: Issue) -> Response:
        """A transferred issue's old address: 301 to the new one (the REST docs' "Get an issue")."""
        where = f"{self.site.github_api}/repositories/{issue.repo.id}/issues/{issue.number}"
        payload = {"message": "Moved Permanently", "url": where, "documentation_url": DOCS}
        return Response.json(301, payload, {"Location": where})

    def _body(self, request: Request, doc: str) -> Any:
        try:
            return request.json()
        except BadJsonError:
            raise Abort(_error(400, "Problems parsing JSON", doc)) from None

    def _label_names(self, request: Request, doc: str) -> list[str]:
        """The label list of a set/add body: ``{"labels": [...]}``, a bare list, or one string."""
        data = self._body(request, doc)
        if isinstance(data, dict):
            data = data.get("labels", [])
        if data is None:
            data = []
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, list):
            raise _validation_failed(doc, "Label", "invalid", "labels")
        names: list[str] = []
        for entry in data:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if not isinstance(name, str) or not name.strip():
                raise _validation_failed(doc, "Label", "invalid", "labels")
            names.append(name)
        return names

    def _paginated(self, request: Request, items: list[JSON], path: str) -> Response:
        """A page of ``items`` per ``per_page``/``page``, with GitHub's ``Link`` header."""
        try:
            per_page = min(max(int(request.param("per_page") or PER_PAGE_DEFAULT), 1), PER_PAGE_MAX)
            page = max(int(request.param("page") or 1), 1)
        except ValueError:
            per_page, page = PER_PAGE_DEFAULT, 1
        pages = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links: list[str] = []

        def link(number: int, rel: str) -> None:
            query = urlencode({"per_page": per_page, "page": number})
            links.append(f'<{self.site.url}{path}?{query}>; rel="{rel}"')

        if page > 1:
            link(page - 1, "prev")
            link(1, "first")
        if page < pages:
            link(page + 1, "next")
            link(pages, "last")
        return Response.json(200, chunk, {"Link": ", ".join(links)} if links else None)

    def _issue_labels(self, issue: Issue) -> Response:
        return Response.json(200, [self._label(label) for label in issue.labels])

    # ------------------------------------------------------------------ REST handlers

    def get_issue(self, request: Request, params: Params) -> Response:
        doc = f"{ISSUES_DOCS}#get-an-issue"
        with self.store.lock:
            return Response.json(200, self._issue(self._find_issue(params, doc)))

    def update_issue(self, request: Request, params: Params) -> Response:
        doc = f"{ISSUES_DOCS}#update-an-issue"
        data = self._body(request, doc)
        if not isinstance(data, dict):
            raise _validation_failed(doc, "Issue", "invalid", "body")
        state = data.get("state")
        reason = data.get("state_reason")
        title = data.get("title")
        if state not in (None, "open", "closed"):
            raise _validation_failed(doc, "Issue", "invalid", "state")
        if reason not in (None, *CLOSE_REASONS, "reopened") or (
            state == "closed" and reason == "reopened"
        ):
            raise _validation_failed(doc, "Issue", "invalid", "state_reason")
        if title is not None and not isinstance(title, str | int):
            raise _validation_failed(doc, "Issue", "invalid", "title")
        labels = self._label_names(request, doc) if "labels" in data else None
        with self.store.lock:
            issue = self._find_issue(params, doc)
            if state == "closed":
                self.store.close(issue, reason or "completed")
            elif state == "open":
                self.store.reopen(issue)
            else:
                self.store.touch(issue)
            if title is not None:
                issue.title = str(title)
            if labels is not None:
                self.store.set_labels(issue, labels, touch=False)
            return Response.json(200, self._issue(issue))

    def list_issue_labels(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#list-labels-for-an-issue"
        with self.store.lock:
            issue = self._find_issue(params, doc)
            items = [self._label(label) for label in issue.labels]
        return self._paginated(request, items, request.path)

    def add_issue_labels(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#add-labels-to-an-issue"
        names = self._label_names(request, doc)
        with self.store.lock:
            issue = self._find_issue(params, doc)
            self.store.add_labels(issue, names)
            return self._issue_labels(issue)

    def set_issue_labels(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#set-labels-for-an-issue"
        names = self._label_names(request, doc)
        with self.store.lock:
            issue = self._find_issue(params, doc)
            self.store.set_labels(issue, names)
            return self._issue_labels(issue)

    def clear_issue_labels(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#remove-all-labels-from-an-issue"
        with self.store.lock:
            self.store.set_labels(self._find_issue(params, doc), [])
        return Response(204)

    def remove_issue_label(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#remove-a-label-from-an-issue"
        with self.store.lock:
            issue = self._find_issue(params, doc)
            if not self.store.remove_label(issue, params["name"]):
                return _error(404, "Label does not exist", doc)
            return self._issue_labels(issue)

    def create_comment(self, request: Request, params: Params) -> Response:
        doc = f"{COMMENTS_DOCS}#create-an-issue-comment"
        data = self._body(request, doc)
        body = data.get("body") if isinstance(data, dict) else None
        if not isinstance(body, str) or not body:
            raise _validation_failed(doc, "IssueComment", "missing_field", "body")
        with self.store.lock:
            issue = self._find_issue(params, doc)
            comment = self.store.add_comment(issue, body)
            payload = self._comment(issue, comment)
        return Response.json(201, payload, {"Location": payload["url"]})

    def _find_repo_labels(self, params: Params, doc: str) -> list[Label]:
        repo = self.store.repo(f"{params['owner']}/{params['repo']}")
        if repo is None:
            raise Abort(_error(404, "Not Found", doc))
        return sorted(repo.labels.values(), key=lambda label: (label.created_at, label.id))

    def list_labels(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#list-labels-for-a-repository"
        with self.store.lock:
            items = [self._label(label) for label in self._find_repo_labels(params, doc)]
        return self._paginated(request, items, request.path)

    def get_label(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#get-a-label"
        with self.store.lock:
            for label in self._find_repo_labels(params, doc):
                if label.name.lower() == params["name"].lower():
                    return Response.json(200, self._label(label))
        return _error(404, "Not Found", doc)

    def create_label(self, request: Request, params: Params) -> Response:
        doc = f"{LABELS_DOCS}#create-a-label"
        data = self._body(request, doc)
        if not isinstance(data, dict):
            raise _validation_failed(doc, "Label", "invalid", "name")
        name, color = data.get("name"), data.get("color", DEFAULT_LABEL_COLOR)
        description = data.get("description")
        if not isinstance(name, str) or not name.strip():
            raise _validation_failed(doc, "Label", "missing_field", "name")
        if not isinstance(color, str) or len(color.lstrip("#")) != 6:
            raise _validation_failed(doc, "Label", "invalid", "color")
        if not set(color.lstrip("#").lower()) <= HEX:
            raise _validation_failed(doc, "Label", "invalid", "color")
        if description is not None and not isinstance(description, str):
            raise _validation_failed(doc, "Label", "invalid", "description")
        with self.store.lock:
            repo = self.store.repo(f"{params['owner']}/{params['repo']}")
            if repo is None:
                return _error(404, "Not Found", doc)
            try:
                label = self.store.create_label(repo, name, color.lstrip("#"), description)
            except LabelExistsError:
                raise _validation_failed(doc, "Label", "already_exists", "name") from None
            payload = self._label(label)
        return Response.json(201, payload, {"Location": payload["url"]})

    def user(self, request: Request, params: Params) -> Response:
        created = "2020-01-01T00:00:00Z"
        profile = {
            "name": "Sandbox User",
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": len(self.store.repos),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": created,
            "updated_at": created,
        }
        # A classic token's scopes, as GitHub reports them on every authenticated answer
        # (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps).
        scopes = self.site.github_scopes
        headers = (
            {} if scopes is None else {"X-OAuth-Scopes": scopes, "X-Accepted-OAuth-Scopes": ""}
        )
        return Response.json(200, {**self._user(), **profile}, headers)

    def get_repo(self, request: Request, params: Params) -> Response:
        """``GET /repos/{owner}/{repo}``: the fields ``debussy doctor`` reads, and permissions
        only for an authenticated caller, as GitHub does."""
        with self.store.lock:
            repo = self.store.repo(f"{params['owner']}/{params['repo']}")
            if repo is None:
                return _error(
                    404, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository"
                )
            api = self.site.github_api
            payload: JSON = {
                "id": repo.id,
                "node_id": node_id("R", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "private": False,
                "owner": self._user() | {"login": repo.owner},
                "html_url": f"{self.site.url}/{repo.full_name}",
                "url": f"{api}/repos/{repo.full_name}",
                "has_issues": True,
                "open_issues_count": sum(1 for i in repo.issues.values() if i.state == "open"),
                "visibility": "public",
                "default_branch": "main",
                "created_at": iso(repo.created_at),
            }
        if self._authenticated(request) is True:
            payload["permissions"] = {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            }
        return Response.json(200, payload)

    def rate_limit(self, request: Request, params: Params) -> Response:
        authenticated = self._authenticated(request) is True
        with self.store.lock:
            core = self.limits.window(authenticated, "core")
            graphql = self.limits.window(True, "graphql")
            search = RateWindow(30 if authenticated else 10, 0, int(time.time()) + 60)

            def shape(window: RateWindow) -> JSON:
                return {
                    "limit": window.limit,
                    "remaining": window.remaining,
                    "reset": window.reset,
                    "used": window.used,
                }

            payload = {
                "resources": {
                    "core": shape(core),
                    "graphql": shape(graphql),
                    "search": shape(search),
                },
                "rate": shape(core),
            }
        return Response.json(200, payload)

    # ------------------------------------------------------------------ GraphQL

    def graphql(self, request: Request, params: Params) -> Response:
        from debussy.sandbox.graphql_schema import GraphQLContext, RateLimitView, execute

        try:
            payload = request.json()
        except BadJsonError:
            return _error(400, "Problems parsing JSON", "https://docs.github.com/graphql")
        with self.store.lock:
            window = self.limits.window(True, "graphql")
            rate = RateLimitView(
                limit=window.limit,
                remaining=max(0, window.remaining - 1),
                used=window.used + 1,
                reset_at=datetime.fromtimestamp(window.reset, UTC),
            )
        if self.site.quirks.github_without_enable_duplicate and "enableDuplicate" in str(
            payload.get("query", "") if isinstance(payload, dict) else ""
        ):
            return Response.json(200, {"errors": [ENABLE_DUPLICATE_REFUSED]})
        saml = frozenset(org.lower() for org in self.site.saml_orgs)
        context = GraphQLContext(store=self.store, web_url=self.site.url, rate=rate, saml_orgs=saml)
        answer = execute(context, payload)
        response = Response.json(200, answer)
        if saml and any(
            isinstance(error, dict) and (error.get("extensions") or {}).get("saml_failure")
            for error in answer.get("errors", [])
        ):
            response.headers["X-GitHub-SSO"] = self.sso_header(sorted(saml)[0])
        return response

    def sso_header(self, org: str) -> str:
        """``X-GitHub-SSO: required; url=...``: where the user authorises the token."""
        return f"required; url={self.site.url}/orgs/{org}/sso?authorization_request=sandbox"
