"""Writes tell the truth: every answer shape of PRODUCT.md §9 ends in the right outcome.

Each test drives the real client through the in-process sandbox with one answer
shape switched on (``debussy.sandbox.faults``) and asserts the outcome of every
write, that no mutating request follows a stop signal, and (where a write may
have been lost) that a second pass converges. docs/RELIABILITY.md lists the shapes
and the public sources they are recorded from.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from debussy.config import JiraConfig
from debussy.issues import GitHubRef, JiraRef
from debussy.sandbox import SandboxTracker
from debussy.sandbox.faults import MUTATION_ANSWERS
from debussy.sync.trackers.github.client import GitHubClient
from debussy.sync.trackers.jira.client import JiraClient
from debussy.sync.trackers.writes import TrackerWrite, WriteResult
from tests.fixtures.sandbox_clients import JIRA_EMAIL, JIRA_TOKEN, InProcessSandbox

APP = "octo/app"


@pytest.fixture
def box() -> InProcessSandbox:
    return InProcessSandbox()


def refs(count: int) -> list[GitHubRef]:
    return [GitHubRef(APP, number) for number in range(1, count + 1)]


def seed(box: InProcessSandbox, issues: list[GitHubRef], *labels: str) -> None:
    for ref in issues:
        box.tracker.add_issue(APP, ref.number, labels=labels)


def add_label(ref: GitHubRef, label: str = "debussy:in-progress", *remove: str) -> TrackerWrite:
    return TrackerWrite(
        ref, f"GH-{ref.number}", "1", "set_label", label, add=(label,), remove=remove
    )


def write_all(
    box: InProcessSandbox,
    issues: list[GitHubRef],
    make: Callable[[GitHubRef], TrackerWrite] = add_label,
) -> list[WriteResult]:
    """Read for writing, then send one write per issue, with one client (no pacing sleeps)."""

    async def main() -> list[WriteResult]:
        client: GitHubClient = box.github_client(config=box.github_config(write_interval_seconds=0))
        async with client:
            await client.read_for_writes(issues)
            return await client.apply_writes([make(ref) for ref in issues])

    return asyncio.run(main())


def mutations(box: InProcessSandbox) -> list[str]:
    """The query of each mutation request the sandbox answered, oldest first."""
    return [
        str(r.json()["query"]) for r in box.tracker.requests if r.kind == "graphql" and r.is_write
    ]


def outcomes(results: list[WriteResult]) -> list[str]:
    return [r.outcome for r in results]


def label_the_repository(box: InProcessSandbox) -> None:
    """The label exists already, so every mutation request is a write batch."""
    box.tracker.add_issue(APP, 999, labels=["debussy:in-progress"])
    box.tracker.set_labels(APP, 999, [])


# --- GraphQL answers that do not confirm a write -----------------------------------------


def test_every_field_null_without_an_error_is_unconfirmed_and_a_replay_converges(
    box: InProcessSandbox,
) -> None:
    issues = refs(3)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject_mutation_answer("null_fields")
    results = write_all(box, issues)
    assert outcomes(results) == ["unconfirmed"] * 3, "a null field confirms nothing"
    assert "null" in (results[0].detail or "")
    replay = write_all(box, issues)
    assert outcomes(replay) == ["applied"] * 3
    assert all(
        box.tracker.github_issue(APP, r.number)["labels"] == ["debussy:in-progress"] for r in issues
    )


@pytest.mark.parametrize("kind", ["pathless_error", "resource_limits"])
def test_partial_results_after_a_pathless_error_stop_the_writes(
    box: InProcessSandbox, kind: str
) -> None:
    """Fields after "Something went wrong..." / "Resource limits exceeded" are unconfirmed;
    the fields before it applied; no further request goes out (the request ran out of time)."""
    issues = refs(60)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject_mutation_answer(kind, after=2)
    results = write_all(box, issues)
    assert outcomes(results)[:2] == ["applied", "applied"]
    assert outcomes(results)[2:50] == ["unconfirmed"] * 48
    assert outcomes(results)[50:] == ["skipped"] * 10
    assert len(mutations(box)) == 1, "no mutation request after the stop signal"
    assert box.tracker.github_issue(APP, 3)["labels"] == [], "the sandbox applied only two"
    replay = write_all(box, issues)
    assert set(outcomes(replay)) == {"applied"}


def test_submitted_too_quickly_on_one_alias_stops_every_later_write(box: InProcessSandbox) -> None:
    """GitHub's content-creation limit, per field (cli/cli#4801): refused, and a stop signal."""
    issues = refs(120)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject_mutation_answer("too_quickly", after=3)
    results = write_all(box, issues)
    assert outcomes(results)[:3] == ["applied"] * 3
    assert outcomes(results)[3:50] == ["refused"] * 47
    assert "submitted too quickly" in (results[3].detail or "")
    assert outcomes(results)[50:] == ["skipped"] * 70
    assert "not sent" in (results[-1].detail or "")
    assert len(mutations(box)) == 1, "no mutation request after the refused one"


