"""``status --issues`` and plain ``status`` load only what they use (issue 16).

The budgets are times (``bench/run.py``); what a test can pin is their cause:
which libraries a real ``debussy`` process imported. pydantic costs about 70 ms
to import, rich 30, yaml 10, httpx 60, importlib.metadata 10 (docs/PERFORMANCE.md).
A project wired to the loopback sandbox is started and its cache filled in-process;
then each command runs in a fresh interpreter that reports ``sys.modules`` at the end.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.perf.test_startup_imports import imported_by
from tests.sandbox_project import SandboxProject

HTTP = ("httpx", "httpcore", "anyio")
NOT_ON_THE_COLD_PATH = (
    "pydantic",  # tracker answers are msgspec Structs; the config models stay unbuilt
    "pydantic_core",
    "yaml",  # the config snapshot is fresh
    "debussy.config",
    "debussy.sync.trackers.github.mutations",  # write documents: only when writing
    "importlib.metadata",  # the User-Agent reads debussy.__version__
)


def tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture
def warm(sandbox_project: SandboxProject) -> SandboxProject:
    """A started run whose issues are all cached and fresh (and a config snapshot written)."""
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    sandbox_project.issues_json()
    sandbox_project.sandbox.clear_requests()
    return sandbox_project


def run(project: SandboxProject, *args: str, top: bool = True) -> tuple[str, set[str]]:
    """Run a command; the modules it imported (top-level packages only, unless ``top=False``)."""
    done, modules = imported_by(*args, cwd=project.root, env=project.env)
    assert done.returncode == 0, done.stderr
    return done.stdout, tops(modules) if top else modules


WARM_JSON_MODULES = {
    "debussy",
    "debussy.cli",
    "debussy.errors",
    "debussy.logs",  # warnings reach stderr as "Warning: ..." without -v
    "debussy.config_snapshot",  # the validated config, as JSON
    "debussy.issues",
    "debussy.timeutil",
    "debussy.app",
    "debussy.app.project",
    "debussy.app.plan_follow",  # the plan may have changed since the last command
    "debussy.app.dashboard",
    "debussy.state",
    "debussy.state.database",  # the connection (the migrations load only to migrate)
    "debussy.state.manager",
    "debussy.state.records",  # the records, and how a removed phase's id is shown
    "debussy.state.runs",  # runs, phases, links (the plan diff loads only on an edit)
    "debussy.state.status",
    "debussy.sync",
    "debussy.sync.cache",
    "debussy.sync.drift_detector",
    "debussy.sync.expected",
    "debussy.sync.status_fetcher",
    "debussy.sync.trackers",  # the package's __init__ only: the clients stay unloaded
    "debussy.sync.trackers.base",
    "debussy.sync.trackers.retry",  # base's exception types (stdlib only, no stamina)
    "debussy.output",
    "debussy.output.console",  # which console, is stderr a terminal
    "debussy.output.documents",  # the JSON document
    "debussy.output.problems",  # the trackers that could not be read, on stderr
    "debussy.output.progress",  # the spinner (drawn only when stderr is a terminal)
    "debussy.output.words",
}
"""Every Debussy module the warm ``status --issues --json`` loads: what it reads and prints with.

