"""One diagnostic GET for ``debussy doctor``: the answer as it came, auth failures included.

Doctor wants to *see* a 401, a 404 or the ``X-OAuth-Scopes`` header rather than
have them translated into errors, so ``probe`` hands back the status, the
headers doctor reads and the JSON body. Connection failures, timeouts and
retries stay those of ``TrackerHttp`` (a ``TrackerError`` is raised for them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from debussy.sync.trackers.http import TrackerHttp

PROBE_HEADERS = ("x-oauth-scopes", "x-accepted-oauth-scopes", "x-accepted-github-permissions")
"""The headers doctor reads (GitHub's answer on what a token may do)."""
_SEEN_AS_ANSWERS = frozenset({401, 403, 404})


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any
    """The decoded JSON body, or None when it was not JSON."""


async def probe(http: TrackerHttp, path: str) -> ProbeAnswer:
    """``GET path`` with the client's credentials; 401/403/404 come back as answers."""
    response = await http.request("GET", path, handled=_SEEN_AS_ANSWERS)
    try:
        body = json.loads(response.content) if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    headers = {name: response.headers[name] for name in PROBE_HEADERS if name in response.headers}
    return ProbeAnswer(response.status_code, headers, body)