def test_at_most_fifty_mutations_go_in_one_request(box: InProcessSandbox) -> None:
    """Relabelling takes two fields per issue (remove, add): 40 issues are two requests."""
    issues = refs(40)
    seed(box, issues, "debussy:failed")
    label_the_repository(box)
    results = write_all(
        box, issues, lambda ref: add_label(ref, "debussy:in-progress", "debussy:failed")
    )
    assert set(outcomes(results)) == {"applied"}
    sent = mutations(box)
    assert [query.count("(input:") for query in sent] == [50, 30]


def test_the_mutation_answer_parsers_cover_every_shape() -> None:
    """Every switchable mutation answer is pinned by a test above (keeps the list honest)."""
    assert set(MUTATION_ANSWERS) == {
        "null_fields",
        "pathless_error",
        "resource_limits",
        "too_quickly",
    }


# --- stop signals ------------------------------------------------------------------------


def _secondary_200(tracker: SandboxTracker) -> None:
    tracker.inject_secondary_limit(status=200, writes_only=True)


def _rate_limited_200(tracker: SandboxTracker) -> None:
    tracker.inject(
        platform="github", path="/api/graphql$", graphql_error="RATE_LIMITED", writes_only=True
    )


def _abuse_403(tracker: SandboxTracker) -> None:
    tracker.inject_abuse_limit(writes_only=True)


def _secondary_429(tracker: SandboxTracker) -> None:
    tracker.inject_secondary_limit(status=429, writes_only=True)


def _secondary_in_a_422(tracker: SandboxTracker) -> None:
    tracker.inject(
        platform="github",
        status=422,
        body=json.dumps({"message": "You have exceeded a secondary rate limit."}),
        writes_only=True,
    )


@pytest.mark.parametrize(
    "limit",
    [_secondary_200, _rate_limited_200, _abuse_403, _secondary_429, _secondary_in_a_422],
    ids=["secondary-200-no-type", "RATE_LIMITED-remaining-not-0", "abuse-403", "429", "422"],
)
def test_every_rate_limit_shape_stops_the_writes_at_once(
    box: InProcessSandbox, limit: Callable[[SandboxTracker], None]
) -> None:
    issues = refs(120)
    seed(box, issues)
    label_the_repository(box)
    limit(box.tracker)
    results = write_all(box, issues)
    assert outcomes(results)[:50] == ["refused"] * 50, "the limited request applied nothing"
    assert outcomes(results)[50:] == ["skipped"] * 70
    assert len(mutations(box)) == 1, "not retried, and nothing sent after it"
    assert "token" not in (results[0].detail or "").lower(), "a limit is not the token's fault"


