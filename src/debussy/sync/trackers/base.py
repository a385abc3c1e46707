"""What every tracker client shares: ``async with``, concurrent batches, shape errors.

Written once here so the GitHub and Jira clients (and the objects that hold them)
cannot drift apart: both close the same way, both surface a failed batch as the
tracker error itself rather than an ``ExceptionGroup``, and both describe a reply
they cannot read in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from debussy.errors import (
    BadResponseError,
    DebussyError,
    RateLimitedError,
    TrackerAuthError,
    TrackerError,
)
from debussy.sync.trackers.retry import (
    ConnectionFailedError,
    RetryableServerError,
    ServerFailedError,
)

if TYPE_CHECKING:  # the warm path imports neither msgspec nor asyncio
    import asyncio

    from msgspec import ValidationError

    from debussy.issues import IssueRef
    from debussy.sync.trackers.writes import IssueView, Outcome, TrackerWrite, WriteResult

ResultT = TypeVar("ResultT")


class Tracker(Protocol):
    """What the convergence engine asks of a tracker's client (``TRACKERS[...].client``).

    One shape for every tracker: a read of the issues about to be written (status,
    what the issue offers, Debussy's comment markers), the writes with one outcome
    each, the requests sent, and the ids of issues it moved (trackers whose search
    lags behind a write name them in the next read; others answer none).
    """

    @property
    def requests(self) -> int: ...

    async def views_for_writes(
        self, refs: Sequence[IssueRef], *, comments: bool
    ) -> dict[IssueRef, IssueView]: ...

    async def apply_writes(self, writes: Sequence[TrackerWrite]) -> list[WriteResult]: ...

    def learn_written(self, ids: Mapping[str, int]) -> None: ...

    def written_ids(self) -> dict[str, int]: ...

    async def aclose(self) -> None: ...


class AsyncClosing:
    """``async with thing:`` for anything with an ``aclose``: enter gives it, exit closes it."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def gather_all(jobs: Iterable[Coroutine[Any, Any, ResultT]]) -> list[ResultT]:
    """Run ``jobs`` concurrently, results in order; the first failure cancels the rest.

    A tracker failure is raised alone (callers catch ``TrackerError``, not groups); a
    failure that is not a ``DebussyError`` is a bug, and the whole group is raised so
    nothing about it is lost.
    """
    import asyncio  # here, not at module level: the warm path never starts an event loop

    tasks: list[asyncio.Task[ResultT]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except ExceptionGroup as failures:
        first = first_debussy_error(failures)
        if first is None:
            raise
        raise first from first.__cause__
    return [task.result() for task in tasks]


def first_debussy_error(failures: BaseExceptionGroup[BaseException]) -> DebussyError | None:
    """The first ``DebussyError`` in a (possibly nested) exception group, if any."""
    for failure in failures.exceptions:
        if isinstance(failure, DebussyError):
            return failure
        if isinstance(failure, BaseExceptionGroup):
            nested = first_debussy_error(failure)  # pyright: ignore[reportUnknownArgumentType]
            if nested is not None:
                return nested
    return None


def bad_fields_message(
    platform_name: str, what: str, exc: ValidationError, *, whole: str = "body"
) -> str:
    """``Jira sent a search result with a bad 'issues.0.fields.status': field required``.

    The one wording for a reply of the right syntax but the wrong shape, on every
    tracker: which reply, which field, and why.
    """
    return f"{platform_name} sent {what} with a bad {describe_bad_fields(exc, whole=whole)}"


# Patterns as text, compiled (and cached by ``re``) on first use: the warm path imports
# this module and never reads a reply, so it does not pay for compiling them.
_PATH_PART = r"\.([^.\[`]+)|\[([^\]]*)\]"
"""``.name`` or ``[0]`` in msgspec's ``$.labels.nodes[0].name``; a map key reads ``[...]``."""
_MISSING_FIELD = r"Object missing required field `([^`]+)`"
_WRONG_TYPE = r"Expected `([^`]+)`, got `([^`]+)`"
_TYPE_WORDS = {
    "object": "a JSON object",
    "array": "a list",
    "str": "a string",
    "int": "an integer",
    "float": "a decimal number",
    "bool": "true or false",
    "null": "null",
}
"""msgspec's names of JSON types, as the reason says them."""
_QUOTED = r"'.*'|\".*\""
"""A value msgspec quotes (its ``repr``) in a message of a kind not translated here."""
_TYPE_NAME = r"`([^`]*)`"


def describe_bad_fields(exc: ValidationError, *, whole: str = "body") -> str:
    """``'fields.status': expected a JSON object, got null``: where the reply is wrong, and why.

    msgspec stops at the first problem, so one field is named (one is enough to act
    on). Its text, "Expected `str`, got `int` - at `$.fields.status.name`", is turned
    into the dotted path people know from the JSON and a reason in plain words.
    Values are never shown: they could be long, or hold a secret. ``whole`` names
    the reply itself when it is the reply that is wrong.
    """
    reason, at, where = str(exc).rpartition(" - at `")  # the location always comes last
    if not at or not where.startswith("$"):
        reason, where = str(exc), ""  # the reply itself: msgspec says no location
    path = [name or index for name, index in re.findall(_PATH_PART, where.rstrip("`"))]
    missing = re.fullmatch(_MISSING_FIELD, reason)
    if missing is not None:
        path.append(missing.group(1))  # msgspec points at the object; people look for the field
        reason = "field required"
    else:
        reason = _plain_reason(reason)
    dotted = ".".join(path) or whole
    return f"'{dotted}': {reason}"


def _plain_reason(text: str) -> str:
    """msgspec's reason in plain words, without the value it quotes for some of them."""
    wrong = re.fullmatch(_WRONG_TYPE, text)
    if wrong is not None:
        expected, got = (
            " or ".join(_TYPE_WORDS.get(name, name) for name in names.split(" | "))
            for names in wrong.groups()
        )
        return f"expected {expected}, got {got}"
    if text.startswith(("Invalid enum value", "Invalid value")):
        return "not one of the values expected"
    # Anything else msgspec may say: keep its words, drop quoted values, one line.
    kept = re.sub(_QUOTED, "a value", text)
    kept = re.sub(_TYPE_NAME, lambda name: _TYPE_WORDS.get(name.group(1), name.group(1)), kept)
    kept = " ".join(kept.split())
    return (kept[:1].lower() + kept[1:]) or "not what was expected"


def failed_write(exc: TrackerError) -> tuple[Outcome, bool]:
    """What a write whose request raised ``exc`` became, and whether to stop writing.

    The stop signals of PRODUCT.md §9: any rate limit and an authentication
    failure (the tracker refused it, and every later write would be refused too),
    a 5xx or a timeout on the mutating request (it may have applied: ``unconfirmed``;
    sending more into an overloaded tracker is what its rate limits punish), and a
    tracker that cannot be reached (not sent). Everything else concerns this one
    write: refused (the tracker's reason) or, for an answer that cannot be read,
    unconfirmed. Both clients ask this one function, so they stop alike.
    """
    if isinstance(exc, RateLimitedError | TrackerAuthError):
        return "refused", True
    if isinstance(exc, ConnectionFailedError):
        return ("unconfirmed" if exc.request_sent else "skipped"), True
    if isinstance(exc, RetryableServerError | ServerFailedError):
        return "unconfirmed", True
    if isinstance(exc, BadResponseError):
        return "unconfirmed", False
    return "refused", False


def stopped_detail(reason: str) -> str:
    """The ``detail`` of a write not sent because writing stopped (the replay is named above)."""
    return f"not sent: writes stopped after {reason}"
