"""The Jira token (and the Basic header built from it) never shows up anywhere a user sees."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from debussy.errors import DebussyError
from debussy.issues import JiraRef
from debussy.sync.trackers.jira.client import JiraClient
from tests.fixtures.sandbox_clients import (
    BASIC_CREDENTIALS,
    CLOUD_URL,
    SERVER_URL,
    InProcessSandbox,
)
from tests.fixtures.sandbox_clients import JIRA_TOKEN as TOKEN

Scenario = Callable[[InProcessSandbox, JiraClient], Awaitable[Any]]


async def _fetch(jira: InProcessSandbox, client: JiraClient) -> Any:
    return await client.fetch_issues([JiraRef("PROJ-1"), JiraRef("PROJ-404")])


async def _fetch_after_401(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(httpx.Response(401, headers={"WWW-Authenticate": "Basic realm=jira"}))
    return await _fetch(jira, client)


async def _fetch_after_403(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(httpx.Response(403, json={"errorMessages": ["Forbidden"]}))
    return await _fetch(jira, client)


async def _fetch_echoing_credentials(jira: InProcessSandbox, client: JiraClient) -> Any:
    """A proxy that echoes the request headers in its error: redaction is the last guard."""
    echoed = f"bad header Authorization: Basic {BASIC_CREDENTIALS} / Bearer {TOKEN}"
    jira.inject_jira(httpx.Response(403, json={"errorMessages": [echoed]}))
    return await _fetch(jira, client)


async def _fetch_rejected_echoing_token(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(httpx.Response(400, json={"errorMessages": [f"token {TOKEN} not allowed"]}))
    return await _fetch(jira, client)


async def _fetch_with_503s(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(*[httpx.Response(503)] * 3)
    return await _fetch(jira, client)


async def _fetch_unreachable(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(*["connect"] * 3)
    return await _fetch(jira, client)


async def _fetch_html(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(*[httpx.Response(200, text="<html>login</html>") for _ in range(3)])
    return await _fetch(jira, client)


async def _fetch_malformed(jira: InProcessSandbox, client: JiraClient) -> Any:
    jira.inject_jira(httpx.Response(200, json={"issues": [{"key": "PROJ-1", "fields": None}]}))
    return await _fetch(jira, client)


async def _transition(jira: InProcessSandbox, client: JiraClient) -> Any:
    return await client.transition_to(JiraRef("PROJ-1"), "Done")


async def _transition_missing(jira: InProcessSandbox, client: JiraClient) -> Any:
    return await client.transition_to(JiraRef("PROJ-1"), "Nowhere")


async def _transition_unknown_issue(jira: InProcessSandbox, client: JiraClient) -> Any:
    return await client.transition_to(JiraRef("PROJ-404"), "Done")


async def _comment(jira: InProcessSandbox, client: JiraClient) -> Any:
    return await client.add_comment(JiraRef("PROJ-1"), "Phase 1 completed.")


SUCCESSES: list[Scenario] = [_fetch, _transition, _comment]
FAILURES: list[Scenario] = [
    _fetch_after_401,
    _fetch_after_403,
    _fetch_echoing_credentials,
    _fetch_rejected_echoing_token,
    _fetch_with_503s,
    _fetch_unreachable,
    _fetch_html,
    _fetch_malformed,
    _transition_missing,
    _transition_unknown_issue,
]


def _exception_text(error: BaseException) -> str:
    """str, repr and the whole formatted chain (causes included), as a traceback would print."""
    return "\n".join(
        [str(error), repr(error), *traceback.format_exception(error)]
        + [repr(cause) for cause in _chain(error)]
    )


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@pytest.mark.parametrize("deployment", ["cloud", "server"])
@pytest.mark.parametrize(
    "scenario", SUCCESSES + FAILURES, ids=lambda scenario: scenario.__name__.strip("_")
)
def test_the_token_appears_in_no_log_error_or_repr(
    caplog: pytest.LogCaptureFixture, deployment: Any, scenario: Scenario
) -> None:
    caplog.set_level(logging.DEBUG, logger="debussy")
    caplog.set_level(logging.DEBUG, logger="httpx")
    jira = InProcessSandbox(CLOUD_URL if deployment == "cloud" else SERVER_URL)
    jira.tracker.add_jira_issue("PROJ-1", status="To Do")
    seen: list[str] = []

    async def go() -> bool:
        async with jira.jira_client(deployment) as client:
            seen.append(repr(client))
            try:
                await scenario(jira, client)
            except DebussyError as error:
                seen.append(_exception_text(error))
                return True
            finally:
                seen.append(repr(client))
                seen.append(repr(vars(client)))
            return False

    raised = asyncio.run(go())

    assert raised == (scenario in FAILURES)
    assert jira.transport.sent, "the scenario must reach the sandbox"
    jira.check_contract()
    sent = jira.transport.sent[0].headers["authorization"]
    assert TOKEN in sent or BASIC_CREDENTIALS in sent  # the secrets did travel, only there
    assert caplog.records, "DEBUG logging must be on for this test to mean anything"
    logged = [caplog.text, *(record.getMessage() for record in caplog.records)]
    for text in [*seen, *logged]:
        assert TOKEN not in text
        assert BASIC_CREDENTIALS not in text
