"""The one JSON printer, and the schema version every ``--json`` document carries.

One rule for every ``--json``: indented for a person at a terminal, one compact
line when piped (as ``gh`` does; json's C encoder also writes compact output
several times faster, which matters for 2,000-issue dashboards).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from debussy import timeutil
from debussy.issues import IssueStatus
from debussy.output.console import is_tty

if TYPE_CHECKING:  # run_view and doctor_view print documents without loading the dashboard
    from debussy.app.dashboard import Dashboard, IssueRow
    from debussy.app.sync_apply import SyncOutcome
    from debussy.config import Config

SCHEMA_VERSION = 1
"""Bumped when a key of any ``--json`` document changes meaning or disappears."""


def print_json(document: object, stream: TextIO | None = None) -> None:
    """Exactly one JSON document and a newline on ``stream`` (stdout by default)."""
    out = stream or sys.stdout
    indent = 2 if is_tty(out) else None
    out.write(json.dumps(document, indent=indent) + "\n")
    out.flush()


# --- status --issues --json (docs/STATUS_AND_SYNC.md) --------------------------------


def dashboard_document(dashboard: Dashboard) -> dict[str, Any]:
    """``status --issues --json`` (docs/STATUS_AND_SYNC.md): stable keys, UTC times, no secrets."""
    fetch = dashboard.fetch
    run = dashboard.run
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {"id": run.id, "plan": run.plan_path, "status": run.status},
        "cache": {
            "from_cache": fetch.from_cache,
            "fetched": fetch.fetched,
            "requests": fetch.total_requests,
            "oldest_age_seconds": _seconds(fetch.oldest_age_seconds),
            "stale": fetch.stale,
        },
        "issues": [issue_document(row, dashboard.config) for row in dashboard.rows],
        "drift_count": dashboard.drift_count,
        "errors": [error.as_json() for error in fetch.errors],
    }


def issue_document(row: IssueRow, config: Config) -> dict[str, Any]:
    from debussy.app.dashboard import issue_url

    status = row.status
    document: dict[str, Any] = {"key": row.key, "platform": row.ref.platform}
    document.update(row.ref.document_fields())
    document.update(
        {
            "phase": row.phase,
            "url": (status.url if status is not None else None) or issue_url(row.ref, config),
            "state": _visible_state(status),
            "state_reason": status.state_reason if status is not None else None,
            "status_category": status.status_category if status is not None else None,
            "labels": list(status.labels) if status is not None else [],
            "milestone": status.milestone if status is not None else None,
            "expected": row.expected.as_json(),
            "last_updated": _iso(status.last_updated if status is not None else None),
            "debussy_changed_at": _iso(row.debussy_changed_at),
            "drift": [
                {"type": drift.type, "newer": drift.newer, "detail": drift.detail}
                for drift in row.drifts
            ],
            "source": row.source,
            "age_seconds": _whole_seconds(row.fetched.age_seconds),
            "error": row.fetched.error,
            "moved_to": status.moved_to if status is not None else None,
            "kind": status.kind if status is not None else "issue",
            "sub_issues": _sub_issues(status),
        }
    )
    return document


def _sub_issues(status: IssueStatus | None) -> dict[str, int] | None:
    """``github.sub_issues``: the issue's ``subIssuesSummary`` (None when not read)."""
    if status is None or status.sub_issues is None:
        return None
    done, total = status.sub_issues
    return {"completed": done, "total": total}


def _visible_state(status: IssueStatus | None) -> str | None:
    if status is None:
        return None
    return "missing" if status.missing else status.state


def _iso(moment: datetime | None) -> str | None:
    return timeutil.to_iso(moment) if moment is not None else None


def _seconds(value: float | None) -> int | None:
    return round(value) if value is not None else None


def _whole_seconds(value: float | None) -> int | None:
    """Down, never up: an answer's age must not claim it was fetched before it was."""
    return max(0, int(value)) if value is not None else None


# --- sync --json (docs/STATUS_AND_SYNC.md) -------------------------------------------


def sync_document(outcome: SyncOutcome, *, force: bool) -> dict[str, Any]:
    """The ``sync --json`` document: one object, ``schema_version`` first.

    ``items`` is the honest list: every planned change with its outcome
    (``planned`` in a dry run; ``applied``, ``already``, ``refused``, ``unconfirmed``
    or ``skipped`` after ``--apply``, with the reason), then what the plan left out
    (``skipped``, with why). ``counts`` and ``summary`` are made from those items.
    ``actions``, ``skipped`` and ``results`` are the older views, kept for scripts.
    """
    plan = outcome.plan
    fetch = outcome.fetch
    items = outcome.items()
    saved = outcome.saved_plan
    return {
        "schema_version": SCHEMA_VERSION,
        "direction": plan.direction,
        "run": {"id": plan.run.id, "plan": plan.run.plan_path, "status": plan.run.status},
        "applied": outcome.applied,
        "force": force,
        "fetch": {
            "complete": fetch.complete,
            "requests": fetch.total_requests,
            "fetched": fetch.fetched,
            "errors": [error.as_json() for error in fetch.errors],
        },
        "saved_plan": (
            {"file": saved.file, "id": saved.id, "made_at": saved.made_at} if saved else None
        ),
        "actions": plan.actions_json(),
        "skipped": [item.as_json() for item in plan.skipped],
        "items": [item.as_json() for item in items],
        "counts": outcome.counts(),
        "results": [r.as_json() for r in outcome.results]
        + [
            {
                "kind": "phase",
                "phase": t.phase_id,
                "from": t.old_status,
                "to": t.new_status,
                "outcome": "applied",
                "run_completed": t.run_completed,
            }
            for t in outcome.transitions
        ],
        "summary": outcome.summary,
    }
