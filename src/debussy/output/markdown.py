"""``--format markdown``: GitHub-flavoured markdown for ``$GITHUB_STEP_SUMMARY`` and PR comments.

The same models as the terminal and JSON views (``Dashboard``, ``SyncOutcome``),
rendered as pipe tables with links to each issue. Every cell is escaped: a ``|``
or a newline in a title or a tracker's message would otherwise break the table,
and ``<``/``>`` would be read as HTML by GitHub.
"""

from __future__ import annotations

from collections.abc import Sequence

from debussy.app.dashboard import Dashboard, IssueRow, issue_url
from debussy.app.sync_apply import SyncOutcome
from debussy.issues import Drift
from debussy.output.issues_view import (
    collapsed_missing,
    drift_banner,
    drift_cell,
    freshness_lines,
    last_updated,
    problem_lines,
)
from debussy.output.words import outcome_text, platform_name, plural
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


def sync_markdown(outcome: SyncOutcome, *, force: bool) -> str:
    """The sync plan (or what was applied): phase changes, tracker writes, what was left alone."""
    plan = outcome.plan
    verb = "applied" if outcome.applied else "plan"
    lines = [
        f"### Sync {verb} · run `{plan.run.id}` ({cell(plan.run.plan_title)}) · {plan.direction}",
        "",
    ]
    for error in outcome.fetch.errors:
        lines += [f"> **Incomplete:** {platform_name(error.platform)}: {cell(error.message)}", ""]
    if plan.phase_actions:
        rows = [
            [
                cell(action.phase_id),
                cell(action.title),
                f"{action.from_status} → {action.to_status}",
                cell(action.reason or ""),
                cell(action.why),
            ]
            for action in plan.phase_actions
        ]
        lines += [*table(("Phase", "Title", "Change", "Reason", "Why"), rows), ""]
    if plan.writes:
        rows: list[list[str]] = []
        for write, result in outcome.write_rows():
            done = ""
            if result is not None:
                done = cell(outcome_text(result.outcome, result.detail))
            rows.append([cell(write.describe()), cell(write.why), done or "planned"])
        lines += [*table(("Tracker write", "Why", "Result"), rows), ""]
    if plan.skipped:
        lines += ["Not changed:", ""]
        lines += [
            f"- {cell(item.kind.replace('_', ' '))}: {cell(item.detail)}" for item in plan.skipped
        ]
        lines += [""]
    conflicts = sum(1 for item in plan.skipped if item.kind == "conflict")
    summary = outcome.summary
    if conflicts and not force:
        summary += f"; {plural(conflicts, 'conflict')} skipped (use --force)"
    lines += [f"**{cell(summary[:1].upper() + summary[1:])}.**", ""]
    return "\n".join(lines)
