"""Issue references as written in ``GitHub Issues`` / ``Jira Issues`` header values."""

from __future__ import annotations

import pytest

from debussy.errors import PlanError, register_secret
from debussy.issues import GitHubRef, JiraRef
from debussy.plans import parse_github_refs, parse_github_repo, parse_jira_refs

WHERE = "plans/MASTER_PLAN.md:7"


def github(text: str, *, repo: str | None = "octo/app", web_host: str = "github.com"):
    return parse_github_refs(text, default_repo=repo, web_host=web_host, where=WHERE)


def github_error(text: str, **kwargs: str | None) -> str:
    with pytest.raises(PlanError) as caught:
        github(text, **kwargs)  # type: ignore[arg-type]
    return caught.value.message


def jira_error(text: str, hosts: tuple[str, ...] = ()) -> str:
    with pytest.raises(PlanError) as caught:
        parse_jira_refs(text, where=WHERE, hosts=hosts)
    return caught.value.message


# ------------------------------------------------------------------ GitHub: accepted


def test_the_documented_example_line_parses_in_order() -> None:
    refs = github("#10, #11, octo/other#7, https://github.com/octo/app/issues/12")
    assert refs == [
        GitHubRef("octo/app", 10),
        GitHubRef("octo/app", 11),
        GitHubRef("octo/other", 7),
        GitHubRef("octo/app", 12),
    ]
    assert [ref.repo for ref in refs] == ["octo/app", "octo/app", "octo/other", "octo/app"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#10", GitHubRef("octo/app", 10)),
        ("gh#10", GitHubRef("octo/app", 10)),
        ("GH#10", GitHubRef("octo/app", 10)),
        ("acme-shop/payments-sdk#57", GitHubRef("acme-shop/payments-sdk", 57)),
        ("octo/my.repo_v2#3", GitHubRef("octo/my.repo_v2", 3)),
        ("https://github.com/octo/app/issues/12", GitHubRef("octo/app", 12)),
        ("http://github.com/octo/app/issues/12", GitHubRef("octo/app", 12)),
        ("https://www.github.com/octo/app/issues/12", GitHubRef("octo/app", 12)),
        ("https://GitHub.com/octo/app/issues/12/", GitHubRef("octo/app", 12)),
        ("https://github.com/octo/app/issues/12#issuecomment-1791", GitHubRef("octo/app", 12)),
        ("https://github.com/octo/app/issues/12?q=is%3Aopen", GitHubRef("octo/app", 12)),
        ("<https://github.com/octo/app/issues/12>", GitHubRef("octo/app", 12)),
        ("[login bug](https://github.com/octo/app/issues/12)", GitHubRef("octo/app", 12)),
        ('[#12](https://github.com/octo/app/issues/12 "Login bug")', GitHubRef("octo/app", 12)),
        ("#2147483647", GitHubRef("octo/app", 2**31 - 1)),
    ],
)
def test_every_github_spelling_is_understood(text: str, expected: GitHubRef) -> None:
    assert github(text) == [expected]


@pytest.mark.parametrize("text", ["#10 #11", "#10,#11", "#10 ,  #11", "#10,\t#11", " #10, #11, "])
def test_commas_and_whitespace_both_separate(text: str) -> None:
    assert github(text) == [GitHubRef("octo/app", 10), GitHubRef("octo/app", 11)]


@pytest.mark.parametrize("text", ["", "   ", "none", "None", "N/A", "-", "TBD"])
def test_an_empty_or_explicitly_empty_value_links_nothing(text: str) -> None:
    assert github(text) == []


def test_enterprise_issue_urls_are_accepted_on_the_configured_host() -> None:
    refs = github("https://ghe.acme.io/platform/api/issues/5", web_host="ghe.acme.io")
    assert refs == [GitHubRef("platform/api", 5)]


def test_enterprise_host_with_a_port_matches_the_configured_netloc() -> None:
    refs = github("http://127.0.0.1:8765/octo/app/issues/5", web_host="127.0.0.1:8765")
    assert refs == [GitHubRef("octo/app", 5)]


def test_github_com_urls_stay_valid_when_enterprise_is_configured() -> None:
    refs = github("https://github.com/octo/app/issues/12", web_host="ghe.acme.io")
    assert refs == [GitHubRef("octo/app", 12)]


