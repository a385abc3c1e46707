"""Helpers to write small plans on disk for the cases the fixture plan does not cover."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plans"

TWO_PHASES = """\
# Search Autocomplete

**Created:** 2026-10-02
**GitHub Repo:** octo/app

## Phases

| Phase | Title | Status |
|-------|-------|--------|
| 1 | [Index prefixes](phases/phase-1.md) | Pending |
| 2 | [Suggest endpoint](phases/phase-2.md) | Pending |
"""

PHASE_1 = """\
# Phase 1: Index prefixes

**Status:** Pending

## Tasks

- [ ] Edge n-gram analyzer on `products.name`
"""

PHASE_2 = """\
# Phase 2: Suggest endpoint

**Status:** Pending
"""


@dataclass(frozen=True)
class PlanFolder:
    """A plan folder under ``tmp_path``; ``master`` is ``plans/MASTER_PLAN.md``."""

    root: Path

    @property
    def master(self) -> Path:
        return self.root / "MASTER_PLAN.md"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def standard(
        self, master: str = TWO_PHASES, phase_1: str = PHASE_1, phase_2: str = PHASE_2
    ) -> Path:
        """A two-phase plan; pass replacements for the files a test is about."""
        self.write("phases/phase-1.md", phase_1)
        self.write("phases/phase-2.md", phase_2)
        return self.write("MASTER_PLAN.md", master)


@pytest.fixture
def plan_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PlanFolder:
    """``tmp_path/plans``, with the working folder at ``tmp_path`` so paths read ``plans/...``."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "plans"
    root.mkdir()
    return PlanFolder(root)
