"""The trackers: their registry here, their clients below (the only product code importing httpx).

``TRACKERS`` is the registry, keyed by platform id: what the layers above ask instead
of naming a tracker (its name as the vendor writes it, its config section, where its
client lives). Entries are plain data and clients are named by module path, imported on
first use: the warm dashboard reads the registry without loading httpx, msgspec, rich or
pydantic (tests/perf/test_warm_path.py). A tracker's client implements
``base.Tracker``; ``clients.TrackerClients.client(platform)`` builds it.

Why httpx's command line is switched off here:

httpx's ``__init__`` imports ``httpx._main`` (its own command line, which pulls
in ``rich.syntax``, ``rich.progress`` and pygments) whenever click, rich and
pygments are installed, as they are here: 20-40 ms on every command that talks to
a tracker, for a command line Debussy never runs. A ``None`` entry in
``sys.modules`` is Python's documented way to make an import fail
(https://docs.python.org/3/reference/import.html#the-module-cache), and httpx
expects that import to fail when its CLI extras are missing: it then defines a
stub ``httpx.main``. ``setdefault`` leaves an ``httpx._main`` already imported alone.
"""

import sys
from dataclasses import dataclass
from typing import Any

sys.modules.setdefault("httpx._main", None)  # pyright: ignore[reportArgumentType]


@dataclass(frozen=True, slots=True)
class TrackerEntry:
    """One tracker in the registry (docs/ARCHITECTURE.md, "Adding a tracker")."""

    platform: str
    """The id stored with every link, cached status and push (``github``, ``jira``)."""
    name: str
    """As its vendor writes it, in every message."""
    section: str
    """Its section of ``.debussy/config.yaml``; the settings answer ``active`` and ``host``."""
    client: str
    """``module:Class`` of its client (``base.Tracker``), imported when first needed."""


TRACKERS: dict[str, TrackerEntry] = {
    entry.platform: entry
    for entry in (
        TrackerEntry(
            "github", "GitHub", "github", "debussy.sync.trackers.github.client:GitHubClient"
        ),
        TrackerEntry("jira", "Jira", "jira", "debussy.sync.trackers.jira.client:JiraClient"),
    )
}


def tracker_name(platform: str) -> str:
    """``GitHub`` for ``github``; an unknown platform id is shown as it is."""
    entry = TRACKERS.get(platform)
    return entry.name if entry is not None else platform


def tracker_settings(config: Any, platform: str) -> Any:
    """The tracker's section of the config (model or snapshot view alike)."""
    return getattr(config, TRACKERS[platform].section)


def is_active(config: Any, platform: str) -> bool:
    """Whether Debussy may contact this tracker at all (enabled, and pointed somewhere)."""
    return bool(tracker_settings(config, platform).active)
