"""`debussy demo --serve`: a live sandbox to explore by hand, stopped cleanly by a signal."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from debussy import demo
from tests.e2e.conftest import PYTHON_M_DEBUSSY, REAL_LOOKING_SECRETS, debussy_json, read_until
from tests.sandbox_project import DEBUSSY_SCRIPT


@contextmanager
def running(
    program: Sequence[str], *args: str, env: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*program, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def exported(lines: list[str]) -> dict[str, str]:
    """The variables of the ``export A=1 B=2`` line the demo prints."""
    [line] = [line for line in lines if line.strip().startswith("export ")]
    pairs = line.split()[1:]
    return dict(pair.split("=", 1) for pair in pairs)


def config_path(lines: list[str]) -> Path:
    [line] = [line for line in lines if line.strip().startswith("Config: ")]
    return Path(line.split("Config: ", 1)[1].strip())


def test_serve_alone_lays_out_the_drifted_project_and_stops_on_sigint(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    demo.write_marker(folder)  # a previous demo's folder ...
    (folder / ".debussy").mkdir()
    (folder / ".debussy" / "config.yaml").write_text("stale: true\n")
    (folder / "mine.txt").write_text("kept")  # ... where the user left a file of their own
    seen: list[str] = []
    with running(
        (str(DEBUSSY_SCRIPT),), "demo", "--serve", "--dir", str(folder), env=REAL_LOOKING_SECRETS
    ) as process:
        assert process.stdout is not None
        url = read_until(process.stdout, "Sandbox tracker (GitHub + Jira) on ", seen).split()[-1]
        read_until(process.stdout, "Press Ctrl-C", seen)
        env = exported(seen)
        assert config_path(seen) == folder.resolve() / ".debussy" / "config.yaml"

        dashboard = debussy_json("status", "--issues", "--json", cwd=folder, env=env)

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "$ debussy" not in "".join(seen) + out, "--serve alone leaves the steps to the user"
    drifted = {
        issue["key"]: issue["drift"][0]["type"] for issue in dashboard["issues"] if issue["drift"]
    }
    assert drifted == demo.FIRST_LOOK_DRIFT, "the hand changes are there to explore"
    assert {issue["source"] for issue in dashboard["issues"]} == {"fresh"}
    assert env == {
        "DEBUSSY_DEMO_GITHUB_TOKEN": "sandbox-github-token",
        "DEBUSSY_DEMO_JIRA_EMAIL": "demo@example.com",
        "DEBUSSY_DEMO_JIRA_TOKEN": "sandbox-jira-token",
    }
    for secret in REAL_LOOKING_SECRETS.values():
        assert secret not in "".join(seen) + out + err
    assert (folder / "mine.txt").read_text() == "kept"
    assert "stale" not in (folder / ".debussy" / "config.yaml").read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=5)


def test_serve_with_steps_serves_the_reconciled_project_until_sigterm(tmp_path: Path) -> None:
    seen: list[str] = []
    with running(
        PYTHON_M_DEBUSSY, "demo", "--serve", "--steps", env={"TMPDIR": str(tmp_path)}
    ) as process:
        assert process.stdout is not None
        read_until(process.stdout, "Press Ctrl-C", seen)
        root = config_path(seen).parent.parent
        dashboard = debussy_json(
            "status", "--issues", "--refresh", "--json", cwd=root, env=exported(seen)
        )

        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert dashboard["drift_count"] == 0
    assert {issue["source"] for issue in dashboard["issues"]} == {"fresh"}, "the sandbox is live"
    assert list(tmp_path.iterdir()) == [], "the temporary project goes when serving stops"


def test_ctrl_c_during_the_steps_stops_cleanly_with_130(tmp_path: Path) -> None:
    seen: list[str] = []
    with running(PYTHON_M_DEBUSSY, "demo", env={"TMPDIR": str(tmp_path)}) as process:
        assert process.stdout is not None
        read_until(process.stdout, "$ debussy sync", seen)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted" in err
    assert "Traceback" not in err
    assert "$ debussy sync --apply" not in out, "no further step starts"
    assert list(tmp_path.iterdir()) == []
