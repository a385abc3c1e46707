"""Check what a client sends against the official OpenAPI descriptions.

The subsets in ``tests/fixtures/reference`` are cut from GitHub's and Atlassian's
published descriptions (see ``cut.py`` there). ``assert_conforms`` takes the
``httpx.Request`` a client really built (captured by respx or by a
``MockTransport``) and fails the test when its path, query parameters, headers
or JSON body do not match the operation the description defines.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

REFERENCE = Path(__file__).parent.parent / "fixtures" / "reference"
SPECS = {
    "github": "github-rest.subset.openapi.json",
    "jira": "jira-cloud-platform-v3.subset.openapi.json",
}


@functools.cache
def load_spec(name: Literal["github", "jira"]) -> OpenAPI:
    return OpenAPI.from_dict(json.loads((REFERENCE / SPECS[name]).read_text()))


class _Adapted:
    """An ``httpx.Request`` seen through openapi-core's request protocol.

    ``strip_prefix`` removes a deployment-specific path prefix (GitHub Enterprise's
    ``/api/v3``) so the path matches the description's ``servers`` entry.
    """

    def __init__(self, request: httpx.Request, server: str, strip_prefix: str) -> None:
        self._request = request
        self._server = server.rstrip("/")
        path = request.url.path
        if strip_prefix and path.startswith(strip_prefix):
            path = path[len(strip_prefix) :] or "/"
        self._path = path
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return self._server

    @property
    def path(self) -> str:
        return self._path

    @property
    def full_url_pattern(self) -> str:
        return self._server + self._path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        content = self._request.content
        return content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


def assert_conforms(
    platform: Literal["github", "jira"], request: httpx.Request, *, strip_prefix: str = ""
) -> None:
    """Fail with the validator's reasons if ``request`` is not a valid call of the API."""
    spec = load_spec(platform)
    server = spec.spec["servers"][0]["url"]
    adapted = _Adapted(request, server, strip_prefix)
    try:
        spec.validate_request(adapted)
    except Exception as exc:  # openapi-core raises a tree of validation errors
        reasons = [str(exc)]
        cause = exc.__cause__
        while cause is not None:
            reasons.append(str(cause))
            cause = cause.__cause__
        reasons += [str(inner) for inner in getattr(exc, "schema_errors", [])]
        raise AssertionError(
            f"{request.method} {request.url} does not conform to the {platform} API description:\n  "
            + "\n  ".join(reasons)
        ) from None
