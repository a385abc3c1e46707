"""``SandboxTracker``: a loopback GitHub + Jira that tests, the demo and benchmarks talk to.

One ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on ``127.0.0.1`` and a free port,
served from a background thread. Every request goes through ``_respond``: find the
route, take a matching fault, wait the latency, let the platform module answer,
record the exchange. The request log and the faults share the store's lock.

Nothing here logs or stores a credential: the request log keeps method, path,
query and body, never headers, and the repr shows only the URL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from debussy.sandbox import faults
from debussy.sandbox.faults import Fault, FaultPlan
from debussy.sandbox.github_api import GitHubApi
from debussy.sandbox.github_api import error_payload as github_error
from debussy.sandbox.jira_api import GATEWAY_HEADER, JiraApi, jira_time
from debussy.sandbox.jira_api import error_payload as jira_error
from debussy.sandbox.quirks import Quirks
from debussy.sandbox.store import Clock, Store, jira_status, system_clock
from debussy.sandbox.wire import (
    JSON_TYPE,
    WRITE_METHODS,
    Exchange,
    Request,
    Response,
    Route,
    Site,
    match_route,
)

if TYPE_CHECKING:
    from debussy.sandbox.transport import SandboxTransport

log = logging.getLogger("debussy.sandbox")

HOST = "127.0.0.1"
# The sandbox's own fake credentials, public by design (the demo exports them to Debussy):
DEFAULT_GITHUB_TOKEN = "sandbox-github-token"  # noqa: S105  # nosec B105
DEFAULT_JIRA_EMAIL = "demo@example.com"
DEFAULT_JIRA_TOKEN = "sandbox-jira-token"  # noqa: S105  # nosec B105
IN_PROCESS_URL = "https://sandbox.example"
"""Where an in-process sandbox says it lives (https: clients refuse plain http off loopback)."""
MAX_BODY = 16 * 1024 * 1024
NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the sandbox answered (or dropped), for assertions on what clients sent."""

    method: str
    path: str
    platform: str
    """``github``, ``jira``, or ``other`` for paths neither API serves."""
    kind: str
    """``graphql``, ``search`` (Jira searches) or ``rest``."""
    is_write: bool
    status: int | None
    """``None`` when the connection was dropped without an answer."""
    query: str = ""
    body: bytes = field(default=b"", repr=False)
    fault: str | None = None
    """The injected fault that shaped the answer, if any (``status:503``, ``truncate``...)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _is_mutation(body: bytes) -> bool:
    """A GraphQL POST whose document is a mutation (the only GraphQL requests that write)."""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return False
    query = payload.get("query") if isinstance(payload, dict) else None
    return isinstance(query, str) and query.lstrip().startswith("mutation")


def _platform_of(path: str) -> str:
    if path == "/api/graphql" or path == "/api/v3" or path.startswith("/api/v3/"):
        return "github"
    if path.startswith(("/rest/", "/ex/jira/")):
        return "jira"
    return "other"


_GATEWAY = re.compile(r"^/ex/jira/(?P<cloud>[^/]+)(?P<rest>/rest/.*)$")
"""Atlassian's API gateway in front of a Cloud site: https://api.atlassian.com/ex/jira/{cloudId}."""


def _through_gateway(request: Request, cloud_id: str) -> Request:
    """Internal marker headers are the server's alone; a gateway path is served as the site's."""
    headers = {
        name: value for name, value in request.headers.items() if not name.startswith("x-sandbox-")
    }
    path = request.path
    gateway = _GATEWAY.match(path)
    if gateway is not None and gateway["cloud"] == cloud_id:
        path = gateway["rest"]
        headers[GATEWAY_HEADER] = "1"
    return dataclasses.replace(request, path=path, headers=headers)


