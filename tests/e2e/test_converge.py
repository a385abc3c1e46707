"""Every write path converges: the flows the docs describe, end to end over HTTP.

Each test drives the real ``debussy`` commands against the loopback sandbox
tracker and then asks the dashboard (``status --issues --refresh --exit-code``)
whether the trackers match Debussy — the check a user would run.
"""

from __future__ import annotations

import json
from typing import Any

from debussy.sandbox import SandboxTracker
from tests.sandbox_project import SandboxProject, clean, labels, started


def mutations(sandbox: SandboxTracker) -> list[dict[str, Any]]:
    """The bodies of the GraphQL mutation requests the sandbox served, oldest first."""
    return [
        r.json()
        for r in sandbox.requests
        if r.kind == "graphql" and r.is_write and isinstance(r.json(), dict)
    ]


def no_label_set_replaced(sandbox: SandboxTracker) -> None:
    """No request replaced or cleared an issue's labels: no PUT, no DELETE of all."""
    for record in sandbox.requests:
        assert not (record.method == "PUT" and record.path.endswith("/labels")), record
        assert not (record.method == "DELETE" and record.path.endswith("/labels")), record
        if record.method == "PATCH" and record.body:
            assert "labels" not in (record.json() or {}), record


def test_dry_run_then_the_real_run_converges(sandbox_project: SandboxProject) -> None:
    """docs: `phase start 1 --dry-run-sync`, then `phase start 1` for real."""
    project = started(sandbox_project)
    preview = project.ok("phase", "start", "1", "--dry-run-sync")
    planned = [line.strip()[2:] for line in preview.stdout.splitlines() if line.strip()[:2] == "~ "]
    assert project.sandbox.request_count(writes_only=True) == 0
    real = project.ok("phase", "start", "1")
    assert "already running" in real.stdout
    sent = [line.strip()[2:] for line in real.stdout.splitlines() if line.strip()[:2] == "✓ "]
    assert sent == planned, "the real run sends exactly what the dry run printed"
    assert labels(project, "octo/app", 1) == ["debussy:in-progress"], "plan-level issue pushed"
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "In Progress"
    clean(project)
    project.sandbox.clear_requests()
    project.ok("phase", "start", "1")
    assert project.sandbox.request_count(writes_only=True) == 0, "a second run sends nothing"


