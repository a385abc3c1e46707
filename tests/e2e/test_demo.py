"""`debussy demo` end to end: the installed command, judged by what it leaves behind."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import httpx
import pytest

from debussy import demo
from tests.e2e.conftest import (
    PYTHON_M_DEBUSSY,
    REAL_LOOKING_SECRETS,
    debussy,
    debussy_json,
    read_until,
)

STEP_COMMANDS = [
    "$ debussy status --issues",
    "$ debussy sync",
    "$ debussy sync --apply",
    "$ debussy sync --direction to-tracker --apply",
    "$ debussy status --issues",
]


@pytest.fixture(scope="module")
def kept_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One full demo, kept with --dir, run with a developer's real-looking tokens exported."""
    folder = tmp_path_factory.mktemp("e2e") / "demo"
    result = debussy("demo", "--dir", str(folder), cwd=folder.parent, env=REAL_LOOKING_SECRETS)
    return result, folder


def test_the_demo_succeeds_and_leaves_the_reconciled_run_behind(
    kept_demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, folder = kept_demo
    assert result.returncode == 0, result.stdout + result.stderr
    status = debussy_json("status", "--json", cwd=folder)
    phases = {phase["id"]: (phase["status"], phase["reason"]) for phase in status["phases"]}
    assert phases == {
        "1": ("pending", None),
        "2": ("completed", None),
        "3": ("blocked", "GH-14 closed as not planned"),
        "4": ("completed", None),
    }


def test_after_the_demo_debussy_and_the_trackers_agree(
    kept_demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = kept_demo
    dashboard = debussy_json("status", "--issues", "--json", cwd=folder)
    assert dashboard["drift_count"] == 0
    assert dashboard["errors"] == []
    assert len(dashboard["issues"]) == len(demo.GITHUB_SEED) + len(demo.JIRA_SEED)
    assert {issue["source"] for issue in dashboard["issues"]} == {"cache"}, (
        "the sandbox is gone: the answers come from the cache the demo's syncs refreshed"
    )


def test_history_shows_both_syncs_applied(
    kept_demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, folder = kept_demo
    syncs = debussy_json("history", "--json", cwd=folder)["syncs"]
    assert [(s["direction"], s["applied"]) for s in syncs] == [
        ("to-tracker", True),
        ("from-tracker", True),
    ], "newest first; the dry run is not recorded"
    to_tracker, from_tracker = syncs
    assert sorted((a["phase"], a["to"]) for a in from_tracker["actions"]) == [
        ("1", "pending"),
        ("3", "blocked"),
        ("4", "completed"),
    ]
    assert to_tracker["results"], "to-tracker pushed labels"
    assert {r["outcome"] for r in to_tracker["results"]} == {"applied"}


def test_the_demo_runs_the_five_commands_in_order(
    kept_demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = kept_demo
    commands = [line for line in result.stdout.splitlines() if line.startswith("$ debussy")]
    assert commands == STEP_COMMANDS


def test_the_users_own_tokens_are_neither_sent_nor_printed_nor_stored(
    kept_demo: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, folder = kept_demo
    assert result.returncode == 0, "the sandbox rejects any credential but its own"
    stored = b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())
    for secret in REAL_LOOKING_SECRETS.values():
        assert secret not in result.stdout + result.stderr
        assert secret.encode() not in stored


def test_python_m_debussy_demo_cleans_up_its_temporary_project(tmp_path: Path) -> None:
    result = debussy("demo", cwd=tmp_path, env={"TMPDIR": str(tmp_path)}, program=PYTHON_M_DEBUSSY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "the temporary project folder is removed"


def test_dir_refuses_a_folder_that_is_not_a_previous_demo(tmp_path: Path) -> None:
    mine = tmp_path / "work"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    result = debussy("demo", "--dir", str(mine), cwd=tmp_path)
    assert result.returncode == 2
    assert str(mine) in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "my notes"


def test_dir_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = debussy("demo", "--dir", str(target), cwd=tmp_path)
    assert result.returncode == 2
    assert target.read_text() == "x"


def test_a_step_that_does_not_end_as_expected_fails_the_demo_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the label removal the first look misses a drift: step 1 fails, nothing runs after."""
    without_label_change = tuple(c for c in demo.HAND_CHANGES if "label" not in c.what)
    monkeypatch.setattr(demo, "HAND_CHANGES", without_label_change)
    folder = tmp_path / "demo"
    code = demo.run_demo(folder, serve=False, steps=True)
    captured = capsys.readouterr()
    assert code == demo.EXIT_STEP_FAILED
    assert "Step 1 (`debussy status --issues`)" in captured.err
    assert "GH-13" in captured.err
    assert "$ debussy sync" not in captured.out, "the demo stops at the failing step"
    status = debussy_json("status", "--json", cwd=folder)
    assert {p["id"]: p["status"] for p in status["phases"]} == demo.PHASES_BEFORE
    assert debussy_json("history", "--json", cwd=folder)["syncs"] == []


def test_child_environment_swaps_every_tracker_credential_for_the_sandboxs() -> None:
    env = demo.child_environment(
        {**REAL_LOOKING_SECRETS, "JIRA_OTHER_TOKEN": "x", "PATH": "/bin", "NO_COLOR": "1"}
    )
    assert env == {
        "PATH": "/bin",
        "NO_COLOR": "1",
        "DEBUSSY_DEMO_GITHUB_TOKEN": "sandbox-github-token",
        "DEBUSSY_DEMO_JIRA_EMAIL": "demo@example.com",
        "DEBUSSY_DEMO_JIRA_TOKEN": "sandbox-jira-token",
    }


def test_the_sample_plan_links_exactly_the_seeded_issues(tmp_path: Path) -> None:
    """Plan files and seed table live apart; a typo in either would break the demo's story."""
    from debussy.plans import load_plan

    plan = load_plan(demo.copy_plan(tmp_path), default_repo="acme/shop")
    linked = {(ref.platform, ref.canonical) for ref in plan.all_issues()}
    seeded = {("github", f"{s.repo}#{s.number}") for s in demo.GITHUB_SEED} | {
        ("jira", s.key) for s in demo.JIRA_SEED
    }
    assert linked == seeded
    assert len(plan.phases) == len(demo.PHASES_BEFORE)


def test_python_m_debussy_sandbox_seed_demo_serves_the_demo_issues() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "debussy.sandbox", "--seed", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    seen: list[str] = []
    try:
        assert process.stdout is not None
        url = read_until(process.stdout, "Sandbox tracker on ", seen).split()[-1]
        read_until(process.stdout, "Press Ctrl-C", seen)
        issue: Any = httpx.get(
            f"{url}/api/v3/repos/acme/shop/issues/14",
            headers={"Authorization": "Bearer sandbox-github-token"},
        ).json()
        jira: Any = httpx.get(
            f"{url}/rest/api/3/issue/SHOP-5",
            auth=("demo@example.com", "sandbox-jira-token"),
        ).json()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert [label["name"] for label in issue["labels"]] == ["debussy:in-progress"]
    assert jira["fields"]["status"]["name"] == "In Review"
    assert process.returncode == 0, err


class _Listener(http.server.BaseHTTPRequestHandler):
    """Whatever took the port of a demo's sandbox after it stopped: it notes every credential."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"message": "Bad credentials"}')

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_kept_demo_folder_never_sends_the_users_tokens_to_its_old_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        old_port = SimpleNamespace(github_api_url=f"{url}/api/v3", jira_url=url)
        from debussy.demo.layout import write_config

        write_config(tmp_path, old_port)  # type: ignore[arg-type]
        fake_gh = tmp_path / "bin" / "gh"
        fake_gh.parent.mkdir()
        fake_gh.write_text("#!/bin/sh\necho gho_fromTheGitHubCliMustStayHome0004\n")
        fake_gh.chmod(0o755)
        path = f"{fake_gh.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        result = debussy("doctor", cwd=tmp_path, env={**REAL_LOOKING_SECRETS, "PATH": path})
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert "DEBUSSY_DEMO_GITHUB_TOKEN" in result.stdout, "doctor names the variable to set"
    assert _Listener.seen, "the listener was asked (without credentials)"
    sent = " ".join(_Listener.seen)
    for secret in [*REAL_LOOKING_SECRETS.values(), "gho_fromTheGitHubCliMustStayHome0004"]:
        assert secret not in sent
    assert "Basic" not in sent
    assert "Bearer" not in sent
