"""Rules the trackers layer keeps in one home: labels, repository names, batches, shapes."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import msgspec
import pytest

from debussy.config import GitHubConfig
from debussy.errors import ConfigError, TrackerServerError
from debussy.issues import GitHubRef, is_repo_name
from debussy.plans.refs import parse_github_repo
from debussy.sync.expected import is_debussy_label
from debussy.sync.trackers.base import (
    AsyncClosing,
    bad_fields_message,
    describe_bad_fields,
    gather_all,
)
from debussy.sync.trackers.github.query import is_valid_ref


@pytest.mark.parametrize(
    ("label", "owned"),
    [
        ("debussy:in-progress", True),
        ("Debussy:In-Progress", True),  # GitHub label names are case-insensitive
        ("DEBUSSY:anything", True),
        ("Ship-It", True),  # configured below, any spelling
        ("bug", False),
        ("debussy", False),
    ],
)
def test_debussy_labels_are_recognised_whatever_their_case(label: str, owned: bool) -> None:
    config = GitHubConfig.model_validate({"labels": {"completed": "ship-it"}})
    assert is_debussy_label(label, config) is owned


@pytest.mark.parametrize(
    ("repo", "valid"),
    [
        ("octo/app", True),
        ("octo-org/app.js", True),
        ("o/..", False),
        ("../etc", False),
        ("no-slash", False),
        ("octo/app/extra", False),
        ("octo /app", False),
        ("-octo/app", False),
    ],
)
def test_one_repository_rule_for_config_plans_and_clients(repo: str, valid: bool) -> None:
    assert is_repo_name(repo) is valid
    assert is_valid_ref(GitHubRef(repo, 1)) is valid
    config_ok = True
    try:
        GitHubConfig.model_validate({"repo": repo})
    except (ValueError, ConfigError):
        config_ok = False
    assert config_ok is valid
    plan_ok = True
    try:
        parse_github_repo(repo, web_host="github.com", where="plans/MASTER_PLAN.md")
    except Exception:
        plan_ok = False
    assert plan_ok is valid


def test_a_failed_batch_raises_its_tracker_error_alone() -> None:
    async def ok() -> int:
        await asyncio.sleep(0)
        return 1

    async def down() -> int:
        raise TrackerServerError("jira", "Jira is unavailable (503)")

    with pytest.raises(TrackerServerError, match="unavailable"):
        asyncio.run(gather_all([ok(), down(), ok()]))
    assert asyncio.run(gather_all([ok(), ok()])) == [1, 1]


def test_a_bug_in_a_batch_keeps_the_whole_group() -> None:
    async def broken() -> int:
        raise KeyError("bug")

    with pytest.raises(ExceptionGroup) as caught:
        asyncio.run(gather_all([broken()]))
    assert isinstance(caught.value.exceptions[0], KeyError)


class _Status(msgspec.Struct):
    name: str


class _Fields(msgspec.Struct, rename="camel"):
    status: _Status
    status_category: Literal["new", "done"] = "new"
    milestone: _Status | None = None


class _Item(msgspec.Struct):
    fields: _Fields


class _Shape(msgspec.Struct):
    state: str
    number: int
    title: str
    issues: list[_Item] = []


def _problem(data: Any) -> msgspec.ValidationError:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert(data, type=_Shape)
    return caught.value


SHAPE = {"state": "open", "number": 1, "title": "t"}


def test_one_wording_for_a_reply_of_the_wrong_shape() -> None:
    message = bad_fields_message("Jira", "a search result", _problem({"state": 5}))
    assert message == (
        "Jira sent a search result with a bad 'state': expected a string, got an integer"
    )
    not_object = _problem([1])
    assert bad_fields_message("GitHub", "issue o/a#1", not_object, whole="(issue)") == (
        "GitHub sent issue o/a#1 with a bad '(issue)': expected a JSON object, got a list"
    )


@pytest.mark.parametrize(
    ("data", "described"),
    [
        ({"state": "open"}, "'number': field required"),
        ({**SHAPE, "number": 1.5}, "'number': expected an integer, got a decimal number"),
        ({**SHAPE, "number": True}, "'number': expected an integer, got true or false"),
        ({**SHAPE, "number": "1"}, "'number': expected an integer, got a string"),
        ({**SHAPE, "issues": {"a": 1}}, "'issues': expected a list, got a JSON object"),
        ({**SHAPE, "issues": [{"fields": {}}]}, "'issues.0.fields.status': field required"),
        (
            {
                **SHAPE,
                "issues": [{"fields": {"status": {"name": "x"}}}, {"fields": {"status": None}}],
            },
            "'issues.1.fields.status': expected a JSON object, got null",
        ),
        (
            {**SHAPE, "issues": [{"fields": {"status": {"name": "x"}, "milestone": "v1"}}]},
            "'issues.0.fields.milestone': expected a JSON object or null, got a string",
        ),
        (
            {**SHAPE, "issues": [{"fields": {"status": {"name": "x"}, "statusCategory": "ghp_x"}}]},
            "'issues.0.fields.statusCategory': not one of the values expected",
        ),
    ],
)
def test_the_path_is_dotted_with_list_indexes_and_the_reason_is_plain(
    data: Any, described: str
) -> None:
    """Paths as in the JSON (camelCase names, indexes as numbers); a missing field is named."""
    assert describe_bad_fields(_problem(data)) == described


def test_no_value_is_echoed_and_the_message_is_one_line() -> None:
    """msgspec quotes a value it does not accept; the message must not (it could be a token)."""
    secret = "ghp_0123456789abcdef\nsecond line"
    data = {**SHAPE, "issues": [{"fields": {"status": {"name": "x"}, "statusCategory": secret}}]}
    assert "ghp_" in str(_problem(data)), "msgspec itself does quote it"
    message = bad_fields_message("Jira", "a search result", _problem(data))
    assert "ghp_" not in message
    assert "\n" not in message
    # A message of a kind not translated above keeps msgspec's words, without the quoted part.
    odd = msgspec.ValidationError("Expected `str` matching regex 'ghp_[a-z]+' - at `$.token`")
    assert describe_bad_fields(odd) == "'token': expected a string matching regex a value"


def test_async_with_closes_the_client() -> None:
    closed: list[bool] = []

    class Client(AsyncClosing):
        async def aclose(self) -> None:
            closed.append(True)

    async def main() -> None:
        async with Client() as client:
            assert isinstance(client, Client)

    asyncio.run(main())
    assert closed == [True]
