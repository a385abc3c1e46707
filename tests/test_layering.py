"""The layering one can draw (notes/NOTES_foundation.md), kept true by reading the imports.

    cli → runs, sync, plans, models, output → config, errors
Nothing imports the CLI; only the HTTP layer and the two clients import httpx; only
output/ and the CLI import rich; the drift and planning rules do no network I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "debussy"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(path): imports(path) for path in SRC.rglob("*.py")}


def importers_of(prefix: str) -> set[str]:
    return {
        name
        for name, used in MODULES.items()
        if any(u == prefix or u.startswith(prefix + ".") for u in used)
    }


def test_the_source_tree_was_read() -> None:
    assert {"debussy.cli", "debussy.sync.http", "debussy.models.state"} <= set(MODULES)


def test_nothing_imports_the_cli() -> None:
    assert importers_of("debussy.cli") == {"debussy.__main__"}


def test_only_the_http_layer_and_the_clients_import_httpx() -> None:
    assert importers_of("httpx") == {
        "debussy.sync.http",
        "debussy.sync.github_client",
        "debussy.sync.jira_client",
    }


def test_only_output_and_the_cli_import_rich() -> None:
    assert {name for name in importers_of("rich") if not name.startswith("debussy.output")} <= {
        "debussy.cli"
    }


@pytest.mark.parametrize(
    "module",
    ["debussy.sync.expected", "debussy.sync.drift_detector", "debussy.sync.reconcile"],
)
def test_the_rules_do_no_network_io(module: str) -> None:
    used = MODULES[module]
    assert not {u for u in used if u.split(".")[0] in {"httpx", "asyncio", "socket", "rich"}}
    assert not {u for u in used if u.startswith(("debussy.sync.http", "debussy.sync.clients"))}


def test_lower_layers_do_not_reach_up() -> None:
    for name, used in MODULES.items():
        if name.startswith(("debussy.models", "debussy.plans", "debussy.config", "debussy.errors")):
            upward = {
                u
                for u in used
                if u.startswith(("debussy.sync", "debussy.output", "debussy.runs"))
                and not u.startswith("debussy.sync.models")
            }
            assert not upward, f"{name} imports {upward}"
