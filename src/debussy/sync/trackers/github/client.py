"""The GitHub client: issue reads (GraphQL, or REST without a token) and REST writes.

Every request goes through ``TrackerHttp``, so retries, timeouts and status
translation are the shared ones; this module adds what only GitHub needs:

- the rate-limit classification GitHub documents (``retry-after`` is a secondary
  limit, ``x-ratelimit-remaining: 0`` the primary one, resetting at
  ``x-ratelimit-reset``) and GraphQL's ``RATE_LIMITED`` error, which arrives with
  HTTP 200 and must still be retried;
- missing issues (GraphQL ``NOT_FOUND``, REST 404/410/301) as
  ``IssueStatus.missing_issue``, never as exceptions, because a plan may outlive
  the issues it links;
- label writes that leave exactly one Debussy label and send nothing when the
  issue already has the right set, so replaying a sync is free.

The token is held by an ``httpx.Auth`` object and never appears in a message,
log line or repr; error hints name the environment variable instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Coroutine, Generator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from debussy.errors import (
    BadResponseError,
    DebussyError,
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    TrackerServerError,
    register_secret,
)
from debussy.issues import GitHubRef, IssueStatus
from debussy.sync.trackers.github.query import (
    IssueBatch,
    build_query,
    is_rate_limited,
    is_valid_ref,
    label_names_from_rest,
    parse_batch,
    plan_batches,
    rejects_argument,
    status_from_rest,
)
from debussy.sync.trackers.http import TrackerHttp, decode_json, parse_retry_after, rate_limited
from debussy.sync.trackers.retry import HintedRateLimitError

if TYPE_CHECKING:  # the models are built only by commands that validate config
    from debussy.config import GitHubConfig

log = logging.getLogger("debussy.github")

API_VERSION = "2022-11-28"
GRAPHQL_CONCURRENCY = 4
REST_CONCURRENCY = 8
DEBUSSY_LABEL_PREFIX = "debussy:"
FALLBACK_LABEL_COLOR = "ededed"
_ISSUE_GONE = frozenset({301, 404, 410})
"""Answers about one issue that mean it is not there (any more): moved, absent, deleted."""

ResultT = TypeVar("ResultT")


def _user_agent() -> str:
    try:
        version = metadata.version("debussy")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"debussy/{version}"


class _BearerAuth(httpx.Auth):
    """Adds the token per request, so it never sits in the client's default headers."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


def _token_source(config: GitHubConfig) -> str | None:
    """The environment variable ``config.token()`` reads the token from, if any."""
    for name in (config.token_env, "GH_TOKEN", "GITHUB_TOKEN"):
        if os.environ.get(name, "").strip():
            return name
    return None


def _auth_hint(config: GitHubConfig, source: str | None, has_token: bool) -> str:
    """Which variable to fix and which scope to grant: the variable's name, never its value."""
    scopes = "a classic token needs the repo scope, a fine-grained one issues:write"
    if has_token:
        where = source or f"{config.token_env} (or GH_TOKEN / GITHUB_TOKEN)"
        return f"check the token in {where}; {scopes}"
    others = [name for name in ("GH_TOKEN", "GITHUB_TOKEN") if name != config.token_env]
    return f"set {config.token_env} (or {' / '.join(others)}) to a GitHub token; {scopes}"


def _issue_path(ref: GitHubRef) -> str:
    return f"/repos/{ref.owner}/{ref.name}/issues/{ref.number}"


def _display(ref: GitHubRef) -> str:
    return f"{ref.repo}#{ref.number}"


def _is_debussy_label(name: str, configured: frozenset[str]) -> bool:
    folded = name.casefold()
    return folded in configured or folded.startswith(DEBUSSY_LABEL_PREFIX)


