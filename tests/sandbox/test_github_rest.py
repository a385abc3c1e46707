"""GitHub REST behaviour of the sandbox: what clients depend on, checked over HTTP."""

from __future__ import annotations

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.timeutil import parse_iso

ISSUE = "/repos/octo/app/issues"


@pytest.fixture
def issue12(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_issue("octo/app", 12, title="Ship it", labels=["debussy:in-progress", "bug"])
    return sandbox


def label_names(response: httpx.Response) -> list[str]:
    return [label["name"] for label in response.json()]


# --------------------------------------------------------------------------- ETag / 304


def test_matching_etag_answers_304_with_empty_body(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    first = github.get(f"{ISSUE}/12")

    again = github.get(f"{ISSUE}/12", headers={"If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_etag_changes_when_the_issue_changes(issue12: SandboxTracker, github: httpx.Client) -> None:
    etag = github.get(f"{ISSUE}/12").headers["etag"]
    issue12.close_issue("octo/app", 12)

    again = github.get(f"{ISSUE}/12", headers={"If-None-Match": etag})

    assert again.status_code == 200
    assert again.json()["state"] == "closed"
    assert again.headers["etag"] != etag


def test_strong_form_of_a_weak_etag_still_matches(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    etag = github.get(f"{ISSUE}/12").headers["etag"]

    again = github.get(f"{ISSUE}/12", headers={"If-None-Match": etag.removeprefix("W/")})

    assert again.status_code == 304


def test_not_modified_does_not_count_against_the_rate_limit(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    first = github.get(f"{ISSUE}/12")
    used = int(first.headers["x-ratelimit-used"])

    again = github.get(f"{ISSUE}/12", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert int(again.headers["x-ratelimit-used"]) == used
    assert github.get(f"{ISSUE}/12").headers["x-ratelimit-used"] == str(used + 1)


# --------------------------------------------------------------------------- close / reopen


def test_closing_defaults_to_completed_and_sets_closed_at(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    before = parse_iso(github.get(f"{ISSUE}/12").json()["updated_at"])

    closed = github.patch(f"{ISSUE}/12", json={"state": "closed"}).json()

    assert closed["state"] == "closed"
    assert closed["state_reason"] == "completed"
    assert closed["closed_at"] is not None
    assert closed["closed_at"] == closed["updated_at"]
    assert parse_iso(closed["updated_at"]) > before
    assert issue12.github_issue("octo/app", 12)["state_reason"] == "completed"


def test_closing_as_not_planned_keeps_the_reason(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    closed = github.patch(f"{ISSUE}/12", json={"state": "closed", "state_reason": "not_planned"})

    assert closed.json()["state_reason"] == "not_planned"


def test_reopening_sets_reopened_and_clears_closed_at(
    sandbox: SandboxTracker, github: httpx.Client
) -> None:
    sandbox.add_issue("octo/app", 7, state="closed")

    reopened = github.patch(f"{ISSUE}/7", json={"state": "open"}).json()

    assert reopened["state"] == "open"
    assert reopened["state_reason"] == "reopened"
    assert reopened["closed_at"] is None
    assert reopened["closed_by"] is None


def test_state_reason_without_a_state_change_is_ignored(
    sandbox: SandboxTracker, github: httpx.Client
) -> None:
    """The description: ``state_reason`` is "ignored unless ``state`` is changed"."""
    sandbox.add_issue("octo/app", 7, state="closed", state_reason="completed")
    closed_at = sandbox.github_issue("octo/app", 7)["closed_at"]

    answer = github.patch(f"{ISSUE}/7", json={"state": "closed", "state_reason": "not_planned"})

    assert answer.json()["state_reason"] == "completed"
    assert sandbox.github_issue("octo/app", 7)["closed_at"] == closed_at


def test_every_patch_bumps_updated_at(issue12: SandboxTracker, github: httpx.Client) -> None:
    stamps = [
        parse_iso(github.patch(f"{ISSUE}/12", json={}).json()["updated_at"]) for _ in range(3)
    ]

    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


def test_invalid_state_is_a_validation_failure(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.patch(f"{ISSUE}/12", json={"state": "sideways"})

    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"resource": "Issue", "code": "invalid", "field": "state"}]
    assert issue12.github_issue("octo/app", 12)["state"] == "open"


def test_malformed_json_is_a_400(issue12: SandboxTracker, github: httpx.Client) -> None:
    answer = github.patch(f"{ISSUE}/12", content=b"{not json")

    assert answer.status_code == 400
    assert answer.json()["message"] == "Problems parsing JSON"


# --------------------------------------------------------------------------- labels


def test_put_labels_replaces_the_set_and_creates_unknown_labels(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.put(f"{ISSUE}/12/labels", json={"labels": ["debussy:completed", "bug"]})

    assert answer.status_code == 200
    assert label_names(answer) == ["debussy:completed", "bug"]
    created = github.get("/repos/octo/app/labels/debussy:completed").json()
    assert created["color"] == "ededed"
    assert created["default"] is False
    assert issue12.github_issue("octo/app", 12)["labels"] == ["debussy:completed", "bug"]


def test_put_with_an_empty_list_removes_every_label(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.put(f"{ISSUE}/12/labels", json={"labels": []})

    assert answer.json() == []
    assert issue12.github_issue("octo/app", 12)["labels"] == []


def test_labels_match_case_insensitively(issue12: SandboxTracker, github: httpx.Client) -> None:
    answer = github.post(f"{ISSUE}/12/labels", json={"labels": ["BUG", "Debussy:In-Progress"]})

    assert label_names(answer) == ["debussy:in-progress", "bug"]


def test_post_labels_adds_to_the_set(issue12: SandboxTracker, github: httpx.Client) -> None:
    answer = github.post(f"{ISSUE}/12/labels", json={"labels": ["debussy:failed"]})

    assert label_names(answer) == ["debussy:in-progress", "bug", "debussy:failed"]


def test_delete_one_label_and_404_when_absent(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    removed = github.delete(f"{ISSUE}/12/labels/debussy:in-progress")
    absent = github.delete(f"{ISSUE}/12/labels/debussy:in-progress")

    assert label_names(removed) == ["bug"]
    assert absent.status_code == 404
    assert absent.json()["message"] == "Label does not exist"


def test_delete_all_labels(issue12: SandboxTracker, github: httpx.Client) -> None:
    answer = github.delete(f"{ISSUE}/12/labels")

    assert answer.status_code == 204
    assert issue12.github_issue("octo/app", 12)["labels"] == []


def test_creating_an_existing_label_is_422_already_exists(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    created = github.post(
        "/repos/octo/app/labels", json={"name": "debussy:done", "color": "0E8A16"}
    )
    again = github.post("/repos/octo/app/labels", json={"name": "Debussy:Done", "color": "0e8a16"})

    assert created.status_code == 201
    assert created.json()["color"] == "0e8a16"
    assert created.headers["location"] == created.json()["url"]
    assert again.status_code == 422
    body = again.json()
    assert body["message"] == "Validation Failed"
    assert body["errors"] == [{"resource": "Label", "code": "already_exists", "field": "name"}]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"color": "ffffff"}, "name"), ({"name": "x", "color": "red"}, "color")],
)
def test_creating_a_label_validates_name_and_color(
    issue12: SandboxTracker, github: httpx.Client, payload: dict[str, str], field: str
) -> None:
    answer = github.post("/repos/octo/app/labels", json=payload)

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field


def test_new_repositories_have_githubs_default_labels(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.get("/repos/octo/app/labels", params={"per_page": 100})

    names = label_names(answer)
    assert {"bug", "documentation", "good first issue", "wontfix"} <= set(names)
    assert "debussy:in-progress" in names


def test_label_lists_are_paginated_with_a_link_header(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    everything = label_names(github.get("/repos/octo/app/labels", params={"per_page": 100}))

    first = github.get("/repos/octo/app/labels", params={"per_page": 4})
    following = httpx.get(
        first.links["next"]["url"], headers=github.headers
    )  # the Link URL is absolute

    assert label_names(first) == everything[:4]
    assert label_names(following) == everything[4:8]
    assert "last" in first.links
    assert "prev" in following.links


def test_unknown_issue_and_repository_are_404_not_found(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    for path in (f"{ISSUE}/999", "/repos/octo/nope/issues/1", "/repos/octo/nope/labels"):
        answer = github.get(path)
        assert answer.status_code == 404
        assert answer.json()["message"] == "Not Found"
        assert answer.json()["documentation_url"].startswith("https://docs.github.com/")


def test_repository_names_are_case_insensitive(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    assert github.get("/repos/Octo/App/issues/12").status_code == 200


# --------------------------------------------------------------------------- comments


def test_comments_are_created_and_visible_in_the_snapshot(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.post(f"{ISSUE}/12/comments", json={"body": "Closed by Debussy"})

    assert answer.status_code == 201
    assert answer.json()["body"] == "Closed by Debussy"
    assert answer.headers["location"] == answer.json()["url"]
    assert issue12.github_issue("octo/app", 12)["comments"] == ["Closed by Debussy"]
    assert github.get(f"{ISSUE}/12").json()["comments"] == 1


# --------------------------------------------------------------------------- auth and limits


def test_anonymous_reads_work_but_writes_need_a_token(
    issue12: SandboxTracker, anonymous_github: httpx.Client
) -> None:
    read = anonymous_github.get(f"{ISSUE}/12")
    write = anonymous_github.patch(f"{ISSUE}/12", json={"state": "closed"})

    assert read.status_code == 200
    assert read.headers["x-ratelimit-limit"] == "60"
    assert write.status_code == 401
    assert write.json()["message"] == "Requires authentication"
    assert issue12.github_issue("octo/app", 12)["state"] == "open"


@pytest.mark.parametrize("scheme", ["Bearer", "token", "bearer"])
def test_both_token_schemes_are_accepted(
    issue12: SandboxTracker, github: httpx.Client, scheme: str
) -> None:
    token = github.headers["Authorization"].split(" ", 1)[1]

    answer = github.patch(f"{ISSUE}/12", json={}, headers={"Authorization": f"{scheme} {token}"})

    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit"] == "5000"


def test_a_wrong_token_is_401_bad_credentials_even_for_reads(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answer = github.get(f"{ISSUE}/12", headers={"Authorization": "Bearer ghp_wrong"})

    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"
    assert answer.json()["documentation_url"] == "https://docs.github.com/rest"


def test_without_require_auth_writes_need_no_token() -> None:
    with SandboxTracker(require_auth=False) as relaxed:
        relaxed.add_issue("octo/app", 1)
        answer = httpx.patch(f"{relaxed.github_api_url}{ISSUE}/1", json={"state": "closed"})

        assert answer.status_code == 200
        assert relaxed.github_issue("octo/app", 1)["state"] == "closed"


def test_every_github_answer_carries_rate_limit_headers(
    issue12: SandboxTracker, github: httpx.Client
) -> None:
    answers = [
        github.get(f"{ISSUE}/12"),
        github.get(f"{ISSUE}/999"),
        github.patch(f"{ISSUE}/12", json={"state": "sideways"}),
        github.get(f"{ISSUE}/12", headers={"Authorization": "Bearer wrong"}),
    ]

    for answer in answers:
        assert answer.headers["x-ratelimit-resource"] == "core"
        assert int(answer.headers["x-ratelimit-remaining"]) <= int(
            answer.headers["x-ratelimit-limit"]
        )
        assert int(answer.headers["x-ratelimit-reset"]) > 0
        assert "x-ratelimit-used" in answer.headers


def test_the_anonymous_limit_of_60_ends_in_403_with_remaining_zero(
    issue12: SandboxTracker, anonymous_github: httpx.Client
) -> None:
    statuses = [anonymous_github.get(f"{ISSUE}/12").status_code for _ in range(61)]

    over = anonymous_github.get(f"{ISSUE}/12")
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 403
    assert over.headers["x-ratelimit-remaining"] == "0"
    assert over.json()["message"].startswith("API rate limit exceeded for")
