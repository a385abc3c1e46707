"""The layering one can draw (docs/ARCHITECTURE.md), kept true by reading the imports.

cli → demo → output → app → sync → plans, state → issues, config, errors, timeutil
sync.trackers is the only code that imports httpx (the sandbox serves it, so it does too);
nothing imports the CLI; only output/ and the CLI import rich; the rules do no I/O.
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

# Each layer may import only the layers listed after it (and itself).
LAYERS: list[tuple[str, ...]] = [
    ("debussy.cli", "debussy.__main__"),
    ("debussy.demo",),
    ("debussy.output",),
    ("debussy.app",),
    ("debussy.sync",),
    ("debussy.plans", "debussy.state"),
    (
        "debussy.issues",
        "debussy.config",
        "debussy.config_snapshot",
        "debussy.logs",
        "debussy.timeutil",
    ),
    ("debussy.errors",),
]
# The sandbox tracker stands beside the product: it imports nothing of it but timeutil.
SANDBOX = "debussy.sandbox"


def layer_of(module: str) -> int | None:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def importers_of(prefix: str) -> set[str]:
    return {
        name
        for name, used in MODULES.items()
        if any(u == prefix or u.startswith(prefix + ".") for u in used)
    }


def test_the_source_tree_was_read() -> None:
    assert {
        "debussy.cli",
        "debussy.sync.trackers.http",
        "debussy.state.manager",
        "debussy.issues",
    } <= set(MODULES)


def test_every_module_has_a_layer() -> None:
    unplaced = {
        name
        for name in MODULES
        if name != "debussy" and layer_of(name) is None and not name.startswith(SANDBOX)
    }
    assert not unplaced


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    own = layer_of(module)
    if own is None:
        return
    upward = {
        used
        for used in MODULES[module]
        if used.startswith("debussy.")
        and (layer := layer_of(used)) is not None
        and layer < own
        and not used.startswith(module)
    }
    assert not upward, f"{module} reaches up to {upward}"


def test_the_sandbox_stands_apart() -> None:
    for name, used in MODULES.items():
        if name.startswith(SANDBOX):
            product = {
                u
                for u in used
                if u.startswith("debussy.")
                and not u.startswith((SANDBOX, "debussy.timeutil"))
                and u != "debussy"
            }
            assert not product, f"{name} imports {product}"
    product_users = importers_of(SANDBOX) - {n for n in MODULES if n.startswith(SANDBOX)}
    assert {n.split(".")[1] for n in product_users} <= {"demo"}


def test_nothing_imports_the_cli() -> None:
    assert importers_of("debussy.cli") == {"debussy.__main__"}


def test_only_the_trackers_import_httpx() -> None:
    product = {n for n in importers_of("httpx") if not n.startswith(SANDBOX)}
    assert product
    assert all(n.startswith("debussy.sync.trackers") for n in product), product


def test_only_output_and_the_cli_import_rich() -> None:
    assert {name for name in importers_of("rich") if not name.startswith("debussy.output")} <= {
        "debussy.cli"
    }


@pytest.mark.parametrize(
    "module",
    [
        "debussy.sync.expected",
        "debussy.sync.drift_detector",
        "debussy.sync.reconcile",
        "debussy.sync.writes",
        "debussy.sync.markers",
    ],
)
def test_the_rules_do_no_io(module: str) -> None:
    used = MODULES[module]
    assert not {u for u in used if u.split(".")[0] in {"httpx", "asyncio", "socket", "rich"}}
    assert not {u for u in used if u.startswith("debussy.sync.trackers")}