class GitHubClient:
    """Reads and writes GitHub issues for one configured GitHub (github.com or Enterprise)."""

    def __init__(
        self,
        config: GitHubConfig,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        source = None if token else _token_source(config)
        token = token or config.token()
        register_secret(token)
        self._config = config
        self._has_token = bool(token)
        self._auth_hint = _auth_hint(config, source, self._has_token)
        self._graphql_url = httpx.URL(config.graphql_url)
        self._http = TrackerHttp(
            "github",
            config.api_url,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": _user_agent(),
            },
            auth=_BearerAuth(token) if token else None,
            auth_hint=self._auth_hint,
            classify=self._classify,
            transport=transport,
        )
        self._debussy_labels = frozenset(name.casefold() for name in config.labels.all())
        self._labels_ensured: set[tuple[str, str]] = set()
        self._enable_duplicate = True

    def __repr__(self) -> str:
        token = "set" if self._has_token else "none"
        return f"<GitHubClient {self._config.api_url} token={token} requests={self.requests}>"

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included (the ``requests`` of ``status --json``)."""
        return self._http.requests

    @property
    def has_token(self) -> bool:
        return self._has_token

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- reads ----------------------------------------------------------------------------

    async def fetch_issues(
        self,
        refs: Sequence[GitHubRef],
        known: Mapping[GitHubRef, IssueStatus] | None = None,
    ) -> dict[GitHubRef, IssueStatus]:
        """The current status of each issue; gone, moved or invisible ones are ``missing``.

        With a token: ``ceil(n / 100)`` GraphQL requests (``known`` is not needed).
        Without: one REST request per issue, revalidated with the ``etag`` of
        ``known`` (a 304 answers with the known status and costs no quota).
        """
        wanted = list(dict.fromkeys(refs))
        statuses: dict[GitHubRef, IssueStatus] = {}
        readable: list[GitHubRef] = []
        for ref in wanted:
            if is_valid_ref(ref):
                readable.append(ref)
            else:
                log.warning("GitHub: %r is not a valid issue reference; reported missing", ref)
                statuses[ref] = IssueStatus.missing_issue(ref)
        if readable and self._has_token:
            statuses.update(await self._fetch_graphql(readable))
        elif readable:
            statuses.update(await self._fetch_rest(readable, known or {}))
        return {ref: statuses[ref] for ref in wanted}

    async def _fetch_graphql(self, refs: Sequence[GitHubRef]) -> dict[GitHubRef, IssueStatus]:
        batches = plan_batches(refs)
        log.debug("GitHub: %d issue(s) in %d GraphQL request(s)", len(refs), len(batches))
        bound = asyncio.Semaphore(GRAPHQL_CONCURRENCY)

        async def read(batch: IssueBatch) -> dict[GitHubRef, IssueStatus]:
            async with bound:
                return await self._read_batch(batch)

        results = await _gather_all([read(batch) for batch in batches])
        return {ref: status for result in results for ref, status in result.items()}

    async def _read_batch(self, batch: IssueBatch) -> dict[GitHubRef, IssueStatus]:
        """One query; asked again without ``enableDuplicate`` if the server does not know it.

        The flag is read before sending because concurrent batches may all be
        refused before the first of them turns it off.
        """
        with_duplicate = self._enable_duplicate
        payload = await self._post_query(batch, enable_duplicate=with_duplicate)
        if with_duplicate and rejects_argument(payload, "enableDuplicate"):
            if self._enable_duplicate:
                log.info("GitHub: server predates stateReason(enableDuplicate:); asking without")
            self._enable_duplicate = False
            payload = await self._post_query(batch, enable_duplicate=False)
        return parse_batch(batch, payload, auth_hint=self._auth_hint)

    async def _post_query(self, batch: IssueBatch, *, enable_duplicate: bool) -> Any:
        document = build_query(batch, enable_duplicate=enable_duplicate)
        response = await self._http.request(
            "POST", str(self._graphql_url), json=document.body(), idempotent=True
        )
        return decode_json("github", response)

    async def _fetch_rest(
        self, refs: Sequence[GitHubRef], known: Mapping[GitHubRef, IssueStatus]
    ) -> dict[GitHubRef, IssueStatus]:
        log.debug("GitHub: no token; %d issue(s) over REST", len(refs))
        bound = asyncio.Semaphore(REST_CONCURRENCY)

        async def read(ref: GitHubRef) -> tuple[GitHubRef, IssueStatus]:
            async with bound:
                return ref, await self._read_rest_issue(ref, known.get(ref))

        return dict(await _gather_all([read(ref) for ref in refs]))

    async def _read_rest_issue(self, ref: GitHubRef, known: IssueStatus | None) -> IssueStatus:
        headers: dict[str, str] = {}
        if known is not None and known.etag and not known.missing:
            headers["If-None-Match"] = known.etag
        response = await self._http.request(
            "GET", _issue_path(ref), headers=headers, handled=_ISSUE_GONE | {304}
        )
        if response.status_code == 304:
            if known is None or not headers:
                raise BadResponseError(
                    "github", f"GitHub answered 304 for {_display(ref)} without a revalidation"
                )
            return known
        if response.status_code in _ISSUE_GONE:
            log.debug("GitHub: %s answered %d; missing", _display(ref), response.status_code)
            return IssueStatus.missing_issue(ref)
        return status_from_rest(ref, decode_json("github", response), response.headers.get("etag"))

    # --- writes ---------------------------------------------------------------------------

    async def set_debussy_label(
        self, ref: GitHubRef, label: str | None, current: Sequence[str] | None = None
    ) -> tuple[str, ...]:
        """Leave exactly one Debussy label (none for ``None``); other labels stay untouched.

        ``current`` is what the caller just read; when it already matches, no
        request is sent, so replaying a sync costs nothing.
        """
        if label is not None and not _is_debussy_label(label, self._debussy_labels):
            raise ValueError(f"{label!r} is not a Debussy label")
        self._require_writable(ref)
        if current is None:
            current = await self._read_labels(ref)
        kept = [name for name in current if not _is_debussy_label(name, self._debussy_labels)]
        wanted = (*kept, label) if label is not None else tuple(kept)
        if {name.casefold() for name in wanted} == {name.casefold() for name in current}:
            log.debug("GitHub: %s already has the right labels", _display(ref))
            return tuple(current)
        if label is not None:
            present = any(name.casefold() == label.casefold() for name in current)
            await self._ensure_label(ref, label, known_to_exist=present)
        if not wanted:
            await self._issue_request(ref, "DELETE", "/labels")
            return ()
        response = await self._issue_request(ref, "PUT", "/labels", json={"labels": list(wanted)})
        return label_names_from_rest(ref, decode_json("github", response))

    async def close_issue(
        self, ref: GitHubRef, reason: Literal["completed", "not_planned"]
    ) -> None:
        self._require_writable(ref)
        await self._issue_request(
            ref, "PATCH", "", json={"state": "closed", "state_reason": reason}
        )

    async def reopen_issue(self, ref: GitHubRef) -> None:
        self._require_writable(ref)
        await self._issue_request(ref, "PATCH", "", json={"state": "open"})

    async def add_comment(self, ref: GitHubRef, body: str) -> None:
        """Not retried once the request may have reached GitHub: a replay would comment twice."""
        self._require_writable(ref)
        await self._issue_request(ref, "POST", "/comments", json={"body": body}, idempotent=False)

    def _require_writable(self, ref: GitHubRef) -> None:
        if not is_valid_ref(ref):
            raise TrackerNotFoundError("github", f"{ref.repo}#{ref.number} is not a GitHub issue")
        if not self._has_token:
            raise TrackerAuthError(
                "github", f"changing GitHub issues needs a token; {self._auth_hint}"
            )

    async def _read_labels(self, ref: GitHubRef) -> tuple[str, ...]:
        names: list[str] = []
        url: str | None = f"{_issue_path(ref)}/labels"
        params: dict[str, int] | None = {"per_page": 100}
        while url is not None:
            response = await self._issue_request(ref, "GET", "", url=url, params=params)
            names += label_names_from_rest(ref, decode_json("github", response))
            next_link = response.links.get("next", {}).get("url")
            url, params = next_link, None
        return tuple(names)

    async def _ensure_label(self, ref: GitHubRef, label: str, *, known_to_exist: bool) -> None:
        """Create ``label`` in the repository once per client life; existing is fine.

        Sent as idempotent: a replay after a lost answer gets 422 already_exists,
        which is success, so retrying the POST is safe.
        """
        key = (ref.repo.casefold(), label.casefold())
        if key in self._labels_ensured:
            return
        if not known_to_exist:
            response = await self._http.request(
                "POST",
                f"/repos/{ref.owner}/{ref.name}/labels",
                json={"name": label, "color": self._label_color(label)},
                idempotent=True,
                handled=frozenset({404, 422}),
            )
            if response.status_code == 404:
                raise TrackerNotFoundError(
                    "github", f"{ref.repo} not found on GitHub (or not visible to the token)"
                )
            if response.status_code == 422:
                self._accept_existing_label(ref, label, response)
            else:
                log.info("GitHub: created label %r in %s", label, ref.repo)
        self._labels_ensured.add(key)

    def _accept_existing_label(self, ref: GitHubRef, label: str, response: httpx.Response) -> None:
        body = decode_json("github", response)
        errors = body.get("errors") if isinstance(body, dict) else None
        codes = {
            entry.get("code")
            for entry in (errors if isinstance(errors, list) else [])
            if isinstance(entry, dict)
        }
        if "already_exists" not in codes:
            message = body.get("message") if isinstance(body, dict) else None
            raise TrackerServerError(
                "github",
                f"GitHub refused to create label {label!r} in {ref.repo} (422): "
                f"{message if isinstance(message, str) else 'no message'}",
            )

    def _label_color(self, label: str) -> str:
        colors = self._config.label_colors.model_dump()
        for status, name in self._config.labels.model_dump().items():
            if str(name).casefold() == label.casefold():
                return str(colors[status])
        return FALLBACK_LABEL_COLOR

    async def _issue_request(
        self,
        ref: GitHubRef,
        method: str,
        suffix: str,
        *,
        url: str | None = None,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """A request about one issue; a moved, absent or deleted issue is not found."""
        response = await self._http.request(
            method,
            url or f"{_issue_path(ref)}{suffix}",
            idempotent=idempotent,
            handled=_ISSUE_GONE,
            **kwargs,
        )
        status = response.status_code
        if status == 404:
            raise TrackerNotFoundError("github", f"{_display(ref)} not found on GitHub")
        if status == 410:
            raise TrackerNotFoundError("github", f"{_display(ref)} was deleted on GitHub (410)")
        if status == 301:
            raise TrackerNotFoundError(
                "github", f"{_display(ref)} was moved to another repository on GitHub (301)"
            )
        return response

    # --- rate limits ----------------------------------------------------------------------

    def _classify(self, response: httpx.Response) -> TrackerError | None:
        """GitHub's rate-limit signals; anything else falls through to the shared rules."""
        status = response.status_code
        if status in (403, 429):
            return _limit_from_headers(response) or _limit_from_body(response)
        if (
            status == 200
            and response.request.url == self._graphql_url
            and b"RATE_LIMITED" in response.content
            and is_rate_limited(_json_or_none(response))
        ):
            return _limit_from_headers(response) or rate_limited(
                "github", "GraphQL rate limit hit (RATE_LIMITED)", retry_after=None
            )
        return None


