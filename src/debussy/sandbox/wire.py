"""Requests, responses and routes as the sandbox's API modules see them.

Kept apart from ``http.server`` so the GitHub and Jira modules are plain functions
of (request, path parameters) -> response, and the server owns sockets, latency,
faults and the request log in one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from debussy.sandbox.faults import Fault
from debussy.sandbox.quirks import Quirks

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPE = "application/json; charset=utf-8"


def status_phrase(status: int) -> str:
    """``Service Unavailable`` for 503; injected faults may use codes without a name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class BadJsonError(ValueError):
    """The request body is not JSON (each platform answers this its own way)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Still percent-encoded, without the query string."""
    query: Mapping[str, list[str]]
    headers: Mapping[str, str] = field(repr=False)
    """Lower-cased names. Never printed: they carry credentials."""
    body: bytes = field(repr=False)
    query_string: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadJsonError(str(exc)) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict[str, str])

    @classmethod
    def json(
        cls,
        status: int,
        payload: object,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = JSON_TYPE,
    ) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": content_type, **(headers or {})})


Params = Mapping[str, str]
Handler = Callable[[Request, Params], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint: how to recognise it and what the request log says about it."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    kind: str
    is_write: bool
    public: bool
    """Answered without credentials (GitHub reads of public repositories, Jira serverInfo)."""
    charged: bool = True
    """Counts against GitHub's rate limit."""


_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]+))?\}")


def route(
    method: str,
    template: str,
    handler: Handler,
    *,
    kind: str = "rest",
    public: bool = False,
    charged: bool = True,
) -> Route:
    """A route from ``/repos/{owner}/{repo}/issues/{number:\\d+}`` (default segment: ``[^/]+``).

    Searches and GraphQL queries are reads even when sent as POST.
    """
    pattern = "^"
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += f"(?P<{match.group(1)}>{match.group(2) or '[^/]+'})"
        position = match.end()
    pattern += re.escape(template[position:]) + "$"
    return Route(
        method=method,
        pattern=re.compile(pattern),
        handler=handler,
        kind=kind,
        is_write=method in WRITE_METHODS and kind == "rest",
        public=public,
        charged=charged,
    )


def match_route(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` with its decoded path parameters, if any matches."""
    for candidate in routes:
        if candidate.method != method:
            continue
        found = candidate.pattern.match(path)
        if found:
            return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


@dataclass
class Exchange:
    """A request on its way through the sandbox: where it goes and the fault that shapes it."""

    request: Request
    platform: str
    matched: tuple[Route, dict[str, str]] | None
    fault: Fault | None
    wait: float
    """Seconds to wait before answering: the tracker's latency plus the fault's delay."""
    is_write: bool = False
    """A mutating request (REST write method or GraphQL mutation), as the log records it."""


@dataclass
class Site:
    """What the API modules need to know about the running server and its credentials."""

    require_auth: bool
    github_token: str = field(repr=False)
    jira_email: str
    jira_token: str = field(repr=False)
    url: str = "http://127.0.0.1:0"
    """Set when the server has bound its port."""
    jira_cloud_id: str = "5f1e0b7a-0000-4000-8000-00000000c10d"
    """The site's cloudId: ``/ex/jira/{cloudId}/rest/...`` is the Atlassian API gateway."""
    jira_scoped_token: str | None = field(default=None, repr=False)
    """A scoped API token: accepted only through the gateway, as on Jira Cloud."""
    jira_anonymous_search: bool = False
    """Scene option: searches with failed credentials are served anonymously (Cloud)."""
    saml_orgs: set[str] = field(default_factory=set[str])
    """GitHub organisations enforcing SAML SSO the token is not authorised for."""
    quirks: Quirks = field(default_factory=Quirks)
    github_scopes: str | None = "repo"
    """``X-OAuth-Scopes`` of the GitHub token (a classic token); None: a fine-grained one."""

    @property
    def github_api(self) -> str:
        return f"{self.url}/api/v3"


class Abort(Exception):
    """Raised by a handler to answer early (a 404, a 422) without nesting every check."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response
