"""Jira Cloud and Jira Server/Data Center: read issue statuses, move issues, comment.

Cloud speaks REST v3 with Basic ``email:token`` and the enhanced search
(``POST /rest/api/3/search/jql``, cursor paging by ``nextPageToken``/``isLast``).
The old ``/rest/api/3/search`` was removed in 2025 and is never called.
Server/Data Center speaks REST v2 with a personal access token sent as Bearer and
the classic ``POST /rest/api/2/search``, paged by ``startAt``/``total``.

One Jira quirk shapes the read path: a JQL ``key in (...)`` holding a single
unknown or invisible key fails the *whole* search with 400 and names the key. We
drop the named keys, search again, and report them missing, so one deleted issue
never hides the other ninety-nine.

Payloads are validated with strict pydantic models: whatever Jira sends that does
not have the expected shape becomes one ``BadResponseError`` naming the field,
never a ``KeyError`` deep in the mapping code.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from debussy.errors import (
    BadResponseError,
    ConfigError,
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    TrackerServerError,
    TransitionError,
    redact,
    register_secret,
)
from debussy.issues import IssueStatus, JiraRef
from debussy.sync.trackers.http import TrackerHttp, decode_json
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # the models are built only by commands that validate config
    from debussy.config import JiraConfig

log = logging.getLogger("debussy.jira")

PLATFORM = "jira"
BATCH_SIZE = 100
"""Keys per search request; also the page size we ask for."""
MAX_CONCURRENT_SEARCHES = 4
SEARCH_FIELDS: tuple[str, ...] = (
    "status",
    "labels",
    "resolution",
    "updated",
    "statuscategorychangedate",
    "summary",
)
_REJECTED_BATCH_STATUS = frozenset({400})
_GONE_STATUS = frozenset({410})
_TRANSITION_REFUSED_STATUS = frozenset({400, 409, 422})
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+")
_KEY_IN_MESSAGE = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_]*-[0-9]+)(?![0-9])")
_MAX_MESSAGE = 300


# --- what Jira sends, as far as Debussy reads it -------------------------------------


class _Payload(BaseModel):
    """Strict: a number where a name belongs is a bad response, not something to coerce."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Named(_Payload):
    name: str


class _StatusCategory(_Payload):
    key: str


class _Status(_Payload):
    name: str
    statusCategory: _StatusCategory


class _IssueFields(_Payload):
    status: _Status
    resolution: _Named | None = None
    labels: list[str] = []
    updated: str
    statuscategorychangedate: str | None = None
    summary: str | None = None


class _Issue(_Payload):
    key: str
    fields: _IssueFields


class _CloudPage(_Payload):
    issues: list[_Issue]
    nextPageToken: str | None = None
    isLast: bool | None = None


class _ServerPage(_Payload):
    issues: list[_Issue]
    startAt: int = 0
    total: int


class _StatusFields(_Payload):
    status: _Status


class _IssueStatusOnly(_Payload):
    fields: _StatusFields


class _Transition(_Payload):
    id: str
    name: str
    to: _Named | None = None

    @property
    def target(self) -> str:
        """The status this transition leads to, which is what users configure."""
        return self.to.name if self.to is not None else self.name


class _Transitions(_Payload):
    transitions: list[_Transition]


_Model = TypeVar("_Model", bound=_Payload)


def _parse(model: type[_Model], data: Any, what: str) -> _Model:
    """Validate ``data``; a shape we cannot read is Jira's fault and says which field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadResponseError(
            PLATFORM, f"Jira sent {what} Debussy cannot read: {_describe(exc)}"
        ) from exc


def _describe(exc: ValidationError) -> str:
    """Field paths and reasons only: the offending values are not worth echoing."""
    errors = exc.errors()
    parts = [
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: "
        # pydantic names our private model for a non-object; the user needs the JSON word.
        + ("expected a JSON object" if error["type"] == "model_type" else error["msg"])
        for error in errors[:3]
    ]
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return "; ".join(parts)


# --- authentication ------------------------------------------------------------------


class _BearerAuth(httpx.Auth):
    """Server/Data Center personal access token; kept out of headers so no repr shows it."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __repr__(self) -> str:
        return "<BearerAuth ***>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _classify(response: httpx.Response) -> TrackerError | None:
    """Jira Server's CAPTCHA lock-out looks like any 403; say what it really is."""
    reason = response.headers.get("x-seraph-loginreason", "")
    if response.status_code == 403 and "AUTHENTICATION_DENIED" in reason:
        return TrackerAuthError(
            PLATFORM,
            "Jira locked this account behind a CAPTCHA after failed logins (403); "
            "sign in once in a browser, then check the credentials",
        )
    return None


