"""Property-based: whatever a tracker answers, Debussy reports it in one line and keeps its state.

The sandbox serves each generated answer in place of the real one (an injected
fault with a body, or with rate-limit headers). The generated answers start from
the sandbox's genuine answer to the very request Debussy sends, then lose fields,
gain nulls, wrong types, control characters, absurd dates or megabytes of text.

What must hold for every answer, through the real ``status --issues`` and
``sync --apply`` commands:

- the exit code is 0 (the answer was still a valid one) or 1, never a traceback
  nor an "unexpected" error;
- a rejected answer is one ``errors`` entry for that platform whose message is one
  line naming the tracker, the platform's issues are shown stale from the cache,
  and stderr holds exactly one line about it;
- ``sync --apply`` on a rejected answer changes nothing; the state database
  passes ``PRAGMA integrity_check`` after every example.

Budgets: ``DEBUSSY_FUZZ_EXAMPLES`` (default 20 per property); the examples are
derandomized so CI is reproducible, ``DEBUSSY_FUZZ_RANDOM=1`` explores anew.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from debussy.sandbox import SandboxTracker
from tests.reliability.conftest import (
    UNEXPECTED,
    checkpointed_bytes,
    dump_state,
    integrity,
    restore_state,
)
from tests.sandbox_project import GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN, SandboxProject

EXAMPLES = int(os.environ.get("DEBUSSY_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("DEBUSSY_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
READ_PATHS = {"github": r"^/api/graphql$", "jira": r"^/rest/api/3/search/jql$"}
NAMES = {"github": "GitHub", "jira": "Jira"}
MEGABYTES = 6


@dataclass(repr=False)
class Scene:
    project: SandboxProject
    pristine: bytes
    genuine: dict[str, Any]
    """Platform -> the sandbox's real answer to Debussy's read request."""
    state: dict[str, list[tuple[object, ...]]]

    def __repr__(self) -> str:
        return f"<Scene {self.project.root}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints examples with this: keep megabytes of state out of reports."""
        printer.text(repr(self))

    @property
    def sandbox(self) -> SandboxTracker:
        return self.project.sandbox

    @property
    def state_path(self) -> Path:
        return self.project.root / ".debussy" / "state.db"

    def reset(self) -> None:
        self.sandbox.clear_faults()
        restore_state(self.state_path, self.pristine)


def _genuine_answers(sandbox: SandboxTracker) -> dict[str, Any]:
    """Replay the read requests Debussy just sent, to get the answers it was given."""
    answers: dict[str, Any] = {}
    auth = {
        "github": {"Authorization": f"Bearer {GITHUB_TOKEN}"},
        "jira": {},
    }
    for record in sandbox.requests:
        if record.kind not in ("graphql", "search") or record.platform in answers:
            continue
        response = httpx.request(
            record.method,
            f"{sandbox.url}{record.path}",
            content=record.body,
            headers={"Content-Type": "application/json", **auth[record.platform]},
            auth=httpx.BasicAuth(JIRA_EMAIL, JIRA_TOKEN) if record.platform == "jira" else None,
        )
        response.raise_for_status()
        answers[record.platform] = response.json()
    assert set(answers) == {"github", "jira"}
    return answers


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with SandboxTracker() as sandbox:
        project = SandboxProject.wired(tmp_path_factory.mktemp("payloads"), sandbox)
        project.ok("start", "plans/MASTER_PLAN.md")
        project.ok("phase", "start", "1")
        project.backdate_phases()
        sandbox.close_issue("octo/app", 10)
        sandbox.close_issue("octo/lib", 7)
        sandbox.clear_requests()
        project.issues_json("--refresh")
        genuine = _genuine_answers(sandbox)
        path = project.root / ".debussy" / "state.db"
        yield Scene(project, checkpointed_bytes(path), genuine, dump_state(path))


# --- generating answers -----------------------------------------------------------------------

