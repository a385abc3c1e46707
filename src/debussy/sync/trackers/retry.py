"""The one retry policy both tracker clients use.

Built on stamina (exponential backoff with jitter, bounded by attempts *and* total
time). What is worth retrying is decided here, once, from the typed errors the
HTTP layer raises:

- connect failures: always (the request never reached the server);
- timeouts, dropped connections, 502/503/504: only for idempotent requests,
  because a write may have been applied before the connection died;
- a 2xx read whose body is not JSON (truncated, malformed, a proxy's HTML page):
  like a 502, and only for reads;
- rate limits (429, GitHub secondary/primary limits, GraphQL ``RATE_LIMITED``):
  the server rejected the request, so waiting what it asked for is safe when that
  is at most ``MAX_HINTED_WAIT`` (10 s); a longer wait is not retried and the error
  says when the limit resets. A limit that names no wait is backed off for reads
  only: a write stops at once (PRODUCT.md §9 "stop signals"), because GitHub warns
  that continuing while limited can get an integration banned.

Tests call ``stamina.set_testing(True, attempts=3)`` to keep the attempts but drop
the sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from debussy.errors import (
    BadResponseError,
    RateLimitedError,
    TrackerError,
    TrackerServerError,
    TrackerUnavailableError,
)

ATTEMPTS = 3
TOTAL_TIMEOUT = 20.0
WAIT_INITIAL = 0.5
WAIT_MAX = 5.0
WAIT_JITTER = 0.5
MAX_HINTED_WAIT = 10.0
"""Longest server-requested wait we sit through in an interactive command."""

RETRYABLE_STATUS = frozenset({502, 503, 504})


class RetryableServerError(TrackerServerError):
    """A 502/503/504: the server may recover in a moment."""

    def __init__(self, platform: str, message: str, status: int) -> None:
        super().__init__(platform, message)
        self.status = status


class ServerFailedError(TrackerServerError):
    """A 5xx other than 502/503/504: not retried, but like them it may have applied a write."""

    def __init__(self, platform: str, message: str, status: int) -> None:
        super().__init__(platform, message)
        self.status = status


class GarbledAnswerError(BadResponseError):
    """A read answered 2xx with a body that is not JSON: truncated, malformed, a proxy's page.

    Raised only for reads (``TrackerHttp.request(read=True)``): a proxy or a dropped
    connection garbles an answer as it garbles a 502, so reading again is the cure.
    A write is never retried for it: the server may well have applied it.
    """


class ConnectionFailedError(TrackerUnavailableError):
    """Transport failure; ``request_sent`` tells whether the server may have seen it."""

    def __init__(self, platform: str, message: str, *, request_sent: bool) -> None:
        super().__init__(platform, message)
        self.request_sent = request_sent


class HintedRateLimitError(RateLimitedError):
    """Rate limited; ``retry_after`` is the server's suggested wait in seconds, if any."""

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        retry_after: float | None,
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(platform, message, reset_at=reset_at)
        self.retry_after = retry_after


def backoff_hook(idempotent: bool) -> Callable[[Exception], bool | float]:
    """A stamina ``on=`` hook: ``False`` = give up, ``True`` = back off, float = wait that long."""

    def decide(exc: Exception) -> bool | float:
        if not isinstance(exc, TrackerError):
            return False
        if isinstance(exc, HintedRateLimitError):
            if exc.retry_after is None:
                return idempotent
            if exc.retry_after <= MAX_HINTED_WAIT:
                return max(exc.retry_after, 0.0)
            return False
        if isinstance(exc, ConnectionFailedError):
            return idempotent or not exc.request_sent
        if isinstance(exc, RetryableServerError | GarbledAnswerError):
            return idempotent
        return False

    return decide
