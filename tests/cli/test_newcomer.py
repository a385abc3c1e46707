"""What a newcomer ran into on a fresh clone (issue 25), each checked as a user meets it:
warnings worded as warnings, tokens hints naming what is read, clocks that add up,
a phase file deleted mid-run, a damaged state file."""

from __future__ import annotations

import pytest

from tests.sandbox_project import SandboxProject


@pytest.fixture
def started(sandbox_project: SandboxProject) -> SandboxProject:
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    return sandbox_project


def test_a_cache_warning_starts_with_warning(started: SandboxProject) -> None:
    blocked = started.root / ".debussy" / "cache.db"
    blocked.mkdir()  # a folder where the cache file should be: it cannot be used
    result = started.run("status", "--issues")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stderr.splitlines() if "cache" in line]
    assert line.startswith(f"Warning: cache: cannot use {blocked}"), result.stderr
    assert "continuing without the cache" in line


def test_start_force_over_delivered_issues_warns_once(started: SandboxProject) -> None:
    for phase in ("1", "2", "3"):
        started.ok("phase", "done", phase)
    result = started.run("start", "--force", "plans/MASTER_PLAN.md")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "--force" in line]
    assert warnings == [
        "Warning: --force given: starting anyway although 8 linked issues were already delivered"
    ]


def test_a_loopback_token_hint_names_only_the_variable_read(started: SandboxProject) -> None:
    config = started.root / ".debussy" / "config.yaml"
    config.write_text(
        config.read_text().replace("github:\n", "github:\n  token_env: SANDBOX_GH_TOKEN\n", 1)
    )
    result = started.run("phase", "start", "1")  # GITHUB_TOKEN is set, but never read here
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "SANDBOX_GH_TOKEN" in line]
    assert lines, result.stderr
    line = "\n".join(lines)
    assert "set SANDBOX_GH_TOKEN to a GitHub token" in line, line
    assert "GH_TOKEN /" not in line
    assert "GITHUB_TOKEN" not in line


def test_a_deleted_phase_file_leaves_the_run_readable(started: SandboxProject) -> None:
    started.ok("phase", "start", "1")
    (started.root / "plans" / "phases" / "phase-2.md").unlink()  # its table row stays
    note = "phase file 'phases/phase-2.md' does not exist (restore it, or remove its row"
    for args in (("status",), ("status", "--issues"), ("history",)):
        result = started.run(*args)
        assert result.exit_code == 0, result.output
        [warning] = [line for line in result.stderr.splitlines() if "phase-2.md" in line]
        assert warning.startswith("Warning: "), warning
        assert note in warning, warning
        assert "as its plan was when last read" in warning
    assert started.phase_statuses()["1"] == "running"

    refused = started.run("phase", "done", "1")  # a change needs the plan as it is
    assert refused.exit_code == 1
    assert note in refused.stderr
    assert started.phase_statuses()["1"] == "running"


def test_a_state_db_truncated_a_moment_ago_is_refused_and_doctor_leaves_it(
    started: SandboxProject,
) -> None:
    folder = started.root / ".debussy"
    state = folder / "state.db"
    for extra in folder.glob("state.db-*"):
        extra.unlink()  # WAL files of the truncated database: gone with it
    state.write_bytes(b"")  # just now: no grace period can take this for a creation
    before = sorted(path.name for path in folder.iterdir())

    result = started.run("status")
    assert result.exit_code == 1
    assert f"{state} is empty (0 bytes)" in result.stderr
    doctor = started.run("doctor")
    assert doctor.exit_code == 1
    assert "is empty (0 bytes)" in doctor.stdout
    assert state.stat().st_size == 0, "not silently recreated"
    assert sorted(path.name for path in folder.iterdir()) == before


def test_the_demo_hints_a_command_the_shell_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """After `uv sync` the script is in .venv/bin, not on PATH: the hint must still work."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from debussy.demo import debussy_command

    monkeypatch.setenv("PATH", "/nonexistent")
    command = debussy_command()
    assert command != "debussy"
    assert Path(command.split()[0]).is_absolute()
    answer = subprocess.run(
        [*command.split(), "--version"], capture_output=True, text=True, check=False
    )
    assert answer.returncode == 0, answer.stderr

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert shutil.which("debussy") is not None
    assert debussy_command() == "debussy"


@pytest.mark.parametrize("command", [["phase", "fail"], ["phase", "block"], ["done"]])
def test_reason_help_says_where_the_reason_goes(command: list[str]) -> None:
    from click.testing import CliRunner

    from debussy.cli import cli

    text = " ".join(CliRunner().invoke(cli, [*command, "--help"]).stdout.split())
    assert (
        "--reason R Why: recorded (shown by `debussy status`), and written as a comment on "
        "the phase's linked issues." in text
    )


def test_history_events_lists_each_status_change_of_the_runs_phases(
    started: SandboxProject,
) -> None:
    import json

    started.ok("phase", "start", "1")
    started.ok("phase", "block", "1", "--reason", "waiting for keys")
    started.ok("phase", "start", "1")
    started.backdate_phases()
    for number in (10,):
        started.sandbox.close_issue("octo/app", number)
    started.sandbox.close_issue("octo/lib", 7)
    started.ok("sync", "--apply")  # the trackers complete phase 1

    document = json.loads(started.ok("history", "--events", "--json").stdout)
    assert [
        (e["phase"], e["from"], e["to"], e["reason"], e["source"]) for e in document["events"]
    ] == [
        ("1", "pending", "running", None, "cli"),
        ("1", "running", "blocked", "waiting for keys", "cli"),
        ("1", "blocked", "running", None, "cli"),
        ("1", "running", "completed", None, "sync"),
    ]
    text = started.ok("history", "--events").stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert any(
        line.endswith("1 running → blocked waiting for keys phase command") for line in lines
    )
    assert any(line.endswith("1 running → completed sync") for line in lines), text

    only = json.loads(started.ok("history", "--events", "--json", "--phase", "2").stdout)
    assert only["events"] == []
    assert started.run("history", "--events", "--phase", "9").exit_code == 1
    assert started.run("history", "--phase", "1").exit_code == 2
