"""The foundation commands as a user runs them: init, start, phase events, status, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from debussy.cli import cli

PLAN = """\
# Checkout revamp

**GitHub Repo:** octo/app
**GitHub Issues:** #1
**Jira Issues:** PROJ-1

| Phase | Title | Status |
|---|---|---|
| 1 | [Cart model](phases/phase-1.md) | Pending |
| 2 | [Payment step](phases/phase-2.md) | Pending |
| 3 | [Rollout](phases/phase-3.md) | Pending |
"""

OFFLINE_CONFIG = "github:\n  enabled: false\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose trackers are switched off: these tests are about local state."""
    (tmp_path / ".debussy").mkdir()
    (tmp_path / ".debussy" / "config.yaml").write_text(OFFLINE_CONFIG)
    phases = tmp_path / "plans" / "phases"
    phases.mkdir(parents=True)
    (tmp_path / "plans" / "MASTER_PLAN.md").write_text(PLAN)
    (phases / "phase-1.md").write_text("# Cart model\n\n**GitHub Issues:** #10, octo/lib#7\n")
    (phases / "phase-2.md").write_text("# Payment step\n\n**Jira Issues:** PROJ-2\n")
    (phases / "phase-3.md").write_text("# Rollout\n\n**GitHub Issues:** #12\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def status_json() -> dict:
    return json.loads(ok("status", "--json").stdout)


def test_init_writes_a_commented_config_with_the_origin_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = git@github.com:octo/shop.git\n'
    )
    monkeypatch.chdir(tmp_path)
    ok("init")
    text = (tmp_path / ".debussy" / "config.yaml").read_text()
    assert "repo: octo/shop" in text
    assert "#" in text, "the config explains itself"
    assert "!config.yaml" in (tmp_path / ".debussy" / ".gitignore").read_text()
    assert "    pending: null" in text, "every jira.transitions key is in the template"


def test_after_init_and_the_first_commands_git_sees_only_the_users_files(
    project: Path,
) -> None:
    """What the commands write in .debussy/ (databases, the config snapshot) stays out of git."""
    import subprocess

    (project / ".debussy" / "config.yaml").unlink()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    ok("init")
    (project / ".debussy" / "config.yaml").write_text(OFFLINE_CONFIG)
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "1")
    ok("status")
    ok("status", "--issues")
    ok("history")
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", ".debussy"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listed[1::2]) == [".debussy/.gitignore", ".debussy/config.yaml"]
    assert (project / ".debussy" / "config.snapshot.json").exists(), "a file git must not see"


def test_init_replaces_the_old_gitignore_but_keeps_an_edited_one(project: Path) -> None:
    gitignore = project / ".debussy" / ".gitignore"
    gitignore.write_text(
        "# Local state: not for version control (config.yaml is).\nstate.db*\ncache.db*\n"
    )
    ok("init", "--force")
    assert "!config.yaml" in gitignore.read_text()
    gitignore.write_text("state.db*\n")
    ok("init", "--force")
    assert gitignore.read_text() == "state.db*\n"


def test_init_never_overwrites_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ok("init")
    config = tmp_path / ".debussy" / "config.yaml"
    config.write_text("cache: {ttl_seconds: 1}\n")
    refused = run("init")
    assert refused.exit_code == 1
    assert "already exists" in refused.stderr
    assert config.read_text() == "cache: {ttl_seconds: 1}\n"
    ok("init", "--force")
    assert "ttl_seconds: 300" in config.read_text()


def test_the_initialised_config_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from debussy.config import load_config

    monkeypatch.chdir(tmp_path)
    ok("init")
    config = load_config(tmp_path)
    assert config.github.enabled
    assert not config.jira.active


def test_start_records_the_run_with_phases_and_linked_issues(project: Path) -> None:
    result = ok("start", "plans/MASTER_PLAN.md")
    assert "3 phases, 6 linked issues" in result.stdout
    document = status_json()
    assert document["schema_version"] == 1
    assert document["run"]["plan"] == "plans/MASTER_PLAN.md"
    assert document["run"]["status"] == "running"
    assert document["run"]["issues"] == ["GH-1", "PROJ-1"]
    assert [(p["id"], p["status"], p["issues"]) for p in document["phases"]] == [
        ("1", "pending", ["GH-10", "GH octo/lib#7"]),
        ("2", "pending", ["PROJ-2"]),
        ("3", "pending", ["GH-12"]),
    ]


def test_commands_work_from_a_subfolder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project / "plans" / "phases")
    ok("start", "../MASTER_PLAN.md")
    assert status_json()["run"]["plan"] == "plans/MASTER_PLAN.md"


