"""The layering one can draw (docs/ARCHITECTURE.md), kept true by reading the imports.

cli → demo → output → app → sync → plans, state → sync.trackers → issues, config, errors, timeutil
sync.trackers is the only code that imports httpx (the sandbox serves it, so it does too) and
imports nothing of the rules, plans, state, app or output above it; nothing imports the CLI;
only output/ and the CLI import rich; the rules do no I/O (no network, database, process or
file); no two modules import each other, however indirectly (lazy imports included).
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
    ("debussy.sync.trackers",),
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
    """The layer of the longest prefix that names ``module`` (``sync.trackers`` is not ``sync``)."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return best[0] if best else None


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


def test_the_cli_parses_calls_app_and_renders() -> None:
    """The use cases are app's: the CLI reaches neither the state nor the sync rules."""
    reached = {u for u in MODULES["debussy.cli"] if u.startswith(("debussy.state", "debussy.sync"))}
    assert not reached


def test_only_the_trackers_import_httpx() -> None:
    product = {n for n in importers_of("httpx") if not n.startswith(SANDBOX)}
    assert product
    assert all(n.startswith("debussy.sync.trackers") for n in product), product


def test_only_output_and_the_cli_import_rich() -> None:
    assert {name for name in importers_of("rich") if not name.startswith("debussy.output")} <= {
        "debussy.cli"
    }


RULES = [
    "debussy.sync.expected",
    "debussy.sync.drift_detector",
    "debussy.sync.reconcile",
    "debussy.sync.writes",
    "debussy.sync.saved_plan",
    "debussy.sync.trackers.markers",
    "debussy.sync.trackers.writes",
    "debussy.state.plan_edit",
    "debussy.state.status",
    "debussy.state.records",
    "debussy.state.changes",
]
"""The pure rules: tested with plain values, run against the trackers by sync/converge."""
IO_MODULES = {"httpx", "asyncio", "socket", "rich", "sqlite3", "subprocess", "shutil", "tempfile"}
PURE_TRACKER_MODULES = {"debussy.sync.trackers.markers", "debussy.sync.trackers.writes"}
"""The trackers' vocabulary the rules share with the clients: values, no I/O (and the
registry, ``debussy.sync.trackers`` itself: plain data)."""
FILE_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "unlink", "mkdir"}


def file_calls(module: str) -> set[str]:
    """Calls that touch the file system: ``open(...)``, ``path.read_text()`` and the like."""
    path = SRC.parent / (module.replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in FILE_CALLS:
                found.add(name)
    return found


@pytest.mark.parametrize("module", RULES)
def test_the_rules_do_no_io(module: str) -> None:
    used = MODULES[module]
    assert not {u for u in used if u.split(".")[0] in IO_MODULES | {"os"}}
    assert not {
        u
        for u in used
        if u.startswith(
            ("debussy.sync.trackers", "debussy.state.manager", "debussy.state.database")
        )
        and not any(u == m or u.startswith(m + ".") for m in PURE_TRACKER_MODULES)
        and u != "debussy.sync.trackers"
        and not (u not in MODULES and u.rsplit(".", 1)[0] == "debussy.sync.trackers")
    }
    assert not file_calls(module)


def test_the_io_guard_sees_what_it_guards_against() -> None:
    """The checks above would catch a rule opening the database, a process or a file."""
    assert {"sqlite3", "os"} <= {u.split(".")[0] for u in MODULES["debussy.state.database"]}
    assert "subprocess" in {u.split(".")[0] for u in MODULES["debussy.demo.runner"]}
    assert file_calls("debussy.app.plan_follow") | file_calls("debussy.sync.cache")


def test_the_trackers_import_nothing_above_them() -> None:
    above = ("debussy.sync", "debussy.plans", "debussy.state", "debussy.app", "debussy.output")
    for name, used in MODULES.items():
        if name.startswith("debussy.sync.trackers"):
            reached = {
                u for u in used if u.startswith(above) and not u.startswith("debussy.sync.trackers")
            }
            assert not reached, f"{name} imports {reached}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the tree it imports (a name imported from one is the module;
    a package a module lives in is not an edge: Python imports it first anyway)."""

    def resolve(name: str) -> str | None:
        while name not in MODULES:
            if "." not in name:
                return None
            name = name.rsplit(".", 1)[0]
        return name

    return {
        module: {
            target
            for used in imported
            if used.startswith("debussy")
            and (target := resolve(used)) is not None
            and target != module
            and not module.startswith(target + ".")
        }
        for module, imported in MODULES.items()
    }


def test_no_import_cycles() -> None:
    """Lazy imports are for speed, never to hide a cycle: every import counts."""
    graph = _import_graph()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str], on_path: set[str]) -> None:
        for target in sorted(graph[module]):
            if target in on_path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                path.append(target)
                on_path.add(target)
                visit(target, path, on_path)
                on_path.discard(target)
                path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module], {module})
    assert not cycles, cycles
