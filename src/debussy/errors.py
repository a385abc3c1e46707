"""The one exception tree Debussy raises.

Library code raises these and nothing else escapes to the user: the CLI turns any
``DebussyError`` into a single line on stderr and its ``exit_code``. Foreign
exceptions (httpx, sqlite3, yaml, pydantic) are translated once, where they occur,
with ``raise ... from exc`` so that debugging keeps the cause.

    DebussyError
    ├── ConfigError            .debussy/config.yaml missing, malformed or invalid
    ├── PlanError              a master plan or phase file that cannot be read
    ├── StateError             the state database (locked, corrupt, unknown run/phase)
    │   └── StalePlanError     a sync plan whose premises changed before apply
    ├── RerunRefusedError      start refused: the plan's issues were already delivered
    └── TrackerError           anything that went wrong talking to GitHub or Jira
        ├── TrackerAuthError         401, or 403 that is not a rate limit
        ├── TrackerNotFoundError     the repository / project / endpoint does not exist
        ├── RateLimitedError         limited beyond what we are willing to wait
        ├── TrackerUnavailableError  connect error, timeout, dropped connection
        ├── TrackerServerError       5xx after retries
        ├── BadResponseError         HTML instead of JSON, truncated or wrong-typed JSON
        └── TransitionError          no Jira transition leads to the wanted status

The exit codes every command and the demo use are defined here too, once.

Messages never contain secrets: tokens are never interpolated anywhere, and
``TrackerError`` additionally scrubs anything registered with ``register_secret``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DRIFT = 3
"""``--exit-code`` only: the trackers and Debussy disagree (for CI)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report a process killed by SIGINT (128 + 2)."""
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (``| head``): shells report a process killed by SIGPIPE
as 128 + 13, which is how git and gh end there; the CLI ends by that very signal."""

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that no error message can ever print it.

    Clients register every token they read from the environment; ``redact`` is
    applied to tracker error messages and to log records (see ``debussy.logs``).
    """
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


MAX_MESSAGE_CHARS = 1000
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_LINE_BREAKS = re.compile(rf"[\s{_CONTROL}]*[{_CONTROL}]+[\s{_CONTROL}]*")


def one_line(text: str) -> str:
    """Fold line breaks and control characters into spaces and cap the length.

    Every error is printed as one ``Error:`` line, and trackers put their own
    words (with newlines, escape sequences, kilobytes of HTML) into messages.
    Apply after ``redact``: cutting first could leave half a token unrecognised.
    """
    text = _LINE_BREAKS.sub(" ", text).strip()
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1].rstrip() + "…"
    return text


class DebussyError(Exception):
    """Base of every error Debussy reports to the user as one line."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(one_line(redact(message)))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(DebussyError):
    """The configuration file is missing, unreadable or invalid."""


class PlanError(DebussyError):
    """A plan file is missing or malformed; the message names file and line."""


class MissingPhaseFileError(PlanError):
    """The phases table links a file that is not there (deleted, or not written yet).

    Commands that only show a run go on with the run as last read, with a warning;
    commands that change it stop, as for any plan that does not parse."""


class StateError(DebussyError):
    """The state database cannot be used (locked, corrupt, unknown run or phase)."""


class StalePlanError(StateError):
    """Something changed between computing a sync plan and applying it."""


class RerunRefusedError(DebussyError):
    """``debussy start`` found the plan's issues in a completed feature and was not forced."""


class TrackerError(DebussyError):
    """A failure talking to an issue tracker.

    ``kind`` is the stable machine-readable name used in ``--json`` output
    (``errors[].kind``); ``platform`` is ``github`` or ``jira``.
    """

    kind: ClassVar[str] = "error"

    def __init__(self, platform: str, message: str) -> None:
        super().__init__(message)
        self.platform = platform


class TrackerAuthError(TrackerError):
    kind = "auth"


class TrackerNotFoundError(TrackerError):
    kind = "not_found"


class RateLimitedError(TrackerError):
    """Rate limited for longer than Debussy is willing to wait.

    ``reset_at`` (UTC) is when the server said the limit lifts, if it said so.
    """

    kind = "rate_limited"

    def __init__(self, platform: str, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(platform, message)
        self.reset_at = reset_at


class TrackerUnavailableError(TrackerError):
    kind = "unreachable"


class TrackerServerError(TrackerError):
    kind = "server_error"


class BadResponseError(TrackerError):
    kind = "bad_response"


class TransitionError(TrackerError):
    kind = "transition"


class IncompleteDataError(DebussyError):
    """``sync --apply`` refused or unfinished: some tracker could not be read or written."""


class DemoFolderError(DebussyError):
    """``demo --dir`` names a folder the demo must not write into."""

    exit_code: ClassVar[int] = EXIT_USAGE