def test_phases_move_through_their_lifecycle_until_the_run_completes(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    assert "pending → running" in ok("phase", "start", "1").stdout
    ok("phase", "done", "1")
    ok("phase", "block", "2", "--reason", "waiting for PSP sandbox keys")
    ok("phase", "fail", "3", "--reason", "smoke tests red")
    phases = {p["id"]: p for p in status_json()["phases"]}
    assert phases["1"]["status"] == "completed"
    assert (phases["2"]["status"], phases["2"]["reason"]) == (
        "blocked",
        "waiting for PSP sandbox keys",
    )
    assert phases["3"]["status"] == "failed"
    ok("done", "--phase", "2")
    finished = ok("done", "--phase", "3", "--status", "completed")
    assert "completed" in finished.stdout
    assert "recorded feature 'Checkout revamp'" in finished.stdout
    document = status_json()
    assert document["run"]["status"] == "completed"
    assert document["run"]["completed_at"] is not None


def test_done_alias_accepts_failed_and_blocked(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("done", "--phase", "1", "--status", "failed", "--reason", "flaky")
    assert status_json()["phases"][0]["status"] == "failed"
    assert run("done", "--phase", "1", "--status", "running").exit_code == 2


def test_status_text_shows_the_run_and_each_phase(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "2")
    text = ok("status").stdout
    assert "Checkout revamp" in text
    assert "0/3 phases completed" in text
    assert "Payment step" in text
    assert "running" in text
    assert "\x1b[" not in text, "no colour codes when piped"


def test_a_removed_phase_whose_number_is_reused_shows_that_number(project: Path) -> None:
    """Phase 2 leaves the plan and phase 3 becomes 2: the old 2 is set aside internally, and
    status, status --json and later change notes still call it phase 2."""
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "start", "2")
    master = project / "plans" / "MASTER_PLAN.md"
    master.write_text(
        PLAN.replace("| 2 | [Payment step](phases/phase-2.md) | Pending |\n", "").replace(
            "| 3 | [Rollout]", "| 2 | [Rollout]"
        )
    )
    document = status_json()
    assert [(p["id"], p["title"], p["status"]) for p in document["phases"]] == [
        ("1", "Cart model", "pending"),
        ("2", "Rollout", "pending"),
        ("2", "Payment step", "removed"),
    ]
    text = ok("status").stdout
    assert "~" not in text
    assert "Payment step" in text

    master.write_text(
        PLAN.replace("| 2 | [Payment", "| 4 | [Payment").replace("| 3 | [", "| 2 | [")
    )
    followed = run("history", "--json")
    assert followed.exit_code == 0, followed.output
    assert "phase 2 → 4 'Payment step'" in followed.stderr
    assert "~" not in followed.stderr + followed.stdout


def test_history_lists_runs_newest_first(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    ok("phase", "done", "1")
    second = ok("start", "plans/MASTER_PLAN.md", "--force")
    assert second.exit_code == 0
    document = json.loads(ok("history", "--json").stdout)
    assert [r["phases_completed"] for r in document["runs"]] == [0, 1]
    assert document["runs"][0]["title"] == "Checkout revamp"
    assert "Checkout revamp" in ok("history").stdout


def test_run_option_selects_an_older_run(project: Path) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    first = status_json()
    ok("start", "plans/MASTER_PLAN.md", "--force")  # the first run is still running
    ok("phase", "start", "1", "--run", first["run"]["id"])
    document = json.loads(ok("status", "--json", "--run", first["run"]["id"]).stdout)
    assert document["phases"][0]["status"] == "running"
    assert status_json()["phases"][0]["status"] == "pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("phase", "done", "9"), "has no phase '9' (phases: 1, 2, 3)"),
        (("status", "--run", "nope"), "no run with id 'nope'"),
        (("start", "plans/MISSING.md"), "MISSING.md"),
    ],
)
def test_errors_are_one_line_with_exit_code_1(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    ok("start", "plans/MASTER_PLAN.md")
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_bad_issue_reference_names_the_file_and_line(project: Path) -> None:
    (project / "plans" / "phases" / "phase-3.md").write_text(
        "# Rollout\n\n**GitHub Issues:** #12, #abc\n"
    )
    result = run("start", "plans/MASTER_PLAN.md")
    assert result.exit_code == 1
    assert "phase-3.md:3" in result.stderr
    assert "#abc" in result.stderr


def test_malformed_config_is_one_line(project: Path) -> None:
    (project / ".debussy" / "config.yaml").write_text("github: {enabled: false, colour: red}\n")
    result = run("start", "plans/MASTER_PLAN.md")
    assert result.exit_code == 1
    assert "unknown key 'github.colour'" in result.stderr


def test_outside_a_project_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("status")
    assert result.exit_code == 1
    assert "debussy init" in result.stderr


def test_usage_errors_exit_2(project: Path) -> None:
    assert run("phase", "done").exit_code == 2
    assert run("status", "--refresh").exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_help_lists_every_command_of_the_contract() -> None:
    text = ok("--help").stdout
    listed = {
        line.split()[0] for line in text.split("Commands:", 1)[1].splitlines() if line.strip()
    }
    assert listed == {
        "init",
        "start",
        "phase",
        "done",
        "status",
        "sync",
        "history",
        "doctor",
        "demo",
    }
