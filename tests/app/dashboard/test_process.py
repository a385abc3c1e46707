"""``status --issues`` as a separate process: imports on the warm path, pipes, jq, secrets."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.app.dashboard.conftest import GITHUB_TOKEN, JIRA_EMAIL, JIRA_TOKEN, SandboxProject
from tests.jq_runner import JqResult, run_jq
from tests.perf.test_startup_imports import imported_by

DOCS = Path(__file__).parents[3] / "docs" / "STATUS_AND_SYNC.md"


def run_and_list_http_modules(
    project: SandboxProject, *args: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run debussy in a fresh interpreter; report which HTTP modules it imported."""
    done, modules = imported_by(*args, cwd=project.root, env=project.env)
    return done, sorted(name for name in modules if name.split(".")[0] in ("httpx", "httpcore"))


def test_the_warm_path_neither_imports_httpx_nor_sends_a_request(project: SandboxProject) -> None:
    cold, cold_modules = run_and_list_http_modules(project, "status", "--issues")
    assert cold.returncode == 0, cold.stderr
    assert "httpx" in cold_modules, "the check can see httpx when it is used"
    project.sandbox.clear_requests()
    warm, warm_modules = run_and_list_http_modules(project, "status", "--issues")
    assert warm.returncode == 0, warm.stderr
    assert warm_modules == []
    assert project.sandbox.request_count() == 0
    assert "Cached just now · use --refresh to update" in warm.stdout
    assert warm.stdout.count("GH-10") == 1


def test_the_warm_json_path_does_not_import_httpx_either(project: SandboxProject) -> None:
    project.issues()
    done, modules = run_and_list_http_modules(project, "status", "--issues", "--json")
    assert done.returncode == 0, done.stderr
    assert modules == []
    assert json.loads(done.stdout)["cache"]["requests"] == 0


