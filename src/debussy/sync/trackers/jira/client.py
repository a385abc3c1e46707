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

Payloads are converted strictly into msgspec Structs: whatever Jira sends that does
not have the expected shape becomes one ``BadResponseError`` naming the field,
never a ``KeyError`` deep in the mapping code.

What the real services do beyond their API descriptions (notes/NOTES_trackers.md):
an issue moved to another project answers to its old key under its new one
(mapped back by issue id, ``IssueStatus.moved_to``); Cloud serves searches
anonymously when credentials fail, saying so only in ``X-Seraph-LoginReason``
(an authentication error here, never "missing"); scoped tokens only work through
``jira.api_url``; a search just after a write may lag unless it names the written
issues in ``reconcileIssues``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
import msgspec

from debussy.config_snapshot import PHASE_STATUS_KEYS
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
from debussy.issues import IssueRef, IssueStatus, JiraRef, is_jira_key
from debussy.sync.trackers.base import (
    AsyncClosing,
    bad_fields_message,
    failed_write,
    gather_all,
    stopped_detail,
)
from debussy.sync.trackers.http import BearerAuth, TrackerHttp, decode_json
from debussy.sync.trackers.markers import markers_in
from debussy.sync.trackers.probe import ProbeAnswer, probe
from debussy.sync.trackers.writes import (
    IssueView,
    OfferedTransition,
    TrackerWrite,
    WriteResult,
    pick_transition,
)
from debussy.timeutil import parse_iso

if TYPE_CHECKING:  # the models are built only by commands that validate config
    from debussy.config import JiraConfig

log = logging.getLogger("debussy.jira")
progress = logging.getLogger("debussy.progress")
"""``n/N issues written`` lines: the spinner shows them on a terminal, ``-v`` logs them."""

PLATFORM = "jira"
BATCH_SIZE = 100
"""Keys per search request; also the page size we ask for."""
MAX_CONCURRENT_SEARCHES = 4
MAX_CONCURRENT_TRANSITIONS = 8
"""Transitions in flight at once: Jira Cloud's limits are per-user cost, not per-request."""
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
MAX_RECONCILE_IDS = 50
"""``reconcileIssues`` accepts at most 50 ids (the v3 description)."""
_LOGIN_FAILED = ("AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED")
"""``X-Seraph-LoginReason`` values that mean the credentials were not accepted."""
_KEY_IN_MESSAGE = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_]*-[0-9]+)(?![0-9])")
_MAX_MESSAGE = 300


# --- what Jira sends, as far as Debussy reads it -------------------------------------
#
# msgspec Structs rather than pydantic models: msgspec imports in a few milliseconds
# where pydantic took ~70 on every cold read (notes/NOTES_performance.md). Conversion is
# strict (a number where a name belongs is a bad response, not something to coerce);
# fields Debussy does not read are ignored; ``rename="camel"`` gives Jira's names
# (``statusCategory``, ``nextPageToken``); ``kw_only`` lets a required field follow one
# with a default. Frozen: an answer is read, never edited.


class _Named(msgspec.Struct, frozen=True):
    name: str


class _StatusCategory(msgspec.Struct, frozen=True):
    key: str


class _Status(msgspec.Struct, frozen=True, rename="camel"):
    name: str
    status_category: _StatusCategory


class _JiraComment(msgspec.Struct, frozen=True):
    body: Any = None
    """ADF (a JSON tree) on Cloud, plain text on Server/DC: only searched for markers."""


class _CommentPage(msgspec.Struct, frozen=True):
    comments: list[_JiraComment] = msgspec.field(default_factory=list[_JiraComment])


class _IssueFields(msgspec.Struct, frozen=True, kw_only=True):
    comment: _CommentPage | None = None
    status: _Status
    resolution: _Named | None = None
    labels: list[str] = msgspec.field(default_factory=list[str])
    updated: str
    statuscategorychangedate: str | None = None
    summary: str | None = None


