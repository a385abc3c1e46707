"""Delivery evidence and structure, end to end through the sandbox over HTTP (issue 23).

Pull requests are read (never written) and judged against their phase; ``--reason``
reaches every linked issue of the phase once however often the event is replayed;
with ``github.sub_issues`` the phase issues become sub-issues of the plan issue.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from debussy.sandbox import SandboxTracker
from debussy.sandbox.project import PhaseSpec, PlanSpec, seed, write_plan
from debussy.state.manager import StateManager
from tests.sandbox_project import SANDBOX_ENV, SandboxProject

DELIVERED = PlanSpec(
    title="Delivered by pull requests",
    github=("#1",),
    phases=(
        PhaseSpec("1", "Merged alone", github=("https://github.com/octo/app/pull/20",)),
        PhaseSpec("2", "Still open", github=("#11", "#21")),
        PhaseSpec("3", "Abandoned", github=("octo/app#22",)),
    ),
    pulls={"https://github.com/octo/app/pull/20": "merged", "#21": "open", "octo/app#22": "closed"},
)


def project_for(
    root: Path, sandbox: SandboxTracker, spec: PlanSpec, **config: Any
) -> SandboxProject:
    project = SandboxProject(root, sandbox, env=dict(SANDBOX_ENV))
    project.write_config(**config)
    write_plan(root, spec)
    seed(sandbox, spec)
    return project


@pytest.fixture
def delivered(tmp_path: Path, sandbox: SandboxTracker) -> SandboxProject:
    project = project_for(tmp_path, sandbox, DELIVERED, jira=False)
    project.ok("start", "plans/MASTER_PLAN.md")
    return project


def issues_json(project: SandboxProject) -> dict[str, dict[str, Any]]:
    document = json.loads(project.run("status", "--issues", "--refresh", "--json").stdout)
    return {issue["key"]: issue for issue in document["issues"]}


def drift_types(issue: dict[str, Any]) -> list[str]:
    return [drift["type"] for drift in issue["drift"]]


def pull_request_writes(sandbox: SandboxTracker) -> list[str]:
    """Mutation inputs that name a pull request's node id (sandbox ids start ``PR_``)."""
    found: list[str] = []
    for request in sandbox.requests:
        if request.is_write:
            text = request.body.decode()
            if '"PR_' in text or "/pulls/" in request.path:
                found.append(text)
    return found


# --- pull requests --------------------------------------------------------------------------


def test_pull_requests_show_their_state_and_the_right_drift(delivered: SandboxProject) -> None:
    issues = issues_json(delivered)

    assert {
        key: (issues[key]["kind"], issues[key]["state"]) for key in ("GH-20", "GH-21", "GH-22")
    } == {
        "GH-20": ("pr", "merged"),
        "GH-21": ("pr", "open"),
        "GH-22": ("pr", "closed"),
    }
    assert issues["GH-11"]["kind"] == "issue"
    assert drift_types(issues["GH-20"]) == ["pr_merged"]
    assert drift_types(issues["GH-21"]) == []
    assert drift_types(issues["GH-22"]) == ["closed_externally"], "closed unmerged: not planned"
    assert all("missing" not in drift_types(issue) for issue in issues.values())

    started = delivered.ok("phase", "start", "2")
    assert "pull request" not in started.output, "nothing to say about an open PR yet"
    done = delivered.ok("phase", "done", "2")
    assert "GH-21 is a pull request (open)" in done.output, "the person must merge it"
    after = issues_json(delivered)
    assert drift_types(after["GH-21"]) == ["pr_not_merged"]
    assert after["GH-21"]["expected"]["state"] == "merged"

    table = delivered.run("status", "--issues").stdout
    assert "merged (pull request)" in table
    markdown = delivered.run("status", "--issues", "--format", "markdown").stdout
    assert "closed (pull request)" in markdown
    assert pull_request_writes(delivered.sandbox) == [], "a pull request is never written"