def test_json_pipes_into_json_tool(project: SandboxProject) -> None:
    producer = subprocess.Popen(
        [sys.executable, "-m", "debussy", "status", "--issues", "--json"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert producer.stdout is not None
    formatted = subprocess.run(
        [sys.executable, "-m", "json.tool"],
        stdin=producer.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    producer.stdout.close()
    assert producer.wait(timeout=60) == 0
    assert formatted.returncode == 0, formatted.stderr
    document = json.loads(formatted.stdout)
    assert document["schema_version"] == 1
    assert len(document["issues"]) == 14


def test_spinner_and_warnings_never_reach_stdout(project: SandboxProject) -> None:
    project.sandbox.inject(platform="github", status=503, times=100)
    done = project.subprocess("status", "--issues", "--json", "-v")
    assert done.returncode == 1
    json.loads(done.stdout)  # exactly one document, nothing around it
    assert "Warning: GitHub could not be read" in done.stderr


# --- the document's shape, checked the way jq users rely on it ----------------------------------

ISSUE_KEYS = {
    "key": str,
    "platform": str,
    "phase": (str, type(None)),
    "url": (str, type(None)),
    "state": (str, type(None)),
    "state_reason": (str, type(None)),
    "status_category": (str, type(None)),
    "labels": list,
    "milestone": (str, type(None)),
    "expected": dict,
    "last_updated": (str, type(None)),
    "debussy_changed_at": (str, type(None)),
    "drift": list,
    "source": str,
    "age_seconds": (int, type(None)),
    "error": (str, type(None)),
    "moved_to": (str, type(None)),
    "kind": str,
    "sub_issues": (dict, type(None)),
}
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def check_schema(document: dict[str, Any]) -> None:
    assert set(document) == {"schema_version", "run", "cache", "issues", "drift_count", "errors"}
    assert document["schema_version"] == 1
    assert set(document["run"]) == {"id", "plan", "status"}
    cache = document["cache"]
    assert set(cache) == {"from_cache", "fetched", "requests", "oldest_age_seconds", "stale"}
    assert all(isinstance(cache[key], int) for key in ("from_cache", "fetched", "requests"))
    assert isinstance(cache["stale"], bool)
    for issue in document["issues"]:
        github = issue["platform"] == "github"
        expected_keys = set(ISSUE_KEYS) | ({"repo", "number"} if github else set())
        assert set(issue) == expected_keys, issue["key"]
        for key, kind in ISSUE_KEYS.items():
            assert isinstance(issue[key], kind), (issue["key"], key, issue[key])
        if github:
            assert isinstance(issue["repo"], str)
            assert isinstance(issue["number"], int)
        for key in ("last_updated", "debussy_changed_at"):
            assert issue[key] is None or UTC_TIME.match(issue[key]), issue[key]
        assert issue["source"] in {"fresh", "cache", "stale", "unknown", "disabled"}
        for drift in issue["drift"]:
            assert set(drift) == {"type", "newer", "detail"}
            assert drift["newer"] in {"tracker", "debussy", "unknown"}
    assert document["drift_count"] == sum(1 for issue in document["issues"] if issue["drift"])
    for error in document["errors"]:
        assert set(error) == {"platform", "kind", "message"}


def test_the_document_keeps_its_schema_fresh_cached_and_failing(project: SandboxProject) -> None:
    project.ok("phase", "start", "1")
    check_schema(project.issues())
    check_schema(project.issues())
    project.sandbox.inject(platform="jira", status=503, times=100)
    project.configure(ttl=0)
    failing = project.issues(code=1)
    check_schema(failing)
    assert failing["errors"][0]["platform"] == "jira"


def doc_recipes() -> list[list[str]]:
    """The jq command lines of docs/STATUS_AND_SYNC.md, as argument lists."""
    recipes = []
    for line in DOCS.read_text().splitlines():
        if line.startswith("debussy status --issues --json | jq "):
            recipes.append(shlex.split(line.split("| ", 1)[1]))
    return recipes


def test_the_documented_jq_recipes_work(project: SandboxProject) -> None:
    project.ok("phase", "start", "1")
    project.sandbox.close_issue("octo/app", 10, "not_planned")
    project.sandbox.move_jira_issue("PROJ-30", "Done", "Done")
    document = project.issues()
    recipes = doc_recipes()
    assert len(recipes) == 4

    def jq(argv: list[str]) -> JqResult:
        return run_jq(argv, document)

    drift_only = jq(recipes[0])
    assert json.loads(drift_only.stdout) == [
        {"key": "GH-10", "phase": "1", "drift": ["closed_externally"]},
        {"key": "PROJ-30", "phase": "3", "drift": ["closed_externally"]},
        {"key": "GH-99", "phase": "4", "drift": ["missing"]},
    ]
    assert jq(recipes[1]).stdout.split() == ["GH-10", "PROJ-30"]
    per_phase = {
        row["phase"]: (row["issues"], row["drifted"]) for row in json.loads(jq(recipes[2]).stdout)
    }
    assert per_phase == {"plan": (2, 0), "1": (3, 1), "2": (3, 0), "3": (3, 1), "4": (3, 1)}
    assert jq(recipes[3]).returncode == 0
    project.sandbox.inject(platform="github", status=503, times=100)
    document = project.issues("--refresh", code=1)  # ``jq`` reads the new document
    assert jq(recipes[3]).returncode != 0


# --- secrets ----------------------------------------------------------------------------------------

SECRETS = (
    GITHUB_TOKEN,
    JIRA_TOKEN,
    base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode(),
)
WRONG_TOKEN = "ghp_WrongButStillSecret0987654321zyxw"


def assert_no_secret(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in (*SECRETS, WRONG_TOKEN):
        assert secret.encode() not in data, f"a token leaked into {where}"


def test_tokens_never_appear_in_output_logs_or_files(project: SandboxProject) -> None:
    runs = [
        project.cli("-vv", "status", "--issues"),  # fetched
        project.cli("status", "--issues", "--json", "-vv"),  # cached
    ]
    project.sandbox.inject(platform="github", status=503, times=100)
    project.sandbox.inject(platform="jira", status=503, times=100)
    runs.append(project.cli("status", "--issues", "--refresh", "-vv"))  # stale
    project.sandbox.clear_faults()
    runs.append(
        project.cli("status", "--issues", "--refresh", "-vv", env={"GITHUB_TOKEN": WRONG_TOKEN})
    )
    runs.append(
        project.cli(
            "status", "--issues", "--json", "--refresh", "-vv", env={"GITHUB_TOKEN": WRONG_TOKEN}
        )
    )
    assert [r.exit_code for r in runs] == [0, 0, 1, 1, 1]
    assert "HTTP Request" in runs[0].stderr, "-vv really logged the requests"
    assert "401" in runs[3].stderr
    for number, result in enumerate(runs):
        assert_no_secret(result.stdout, f"stdout of run {number}")
        assert_no_secret(result.stderr, f"stderr of run {number}")
    in_process = project.subprocess(
        "-vv", "status", "--issues", "--refresh", env={"GITHUB_TOKEN": WRONG_TOKEN}
    )
    assert in_process.returncode == 1
    assert_no_secret(in_process.stdout + in_process.stderr, "a separate process")
    files = project.private_files()
    assert any(path.name == "cache.db" for path in files)
    for path in files:
        assert_no_secret(path.read_bytes(), str(path))
