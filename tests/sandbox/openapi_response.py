"""Check what the sandbox answers against the official OpenAPI descriptions.

The request side is adapted by ``tests.contract.openapi``; this adds the
response side, so ``assert_response_conforms`` validates an ``httpx.Response``
(status documented for the operation, body against its schema, documented
headers) with openapi-core.

Two places where the descriptions disagree with the services they describe are
corrected before validating, each narrowly, so the sandbox can answer what the
real service answers:

- GitHub (OpenAPI 3.0 cut): ``issue.state_reason`` is ``nullable`` but its enum
  lacks ``null``; GitHub sends ``null`` for an issue never closed (its 3.1
  description lists ``null`` in the enum).
- Jira: ``date-time`` fields (``Comment.created``, ``ServerInformation.serverTime``)
  carry Jira's ``2021-01-17T12:34:00.000+0000`` form, as the description's own
  examples show, which is not RFC 3339; they are checked against that exact form.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Literal

import httpx
from openapi_core import OpenAPI
from openapi_core.validation.response.exceptions import MissingData
from werkzeug.datastructures import Headers

from tests.contract.openapi import REFERENCE, SPECS, _Adapted

JIRA_TIMESTAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$"


def _jira_timestamps(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            del node["format"]
            node["pattern"] = JIRA_TIMESTAMP
        for value in node.values():
            _jira_timestamps(value)
    elif isinstance(node, list):
        for item in node:
            _jira_timestamps(item)


@functools.cache
def response_spec(platform: Literal["github", "jira"]) -> OpenAPI:
    document = json.loads((REFERENCE / SPECS[platform]).read_text())
    if platform == "github":
        reason = document["components"]["schemas"]["issue"]["properties"]["state_reason"]
        reason["enum"] = [*reason["enum"], None]
    else:
        _jira_timestamps(document["components"]["schemas"])
    return OpenAPI.from_dict(document)


class _AdaptedResponse:
    """An ``httpx.Response`` seen through openapi-core's response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "").lower()

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))

    @property
    def data(self) -> bytes | None:
        return self._response.content or None


def assert_response_conforms(
    platform: Literal["github", "jira"], response: httpx.Response, *, strip_prefix: str = ""
) -> None:
    """Fail with the validator's reasons if ``response`` is not a documented answer."""
    spec = response_spec(platform)
    server = spec.spec["servers"][0]["url"]
    request = _Adapted(response.request, server, strip_prefix)
    try:
        spec.validate_response(request, _AdaptedResponse(response))
    except Exception as exc:  # openapi-core raises a tree of validation errors
        if isinstance(exc, MissingData) and response.status_code == 204 and not response.content:
            return  # Jira documents its 204s with an empty JSON schema; no body is what it sends
        reasons = [str(exc)]
        cause = exc.__cause__
        while cause is not None:
            reasons.append(str(cause))
            cause = cause.__cause__
        reasons += [str(inner) for inner in getattr(exc, "schema_errors", [])]
        raise AssertionError(
            f"{response.request.method} {response.request.url} -> {response.status_code} "
            f"does not conform to the {platform} API description:\n  " + "\n  ".join(reasons)
        ) from None
