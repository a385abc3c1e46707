"""A read-only `.debussy/` (a CI cache restored read-only, a shared checkout): commands that only
read work, and a write that is refused names the file and the permission to fix.

The folder is made truly read-only: a read-only bind mount when the tests run as root (CI
does, and root ignores file modes), `chmod` otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.sandbox_project import SandboxProject


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mount = shutil.which("mount")
    bound = mount is not None and (
        subprocess.run([mount, "--bind", str(folder), str(folder)], check=False).returncode == 0
    )
    if not bound:
        pytest.skip("running as root without permission to mount: cannot make a folder read-only")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(folder)], check=False
        ).returncode
        if remounted != 0:
            pytest.skip("cannot remount read-only here")
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def looked_at(sandbox_project: SandboxProject) -> SandboxProject:
    """A run whose issues were just fetched, so the cache can answer."""
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    sandbox_project.ok("phase", "start", "1")
    sandbox_project.ok("status", "--issues")
    return sandbox_project


def test_reading_commands_work_on_a_read_only_folder(looked_at: SandboxProject) -> None:
    project = looked_at
    folder = project.root / ".debussy"
    before = sorted(path.name for path in folder.iterdir())
    project.sandbox.clear_requests()
    with read_only(folder):
        status = project.subprocess("status", "--json")
        history = project.subprocess("history")
        dashboard = project.subprocess("status", "--issues", "--json")
        doctor = project.subprocess("doctor")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["phases"][0]["status"] == "running"
    assert history.returncode == 0, history.stderr
    assert dashboard.returncode == 0, dashboard.stderr
    document = json.loads(dashboard.stdout)
    assert {issue["source"] for issue in document["issues"]} == {"cache"}
    assert document["cache"]["requests"] == 0
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert sorted(path.name for path in folder.iterdir()) == before


def test_a_refused_write_names_the_file_and_the_permission(looked_at: SandboxProject) -> None:
    project = looked_at
    folder = project.root / ".debussy"
    with read_only(folder):
        result = project.subprocess("phase", "done", "1")
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(f"Error: {folder / 'state.db'}: cannot save the change:")
    assert "write permission" in message
    assert "Traceback" not in result.stderr
    assert message.count("\n") == 0
    assert project.phase_statuses()["1"] == "running", "nothing was half-written"


def test_init_force_in_a_read_only_folder_gives_the_read_only_message(
    looked_at: SandboxProject,
) -> None:
    project = looked_at
    folder = project.root / ".debussy"
    config = (folder / "config.yaml").read_text()
    with read_only(folder):
        result = project.run("init", "--force")
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message == (
        f"Error: {folder / 'config.yaml'}: cannot write the config: {folder} is read-only for "
        f"this user; give it write permission (e.g. chmod u+w {folder}) or run as its owner"
    )
    assert (folder / "config.yaml").read_text() == config


def test_a_refreshed_look_at_a_read_only_folder_is_a_read(looked_at: SandboxProject) -> None:
    project = looked_at
    folder = project.root / ".debussy"
    with read_only(folder):
        result = project.run("status", "--issues", "--refresh")
    assert result.exit_code == 0, result.output
    assert "cannot save" not in result.stderr
    assert "GH-10" in result.stdout