@pytest.mark.parametrize("status", [502, 504, 500])
def test_a_5xx_on_a_mutation_batch_is_unconfirmed_and_stops(
    box: InProcessSandbox, status: int
) -> None:
    issues = refs(120)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject(platform="github", status=status, writes_only=True, times=10)
    results = write_all(box, issues)
    assert outcomes(results)[:50] == ["unconfirmed"] * 50, "it may have applied"
    assert outcomes(results)[50:] == ["skipped"] * 70
    assert len(mutations(box)) == 1, "no later 50-issue batch went out"


def test_a_timed_out_mutation_batch_is_unconfirmed_not_failed(box: InProcessSandbox) -> None:
    issues = refs(60)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject(platform="github", transport_error="read_timeout", writes_only=True)
    results = write_all(box, issues)
    assert outcomes(results)[:50] == ["unconfirmed"] * 50
    assert outcomes(results)[50:] == ["skipped"] * 10
    assert len(mutations(box)) == 1, "the timed-out request, and nothing after it"


def test_the_primary_limit_names_its_reset_not_a_minute(box: InProcessSandbox) -> None:
    """A 403 "API rate limit exceeded" resets at ``x-ratelimit-reset``, and is no token fault."""
    issues = refs(2)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject_primary_limit(reset_in=45 * 60, writes_only=True)
    results = write_all(box, issues)
    detail = results[0].detail or ""
    assert outcomes(results) == ["refused", "refused"]
    assert "API rate limit" in detail
    assert "secondary" not in detail
    assert "in 45 min" in detail or "in 44 min" in detail, detail
    assert "GITHUB_TOKEN" not in detail


def test_a_limit_resetting_within_ten_seconds_is_waited_out(box: InProcessSandbox) -> None:
    issues = refs(2)
    seed(box, issues)
    label_the_repository(box)
    box.tracker.inject_secondary_limit(retry_after=3, writes_only=True)
    results = write_all(box, issues)
    assert outcomes(results) == ["applied", "applied"]
    assert len(mutations(box)) == 2, "the limited request, then the same one after the wait"


# --- Jira --------------------------------------------------------------------------------


def jira(box: InProcessSandbox) -> JiraClient:
    config = JiraConfig(url=box.tracker.jira_url, deployment="cloud")  # type: ignore[call-arg]
    return JiraClient(config, email=JIRA_EMAIL, token=JIRA_TOKEN, transport=box.transport)


def converge_jira(
    box: InProcessSandbox, keys: list[str], status: str = "Done"
) -> list[WriteResult]:
    """Read ``keys`` with transitions, then move each to ``status`` by the offered id."""

    async def main() -> list[WriteResult]:
        async with jira(box) as client:
            views = await client.read_for_writes([JiraRef(key) for key in keys])
            writes: list[TrackerWrite] = []
            for key in keys:
                view = views[JiraRef(key)]
                offered = [t for t in view.transitions if t.to_name == status]
                if offered:
                    writes.append(
                        TrackerWrite(
                            JiraRef(key),
                            key,
                            "1",
                            "transition",
                            status,
                            target_id=offered[0].id,
                            target_category=offered[0].to_category,
                        )
                    )
            return await client.apply_writes(writes)

    return asyncio.run(main())


def test_a_jira_403_on_one_issue_refuses_that_issue_only(box: InProcessSandbox) -> None:
    for key in ("PROJ-1", "PROJ-2", "PROJ-3"):
        box.tracker.add_jira_issue(key)
    box.tracker.inject(
        platform="jira",
        path="/issue/PROJ-2/transitions",
        method="POST",
        status=403,
        body=json.dumps(
            {"errorMessages": ["You do not have permission to transition this issue."]}
        ),
    )
    results = converge_jira(box, ["PROJ-1", "PROJ-2", "PROJ-3"])
    assert outcomes(results) == ["applied", "refused", "applied"]
    assert "permission to transition" in (results[1].detail or "")
    assert box.tracker.jira_issue("PROJ-3")["status"] == "Done"


