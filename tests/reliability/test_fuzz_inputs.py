"""Property-based: whatever a user puts in config.yaml or a plan, ``debussy start`` copes.

Each example writes the generated file(s) into one project and runs the real
``debussy start plans/MASTER_PLAN.md`` in-process. What must hold:

- exit 0 and exactly one new run (the input was valid), or exit 1, exactly one
  ``Error:`` line on stderr naming the file at fault, and no new run;
- never a traceback, never an "unexpected" error;
- the state database passes ``PRAGMA integrity_check`` after every example.

tests/plans/test_properties.py fuzzes the parsers directly; this module goes
through the command and the state database. Budgets: ``DEBUSSY_FUZZ_EXAMPLES``
(default 40 per property here: an example costs a few milliseconds), derandomized
unless ``DEBUSSY_FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from debussy.config import MAX_CONFIG_BYTES
from tests.reliability.conftest import UNEXPECTED, assert_one_line_error, integrity
from tests.sandbox_project import MASTER_PLAN, PHASES, SandboxProject

TEXT = st.characters(blacklist_categories=("Cs",))
"""Any character a file can hold (lone surrogates cannot be written as UTF-8)."""
EXAMPLES = int(os.environ.get("DEBUSSY_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("DEBUSSY_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
CONFIG = Path(".debussy") / "config.yaml"


class Project:
    """One project reused by every example: only the file under test changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inner = SandboxProject(root, sandbox=None)  # type: ignore[arg-type]  # no tracker needed
        (root / ".debussy").mkdir()
        self.write_valid_config()
        self.inner.write_plan()

    def __repr__(self) -> str:
        return f"<Project {self.root}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    @property
    def state_path(self) -> Path:
        return self.root / ".debussy" / "state.db"

    def write_valid_config(self) -> None:
        (self.root / CONFIG).write_text("github:\n  repo: octo/app\n")

    def runs(self) -> int:
        if not self.state_path.exists():
            return 0
        conn = sqlite3.connect(self.state_path)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        finally:
            conn.close()

    def start(self) -> tuple[int, str]:
        """``debussy start``; checks the outcome is a run or one line, and returns both."""
        before = self.runs()
        result = self.inner.run("start", "plans/MASTER_PLAN.md", "--force")
        assert result.exit_code in (0, 1), result.output
        assert "Traceback" not in result.stderr, result.stderr
        assert UNEXPECTED not in result.stderr, result.stderr
        created = self.runs() - before
        if result.exit_code == 0:
            assert created == 1, "a successful start records exactly one run"
        else:
            assert created == 0, "a failed start records nothing"
        if self.state_path.exists():
            assert integrity(self.state_path) == "ok"
        return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("inputs"))


# --- config.yaml ----------------------------------------------------------------------------