A module added here should be one the command needs; anything a table or a tracker
request needs (rich, the clients, httpx, ``output.issues_view``'s layout) stays out."""


def outside_the_standard_library(modules: set[str]) -> set[str]:
    return {top for top in tops(modules) if top not in sys.stdlib_module_names} - {"__main__"}


def test_the_warm_json_document_imports_what_it_prints_with_and_nothing_else(
    warm: SandboxProject,
) -> None:
    """The document scripts and CI jobs poll: click and Debussy's read path, no Rich (§12)."""
    output, modules = run(warm, "status", "--issues", "--json", top=False)
    assert json.loads(output)["cache"]["requests"] == 0
    assert outside_the_standard_library(modules) == {"click", "debussy"}
    ours = {name for name in modules if name.split(".")[0] == "debussy"}
    assert ours == WARM_JSON_MODULES, (sorted(ours - WARM_JSON_MODULES), WARM_JSON_MODULES - ours)


@pytest.mark.parametrize(
    "args",
    [("status", "--issues"), ("status",), ("history",)],
    ids=" ".join,
)
def test_piped_tables_import_no_rich_pydantic_yaml_or_http(
    warm: SandboxProject, args: tuple[str, ...]
) -> None:
    """A pipe gets plain text (docs/CLI.md): the table is laid out without Rich."""
    output, modules = run(warm, *args, top=False)
    assert "Checkout revamp" in output or "GH-10" in output
    assert outside_the_standard_library(modules) == {"click", "debussy"}, modules
    assert "debussy.config" not in modules
    assert warm.sandbox.request_count() == 0


def test_the_check_sees_rich_when_colour_is_forced_on_a_pipe(warm: SandboxProject) -> None:
    done, modules = imported_by(
        "status", "--issues", cwd=warm.root, env={**warm.env, "FORCE_COLOR": "1"}
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" in done.stdout
    assert "rich" in tops(modules)


def test_plain_status_json_reads_no_config_and_no_rich(warm: SandboxProject) -> None:
    output, modules = run(warm, "status", "--json")
    assert json.loads(output)["run"]["status"]
    assert modules.isdisjoint({"rich", "pydantic", "yaml", *HTTP})


def test_an_edited_config_is_validated_again_and_its_errors_still_name_the_key(
    warm: SandboxProject,
) -> None:
    """The snapshot never hides a change: the next run parses and validates the file."""
    config = warm.root / ".debussy" / "config.yaml"
    config.write_text(config.read_text().replace("ttl_seconds: 300", "ttl_seconds: 600"))
    _, modules = run(warm, "status", "--issues", "--json")
    assert {"pydantic", "yaml"} <= modules, "a changed file goes through pydantic"
    _, modules = run(warm, "status", "--issues", "--json")
    assert modules.isdisjoint({"pydantic", "yaml"}), "and the new snapshot serves the next run"

    config.write_text(config.read_text().replace("ttl_seconds: 600", "ttl_secnds: 600"))
    done, _ = imported_by("status", "--issues", cwd=warm.root, env=warm.env)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {config}: unknown key 'cache.ttl_secnds'")
    assert "Traceback" not in done.stderr


def assert_cold_imports(modules: set[str]) -> None:
    """The clients and their answer types, and nothing a read does not need."""
    assert {"httpx", "msgspec"} <= tops(modules), "the check sees what the clients use"
    assert "debussy.sync.trackers.github.query" in modules
    assert "debussy.sync.trackers.jira.client" in modules
    unwanted = {
        name
        for name in modules
        if any(name == banned or name.startswith(f"{banned}.") for banned in NOT_ON_THE_COLD_PATH)
    }
    assert not unwanted, sorted(unwanted)


def assert_both_trackers_read(project: SandboxProject) -> None:
    assert project.sandbox.request_count("github") > 0
    assert project.sandbox.request_count("jira") > 0


def test_a_cold_run_from_the_snapshot_reads_both_trackers_without_the_config_models(
    warm: SandboxProject,
) -> None:
    """``--refresh`` with a snapshot: the clients read the view, and every issue is fetched."""
    done, modules = imported_by(
        "status", "--issues", "--json", "--refresh", cwd=warm.root, env=warm.env
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["cache"]["fetched"] == len(document["issues"]) > 0
    assert document["errors"] == []
    assert_cold_imports(modules)
    assert_both_trackers_read(warm)


def test_a_cold_table_reads_without_pydantic_yaml_write_documents_or_metadata(
    warm: SandboxProject,
) -> None:
    """No cache at all (the budget's cold row): the table, from both trackers' answers."""
    for stale in (warm.root / ".debussy").glob("cache.db*"):
        stale.unlink()
    output, modules = run(warm, "status", "--issues", top=False)
    assert "GH-10" in output
    assert_cold_imports(modules)
    assert_both_trackers_read(warm)


def test_leaving_without_teardown_keeps_output_exit_codes_and_committed_state(
    warm: SandboxProject,
) -> None:
    """``os._exit`` after the command (no coverage in these children): nothing is lost."""
    done, _ = imported_by("phase", "start", "2", cwd=warm.root, env=warm.env)
    assert done.returncode == 0, done.stderr
    assert warm.phase_statuses()["2"] == "running", "the transaction was committed"
    assert warm.sandbox.request_count(writes_only=True) > 0, "and the pushes were sent"

    done, _ = imported_by("status", "--issues", "--json", cwd=warm.root, env=warm.env)
    assert len(json.loads(done.stdout)["issues"]) == 8, "the whole document was flushed"

    done, _ = imported_by("status", "--run", "nope", cwd=warm.root, env=warm.env)
    assert done.returncode == 1
    assert "nope" in done.stderr


@pytest.mark.parametrize(
    "command",
    [("phase", "start", "1"), ("sync", "--json"), ("sync", "--direction", "to-tracker", "--apply")],
    ids=["lifecycle-write", "sync-plan", "to-tracker-apply"],
)
def test_writes_and_sync_read_the_snapshot_not_the_models(
    warm: SandboxProject, command: tuple[str, ...]
) -> None:
    """Commands that write reach the trackers with the same validated view: no YAML, no pydantic."""
    done, modules = imported_by(*command, cwd=warm.root, env=warm.env)
    assert done.returncode == 0, done.stderr
    assert "httpx" in tops(modules), "the command did talk to the trackers"
    assert tops(modules).isdisjoint({"pydantic", "pydantic_core", "yaml"})
    assert "debussy.config" not in modules
