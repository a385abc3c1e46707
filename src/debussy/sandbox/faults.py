"""Injected faults: what the network and the trackers do on a bad day.

A fault matches requests by platform, method and a regular expression on the
path, and fires for the next ``times`` matching requests. The server applies it
before any handler runs, so an injected 503 or dropped connection never changes
the store (the request was "not applied"); ``truncate`` and ``delay`` let the
real handler answer and only damage or slow down the delivery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RATE_LIMITED_MESSAGE = "API rate limit exceeded for user ID 1."
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
"""``graphql_error=`` values answered as a rate limit; ``RATE_LIMIT`` adds
``"code": "graphql_rate_limit"`` (the newer shape GitHub also sends)."""
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
ABUSE_MESSAGE = (
    "You have triggered an abuse detection mechanism. Please wait a few minutes before you "
    "try again."
)
"""The older wording of a secondary limit (still answered by some GitHub Enterprise
Servers, and quoted in octokit/plugin-throttling.js): a 403 that is not about the token."""
PRIMARY_LIMIT_MESSAGE = "API rate limit exceeded for user ID 1."
TOO_QUICKLY_MESSAGE = "was submitted too quickly"
"""GitHub's content-creation limit, per field of a mutation (type ``UNPROCESSABLE``; the
shape recorded in cli/cli#4801)."""
SOMETHING_WENT_WRONG = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug. Please include `0000:SANDBOX` when reporting this issue."
)
RESOURCE_LIMITS = "Resource limits for this query exceeded."
MUTATION_ANSWERS = ("null_fields", "pathless_error", "resource_limits", "too_quickly")
"""Answers to a GraphQL mutation that do not confirm every write (``mutation_answer=``):

- ``null_fields``: every field ``null``, no error at all;
- ``pathless_error``: the fields after ``after`` are ``null`` and one error without a
  ``path`` says "Something went wrong while executing your query...";
- ``resource_limits``: the same with "Resource limits for this query exceeded.";
- ``too_quickly``: the fields from ``after`` on are ``null``, each with an
  ``UNPROCESSABLE`` error at its path, "was submitted too quickly".

The first ``after`` fields are really applied in every case."""
TRANSPORT_ERRORS = ("connect", "read_timeout", "disconnect")
"""Failures below HTTP. The in-process transport raises the matching httpx error
(``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``); over loopback every one of
them is a dropped connection, the nearest thing a socket server can do."""


@dataclass
class Fault:
    platform: str | None
    path: re.Pattern[str] | None
    method: str | None
    status: int | None
    body: bytes | None
    headers: Mapping[str, str]
    remaining: int
    drop_connection: bool
    delay: float
    graphql_error: str | None
    truncate: bool
    transport_error: str | None = None
    """One of ``TRANSPORT_ERRORS``: no HTTP answer at all."""
    writes_only: bool = False
    """Match mutating requests only (for GraphQL: mutations, not queries)."""
    mutation_answer: str | None = None
    """One of ``MUTATION_ANSWERS``: a GraphQL mutation answered partly (see there)."""
    after: int = 0
    """With ``mutation_answer``: how many fields apply before the answer goes wrong."""

    def matches(self, platform: str, method: str, path: str, is_write: bool = False) -> bool:
        return (
            (self.platform is None or self.platform == platform)
            and (self.method is None or self.method == method)
            and (self.path is None or self.path.search(path) is not None)
            and (is_write or not self.writes_only)
        )

    @property
    def drops_connection(self) -> bool:
        """True when no HTTP answer is sent at all."""
        return self.drop_connection or self.transport_error is not None

    @property
    def replaces_response(self) -> bool:
        """True when the handler must not run: the fault *is* the answer."""
        return self.drops_connection or self.status is not None or self.graphql_error is not None

    @property
    def name(self) -> str:
        """A short description for the request log."""
        if self.transport_error is not None:
            return f"transport_error:{self.transport_error}"
        if self.mutation_answer is not None:
            return f"mutation_answer:{self.mutation_answer}"
        if self.drop_connection:
            return "drop_connection"
        if self.graphql_error is not None:
            return f"graphql_error:{self.graphql_error}"
        if self.status is not None:
            return f"status:{self.status}"
        if self.truncate:
            return "truncate"
        return "delay"


