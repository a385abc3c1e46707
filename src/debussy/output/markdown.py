"""``--format markdown``: GitHub-flavoured markdown for ``$GITHUB_STEP_SUMMARY`` and PR comments.

The same models as the terminal and JSON views (``Dashboard``, ``SyncOutcome``),
rendered as pipe tables with links to each issue. Every cell is escaped: a ``|``
or a newline in a title or a tracker's message would otherwise break the table,
and ``<``/``>`` would be read as HTML by GitHub.
"""

from __future__ import annotations

from collections.abc import Sequence

from debussy.app.dashboard import Dashboard, IssueRow, issue_url
from debussy.app.sync_apply import SyncItem, SyncOutcome
from debussy.issues import Drift
from debussy.output.issues_view import (
    collapsed_missing,
    drift_banner,
    drift_cell,
    freshness_lines,
    last_updated,
)
from debussy.output.problems import problem_lines
from debussy.output.sync_view import footer_lines
from debussy.output.words import platform_name
from debussy.sync.drift_detector import describe_actual

_ESCAPES = str.maketrans({"|": "\\|", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "})


def cell(text: str) -> str:
    """One table cell's text, safe inside a GitHub pipe table."""
    return text.translate(_ESCAPES).strip()


def link(text: str, url: str | None) -> str:
    """``[text](url)``, or the escaped text alone when there is no URL."""
    label = cell(text).replace("[", "\\[").replace("]", "\\]")
    return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})" if url else label


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def dashboard_markdown(dashboard: Dashboard) -> str:
    """The issue dashboard: a heading, the drift banner as a quote, the table, the notes."""
    run = dashboard.run
    lines = [f"### {cell(run.plan_title)} · run `{run.id}` · {run.status}", ""]
    if not dashboard.rows:
        return "\n".join([*lines, "No issues are linked to this run.", ""])
    if dashboard.drift_count:
        lines += [f"> **Warning:** {cell(drift_banner(dashboard.drift_count))}", ""]
    for problem in problem_lines(dashboard):
        lines += [f"> **{cell(problem)}**", ""]
    header = ("Issue", "Phase", "Current state", "Expected state", "Last updated", "Drift")
    lines += table(header, [_issue_row(dashboard, row) for row in dashboard.rows])
    notes = [f"- {cell(row.key)}: {cell(drift.detail)}" for row, drift in _detailed(dashboard)]
    notes += [f"- {cell(line)}" for line in collapsed_missing(dashboard.rows)]
    if notes:
        lines += ["", *notes]
    lines += ["", *(cell(line) for line in freshness_lines(dashboard)), ""]
    return "\n".join(lines)


def _detailed(dashboard: Dashboard) -> list[tuple[IssueRow, Drift]]:
    return [
        (row, drift) for row in dashboard.drifted for drift in row.drifts if drift.type != "missing"
    ]


def _issue_row(dashboard: Dashboard, row: IssueRow) -> list[str]:
    status = row.status
    url = (status.url if status is not None else None) or issue_url(row.ref, dashboard.config)
    if row.source == "disabled":
        current = "disabled"
    elif status is None:
        current = "unknown"
    else:
        current = describe_actual(status) + (" (stale)" if row.source == "stale" else "")
    return [
        link(row.key, url),
        cell(row.phase or "plan"),
        cell(current),
        cell(row.expected.describe()),
        cell(last_updated(row, dashboard.generated_at)),
        cell(drift_cell(row).text),
    ]


def sync_markdown(outcome: SyncOutcome, *, force: bool, apply_requested: bool = False) -> str:
    """The sync plan (or what was applied): phase changes, tracker writes, what was left alone.

    Each change has a Result column (its outcome and the reason); the footer is the
    terminal's, word for word (``sync_view.footer_lines``), so the counts agree.
    """
    plan = outcome.plan
    verb = "applied" if outcome.applied else "plan"
    lines = [
        f"### Sync {verb} · run `{plan.run.id}` ({cell(plan.run.plan_title)}) · {plan.direction}",
        "",
    ]
    for error in outcome.fetch.errors:
        lines += [f"> **Incomplete:** {platform_name(error.platform)}: {cell(error.message)}", ""]
    items = outcome.items()
    phase_items = [item for item in items if item.kind == "phase"]
    write_items = [item for item in items if item.kind == "write"]
    if phase_items:
        rows = [
            [
                cell(action.phase_id),
                cell(action.title),
                f"{action.from_status} → {action.to_status}",
                cell(action.reason or ""),
                cell(action.why),
                _result(item, outcome.stopped),
            ]
            for action, item in zip(plan.phase_actions, phase_items, strict=True)
        ]
        lines += [*table(("Phase", "Title", "Change", "Reason", "Why", "Result"), rows), ""]
    if write_items:
        rows = [
            [cell(item.what), cell(item.why), _result(item, outcome.stopped)]
            for item in write_items
        ]
        lines += [*table(("Tracker write", "Why", "Result"), rows), ""]
    left_out = [item for item in items if item.kind not in ("phase", "write")]
    if left_out:
        lines += ["Not changed:", ""]
        lines += [
            f"- {cell(item.kind.replace('_', ' '))}: {cell(item.detail or '')}"
            + (" (✗ refused)" if item.outcome == "refused" else "")
            for item in left_out
        ]
        lines += [""]
    footer = footer_lines(outcome, force=force, apply_requested=apply_requested)
    lines += [f"**{cell(footer[0])}**", ""]
    for line in footer[1:]:
        lines += [cell(line), ""]
    return "\n".join(lines)


_RESULT_WORDS = {
    "planned": "planned",
    "applied": "✓ applied",
    "already": "already so",
    "refused": "✗ refused",
    "unconfirmed": "? unconfirmed",
    "skipped": "skipped",
}


def _result(item: SyncItem, stopped: str | None) -> str:
    """The Result cell; a refusal of the whole apply is said once, in the footer."""
    text = _RESULT_WORDS[item.outcome]
    if stopped is not None and item.detail == stopped:
        return text
    return text + (f": {cell(item.detail)}" if item.detail else "")