def test_sync_completes_a_phase_whose_only_link_merged(delivered: SandboxProject) -> None:
    delivered.sandbox.clear_requests()
    result = delivered.ok("sync", "--apply")

    statuses = delivered.phase_statuses()
    assert statuses["1"] == "completed", result.stdout
    assert statuses["3"] == "blocked", "closed without merging counts as not planned"
    assert statuses["2"] == "pending"
    assert delivered.sandbox.request_count(writes_only=True) == 0, "from-tracker writes nothing"


def test_to_tracker_lists_a_pull_request_as_something_it_cannot_fix(
    delivered: SandboxProject,
) -> None:
    delivered.ok("phase", "done", "2")
    delivered.sandbox.clear_requests()
    result = delivered.run("sync", "--direction", "to-tracker", "--apply", "--json")

    document = json.loads(result.stdout)
    assert "GH-21" in json.dumps(document.get("skipped", document))
    assert pull_request_writes(delivered.sandbox) == []


def test_a_merged_pull_request_is_evidence_in_the_reason_comment(delivered: SandboxProject) -> None:
    delivered.ok("phase", "fail", "2", "--reason", "tests red")

    (comment,) = delivered.sandbox.github_issue("octo/app", 11)["comments"]
    assert "tests red" in comment
    assert "GH-21 (open)" in comment, "the phase's pull requests with their state"
    assert delivered.sandbox.github_issue("octo/app", 21)["comments"] == [], "never on a PR"


# --- reasons as comments ----------------------------------------------------------------------


