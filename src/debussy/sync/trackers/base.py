"""What every tracker client shares: ``async with``, concurrent batches, shape errors.

Written once here so the GitHub and Jira clients (and the objects that hold them)
cannot drift apart: both close the same way, both surface a failed batch as the
tracker error itself rather than an ``ExceptionGroup``, and both describe a reply
they cannot read in the same words.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from debussy.errors import DebussyError

if TYPE_CHECKING:  # the warm path imports neither pydantic nor asyncio
    import asyncio

    from pydantic import ValidationError

ResultT = TypeVar("ResultT")

MAX_PROBLEMS_SHOWN = 1
"""How many bad fields a message names before "(and N more)": one is enough to act on."""


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
    """``Jira sent a search result with a bad 'issues.0.fields.status': Field required``.

    The one wording for a reply of the right syntax but the wrong shape, on every
    tracker: which reply, which field, why, and how many more problems it has.
    """
    return f"{platform_name} sent {what} with a bad {describe_bad_fields(exc, whole=whole)}"


def describe_bad_fields(exc: ValidationError, *, whole: str = "body") -> str:
    """``'fields.status': Field required (and 2 more)``: where the reply is wrong, and why.

    Paths and reasons only; the offending values are not worth echoing (and could be
    long). ``whole`` names the reply itself when it is the reply that is wrong.
    """
    errors = exc.errors()
    parts: list[str] = []
    for error in errors[:MAX_PROBLEMS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or whole
        # pydantic names our private model for a non-object; the user needs the JSON word.
        reason = "expected a JSON object" if error["type"] == "model_type" else error["msg"]
        parts.append(f"'{where}': {reason}")
    more = len(errors) - MAX_PROBLEMS_SHOWN
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