def test_a_dry_run_is_finished_by_to_tracker(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.ok("phase", "start", "2", "--dry-run-sync")
    project.ok("sync", "--direction", "to-tracker", "--apply")
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"]
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"
    clean(project)


def test_a_failed_push_then_a_replay_converges(sandbox_project: SandboxProject) -> None:
    """docs: a bad token fails the push; the event is kept; replaying finishes it."""
    project = started(sandbox_project)
    good = project.env["GITHUB_TOKEN"]
    project.env["GITHUB_TOKEN"] = "wrong-token"
    failed = project.run("phase", "done", "1")
    assert failed.exit_code == 1
    assert "phase change is recorded" in failed.stderr
    assert "wrong-token" not in failed.output
    assert project.phase_statuses()["1"] == "completed"
    project.env["GITHUB_TOKEN"] = good
    project.ok("phase", "done", "1")
    assert labels(project, "octo/app", 10) == ["debussy:completed"]
    assert labels(project, "octo/app", 1) == ["debussy:in-progress"], "plan-level issue too"
    clean(project)


def test_auto_close_at_the_end_converges(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project, "--auto-close")
    for phase_id in ("1", "2", "3"):
        project.ok("phase", "start", phase_id)
        project.ok("phase", "done", phase_id)
    for repo, number in [("octo/app", 1), ("octo/app", 10), ("octo/lib", 7), ("octo/app", 12)]:
        issue = project.sandbox.github_issue(repo, number)
        assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
        assert issue["labels"] == ["debussy:completed"]
        assert len(issue["comments"]) == 1
    clean(project)
    project.sandbox.clear_requests()
    project.ok("phase", "done", "3")
    assert project.sandbox.request_count(writes_only=True) == 0, "no second comment, no write"


def test_a_label_added_between_read_and_write_survives(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.sandbox.set_labels("octo/app", 10, ["debussy:failed", "bug"])

    def person_edits(sandbox: SandboxTracker) -> None:
        sandbox.add_labels("octo/app", 10, ["needs-review"])

    project.sandbox.before_write = person_edits
    project.ok("phase", "start", "1")
    assert project.sandbox.before_write is None, "the edit landed between read and write"
    assert labels(project, "octo/app", 10) == ["bug", "debussy:in-progress", "needs-review"]
    no_label_set_replaced(project.sandbox)


def test_no_request_replaces_or_clears_a_label_set(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.sandbox.set_labels("octo/app", 11, ["debussy:completed"])
    for event in (("start", "1"), ("fail", "1", "--reason", "red"), ("start", "2")):
        project.ok("phase", *event)
    project.ok("phase", "done", "1")
    project.ok("sync", "--direction", "to-tracker", "--apply")
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"]
    no_label_set_replaced(project.sandbox)


def test_the_plan_level_issue_keeps_one_in_progress_label_throughout(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    for phase_id in ("1", "2", "3"):
        project.ok("phase", "start", phase_id)
        assert labels(project, "octo/app", 1) == ["debussy:in-progress"]
        project.ok("phase", "done", phase_id)
    assert labels(project, "octo/app", 1) == ["debussy:completed"]
    import httpx

    plan_issue = httpx.get(
        f"{project.sandbox.github_api_url}/repos/octo/app/issues/1",
        headers={"Authorization": f"Bearer {project.env['GITHUB_TOKEN']}"},
        timeout=5,
    ).json()["node_id"]
    touching = [
        (field, value["labelIds"])
        for body in mutations(project.sandbox)
        for field, value in body["variables"].items()
        if isinstance(value, dict) and value.get("labelableId") == plan_issue
    ]
    kinds = [
        next(
            name
            for body in mutations(project.sandbox)
            for alias, name in _fields(body["query"]).items()
            if alias == field
        )
        for field, _ in touching
    ]
    assert kinds == ["addLabelsToLabelable", "removeLabelsFromLabelable", "addLabelsToLabelable"]
    assert len(touching) == 3, "added once at the first start, swapped once at completion"


def _fields(query: str) -> dict[str, str]:
    """alias → mutation name, from ``alias: name(input: $alias)`` lines."""
    found: dict[str, str] = {}
    for line in query.splitlines():
        alias, sep, rest = line.strip().partition(": ")
        if sep and "(input:" in rest:
            found[alias] = rest.split("(", 1)[0]
    return found


def test_a_linked_pull_request_is_reported_and_never_written(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.sandbox.add_pull_request("octo/app", 40)
    project.write_plan(
        phases={
            "phase-1.md": "# Phase 1: Cart model\n\n**GitHub Issues:** #10, #40\n",
            "phase-2.md": "# Phase 2: Payment step\n\n**GitHub Issues:** #11\n",
            "phase-3.md": "# Phase 3: Rollout\n\n**GitHub Issues:** #12\n",
        }
    )
    started(project)
    result = project.run("phase", "start", "1")
    assert "GH-40" not in result.stderr, "an open pull request of a running phase is as expected"
    done = project.run("phase", "done", "1")
    assert "GH-40 is a pull request (open), not an issue" in done.stderr, "merge it"
    assert labels(project, "octo/app", 40) == []
    assert labels(project, "octo/app", 10) == ["debussy:completed"]
    assert not any("/issues/40" in r.path for r in project.sandbox.requests if r.is_write)
    assert not any('"PR_' in r.body.decode() for r in project.sandbox.requests if r.is_write)


def test_a_wrong_close_reason_is_fixed_by_reopening_then_closing(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project, "--auto-close")
    for phase_id in ("1", "2", "3"):
        project.ok("phase", "done", phase_id)
    project.sandbox.reopen_issue("octo/app", 12)
    project.sandbox.close_issue("octo/app", 12, "not_planned")
    project.sandbox.clear_requests()
    project.ok("sync", "--direction", "to-tracker", "--apply")
    issue = project.sandbox.github_issue("octo/app", 12)
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    [body] = mutations(project.sandbox)
    assert list(_fields(body["query"]).values()) == ["reopenIssue", "closeIssue"]
    clean(project)


def test_a_secondary_rate_limit_stops_github_writes_and_exits_1(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)

    def limited(sandbox: SandboxTracker) -> None:
        sandbox.inject(
            platform="github",
            path="/api/graphql",
            status=403,
            headers={"retry-after": "60"},
            body=json.dumps({"message": "You have exceeded a secondary rate limit."}),
        )

    project.sandbox.before_write = limited
    result = project.run("phase", "start", "2")
    assert result.exit_code == 1
    assert "secondary rate limit" in result.stderr
    assert "UTC" in result.stderr, "says when to try again"
    assert len(mutations(project.sandbox)) == 1, "no write after the limit"
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress", "Jira unaffected"
    project.ok("phase", "start", "2")
    clean(project)


def test_budget_requests_for_a_large_phase(sandbox_project: SandboxProject) -> None:
    """PRODUCT.md §12: n GitHub + m Jira issues: ceil(n/100) reads + ceil(n/50) mutations
    (+1 for creating the label), ceil(m/100) searches + one transition per moving issue."""
    project = sandbox_project
    numbers = range(100, 220)
    keys = [f"BIG-{i}" for i in range(1, 121)]
    for number in numbers:
        project.sandbox.add_issue("octo/app", number)
    for key in keys:
        project.sandbox.add_jira_issue(key)
    project.write_plan(
        phases={
            "phase-1.md": "# Phase 1\n\n**GitHub Issues:** "
            + ", ".join(f"#{n}" for n in numbers)
            + "\n**Jira Issues:** "
            + ", ".join(keys)
            + "\n",
            "phase-2.md": "# Phase 2\n",
            "phase-3.md": "# Phase 3\n",
        }
    )
    started(project)
    project.ok("phase", "start", "1")
    n = m = 121  # the phase's 120 and the plan-level issue
    github = [r for r in project.sandbox.requests if r.platform == "github"]
    jira = [r for r in project.sandbox.requests if r.platform == "jira"]
    github_reads = [r for r in github if not r.is_write]
    assert len(github_reads) == -(-n // 100)
    assert len([r for r in github if r.is_write]) == -(-n // 50) + 1, "+1: label created"
    assert len([r for r in jira if r.kind == "search"]) == -(-m // 100)
    assert len([r for r in jira if r.is_write]) == m, "one transition per moving issue"
    assert len(jira) == -(-m // 100) + m
    assert labels(project, "octo/app", 219) == ["debussy:in-progress"]
    project.sandbox.clear_requests()
    project.ok("phase", "start", "1")
    assert project.sandbox.request_count(writes_only=True) == 0, "converged replay: reads only"
    # The replay reconciles the 121 Jira issues the first run moved moments ago, and
    # ``reconcileIssues`` takes at most 50 ids: a batch of 100 is searched as two halves.
    searches = [r.json() for r in project.sandbox.requests if r.kind == "search"]
    assert all(len(body.get("reconcileIssues", [])) <= 50 for body in searches)
    assert sum(len(body.get("reconcileIssues", [])) for body in searches) == m
    assert project.sandbox.request_count() == -(-n // 100) + 3


def test_the_next_command_reads_jira_writes_through_a_lagging_search_index(
    sandbox_project: SandboxProject,
) -> None:
    """Jira Cloud's search shows a transition a moment late; the next command is another
    process. It names the issues the last one moved in ``reconcileIssues``, so a look
    right after ``phase start`` shows the new status, not drift that is not there."""
    project = started(sandbox_project)
    project.sandbox.jira_scene(search_lag=True)  # transitions reach search only via reconcile
    project.ok("phase", "start", "2")
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"
    project.sandbox.clear_requests()

    document = json.loads(project.ok("status", "--issues", "--json").stdout)

    rows = {row["key"]: row for row in document["issues"]}
    assert rows["PROJ-2"]["state"] == "In Progress"
    assert rows["PROJ-2"]["drift"] == []
    searches = [r.json() for r in project.sandbox.requests if r.kind == "search"]
    reconciled = {i for body in searches for i in body.get("reconcileIssues", [])}
    assert len(reconciled) == 2, "PROJ-2 and the plan-level PROJ-1, both moved by phase start"
