"""Configuration that cannot work is an error in plain words, naming the key (issue #15, case 10).

Each case is checked twice: the message ``parse_config`` gives, and what a user
running the command against the sandbox sees (one ``Error:`` line, exit 1,
nothing contacted).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from debussy.config import parse_config
from debussy.errors import ConfigError
from tests.sandbox_project import SandboxProject

PATH = Path("proj/.debussy/config.yaml")


def problem(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text.encode(), PATH)
    message = caught.value.message
    assert message.startswith(f"{PATH}"), message
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "jira:\n  enabled: true\n",
            "'jira.url' is not set but Jira is enabled (jira.enabled is true)",
        ),
        (
            "jira:\n  deployment: server\n",
            "'jira.url' is not set but Jira is enabled (jira.enabled is true by default)",
        ),
        ("github:\n  repo: octo/app\ngithub:\n  enabled: false\n", ":3: duplicate key 'github'"),
        ("cache: {ttl_seconds: 1, ttl_seconds: 2}\n", ":1: duplicate key 'ttl_seconds'"),
        ("github:\n  labels:\n    completed: ''\n", "'github.labels.completed': must not be empty"),
        (
            "github:\n  labels:\n    failed: debussy:done\n    completed: Debussy:Done\n",
            "'github.labels': 'debussy:done' is used for both completed and failed",
        ),
        ("cache:\n  ttl_seconds: true\n", "'cache.ttl_seconds': must be a whole number"),
        ("github: true\n", "'github': must be a group of settings"),
        ("jira: [url]\n", "'jira': must be a group of settings"),
        ("github:\n  auto_close: sometimes\n", "'github.auto_close': must be true or false"),
        ("jira:\n  deployment: onprem\n", "'jira.deployment': must be one of 'cloud', 'server'"),
        (
            "jira:\n  url: https://acme.atlassian.net\n  transition_fields: {done: {resolution: x}}\n",
            "'jira.transition_fields': 'done' is not a phase status",
        ),
    ],
)
def test_unworkable_config_is_named_in_plain_words(text: str, expected: str) -> None:
    message = problem(text)
    assert expected in message
    for jargon in ("Input should", "instance of", "GitHubConfig", "JiraConfig", "pydantic"):
        assert jargon not in message


def test_a_disabled_jira_without_url_is_fine() -> None:
    config = parse_config(b"jira:\n  enabled: false\n", PATH)
    assert not config.jira.active


def test_api_url_and_transition_fields_are_accepted() -> None:
    config = parse_config(
        b"jira:\n"
        b"  url: https://acme.atlassian.net\n"
        b"  api_url: https://api.atlassian.com/ex/jira/1234-abcd\n"
        b"  transitions: {completed: Closed}\n"
        b"  transition_fields: {completed: {resolution: Done}}\n",
        PATH,
    )
    assert config.jira.api_base == "https://api.atlassian.com/ex/jira/1234-abcd"
    assert config.jira.browse_url("PROJ-1") == "https://acme.atlassian.net/browse/PROJ-1"
    assert config.jira.fields_for("closed") == {"resolution": "Done"}
    assert config.jira.fields_for("In Progress") == {}


# --- through the commands ------------------------------------------------------------------


def test_status_with_jira_enabled_and_no_url_fails_naming_the_key(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    config = project.root / ".debussy" / "config.yaml"
    config.write_text(config.read_text().replace(f"  url: {project.sandbox.jira_url}\n", ""))
    project.sandbox.clear_requests()

    result = project.run("status", "--issues")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "'jira.url' is not set but Jira is enabled" in result.stderr
    assert "config.yaml" in result.stderr
    assert "disabled" not in result.stdout
    assert project.sandbox.requests == []


def test_a_duplicate_section_is_an_error_not_a_silent_override(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    config = project.root / ".debussy" / "config.yaml"
    config.write_text(config.read_text() + "github:\n  enabled: false\n")

    result = project.run("start", "plans/MASTER_PLAN.md")

    assert result.exit_code == 1
    assert "duplicate key 'github' (first given on line 1)" in result.stderr
    assert "Traceback" not in result.output


def test_a_plan_using_hash_n_without_any_repo_names_github_repo_and_the_plan(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    config = project.root / ".debussy" / "config.yaml"
    config.write_text(config.read_text().replace("  repo: octo/app\n", ""))
    plan = project.root / "plans" / "MASTER_PLAN.md"
    plan.write_text(plan.read_text().replace("**GitHub Repo:** octo/app\n", ""))

    result = project.run("start", "plans/MASTER_PLAN.md")

    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line
    assert "MASTER_PLAN.md" in line
    assert "github.repo" in line
    assert "'#1' needs a repository and none is known" in line


def test_yaml_merge_keys_are_not_taken_for_duplicates() -> None:
    config = parse_config(
        b"github:\n"
        b"  labels:\n"
        b"    <<: {in_progress: 'team:doing', completed: 'team:done'}\n"
        b"    completed: 'team:shipped'\n",
        PATH,
    )
    assert (config.github.labels.in_progress, config.github.labels.completed) == (
        "team:doing",
        "team:shipped",
    )