class _KeysRejectedError(Exception):
    """Internal: Jira refused a search because of these keys; retry without them."""

    def __init__(self, keys: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(keys)))
        self.keys = keys


# --- the client ----------------------------------------------------------------------


class JiraClient:
    """One Jira site, Cloud or Server/Data Center, over one ``TrackerHttp``."""

    def __init__(
        self,
        config: JiraConfig,
        *,
        email: str | None = None,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if config.url is None:
            raise ConfigError("jira.url is not set in .debussy/config.yaml")
        self._config = config
        self._cloud = config.deployment == "cloud"
        self._api = "/rest/api/3" if self._cloud else "/rest/api/2"
        email = email if email is not None else config.email()
        token = token if token is not None else config.token()
        register_secret(token)
        token = self._require_credentials(email, token)
        self._http = TrackerHttp(
            PLATFORM,
            config.url,
            headers={"Accept": "application/json"},
            auth=self._auth(email, token),
            auth_hint=f"check {self._credential_names()}",
            classify=_classify,
            transport=transport,
        )

    def _credential_names(self) -> str:
        if self._cloud:
            return f"{self._config.email_env} and {self._config.token_env}"
        return self._config.token_env

    def _require_credentials(self, email: str | None, token: str | None) -> str:
        """The token, or a failure before any request naming the variables to set."""
        missing = [self._config.token_env] if not token else []
        if self._cloud and not email:
            missing.insert(0, self._config.email_env)
        if missing or token is None:
            where = "Jira Cloud" if self._cloud else "Jira Server/Data Center"
            raise TrackerAuthError(
                PLATFORM, f"{where} credentials are missing: set {' and '.join(missing)}"
            )
        return token

    def _auth(self, email: str | None, token: str) -> httpx.Auth:
        if not self._cloud:
            return _BearerAuth(token)
        pair = f"{email}:{token}"
        register_secret(base64.b64encode(pair.encode()).decode())
        return httpx.BasicAuth(email or "", token)

    def __repr__(self) -> str:
        return (
            f"<JiraClient {self._config.deployment} {self._config.url} "
            f"requests={self._http.requests}>"
        )

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included (the freshness line shows it)."""
        return self._http.requests

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> JiraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- reads -----------------------------------------------------------------------

    async def fetch_issues(self, refs: Sequence[JiraRef]) -> dict[JiraRef, IssueStatus]:
        """Every ref's status; unknown, invisible or malformed keys come back ``missing``."""
        wanted = list(dict.fromkeys(refs))
        keys = [ref.key for ref in wanted if _ISSUE_KEY.fullmatch(ref.key)]
        batches = [keys[start : start + BATCH_SIZE] for start in range(0, len(keys), BATCH_SIZE)]
        found: dict[str, IssueStatus] = {}
        for issues in await self._search_batches(batches):
            for issue in issues:
                found[issue.key] = self._to_status(issue)
        log.debug("Jira: %d of %d issues found", len(found), len(wanted))
        return {ref: found.get(ref.key) or IssueStatus.missing_issue(ref) for ref in wanted}

    async def _search_batches(self, batches: list[list[str]]) -> list[list[_Issue]]:
        """Run the batches concurrently, at most ``MAX_CONCURRENT_SEARCHES`` requests at once."""
        if not batches:
            return []
        limiter = asyncio.Semaphore(MAX_CONCURRENT_SEARCHES)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._search_batch(batch, limiter)) for batch in batches]
        except ExceptionGroup as failed:
            # Surface the first real error itself: callers catch TrackerError, not groups.
            first = failed.exceptions[0]
            raise first from first.__cause__
        return [task.result() for task in tasks]

    async def _search_batch(self, keys: list[str], limiter: asyncio.Semaphore) -> list[_Issue]:
        """Search ``keys``, dropping the ones Jira rejects until the search goes through."""
        remaining = list(keys)
        while remaining:
            try:
                if self._cloud:
                    return await self._search_cloud(remaining, limiter)
                return await self._search_server(remaining, limiter)
            except _KeysRejectedError as rejected:
                log.debug("Jira does not know %s; reported as missing", rejected)
                remaining = [key for key in remaining if key not in rejected.keys]
        return []

    async def _search_cloud(self, keys: list[str], limiter: asyncio.Semaphore) -> list[_Issue]:
        body: dict[str, Any] = {
            "jql": _jql(keys),
            "fields": list(SEARCH_FIELDS),
            "maxResults": BATCH_SIZE,
        }
        issues: list[_Issue] = []
        tokens_seen: set[str] = set()
        while True:
            data = await self._search_request(body, keys, limiter)
            page = _parse(_CloudPage, data, "a search result")
            issues.extend(page.issues)
            token = page.nextPageToken
            if page.isLast is True or not token:
                return issues
            if token in tokens_seen:
                raise BadResponseError(PLATFORM, "Jira sent the same nextPageToken twice")
            tokens_seen.add(token)
            body = {**body, "nextPageToken": token}

    async def _search_server(self, keys: list[str], limiter: asyncio.Semaphore) -> list[_Issue]:
        issues: list[_Issue] = []
        start_at = 0
        while True:
            body: dict[str, Any] = {
                "jql": _jql(keys),
                "fields": list(SEARCH_FIELDS),
                "startAt": start_at,
                "maxResults": BATCH_SIZE,
            }
            data = await self._search_request(body, keys, limiter)
            page = _parse(_ServerPage, data, "a search result")
            issues.extend(page.issues)
            start_at = page.startAt + len(page.issues)
            if not page.issues or start_at >= page.total:
                return issues

    async def _search_request(
        self, body: dict[str, Any], keys: list[str], limiter: asyncio.Semaphore
    ) -> Any:
        """One search POST (a read, so retried like one); 400 naming keys -> rejection."""
        path = f"{self._api}/search/jql" if self._cloud else f"{self._api}/search"
        async with limiter:
            response = await self._http.request(
                "POST",
                path,
                json=body,
                idempotent=True,
                handled=_REJECTED_BATCH_STATUS | _GONE_STATUS,
            )
        if response.status_code in _GONE_STATUS:
            raise TrackerServerError(PLATFORM, self._removed_endpoint_message(path))
        data = decode_json(PLATFORM, response)
        if response.status_code in _REJECTED_BATCH_STATUS:
            raise self._rejection(data, keys)
        return data

    def _removed_endpoint_message(self, path: str) -> str:
        other = "server" if self._cloud else "cloud"
        return (
            f"Jira says the search endpoint {path} was removed (410); "
            f"if this site is Jira {other.title()}, set jira.deployment: {other}"
        )

    @staticmethod
    def _rejection(data: Any, keys: list[str]) -> Exception:
        """The keys a 400 names, or a ``BadResponseError`` when it names none of ours."""
        messages = _error_messages(data)
        ours = {key.upper(): key for key in keys}
        named = frozenset(
            ours[match.upper()]
            for message in messages
            for match in _KEY_IN_MESSAGE.findall(message)
            if match.upper() in ours
        )
        if named:
            return _KeysRejectedError(named)
        text = redact("; ".join(messages))[:_MAX_MESSAGE] or "no message"  # redact, then cut
        return BadResponseError(PLATFORM, f"Jira rejected the search (400): {text}")

    def _to_status(self, issue: _Issue) -> IssueStatus:
        fields = issue.fields
        changed = fields.statuscategorychangedate
        return IssueStatus(
            platform=PLATFORM,
            id=issue.key,
            state=fields.status.name,
            status_category=fields.status.statusCategory.key,
            state_reason=fields.resolution.name if fields.resolution is not None else None,
            labels=tuple(fields.labels),
            milestone=None,
            title=fields.summary,
            url=self._config.browse_url(issue.key),
            last_updated=_parse_time(fields.updated, issue.key, "updated"),
            state_changed_at=(
                _parse_time(changed, issue.key, "statuscategorychangedate") if changed else None
            ),
        )

    # --- writes ----------------------------------------------------------------------

    async def transition_to(
        self, ref: JiraRef, status_name: str
    ) -> Literal["already", "transitioned"]:
        """Move the issue to ``status_name``; a replay finds it there and sends nothing."""
        key = _checked_key(ref)
        wanted = status_name.strip().casefold()
        current = await self._current_status(key)
        if current.strip().casefold() == wanted:
            log.debug("Jira %s is already in %r", key, current)
            return "already"
        transitions = await self._transitions(key)
        chosen = _pick_transition(transitions, wanted)
        if chosen is None:
            available = ", ".join(dict.fromkeys(t.target for t in transitions)) or "none"
            raise TransitionError(
                PLATFORM, f"{key}: no transition to '{status_name}' (available: {available})"
            )
        response = await self._http.request(
            "POST",
            f"{self._api}/issue/{key}/transitions",
            json={"transition": {"id": chosen.id}},
            handled=frozenset({404}) | _TRANSITION_REFUSED_STATUS,
        )
        self._check_found(response, key)
        if response.status_code in _TRANSITION_REFUSED_STATUS:
            reason = redact("; ".join(_error_messages(_json_or_none(response))))[:_MAX_MESSAGE]
            raise TransitionError(
                PLATFORM,
                f"{key}: Jira refused the transition to '{status_name}' "
                f"({response.status_code}): {reason or 'no message'}",
            )
        log.debug("Jira %s: %r -> %r (transition %s)", key, current, chosen.target, chosen.id)
        return "transitioned"

    async def _current_status(self, key: str) -> str:
        response = await self._http.request(
            "GET",
            f"{self._api}/issue/{key}",
            params={"fields": "status"},
            handled=frozenset({404}),
        )
        self._check_found(response, key)
        data = decode_json(PLATFORM, response)
        return _parse(_IssueStatusOnly, data, f"issue {key}").fields.status.name

    async def _transitions(self, key: str) -> list[_Transition]:
        response = await self._http.request(
            "GET", f"{self._api}/issue/{key}/transitions", handled=frozenset({404})
        )
        self._check_found(response, key)
        data = decode_json(PLATFORM, response)
        return _parse(_Transitions, data, f"the transitions of {key}").transitions

    async def add_comment(self, ref: JiraRef, body: str) -> None:
        """Comment on the issue: ADF on Cloud (v3 takes nothing else), plain text on v2."""
        key = _checked_key(ref)
        if not body.strip():
            raise ValueError("a Jira comment needs some text")
        payload = {"body": _adf_document(body) if self._cloud else body}
        response = await self._http.request(
            "POST", f"{self._api}/issue/{key}/comment", json=payload, handled=frozenset({404})
        )
        self._check_found(response, key)

    @staticmethod
    def _check_found(response: httpx.Response, key: str) -> None:
        if response.status_code == 404:
            raise TrackerNotFoundError(
                PLATFORM, f"Jira issue {key} does not exist or this account cannot see it (404)"
            )


