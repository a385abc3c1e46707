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

    def matches(self, platform: str, method: str, path: str) -> bool:
        return (
            (self.platform is None or self.platform == platform)
            and (self.method is None or self.method == method)
            and (self.path is None or self.path.search(path) is not None)
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
        self.armed.append(fault)

    def take(self, platform: str, method: str, path: str) -> Fault | None:
        """The fault for this request, counting it down (callers hold the store lock)."""
        for fault in self.armed:
            if fault.matches(platform, method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.armed.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.armed.clear()
