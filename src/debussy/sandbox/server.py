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
import json
import logging
import re
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from debussy.sandbox import faults
from debussy.sandbox.faults import Fault, FaultPlan
from debussy.sandbox.github_api import GitHubApi
from debussy.sandbox.github_api import error_payload as github_error
from debussy.sandbox.jira_api import JiraApi, jira_time
from debussy.sandbox.jira_api import error_payload as jira_error
from debussy.sandbox.store import Clock, Store, jira_status, system_clock
from debussy.sandbox.wire import (
    JSON_TYPE,
    WRITE_METHODS,
    Request,
    Response,
    Route,
    Site,
    match_route,
)

log = logging.getLogger("debussy.sandbox")

HOST = "127.0.0.1"
# The sandbox's own fake credentials, public by design (the demo exports them to Debussy):
DEFAULT_GITHUB_TOKEN = "sandbox-github-token"  # noqa: S105  # nosec B105
DEFAULT_JIRA_EMAIL = "demo@example.com"
DEFAULT_JIRA_TOKEN = "sandbox-jira-token"  # noqa: S105  # nosec B105
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


def _platform_of(path: str) -> str:
    if path == "/api/graphql" or path == "/api/v3" or path.startswith("/api/v3/"):
        return "github"
    if path.startswith("/rest/"):
        return "jira"
    return "other"


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
        github_scopes: str | None = "repo",
    ) -> None:
        self.latency = latency
        self._port = port
        self._store = Store(clock or system_clock)
        self._site = Site(
            require_auth, github_token, jira_email, jira_token, github_scopes=github_scopes
        )
        self._github = GitHubApi(self._store, self._site)
        self._jira = JiraApi(self._store, self._site)
        self._routes: dict[str, list[Route]] = {
            "github": self._github.routes,
            "jira": self._jira.routes,
        }
        self._faults = FaultPlan()
        self._log: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        where = self._url if self._server is not None else "stopped"
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

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the sandbox tracker has not been started; call start() first")
        return self._url

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def jira_url(self) -> str:
        return self.url

    # ------------------------------------------------------------------ serving

    def respond(self, request: Request) -> Response | None:
        """Answer one request (``None``: drop the connection). Called by the handler threads."""
        platform = _platform_of(request.path)
        matched = match_route(self._routes.get(platform, []), request.method, request.path)
        found = matched[0] if matched else None
        with self._store.lock:
            fault = self._faults.take(platform, request.method, request.path)
        wait = self.latency + (fault.delay if fault else 0.0)
        if wait > 0:
            self._stopping.wait(wait)
        response: Response | None
        if fault is not None and fault.drop_connection:
            response = None
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
            is_write=found.is_write if found else request.method in WRITE_METHODS,
            status=None if response is None else response.status,
            query=request.query_string,
            body=request.body,
            fault=fault.name if fault else None,
        )
        with self._store.lock:
            self._log.append(record)
        return response

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

    def _fault_response(self, platform: str, request: Request, fault: Fault) -> Response:
        status = fault.status or 200
        if fault.graphql_error is not None:
            message = (
                faults.RATE_LIMITED_MESSAGE
                if fault.graphql_error == "RATE_LIMITED"
                else f"Sandbox injected a {fault.graphql_error} error."
            )
            payload: object = {"errors": [{"type": fault.graphql_error, "message": message}]}
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
    ) -> None:
        """Make the next ``times`` matching requests misbehave (see ``debussy.sandbox.faults``).

        ``path`` is a regular expression searched in the request path.
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
        )
        with self._store.lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._store.lock:
            self._faults.clear()

    # ------------------------------------------------------------------ GitHub by hand

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

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        with self._store.lock:
            self._store.close(self._store.require_issue(repo, number), reason)

    def reopen_issue(self, repo: str, number: int) -> None:
        with self._store.lock:
            self._store.reopen(self._store.require_issue(repo, number))

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
