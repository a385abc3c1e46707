"""Rules the trackers layer keeps in one home: labels, repository names, batches, shapes."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel, ValidationError

from debussy.config import GitHubConfig
from debussy.errors import ConfigError, TrackerServerError
from debussy.issues import GitHubRef, is_repo_name
from debussy.plans.refs import parse_github_repo
from debussy.sync.expected import is_debussy_label
from debussy.sync.trackers.base import AsyncClosing, bad_fields_message, gather_all
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


class _Shape(BaseModel):
    state: str
    number: int
    title: str


def test_one_wording_for_a_reply_of_the_wrong_shape() -> None:
    with pytest.raises(ValidationError) as caught:
        _Shape.model_validate({"state": 5})
    message = bad_fields_message("Jira", "a search result", caught.value)
    assert message == (
        "Jira sent a search result with a bad 'state': Input should be a valid string (and 2 more)"
    )
    with pytest.raises(ValidationError) as not_object:
        _Shape.model_validate([1])
    assert bad_fields_message("GitHub", "issue o/a#1", not_object.value, whole="(issue)") == (
        "GitHub sent issue o/a#1 with a bad '(issue)': expected a JSON object"
    )


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