KNOWN = {
    "github": ["enabled", "repo", "api_url", "token_env", "auto_close", "labels", "label_colors"],
    "jira": ["enabled", "url", "deployment", "email_env", "token_env", "transitions"],
    "cache": ["ttl_seconds"],
}
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(TEXT, max_size=20),
    st.sampled_from(
        [
            "http://example.com",
            "https://ghe.example.com/api/v3",
            "octo/app",
            "GITHUB_TOKEN",
            "cloud",
            "1e400",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=8), inner, max_size=3)
    ),
    max_leaves=5,
)
SECTION_KEYS = st.sampled_from(
    [key for keys in KNOWN.values() for key in keys] + ["auto_colse", "tokn", ""]
)


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Mappings shaped like the config: known sections and keys, some unknown, any values."""
    document: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from([*KNOWN, "gitlab"]), max_size=4, unique=True)):
        if draw(st.integers(0, 5)) == 0:
            document[section] = draw(VALUES)
        else:
            document[section] = draw(st.dictionaries(SECTION_KEYS, VALUES, max_size=4))
    return document


def key_paths(node: Any, prefix: str = "") -> set[str]:
    """Every dotted key path of a mapping, as the config errors spell them."""
    paths: set[str] = set()
    if isinstance(node, dict):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= key_paths(child, path)
    return paths


def check_config(project: Project, raw: bytes) -> tuple[int, str]:
    (project.root / CONFIG).write_bytes(raw)
    try:
        code, stderr = project.start()
    finally:
        project.write_valid_config()
    if code == 1:
        assert_one_line_error(stderr, naming="config.yaml")
    return code, stderr


@FUZZ
@given(document=config_documents(), as_json=st.booleans())
def test_any_config_mapping_starts_or_names_a_key_it_holds(
    project: Project, document: dict[str, Any], as_json: bool
) -> None:
    text = json.dumps(document) if as_json else yaml.safe_dump(document, allow_unicode=True)
    code, stderr = check_config(project, text.encode())
    if code == 1:
        error = stderr.strip()
        named = any(f"'{path}'" in error for path in key_paths(document))
        assert named or "top level" in error or "malformed YAML" in error, error


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), st.text(TEXT, max_size=200).map(str.encode)))
@example(raw=b"\xff\xfe\x00g\x00i\x00t")  # UTF-16
@example(raw=b"github:\n  repo: [octo/app\n")  # an unclosed list
@example(raw=b"github: " + b"[" * 1000)  # nesting deep enough to recurse
@example(
    raw=b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\ngithub: {labels: *c}\n"
)
@example(raw=b"# " + b"x" * (MAX_CONFIG_BYTES + 1))  # huge
@example(raw=b"github:\n\trepo: octo/app\n")  # a tab where YAML wants spaces
@example(raw=b"cache: {ttl_seconds: 1e400}\n")
@example(raw=b"--- 1\n--- 2\n")  # two documents
def test_any_config_bytes_start_or_fail_in_one_line(project: Project, raw: bytes) -> None:
    check_config(project, raw)


# --- plans --------------------------------------------------------------------------------

REFS = st.one_of(
    st.sampled_from(
        [
            "#1",
            "#abc",
            "#0",
            "#007",
            "gh#2",
            "octo/lib#7",
            "octo/app#99999999999",
            "PROJ",
            "PROJ-1",
            "proj-2",
            "https://github.com/octo/app/issues/12",
            "https://github.com/octo/app/pull/3",
            "https://evil.example.com/octo/app/issues/1",
            "https://acme.atlassian.net/browse/PROJ-3",
            "[GH-1](https://github.com/octo/app/issues/1)",
            "none",
            "n/a",
            "—",
            "https://user:pw@github.com/o/a/issues/1",
        ]
    ),
    st.text(TEXT, max_size=15),
)
LINKS = st.one_of(
    st.sampled_from(
        [
            "phases/phase-1.md",
            "phases/phase-2.md",
            "phases/phase-3.md",
            "phases/missing.md",
            "../outside.md",
            "../../etc/passwd",
            "/etc/passwd",
            "MASTER_PLAN.md",
            "MASTER_PLAN.md#top",
            "phases",
            "phases/loop.md",
            "phases/escape.md",
            "https://example.com/x.md",
            "<phases/phase-1.md>",
            "phases/phase-1.md#anchor",
            "phases/phase%201.md",
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_characters="|()[]\n\r", blacklist_categories=("Cs",)),
        max_size=12,
    ),
)
IDS = st.one_of(
    st.sampled_from(["1", "2", "3", "3a", "2.1", "Phase 4", "**5**", "", "1", "x y"]),
    st.text(TEXT, max_size=5),
)
TITLE = st.text(
    alphabet=st.characters(blacklist_characters="|[]()\n\r", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=12,
)


@st.composite
def master_plans(draw: st.DrawFn) -> str:
    """A master plan: headers with references, then a phases table, both often broken."""
    lines = [draw(st.sampled_from(["# Generated plan", "", "#", "# " + "x" * 300]))]
    for _ in range(draw(st.integers(0, 3))):
        key = draw(
            st.sampled_from(
                ["GitHub Issues", "Jira Issues", "GitHub Repo", "Owner", "GitHub Issue"]
            )
        )
        value = ", ".join(draw(st.lists(REFS, max_size=3)))
        lines.append(f"**{key}:** {value}")
    lines.append("")
    header = draw(
        st.sampled_from(
            [
                "| Phase | Title | Status |",
                "| Phase | Title |",
                "| Title | Status |",
                "Phase | Title",
                "| Phase | Title | Status",
            ]
        )
    )
    lines.append(header)
    if draw(st.integers(0, 4)):
        lines.append("|---|---|---|")
    for _ in range(draw(st.integers(0, 4))):
        cell = f"[{draw(TITLE)}]({draw(LINKS)})" if draw(st.integers(0, 5)) else draw(TITLE)
        lines.append(f"| {draw(IDS)} | {cell} | {draw(st.sampled_from(['Pending', '', 'Done']))} |")
    if draw(st.booleans()):
        lines.append(
            draw(
                st.sampled_from(
                    ["", "**GitHub Issues:** #5", "| 9 | [x](phases/phase-1.md) |", "```", "<!--"]
                )
            )
        )
    return "\n".join(lines) + "\n"


def write_phase_files(root: Path) -> None:
    """Valid phase files, one that links back to the master (a cycle), and a symlink out."""
    folder = root / "plans" / "phases"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in PHASES.items():
        (folder / name).write_text(text)
    (folder / "loop.md").write_text(
        "# Loop\n\n**GitHub Issues:** #3\n\n| Phase | Title |\n|---|---|\n| 1 | [Back](../MASTER_PLAN.md) |\n"
    )
    (root / "outside.md").write_text("# Outside\n")
    (folder / "escape.md").symlink_to(root / "outside.md")


def check_plan(project: Project, master: str) -> None:
    write_phase_files(project.root)
    (project.root / "plans" / "MASTER_PLAN.md").write_text(master)
    try:
        code, stderr = project.start()
    finally:
        project.inner.write_plan()
    if code == 1:
        error = assert_one_line_error(stderr, naming="")
        assert re.search(r"plans/|MASTER_PLAN\.md|outside\.md", error), f"no file named: {error}"


@FUZZ
@given(master=master_plans())
@example(master=MASTER_PLAN.replace("phases/phase-2.md", "../outside.md"))
@example(master=MASTER_PLAN.replace("phases/phase-2.md", "phases/escape.md"))
@example(master=MASTER_PLAN.replace("phases/phase-2.md", "phases/loop.md"))
@example(master=MASTER_PLAN.replace("phases/phase-2.md", "MASTER_PLAN.md"))
@example(master=MASTER_PLAN.replace("phases/phase-2.md", "/etc/passwd"))
@example(master=MASTER_PLAN.replace("#1", "#abc"))
@example(master=MASTER_PLAN.replace("| 2 |", "| 1 |"))
@example(master=MASTER_PLAN.split("## Phases")[0])
def test_any_master_plan_starts_or_names_its_file(project: Project, master: str) -> None:
    check_plan(project, master)


def test_a_phase_file_linking_back_to_the_master_is_not_followed(project: Project) -> None:
    """Only the master's table links phases: a phase file's own table is prose, so no cycle."""
    write_phase_files(project.root)
    (project.root / "plans" / "MASTER_PLAN.md").write_text(
        MASTER_PLAN.replace("phases/phase-2.md", "phases/loop.md")
    )
    try:
        code, _ = project.start()
    finally:
        project.inner.write_plan()
    assert code == 0


def test_a_plan_file_over_the_size_limit_is_one_line(project: Project) -> None:
    write_phase_files(project.root)
    huge = MASTER_PLAN + ("<!-- " + "x" * 1024 + " -->\n") * (5 * 1024 + 1)
    check_plan(project, huge)
