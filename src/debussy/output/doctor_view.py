"""``debussy doctor`` for people (one ✓/✗ line per check, the fix under a failure) and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from debussy.app.doctor import Check
from debussy.output.documents import SCHEMA_VERSION
from debussy.output.words import plural

if TYPE_CHECKING:
    from debussy.output.console import Console


def doctor_document(checks: Sequence[Check]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "ok": all(check.ok for check in checks),
        "checks": [check.as_json() for check in checks],
    }


def render_doctor(console: Console, checks: Sequence[Check]) -> None:
    from debussy.output.console import escape

    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        console.print(
            f"{mark} {escape(check.name)}: {escape(check.detail)}",
            soft_wrap=not console.is_terminal,  # wrapped to a terminal, whole when piped
        )
        if not check.ok and check.fix:
            console.print(
                f"    [dim]fix:[/] {escape(check.fix)}", soft_wrap=not console.is_terminal
            )
    failed = sum(1 for check in checks if not check.ok)
    if failed:
        console.print(f"[bold red]{plural(failed, 'check')} failed.[/]")
    else:
        console.print(f"[green]All {plural(len(checks), 'check')} passed.[/]")