ODD_TEXT = st.sampled_from(
    [
        "",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-13-45T99:99:99Z",
        "2026-11-27T10:00:00.000+9999",
        "line one\nline two\r\n\x1b[31mred\x1b[0m",
        "\u2028separated\u2029",
        "OPEN",
        "CLOSED",
        "done",
        "x" * 5000,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    ODD_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            paths += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            paths += _paths(child, (*prefix, index))
    return paths


def _mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value if action == "replace" else None
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "null":
        parent[last] = None
    else:
        parent[last] = value
    return document


@st.composite
def damaged(draw: st.DrawFn, genuine: Any) -> bytes:
    """The genuine answer with one to three things wrong with it, as bytes on the wire."""
    document = copy.deepcopy(genuine)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        leaves = [path for path in paths if not isinstance(_at(document, path), (dict, list))]
        # Half the time a leaf gets an odd value: that is where parsing and dates live.
        if leaves and draw(st.booleans()):
            path, action, value = draw(st.sampled_from(leaves)), "replace", draw(ODD_TEXT)
        else:
            path = draw(st.sampled_from(paths))
            action = draw(st.sampled_from(["delete", "null", "replace", "replace"]))
            value = draw(JSON_VALUES)
        if action == "delete" and not path:
            action = "replace"
        document = _mutate(document, path, action, value)
    return json.dumps(document).encode()


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def huge(genuine: Any) -> bytes:
    """A genuine answer made megabytes long by a field nobody reads."""
    return json.dumps({**genuine, "padding": "x" * (MEGABYTES * 1024 * 1024)}).encode()


# --- the oracle -------------------------------------------------------------------------------


def check_dashboard(scene: Scene, platform: str) -> bool:
    """``status --issues``: a valid answer shows fresh data, a rejected one stale data + one line."""
    result = scene.project.run("status", "--issues", "--refresh", "--json")
    assert "Traceback" not in result.stderr, result.stderr
    assert UNEXPECTED not in result.stderr, result.stderr
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    errors = document["errors"]
    issues = [issue for issue in document["issues"] if issue["platform"] == platform]
    if not errors:
        assert result.exit_code == 0, result.output
        assert {issue["source"] for issue in issues} == {"fresh"}
        return False
    assert result.exit_code == 1
    assert [error["platform"] for error in errors] == [platform]
    message = errors[0]["message"]
    assert len(message.splitlines()) == 1, repr(message)
    assert message == message.strip(), repr(message)
    assert NAMES[platform] in message, message
    assert {issue["source"] for issue in issues} == {"stale"}
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert NAMES[platform] in lines[0], result.stderr
    return True


def check_sync(scene: Scene, platform: str, rejected: bool) -> None:
    """``sync --apply`` acts only on a complete, valid picture."""
    before = dump_state(scene.state_path)
    result = scene.project.run("sync", "--apply", "--json")
    assert "Traceback" not in result.stderr, result.stderr
    assert UNEXPECTED not in result.stderr, result.stderr
    document = json.loads(result.stdout)
    if rejected or document["fetch"]["errors"]:
        assert result.exit_code == 1, result.output
        assert document["applied"] is False
        assert dump_state(scene.state_path) == before, "a rejected answer changed the state"
        error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(error) == 1, result.stderr
        assert error[0].startswith(f"Error: nothing applied: {platform}: "), error
    else:
        assert result.exit_code in (0, 1), result.output
    assert integrity(scene.state_path) == "ok"


def serve_and_check(scene: Scene, platform: str, **fault: Any) -> None:
    scene.reset()
    try:
        scene.sandbox.inject(platform=platform, path=READ_PATHS[platform], times=1, **fault)
        rejected = check_dashboard(scene, platform)
        scene.sandbox.inject(platform=platform, path=READ_PATHS[platform], times=1, **fault)
        check_sync(scene, platform, rejected)
    finally:
        scene.reset()


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_any_graphql_answer_is_read_or_rejected_in_one_line(
    scene: Scene, data: st.DataObject
) -> None:
    body = data.draw(damaged(scene.genuine["github"]), label="body")
    serve_and_check(scene, "github", status=200, body=body)


@FUZZ
@given(data=st.data())
def test_any_jira_search_answer_is_read_or_rejected_in_one_line(
    scene: Scene, data: st.DataObject
) -> None:
    body = data.draw(damaged(scene.genuine["jira"]), label="body")
    serve_and_check(scene, "jira", status=200, body=body)


OUT_OF_RANGE = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_github_date_outside_the_calendar_is_a_bad_answer(scene: Scene, moment: str) -> None:
    """Found by the property above: such a date used to escape as an unexpected OverflowError."""
    answer = copy.deepcopy(scene.genuine["github"])
    answer["data"]["r0"]["i1"]["updatedAt"] = moment
    serve_and_check(scene, "github", status=200, body=json.dumps(answer))


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_jira_date_outside_the_calendar_is_a_bad_answer(scene: Scene, moment: str) -> None:
    answer = copy.deepcopy(scene.genuine["jira"])
    answer["issues"][0]["fields"]["updated"] = moment
    serve_and_check(scene, "jira", status=200, body=json.dumps(answer))


@pytest.mark.parametrize("platform", ["github", "jira"])
def test_a_huge_answer_is_read_like_any_other(scene: Scene, platform: str) -> None:
    scene.reset()
    scene.sandbox.inject(
        platform=platform, path=READ_PATHS[platform], status=200, body=huge(scene.genuine[platform])
    )
    assert check_dashboard(scene, platform) is False
    scene.reset()


@FUZZ
@given(
    status=st.sampled_from([400, 403, 404, 409, 422, 429, 500, 503]),
    message=st.one_of(st.text(max_size=300), ODD_TEXT),
    field=st.sampled_from(["message", "errorMessages", "errors"]),
)
@example(status=400, message="bad\nthing " * 200, field="errorMessages")
@example(status=403, message="line one\nline two", field="errors")
def test_any_error_body_is_one_line(scene: Scene, status: int, message: str, field: str) -> None:
    """Error bodies carry the server's own words; they reach the user on one line."""
    bodies = {
        "message": {"message": message},
        "errorMessages": {"errorMessages": [message, message]},
        "errors": {"errors": [{"message": message}]},
    }
    body = json.dumps(bodies[field])
    for platform in ("github", "jira"):
        serve_and_check(scene, platform, status=status, body=body)


RETRY_AFTER = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(
        [
            "1" + "0" * 400,
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "soon",
            "",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
)
RESET = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["9" * 30, "1e30", "", "now"]),
)


@FUZZ
@given(
    status=st.sampled_from([403, 429]), retry_after=st.none() | RETRY_AFTER, reset=st.none() | RESET
)
@example(status=429, retry_after="1" + "0" * 400, reset=None)
@example(status=403, retry_after=None, reset="99999999999999")
def test_any_rate_limit_headers_end_in_one_line(
    scene: Scene, status: int, retry_after: str | None, reset: str | None
) -> None:
    headers = {"x-ratelimit-remaining": "0"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after.strip() or "0"
    if reset is not None:
        headers["x-ratelimit-reset"] = reset.strip() or "0"
    for platform in ("github", "jira"):
        serve_and_check(
            scene, platform, status=status, headers=headers, body='{"message": "rate limited"}'
        )
