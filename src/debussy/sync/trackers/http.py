"""The HTTP layer under both tracker clients: sending, retrying, translating errors.

Only this module and the two clients import httpx. Everything that can go wrong
on the wire becomes one of the ``debussy.errors`` tracker errors here, so the
clients deal in meaning (a rate limit, a missing issue) rather than in status
codes, and the CLI can print one clear line for any of them.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import time
import weakref
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from debussy.config_snapshot import is_loopback_host
from debussy.errors import (
    BadResponseError,
    ConfigError,
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    TrackerServerError,
    redact,
)
from debussy.sync.trackers import tracker_name
from debussy.sync.trackers.base import AsyncClosing
from debussy.sync.trackers.retry import (
    ATTEMPTS,
    RETRYABLE_STATUS,
    TOTAL_TIMEOUT,
    WAIT_INITIAL,
    WAIT_JITTER,
    WAIT_MAX,
    ConnectionFailedError,
    GarbledAnswerError,
    HintedRateLimitError,
    RetryableServerError,
    ServerFailedError,
    backoff_hook,
)

log = logging.getLogger("debussy.http")


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """Each scheduled retry, with its cause and wait, as one ``-v`` line (and spinner news)."""
    log.info(
        "%s; retry %d in %.1f s",
        redact(str(details.caused_by)),
        details.retry_num,
        details.wait_for,
    )


# stamina's default hooks print every scheduled retry on stderr (through structlog or
# plain logging); ours logs it under ``-v`` only, where the spinner also shows it.
stamina.instrumentation.set_on_retry_hooks([_log_retry])

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"})

Classifier = Callable[[httpx.Response], TrackerError | None]
"""Platform-specific first look at a response: an error to raise, or None to carry on."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def moment_after(seconds: float) -> datetime | None:
    """``seconds`` from now, or None when a server names a wait beyond the calendar."""
    try:
        return datetime.fromtimestamp(time.time() + seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def describe_reset(reset_at: datetime | None) -> str:
    """'resets at 14:05 UTC (in 41 min)' — what a user needs to decide to wait or not."""
    if reset_at is None:
        return "try again later"
    minutes = max(0, round((reset_at - datetime.now(UTC)).total_seconds() / 60))
    return f"resets at {reset_at:%H:%M} UTC (in {minutes} min)"


def rate_limited(
    platform: str, what: str, *, retry_after: float | None, reset_at: datetime | None = None
) -> HintedRateLimitError:
    """Build the rate-limit error with the reset time in its message."""
    if reset_at is None and retry_after is not None:
        reset_at = moment_after(retry_after)
    name = tracker_name(platform)
    return HintedRateLimitError(
        platform,
        f"{name} {what}; {describe_reset(reset_at)}",
        retry_after=retry_after,
        reset_at=reset_at,
    )


def check_transport_security(platform: str, url: str) -> None:
    """Refuse to send credentials over plain http to anything but loopback."""
    parts = httpx.URL(url)
    if parts.scheme == "http" and not is_loopback_host(parts.host):
        raise ConfigError(
            f"refusing to send {tracker_name(platform)} credentials over plain "
            f"http to {parts.host}; use https"
        )


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The TLS context of every https tracker client in this process, built once.

    It is exactly what httpx builds for ``verify=True`` (certifi's CA bundle, or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), but loading the CA bundle costs 20-30 ms,
    and a command that reads GitHub and Jira would otherwise pay it twice.
    """
    return httpx.create_ssl_context()


@functools.cache
def trusting_nothing() -> ssl.SSLContext:
    """The TLS context of a client whose base URL is plain http (a loopback sandbox).

    Such a client never needs TLS: redirects are not followed, and only loopback
    hosts may be reached over http (``check_transport_security``). httpx wants a
    context all the same, and the default one loads the whole CA bundle (20-40 ms a
    process; the demo starts a dozen). This one trusts no certificate at all, so an
    https URL reached by any other way (a pagination link, say) fails verification:
    closed, never open.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def ssl_context_for(base_url: str) -> ssl.SSLContext:
    """The CA bundle for https trackers; nothing to trust for a plain-http loopback one."""
    return trusting_nothing() if httpx.URL(base_url).scheme == "http" else shared_ssl_context()


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer`` added per request (GitHub tokens, Jira Data Center PATs).

    The token never sits in the client's default headers, and the repr hides it, so
    no client repr, log line or traceback can show it.
    """

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __repr__(self) -> str:
        return "<BearerAuth ***>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class TrackerHttp(AsyncClosing):
    """One tracker's ``httpx.AsyncClient`` with retries and error translation.

    ``auth_hint`` completes the 401 message ("set GITHUB_TOKEN to a token with
    repo scope") so the user learns which variable to fix, never its value.
    """

    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        auth_hint: str = "",
        classify: Classifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        check_transport_security(platform, base_url)
        self.platform = platform
        self.name = tracker_name(platform)
        self.requests = 0
        self._auth_hint = auth_hint
        self._classify = classify
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            auth=auth,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            verify=ssl_context_for(base_url),
        )

    def __repr__(self) -> str:
        return f"<TrackerHttp {self.platform} {self._client.base_url} requests={self.requests}>"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        handled: frozenset[int] = frozenset(),
        read: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; statuses in ``handled`` come back to the caller untranslated.

        ``idempotent`` defaults from the method; a GraphQL query sent as POST
        passes ``idempotent=True`` because reading twice is harmless. ``read=True``
        (reads only, never writes) also checks that a 2xx body is JSON and asks
        again when it is garbled; ``decode_json`` then reuses the parsed body.
        """
        self._check_same_origin(url)
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        if read:
            idempotent = True
        async for attempt in stamina.retry_context(
            on=backoff_hook(idempotent),
            attempts=ATTEMPTS,
            timeout=TOTAL_TIMEOUT,
            wait_initial=WAIT_INITIAL,
            wait_max=WAIT_MAX,
            wait_jitter=WAIT_JITTER,
        ):
            with attempt:
                if attempt.num > 1:
                    log.info("%s: retrying %s %s (attempt %d)", self.name, method, url, attempt.num)
                response = await self._send_once(method, url, handled, kwargs)
                if read and 200 <= response.status_code < 300 and response.status_code != 204:
                    _decoded[response] = _decode(self.platform, response, GarbledAnswerError)
                return response
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _check_same_origin(self, url: str | httpx.URL) -> None:
        """Credentials go to the configured host only, whatever a server links to."""
        target = httpx.URL(url)
        if not target.is_absolute_url:
            return
        base = self._client.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise BadResponseError(
                self.platform,
                f"{self.name} pointed to another host ({target.host}); credentials only go to "
                f"{base.host}",
            )

    async def _send_once(
        self, method: str, url: str, handled: frozenset[int], kwargs: dict[str, Any]
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            self.requests += 1
            response = await self._client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ConnectionFailedError(
                self.platform,
                f"cannot reach {self.name} at {self._client.base_url.host}: {_reason(exc)}",
                request_sent=False,
            ) from exc
        except httpx.TimeoutException as exc:
            raise ConnectionFailedError(
                self.platform,
                f"{self.name} did not answer in time ({_reason(exc)})",
                request_sent=True,
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectionFailedError(
                self.platform,
                f"connection to {self.name} failed: {_reason(exc)}",
                request_sent=True,
            ) from exc
        log.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            response.request.url.copy_with(query=None),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        # The platform's look comes first, also for statuses the caller handles itself:
        # Jira's "credentials failed" header can ride on the 400 a search expects.
        problem = self._classify(response) if self._classify else None
        if problem is not None:
            raise problem
        if response.status_code in handled:
            return response
        problem = self._classify_common(response)
        if problem is not None:
            raise problem
        return response

    def _classify_common(self, response: httpx.Response) -> TrackerError | None:
        status = response.status_code
        if status < 400:
            return None
        if status == 401:
            hint = f"; {self._auth_hint}" if self._auth_hint else ""
            return TrackerAuthError(
                self.platform, f"{self.name} rejected the credentials (401){hint}"
            )
        if status == 403:
            hint = f"; {self._auth_hint}" if self._auth_hint else ""
            return TrackerAuthError(
                self.platform, f"{self.name} refused access (403): {_summary(response)}{hint}"
            )
        if status == 404:
            return TrackerNotFoundError(
                self.platform, f"{self.name} has nothing at {response.request.url.path} (404)"
            )
        if status == 429:
            return rate_limited(
                self.platform,
                "rate limit hit (429)",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status in RETRYABLE_STATUS:
            return RetryableServerError(
                self.platform, f"{self.name} is unavailable ({status})", status
            )
        if status >= 500:
            return ServerFailedError(self.platform, f"{self.name} server error ({status})", status)
        return TrackerServerError(
            self.platform, f"{self.name} refused the request ({status}): {_summary(response)}"
        )


_decoded: weakref.WeakKeyDictionary[httpx.Response, Any] = weakref.WeakKeyDictionary()
"""Bodies already parsed by ``request(read=True)``, so nobody parses them twice."""


def decode_json(platform: str, response: httpx.Response) -> Any:
    """The response body as JSON, or a ``BadResponseError`` saying what came instead."""
    if response in _decoded:
        return _decoded[response]
    return _decode(platform, response, BadResponseError)


def _decode(platform: str, response: httpx.Response, error: type[BadResponseError]) -> Any:
    name = tracker_name(platform)
    body = response.content
    head = body.lstrip()[:1]
    if head == b"<":
        raise error(
            platform,
            f"{name} answered {response.status_code} with an HTML page instead of JSON "
            f"(check the configured URL)",
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        what = "an empty body" if not body else "truncated or malformed JSON"
        raise error(
            platform,
            f"{name} answered {response.status_code} with {what} ({exc.__class__.__name__})",
        ) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or exc.__class__.__name__


def _summary(response: httpx.Response) -> str:
    """A short, safe description of an error body: its message field, not the whole page."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "non-JSON body"
    if isinstance(data, dict):
        for key in ("message", "errorMessages"):
            value = data.get(key)
            # Redacted before it is cut: a token cut in half would no longer be recognised.
            if isinstance(value, str) and value:
                return redact(value)[:200]
            if isinstance(value, list) and value:
                return redact("; ".join(str(item) for item in value))[:200]
    return "no message"
