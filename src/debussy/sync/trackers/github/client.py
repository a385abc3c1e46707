"""The GitHub client: issue reads (GraphQL, or REST without a token) and batched writes.

Every request goes through ``TrackerHttp``, so retries, timeouts and status
translation are the shared ones; this module adds what only GitHub needs:

- the rate-limit classification GitHub documents (``retry-after`` is a secondary
  limit, ``x-ratelimit-remaining: 0`` the primary one, resetting at
  ``x-ratelimit-reset``) and GraphQL's ``RATE_LIMITED`` error, which arrives with
  HTTP 200 and must still be retried;
- missing issues (GraphQL ``NOT_FOUND``, REST 404/410/301) as
  ``IssueStatus.missing_issue``, never as exceptions, because a plan may outlive
  the issues it links;
- writes for the convergence engine: a read that learns node ids
  (``read_for_writes``), then GraphQL mutations for up to 50 issues per request,
  one mutating request at a time, ``mutation_interval`` apart (``apply_writes``);
  labels only added or removed, never replaced; REST with the same semantics
  where the server lacks the mutations.

The token is held by an ``httpx.Auth`` object and never appears in a message,
log line or repr; error hints name the environment variable instead.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from debussy import __version__
from debussy.config_snapshot import LABEL_STATUS_KEYS, is_loopback_host
from debussy.errors import (
    BadResponseError,
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    register_secret,
)
from debussy.issues import GitHubRef, IssueRef, IssueStatus, ref_from_canonical
from debussy.sync.trackers.base import AsyncClosing, failed_write, gather_all, stopped_detail
from debussy.sync.trackers.github.query import (
    IssueBatch,
    build_query,
    is_rate_limited,
    is_valid_ref,
    label_names_from_rest,
    limit_problems,
    parse_batch,
    plan_batches,
    rejects_argument,
    saml_protected,
    says_limited,
    status_from_rest,
)
from debussy.sync.trackers.http import (
    BearerAuth,
    TrackerHttp,
    decode_json,
    parse_retry_after,
    rate_limited,
)
from debussy.sync.trackers.probe import ProbeAnswer, probe
from debussy.sync.trackers.retry import HintedRateLimitError
from debussy.sync.trackers.writes import IssueView, TrackerWrite, WriteResult

if TYPE_CHECKING:  # annotations only: config models load when config is validated,
    # the write documents when a write happens (a read-only status never loads them)
    from debussy.config import GitHubConfig
    from debussy.sync.trackers.github.mutations import Mutation, WriteIds

log = logging.getLogger("debussy.github")
progress = logging.getLogger("debussy.progress")
"""``n/N issues written`` lines: the spinner shows them on a terminal, ``-v`` logs them."""

API_VERSION = "2022-11-28"
GRAPHQL_CONCURRENCY = 4
REST_CONCURRENCY = 8
FALLBACK_LABEL_COLOR = "ededed"
SECONDARY_LIMIT_WAIT = 60.0
"""GitHub: after a secondary rate limit without ``retry-after``, "wait for at least one
minute before retrying" (REST best practices; octokit's throttling plugin does the same).
Longer than ``MAX_HINTED_WAIT``, so the command fails at once naming the time to retry."""
SAML_HEADER = "x-github-sso"
GH_CLI_TIMEOUT = 10.0
"""Seconds to wait for ``gh auth token`` (it reads a file or the OS keyring)."""
_ISSUE_GONE = frozenset({301, 404, 410})
"""Answers about one issue that mean it is not there (any more): moved, absent, deleted."""

MUTATION_INTERVAL = 1.0
"""GitHub: wait at least one second between mutating requests (secondary rate limits)."""

ResultT = TypeVar("ResultT")


@dataclass(slots=True)
class _LabelOutcome:
    failed: dict[tuple[str, str] | None, str] = field(
        default_factory=dict[tuple[str, str] | None, str]
    )
    stop: str | None = None


def _user_agent() -> str:
    return f"debussy/{__version__}"


GH_CLI = "the GitHub CLI (gh auth token)"
"""The token source named in hints and ``-v`` when no variable holds a token."""
FALLBACK_TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN")


def _token_source(config: GitHubConfig) -> str | None:
    """Where the token comes from: a variable's name, ``GH_CLI``, or None for no token.

    Order: the variable ``token_env`` names, then ``GH_TOKEN`` and ``GITHUB_TOKEN``,
    then ``gh auth token --hostname HOST`` when the GitHub CLI is installed and
    logged in (as gh's own extensions and many GitHub tools do). For a loopback
    ``api_url`` (the sandbox, a kept demo folder) only ``token_env`` is read: once
    the sandbox is gone anything may listen on that port, and a user's real token
    must never be sent to it.
    """
    names = [config.token_env]
    loopback = is_loopback_host(urlsplit(config.api_url).hostname or "")
    if not loopback:
        names += [name for name in FALLBACK_TOKEN_VARIABLES if name != config.token_env]
    for name in names:
        if os.environ.get(name, "").strip():
            return name
    if not loopback and _gh_cli_token(_gh_host(config)):
        return GH_CLI
    return None


def resolve_token(config: GitHubConfig) -> tuple[str | None, str | None]:
    """``(token, source)`` by the rules of ``_token_source``; ``(None, None)`` without one."""
    source = _token_source(config)
    if source is None:
        return None, None
    if source == GH_CLI:
        return _gh_cli_token(_gh_host(config)), source
    return os.environ[source].strip(), source


def _gh_host(config: GitHubConfig) -> str:
    """The ``--hostname`` gh knows this GitHub by: ``github.com`` or the Enterprise host."""
    return "github.com" if config.is_github_com else (urlsplit(config.api_url).hostname or "")


@functools.cache
def _gh_cli_token(host: str) -> str | None:
    """``gh auth token --hostname HOST``, asked once per process; None when gh cannot say.

    gh prints the token of the account logged in to that host and exits 1 when
    there is none (https://cli.github.com/manual/gh_auth_token).
    """
    gh = shutil.which("gh")
    if gh is None or not host:
        return None
    try:
        answer = subprocess.run(  # noqa: S603 -- a fixed argv, no shell
            [gh, "auth", "token", "--hostname", host],
            capture_output=True,
            text=True,
            timeout=GH_CLI_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    token = answer.stdout.strip()
    if answer.returncode != 0 or not token or any(c.isspace() for c in token):
        return None
    register_secret(token)
    log.info("GitHub: no token variable set; using the GitHub CLI's token for %s", host)
    return token


def _auth_hint(config: GitHubConfig, source: str | None, has_token: bool) -> str:
    """Which variable to fix and which scope to grant: the variable's name, never its value."""
    scopes = "a classic token needs the repo scope, a fine-grained one issues:write"
    if is_loopback_host(urlsplit(config.api_url).hostname or ""):
        # Only token_env is read for a loopback api_url (_token_source): naming the
        # fallbacks would send the user to variables that are never looked at.
        if has_token:
            return f"check the token in {config.token_env}; {scopes}"
        return f"set {config.token_env} to a GitHub token; {scopes}"
    if has_token:
        where = source or f"{config.token_env} (or GH_TOKEN / GITHUB_TOKEN)"
        return f"check the token in {where}; {scopes}"
    others = [name for name in ("GH_TOKEN", "GITHUB_TOKEN") if name != config.token_env]
    return f"set {config.token_env} (or {' / '.join(others)}) to a GitHub token; {scopes}"


def _issue_path(ref: GitHubRef) -> str:
    return f"/repos/{ref.owner}/{ref.name}/issues/{ref.number}"


def _display(ref: GitHubRef) -> str:
    return f"{ref.repo}#{ref.number}"


class GitHubClient(AsyncClosing):
    """Reads and writes GitHub issues for one configured GitHub (github.com or Enterprise)."""

    def __init__(
        self,
        config: GitHubConfig,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        source = None
        if not token:
            token, source = resolve_token(config)
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
            auth=BearerAuth(token) if token else None,
            auth_hint=self._auth_hint,
            classify=self._classify,
            transport=transport,
        )
        self._enable_duplicate = True
        self._write_ids: WriteIds | None = None
        self._rest_writes = False
        interval = config.write_interval_seconds
        self.mutation_interval = MUTATION_INTERVAL if interval is None else interval
        """Seconds between two mutating requests (``github.write_interval_seconds``)."""
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.clock: Callable[[], float] = time.monotonic
        self._last_mutation: float | None = None
        self._mutation_lock = asyncio.Lock()

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

    async def probe(self, path: str) -> ProbeAnswer:
        """One GET for ``debussy doctor``, seeing 401/403/404 as answers (see ``probe``)."""
        return await probe(self._http, path)

    async def aclose(self) -> None:
        await self._http.aclose()

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

        results = await gather_all([read(batch) for batch in batches])
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
        document = build_query(
            batch, enable_duplicate=enable_duplicate, structure=self._config.sub_issues
        )
        response = await self._http.request(
            "POST", str(self._graphql_url), json=document.body(), idempotent=True, read=True
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

        return dict(await gather_all([read(ref) for ref in refs]))

    async def _read_rest_issue(self, ref: GitHubRef, known: IssueStatus | None) -> IssueStatus:
        headers: dict[str, str] = {}
        if known is not None and known.etag and not known.missing:
            headers["If-None-Match"] = known.etag
        response = await self._http.request(
            "GET", _issue_path(ref), headers=headers, handled=_ISSUE_GONE | {304}, read=True
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
    #
    # Writes follow a convergence read (``read_for_writes``), which gives the node ids the
    # mutations need. Mutating requests go one at a time, at least ``mutation_interval``
    # apart (GitHub: "make requests serially, wait at least one second between mutative
    # requests", docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
    # Labels are only ever added or removed by name/id: never replaced as a set, never
    # all cleared, so a label a person adds meanwhile survives.
    #
    # The write documents and their parsing live in ``mutations``, imported inside the
    # methods that write: a read-only ``status --issues`` never loads them (the cold
    # path's import budget, notes/NOTES_performance.md; tests/perf/test_warm_path.py).

    @property
    def _ids(self) -> WriteIds:
        """Node ids learnt by the convergence reads, made on first use by a write."""
        if self._write_ids is None:
            from debussy.sync.trackers.github import mutations

            self._write_ids = mutations.WriteIds()
        return self._write_ids

    def comment_markers(self) -> dict[GitHubRef, frozenset[str]]:
        """Debussy's markers in the latest comments, per issue the write read looked at."""
        return dict(self._ids.markers)

    async def views_for_writes(
        self, refs: Sequence[IssueRef], *, comments: bool
    ) -> dict[IssueRef, IssueView]:
        """``base.Tracker``: ``read_for_writes`` with each issue's kind and comment markers."""
        mine = [ref for ref in refs if isinstance(ref, GitHubRef)]
        statuses, pulls = await self.read_for_writes(mine, comments=comments)
        markers = self.comment_markers() if comments else {}
        return {
            ref: IssueView(status, is_pull_request=ref in pulls, markers=markers.get(ref))
            for ref, status in statuses.items()
        }

    def learn_written(self, ids: Mapping[str, int]) -> None:
        """``base.Tracker``: GitHub reads its writes back at once; nothing to remember."""

    def written_ids(self) -> dict[str, int]:
        return {}

    async def read_for_writes(
        self, refs: Sequence[GitHubRef], *, comments: bool = False
    ) -> tuple[dict[GitHubRef, IssueStatus], set[GitHubRef]]:
        """Fresh statuses of ``refs`` and which of them are pull requests.

        With a token: ``ceil(n / 100)`` GraphQL requests that also learn the node ids
        of the issues, their labels and the repositories' Debussy labels. Without a
        token the REST read answers (nothing can be written anyway).
        """
        wanted = list(dict.fromkeys(refs))
        readable = [ref for ref in wanted if is_valid_ref(ref)]
        statuses = {ref: IssueStatus.missing_issue(ref) for ref in wanted if ref not in readable}
        if not self._has_token:
            statuses.update(await self.fetch_issues(readable))
            return statuses, set()
        from debussy.sync.trackers.github import mutations

        labels = list(self._config.labels.all())
        bound = asyncio.Semaphore(GRAPHQL_CONCURRENCY)

        async def read(batch: IssueBatch) -> tuple[dict[GitHubRef, IssueStatus], WriteIds]:
            async with bound:
                with_duplicate = self._enable_duplicate
                payload = await self._post_write_query(batch, labels, with_duplicate, comments)
                if with_duplicate and rejects_argument(payload, "enableDuplicate"):
                    self._enable_duplicate = False
                    payload = await self._post_write_query(batch, labels, False, comments)
                return mutations.parse_write_batch(
                    batch, labels, payload, auth_hint=self._auth_hint
                )

        for found, ids in await gather_all([read(batch) for batch in plan_batches(readable)]):
            statuses.update(found)
            self._ids.merge(ids)
        return {ref: statuses[ref] for ref in wanted}, set(self._ids.pull_requests & set(wanted))

    async def _post_write_query(
        self, batch: IssueBatch, labels: Sequence[str], enable_duplicate: bool, comments: bool
    ) -> Any:
        from debussy.sync.trackers.github import mutations

        document = mutations.build_write_query(
            batch,
            labels,
            enable_duplicate=enable_duplicate,
            structure=self._config.sub_issues,
            comments=comments,
        )
        response = await self._http.request(
            "POST", str(self._graphql_url), json=document.body(), idempotent=True
        )
        return decode_json("github", response)

    async def apply_writes(self, writes: Sequence[TrackerWrite]) -> list[WriteResult]:
        """Send ``writes`` (planned from ``read_for_writes``); every write gets one outcome.

        Missing Debussy labels are created first (one request), then the writes go
        in requests of at most 50 mutations, one issue's writes never split. A stop
        signal (``base.failed_write``, ``mutations.mutation_outcomes``: a rate limit
        in any shape, a 5xx or timeout, an authentication failure) ends the writes
        at once: no further mutation request, the rest ``skipped``.
        """
        if not writes:
            return []
        if not self._has_token:
            message = f"changing GitHub issues needs a token; {self._auth_hint}"
            return [WriteResult(write, "skipped", message) for write in writes]
        results: dict[int, WriteResult] = {}
        for index, write in enumerate(writes):
            ref = write.ref
            if not isinstance(ref, GitHubRef) or not is_valid_ref(ref):
                results[index] = WriteResult(
                    write, "refused", f"{write.display_key} is not a GitHub issue"
                )
            elif ref in self._ids.pull_requests:
                results[index] = WriteResult(write, "refused", "a pull request, not an issue")
        pending = [(i, w) for i, w in enumerate(writes) if i not in results]
        label_problems = await self._create_missing_labels([w for _, w in pending])
        if label_problems.stop is not None:
            for index, write in pending:
                results[index] = WriteResult(write, "skipped", label_problems.stop)
            return [results[i] for i in range(len(writes))]
        by_issue: dict[GitHubRef, list[tuple[int, TrackerWrite]]] = {}
        for index, write in pending:
            assert isinstance(write.ref, GitHubRef)
            problem = label_problems.failed.get(self._label_key(write.ref, write))
            if problem is not None:
                results[index] = WriteResult(write, "skipped", f"not sent: {problem}")
            else:
                by_issue.setdefault(write.ref, []).append((index, write))
        groups = list(by_issue.values())
        chunks = [list(range(len(groups)))] if self._rest_writes else self._chunks(groups, results)
        stop: str | None = None
        done = 0
        for chunk_groups in chunks:
            chunk = [item for g in chunk_groups for item in groups[g] if item[0] not in results]
            if stop is not None:
                skipped = stopped_detail(stop)
                results.update({i: WriteResult(w, "skipped", skipped) for i, w in chunk})
                continue
            if chunk:
                outcome, stop = await self._send_chunk(chunk)
                results.update(outcome)
            done += len(chunk_groups)
            progress.info("GitHub: %d/%d issues written", done, len(groups))
        return [results[i] for i in range(len(writes))]

    def _chunks(
        self, groups: Sequence[Sequence[tuple[int, TrackerWrite]]], results: dict[int, WriteResult]
    ) -> list[list[int]]:
        """Issues per request, at most 50 mutation fields each; unbuildable writes refused."""
        from debussy.sync.trackers.github import mutations

        sizes: list[list[Mutation]] = []
        for group in groups:
            fields: list[Mutation] = []
            for index, write in group:
                built = self._mutations_for(index, write)
                if isinstance(built, str):
                    results[index] = WriteResult(write, "refused", built)
                else:
                    fields += built
            sizes.append(fields)
        return mutations.chunk_by_mutations(sizes)

    def _label_key(self, ref: GitHubRef, write: TrackerWrite) -> tuple[str, str] | None:
        if write.action != "set_label" or not write.add:
            return None
        return (ref.repo.casefold(), write.add[0].casefold())

    async def _create_missing_labels(self, writes: Sequence[TrackerWrite]) -> _LabelOutcome:
        """One ``createLabel`` per Debussy label a repository lacks, all in one request."""
        missing: dict[tuple[str, str], tuple[GitHubRef, str]] = {}
        for write in writes:
            ref = write.ref
            if not isinstance(ref, GitHubRef):
                continue
            key = self._label_key(ref, write)
            if key is not None and key not in self._ids.labels:
                missing.setdefault(key, (ref, write.add[0]))
        outcome = _LabelOutcome()
        if not missing:
            return outcome
        if self._rest_writes:
            return outcome  # REST adds create labels implicitly
        from debussy.sync.trackers.github import mutations

        planned: list[Mutation] = []
        keys: dict[str, tuple[str, str]] = {}
        for index, (key, (ref, name)) in enumerate(missing.items()):
            repo_id = self._ids.repos.get(key[0])
            if repo_id is None:
                outcome.failed[key] = f"{ref.repo} was not read; cannot create label {name!r}"
                continue
            alias = f"c{index}"
            keys[alias] = key
            planned.append(mutations.create_label(alias, repo_id, name, self._label_color(name)))
        if not planned:
            return outcome
        try:
            payload = await self._mutate(mutations.build_mutation(planned))
        except TrackerError as exc:
            _kind, stop = failed_write(exc)
            if stop:
                outcome.stop = stopped_detail(exc.message)
            for key in keys.values():
                outcome.failed[key] = exc.message
            return outcome
        if mutations.rejects_mutations(payload):
            log.info("GitHub: this server lacks the write mutations; writing over REST")
            self._rest_writes = True
            return outcome
        answer = mutations.mutation_outcomes(payload, list(keys))
        if answer.stop is not None:
            outcome.stop = stopped_detail(answer.stop)
        data = payload.get("data") if isinstance(payload, dict) else None
        for alias, key in keys.items():
            result = answer.aliases[alias]
            created = data.get(alias) if isinstance(data, dict) else None
            label = created.get("label") if isinstance(created, dict) else None
            if (
                result.outcome == "applied"
                and isinstance(label, dict)
                and isinstance(label.get("id"), str)
            ):
                self._ids.labels[key] = label["id"]
                log.info("GitHub: created label %r in %s", key[1], key[0])
            else:
                outcome.failed[key] = (
                    f"could not create label {key[1]!r}: {result.detail or 'no id'}"
                )
        return outcome

    async def _send_chunk(
        self, chunk: Sequence[tuple[int, TrackerWrite]]
    ) -> tuple[dict[int, WriteResult], str | None]:
        """One mutation request for these writes; their outcomes and, if so, why to stop."""
        if self._rest_writes:
            return await self._send_rest(chunk)
        from debussy.sync.trackers.github import mutations

        planned: list[Mutation] = []
        aliases: dict[int, list[str]] = {}
        results: dict[int, WriteResult] = {}
        for index, write in chunk:
            built = self._mutations_for(index, write)
            if isinstance(built, str):
                results[index] = WriteResult(write, "refused", built)
                continue
            planned += built
            aliases[index] = [m.alias for m in built]
        if not planned:
            return results, None
        try:
            payload = await self._mutate(mutations.build_mutation(planned))
        except TrackerError as exc:
            kind, stop = failed_write(exc)
            for index, write in chunk:
                results.setdefault(index, WriteResult(write, kind, exc.message))
            return results, exc.message if stop else None
        if mutations.rejects_mutations(payload):
            log.info("GitHub: this server lacks the write mutations; writing over REST")
            self._rest_writes = True
            return await self._send_rest(chunk)
        answer = mutations.mutation_outcomes(payload, [m.alias for m in planned])
        for index, write in chunk:
            if index in results:
                continue
            result = mutations.worst([answer.aliases[a] for a in aliases[index]])
            results[index] = WriteResult(write, result.outcome, result.detail)
        return results, answer.stop

    def _mutations_for(self, index: int, write: TrackerWrite) -> list[Mutation] | str:
        """The aliased mutations of one write, or why it cannot be sent."""
        from debussy.sync.trackers.github import mutations

        ref = write.ref
        assert isinstance(ref, GitHubRef)
        issue_id = self._ids.issues.get(ref)
        if issue_id is None:
            return f"{write.display_key} was not read before writing"
        repo = ref.repo.casefold()
        if write.action == "set_label":
            built: list[Mutation] = []
            removals = [self._ids.labels.get((repo, name.casefold())) for name in write.remove]
            if any(label_id is None for label_id in removals):
                return f"{write.display_key}: a label to remove has no id"
            if removals:
                built.append(
                    mutations.remove_labels(f"w{index}r", issue_id, [i for i in removals if i])
                )
            if write.add:
                label_id = self._ids.labels.get((repo, write.add[0].casefold()))
                if label_id is None:
                    return f"label {write.add[0]!r} does not exist in {ref.repo}"
                built.append(mutations.add_labels(f"w{index}a", issue_id, [label_id]))
            return built
        if write.action == "close":
            return [mutations.close_issue(f"w{index}", issue_id, write.value or "completed")]
        if write.action == "reopen":
            return [mutations.reopen_issue(f"w{index}", issue_id)]
        if write.action == "comment":
            return [mutations.add_comment(f"w{index}", issue_id, write.value or "")]
        if write.action in ("add_sub_issue", "remove_sub_issue"):
            parent = ref_from_canonical("github", write.value) if write.value else None
            parent_id = self._ids.issues.get(parent) if isinstance(parent, GitHubRef) else None
            if parent_id is None:
                return f"{write.parent_key} was not read before writing"
            build = (
                mutations.add_sub_issue
                if write.action == "add_sub_issue"
                else mutations.remove_sub_issue
            )
            return [build(f"w{index}", parent_id, issue_id)]
        return f"GitHub issues have no '{write.action}'"

    async def _mutate(self, body: Mapping[str, Any]) -> Any:
        response = await self._paced("POST", str(self._graphql_url), json=body)
        return decode_json("github", response)

    async def _paced(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One mutating request: never two at once, sent ``mutation_interval`` apart.

        The interval runs from one request's start to the next one's, and a
        request only starts once the previous one was answered. Not retried once
        the request may have reached GitHub (a replayed comment would post
        twice); a rate limit is not retried here either: the caller stops writing
        and says when to try again.
        """
        async with self._mutation_lock:
            if self._last_mutation is not None:
                wait = self._last_mutation + self.mutation_interval - self.clock()
                if wait > 0:
                    await self.sleep(wait)
            self._last_mutation = self.clock()
            return await self._http.request(method, url, idempotent=False, **kwargs)

    async def _send_rest(
        self, chunk: Sequence[tuple[int, TrackerWrite]]
    ) -> tuple[dict[int, WriteResult], str | None]:
        """The REST fallback: the same add/remove semantics, one request per operation."""
        results: dict[int, WriteResult] = {}
        stop: str | None = None
        for index, write in chunk:
            if stop is not None:
                results[index] = WriteResult(write, "skipped", stopped_detail(stop))
                continue
            ref = write.ref
            assert isinstance(ref, GitHubRef)
            try:
                if write.action == "set_label":
                    await self._relabel_rest(ref, add=write.add, remove=write.remove)
                elif write.action == "close":
                    await self._close_rest(ref, write.value or "completed")
                elif write.action == "reopen":
                    await self._reopen_rest(ref)
                elif write.action == "comment":
                    await self._comment_rest(ref, write.value or "")
                else:
                    results[index] = WriteResult(
                        write, "refused", "sub-issue links need GitHub's GraphQL API"
                    )
                    continue
                results[index] = WriteResult(write, "applied")
            except TrackerError as exc:
                kind, stops = failed_write(exc)
                results[index] = WriteResult(write, kind, exc.message)
                if stops:
                    stop = exc.message
        return results, stop

    async def _remove_label_rest(self, ref: GitHubRef, name: str) -> None:
        """``DELETE .../labels/{name}``: one label; 404 means someone removed it already."""
        try:
            await self._rest_issue_write(ref, "DELETE", f"/labels/{quote(name, safe='')}")
        except TrackerNotFoundError:
            log.debug("GitHub: %s no longer had %r", _display(ref), name)

    async def _relabel_rest(
        self, ref: GitHubRef, *, add: Sequence[str], remove: Sequence[str]
    ) -> tuple[str, ...] | None:
        """Labels by add/remove only (never ``PUT`` the set): the issue's labels after an add."""
        for name in remove:
            await self._remove_label_rest(ref, name)
        if not add:
            return None
        response = await self._rest_issue_write(ref, "POST", "/labels", json={"labels": list(add)})
        return label_names_from_rest(ref, decode_json("github", response))

    async def _close_rest(self, ref: GitHubRef, reason: str) -> None:
        await self._rest_issue_write(
            ref, "PATCH", "", json={"state": "closed", "state_reason": reason}
        )

    async def _reopen_rest(self, ref: GitHubRef) -> None:
        await self._rest_issue_write(ref, "PATCH", "", json={"state": "open"})

    async def _comment_rest(self, ref: GitHubRef, body: str) -> None:
        """Not retried once the request may have reached GitHub: a replay would comment twice."""
        await self._rest_issue_write(ref, "POST", "/comments", json={"body": body})

    async def _rest_issue_write(
        self, ref: GitHubRef, method: str, suffix: str, **kwargs: Any
    ) -> httpx.Response:
        response = await self._paced(
            method, f"{_issue_path(ref)}{suffix}", handled=_ISSUE_GONE, **kwargs
        )
        if response.status_code in _ISSUE_GONE:
            raise TrackerNotFoundError(
                "github", f"{_display(ref)} not found on GitHub ({response.status_code})"
            )
        return response

    # --- single REST writes: the fallback's primitives above, one issue at a time -----------

    async def set_debussy_label(
        self, ref: GitHubRef, label: str | None, current: Sequence[str] | None = None
    ) -> tuple[str, ...]:
        """Leave exactly one Debussy label (none for ``None``) over REST, by add/remove only.

        ``current`` is what the caller just read; when it already matches, no
        request is sent. Other labels are never touched: no set replacement.
        """
        if label is not None and not self._config.labels.owns(label):
            raise ValueError(f"{label!r} is not a Debussy label")
        self._require_writable(ref)
        if current is None:
            current = await self._read_labels(ref)
        stale = [
            name
            for name in current
            if self._config.labels.owns(name)
            and (label is None or name.casefold() != label.casefold())
        ]
        present = label is not None and any(n.casefold() == label.casefold() for n in current)
        add = [label] if label is not None and not present else []
        after = await self._relabel_rest(ref, add=add, remove=stale)
        return after if after is not None else tuple(n for n in current if n not in stale)

    async def close_issue(
        self, ref: GitHubRef, reason: Literal["completed", "not_planned"]
    ) -> None:
        self._require_writable(ref)
        await self._close_rest(ref, reason)

    async def reopen_issue(self, ref: GitHubRef) -> None:
        self._require_writable(ref)
        await self._reopen_rest(ref)

    async def add_comment(self, ref: GitHubRef, body: str) -> None:
        self._require_writable(ref)
        await self._comment_rest(ref, body)

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

    def _label_color(self, label: str) -> str:
        for status in LABEL_STATUS_KEYS:
            if str(getattr(self._config.labels, status)).casefold() == label.casefold():
                return str(getattr(self._config.label_colors, status))
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
        """GitHub's rate-limit and SSO signals; anything else falls to the shared rules."""
        status = response.status_code
        sso = self._saml_failure(response)
        if sso is not None:
            return sso
        if status in (403, 429):
            return _limit_from_headers(response) or _limit_from_body(response)
        if (
            status == 200
            and response.request.url == self._graphql_url
            and _mentions_limit(response.content)
        ):
            # A 200 whose errors are a rate limit: typed (RATE_LIMITED, RATE_LIMIT), or only
            # worded ("secondary rate limit", "abuse detection") with no type at all.
            # x-ratelimit-remaining may not say 0 with it (octokit/plugin-throttling.js #636).
            payload = _json_or_none(response)
            if is_rate_limited(payload):
                shape = "RATE_LIMITED" if b"RATE_LIMITED" in response.content else "RATE_LIMIT"
                # No wait named: reads back off as usual, writes stop at once (retry.py).
                return _limit_from_headers(response) or rate_limited(
                    "github",
                    f"GraphQL rate limit hit ({shape})",
                    retry_after=None,
                    reset_at=_epoch(response.headers.get("x-ratelimit-reset")),
                )
            if _whole_request_limited(payload):
                return _limit_from_headers(response) or _limit_from_body(response, payload)
        if status >= 400 and _mentions_limit(response.content):
            # "secondary rate limit" / "abuse detection" in any other status (422, 502...)
            return _limit_from_body(response)
        return None

    def _saml_failure(self, response: httpx.Response) -> TrackerAuthError | None:
        """An organisation enforcing SAML SSO that the token is not authorised for.

        REST answers 403 with ``X-GitHub-SSO: required; url=...``; GraphQL answers
        200 with the repository ``null`` and a ``FORBIDDEN`` error carrying
        ``extensions.saml_failure``. Either way the issues are not missing: the
        token needs authorising for that organisation.
        """
        header = response.headers.get(SAML_HEADER, "")
        withheld: list[tuple[str | int, ...]] = []
        if response.status_code == 200 and b"saml_failure" in response.content:
            withheld = saml_protected(_json_or_none(response))
        required = response.status_code == 403 and header.lower().startswith("required")
        if not withheld and not required:
            return None
        orgs = _orgs_of(response, withheld) or [_org_in_path(response.request.url.path)]
        named = ", ".join(f"'{org}'" for org in dict.fromkeys(orgs) if org) or "of the repository"
        url = _sso_url(header)
        where = (
            f"authorise it at {url}"
            if url
            else (
                "authorise it under GitHub → Settings → Developer settings → tokens → Configure SSO"
            )
        )
        source = _token_source(self._config)
        token = f"the token in {source}" if source else "the token"
        return TrackerAuthError(
            "github",
            f"GitHub organisation {named} enforces SAML single sign-on and {token} is not "
            f"authorised for it; {where}",
        )


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


def _mentions_limit(body: bytes) -> bool:
    """A cheap look before parsing: could this body be a rate-limit answer?"""
    folded = body.lower()
    return any(
        phrase in folded
        for phrase in (b"rate_limit", b"rate limit", b"abuse detection", b"submitted too quickly")
    )


def _whole_request_limited(payload: Any) -> bool:
    """A GraphQL answer whose rate-limit error is about the request, not one field.

    "was submitted too quickly" on one alias is handled per write by the mutation
    parser (the fields before it did apply); a limit without a path, or without
    ``data``, refused the whole request.
    """
    problems = limit_problems(payload)
    data = payload.get("data") if isinstance(payload, dict) else None
    return bool(problems) and (not isinstance(data, dict) or any(not p.path for p in problems))


def _limit_from_body(response: httpx.Response, payload: Any = None) -> HintedRateLimitError | None:
    """A rate-limit answer that carries no ``retry-after`` / ``remaining: 0`` to go by.

    The primary limit ("API rate limit exceeded") resets at ``x-ratelimit-reset``.
    Anything else — a secondary limit, the older "abuse detection mechanism" 403,
    a GraphQL ``RATE_LIMITED`` without headers — is a secondary limit without
    ``retry-after``: GitHub asks for at least a minute, so it is never waited out
    within a command. None of these is the token's fault.
    """
    if payload is None:
        payload = _json_or_none(response)
    messages: list[str] = []
    if isinstance(payload, dict):
        message = payload.get("message")
        if isinstance(message, str):
            messages.append(message)
        messages += [problem.message for problem in limit_problems(payload)]
    limited = any(says_limited(m) for m in messages) or is_rate_limited(payload)
    if not limited:
        return None
    status = response.status_code
    reset_at = _epoch(response.headers.get("x-ratelimit-reset"))
    if any("api rate limit exceeded" in m.casefold() for m in messages) and reset_at is not None:
        wait = max(0.0, reset_at.timestamp() - time.time())
        return rate_limited(
            "github", f"API rate limit exhausted ({status})", retry_after=wait, reset_at=reset_at
        )
    what = (
        "abuse-detection limit"
        if any("abuse" in m.casefold() for m in messages)
        else ("secondary rate limit")
    )
    return rate_limited(
        "github",
        f"{what} hit ({status}); GitHub asks to wait at least a minute",
        retry_after=SECONDARY_LIMIT_WAIT,
    )


def _sso_url(header: str) -> str | None:
    """``url=...`` of ``X-GitHub-SSO: required; url=https://github.com/orgs/o/sso?...``."""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "url" and value.strip().startswith(("https://", "http://")):
            return value.strip()
    return None


def _orgs_of(response: httpx.Response, paths: Sequence[tuple[str | int, ...]]) -> list[str]:
    """The owners behind withheld aliases (``r0`` -> variable ``owner0``) of the query sent."""
    try:
        sent = json.loads(response.request.content)
    except (ValueError, httpx.RequestNotRead):
        return []
    variables = sent.get("variables") if isinstance(sent, dict) else None
    if not isinstance(variables, dict):
        return []
    orgs: list[str] = []
    for path in paths:
        alias = str(path[0]) if path else ""
        owner = variables.get(f"owner{alias[1:]}") if alias.startswith("r") else None
        if isinstance(owner, str):
            orgs.append(owner)
    return orgs


def _org_in_path(path: str) -> str:
    """``octo`` of ``/repos/octo/app/...`` (REST), or nothing."""
    parts = [part for part in path.split("/") if part]
    return parts[parts.index("repos") + 1] if "repos" in parts[:-1] else ""


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
