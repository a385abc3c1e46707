"""``SandboxTransport``: the sandbox tracker as an httpx transport, answering in process.

Client tests get the speed of ``httpx.MockTransport`` with the one fake the end-to-end
tests use: the same routes, store, faults, latency and request log as loopback HTTP
(``SandboxTracker.respond``), only without sockets or threads. Get one from
``SandboxTracker.transport()``; it works for ``httpx.Client`` and ``httpx.AsyncClient``.

Async requests yield to the event loop before they are answered, so concurrent
requests overlap the way they do on a network and ``SandboxTracker.max_in_flight``
sees a client's real concurrency; latency is waited with ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AbstractContextManager
from typing import Protocol

import httpx

from debussy.sandbox.wire import Exchange, Request, Response


class SandboxTracker(Protocol):
    """What the transport needs of ``server.SandboxTracker`` (named here, so the server can
    hand itself over without the two modules importing each other)."""

    @property
    def url(self) -> str: ...

    def counting_in_flight(self) -> AbstractContextManager[None]: ...

    def receive(self, request: Request) -> Exchange: ...

    def answer(self, exchange: Exchange) -> Response | None: ...


YIELDS = 3
"""Event-loop turns an async request waits before it is answered: enough for the other
requests a client started together to arrive, so they are in flight at once."""


def _as_sandbox_request(request: httpx.Request, body: bytes, context_path: str) -> Request:
    """The sandbox's view of an httpx request; a site below ``context_path`` has it removed."""
    query: dict[str, list[str]] = {}
    for name, value in request.url.params.multi_items():
        query.setdefault(name, []).append(value)
    path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
    if context_path and path.startswith(context_path + "/"):
        path = path[len(context_path) :]
    return Request(
        method=request.method,
        path=path,
        query=query,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        query_string=request.url.query.decode("ascii"),
    )


def _transport_error(exchange: Exchange, request: httpx.Request) -> httpx.TransportError:
    """The httpx error a client sees when the sandbox sends no answer."""
    kind = exchange.fault.transport_error if exchange.fault else None
    if kind == "connect":
        return httpx.ConnectError("sandbox: connection refused (injected)", request=request)
    if kind == "read_timeout":
        return httpx.ReadTimeout(
            "sandbox: timed out reading the answer (injected)", request=request
        )
    return httpx.RemoteProtocolError(
        "sandbox: server disconnected without sending a response", request=request
    )


def _as_httpx_response(response: Response, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        response.status,
        headers=response.headers,
        content=response.body,
        request=request,
    )


class SandboxTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """Hands each request to a ``SandboxTracker`` and its answer back to httpx.

    ``sent`` keeps the httpx requests as the client built them (headers included),
    for tests that check what a client sends; it lives only in memory and is never
    printed (the tracker's own request log keeps no headers).
    """

    def __init__(self, tracker: SandboxTracker) -> None:
        self._tracker = tracker
        self._context_path = httpx.URL(tracker.url).path.rstrip("/")
        """``/jira`` for a site at ``https://intranet.example.com/jira``: not part of the API."""
        self.sent: list[httpx.Request] = []

    def __repr__(self) -> str:
        return f"<SandboxTransport {self._tracker!r}>"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append(request)
        with self._tracker.counting_in_flight():
            exchange = self._tracker.receive(_as_sandbox_request(request, body, self._context_path))
            if exchange.wait > 0:
                time.sleep(exchange.wait)
            response = self._tracker.answer(exchange)
        if response is None:
            raise _transport_error(exchange, request)
        return _as_httpx_response(response, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append(request)
        with self._tracker.counting_in_flight():
            for _ in range(YIELDS):
                await asyncio.sleep(0)
            exchange = self._tracker.receive(_as_sandbox_request(request, body, self._context_path))
            if exchange.wait > 0:
                await asyncio.sleep(exchange.wait)
            response = self._tracker.answer(exchange)
        if response is None:
            raise _transport_error(exchange, request)
        return _as_httpx_response(response, request)