def _limit_from_headers(response: httpx.Response) -> HintedRateLimitError | None:
    """``retry-after`` = secondary limit; ``x-ratelimit-remaining: 0`` = primary limit."""
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return rate_limited(
            "github", f"secondary rate limit hit ({response.status_code})", retry_after=retry_after
        )
    if headers.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    reset_at = _epoch(headers.get("x-ratelimit-reset"))
    wait = max(0.0, reset_at.timestamp() - time.time()) if reset_at else None
    return rate_limited("github", "API rate limit exhausted", retry_after=wait, reset_at=reset_at)


def _limit_from_body(response: httpx.Response) -> HintedRateLimitError | None:
    """A 403/429 whose message says "rate limit" but that carries no header to go by."""
    payload = _json_or_none(response)
    message = payload.get("message") if isinstance(payload, dict) else None
    if (isinstance(message, str) and "rate limit" in message.lower()) or is_rate_limited(payload):
        return rate_limited("github", "secondary rate limit hit", retry_after=None)
    return None


def _epoch(value: str | None) -> datetime | None:
    if value is None or not value.strip().isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(value.strip()), UTC)
    except (OverflowError, OSError, ValueError):
        return None  # a reset beyond the calendar says nothing usable


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return decode_json("github", response)
    except BadResponseError:
        return None


async def _gather_all(jobs: Iterable[Coroutine[Any, Any, ResultT]]) -> list[ResultT]:
    """Run ``jobs`` concurrently; on the first failure cancel the rest and raise it alone.

    Callers expect one ``DebussyError``, not an ``ExceptionGroup``.
    """
    tasks: list[asyncio.Task[ResultT]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except ExceptionGroup as failures:
        first = _first_debussy_error(failures)
        if first is None:
            raise
        raise first from first.__cause__
    return [task.result() for task in tasks]


def _first_debussy_error(failures: ExceptionGroup[Exception]) -> DebussyError | None:
    """The first tracker failure; ``None`` when a bug (not a tracker answer) failed a task."""
    for failure in failures.exceptions:
        if isinstance(failure, DebussyError):
            return failure
    return None
