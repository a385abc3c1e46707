"""The tracker clients one command needs, created on first use and closed together.

A command that only touches GitHub never builds a Jira client (nor reads its
credentials), and a disabled platform is never contacted at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from debussy.sync.trackers import TRACKERS
from debussy.sync.trackers.base import AsyncClosing, Tracker

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
        self._learnt: dict[str, dict[str, int]] = {}

    def github(self) -> GitHubClient:
        if self._github is None:
            from debussy.sync.trackers.github.client import GitHubClient

            self._github = GitHubClient(self.config.github, transport=self._transport)
            self._github.learn_written(self._learnt.get("github", {}))
        return self._github

    def jira(self) -> JiraClient:
        if self._jira is None:
            from debussy.sync.trackers.jira.client import JiraClient

            self._jira = JiraClient(self.config.jira, transport=self._transport)
            self._jira.learn_written(self._learnt.get("jira", {}))
        return self._jira

    def client(self, platform: str) -> Tracker:
        """The client of ``platform`` (the registry's), built on first use."""
        if platform not in TRACKERS:
            raise KeyError(f"no tracker is registered for platform {platform!r}")
        return self.github() if platform == "github" else self.jira()

    def learn_written(self, platform: str, ids: Mapping[str, int]) -> None:
        """Issues an earlier command moved on ``platform`` (key -> id), for its next read.

        Kept until the client is built (a command that never reads that tracker never
        builds it), or handed over at once when it exists.
        """
        self._learnt.setdefault(platform, {}).update(ids)
        built = {"github": self._github, "jira": self._jira}.get(platform)
        if built is not None:
            built.learn_written(ids)

    def written_ids(self) -> dict[str, dict[str, int]]:
        """Per platform, key -> id of the issues moved so far (trackers never built: none)."""
        built = {"github": self._github, "jira": self._jira}
        return {platform: client.written_ids() for platform, client in built.items() if client}

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
