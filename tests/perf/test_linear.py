"""Issue references are compared in O(1) and never searched for in lists (issue 16).

At 1,000 GitHub issues, ``ref in missing`` over a list with a ``GitHubRef.__eq__``
that lower-cased and formatted both sides cost 500,000 string-building
comparisons (318 ms, ~8 s at 5,000). The causes are pinned here, never a time:
the canonical key is stored when a ref is built, ``__eq__``/``__hash__`` build
no string, and a fetch of n issues (cold, warm, and ``--refresh`` over a full
cache) makes a number of ref comparisons that grows with n, not n².
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from debussy.config import Config
from debussy.issues import GitHubRef, IssueRef, IssueStatus, JiraRef
from debussy.sync.cache import IssueCache
from debussy.sync.status_fetcher import IssueStatusFetcher
from debussy.sync.trackers.clients import TrackerClients

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_canonical_key_is_stored_not_computed_on_each_use() -> None:
    ref = GitHubRef("Octo/App", 12)
    assert ref.canonical == "octo/app#12"
    assert not isinstance(inspect.getattr_static(GitHubRef, "canonical"), property)
    assert ref.canonical is ref.canonical
    assert ref == GitHubRef("octo/app", 12)
    assert hash(ref) == hash(GitHubRef("OCTO/APP", 12))
    assert ref != GitHubRef("octo/app", 13)
    assert ref != JiraRef("OCTO-12")
    assert GitHubRef("octo/a", 2) < GitHubRef("Octo/B", 1)
    assert ref.repo == "Octo/App", "the plan's spelling is kept for display"


@pytest.mark.parametrize("method", ["__eq__", "__hash__", "__lt__"])
def test_comparing_and_hashing_build_no_string(method: str) -> None:
    instructions = list(dis.get_instructions(getattr(GitHubRef, method)))
    building = {"FORMAT_VALUE", "BUILD_STRING"} & {i.opname for i in instructions}
    called = {i.argval for i in instructions if i.opname in ("LOAD_ATTR", "LOAD_METHOD")}
    assert not building
    assert called.isdisjoint({"lower", "casefold", "format"})


class StubTrackers:
    """Answers every ref at once, as the real clients do, without a network."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def github(self) -> StubTrackers:
        return self

    def jira(self) -> StubTrackers:
        return self

    async def fetch_issues(
        self, refs: Sequence[IssueRef], known: dict[Any, IssueStatus] | None = None
    ) -> dict[IssueRef, IssueStatus]:
        self.asked.append(len(refs))
        return {ref: IssueStatus(platform=ref.platform, id=ref.canonical) for ref in refs}

    def requests(self) -> dict[str, int]:
        return {"github": len(self.asked)}

    async def aclose(self) -> None:
        return None


def config() -> Config:
    return Config.model_validate(
        {"github": {"repo": "octo/app"}, "jira": {"url": "https://acme.atlassian.net"}}
    )


def comparisons(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, size: int) -> dict[str, int]:
    """``GitHubRef.__eq__`` calls of a cold, a warm and a refreshing fetch of ``size`` issues."""
    counted = [0]
    original = GitHubRef.__eq__

    def counting(self: GitHubRef, other: object) -> bool:
        counted[0] += 1
        return original(self, other)

    monkeypatch.setattr(GitHubRef, "__eq__", counting)
    refs: list[IssueRef] = [GitHubRef(f"octo/repo{n % 3}", n) for n in range(size)]
    refs += [JiraRef(f"PROJ-{n}") for n in range(size)]
    seen: dict[str, int] = {}
    with IssueCache(tmp_path / f"cache-{size}.db", 300, clock=lambda: NOW) as cache:
        for mode in ("cold", "warm", "refresh"):
            stub = StubTrackers()
            fetcher = IssueStatusFetcher(
                config(), cache=cache, clients=cast(TrackerClients, stub), clock=lambda: NOW
            )
            counted[0] = 0
            # Fresh objects each time, as a command reads them from the state database.
            wanted = [GitHubRef(r.repo, r.number) if isinstance(r, GitHubRef) else r for r in refs]
            result = fetcher.fetch_blocking(wanted, refresh=mode == "refresh")
            seen[mode] = counted[0]
            assert len(result.issues) == 2 * size
            assert stub.asked == ([] if mode == "warm" else [size, size])
    return seen


def test_a_fetch_compares_refs_a_number_of_times_linear_in_the_issues(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    small = comparisons(monkeypatch, tmp_path, 500)
    large = comparisons(monkeypatch, tmp_path, 2_000)
    for mode in ("cold", "warm", "refresh"):
        assert large[mode] <= 10 * 2_000, (mode, large[mode])  # quadratic: ~2,000,000
        assert large[mode] <= 4 * small[mode] + 100, (mode, small[mode], large[mode])


def test_refresh_decodes_no_cached_entry_unless_a_tracker_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--refresh`` ignores the cache, so it must not pay for reading it (issue 16)."""
    decoded = [0]
    original = IssueStatus.from_json.__func__  # pyright: ignore[reportFunctionMemberAccess]

    def counting(cls: type[IssueStatus], data: Any) -> IssueStatus:
        decoded[0] += 1
        return original(cls, data)

    monkeypatch.setattr(IssueStatus, "from_json", classmethod(counting))
    refs: list[IssueRef] = [GitHubRef("octo/app", n) for n in range(50)]
    with IssueCache(tmp_path / "cache.db", 300, clock=lambda: NOW) as cache:
        stub = StubTrackers()
        fetcher = IssueStatusFetcher(
            config(), cache=cache, clients=cast(TrackerClients, stub), clock=lambda: NOW
        )
        fetcher.fetch_blocking(refs)
        assert fetcher.fetch_blocking(refs).from_cache == 50
        assert decoded[0] == 50, "the check sees the warm path decode"
        decoded[0] = 0
        result = fetcher.fetch_blocking(refs, refresh=True)
    assert result.fetched == 50
    assert decoded[0] == 0
