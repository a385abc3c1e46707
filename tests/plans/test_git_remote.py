"""Detecting ``owner/name`` from the ``origin`` remote without running git."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from debussy.cli import cli
from debussy.config import load_config
from debussy.plans import origin_repo, repo_from_remote_url
from debussy.plans.git_remote import find_git_config, origin_remote, parse_git_config


def make_repo(root: Path, config: str) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text(textwrap.dedent(config), encoding="utf-8")
    return root


STANDARD_CONFIG = """\
    [core]
    \trepositoryformatversion = 0
    \tfilemode = true
    \tbare = false
    [remote "origin"]
    \turl = {url}
    \tfetch = +refs/heads/*:refs/remotes/origin/*
    [branch "main"]
    \tremote = origin
    \tmerge = refs/heads/main
    """


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:octo/app.git",
        "git@github.com:octo/app",
        "git@github.com:/octo/app.git",
        "github.com:octo/app.git",
        "https://github.com/octo/app.git",
        "https://github.com/octo/app",
        "https://github.com/octo/app/",
        "http://github.com/octo/app.git",
        "https://x-access-token:ghs_secretTokenValue123@github.com/octo/app.git",
        "https://alice@github.com/octo/app.git",
        "ssh://git@github.com/octo/app.git",
        "ssh://git@ghe.acme.io:2222/octo/app.git",
        "git://github.com/octo/app.git",
        "git+ssh://git@github.com/octo/app.git",
    ],
)
def test_remote_url_forms(url: str) -> None:
    assert repo_from_remote_url(url) == "octo/app"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/srv/git/app.git",
        "../app",
        "file:///srv/git/octo/app.git",
        "https://gitlab.com/group/subgroup/app.git",
        "https://github.com/octo",
        "ssh://git@host/~alice/app.git",
        "https://[::1/octo/app",
        "C:\\repos\\app",
    ],
)
def test_urls_that_do_not_name_owner_and_repo(url: str) -> None:
    assert repo_from_remote_url(url) is None


def test_origin_from_a_plain_checkout(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="git@github.com:acme-shop/storefront.git"))
    assert origin_repo(tmp_path) == "acme-shop/storefront"


def test_origin_found_from_a_nested_folder_and_from_a_file(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="https://github.com/octo/app.git"))
    deep = tmp_path / "docs" / "plans" / "search"
    deep.mkdir(parents=True)
    (deep / "MASTER_PLAN.md").write_text("# Plan\n", encoding="utf-8")
    assert origin_repo(deep) == "octo/app"
    assert origin_repo(deep / "MASTER_PLAN.md") == "octo/app"


def test_credentials_in_the_remote_url_never_come_back(tmp_path: Path) -> None:
    url = "https://x-access-token:ghs_ciCheckoutToken0123456789@github.com/octo/app.git"
    make_repo(tmp_path, STANDARD_CONFIG.format(url=url))
    assert origin_repo(tmp_path) == "octo/app"


def test_worktree_git_file_with_commondir(tmp_path: Path) -> None:
    main = make_repo(tmp_path / "main", STANDARD_CONFIG.format(url="git@github.com:octo/app.git"))
    worktree_git = main / ".git" / "worktrees" / "feature"
    worktree_git.mkdir(parents=True)
    (worktree_git / "commondir").write_text("../..\n", encoding="utf-8")
    checkout = tmp_path / "feature-checkout"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree_git}\n", encoding="utf-8")
    assert origin_repo(checkout / "missing-subfolder") == "octo/app"


def test_submodule_git_file_with_relative_gitdir(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="git@github.com:octo/app.git"))
    module_git = tmp_path / ".git" / "modules" / "vendor-sdk"
    module_git.mkdir(parents=True)
    (module_git / "config").write_text(
        '[remote "origin"]\n\turl = https://github.com/octo/sdk.git\n', encoding="utf-8"
    )
    submodule = tmp_path / "vendor" / "sdk"
    submodule.mkdir(parents=True)
    (submodule / ".git").write_text("gitdir: ../../.git/modules/vendor-sdk\n", encoding="utf-8")
    assert origin_repo(submodule) == "octo/sdk"


def test_nearest_repository_wins_even_without_origin(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="git@github.com:octo/app.git"))
    make_repo(tmp_path / "nested", '[remote "upstream"]\n\turl = git@github.com:octo/other.git\n')
    assert origin_repo(tmp_path / "nested") is None


def test_no_repository_at_all(tmp_path: Path) -> None:
    if find_git_config(tmp_path) is not None:
        pytest.skip("the temporary folder is inside a git checkout")
    assert origin_repo(tmp_path) is None


def test_broken_git_file_and_missing_config(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".git").write_text("not a gitdir line\n", encoding="utf-8")
    assert origin_repo(tmp_path / "a") is None
    (tmp_path / "b" / ".git").mkdir(parents=True)
    assert origin_repo(tmp_path / "b") is None


def test_local_path_origin_is_not_a_github_repo(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="/srv/git/app.git"))
    assert origin_repo(tmp_path) is None


def test_insteadof_rewrites_are_applied_longest_first(tmp_path: Path) -> None:
    config = """\
        [url "git@github.com:"]
        \tinsteadOf = gh:
        [url "git@github.com:acme-shop/"]
        \tinsteadOf = gh:acme/
        [remote "origin"]
        \turl = gh:acme/storefront
        """
    make_repo(tmp_path, config)
    assert origin_repo(tmp_path) == "acme-shop/storefront"


@pytest.mark.parametrize(
    "config",
    [
        '[remote "origin"]\n\turl = "git@github.com:octo/app.git" ; set by clone\n',
        '[remote "origin"]\n\turl = git@github.com:octo/app.git # mirror\n',
        "[remote.origin]\n    url = https://github.com/octo/app\n",
        '[Remote "origin"]\n\tURL = https://github.com/octo/app\n',
        '# comment\n; another\n[remote "origin"] url = https://github.com/octo/app\n',
        '[remote "origin"]\n\turl = https://github.com/\\\n\t\tocto/app.git\n',
        '[remote "origin"]\n\turl = https://github.com/octo/app\n\turl = https://github.com/x/y\n',
    ],
)
def test_git_config_syntax(tmp_path: Path, config: str) -> None:
    make_repo(tmp_path, config)
    assert origin_repo(tmp_path) == "octo/app"


def test_subsection_names_are_case_sensitive() -> None:
    config = parse_git_config('[remote "Origin"]\n\turl = https://github.com/octo/app\n')
    assert ("remote", "origin") not in config
    assert config[("remote", "Origin")]["url"] == ["https://github.com/octo/app"]


def test_config_escapes_and_valueless_keys() -> None:
    config = parse_git_config('[core]\n\tbare\n\tname = "a \\"quoted\\" \\\\ value"\n')
    assert config[("core", None)] == {"bare": ["true"], "name": ['a "quoted" \\ value']}


def test_undecodable_config_does_not_crash(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_bytes(
        b'[remote "origin"]\n\turl = https://github.com/octo/app\n\tname = \xff\xfe\n'
    )
    assert origin_repo(tmp_path) == "octo/app"


# --- which host: github.com, GitHub Enterprise, or not GitHub at all (issue #15, case 9) ------


@pytest.mark.parametrize(
    ("url", "host", "kind", "repo", "api_url"),
    [
        ("git@github.com:octo/app.git", "github.com", "github", "octo/app", None),
        ("ssh://git@ssh.github.com:443/octo/app.git", "ssh.github.com", "github", "octo/app", None),
        (
            "https://ghe.example.com/octo/app.git",
            "ghe.example.com",
            "enterprise",
            "octo/app",
            "https://ghe.example.com/api/v3",
        ),
        (
            "git@ghe.example.com:octo/app.git",
            "ghe.example.com",
            "enterprise",
            "octo/app",
            "https://ghe.example.com/api/v3",
        ),
        (
            "ssh://git@ghe.acme.io:2222/octo/app.git",
            "ghe.acme.io",
            "enterprise",
            "octo/app",
            "https://ghe.acme.io/api/v3",
        ),
        (
            "https://ghe.example.com:8443/octo/app.git",
            "ghe.example.com:8443",
            "enterprise",
            "octo/app",
            "https://ghe.example.com:8443/api/v3",
        ),
        (
            "https://octo.ghe.com/octo/app.git",
            "octo.ghe.com",
            "enterprise",
            "octo/app",
            "https://api.octo.ghe.com",
        ),
        ("git@gitlab.com:octo/app.git", "gitlab.com", "other", None, None),
        ("https://bitbucket.org/octo/app.git", "bitbucket.org", "other", None, None),
        ("https://gitlab.example.com/octo/app.git", "gitlab.example.com", "other", None, None),
        ("git@ssh.dev.azure.com:v3/org/proj/app", "ssh.dev.azure.com", "other", None, None),
    ],
)
def test_origin_host_kind_and_enterprise_api(
    tmp_path: Path, url: str, host: str, kind: str, repo: str | None, api_url: str | None
) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url=url))
    origin = origin_remote(tmp_path)
    assert origin is not None
    assert (origin.host, origin.kind, origin.repo, origin.api_url) == (host, kind, repo, api_url)
    assert origin_repo(tmp_path) == repo, "#N never means a repository on GitLab or Bitbucket"


def init_in(folder: Path) -> tuple[str, str]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, ["init"])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    return result.stdout, (folder / ".debussy" / "config.yaml").read_text()


@pytest.mark.parametrize(
    "url", ["https://ghe.example.com/octo/app.git", "git@ghe.example.com:octo/app.git"]
)
def test_init_on_an_enterprise_origin_writes_its_api_url_and_says_so(
    tmp_path: Path, url: str
) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url=url))

    output, text = init_in(tmp_path)

    config = load_config(tmp_path)
    assert config.github.repo == "octo/app"
    assert config.github.api_url == "https://ghe.example.com/api/v3"
    assert config.github.graphql_url == "https://ghe.example.com/api/graphql"
    assert "Detected origin on GitHub Enterprise at ghe.example.com." in output
    assert "Wrote github.repo: octo/app" in output
    assert "Wrote github.api_url: https://ghe.example.com/api/v3" in output
    assert "# GitHub Enterprise" in text, "the comments stay"


@pytest.mark.parametrize(
    ("url", "host"),
    [("git@gitlab.com:octo/app.git", "gitlab.com"), ("https://bitbucket.org/o/a", "bitbucket.org")],
)
def test_init_on_a_host_that_is_not_github_sets_no_repo(
    tmp_path: Path, url: str, host: str
) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url=url))

    output, _ = init_in(tmp_path)

    config = load_config(tmp_path)
    assert config.github.repo is None
    assert config.github.api_url == "https://api.github.com"
    assert f"origin is on {host}, which is not GitHub: github.repo left empty." in output


def test_init_on_github_com_keeps_the_public_api(tmp_path: Path) -> None:
    make_repo(tmp_path, STANDARD_CONFIG.format(url="git@github.com:octo/app.git"))
    output, _ = init_in(tmp_path)
    assert load_config(tmp_path).github.api_url == "https://api.github.com"
    assert "Detected origin on github.com." in output
    assert "api_url" not in output