class _Issue(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    key: str
    fields: _IssueFields


class _IssueKey(msgspec.Struct, frozen=True):
    id: str
    key: str


class _CloudPage(msgspec.Struct, frozen=True, rename="camel"):
    issues: list[_Issue]
    next_page_token: str | None = None
    is_last: bool | None = None


class _ServerPage(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    issues: list[_Issue]
    start_at: int = 0
    total: int


class _TargetStatus(msgspec.Struct, frozen=True, rename="camel"):
    name: str
    status_category: _StatusCategory | None = None


class _OfferedTransition(msgspec.Struct, frozen=True):
    id: str
    name: str
    to: _TargetStatus | None = None

    @property
    def target(self) -> str:
        return self.to.name if self.to is not None else self.name


class _IssueWithTransitions(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    key: str
    fields: _IssueFields
    transitions: list[_OfferedTransition] = msgspec.field(default_factory=list[_OfferedTransition])


class _CloudTransitionsPage(msgspec.Struct, frozen=True, rename="camel"):
    issues: list[_IssueWithTransitions]
    next_page_token: str | None = None
    is_last: bool | None = None


class _ServerTransitionsPage(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    issues: list[_IssueWithTransitions]
    start_at: int = 0
    total: int


_Model = TypeVar("_Model", bound=msgspec.Struct)
_AnyIssue = TypeVar("_AnyIssue", _Issue, _IssueWithTransitions)


def _parse(model: type[_Model], data: Any, what: str) -> _Model:
    """Convert ``data``; a shape we cannot read is Jira's fault and says which field.

    ``from None``: msgspec's own message may quote the value, which is not shown.
    """
    try:
        return msgspec.convert(data, type=model)
    except msgspec.ValidationError as exc:
        raise BadResponseError(PLATFORM, bad_fields_message("Jira", what, exc)) from None


# --- authentication ------------------------------------------------------------------


def _login_failed(auth_hint: str) -> Callable[[httpx.Response], TrackerError | None]:
    """The classifier: Jira's word that the credentials failed, whatever the status code.

    Jira Cloud answers a search with bad credentials *anonymously*: 200 with no
    issues (or 400 naming every key as unknown), and ``X-Seraph-LoginReason:
    AUTHENTICATED_FAILED`` is the only sign. Read as a search result, every issue
    would be "missing"; it is an authentication error. Server's CAPTCHA lock-out
    (403 ``AUTHENTICATION_DENIED``) gets its own advice.
    """

    def classify(response: httpx.Response) -> TrackerError | None:
        reason = response.headers.get("x-seraph-loginreason", "").upper()
        failed = next((value for value in _LOGIN_FAILED if value in reason), None)
        if failed is None:
            return None
        if response.status_code == 403 and failed == "AUTHENTICATION_DENIED":
            return TrackerAuthError(
                PLATFORM,
                "Jira locked this account behind a CAPTCHA after failed logins (403); "
                "sign in once in a browser, then check the credentials",
            )
        return TrackerAuthError(
            PLATFORM,
            f"Jira did not accept the credentials (X-Seraph-LoginReason: {failed}, "
            f"HTTP {response.status_code}); {auth_hint}",
        )

    return classify


class _KeysRejectedError(Exception):
    """Internal: Jira refused a search because of these keys; retry without them."""

    def __init__(self, keys: frozenset[str]) -> None:
        super().__init__(", ".join(sorted(keys)))
        self.keys = keys


# --- the client ----------------------------------------------------------------------


class JiraClient(AsyncClosing):
    """One Jira site, Cloud or Server/Data Center, over one ``TrackerHttp``."""

    def __init__(
        self,
        config: JiraConfig,
        *,
        email: str | None = None,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if config.url is None or config.api_base is None:
            raise ConfigError("jira.url is not set in .debussy/config.yaml")
        self._config = config
        self._cloud = config.deployment == "cloud"
        self._api = "/rest/api/3" if self._cloud else "/rest/api/2"
        email = email if email is not None else config.email()
        token = token if token is not None else config.token()
        register_secret(token)
        token = self._require_credentials(email, token)
        hint = self._auth_hint()
        self._http = TrackerHttp(
            PLATFORM,
            config.api_base,
            headers={"Accept": "application/json"},
            auth=self._auth(email, token),
            auth_hint=hint,
            classify=_login_failed(hint),
            transport=transport,
        )
        self._ids: dict[str, int] = {}
        """Issue ids by key, learnt from every answer: ``reconcileIssues`` takes ids."""
        self._written: set[JiraRef] = set()
        self._recent: set[JiraRef] = set()
        """Issues an earlier command moved moments ago (``learn_ids``)."""
        self._moved: dict[str, str] = {}
        """Plan key -> current key of issues the write read found moved to another project."""

    def _auth_hint(self) -> str:
        """Which variables to check; on Cloud also where a scoped token must be sent."""
        hint = f"check {self._credential_names()}"
        if self._cloud and self._config.api_url is None:
            hint += (
                "; a scoped API token only works through the Atlassian gateway: set "
                "jira.api_url: https://api.atlassian.com/ex/jira/<cloudId>"
            )
        return hint

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
            return BearerAuth(token)
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

    async def probe(self, path: str) -> ProbeAnswer:
        """One GET for ``debussy doctor``, seeing 401/403/404 as answers (see ``probe``)."""
        return await probe(self._http, path)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads -----------------------------------------------------------------------

    @property
    def written(self) -> frozenset[JiraRef]:
        """Issues this client moved: what a re-read after writes should reconcile."""
        return frozenset(self._written)

    def written_ids(self) -> dict[str, int]:
        """Key -> issue id of the issues this client moved (for the next process to reconcile)."""
        return {ref.key: self._ids[ref.key] for ref in self._written if ref.key in self._ids}

    def learn_ids(self, ids: Mapping[str, int]) -> None:
        """Issue ids an earlier command moved (the cache remembers them a few minutes).

        Their ids are known for ``reconcile``, and the write read reconciles them
        by default: the index may still show them where they were.
        """
        self._ids.update(ids)
        self._recent.update(JiraRef(key) for key in ids)

    async def fetch_issues(
        self, refs: Sequence[JiraRef], *, reconcile: Collection[JiraRef] | None = None
    ) -> dict[JiraRef, IssueStatus]:
        """Every ref's status; unknown, invisible or malformed keys come back ``missing``.

        ``reconcile`` names issues written a moment ago; by default (``None``) the
        ones this client moved (``client.written``), so a re-read after writes on the
        same client is consistent without asking. Cloud's search index may not show
        a write yet; their ids sent as ``reconcileIssues`` make it read them
        consistently. Ids are known for issues this client has read or written; at
        most 50 are sent. Pass ``()`` to reconcile nothing.
        An issue moved to another project comes back under its old key with
        ``moved_to`` set to the new one.
        """
        wanted = list(dict.fromkeys(refs))
        keys = [ref.key for ref in wanted if is_jira_key(ref.key)]
        batches = self._batches(keys, self._written if reconcile is None else reconcile)
        found: dict[str, _Issue] = {}
        for issues in await self._search_batches(batches):
            for issue in issues:
                found[issue.key] = issue
                if issue.id is not None and issue.id.isdigit():
                    self._ids[issue.key] = int(issue.id)
        moved = await self._follow_moves(keys, found)
        log.debug("Jira: %d of %d issues found", len(found), len(wanted))
        statuses: dict[JiraRef, IssueStatus] = {}
        for ref in wanted:
            issue = found.get(ref.key)
            if issue is not None:
                statuses[ref] = self._to_status(issue)
            elif ref.key in moved:
                statuses[ref] = self._to_status(moved[ref.key], requested=ref.key)
            else:
                statuses[ref] = IssueStatus.missing_issue(ref)
        return statuses

    def _batches(
        self, keys: list[str], reconcile: Collection[JiraRef]
    ) -> list[tuple[list[str], list[int]]]:
        """Keys per search, each with the ids it must reconcile (at most 50 per request).

        ``reconcileIssues`` takes at most 50 ids; a batch of 100 keys holding more
        issues to reconcile than that is searched as two halves, so every issue
        written a moment ago is read consistently. Server/DC searches its own index
        synchronously and reconciles nothing.
        """
        recent = (
            {ref.key: self._ids[ref.key] for ref in reconcile if ref.key in self._ids}
            if self._cloud
            else {}
        )
        batches: list[tuple[list[str], list[int]]] = []
        for start in range(0, len(keys), BATCH_SIZE):
            batch = keys[start : start + BATCH_SIZE]
            ids = sorted({recent[key] for key in batch if key in recent})
            if len(ids) <= MAX_RECONCILE_IDS:
                batches.append((batch, ids))
                continue
            for half in range(0, len(batch), MAX_RECONCILE_IDS):
                part = batch[half : half + MAX_RECONCILE_IDS]
                batches.append((part, sorted({recent[k] for k in part if k in recent})))
        return batches

    async def _follow_moves(
        self, keys: list[str], found: dict[str, _AnyIssue]
    ) -> dict[str, _AnyIssue]:
        """Requested keys answered under another key: issues moved to another project.

        ``key in (OLD-1)`` finds an issue moved to NEW-5 and Jira returns it as
        NEW-5. Only when a search brought back keys nobody asked for, each
        requested key without an answer is looked up (``GET /issue/OLD-1`` also
        follows the move) and matched by issue id, so a moved issue keeps being
        judged instead of reading as missing. Costs nothing when nothing moved.
        """
        requested = set(keys)
        strays = {issue.id: issue for key, issue in found.items() if key not in requested}
        unanswered = [key for key in keys if key not in found]
        if not strays or not unanswered:
            return {}
        limiter = asyncio.Semaphore(MAX_CONCURRENT_SEARCHES)

        async def current_key(key: str) -> tuple[str, _IssueKey | None]:
            async with limiter:
                response = await self._http.request(
                    "GET",
                    f"{self._api}/issue/{key}",
                    params={"fields": "status"},
                    handled=frozenset({404}),
                    read=True,
                )
            if response.status_code == 404:
                return key, None
            return key, _parse(_IssueKey, decode_json(PLATFORM, response), f"issue {key}")

        answers = await asyncio.gather(*(current_key(key) for key in unanswered))
        moved: dict[str, _AnyIssue] = {}
        for key, answer in answers:
            issue = strays.get(answer.id) if answer is not None else None
            if answer is not None and issue is not None and answer.key != key:
                log.info("Jira: %s was moved to %s", key, answer.key)
                moved[key] = issue
        for issue in moved.values():
            found.pop(issue.key, None)
        return moved

    async def _search_batches(
        self, batches: list[tuple[list[str], list[int]]]
    ) -> list[list[_Issue]]:
        """Run the batches concurrently, at most ``MAX_CONCURRENT_SEARCHES`` requests at once."""
        if not batches:
            return []
        limiter = asyncio.Semaphore(MAX_CONCURRENT_SEARCHES)
        return await gather_all(self._search_batch(keys, limiter, ids) for keys, ids in batches)

    async def _search_batch(
        self, keys: list[str], limiter: asyncio.Semaphore, reconcile_ids: list[int]
    ) -> list[_Issue]:
        """Search ``keys``, dropping the ones Jira rejects until the search goes through."""
        remaining = list(keys)
        while remaining:
            try:
                if self._cloud:
                    return await self._search_cloud(remaining, limiter, reconcile_ids)
                return await self._search_server(remaining, limiter)
            except _KeysRejectedError as rejected:
                log.debug("Jira does not know %s; reported as missing", rejected)
                remaining = [key for key in remaining if key not in rejected.keys]
        return []

    async def _search_cloud(
        self, keys: list[str], limiter: asyncio.Semaphore, reconcile_ids: list[int]
    ) -> list[_Issue]:
        body: dict[str, Any] = {
            "jql": _jql(keys),
            "fields": list(SEARCH_FIELDS),
            "maxResults": BATCH_SIZE,
        }
        if reconcile_ids:
            # The same list on every page, as the description asks.
            body["reconcileIssues"] = reconcile_ids
        issues: list[_Issue] = []
        tokens_seen: set[str] = set()
        while True:
            data = await self._search_request(body, keys, limiter)
            page = _parse(_CloudPage, data, "a search result")
            issues.extend(page.issues)
            token = page.next_page_token
            if page.is_last is True or not token:
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
            start_at = page.start_at + len(page.issues)
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
                read=True,
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

    def _to_status(self, issue: _Issue, *, requested: str | None = None) -> IssueStatus:
        """The status filed under ``requested`` (the plan's key) when the issue moved."""
        fields = issue.fields
        changed = fields.statuscategorychangedate
        return IssueStatus(
            platform=PLATFORM,
            id=requested or issue.key,
            moved_to=issue.key if requested is not None and requested != issue.key else None,
            state=fields.status.name,
            status_category=fields.status.status_category.key,
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

    # --- convergence: one read with transitions, then only the moves -------------------

    async def views_for_writes(
        self, refs: Sequence[IssueRef], *, comments: bool
    ) -> dict[IssueRef, IssueView]:
        """``base.Tracker``: ``read_for_writes`` of the Jira references among ``refs``."""
        mine = [ref for ref in refs if isinstance(ref, JiraRef)]
        found = await self.read_for_writes(mine, comments=comments)
        views: dict[IssueRef, IssueView] = {}
        for ref, view in found.items():
            views[ref] = view
        return views

    def learn_written(self, ids: Mapping[str, int]) -> None:
        """``base.Tracker``: issues an earlier command moved (``learn_ids``)."""
        self.learn_ids(ids)

    async def read_for_writes(
        self,
        refs: Sequence[JiraRef],
        *,
        reconcile: Collection[JiraRef] | None = None,
        comments: bool = False,
    ) -> dict[JiraRef, IssueView]:
        """Status and available transitions of every ref, from ``ceil(n / 100)`` searches.

        ``expand: "transitions"`` makes the search answer with what each issue can
        move to now, so no per-issue ``GET .../transitions`` is needed. Cloud takes
        ``expand`` as a comma-separated string on ``/search/jql``, Server/DC as a
        list on ``/search``.
        Docs: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/

        Like the status read it names issues moved a moment ago in
        ``reconcileIssues`` (``reconcile``; by default the ones this client moved,
        plus those ``learn_ids`` was told an earlier command moved), so two events
        seconds apart do not plan from a lagging index, and it follows an issue
        moved to another project: the view is filed under the plan's key with
        ``moved_to`` set, and writes go to the new key (``current_key``).
        ``comments``: the ``comment`` field too, searched for Debussy's markers.
        """
        wanted = list(dict.fromkeys(refs))
        keys = [ref.key for ref in wanted if is_jira_key(ref.key)]
        limiter = asyncio.Semaphore(MAX_CONCURRENT_SEARCHES)
        targets = self._written | self._recent if reconcile is None else set(reconcile)
        batches = self._batches(keys, targets)
        pages = await asyncio.gather(
            *(self._search_transitions(b, limiter, ids, comments) for b, ids in batches)
        )
        found: dict[str, _IssueWithTransitions] = {}
        for issues in pages:
            for issue in issues:
                if issue.id is not None and issue.id.isdigit():
                    self._ids[issue.key] = int(issue.id)  # for reconcileIssues on a re-read
                found[issue.key] = issue
        moved = await self._follow_moves(keys, found)
        views: dict[JiraRef, IssueView] = {}
        for ref in wanted:
            issue = found.get(ref.key)
            requested: str | None = None
            if issue is None and ref.key in moved:
                issue, requested = moved[ref.key], ref.key
                self._moved[ref.key] = issue.key
                if issue.key in self._ids:  # reconciled under either key
                    self._ids[ref.key] = self._ids[issue.key]
            if issue is None:
                views[ref] = IssueView(IssueStatus.missing_issue(ref))
                continue
            views[ref] = IssueView(
                self._to_status(_Issue(key=issue.key, fields=issue.fields), requested=requested),
                transitions=tuple(
                    OfferedTransition(
                        t.id,
                        t.name,
                        t.target,
                        t.to.status_category.key if t.to and t.to.status_category else None,
                    )
                    for t in issue.transitions
                ),
                markers=_markers(issue.fields) if comments else None,
            )
        return views

    async def _search_transitions(
        self,
        keys: list[str],
        limiter: asyncio.Semaphore,
        reconcile_ids: list[int],
        comments: bool = False,
    ) -> list[_IssueWithTransitions]:
        remaining = list(keys)
        while remaining:
            try:
                return await self._search_transitions_once(
                    remaining, limiter, reconcile_ids, comments
                )
            except _KeysRejectedError as rejected:
                remaining = [key for key in remaining if key not in rejected.keys]
        return []

    async def _search_transitions_once(
        self,
        keys: list[str],
        limiter: asyncio.Semaphore,
        reconcile_ids: list[int],
        comments: bool = False,
    ) -> list[_IssueWithTransitions]:
        body: dict[str, Any] = {
            "jql": _jql(keys),
            "fields": [*SEARCH_FIELDS, "comment"] if comments else list(SEARCH_FIELDS),
            "maxResults": BATCH_SIZE,
            "expand": "transitions" if self._cloud else ["transitions"],
        }
        if reconcile_ids:
            body["reconcileIssues"] = reconcile_ids  # the same list on every page
        issues: list[_IssueWithTransitions] = []
        seen: set[str] = set()
        while True:
            data = await self._search_request(body, keys, limiter)
            if self._cloud:
                page = _parse(_CloudTransitionsPage, data, "a search result")
                issues += page.issues
                token = page.next_page_token
                if page.is_last is True or not token or token in seen:
                    return issues
                seen.add(token)
                body = {**body, "nextPageToken": token}
            else:
                server = _parse(_ServerTransitionsPage, data, "a search result")
                issues += server.issues
                start_at = server.start_at + len(server.issues)
                if not server.issues or start_at >= server.total:
                    return issues
                body = {**body, "startAt": start_at}

    async def apply_writes(self, writes: Sequence[TrackerWrite]) -> list[WriteResult]:
        """One ``POST .../transitions`` per moving issue, a few at a time; each gets an outcome.

        A stop signal (``base.failed_write``: a rate limit, an authentication
        failure, a 5xx or timeout) ends the writes not yet sent: they are
        ``skipped``. A 403 or 404 on one issue refuses that issue only. A moved
        issue is written under its new key.
        """
        limiter = asyncio.Semaphore(MAX_CONCURRENT_TRANSITIONS)
        stop: list[str] = []
        done: list[TrackerWrite] = []

        async def send(write: TrackerWrite) -> WriteResult:
            async with limiter:
                if stop:
                    return WriteResult(write, "skipped", stopped_detail(stop[0]))
                try:
                    outcome = await self._send_write(write)
                except TrackerError as exc:
                    kind, stops = failed_write(exc)
                    if stops:
                        stop.append(exc.message)
                    return WriteResult(write, kind, exc.message)
                finally:
                    done.append(write)
                    progress.info("Jira: %d/%d issues written", len(done), len(writes))
                return outcome

        return list(await asyncio.gather(*(send(write) for write in writes)))

    def current_key(self, ref: JiraRef) -> str:
        """The key to write ``ref`` under: its new one when the read found it moved."""
        return self._moved.get(ref.key, ref.key)

    async def _send_write(self, write: TrackerWrite) -> WriteResult:
        ref = write.ref
        if not isinstance(ref, JiraRef):
            raise TrackerNotFoundError(PLATFORM, f"{write.display_key} is not a Jira issue")
        if write.action == "comment":
            await self.add_comment(ref, write.value or "")
            return WriteResult(write, "applied")
        if write.action != "transition" or write.target_id is None:
            raise TransitionError(
                PLATFORM, f"{write.display_key}: Jira issues have no '{write.action}'"
            )
        _checked_key(ref)
        key = self.current_key(ref)
        status_name = write.value or ""
        payload: dict[str, Any] = {"transition": {"id": write.target_id}}
        fields = transition_payload_fields(self._config.fields_for(status_name))
        if fields:
            payload["fields"] = fields
        response = await self._http.request(
            "POST",
            f"{self._api}/issue/{key}/transitions",
            json=payload,
            handled=frozenset({403, 404}) | _TRANSITION_REFUSED_STATUS,
        )
        self._check_found(response, key)
        if response.status_code == 403:
            # One issue this account may not move (a workflow condition, a permission
            # scheme): refused for that issue only, never an authentication failure.
            reason = redact("; ".join(_error_messages(_json_or_none(response))))[:_MAX_MESSAGE]
            return WriteResult(
                write, "refused", f"{key}: Jira refused (403): {reason or 'no permission'}"
            )
        if response.status_code in _TRANSITION_REFUSED_STATUS:
            refusal = self._transition_refused(key, status_name, response)
            if write.target_category and await self._already_in(ref, write.target_category):
                # Another event moved it there meanwhile (two `phase done` at once): the
                # transition we read is gone, and the end state is the one wanted.
                return WriteResult(write, "already", f"{key} is already {write.target_category}")
            raise refusal
        self._written.add(ref)  # by the plan's key: what the next command reads it as
        return WriteResult(write, "applied")

    async def _already_in(self, ref: JiraRef, category: str) -> bool:
        """After a refused transition: is the issue, read again consistently, there already?"""
        self._written.add(ref)  # reconcile it: the index may not show the other move yet
        try:
            view = (await self.read_for_writes([ref])).get(ref)
        except TrackerError:
            return False
        return view is not None and view.status.status_category == category

    # --- writes ----------------------------------------------------------------------

    async def transition_to(
        self, ref: JiraRef, status_name: str
    ) -> Literal["already", "transitioned"]:
        """Move one issue to ``status_name`` by name; a replay finds it there and sends nothing.

        The convergence engine's two steps for a single issue: the expanded search
        (status and offered transitions in one request), then the same POST.
        """
        key = _checked_key(ref)
        view = (await self.read_for_writes([ref])).get(ref)
        if view is None or view.status.missing:
            raise TrackerNotFoundError(PLATFORM, f"{key} not found on Jira")
        if (view.status.state or "").strip().casefold() == status_name.strip().casefold():
            log.debug("Jira %s is already in %r", key, view.status.state)
            return "already"
        chosen = pick_transition(view.transitions, status_name)
        if chosen is None:
            offered = ", ".join(dict.fromkeys(t.to_name for t in view.transitions))
            raise TransitionError(
                PLATFORM,
                f"{key}: no transition to '{status_name}' (available: {offered or 'none'})",
            )
        result = await self._send_write(
            TrackerWrite(ref, key, None, "transition", status_name, target_id=chosen.id)
        )
        if result.outcome == "refused":
            raise TransitionError(PLATFORM, result.detail or f"{key}: Jira refused the move")
        return "already" if result.outcome == "already" else "transitioned"

    def _transition_refused(
        self, key: str, status_name: str, response: httpx.Response
    ) -> TransitionError:
        """Jira's refusal, plus which field the transition screen wants and where to set it.

        A "Done" screen that requires a resolution answers 400 with
        ``errors: {"resolution": "..."}``: the field name is the key of ``errors``.
        """
        data = _json_or_none(response)
        reason = redact("; ".join(_error_messages(data)))[:_MAX_MESSAGE] or "no message"
        message = (
            f"{key}: Jira refused the transition to '{status_name}' "
            f"({response.status_code}): {reason}"
        )
        by_field = data.get("errors") if isinstance(data, dict) else None
        names = [str(name) for name in by_field] if isinstance(by_field, dict) else []
        if names:
            status = self._phase_status_for(status_name)
            example = ", ".join(f"{name}: <value>" for name in names)
            message += (
                f"; the transition needs field{'s' if len(names) > 1 else ''} "
                f"{', '.join(repr(name) for name in names)}: set "
                f"{'them' if len(names) > 1 else 'it'} in .debussy/config.yaml "
                f"as jira.transition_fields: {{{status}: {{{example}}}}} "
                "(for example {completed: {resolution: Done}})"
            )
        return TransitionError(PLATFORM, message)

    def _phase_status_for(self, status_name: str) -> str:
        wanted = status_name.strip().casefold()
        for status in PHASE_STATUS_KEYS:
            target = getattr(self._config.transitions, status)
            if isinstance(target, str) and target.strip().casefold() == wanted:
                return status
        return "completed"

    async def add_comment(self, ref: JiraRef, body: str) -> None:
        """Comment on the issue: ADF on Cloud (v3 takes nothing else), plain text on v2."""
        _checked_key(ref)
        key = self.current_key(ref)
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


def transition_payload_fields(configured: dict[str, Any]) -> dict[str, Any]:
    """``jira.transition_fields`` as Jira wants them: a bare name becomes ``{"name": ...}``.

    ``resolution: Done`` is how people write it; Jira's transition body needs
    ``"resolution": {"name": "Done"}``. Mappings and lists are sent as written.
    """
    return {
        name: {"name": value} if isinstance(value, str) else value
        for name, value in configured.items()
    }


def _jql(keys: Iterable[str]) -> str:
    """``key in (A-1, A-2)``: keys were checked with ``is_jira_key``, so nothing to escape."""
    return f"key in ({', '.join(keys)})"


def _checked_key(ref: JiraRef) -> str:
    """Only a real issue key goes into a URL path (no ``../`` tricks from a plan file)."""
    if not is_jira_key(ref.key):
        raise TrackerNotFoundError(PLATFORM, f"'{ref.key}' is not a Jira issue key")
    return ref.key


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


def _markers(fields: _IssueFields) -> frozenset[str]:
    """Debussy's markers in the comments the search returned (ADF text nodes or plain text)."""
    found: set[str] = set()
    for comment in fields.comment.comments if fields.comment is not None else ():
        found |= markers_in(" ".join(_texts(comment.body)))
    return frozenset(found)


def _texts(node: Any) -> list[str]:
    """Every ``text`` of an ADF tree (a string body is its own text)."""
    if isinstance(node, str):
        return [node]
    texts: list[str] = []
    if isinstance(node, dict):
        text = node.get("text")
        if isinstance(text, str):
            texts.append(text)
        texts += _texts(node.get("content"))
    elif isinstance(node, list):
        for item in node:
            texts += _texts(item)
    return texts


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