# --- small pure helpers ----------------------------------------------------------------


def _jql(keys: Iterable[str]) -> str:
    """``key in (A-1, A-2)``: keys were checked against ``_ISSUE_KEY``, so nothing to escape."""
    return f"key in ({', '.join(keys)})"


def _checked_key(ref: JiraRef) -> str:
    """Only a real issue key goes into a URL path (no ``../`` tricks from a plan file)."""
    if not _ISSUE_KEY.fullmatch(ref.key):
        raise TrackerNotFoundError(PLATFORM, f"'{ref.key}' is not a Jira issue key")
    return ref.key


def _pick_transition(transitions: list[_Transition], wanted: str) -> _Transition | None:
    """By target status first (what config names), then by the transition's own name."""
    for transition in transitions:
        if transition.target.casefold() == wanted:
            return transition
    for transition in transitions:
        if transition.name.casefold() == wanted:
            return transition
    return None


def _parse_time(text: str, key: str, field: str) -> datetime:
    try:
        return parse_iso(text)
    except ValueError:
        raise BadResponseError(
            PLATFORM, f"Jira sent an unreadable date in {key} {field}: {text[:40]!r}"
        ) from None


def _error_messages(data: Any) -> list[str]:
    """Jira's ``errorMessages`` list plus the values of its ``errors`` map."""
    if not isinstance(data, dict):
        return []
    messages: list[str] = []
    listed = data.get("errorMessages")
    if isinstance(listed, list):
        messages += [item for item in listed if isinstance(item, str)]
    by_field = data.get("errors")
    if isinstance(by_field, dict):
        messages += [item for item in by_field.values() if isinstance(item, str)]
    return messages


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return decode_json(PLATFORM, response)
    except BadResponseError:
        return None


def _adf_document(text: str) -> dict[str, Any]:
    """Atlassian Document Format: blank lines split paragraphs, single newlines break lines."""
    paragraphs: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        content: list[dict[str, Any]] = []
        for line in block.splitlines():
            if content:
                content.append({"type": "hardBreak"})
            content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}
