"""Config: discovery, validation messages that name the key, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from debussy.config import Config, find_project_root, load_config, parse_config
from debussy.errors import ConfigError

PATH = Path("proj/.debussy/config.yaml")


def parse(text: str | bytes) -> Config:
    return parse_config(text.encode() if isinstance(text, str) else text, PATH)


def test_the_documented_example_is_valid() -> None:
    config = parse(
        """
github:
  enabled: true
  repo: octo/app
  api_url: https://api.github.com
  token_env: GITHUB_TOKEN
  auto_close: false
  labels: {in_progress: "debussy:in-progress", completed: "debussy:completed", failed: "debussy:failed"}
jira:
  enabled: true
  url: https://acme.atlassian.net
  deployment: cloud
  email_env: JIRA_EMAIL
  token_env: JIRA_API_TOKEN
  transitions: {in_progress: "In Progress", completed: "Done", failed: null}
cache:
  ttl_seconds: 300
"""
    )
    assert config.github.repo == "octo/app"
    assert config.github.graphql_url == "https://api.github.com/graphql"
    assert config.github.web_host == "github.com"
    assert config.jira.active
    assert config.jira.transitions.failed is None
    assert config.cache.ttl_seconds == 300


def test_an_empty_file_means_defaults_and_jira_is_off_until_configured() -> None:
    config = parse("")
    assert config.github.enabled
    assert config.github.labels.in_progress == "debussy:in-progress"
    assert not config.jira.active


def test_write_interval_defaults_to_githubs_second_and_can_be_lowered() -> None:
    assert parse("github: {}").github.write_interval_seconds is None  # the client's 1 s
    assert parse("github: {write_interval_seconds: 0}").github.write_interval_seconds == 0


def test_sub_issues_are_opt_in() -> None:
    assert parse("github: {}").github.sub_issues is False
    assert parse("github: {sub_issues: true}").github.sub_issues is True


def test_github_enterprise_derives_graphql_and_web_host() -> None:
    config = parse("github: {api_url: 'https://ghe.example.com/api/v3/'}")
    assert config.github.api_url == "https://ghe.example.com/api/v3"
    assert config.github.graphql_url == "https://ghe.example.com/api/graphql"
    assert config.github.web_host == "ghe.example.com"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("github: {repoo: octo/app}", "unknown key 'github.repoo'"),
        ("jira: {transitions: {done: Done}}", "unknown key 'jira.transitions.done'"),
        ("github: {enabled: maybe}", "'github.enabled': must be true or false"),
        ("github: {sub_issues: sometimes}", "'github.sub_issues': must be true or false"),
        ("cache: {ttl_seconds: -5}", "'cache.ttl_seconds'"),
        ("cache: {ttl_seconds: soon}", "'cache.ttl_seconds'"),
        ("github: {write_interval_seconds: -1}", "'github.write_interval_seconds'"),
        ("github: {write_interval_seconds: 3600}", "'github.write_interval_seconds'"),
        ("github: {repo: octo}", "'github.repo': must look like owner/name"),
        ("jira: {deployment: onprem}", "'jira.deployment'"),
        ("github: {token_env: 'not a var'}", "'github.token_env': must be the name of"),
        ("github: {label_colors: {completed: green}}", "'github.label_colors.completed'"),
        ("github: [1, 2]", "'github'"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_invalid_config_names_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert str(caught.value).startswith(str(PATH))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        parse("github: {repoo: x, enabled: maybe}\ncache: {ttl: 1}")
    text = str(caught.value)
    assert "github.repoo" in text
    assert "github.enabled" in text
    assert "cache.ttl" in text


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"config.yaml:3: malformed YAML"):
        parse("github:\n  repo: octo/app\n  labels: [unclosed\n")


def test_non_utf8_and_huge_files_are_refused() -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse(b"github:\n  repo: \xff\xfe\n")
    with pytest.raises(ConfigError, match="larger than"):
        parse(b"#" * (300 * 1024))


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "http://10.0.0.5:8080/api/v3", "ftp://example.com", "not a url"],
)
def test_plain_http_is_only_allowed_for_loopback(url: str) -> None:
    with pytest.raises(ConfigError, match="api_url"):
        parse(f"github: {{api_url: '{url}'}}")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/api/v3", "http://localhost:9000", "http://[::1]:7000"]
)
def test_loopback_http_is_fine(url: str) -> None:
    assert parse(f"jira: {{url: '{url}'}}").jira.url == url


def test_secrets_never_come_from_the_file() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'github\.token'"):
        parse("github: {token: ghp_123456}")


def test_token_comes_from_token_env_then_gh_token_then_github_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = parse("github: {token_env: MY_GH}")
    assert config.github.token() is None
    monkeypatch.setenv("GITHUB_TOKEN", "from-github-token")
    assert config.github.token() == "from-github-token"
    monkeypatch.setenv("GH_TOKEN", "from-gh-token")
    assert config.github.token() == "from-gh-token"
    monkeypatch.setenv("MY_GH", "from-my-gh")
    assert config.github.token() == "from-my-gh"


def test_the_project_is_found_from_any_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".debussy").mkdir()
    (tmp_path / ".debussy" / "config.yaml").write_text("cache: {ttl_seconds: 42}\n")
    deep = tmp_path / "plans" / "phases"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path
    assert load_config(find_project_root(deep) or tmp_path).cache.ttl_seconds == 42


def test_no_project_anywhere(tmp_path: Path) -> None:
    assert find_project_root(tmp_path) is None