def _comment_text(body: object) -> str:
    """Plain text of a comment: GitHub markdown as is, Jira ADF flattened to its text nodes."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        if body.get("type") == "text":
            return str(body.get("text", ""))
        return "".join(_comment_text(child) for child in body.get("content", []) or [])
    return ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    """``listen()`` backlog. socketserver's default of 5 overflows when GitHub's and Jira's
    batches (4 + 4 in flight) connect at once; the kernel then drops the SYN and the
    client waits a full second to retry (seen as 1 s outliers in bench/run.py at n=1000)."""

    def __init__(self, port: int, tracker: SandboxTracker) -> None:
        super().__init__((HOST, port), _Handler)
        self.tracker = tracker
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Hang up on keep-alive clients so nothing is served after ``stop()``."""
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is normal here; never print tracebacks."""
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DebussySandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    """Small answers must not wait for the client's delayed ACK (40 ms per request)."""

    @property
    def sandbox_server(self) -> _Server:
        return cast(_Server, self.server)

    def setup(self) -> None:
        super().setup()
        self.sandbox_server.track(self.connection, alive=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sandbox_server.track(self.connection, alive=False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.close_connection = True
            self._send(Response.json(400, {"message": "Bad request framing"}))
            return
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            query_string=parts.query,
        )
        response = self.sandbox_server.tracker.respond(request)
        if response is None:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in NO_BODY_STATUSES and response.status >= 200:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and response.status not in NO_BODY_STATUSES:
            self.wfile.write(response.body)


class SandboxTracker:
    """A fake GitHub (Enterprise layout) and Jira on loopback, over real HTTP.

    Use as ``with SandboxTracker() as sandbox: ...``. Seed and change issues "by
    hand" with the methods below (they work before ``start()`` too), point clients
    at ``github_api_url`` and ``jira_url``, and assert on ``requests``.
    ``github_scopes`` is the ``X-OAuth-Scopes`` answer of ``GET /user`` (None: a
    fine-grained token, which gets no such header). ``clock`` replaces the wall
    clock for issue timestamps (tests that compare
    which side changed last).
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        require_auth: bool = True,
        github_token: str = DEFAULT_GITHUB_TOKEN,
        jira_email: str = DEFAULT_JIRA_EMAIL,
        jira_token: str = DEFAULT_JIRA_TOKEN,
        port: int = 0,
        clock: Clock | None = None,
        jira_scoped_token: str | None = None,
        github_scopes: str | None = "repo",
    ) -> None:
        self.latency = latency
        self._port = port
        self._store = Store(clock or system_clock)
        self._site = Site(
            require_auth, github_token, jira_email, jira_token, github_scopes=github_scopes
        )
        self._site.jira_scoped_token = jira_scoped_token
        self._github = GitHubApi(self._store, self._site)
        self._jira = JiraApi(self._store, self._site)
        self._routes: dict[str, list[Route]] = {
            "github": self._github.routes,
            "jira": self._jira.routes,
        }
        self._faults = FaultPlan()
        self._log: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self.before_write: Callable[[SandboxTracker], None] | None = None
        """Run once, just before the next mutating request is served: a person's edit
        landing between a client's read and its write (set it again for another)."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        where = self._url if self._server is not None else f"stopped (in process: {self._url})"
        return f"<SandboxTracker {where} requests={len(self._log)}>"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Bind a port and serve in a background thread (no-op when already running)."""
        if self._server is not None:
            return
        from debussy.sandbox.graphql_schema import github_schema

        github_schema()  # pay graphql-core's import now, not inside the first timed request
        server = _Server(self._port, self)
        self._url = f"http://{HOST}:{server.server_address[1]}"
        self._site.url = self._url
        self._stopping.clear()
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"debussy-sandbox-{server.server_address[1]}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        log.debug("sandbox tracker listening on %s", self._url)

    def stop(self) -> None:
        """Stop serving, hang up on open connections, free the port (no-op when stopped)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self._stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)

    def __enter__(self) -> SandboxTracker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def transport(self, url: str = IN_PROCESS_URL) -> SandboxTransport:
        """An httpx transport (sync and async) answering in process, with no socket at all.

        Works without ``start()``: the tracker then takes ``url`` as its own address
        (the links in its answers use it), so point clients at ``github_api_url`` and
        ``jira_url`` as usual. Latency, faults, the request log and ``max_in_flight``
        apply exactly as over loopback HTTP.
        """
        from debussy.sandbox.transport import SandboxTransport

        if self._server is None:
            self._url = url.rstrip("/")
            self._site.url = self._url
        elif url != IN_PROCESS_URL:
            raise ValueError("a started sandbox answers at its loopback url; omit url")
        return SandboxTransport(self)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError(
                "the sandbox tracker has not been started; call start() or transport() first"
            )
        return self._url

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def jira_url(self) -> str:
        return self.url

    @property
    def jira_gateway_url(self) -> str:
        """The site through Atlassian's API gateway, where scoped API tokens work."""
        return f"{self.url}/ex/jira/{self._site.jira_cloud_id}"

    # ------------------------------------------------------------------ serving

    def respond(self, request: Request) -> Response | None:
        """Answer one request (``None``: drop the connection). Called by the handler threads."""
        with self.counting_in_flight():
            exchange = self.receive(request)
            if exchange.wait > 0:
                self._stopping.wait(exchange.wait)
            return self.answer(exchange)

    def receive(self, request: Request) -> Exchange:
        """First half of ``respond``: find the route and take the fault that shapes the answer.

        Split from ``answer`` so the in-process transport can wait the latency with
        ``asyncio.sleep`` instead of blocking the event loop (``debussy.sandbox.transport``).
        """
        platform = _platform_of(request.path)
        request = _through_gateway(request, self._site.jira_cloud_id)
        matched = match_route(self._routes.get(platform, []), request.method, request.path)
        found = matched[0] if matched else None
        is_write = found.is_write if found else request.method in WRITE_METHODS
        if found is not None and found.kind == "graphql":
            is_write = _is_mutation(request.body)
        hook = self.before_write if is_write else None
        if hook is not None:
            self.before_write = None
            hook(self)
        with self._store.lock:
            fault = self._faults.take(platform, request.method, request.path, is_write)
        wait = self.latency + (fault.delay if fault else 0.0)
        return Exchange(request, platform, matched, fault, wait, is_write)

    def answer(self, exchange: Exchange) -> Response | None:
        """Second half of ``respond``: let the platform answer (or the fault), log the exchange."""
        request, platform, matched, fault, is_write = (
            exchange.request,
            exchange.platform,
            exchange.matched,
            exchange.fault,
            exchange.is_write,
        )
        found = matched[0] if matched else None
        response: Response | None
        if fault is not None and fault.drops_connection:
            response = None
        elif fault is not None and fault.mutation_answer is not None:
            response = self._partial_mutation(request, matched, fault)
        elif fault is not None and fault.replaces_response:
            response = self._fault_response(platform, request, fault)
        else:
            response = self._dispatch(platform, request, matched)
        if response is not None and fault is not None and fault.truncate:
            response.body = response.body[: len(response.body) // 2]
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            platform=platform,
            kind=found.kind if found else "rest",
            is_write=is_write,
            status=None if response is None else response.status,
            query=request.query_string,
            body=request.body,
            fault=fault.name if fault else None,
        )
        with self._store.lock:
            self._log.append(record)
        return response

    @contextlib.contextmanager
    def counting_in_flight(self) -> Generator[None]:
        """Count a request as in flight for as long as the block runs (see ``max_in_flight``)."""
        with self._store.lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._store.lock:
                self._in_flight -= 1

    @property
    def max_in_flight(self) -> int:
        """The most requests the sandbox was answering at once since start (or the last reset).

        How tests pin a client's concurrency bound without timing anything.
        """
        with self._store.lock:
            return self._max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._store.lock:
            self._max_in_flight = self._in_flight

    def _dispatch(
        self, platform: str, request: Request, matched: tuple[Route, Mapping[str, str]] | None
    ) -> Response:
        try:
            if platform == "github":
                return self._github.handle(request, matched)
            if platform == "jira":
                return self._jira.handle(request, matched)
            return Response.json(404, {"message": "Not Found"})
        except Exception:
            log.exception("sandbox handler failed for %s %s", request.method, request.path)
            return Response.json(500, {"message": "Sandbox handler failed; see the log"})

    def _partial_mutation(
        self, request: Request, matched: tuple[Route, Mapping[str, str]] | None, fault: Fault
    ) -> Response:
        """A GraphQL mutation whose first ``fault.after`` fields apply, answered as ``kind``."""
        payload = request.json()
        aliases = [alias for alias, *_rest in faults.mutation_fields(payload)]
        trimmed = faults.trimmed_mutation(payload, fault.after)
        applied: dict[str, Any] = {}
        if trimmed is not None:
            partial = dataclasses.replace(request, body=json.dumps(trimmed).encode())
            answered = self._dispatch("github", partial, matched)
            answer = json.loads(answered.body or b"null")
            data = answer.get("data") if isinstance(answer, dict) else None
            applied = {k: v for k, v in (data or {}).items() if v is not None}
        return Response.json(
            200, faults.partial_answer(fault.mutation_answer or "", aliases, applied)
        )

    def _fault_response(self, platform: str, request: Request, fault: Fault) -> Response:
        status = fault.status or 200
        if fault.graphql_error is not None:
            message = (
                faults.RATE_LIMITED_MESSAGE
                if fault.graphql_error in faults.GRAPHQL_RATE_LIMIT_TYPES
                else f"Sandbox injected a {fault.graphql_error} error."
            )
            error: dict[str, str] = {"type": fault.graphql_error, "message": message}
            if fault.graphql_error == "RATE_LIMIT":
                # The newer shape GitHub also answers: a type and a code.
                error["code"] = "graphql_rate_limit"
            payload: object = {"errors": [error]}
            body = json.dumps(payload).encode()
        elif fault.body is not None:
            body = fault.body
        elif platform == "jira":
            body = json.dumps(jira_error(status)).encode()
        else:
            body = json.dumps(github_error(status)).encode()
        is_html = body.lstrip()[:1] == b"<"
        headers = self._github.base_headers(request, "core") if platform == "github" else {}
        headers["Content-Type"] = "text/html; charset=utf-8" if is_html else JSON_TYPE
        headers.update(fault.headers)
        return Response(status, body, headers)

    # ------------------------------------------------------------------ observation

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request answered so far, oldest first."""
        with self._store.lock:
            return list(self._log)

    def request_count(self, platform: str | None = None, *, writes_only: bool = False) -> int:
        with self._store.lock:
            return sum(
                1
                for record in self._log
                if (platform is None or record.platform == platform)
                and (record.is_write or not writes_only)
            )

    def clear_requests(self) -> None:
        with self._store.lock:
            self._log.clear()

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        *,
        platform: str | None = None,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        drop_connection: bool = False,
        delay: float = 0.0,
        graphql_error: str | None = None,
        truncate: bool = False,
        transport_error: str | None = None,
        writes_only: bool = False,
        mutation_answer: str | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` matching requests misbehave (see ``debussy.sandbox.faults``).

        ``path`` is a regular expression searched in the request path. ``transport_error``
        (``connect``, ``read_timeout``, ``disconnect``) sends no answer: the in-process
        transport raises the matching httpx error, loopback HTTP drops the connection.
        ``writes_only`` matches mutating requests only (GraphQL mutations, not queries).
        ``mutation_answer`` (``faults.MUTATION_ANSWERS``) answers a mutation partly, its
        first ``after`` fields applied.
        """
        if platform not in (None, "github", "jira"):
            raise ValueError(f"platform must be 'github', 'jira' or None, not {platform!r}")
        fault = Fault(
            platform=platform,
            path=re.compile(path) if path is not None else None,
            method=method.upper() if method else None,
            status=status,
            body=body.encode() if isinstance(body, str) else body,
            headers=dict(headers or {}),
            remaining=times,
            drop_connection=drop_connection,
            delay=delay,
            graphql_error=graphql_error,
            truncate=truncate,
            transport_error=transport_error,
            writes_only=writes_only or mutation_answer is not None,
            mutation_answer=mutation_answer,
            after=after,
        )
        with self._store.lock:
            self._faults.add(fault)

    def inject_mutation_answer(self, kind: str, *, after: int = 0, times: int = 1) -> None:
        """The next GraphQL mutation is answered partly (``faults.MUTATION_ANSWERS``)."""
        self.inject(
            platform="github", path="/api/graphql$", mutation_answer=kind, after=after, times=times
        )

    def inject_primary_limit(
        self, *, reset_in: int, status: int = 403, times: int = 1, writes_only: bool = False
    ) -> None:
        """GitHub's primary limit: "API rate limit exceeded", resetting at ``x-ratelimit-reset``.

        ``x-ratelimit-remaining`` is left out, as on answers where GitHub does not
        send it (the reset is what tells a client when to come back).
        """
        import time

        self.inject(
            platform="github",
            status=status,
            body=json.dumps(
                {
                    "message": faults.PRIMARY_LIMIT_MESSAGE,
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                }
            ),
            headers={"x-ratelimit-reset": str(int(time.time()) + reset_in)},
            times=times,
            writes_only=writes_only,
        )

    def inject_abuse_limit(self, *, times: int = 1, writes_only: bool = False) -> None:
        """The older secondary-limit answer: 403 "abuse detection mechanism", no headers."""
        self.inject(
            platform="github",
            status=403,
            body=json.dumps(
                {"message": faults.ABUSE_MESSAGE, "documentation_url": faults.SECONDARY_LIMIT_DOCS}
            ),
            times=times,
            writes_only=writes_only,
        )

    def inject_secondary_limit(
        self,
        *,
        retry_after: int | None = None,
        times: int = 1,
        status: int = 403,
        writes_only: bool = False,
    ) -> None:
        """GitHub's secondary rate limit: its message, ``retry-after`` only if given.

        Without ``retry-after`` GitHub's docs ask clients to wait at least a minute.
        ``status=200`` is the GraphQL shape: an error with the message and no ``type``.
        """
        if status == 200:
            self.inject(
                platform="github",
                status=200,
                body=json.dumps({"errors": [{"message": faults.SECONDARY_LIMIT_MESSAGE}]}),
                times=times,
                writes_only=writes_only,
            )
            return
        self.inject(
            platform="github",
            writes_only=writes_only,
            status=status,
            body=json.dumps(
                {
                    "message": faults.SECONDARY_LIMIT_MESSAGE,
                    "documentation_url": faults.SECONDARY_LIMIT_DOCS,
                }
            ),
            headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
            times=times,
        )

    def clear_faults(self) -> None:
        with self._store.lock:
            self._faults.clear()

    @property
    def quirks(self) -> Quirks:
        """Behaviour of older or differently configured sites, off by default (see ``quirks``)."""
        return self._site.quirks

    # ------------------------------------------------------------------ GitHub by hand

    def require_saml_sso(self, org: str) -> None:
        """The organisation enforces SAML SSO and the sandbox token is not authorised for it.

        GraphQL answers its repositories ``null`` with a ``FORBIDDEN`` error carrying
        ``extensions.saml_failure``; REST answers 403; both send ``X-GitHub-SSO``.
        """
        with self._store.lock:
            self._site.saml_orgs.add(org.lower())

    def add_repo(self, repo: str) -> None:
        with self._store.lock:
            self._store.add_repo(repo)

    def add_issue(
        self,
        repo: str,
        number: int,
        *,
        title: str = "",
        state: str = "open",
        state_reason: str | None = None,
        labels: Iterable[str] = (),
        milestone: str | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Create an issue (and its repository and labels if new); ``updated_at`` backdates it."""
        with self._store.lock:
            self._store.add_issue(
                repo,
                number,
                title=title,
                state=state,
                state_reason=state_reason,
                labels=labels,
                milestone=milestone,
                updated_at=updated_at,
            )

    def add_pull_request(
        self, repo: str, number: int, *, title: str = "", state: str = "open"
    ) -> None:
        """A pull request (``open``, ``draft``, ``merged`` or ``closed`` unmerged).

        REST serves it as an issue with ``pull_request`` (``merged_at``) and ``draft``;
        GraphQL's ``issue(number:)`` cannot find it, ``issueOrPullRequest`` can.
        """
        if state not in ("open", "draft", "merged", "closed"):
            raise ValueError(f"a pull request is open, draft, merged or closed, not {state!r}")
        with self._store.lock:
            issue = self._store.add_issue(
                repo,
                number,
                title=title or f"Pull request {number}",
                state="closed" if state in ("merged", "closed") else "open",
                state_reason=None,
                labels=(),
                milestone=None,
                updated_at=None,
            )
            issue.is_pull_request = True
            issue.draft = state == "draft"
            if state == "merged":
                issue.merged_at = issue.closed_at

    def merge_pull_request(self, repo: str, number: int) -> None:
        """Merge an open pull request now, as a person would on GitHub."""
        with self._store.lock:
            issue = self._store.require_issue(repo, number)
            if not issue.is_pull_request:
                raise ValueError(f"{repo}#{number} is not a pull request")
            self._store.close(issue, "completed")
            issue.state_reason = None
            issue.draft = False
            issue.merged_at = issue.closed_at

    def add_sub_issue(self, repo: str, parent: int, child: int) -> None:
        """Make ``child`` a sub-issue of ``parent`` by hand (GitHub's rules apply)."""
        with self._store.lock:
            self._store.add_sub_issue(
                self._store.require_issue(repo, parent), self._store.require_issue(repo, child)
            )

    def add_sub_issue_across(
        self, parent_repo: str, parent: int, repo: str, child: int, *, touch: bool = True
    ) -> None:
        """``add_sub_issue`` for a child in another repository of the same owner.

        ``touch=False``: a link made long ago (seeding a scene), the parent's update time stays.
        """
        with self._store.lock:
            self._store.add_sub_issue(
                self._store.require_issue(parent_repo, parent),
                self._store.require_issue(repo, child),
                touch=touch,
            )

    def delete_comments(self, repo: str, number: int) -> None:
        """A person deletes every comment of a GitHub issue (or a post that never arrived)."""
        with self._store.lock:
            self._store.require_issue(repo, number).comments.clear()

    def sub_issues(self, repo: str, number: int) -> list[str]:
        """``owner/name#N`` of each sub-issue, in order (for assertions)."""
        with self._store.lock:
            issue = self._store.require_issue(repo, number)
            return [f"{child.repo.full_name}#{child.number}" for child in issue.sub_issues]

    def transfer_issue(self, repo: str, number: int, to_repo: str) -> int:
        """Move an issue to another repository; its old REST address answers 301. New number."""
        with self._store.lock:
            return self._store.transfer(self._store.require_issue(repo, number), to_repo).number

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        with self._store.lock:
            self._store.close(self._store.require_issue(repo, number), reason)

    def reopen_issue(self, repo: str, number: int) -> None:
        with self._store.lock:
            self._store.reopen(self._store.require_issue(repo, number))

    def add_labels(self, repo: str, number: int, labels: Iterable[str]) -> None:
        """Add labels by hand, keeping the others (as a person in the web UI)."""
        with self._store.lock:
            self._store.add_labels(self._store.require_issue(repo, number), labels)

    def set_labels(self, repo: str, number: int, labels: Iterable[str]) -> None:
        with self._store.lock:
            self._store.set_labels(self._store.require_issue(repo, number), labels)

    def github_issue(self, repo: str, number: int) -> dict[str, Any]:
        """A snapshot for assertions; times are aware UTC datetimes."""
        with self._store.lock:
            issue = self._store.require_issue(repo, number)
            return {
                "repo": issue.repo.full_name,
                "number": issue.number,
                "title": issue.title,
                "state": issue.state,
                "state_reason": issue.state_reason,
                "labels": [label.name for label in issue.labels],
                "milestone": issue.milestone.title if issue.milestone else None,
                "url": self._github.issue_html_url(issue),
                "created_at": issue.created_at,
                "updated_at": issue.updated_at,
                "closed_at": issue.closed_at,
                "comments": [_comment_text(comment.body) for comment in issue.comments],
                "parent": (
                    f"{issue.parent.repo.full_name}#{issue.parent.number}"
                    if issue.parent is not None
                    else None
                ),
            }

    # ------------------------------------------------------------------ Jira by hand

    def add_jira_issue(
        self,
        key: str,
        *,
        summary: str = "",
        status: str = "To Do",
        labels: Iterable[str] = (),
        resolution: str | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Create an issue in one of the workflow's statuses; done ones get a resolution."""
        with self._store.lock:
            self._store.add_jira_issue(
                key,
                summary=summary,
                status=status,
                labels=labels,
                resolution=resolution,
                updated_at=updated_at,
            )

    def move_jira_issue(self, key: str, status: str, resolution: str | None = None) -> None:
        """Set the status directly, as an admin would (no transition needed)."""
        with self._store.lock:
            self._store.move_jira(
                self._store.require_jira_issue(key), jira_status(status), resolution
            )

    def move_jira_issue_to_project(self, key: str, new_key: str) -> None:
        """Move an issue to another project, as Jira's "Move" does: ``key`` keeps answering."""
        with self._store.lock:
            self._store.move_jira_to_project(key, new_key)

    def jira_scene(
        self,
        *,
        anonymous_search: bool | None = None,
        search_lag: bool | None = None,
        resolution_required: bool | None = None,
    ) -> None:
        """Switch on what real Jira Cloud does and the default sandbox does not.

        ``anonymous_search``: searches with failed credentials are answered as the
        anonymous user (who sees nothing) with ``X-Seraph-LoginReason:
        AUTHENTICATED_FAILED``, not 401. ``search_lag``: a transition is not visible
        to search until a search names the issue's id in ``reconcileIssues`` (or
        ``catch_up_jira_index()``). ``resolution_required``: transitions into a done
        status have a screen that requires a resolution.
        """
        with self._store.lock:
            if anonymous_search is not None:
                self._site.jira_anonymous_search = anonymous_search
            if search_lag is not None:
                self._store.jira_search_lag = search_lag
            if resolution_required is not None:
                self._store.jira_resolution_required = resolution_required

    def catch_up_jira_index(self) -> None:
        """The search index catches up with every write (``search_lag`` ends for now)."""
        with self._store.lock:
            for issue in self._store.jira_issues.values():
                issue.search_view = None

    def hide_jira_issue(self, key: str) -> None:
        with self._store.lock:
            self._store.require_jira_issue(key).hidden = True

    def jira_issue(self, key: str) -> dict[str, Any]:
        """A snapshot for assertions; ``updated`` etc. in Jira's own string form."""
        with self._store.lock:
            issue = self._store.require_jira_issue(key)
            return {
                "key": issue.key,
                "summary": issue.summary,
                "status": issue.status.name,
                "status_category": issue.status.category.key,
                "resolution": issue.resolution,
                "labels": list(issue.labels),
                "created": jira_time(issue.created),
                "updated": jira_time(issue.updated),
                "statuscategorychangedate": jira_time(issue.status_category_changed),
                "resolutiondate": jira_time(issue.resolution_date),
                "hidden": issue.hidden,
                "comments": [_comment_text(comment.body) for comment in issue.comments],
            }