@dataclass
class FaultPlan:
    """The faults still armed, in the order they were injected; the first match fires."""

    armed: list[Fault] = field(default_factory=list[Fault])

    def add(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        if fault.transport_error not in (None, *TRANSPORT_ERRORS):
            raise ValueError(f"transport_error must be one of {TRANSPORT_ERRORS}")
        if fault.status is not None and not 100 <= fault.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {fault.status}")
        if fault.mutation_answer not in (None, *MUTATION_ANSWERS):
            raise ValueError(f"mutation_answer must be one of {MUTATION_ANSWERS}")
        self.armed.append(fault)

    def take(self, platform: str, method: str, path: str, is_write: bool = False) -> Fault | None:
        """The fault for this request, counting it down (callers hold the store lock)."""
        for fault in self.armed:
            if fault.matches(platform, method, path, is_write):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.armed.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.armed.clear()


_FIELD = re.compile(r"^\s*(\w+)\s*:\s*(\w+)\s*\(\s*input\s*:\s*\$(\w+)\s*\)(.*)$")
_DECLARATION = re.compile(r"\$(\w+)\s*:\s*([\w!\[\]]+)")


def mutation_fields(payload: Any) -> list[tuple[str, str, str, str]]:
    """``(alias, field, variable, selection)`` of each top-level field of a mutation.

    Reads the one-field-per-line documents clients send (``alias: name(input: $v) {
    ... }``); anything else yields no fields, and the fault then applies nothing.
    """
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str) or "mutation" not in query:
        return []
    fields: list[tuple[str, str, str, str]] = []
    for line in query.splitlines():
        match = _FIELD.match(line)
        if match:
            fields.append((match[1], match[2], match[3], match[4]))
    return fields


def trimmed_mutation(payload: Any, keep: int) -> dict[str, Any] | None:
    """The same mutation with only its first ``keep`` fields (None: nothing to send)."""
    fields = mutation_fields(payload)[:keep]
    if not fields or not isinstance(payload, dict):
        return None
    query = str(payload["query"])
    types = dict(_DECLARATION.findall(query.split("{", 1)[0]))
    given = payload.get("variables")
    variables: dict[str, Any] = given if isinstance(given, dict) else {}
    used = [variable for _alias, _name, variable, _rest in fields]
    declarations = ", ".join(f"${v}: {types.get(v, 'String!')}" for v in used)
    body = "".join(f"  {a}: {n}(input: ${v}){rest}\n" for a, n, v, rest in fields)
    return {
        "query": f"mutation SandboxPartial({declarations}) {{\n{body}}}\n",
        "variables": {v: variables.get(v) for v in used},
    }


def partial_answer(kind: str, aliases: list[str], applied: Mapping[str, Any]) -> dict[str, Any]:
    """The answer ``kind`` (``MUTATION_ANSWERS``) gives, ``applied`` being the real fields."""
    if kind == "null_fields":
        return {"data": dict.fromkeys(aliases)}
    data: dict[str, Any] = {alias: applied.get(alias) for alias in aliases}
    if kind == "too_quickly":
        errors = [
            {
                "type": "UNPROCESSABLE",
                "path": [alias],
                "locations": [{"line": index + 2, "column": 3}],
                "message": TOO_QUICKLY_MESSAGE,
            }
            for index, alias in enumerate(aliases)
            if alias not in applied
        ]
        return {"data": data, "errors": errors}
    message = RESOURCE_LIMITS if kind == "resource_limits" else SOMETHING_WENT_WRONG
    return {"data": data, "errors": [{"message": message}]}