def test_cross_repo_references_need_no_default_repo() -> None:
    refs = github("octo/other#7 https://github.com/octo/app/issues/1", repo=None)
    assert refs == [GitHubRef("octo/other", 7), GitHubRef("octo/app", 1)]


# ------------------------------------------------------------------ GitHub: rejected


@pytest.mark.parametrize(
    "token",
    [
        "#abc",
        "#0",
        "#007",
        "#-3",
        "#2147483648",  # beyond GraphQL Int: could never be fetched
        "#",
        "12",
        "gh-12",
        "PROJ-1",
        "octo#7",
        "octo/app/extra#7",
        "octo/app#",
        "octo/app#0",
        "-octo/app#7",
        "octo/..#7",
        "#12.",
        "#１２",  # full-width digits
        "github.com/octo/app/issues/12",
    ],
)
def test_bad_github_references_name_the_file_line_and_token(token: str) -> None:
    message = github_error(f"#1, {token}")
    assert message.startswith(f"{WHERE}: bad GitHub issue reference '{token}'")


def test_a_bad_reference_message_shows_the_accepted_forms() -> None:
    assert "owner/repo#12" in github_error("#abc")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/app/pull/0",
        "https://github.com/octo/app",
        "https://github.com/octo/app/issues",
        "https://github.com/octo/app/issues/0",
        "https://github.com/octo/app/issues/12/comments",
        "https://github.com/octo/app/discussions/4",
        "https://github.com/orgs/octo/projects/1",
        "ftp://github.com/octo/app/issues/3",
        "https://github.com:notaport/octo/app/issues/3",
    ],
)
def test_urls_that_are_not_issues_are_rejected(url: str) -> None:
    message = github_error(url)
    assert message.startswith(f"{WHERE}: bad GitHub issue reference '{url}'")


@pytest.mark.parametrize(
    "url",
    ["https://github.com/octo/app/pull/3", "https://github.com/octo/app/pull/3/files"],
)
def test_a_pull_request_url_is_a_reference(url: str) -> None:
    """Pull requests are linked like issues (PRODUCT.md §7); the read says which it is."""
    refs = parse_github_refs(url, default_repo=None, web_host="github.com", where=WHERE)
    assert refs == [GitHubRef("octo/app", 3)]


def test_an_issue_url_on_an_unknown_host_is_rejected_with_the_fix() -> None:
    message = github_error("https://gitlab.com/octo/app/issues/3")
    assert message.startswith(f"{WHERE}: bad GitHub issue reference")
    assert "'gitlab.com' is not github.com" in message
    assert "github.api_url" in message


def test_an_issue_url_on_a_host_other_than_the_enterprise_one_is_rejected() -> None:
    message = github_error("https://ghe.other.io/octo/app/issues/3", web_host="ghe.acme.io")
    assert "'ghe.other.io' is neither github.com nor the configured ghe.acme.io" in message


def test_a_jira_link_in_the_github_header_says_where_it_belongs() -> None:
    message = github_error("https://acme.atlassian.net/browse/PROJ-2")
    assert "Jira Issues" in message


def test_hash_n_without_any_repository_explains_the_three_fixes() -> None:
    message = github_error("#10", repo=None)
    assert message.startswith(f"{WHERE}: '#10' needs a repository")
    assert "**GitHub Repo:** owner/name" in message
    assert "github.repo" in message
    assert "owner/name#10" in message


def test_a_url_with_credentials_is_rejected_without_echoing_them() -> None:
    secret = "ghp_plan1SecretValue0123456789"
    message = github_error(f"https://someone:{secret}@github.com/octo/app/issues/3")
    assert secret not in message
    assert "someone" not in message
    assert "https://github.com/octo/app/issues/3" in message


def test_a_registered_secret_is_scrubbed_even_inside_a_bad_token() -> None:
    secret = "ghp_registeredSecret987654321"
    register_secret(secret)
    assert secret not in github_error(f"#{secret}")


def test_a_huge_or_unprintable_token_is_shortened_in_the_message() -> None:
    message = github_error("x" * 5000)
    assert len(message) < 400
    assert "\x1b" not in github_error("#1\x1b[31m")


