"""`debussy doctor` against the sandbox over real HTTP: one ✓/✗ line per check, exit 1 on any ✗,
and nothing changed anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from debussy.sandbox import SandboxTracker
from tests.sandbox_project import SandboxProject


def doctor(project: SandboxProject, *args: str) -> tuple[int, dict[str, dict]]:
    result = project.run("doctor", "--json", *args)
    document = json.loads(result.stdout)
    assert document["ok"] is (result.exit_code == 0)
    return result.exit_code, {check["name"]: check for check in document["checks"]}


def test_a_healthy_project_passes_every_check_and_changes_nothing(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    before = project.state_bytes()
    project.sandbox.clear_requests()

    result = project.ok("doctor")

    lines = result.stdout.splitlines()
    assert all(line.startswith(("✓ ", "All ")) for line in lines), result.stdout
    assert "✓ github.auth: signed in as" in result.stdout
    assert "✓ github.scopes: classic token, scopes: repo" in result.stdout
    assert "✓ github.repo: octo/app exists (may write issues)" in result.stdout
    assert "✓ jira.transitions.in_progress: 'In Progress' is a status in PROJ" in result.stdout
    assert lines[-1].startswith("All ")
    assert lines[-1].endswith("checks passed.")
    assert project.sandbox.request_count(writes_only=True) == 0
    assert project.state_bytes() == before
    assert not (project.root / ".debussy" / "cache.db").exists(), "doctor caches nothing"


def test_a_rejected_token_fails_with_the_fix_and_exit_1(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.env["GITHUB_TOKEN"] = "ghp_wrongwrongwrong"
    result = project.run("doctor")
    assert result.exit_code == 1
    assert "✗ github.auth: GitHub rejected the token from GITHUB_TOKEN (401)" in result.stdout
    assert "fix: replace the token in GITHUB_TOKEN" in result.stdout
    assert "ghp_wrongwrongwrong" not in result.output


def test_missing_scope_unknown_repo_and_unknown_transition_are_named(
    tmp_path: Path,
) -> None:
    with SandboxTracker(github_scopes="read:org") as sandbox:
        project = SandboxProject.wired(tmp_path, sandbox)
        project.write_config(transitions={"completed": "Shipped"})
        config = project.root / ".debussy" / "config.yaml"
        config.write_text(config.read_text().replace("repo: octo/app", "repo: octo/nope"))
        code, checks = doctor(project)
    assert code == 1
    assert checks["github.scopes"]["ok"] is False
    assert "read:org" in checks["github.scopes"]["detail"]
    assert checks["github.repo"]["detail"] == "octo/nope not found (or the token cannot see it)"
    assert checks["jira.transitions.completed"]["ok"] is False
    assert "Done" in checks["jira.transitions.completed"]["fix"]
    assert checks["jira.transitions.in_progress"]["ok"] is True


def test_a_fine_grained_token_is_judged_by_the_repository(tmp_path: Path) -> None:
    with SandboxTracker(github_scopes=None) as sandbox:
        project = SandboxProject.wired(tmp_path, sandbox)
        code, checks = doctor(project)
    assert code == 0
    assert checks["github.scopes"]["detail"].startswith("fine-grained token")


def test_an_unreachable_tracker_and_missing_credentials(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    del project.env["JIRA_API_TOKEN"]
    project.sandbox.stop()
    code, checks = doctor(project)
    assert code == 1
    assert checks["github.reachable"]["ok"] is False
    assert "check github.api_url" in checks["github.reachable"]["fix"]
    assert checks["jira.credentials"]["ok"] is False
    assert "JIRA_API_TOKEN" in checks["jira.credentials"]["detail"]


def test_a_bad_config_is_one_failed_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".debussy").mkdir()
    (tmp_path / ".debussy" / "config.yaml").write_text("github: {colour: red}\n")
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    from debussy.cli import cli

    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "✗ config:" in result.stdout
    assert "unknown key 'github.colour'" in result.stdout
