"""``debussy status --issues`` end to end: the real command against the sandbox tracker over HTTP.

Each test starts a run of the four-phase plan in ``conftest.py``, moves phases with
the real lifecycle commands (which push labels and transitions to the sandbox),
changes issues "by hand" in the sandbox, and reads the dashboard as a user would.
The sandbox's clock is shifted to say whether the tracker or Debussy changed last.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from debussy.app.dashboard import cache_path
from debussy.issues import GitHubRef
from debussy.sync.cache import IssueCache
from tests.app.dashboard.conftest import SandboxProject

LATER = timedelta(hours=1)
EARLIER = -timedelta(hours=1)


def drift_of(issue: dict[str, Any]) -> list[tuple[str, str]]:
    return [(drift["type"], drift["newer"]) for drift in issue["drift"]]


def drifts(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {issue["key"]: drift_of(issue) for issue in document["issues"] if issue["drift"]}


# --- drift, as people cause it --------------------------------------------------------------


def test_every_drift_type_when_people_changed_the_tracker_last(project: SandboxProject) -> None:
    sandbox = project.sandbox
    project.ok("phase", "start", "1")
    project.ok("phase", "start", "2")
    project.ok("phase", "done", "2")
    clean = project.issues("--refresh")
    assert drifts(clean) == {"GH-99": [("missing", "unknown")]}, "Debussy's own pushes are clean"

    project.clock.offset = LATER  # everything below happens after Debussy's last change
    sandbox.close_issue("octo/app", 10, "not_planned")  # phase 1 running
    sandbox.set_labels("octo/app", 11, ["debussy:failed", "bug"])
    sandbox.move_jira_issue("PROJ-10", "To Do")
    sandbox.close_issue("octo/app", 21, "not_planned")  # phase 2 completed
    sandbox.close_issue("octo/app", 30, "completed")  # phase 3 pending
    sandbox.move_jira_issue("PROJ-30", "Won't Do", "Won't Do")
    sandbox.hide_jira_issue("PROJ-40")
    document = project.issues("--refresh")

    assert drifts(document) == {
        "GH-10": [("closed_externally", "tracker")],
        "GH-11": [("label_mismatch", "tracker")],
        "PROJ-10": [("status_mismatch", "tracker")],
        "GH-21": [("status_mismatch", "tracker")],
        "GH-30": [("closed_externally", "tracker")],
        "PROJ-30": [("closed_externally", "tracker")],
        "GH-99": [("missing", "unknown")],
        "PROJ-40": [("missing", "unknown")],
    }
    issues = project.by_key(document)
    assert issues["GH-10"]["state_reason"] == "not_planned"
    assert "not planned" in issues["GH-10"]["drift"][0]["detail"]
    assert issues["PROJ-30"]["state_reason"] == "Won't Do"
    assert issues["PROJ-30"]["status_category"] == "done"
    assert issues["GH-11"]["labels"] == ["bug", "debussy:failed"]
    assert issues["GH-99"]["state"] == "missing"
    assert document["drift_count"] == 8
    assert document["errors"] == []


def test_a_reopened_issue_stays_reopened_until_someone_acts(project: SandboxProject) -> None:
    sandbox = project.sandbox
    project.ok("phase", "start", "2")
    project.ok("phase", "done", "2")
    project.clock.offset = LATER
    sandbox.close_issue("octo/app", 20, "completed")
    sandbox.move_jira_issue("PROJ-20", "Done", "Done")
    agreed = project.by_key(project.issues("--refresh"))
    assert (agreed["GH-20"]["drift"], agreed["PROJ-20"]["drift"]) == ([], [])

    project.clock.offset = LATER * 2
    sandbox.reopen_issue("octo/app", 20)
    sandbox.move_jira_issue("PROJ-20", "In Progress")
    for _look in range(2):  # the second look must not have forgotten the closed snapshot
        found = drifts(project.issues("--refresh"))
        assert found["GH-20"] == [("reopened_externally", "tracker")]
        assert found["PROJ-20"] == [("reopened_externally", "tracker")]


def test_a_label_difference_does_not_stop_remembering_the_closed_state(
    project: SandboxProject,
) -> None:
    sandbox = project.sandbox
    project.ok("phase", "start", "2")
    project.ok("phase", "done", "2")
    project.clock.offset = LATER
    sandbox.close_issue("octo/app", 20, "completed")
    sandbox.set_labels("octo/app", 20, [])
    assert drifts(project.issues("--refresh"))["GH-20"] == [("label_mismatch", "tracker")]
    project.clock.offset = LATER * 2
    sandbox.reopen_issue("octo/app", 20)
    assert drifts(project.issues("--refresh"))["GH-20"] == [
        ("reopened_externally", "tracker"),
        ("label_mismatch", "tracker"),
    ]


def test_an_issue_that_never_agreed_is_not_reported_reopened(project: SandboxProject) -> None:
    """Without a remembered closed state, an open issue of a completed phase is only a label drift."""
    project.ok("phase", "done", "2", "--dry-run-sync")
    found = drifts(project.issues())
    assert found["GH-20"] == [("label_mismatch", "debussy")]


def test_an_auto_closed_issue_reopened_by_hand(project: SandboxProject) -> None:
    project.configure(auto_close=True)
    project.ok("start", "plans/MASTER_PLAN.md", "--auto-close", "--force")
    for phase in ("1", "2", "3", "4"):
        project.ok("phase", "done", phase)
    closed = project.by_key(project.issues("--refresh"))
    assert closed["GH-1"]["state"] == "closed"
    assert closed["GH-1"]["expected"]["state"] == "closed"
    project.clock.offset = LATER
    project.sandbox.reopen_issue("octo/app", 40)
    found = drifts(project.issues("--refresh"))
    assert found["GH-40"] == [("reopened_externally", "tracker")]


def test_drift_debussy_caused_is_marked_debussy_newer(project: SandboxProject) -> None:
    sandbox = project.sandbox
    project.clock.offset = EARLIER  # people changed these an hour before Debussy moved
    sandbox.close_issue("octo/app", 30, "not_planned")
    sandbox.move_jira_issue("PROJ-30", "Done", "Done")
    project.ok("phase", "start", "3", "--dry-run-sync")  # Debussy moves, pushes nothing
    found = drifts(project.issues())
    assert found["GH-30"] == [("closed_externally", "debussy"), ("label_mismatch", "debussy")]
    assert found["PROJ-30"] == [("closed_externally", "debussy")]
    assert found["GH octo/other#7"] == [("label_mismatch", "debussy")]


def test_plan_level_issues_follow_the_runs_aggregate(project: SandboxProject) -> None:
    project.ok("phase", "start", "1")
    issues = project.by_key(project.issues())
    assert issues["GH-1"]["phase"] is None
    assert issues["GH-1"]["expected"] == {"state": "open", "labels": ["debussy:in-progress"]}
    assert issues["GH-1"]["labels"] == ["debussy:in-progress"]
    assert issues["PROJ-1"]["expected"] == {"status_category": "indeterminate"}
    assert issues["PROJ-1"]["state"] == "In Progress"


# --- the cache across invocations -----------------------------------------------------------


def test_a_second_look_within_the_ttl_sends_no_request(project: SandboxProject) -> None:
    sandbox = project.sandbox
    sandbox.clear_requests()
    first = project.issues()
    assert sandbox.request_count("github") == 1, "9 issues in one GraphQL query"
    assert sandbox.request_count("jira") == 1, "5 issues in one search"
    assert first["cache"]["fetched"] == len(first["issues"]) == 14
    assert first["cache"]["requests"] == 2
    sandbox.clear_requests()
    second = project.issues()
    assert sandbox.request_count() == 0
    assert {issue["source"] for issue in second["issues"]} == {"cache"}
    assert second["cache"] | {"oldest_age_seconds": None} == {
        "from_cache": 14,
        "fetched": 0,
        "requests": 0,
        "oldest_age_seconds": None,
        "stale": False,
    }
    assert drifts(second) == drifts(first)


def test_refresh_fetches_again_and_updates_the_cache(project: SandboxProject) -> None:
    project.issues()
    project.clock.offset = LATER
    project.sandbox.close_issue("octo/app", 40, "completed")
    assert project.by_key(project.issues())["GH-40"]["state"] == "open", "still cached"
    project.sandbox.clear_requests()
    assert project.by_key(project.issues("--refresh"))["GH-40"]["state"] == "closed"
    assert project.sandbox.request_count() == 2
    project.sandbox.clear_requests()
    assert project.by_key(project.issues())["GH-40"]["state"] == "closed"
    assert project.sandbox.request_count() == 0


def test_ttl_zero_asks_the_trackers_every_time(project: SandboxProject) -> None:
    project.configure(ttl=0)
    project.sandbox.clear_requests()
    for _ in range(2):
        assert {i["source"] for i in project.issues()["issues"]} == {"fresh"}
    assert project.sandbox.request_count() == 4


def test_verbose_logs_hits_and_misses_on_stderr(project: SandboxProject) -> None:
    cold = project.cli("status", "--issues", "-v")
    assert "cache miss: octo/app#10 (not cached)" in cold.stderr
    warm = project.cli("status", "--issues", "-v")
    assert "cache hit: octo/app#10 (fetched just now)" in warm.stderr
    assert "cache hit: PROJ-10 (fetched just now)" in warm.stderr
    assert "cache" not in warm.stdout.lower().replace("cached", "")


# --- trackers that fail --------------------------------------------------------------------------


def test_a_tracker_down_shows_cached_data_as_stale_and_exits_1(project: SandboxProject) -> None:
    project.issues()
    with IssueCache(cache_path(project.root), 300) as cache:
        host = urlsplit(project.sandbox.github_api_url).netloc
        cache.invalidate(host, [GitHubRef("octo/app", 40)])
    project.sandbox.inject(platform="github", status=503, times=100)
    document = project.issues("--refresh", code=1)
    issues = project.by_key(document)
    assert issues["GH-40"]["source"] == "unknown"
    assert issues["GH-40"]["state"] is None
    assert issues["GH-40"]["error"] == "GitHub is unavailable (503)"
    assert issues["GH-10"]["source"] == "stale"
    assert issues["GH-10"]["state"] == "open"
    assert isinstance(issues["GH-10"]["age_seconds"], int)
    assert issues["PROJ-10"]["source"] == "fresh", "Jira was still read"
    assert document["cache"]["stale"] is True
    assert document["errors"] == [
        {"platform": "github", "kind": "server_error", "message": "GitHub is unavailable (503)"}
    ]

    text = project.cli("status", "--issues", "--refresh")
    assert text.exit_code == 1
    assert "(stale, fetched" in text.stdout
    assert "unknown" in text.stdout
    warnings = [line for line in text.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: GitHub could not be read: GitHub is unavailable (503) "
        "(8 shown from cache (stale), 1 unknown)"
    ]


def test_stale_data_alone_still_exits_1(project: SandboxProject) -> None:
    project.issues()
    project.sandbox.inject(platform="jira", status=503, times=100)
    document = project.issues("--refresh", code=1)
    assert {i["source"] for i in document["issues"] if i["platform"] == "jira"} == {"stale"}


def test_a_rejected_token_prints_one_line_naming_the_variable(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", env={"GITHUB_TOKEN": "ghp_not-the-right-one"})
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "GITHUB_TOKEN" in errors[0]
    assert "401" in errors[0]
    assert "Traceback" not in result.stderr
    assert "PROJ-10" in result.stdout, "what could be read is still shown"


def test_missing_jira_credentials_name_both_variables(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", env={"JIRA_API_TOKEN": "", "JIRA_EMAIL": ""})
    assert result.exit_code == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "JIRA_EMAIL" in error
    assert "JIRA_API_TOKEN" in error
    assert project.sandbox.request_count("jira") == 0


# --- platforms switched off ---------------------------------------------------------------------


def test_github_only(project: SandboxProject) -> None:
    project.configure(jira=False)
    project.sandbox.clear_requests()
    document = project.issues()
    assert project.sandbox.request_count("jira") == 0
    assert project.sandbox.request_count("github") == 1
    sources = {(i["platform"], i["source"]) for i in document["issues"]}
    assert sources == {("github", "fresh"), ("jira", "disabled")}
    text = project.ok("status", "--issues").stdout
    assert "Jira disabled in config: 5 issues not checked" in text


def test_jira_only(project: SandboxProject) -> None:
    project.configure(github=False)
    project.sandbox.clear_requests()
    document = project.issues()
    assert project.sandbox.request_count("github") == 0
    sources = {(i["platform"], i["source"]) for i in document["issues"]}
    assert sources == {("github", "disabled"), ("jira", "fresh")}
    jira = [i for i in document["issues"] if i["platform"] == "jira"]
    assert [i["key"] for i in jira] == ["PROJ-1", "PROJ-10", "PROJ-20", "PROJ-30", "PROJ-40"]


def test_both_disabled_contacts_nobody_and_succeeds(project: SandboxProject) -> None:
    project.configure(github=False, jira=False)
    project.sandbox.clear_requests()
    document = project.issues()
    assert project.sandbox.request_count() == 0
    assert {i["source"] for i in document["issues"]} == {"disabled"}
    assert document["cache"]["requests"] == 0


# --- exit codes and errors before rendering -------------------------------------------------------


def test_exit_code_3_for_drift_only_when_asked(project: SandboxProject) -> None:
    assert project.cli("status", "--issues").exit_code == 0
    assert project.cli("status", "--issues", "--exit-code").exit_code == 3
    project.issues("--exit-code", code=3)


def test_exit_code_0_when_everything_agrees(project: SandboxProject) -> None:
    project.sandbox.add_issue("octo/app", 99)  # the only issue that was missing
    document = project.issues("--exit-code")
    assert document["drift_count"] == 0
    text = project.cli("status", "--issues", "--exit-code")
    assert text.exit_code == 0
    assert "diverged" not in text.stdout


def test_unknown_issues_exit_1_even_with_exit_code(project: SandboxProject) -> None:
    project.sandbox.inject(platform="github", status=503, times=100)
    project.issues("--exit-code", code=1)


def test_a_run_can_be_chosen(project: SandboxProject) -> None:
    first_run = project.issues()["run"]["id"]
    project.ok("start", "plans/MASTER_PLAN.md", "--force")
    assert project.issues()["run"]["id"] != first_run
    assert project.issues("--run", first_run)["run"]["id"] == first_run


def test_an_unknown_run_is_one_line_and_exit_1(project: SandboxProject) -> None:
    result = project.cli("status", "--issues", "--run", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "Error: no run with id 'nope' (see `debussy history`)"
    ]


def test_a_bad_config_is_one_line_and_exit_1(project: SandboxProject) -> None:
    (project.root / ".debussy" / "config.yaml").write_text("cache: {ttl_seconds: -1}\n")
    result = project.cli("status", "--issues", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "cache.ttl_seconds" in line


def test_no_project_is_one_line_and_exit_1(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    from click.testing import CliRunner

    from debussy.cli import cli

    result = CliRunner().invoke(cli, ["status", "--issues"])
    assert result.exit_code == 1
    assert "debussy init" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_run_without_linked_issues(project: SandboxProject) -> None:
    plan = project.root / "plans" / "bare.md"
    plan.write_text(
        "# Bare\n\n| Phase | Title | Status |\n|---|---|---|\n| 1 | [One](one.md) | Pending |\n"
    )
    (project.root / "plans" / "one.md").write_text("# One\n")
    project.ok("start", "plans/bare.md")
    project.sandbox.clear_requests()
    document = project.issues()
    assert document["issues"] == []
    assert document["drift_count"] == 0
    assert project.sandbox.request_count() == 0
    assert "No issues are linked" in project.ok("status", "--issues").stdout


def test_unread_issues_still_link_to_their_pages(project: SandboxProject) -> None:
    project.sandbox.inject(platform="jira", status=503, times=100)
    issues = project.by_key(project.issues(code=1))
    assert issues["PROJ-10"]["url"] == f"{project.sandbox.jira_url}/browse/PROJ-10"
    assert issues["GH-99"]["url"] == f"{project.sandbox.url}/octo/app/issues/99"
