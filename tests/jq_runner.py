"""Run a documented ``jq ...`` command line without needing the jq binary.

CI machines have nothing installed by hand, so the recipes in README.md and docs/
are run through the ``jq`` Python bindings (libjq itself). The options the docs
use are supported: ``-r`` (raw strings), ``-e`` (exit status from the last output)
and ``-c`` (compact; the default here).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

import jq


@dataclass(frozen=True)
class JqResult:
    returncode: int
    stdout: str


def run_jq(command: str | list[str], document: object) -> JqResult:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[0] == "jq", argv
    raw = exit_status = False
    program: str | None = None
    for arg in argv[1:]:
        if arg.startswith("-") and program is None:
            raw |= "r" in arg
            exit_status |= "e" in arg
        elif program is None:
            program = arg
        else:
            raise AssertionError(f"unexpected jq argument {arg!r}")
    assert program is not None, argv
    outputs = jq.compile(program).input_value(document).all()
    lines = [value if raw and isinstance(value, str) else json.dumps(value) for value in outputs]
    code = 0
    if exit_status:
        code = 0 if outputs and outputs[-1] not in (None, False) else 1
    return JqResult(code, "\n".join(lines) + ("\n" if lines else ""))
