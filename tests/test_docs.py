"""The docs cannot rot: every `debussy` command line in README.md and docs/ parses, and
every jq recipe runs against a real document of the command it is piped from."""

from __future__ import annotations

import json
import re
import shlex
import warnings
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from debussy.cli import cli
from tests.jq_runner import run_jq
from tests.sandbox_project import SandboxProject

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def command_lines() -> Iterator[tuple[str, str]]:
    """``(where, line)`` for each line of a code block that runs debussy."""
    for path in DOCS:
        for match in FENCE.finditer(path.read_text()):
            for raw in match.group(2).splitlines():
                line = raw.strip().removeprefix("$ ")
                line = line.split(" #", 1)[0].strip()
                if line.startswith("debussy ") and "[--" not in line:  # not a usage synopsis
                    yield f"{path.name}: {raw.strip()}", line


def debussy_argv(line: str) -> list[str]:
    command = line.split(" | ", 1)[0].split(" || ", 1)[0]
    command = command.split(" >> ", 1)[0].split(" > ", 1)[0]  # a redirect is the shell's
    argv = shlex.split(command)
    assert argv[0] == "debussy", line
    return argv[1:]


LINES = list(command_lines())


def test_the_docs_show_plenty_of_commands() -> None:
    assert len(LINES) > 40


@pytest.mark.parametrize(("where", "line"), LINES, ids=[where for where, _ in LINES])
def test_each_documented_command_parses(where: str, line: str) -> None:
    """Click accepts the command, its subcommand and every option as written."""
    args = debussy_argv(line)
    if "--help" in args or "-h" in args:
        return
    context = cli.make_context("debussy", list(args))
    group: click.Group = cli
    while True:
        with warnings.catch_warnings():  # Click 8.2 deprecates protected_args; 8.1 needs it
            warnings.simplefilter("ignore", DeprecationWarning)
            remaining = [*context.protected_args, *context.args]
        name, command, rest = group.resolve_command(context, remaining)
        assert command is not None, where
        context = command.make_context(name or "", list(rest), parent=context)
        if not isinstance(command, click.Group):
            break
        group = command


def jq_recipes() -> list[tuple[str, list[str], str]]:
    """``(where, debussy argv, jq command)`` for each `debussy ... | jq ...` line."""
    recipes = []
    for where, line in LINES:
        if " | jq " in line:
            recipes.append((where, debussy_argv(line), "jq " + line.split(" | jq ", 1)[1]))
    return recipes


def test_every_jq_recipe_runs_on_a_real_document(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    for phase_id in ("1", "2", "3"):  # a delivered run, for the history recipes
        project.ok("phase", "done", phase_id, "--dry-run-sync")
    project.ok("start", "plans/MASTER_PLAN.md", "--force")
    project.ok("phase", "start", "1")
    project.ok("phase", "done", "1")
    project.ok("phase", "start", "2")
    project.backdate_phases()
    project.sandbox.close_issue("octo/app", 11)
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    project.sandbox.set_labels("octo/lib", 7, [])
    recipes = jq_recipes()
    assert len(recipes) >= 10
    documents: dict[tuple[str, ...], object] = {}
    for where, argv, jq_command in recipes:
        key = tuple(argv)
        if key not in documents:
            result = project.run(*argv)
            assert result.exit_code in (0, 3), (where, result.output)
            documents[key] = json.loads(result.stdout)
        outcome = run_jq(jq_command, documents[key])
        assert outcome.returncode in (0, 1), where
        assert outcome.stdout.strip(), f"{where}: the recipe printed nothing"


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in cli.commands:
        assert f"debussy {name}" in readme, name


CI_STEP = 'debussy status --issues --exit-code --format markdown >> "$GITHUB_STEP_SUMMARY"'


def workflow_run_lines() -> list[str]:
    """The ``run:`` commands of the GitHub Actions jobs shown in yaml blocks."""
    found: list[str] = []
    for path in DOCS:
        for match in FENCE.finditer(path.read_text()):
            if match.group(1) != "yaml":
                continue
            for raw in match.group(2).splitlines():
                line = raw.strip().removeprefix("- ").strip()
                if line.startswith("run: debussy "):
                    found.append(line.removeprefix("run: "))
    return found


def test_the_github_actions_example_writes_a_markdown_summary(
    sandbox_project: SandboxProject, tmp_path: Path
) -> None:
    """The job's step, as written in the docs, run against a drifted sandbox project."""
    assert CI_STEP in workflow_run_lines()
    assert CI_STEP in (ROOT / "docs" / "CLI.md").read_text()
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "start", "1")
    project.backdate_phases()
    project.sandbox.close_issue("octo/app", 10)
    summary = tmp_path / "step-summary.md"
    argv = debussy_argv(CI_STEP.split(" >> ", 1)[0])
    result = project.run(*argv)
    summary.write_text(result.stdout)
    assert result.exit_code == 3, "the step fails the job when issues drifted"
    text = summary.read_text()
    assert "| Issue | Phase | Current state | Expected state | Last updated | Drift |" in text
    assert f"[GH-10]({project.sandbox.url}/octo/app/issues/10)" in text
    assert "closed_externally" in text


def test_the_doctor_sample_uses_the_real_check_names(sandbox_project: SandboxProject) -> None:
    """Every check name the README's doctor sample shows is one doctor really prints."""
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("$ debussy doctor\n", 1)[1].split("```", 1)[0]
    shown = {line[2:].split(":", 1)[0] for line in sample.splitlines() if line[:2] in ("✓ ", "✗ ")}
    sandbox_project.ok("start", "plans/MASTER_PLAN.md")
    document = json.loads(sandbox_project.run("doctor", "--json").stdout)
    real = {check["name"] for check in document["checks"]}
    assert shown
    assert shown <= real


def test_the_docs_stand_on_their_own() -> None:
    """PRODUCT.md is not in the repository: the docs say things in their own words."""
    citing = [path.name for path in DOCS if "PRODUCT.md" in path.read_text()]
    assert citing == []
