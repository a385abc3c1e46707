"""The loopback sandbox tracker: GitHub (GraphQL + REST) and Jira (Cloud v3, Server v2) over HTTP.

Tests run Debussy end to end against it, ``debussy demo`` shows the product
against it and the benchmarks add latency with it. Importing this package is
cheap: the server and graphql-core load on first use of ``SandboxTracker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from debussy.sandbox.server import (
        DEFAULT_GITHUB_TOKEN,
        DEFAULT_JIRA_EMAIL,
        DEFAULT_JIRA_TOKEN,
        RecordedRequest,
        SandboxTracker,
    )

__all__ = [
    "DEFAULT_GITHUB_TOKEN",
    "DEFAULT_JIRA_EMAIL",
    "DEFAULT_JIRA_TOKEN",
    "RecordedRequest",
    "SandboxTracker",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from debussy.sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module 'debussy.sandbox' has no attribute {name!r}")