def git_repository(root: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q")
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    return git("rev-parse", "HEAD")


def test_a_reason_reaches_every_linked_issue_of_the_phase_once(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    commit = git_repository(project.root)
    project.ok("start", "plans/MASTER_PLAN.md")

    dry = project.ok("phase", "fail", "2", "--reason", "tests red", "--dry-run-sync")
    assert 'GH-11: comment "Reason: tests red"' in dry.stdout
    assert project.sandbox.github_issue("octo/app", 11)["comments"] == []
    project.ok("phase", "fail", "2", "--reason", "tests red")
    github = project.sandbox.github_issue("octo/app", 11)["comments"]
    jira = project.sandbox.jira_issue("PROJ-2")["comments"]
    assert len(github) == 1
    assert len(jira) == 1
    for text in (github[0], jira[0]):
        assert "phase 2" in text
        assert "failed" in text
        assert "tests red" in text
        assert commit in text
        assert "debussy:" in text
    assert "<!-- debussy:" in github[0], "hidden on GitHub"
    assert project.sandbox.github_issue("octo/app", 1)["comments"] == [], "the phase's issues only"
    assert project.sandbox.github_issue("octo/app", 12)["comments"] == []

    project.sandbox.clear_requests()
    for _ in range(2):
        project.ok("phase", "fail", "2", "--reason", "tests red")
    assert len(project.sandbox.github_issue("octo/app", 11)["comments"]) == 1
    assert len(project.sandbox.jira_issue("PROJ-2")["comments"]) == 1
    assert project.sandbox.request_count(writes_only=True) == 0, "a replay posts nothing"


def test_a_lost_comment_is_posted_by_the_replay(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "block", "1", "--reason", "waiting for keys")
    project.sandbox.delete_comments("octo/app", 10)

    project.ok("phase", "block", "1", "--reason", "waiting for keys")

    (comment,) = project.sandbox.github_issue("octo/app", 10)["comments"]
    assert "waiting for keys" in comment
    assert len(project.sandbox.github_issue("octo/lib", 7)["comments"]) == 1, "posted once"


def test_a_new_event_gets_its_own_comment(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.ok("phase", "fail", "2", "--reason", "tests red")
    project.ok("phase", "fail", "2", "--reason", "still red")

    comments = project.sandbox.github_issue("octo/app", 11)["comments"]
    assert [("tests red" in c, "still red" in c) for c in comments] == [
        (True, False),
        (False, True),
    ]


def test_the_auto_close_comment_names_the_run_and_its_phases_once(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.write_config(auto_close=True)
    project.ok("start", "plans/MASTER_PLAN.md")
    for phase in ("1", "2", "3"):
        project.ok("phase", "done", phase)
    (comment,) = project.sandbox.github_issue("octo/app", 1)["comments"]
    assert "Closed by Debussy" in comment
    assert "1 (Cart model)" in comment
    assert "3 (Rollout)" in comment

    project.sandbox.delete_comments("octo/app", 12)
    project.ok("phase", "done", "3")
    assert len(project.sandbox.github_issue("octo/app", 12)["comments"]) == 1, "lost: posted again"
    project.ok("phase", "done", "3")
    assert len(project.sandbox.github_issue("octo/app", 1)["comments"]) == 1, "never twice"


# --- sub-issues ------------------------------------------------------------------------------


def mutation_requests(sandbox: SandboxTracker) -> list[dict[str, Any]]:
    return [
        request.json()
        for request in sandbox.requests
        if request.kind == "graphql" and request.is_write
    ]


def test_start_makes_the_phase_issues_sub_issues_of_the_plan_issue(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.write_config(sub_issues=True)
    project.sandbox.add_issue("acme/tool", 3)
    phase = project.root / "plans" / "phases" / "phase-3.md"
    phase.write_text(phase.read_text().replace("#12", "#12, acme/tool#3"))
    project.sandbox.clear_requests()

    started = project.ok("start", "plans/MASTER_PLAN.md")

    assert project.sandbox.sub_issues("octo/app", 1) == [
        "octo/app#10",
        "octo/lib#7",
        "octo/app#11",
        "octo/app#12",
    ], "same owner, other repository included"
    assert "GH acme/tool#3 stays out of GH-1's sub-issues" in started.output, "another owner"
    mutations = mutation_requests(project.sandbox)
    assert len(mutations) == math.ceil(4 / 50)
    assert all("replaceParent" not in json.dumps(m) for m in mutations)

    issues = issues_json(project)
    assert issues["GH-1"]["sub_issues"] == {"completed": 0, "total": 4}
    assert all("structure" not in drift_types(issue) for issue in issues.values())

    project.sandbox.clear_requests()
    project.ok("phase", "start", "1")
    sent = json.dumps(mutation_requests(project.sandbox))
    assert "addSubIssue" not in sent, "a converged structure sends no structure write"


def test_an_issue_under_another_parent_stays_and_is_reported(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.write_config(sub_issues=True)
    project.sandbox.add_issue("octo/app", 50, title="Someone else's epic")
    project.sandbox.add_sub_issue("octo/app", 50, 11)

    result = project.ok("start", "plans/MASTER_PLAN.md")

    assert "octo/app#11" not in project.sandbox.sub_issues("octo/app", 1)
    assert project.sandbox.sub_issues("octo/app", 50) == ["octo/app#11"], "left where it is"
    assert "leaves it where it is" in result.output
    issues = issues_json(project)
    assert drift_types(issues["GH-11"]) == ["structure"]
    assert "octo/app#50" in issues["GH-11"]["drift"][0]["detail"]


def test_lifecycle_and_to_tracker_add_missing_links_in_few_requests(
    tmp_path: Path, sandbox: SandboxTracker
) -> None:
    spec = PlanSpec(
        title="Many phases",
        github=("#1",),
        phases=tuple(
            PhaseSpec(str(n), f"Phase {n}", github=(f"#{100 + n}",)) for n in range(1, 61)
        ),
    )
    project = project_for(tmp_path, sandbox, spec, jira=False)
    project.ok("start", "plans/MASTER_PLAN.md")  # without sub_issues: nothing linked
    project.write_config(jira=False, sub_issues=True)

    dry = project.run("sync", "--direction", "to-tracker")
    assert "make sub-issue of GH-1" in dry.stdout
    sandbox.clear_requests()
    project.ok("sync", "--direction", "to-tracker", "--apply")

    assert len(sandbox.sub_issues("octo/app", 1)) == 60
    assert len(mutation_requests(sandbox)) == math.ceil(61 / 50)
    cached = json.loads(project.run("status", "--issues", "--json").stdout)
    (plan_issue,) = [issue for issue in cached["issues"] if issue["key"] == "GH-1"]
    assert plan_issue["sub_issues"] == {"completed": 0, "total": 60}, "the parent was re-read"


def test_github_limits_are_refused_with_a_clear_message(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.write_config(sub_issues=True)
    project.sandbox.add_sub_issue("octo/app", 10, 1)  # the plan issue sits under a phase issue

    result = project.run("start", "plans/MASTER_PLAN.md")

    assert result.exit_code == 1
    assert "GitHub refuses cycles" in result.output
    assert "is started, but its phase issues are not all sub-issues" in result.output
    assert "Traceback" not in result.output
    assert project.sandbox.sub_issues("octo/app", 1) == ["octo/lib#7", "octo/app#11", "octo/app#12"]


def test_to_tracker_removes_only_links_debussy_added(sandbox_project: SandboxProject) -> None:
    project = sandbox_project
    project.write_config(sub_issues=True)
    project.ok("start", "plans/MASTER_PLAN.md")
    project.sandbox.add_issue("octo/app", 60, title="linked by a person")
    project.sandbox.add_sub_issue("octo/app", 1, 60)
    project.ok("phase", "start", "3")
    # the plan drops #12 (Debussy linked it) and never linked #60 (a person did)
    plan = project.root / "plans" / "phases" / "phase-3.md"
    plan.write_text(plan.read_text().replace("**GitHub Issues:** #12", "**GitHub Issues:** #13"))
    project.sandbox.add_issue("octo/app", 13)

    project.ok("sync", "--direction", "to-tracker", "--apply")

    children = project.sandbox.sub_issues("octo/app", 1)
    assert "octo/app#12" not in children
    assert "octo/app#60" in children
    assert "octo/app#13" in children
    with StateManager(project.root / ".debussy" / "state.db") as state:
        (entry,) = state.sync_history(limit=1)
    removed = [r for r in entry.results if r["action"] == "remove_sub_issue"]
    assert [r["ref"] for r in removed] == ["octo/app#12"], "history says what Debussy undid"


def test_a_dropped_sub_issue_without_a_label_is_taken_off_too(
    sandbox_project: SandboxProject,
) -> None:
    """Phase 3 never started: #12 has no Debussy label, only the link Debussy made."""
    project = sandbox_project
    project.write_config(sub_issues=True)
    project.ok("start", "plans/MASTER_PLAN.md")
    plan = project.root / "plans" / "phases" / "phase-3.md"
    plan.write_text(plan.read_text().replace("**GitHub Issues:** #12", "**GitHub Issues:** -"))

    drift = issues_json(project)
    assert drift_types(drift["GH-12"]) == ["structure"]
    project.ok("sync", "--direction", "to-tracker", "--apply")

    assert "octo/app#12" not in project.sandbox.sub_issues("octo/app", 1)
    assert project.sandbox.github_issue("octo/app", 12)["labels"] == []
    clean = json.loads(project.run("status", "--issues", "--refresh", "--json").stdout)
    assert clean["drift_count"] == 0


def test_a_saved_to_tracker_plan_links_sub_issues_exactly(
    sandbox_project: SandboxProject,
) -> None:
    project = sandbox_project
    project.ok("start", "plans/MASTER_PLAN.md")
    project.write_config(sub_issues=True)
    saved = project.root / "plan.json"
    project.ok("sync", "--direction", "to-tracker", "--out", str(saved))

    applied = json.loads(project.ok("sync", "--apply", str(saved), "--json").stdout)

    links = [r for r in applied["results"] if r["action"] == "add_sub_issue"]
    assert {r["issue"] for r in links} == {"GH-10", "GH octo/lib#7", "GH-11", "GH-12"}
    assert {r["outcome"] for r in links} == {"applied"}
    assert len(project.sandbox.sub_issues("octo/app", 1)) == 4