def test_a_jira_5xx_on_a_transition_is_unconfirmed_and_stops_the_rest(
    box: InProcessSandbox,
) -> None:
    keys = [f"PROJ-{n}" for n in range(1, 21)]
    for key in keys:
        box.tracker.add_jira_issue(key)
    box.tracker.inject(platform="jira", path="/transitions$", method="POST", status=503, times=100)
    results = converge_jira(box, keys)
    assert "applied" not in outcomes(results)
    assert "unconfirmed" in outcomes(results)
    assert "skipped" in outcomes(results)
    sent = [r for r in box.tracker.requests if r.platform == "jira" and r.is_write]
    assert len(sent) <= 8, "only the moves already in flight; none after the stop signal"


def test_a_move_another_event_already_made_is_already_not_a_failure(box: InProcessSandbox) -> None:
    """Two `phase done` at once: the second's transition is gone (Jira's 400 "not valid for
    this issue"), and the issue is where both wanted it."""
    box.tracker.add_jira_issue("PROJ-1", status="In Progress")

    async def main() -> list[WriteResult]:
        async with jira(box) as client:
            view = (await client.read_for_writes([JiraRef("PROJ-1")]))[JiraRef("PROJ-1")]
            [done] = [t for t in view.transitions if t.to_name == "Done"]
            box.tracker.move_jira_issue("PROJ-1", "Done", "Done")  # the other event
            write = TrackerWrite(
                JiraRef("PROJ-1"),
                "PROJ-1",
                "1",
                "transition",
                "Done",
                target_id=done.id,
                target_category=done.to_category,
            )
            return await client.apply_writes([write])

    [result] = asyncio.run(main())
    assert result.outcome == "already", result.detail


def test_writes_follow_a_moved_jira_issue(box: InProcessSandbox) -> None:
    box.tracker.add_jira_issue("PROJ-2")
    box.tracker.move_jira_issue_to_project("PROJ-2", "CORE-7")
    [result] = converge_jira(box, ["PROJ-2"])
    assert result.outcome == "applied"
    assert box.tracker.jira_issue("CORE-7")["status"] == "Done"
    posts = [r.path for r in box.tracker.requests if r.platform == "jira" and r.is_write]
    assert posts == ["/rest/api/3/issue/CORE-7/transitions"]


def test_the_write_read_reconciles_issues_moved_moments_ago(box: InProcessSandbox) -> None:
    """Jira Cloud's search trails writes: the write read names recent moves in
    ``reconcileIssues`` (at most 50 per request), or it plans from the old status."""
    keys = [f"PROJ-{n}" for n in range(1, 61)]
    for key in keys:
        box.tracker.add_jira_issue(key)
    box.tracker.jira_scene(search_lag=True)

    async def main() -> tuple[list[str], list[int]]:
        async with jira(box) as first:
            views = await first.read_for_writes([JiraRef(k) for k in keys])
            start = [
                TrackerWrite(JiraRef(k), k, "1", "transition", "In Progress", target_id="21")
                for k in keys
            ]
            await first.apply_writes(start)
            moved = first.written_ids()
        assert all(v.status.state == "To Do" for v in views.values())
        async with jira(box) as second:  # the next command: another process
            second.learn_ids(moved)
            box.tracker.clear_requests()
            again = await second.read_for_writes([JiraRef(k) for k in keys])
        ids = [
            i
            for r in box.tracker.requests
            if r.kind == "search"
            for i in r.json().get("reconcileIssues", [])
        ]
        return [v.status.state or "" for v in again.values()], ids

    states, reconciled = asyncio.run(main())
    assert set(states) == {"In Progress"}, "not the lagging index's To Do"
    assert len(reconciled) == 60
    searches = [r.json() for r in box.tracker.requests if r.kind == "search"]
    assert all(len(body.get("reconcileIssues", [])) <= 50 for body in searches)