# ------------------------------------------------------------------ GitHub Repo value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("octo/app", "octo/app"),
        ("  acme-shop/storefront ", "acme-shop/storefront"),
        ("https://github.com/octo/app", "octo/app"),
        ("https://github.com/octo/app.git", "octo/app"),
        ("https://ghe.acme.io/platform/api/", "platform/api"),
    ],
)
def test_github_repo_values(text: str, expected: str) -> None:
    assert parse_github_repo(text, web_host="ghe.acme.io", where=WHERE) == expected


@pytest.mark.parametrize(
    "text", ["octo", "octo/app/x", "octo/app#1", "https://gitlab.com/octo/app", "octo app"]
)
def test_bad_github_repo_values_name_the_line(text: str) -> None:
    with pytest.raises(PlanError, match=rf"^{WHERE}: bad GitHub repository"):
        parse_github_repo(text, web_host="github.com", where=WHERE)


# ------------------------------------------------------------------------------ Jira


def test_jira_keys_and_browse_urls_parse_in_order() -> None:
    refs = parse_jira_refs("PROJ-1, https://acme.atlassian.net/browse/PROJ-2", where=WHERE)
    assert refs == [JiraRef("PROJ-1"), JiraRef("PROJ-2")]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("PAY-1180", "PAY-1180"),
        ("MY_PROJ2-9", "MY_PROJ2-9"),
        ("proj-1", "PROJ-1"),  # Jira treats keys case-insensitively: normalised
        ("Proj-12", "PROJ-12"),
        ("https://acme.atlassian.net/browse/PROJ-2", "PROJ-2"),
        ("https://acme.atlassian.net/browse/proj-2/", "PROJ-2"),
        ("https://acme.atlassian.net/browse/PROJ-2?focusedCommentId=10", "PROJ-2"),
        ("https://jira.acme.io/jira/browse/OPS-77", "OPS-77"),  # Server with a context path
        ("[PROJ-3](https://acme.atlassian.net/browse/PROJ-3)", "PROJ-3"),
    ],
)
def test_every_jira_spelling_is_understood(text: str, key: str) -> None:
    assert parse_jira_refs(text, where=WHERE) == [JiraRef(key)]


@pytest.mark.parametrize("token", ["PROJ", "PROJ-", "PROJ-0", "PROJ-007", "1PROJ-1", "-1", "#12"])
def test_bad_jira_keys_name_the_file_line_and_token(token: str) -> None:
    message = jira_error(f"PROJ-1 {token}")
    assert message.startswith(f"{WHERE}: bad Jira issue reference '{token}'")
    assert "PROJ-12" in message  # the hint shows a valid key


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.atlassian.net/jira/software/projects/PROJ/boards/1",
        "https://acme.atlassian.net/browse/PROJ",
        "https://acme.atlassian.net/browse/",
        "https://acme.atlassian.net/PROJ-2",
        "https://github.com/octo/app/issues/1",
    ],
)
def test_jira_urls_other_than_browse_key_are_rejected(url: str) -> None:
    message = jira_error(url)
    assert message.startswith(f"{WHERE}: bad Jira issue reference '{url}'")
    assert "/browse/PROJ-12" in message


def test_jira_url_host_is_free_when_no_site_is_configured() -> None:
    assert parse_jira_refs("https://anything.example/browse/AB-1", where=WHERE) == [JiraRef("AB-1")]


def test_jira_url_host_must_be_the_configured_site_when_one_is_given() -> None:
    hosts = ("acme.atlassian.net",)
    ok = parse_jira_refs("https://ACME.atlassian.net/browse/AB-1", where=WHERE, hosts=hosts)
    assert ok == [JiraRef("AB-1")]
    message = jira_error("https://evil.example/browse/AB-1", hosts=hosts)
    assert "not the configured Jira site (acme.atlassian.net)" in message


def test_jira_url_with_credentials_never_echoes_them() -> None:
    message = jira_error("https://bob:hunter2secret@acme.atlassian.net/browse/AB-1")
    assert "hunter2secret" not in message


def test_empty_jira_value_links_nothing() -> None:
    assert parse_jira_refs("", where=WHERE) == []
    assert parse_jira_refs("none", where=WHERE) == []
