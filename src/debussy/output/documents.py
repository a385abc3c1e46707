"""The one JSON printer, and the schema version every ``--json`` document carries.

One rule for every ``--json``: indented for a person at a terminal, one compact
line when piped (as ``gh`` does; json's C encoder also writes compact output
several times faster, which matters for 2,000-issue dashboards).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from debussy.output.console import is_tty

SCHEMA_VERSION = 1
"""Bumped when a key of any ``--json`` document changes meaning or disappears."""


def print_json(document: object, stream: TextIO | None = None) -> None:
    """Exactly one JSON document and a newline on ``stream`` (stdout by default)."""
    out = stream or sys.stdout
    indent = 2 if is_tty(out) else None
    out.write(json.dumps(document, indent=indent) + "\n")
    out.flush()
