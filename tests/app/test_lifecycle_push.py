"""Phase lifecycle events reach the linked issues, through the sandbox tracker over HTTP."""

from __future__ import annotations

from tests.sandbox_project import SandboxProject


def labels(project: SandboxProject, repo: str, number: int) -> list[str]:
    return sorted(project.sandbox.github_issue(repo, number)["labels"])


def started(project: SandboxProject, *args: str) -> SandboxProject:
    project.ok("start", "plans/MASTER_PLAN.md", *args)
    project.sandbox.clear_requests()
    return project


def test_phase_start_labels_its_issues_and_moves_jira(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.ok("phase", "start", "2")
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"]
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"
    # plan-level issues follow the run, which is now running
    assert labels(project, "octo/app", 1) == ["debussy:in-progress"]
    assert project.sandbox.jira_issue("PROJ-1")["status"] == "In Progress"
    # other phases' issues are left alone
    assert labels(project, "octo/app", 12) == []
    assert project.sandbox.jira_issue("PROJ-3")["status"] == "To Do"


def test_each_event_leaves_exactly_one_debussy_label_and_keeps_the_others(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    project.sandbox.set_labels("octo/app", 10, ["bug", "checkout"])
    project.ok("phase", "start", "1")
    assert labels(project, "octo/app", 10) == ["bug", "checkout", "debussy:in-progress"]
    project.ok("phase", "fail", "1", "--reason", "tests red")
    assert labels(project, "octo/app", 10) == ["bug", "checkout", "debussy:failed"]
    project.ok("phase", "block", "1", "--reason", "waiting for keys")
    assert labels(project, "octo/app", 10) == ["bug", "checkout", "debussy:blocked"]
    project.ok("phase", "done", "1")
    assert labels(project, "octo/app", 10) == ["bug", "checkout", "debussy:completed"]
    assert labels(project, "octo/lib", 7) == ["debussy:completed"], "cross-repo issue too"


def test_missing_labels_are_created_with_their_colours(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.ok("phase", "start", "1")
    import httpx

    label = httpx.get(
        f"{project.sandbox.github_api_url}/repos/octo/app/labels/debussy:in-progress",
        headers={"Authorization": "Bearer sandbox-github-token"},
        timeout=5,
    ).json()
    assert label["color"] == "1d76db"


def test_replaying_an_event_leaves_the_issues_as_they_were(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.ok("phase", "start", "2")
    before = project.sandbox.github_issue("octo/app", 11)
    jira_before = project.sandbox.jira_issue("PROJ-2")
    project.sandbox.clear_requests()
    replay = project.ok("phase", "start", "2")
    assert "already running" in replay.stdout
    assert "nothing to send" in replay.stdout
    assert project.sandbox.github_issue("octo/app", 11)["labels"] == before["labels"]
    assert project.sandbox.github_issue("octo/app", 11)["updated_at"] == before["updated_at"]
    assert project.sandbox.jira_issue("PROJ-2")["status"] == jira_before["status"]
    assert project.sandbox.request_count(writes_only=True) == 0, "nothing was written again"
    assert project.sandbox.request_count() == 2, "one GitHub read and one Jira search"


def test_dry_run_sync_prints_the_writes_and_sends_none(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    result = project.ok("phase", "start", "2", "--dry-run-sync")
    assert "GH-11: set label debussy:in-progress" in result.stdout
    assert "GH-1: set label debussy:in-progress" in result.stdout, "plan-level issues too"
    assert "PROJ-2: transition to 'In Progress'" in result.stdout
    assert "phase change is recorded" in result.stdout
    assert "NOT sent" in result.stdout
    assert project.sandbox.request_count(writes_only=True) == 0
    assert project.phase_statuses()["2"] == "running", "the event itself is recorded"
    assert labels(project, "octo/app", 11) == []


def test_a_tracker_outage_never_loses_the_event(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    project.sandbox.inject(platform="github", status=503, times=100)
    result = project.run("phase", "done", "1")
    assert result.exit_code == 1, "a push that did not finish is an error"
    assert "could not read" in result.stderr
    assert "phase change is recorded" in result.stderr
    assert "debussy phase done 1" in result.stderr, "says what finishes the push"
    assert "Traceback" not in result.output
    assert project.phase_statuses()["1"] == "completed"
    # once GitHub is back, replaying the event finishes the job, plan-level issues included
    project.sandbox.clear_faults()
    project.ok("phase", "done", "1")
    assert labels(project, "octo/app", 10) == ["debussy:completed"]
    assert labels(project, "octo/app", 1) == ["debussy:in-progress"]
    project.ok("status", "--issues", "--refresh", "--exit-code")


def test_a_5xx_write_is_recorded_unconfirmed_and_exits_1(sandbox_project: SandboxProject) -> None:
    """A 500 on a transition may have applied it: ``unconfirmed``, never ✓ (PRODUCT.md §8)."""
    project = started(sandbox_project)
    project.sandbox.inject(
        platform="jira", path="/rest/api/3/issue/PROJ-2/transitions", status=500, times=5
    )
    result = project.run("phase", "start", "2")
    assert result.exit_code == 1
    assert "PROJ-2: transition to 'In Progress' unconfirmed: Jira server error (500)" in (
        result.stderr
    )
    assert "✓ PROJ-2" not in result.stdout
    assert "debussy phase start 2" in result.stderr, "names the replay"
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"], "the rest went through"
    from debussy.state.manager import StateManager

    with StateManager(project.root / ".debussy" / "state.db") as state:
        pushes = state.pushes(state.get_run().id)
    assert ("PROJ-2", "unconfirmed") in {(p.ref, p.outcome) for p in pushes}
    project.sandbox.clear_faults()
    project.ok("phase", "start", "2")
    assert project.sandbox.jira_issue("PROJ-2")["status"] == "In Progress"


def test_a_missing_jira_transition_is_reported_and_exits_1(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.write_config(transitions={"in_progress": "Doing", "completed": "Done"})
    started(project)
    result = project.run("phase", "start", "2")
    assert result.exit_code == 1
    assert "PROJ-2: no transition to 'Doing'" in result.stderr
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"], "GitHub still updated"


def test_disabled_platforms_are_never_contacted(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.write_config(jira=False)
    started(project)
    project.ok("phase", "start", "2")
    assert project.sandbox.request_count("jira") == 0
    assert labels(project, "octo/app", 11) == ["debussy:in-progress"]


def test_completing_the_run_auto_closes_github_issues_with_a_comment(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project, "--auto-close")
    for phase_id in ("1", "2"):
        project.ok("phase", "done", phase_id)
        assert project.sandbox.github_issue("octo/app", 10)["state"] == "open", (
            "never on an individual phase"
        )
    result = project.ok("phase", "done", "3")
    assert "completed" in result.stdout
    for repo, number in [("octo/app", 1), ("octo/app", 10), ("octo/lib", 7), ("octo/app", 12)]:
        issue = project.sandbox.github_issue(repo, number)
        assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
        assert any("Checkout revamp" in comment for comment in issue["comments"])
    assert project.sandbox.jira_issue("PROJ-3")["status"] == "Done"


def test_without_auto_close_completion_only_labels(sandbox_project: SandboxProject) -> None:
    project = started(sandbox_project)
    for phase_id in ("1", "2", "3"):
        project.ok("phase", "done", phase_id)
    issue = project.sandbox.github_issue("octo/app", 12)
    assert issue["state"] == "open"
    assert issue["labels"] == ["debussy:completed"]
    assert labels(project, "octo/app", 1) == ["debussy:completed"]


def test_the_dashboard_sees_a_push_at_once_despite_the_cache(
    sandbox_project: SandboxProject,
) -> None:
    project = started(sandbox_project)
    assert project.issues_json()["drift_count"] == 0  # everything cached now
    project.ok("phase", "start", "2")
    project.sandbox.clear_requests()
    document = project.issues_json()
    assert document["drift_count"] == 0
    pushed = {i["key"]: i for i in document["issues"] if i["key"] in ("GH-11", "PROJ-2")}
    assert {i["source"] for i in pushed.values()} == {"fresh"}, "touched issues are re-read"
    assert pushed["GH-11"]["labels"] == ["debussy:in-progress"]
    untouched = [i for i in document["issues"] if i["key"] == "GH-12"]
    assert untouched[0]["source"] == "cache"
