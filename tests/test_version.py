"""``debussy.__version__`` is a literal (cheap to read); it must say what the package says."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import debussy

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_the_version_literal_matches_pyproject_and_the_installed_metadata() -> None:
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    assert debussy.__version__ == declared, "bump src/debussy/__init__.py with pyproject.toml"
    assert debussy.__version__ == metadata.version("debussy"), "run `uv sync` after a bump"
