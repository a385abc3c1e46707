"""Detecting ``owner/name`` from the ``origin`` remote without running git."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from debussy.plans import origin_repo, repo_from_remote_url
from debussy.plans.git_remote import find_git_config, parse_git_config


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
