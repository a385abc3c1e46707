"""The tracker clients one command needs, created on first use and closed together.

A command that only touches GitHub never builds a Jira client (nor reads its
credentials), and a disabled platform is never contacted at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debussy.sync.trackers.base import AsyncClosing

if TYPE_CHECKING:  # the models are built only by commands that validate config
    import httpx

    from debussy.config import Config
    from debussy.sync.trackers.github.client import GitHubClient
    from debussy.sync.trackers.jira.client import JiraClient


class TrackerClients(AsyncClosing):
    """``transport`` replaces the network for both clients (tests: the sandbox's in-process one)."""

    def __init__(
        self, config: Config, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self._transport = transport
        self._github: GitHubClient | None = None
        self._jira: JiraClient | None = None

    def github(self) -> GitHubClient:
        if self._github is None:
            from debussy.sync.trackers.github.client import GitHubClient

            self._github = GitHubClient(self.config.github, transport=self._transport)
        return self._github

    def jira(self) -> JiraClient:
        if self._jira is None:
            from debussy.sync.trackers.jira.client import JiraClient

            self._jira = JiraClient(self.config.jira, transport=self._transport)
        return self._jira

    def jira_written_ids(self) -> dict[str, int]:
        """Key -> id of the Jira issues moved so far (none when Jira was never needed)."""
        return self._jira.written_ids() if self._jira is not None else {}

    def requests(self) -> dict[str, int]:
        """HTTP requests sent per platform so far (for the freshness line and ``--json``)."""
        counts: dict[str, int] = {}
        if self._github is not None:
            counts["github"] = self._github.requests
        if self._jira is not None:
            counts["jira"] = self._jira.requests
        return counts

    async def aclose(self) -> None:
        if self._github is not None:
            await self._github.aclose()
        if self._jira is not None:
            await self._jira.aclose()
