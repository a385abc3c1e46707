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
