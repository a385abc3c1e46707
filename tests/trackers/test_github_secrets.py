"""The GitHub token never shows: not in logs (DEBUG, httpx included), errors or reprs.

The token is recognisable, every path that can fail is driven, and the test first
proves the token really travelled (in the Authorization header) so that its
absence everywhere else means something.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from debussy.errors import DebussyError, TrackerAuthError
from debussy.issues import GitHubRef
from debussy.sync.trackers.github.client import GitHubClient
from tests.fixtures.sandbox_clients import GITHUB_TOKEN as TOKEN
from tests.fixtures.sandbox_clients import InProcessSandbox

ISSUE = GitHubRef("octo/app", 12)
LOGGERS = ("debussy", "httpx", "httpcore")

Action = Callable[[GitHubClient], Awaitable[Any]]
Failure = Callable[[InProcessSandbox], None]


def _answer(path: str, answer: httpx.Response) -> Failure:
    """Every attempt (three at most) at ``path`` gets ``answer``."""

    def inject(sandbox: InProcessSandbox) -> None:
        sandbox.tracker.inject(
            path=path,
            status=answer.status_code,
            body=answer.content,
            headers={k: v for k, v in answer.headers.items() if k != "content-length"},
            times=3,
        )

    return inject


def _unreachable(path: str) -> Failure:
    def inject(sandbox: InProcessSandbox) -> None:
        sandbox.tracker.inject(path=path, transport_error="connect", times=3)

    return inject


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture DEBUG records straight from the loggers, whatever logging setup ran before."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    yield caplog
    for logger, (level, propagate) in zip(loggers, saved, strict=True):
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _everything_said_about(error: BaseException) -> str:
    """str, repr and formatted traceback of an error and of its whole chain."""
    parts: list[str] = ["".join(traceback.format_exception(error))]
    visited: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in visited:  # a re-raised error can loop
        visited.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_token_appears_in_no_log_error_or_repr(
    debug_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    fake = InProcessSandbox()
    fake.tracker.add_issue("octo/app", 12, labels=["debussy:in-progress"])
    graphql, issue, comments = "/api/graphql$", r"/issues/12$", "/comments$"
    failures: list[Failure] = [
        _answer(graphql, httpx.Response(401, json={"message": "Bad credentials"})),
        _answer(graphql, httpx.Response(500, text="oops")),
        _answer(graphql, httpx.Response(200, content=b"<html><body>Sign in</body></html>")),
        _answer(graphql, httpx.Response(200, content=b'{"data": {"r0": {"i12": {"num')),
        _unreachable(graphql),
        _answer(issue, httpx.Response(403, json={"message": "Must have admin rights"})),
        _answer(comments, httpx.Response(502)),
    ]
    actions: list[Action] = [
        lambda c: c.fetch_issues([ISSUE]),
        lambda c: c.fetch_issues([ISSUE]),
        lambda c: c.fetch_issues([ISSUE]),
        lambda c: c.fetch_issues([ISSUE]),
        lambda c: c.fetch_issues([ISSUE]),
        lambda c: c.close_issue(ISSUE, "completed"),
        lambda c: c.add_comment(ISSUE, "hello"),
    ]
    errors: list[BaseException] = []
    reprs: list[str] = []

    async def drive(client: GitHubClient) -> None:
        await client.fetch_issues([ISSUE])  # success paths first
        for fail, action in zip(failures, actions, strict=True):
            fail(fake)
            try:
                await action(client)
            except DebussyError as exc:
                errors.append(exc)
            fake.tracker.clear_faults()
        reprs.append(repr(client))

    async def main() -> None:
        async with GitHubClient(fake.github_config(), transport=fake.transport) as client:
            await drive(client)

    asyncio.run(main())
    fake.check_contract()
    authorizations = {request.headers.get("authorization") for request in fake.transport.sent}

    assert authorizations == {f"Bearer {TOKEN}"}  # the token really was used
    assert len(errors) == len(failures)
    assert any(record.name.startswith("httpx") for record in debug_logs.records)
    assert any(record.name.startswith("debussy") for record in debug_logs.records)
    for record in debug_logs.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in repr(record.args)
    assert TOKEN not in debug_logs.text
    for error in errors:
        assert TOKEN not in _everything_said_about(error)
    assert TOKEN not in reprs[0]
    assert "token=set" in reprs[0]


def test_a_token_echoed_back_by_the_server_is_redacted() -> None:
    fake = InProcessSandbox()
    fake.inject_graphql(httpx.Response(403, json={"message": f"token {TOKEN} was revoked"}))

    async def main() -> None:
        async with fake.github_client(token=TOKEN) as client:
            await client.fetch_issues([ISSUE])

    with pytest.raises(TrackerAuthError) as caught:
        asyncio.run(main())

    assert "token *** was revoked" in str(caught.value)
    assert TOKEN not in repr(caught.value)


def test_client_repr_and_auth_repr_hide_the_token() -> None:
    client = InProcessSandbox().github_client(token=TOKEN)
    try:
        http = client._http  # pyright: ignore[reportPrivateUsage]
        inner = http._client  # pyright: ignore[reportPrivateUsage]
        assert TOKEN not in repr(client)
        assert TOKEN not in repr(http)
        assert TOKEN not in repr(inner.auth)
        assert TOKEN not in repr(inner.headers)
    finally:
        asyncio.run(client.aclose())
