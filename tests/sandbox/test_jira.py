"""Jira behaviour of the sandbox: enhanced search paging, errors, workflow, auth."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from debussy.sandbox import SandboxTracker
from debussy.timeutil import parse_iso
from tests.sandbox.conftest import JIRA_EMAIL, JIRA_TOKEN

SEARCH = "/rest/api/3/search/jql"
FIELDS = ["status", "labels", "resolution", "updated", "statuscategorychangedate", "summary"]


@pytest.fixture
def two(sandbox: SandboxTracker) -> SandboxTracker:
    sandbox.add_jira_issue("PROJ-1", summary="First", status="In Progress", labels=["backend"])
    sandbox.add_jira_issue("PROJ-2", summary="Second", status="Done")
    return sandbox


def keys(answer: httpx.Response) -> list[str]:
    return [issue["key"] for issue in answer.json()["issues"]]


def search(jira: httpx.Client, jql: str, **extra: Any) -> httpx.Response:
    return jira.post(SEARCH, json={"jql": jql, "fields": FIELDS, **extra})


# --------------------------------------------------------------------------- search


def test_search_returns_only_the_requested_fields(two: SandboxTracker, jira: httpx.Client) -> None:
    answer = jira.post(SEARCH, json={"jql": "key in (PROJ-1, PROJ-2)", "fields": ["status"]})

    assert answer.status_code == 200
    body = answer.json()
    assert body["isLast"] is True
    assert "nextPageToken" not in body
    assert "total" not in body
    first = body["issues"][0]
    assert first["key"] == "PROJ-1"
    assert first["self"].endswith(f"/rest/api/3/issue/{first['id']}")
    assert list(first["fields"]) == ["status"]
    assert first["fields"]["status"]["name"] == "In Progress"
    assert first["fields"]["status"]["statusCategory"]["key"] == "indeterminate"


def test_field_values_use_jiras_shapes(two: SandboxTracker, jira: httpx.Client) -> None:
    issues = {
        i["key"]: i["fields"] for i in search(jira, "key in (PROJ-1, PROJ-2)").json()["issues"]
    }

    done, open_ = issues["PROJ-2"], issues["PROJ-1"]
    assert done["resolution"]["name"] == "Done"
    assert done["status"]["statusCategory"] == {
        "self": done["status"]["statusCategory"]["self"],
        "id": 3,
        "key": "done",
        "colorName": "green",
        "name": "Done",
    }
    assert open_["resolution"] is None
    assert open_["labels"] == ["backend"]
    assert open_["summary"] == "First"
    for stamp in (open_["updated"], open_["statuscategorychangedate"]):
        assert stamp.endswith("+0000")
        assert stamp[19] == "."
        parse_iso(stamp)


def test_without_fields_only_ids_come_back(two: SandboxTracker, jira: httpx.Client) -> None:
    answer = jira.post(SEARCH, json={"jql": "key = PROJ-1"})

    assert "fields" not in answer.json()["issues"][0]


@pytest.mark.parametrize(
    "jql",
    [
        "key in (PROJ-1,PROJ-2)",
        "KEY IN ( proj-1 , 'PROJ-2' )",
        'key in ("PROJ-1", "PROJ-2") ORDER BY key ASC',
        "issuekey in (PROJ-2, PROJ-1, PROJ-1)",
    ],
)
def test_key_list_forms(two: SandboxTracker, jira: httpx.Client, jql: str) -> None:
    assert keys(search(jira, jql)) == ["PROJ-1", "PROJ-2"]


def test_key_equals_and_descending_order(two: SandboxTracker, jira: httpx.Client) -> None:
    assert keys(search(jira, 'key = "PROJ-2"')) == ["PROJ-2"]
    assert keys(search(jira, "key in (PROJ-1, PROJ-2) order by key desc")) == ["PROJ-2", "PROJ-1"]


def test_get_search_takes_query_parameters(two: SandboxTracker, jira: httpx.Client) -> None:
    answer = jira.get(SEARCH, params={"jql": "key in (PROJ-1, PROJ-2)", "fields": "status,labels"})

    assert keys(answer) == ["PROJ-1", "PROJ-2"]
    assert set(answer.json()["issues"][0]["fields"]) == {"status", "labels"}


def test_unknown_and_hidden_keys_fail_the_search_with_one_message_each(
    two: SandboxTracker, jira: httpx.Client
) -> None:
    two.hide_jira_issue("PROJ-2")

    answer = search(jira, "key in (PROJ-1, PROJ-2, PROJ-999, BAD)")

    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [
            "An issue with key 'PROJ-2' does not exist for field 'key'.",
            "An issue with key 'PROJ-999' does not exist for field 'key'.",
            "The issue key 'BAD' for field 'key' is invalid.",
        ],
        "errors": {},
    }


@pytest.mark.parametrize("jql", ["", "project = PROJ", "key in ()"])
def test_jql_the_sandbox_does_not_serve_is_a_400(
    two: SandboxTracker, jira: httpx.Client, jql: str
) -> None:
    answer = search(jira, jql)

    assert answer.status_code == 400
    assert answer.json()["errorMessages"]


def test_paging_with_next_page_token_over_250_issues(
    sandbox: SandboxTracker, jira: httpx.Client
) -> None:
    wanted = [f"PROJ-{n}" for n in range(1, 251)]
    for key in wanted:
        sandbox.add_jira_issue(key)
    jql = f"key in ({', '.join(wanted)})"
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        body: dict[str, Any] = {"jql": jql, "fields": FIELDS, "maxResults": 100}
        if token:
            body["nextPageToken"] = token
        page = jira.post(SEARCH, json=body).json()
        pages.append(page)
        seen += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            break

    assert [len(page["issues"]) for page in pages] == [100, 100, 50]
    assert [page["isLast"] for page in pages] == [False, False, True]
    assert "nextPageToken" not in pages[-1]
    assert seen == wanted
    assert sandbox.request_count("jira") == 3


def test_page_size_defaults_to_50_and_is_capped_at_100_with_fields(
    sandbox: SandboxTracker, jira: httpx.Client
) -> None:
    wanted = [f"PROJ-{n}" for n in range(1, 151)]
    for key in wanted:
        sandbox.add_jira_issue(key)
    jql = f"key in ({', '.join(wanted)})"

    default = jira.post(SEARCH, json={"jql": jql, "fields": ["status"]}).json()
    greedy = jira.post(SEARCH, json={"jql": jql, "fields": ["status"], "maxResults": 500}).json()
    ids_only = jira.post(SEARCH, json={"jql": jql, "maxResults": 500}).json()

    assert len(default["issues"]) == 50
    assert len(greedy["issues"]) == 100
    assert greedy["isLast"] is False
    assert len(ids_only["issues"]) == 150
    assert ids_only["isLast"] is True


def test_a_forged_page_token_is_rejected(two: SandboxTracker, jira: httpx.Client) -> None:
    answer = search(jira, "key in (PROJ-1, PROJ-2)", nextPageToken="bm90LWEtdG9rZW4")

    assert answer.status_code == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_removed_search_endpoint_is_410_gone(
    two: SandboxTracker, jira: httpx.Client, method: str
) -> None:
    kwargs: dict[str, Any] = {"json": {"jql": "key = PROJ-1"}} if method == "POST" else {}

    answer = jira.request(method, "/rest/api/3/search", **kwargs)

    assert answer.status_code == 410
    (message,) = answer.json()["errorMessages"]
    assert message.startswith("The requested API has been removed.")
    assert "/rest/api/3/search/jql" in message
    assert answer.json()["errors"] == {}


def test_server_search_pages_with_start_at_and_total(
    sandbox: SandboxTracker, jira: httpx.Client
) -> None:
    wanted = [f"OPS-{n}" for n in range(1, 8)]
    for key in wanted:
        sandbox.add_jira_issue(key)
    jql = f"key in ({', '.join(wanted)})"

    first = jira.post(
        "/rest/api/2/search", json={"jql": jql, "fields": ["status"], "maxResults": 5}
    )
    second = jira.post(
        "/rest/api/2/search", json={"jql": jql, "fields": ["status"], "startAt": 5, "maxResults": 5}
    )

    assert (first.json()["startAt"], first.json()["total"], keys(first)) == (0, 7, wanted[:5])
    assert (second.json()["startAt"], keys(second)) == (5, wanted[5:])
    assert second.json()["maxResults"] == 5
    assert first.json()["issues"][0]["self"].startswith(f"{sandbox.url}/rest/api/2/issue/")


def test_server_search_also_rejects_unknown_keys(two: SandboxTracker, jira: httpx.Client) -> None:
    answer = jira.post("/rest/api/2/search", json={"jql": "key in (PROJ-1, PROJ-404)"})

    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == [
        "An issue with key 'PROJ-404' does not exist for field 'key'."
    ]


# --------------------------------------------------------------------------- issues and workflow


def test_get_issue_all_fields_and_a_selection(two: SandboxTracker, jira: httpx.Client) -> None:
    everything = jira.get("/rest/api/3/issue/PROJ-1").json()
    status_only = jira.get("/rest/api/3/issue/proj-1", params={"fields": "status"}).json()

    assert {"status", "summary", "labels", "resolution", "updated"} <= set(everything["fields"])
    assert list(status_only["fields"]) == ["status"]


def test_hidden_issue_does_not_exist(two: SandboxTracker, jira: httpx.Client) -> None:
    two.hide_jira_issue("PROJ-1")

    answer = jira.get("/rest/api/3/issue/PROJ-1")

    assert answer.status_code == 404
    assert answer.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


TRANSITIONS_FROM = {
    "To Do": {"Start Progress": "In Progress", "Done": "Done", "Won't Do": "Won't Do"},
    "In Progress": {
        "Back to To Do": "To Do",
        "Review": "In Review",
        "Done": "Done",
        "Won't Do": "Won't Do",
    },
    "In Review": {
        "Back to To Do": "To Do",
        "Start Progress": "In Progress",
        "Done": "Done",
        "Won't Do": "Won't Do",
    },
    "Done": {"Reopen": "To Do"},
    "Won't Do": {"Reopen": "To Do"},
}


@pytest.mark.parametrize(("status", "offered"), list(TRANSITIONS_FROM.items()))
def test_transitions_depend_on_the_current_status(
    sandbox: SandboxTracker, jira: httpx.Client, status: str, offered: dict[str, str]
) -> None:
    sandbox.add_jira_issue("PROJ-1", status=status)

    answer = jira.get("/rest/api/3/issue/PROJ-1/transitions").json()

    found = {t["name"]: t["to"]["name"] for t in answer["transitions"]}
    assert found == offered
    assert all(t["to"]["name"] != status for t in answer["transitions"])
    assert all("statusCategory" in t["to"] for t in answer["transitions"])


def transition_id(jira: httpx.Client, key: str, name: str) -> str:
    answer = jira.get(f"/rest/api/3/issue/{key}/transitions").json()
    return next(t["id"] for t in answer["transitions"] if t["name"] == name)


def test_moving_to_done_sets_resolution_and_category_change_date(
    sandbox: SandboxTracker, jira: httpx.Client
) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    before = sandbox.jira_issue("PROJ-1")

    answer = jira.post(
        "/rest/api/3/issue/PROJ-1/transitions",
        json={"transition": {"id": transition_id(jira, "PROJ-1", "Done")}},
    )

    after = sandbox.jira_issue("PROJ-1")
    assert answer.status_code == 204
    assert answer.content == b""
    assert (after["status"], after["status_category"], after["resolution"]) == (
        "Done",
        "done",
        "Done",
    )
    assert parse_iso(after["updated"]) > parse_iso(before["updated"])
    assert after["statuscategorychangedate"] == after["updated"]
    assert after["resolutiondate"] == after["updated"]


def test_moving_within_a_category_keeps_the_category_change_date(
    sandbox: SandboxTracker, jira: httpx.Client
) -> None:
    sandbox.add_jira_issue("PROJ-1", status="In Progress")
    before = sandbox.jira_issue("PROJ-1")

    jira.post(
        "/rest/api/3/issue/PROJ-1/transitions",
        json={"transition": {"id": transition_id(jira, "PROJ-1", "Review")}},
    )

    after = sandbox.jira_issue("PROJ-1")
    assert after["status"] == "In Review"
    assert after["statuscategorychangedate"] == before["statuscategorychangedate"]
    assert parse_iso(after["updated"]) > parse_iso(before["updated"])


def test_wont_do_and_reopen(sandbox: SandboxTracker, jira: httpx.Client) -> None:
    sandbox.add_jira_issue("PROJ-1")

    jira.post(
        "/rest/api/3/issue/PROJ-1/transitions",
        json={"transition": {"id": transition_id(jira, "PROJ-1", "Won't Do")}},
    )
    wont = sandbox.jira_issue("PROJ-1")
    jira.post(
        "/rest/api/2/issue/PROJ-1/transitions",
        json={"transition": {"id": transition_id(jira, "PROJ-1", "Reopen")}},
    )
    reopened = sandbox.jira_issue("PROJ-1")

    assert (wont["status"], wont["resolution"]) == ("Won't Do", "Won't Do")
    assert (reopened["status"], reopened["status_category"]) == ("To Do", "new")
    assert reopened["resolution"] is None
    assert reopened["resolutiondate"] is None


def test_a_transition_can_set_the_resolution(sandbox: SandboxTracker, jira: httpx.Client) -> None:
    sandbox.add_jira_issue("PROJ-1")

    jira.post(
        "/rest/api/3/issue/PROJ-1/transitions",
        json={"transition": {"id": "51"}, "fields": {"resolution": {"name": "Duplicate"}}},
    )

    assert sandbox.jira_issue("PROJ-1")["resolution"] == "Duplicate"


@pytest.mark.parametrize("body", [{"transition": {"id": "61"}}, {"transition": {"id": "999"}}, {}])
def test_unavailable_or_missing_transition_is_a_400(
    sandbox: SandboxTracker, jira: httpx.Client, body: dict[str, Any]
) -> None:
    sandbox.add_jira_issue("PROJ-1")

    answer = jira.post("/rest/api/3/issue/PROJ-1/transitions", json=body)

    assert answer.status_code == 400
    assert answer.json()["errorMessages"]
    assert sandbox.jira_issue("PROJ-1")["status"] == "To Do"


def test_moving_by_hand_follows_the_same_rules(sandbox: SandboxTracker) -> None:
    sandbox.add_jira_issue("PROJ-1", status="Done")

    sandbox.move_jira_issue("PROJ-1", "won't do", resolution="Duplicate")
    wont = sandbox.jira_issue("PROJ-1")
    sandbox.move_jira_issue("PROJ-1", "In Progress")

    assert (wont["status"], wont["resolution"]) == ("Won't Do", "Duplicate")
    assert sandbox.jira_issue("PROJ-1")["resolution"] is None
    with pytest.raises(ValueError, match="unknown Jira status"):
        sandbox.move_jira_issue("PROJ-1", "Blocked")


def test_comments_v3_need_adf_and_v2_take_text(two: SandboxTracker, jira: httpx.Client) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Phase 1 done"}]}],
    }

    cloud = jira.post("/rest/api/3/issue/PROJ-1/comment", json={"body": adf})
    cloud_text = jira.post("/rest/api/3/issue/PROJ-1/comment", json={"body": "plain"})
    server = jira.post("/rest/api/2/issue/PROJ-1/comment", json={"body": "Phase 2 done"})

    assert (cloud.status_code, cloud_text.status_code, server.status_code) == (201, 400, 201)
    assert cloud.json()["body"] == adf
    assert two.jira_issue("PROJ-1")["comments"] == ["Phase 1 done", "Phase 2 done"]


# --------------------------------------------------------------------------- auth and small reads


def test_basic_and_bearer_work_on_both_versions(two: SandboxTracker) -> None:
    basic = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    bearer = f"Bearer {JIRA_TOKEN}"

    for version in ("2", "3"):
        for header in (basic, bearer):
            answer = httpx.get(
                f"{two.jira_url}/rest/api/{version}/myself", headers={"Authorization": header}
            )
            assert answer.status_code == 200
            assert answer.json()["emailAddress"] == JIRA_EMAIL


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong",
        "Basic " + base64.b64encode(f"{JIRA_EMAIL}:wrong".encode()).decode(),
        "Basic !!!",
    ],
)
def test_wrong_or_missing_credentials_are_401(two: SandboxTracker, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}

    answer = httpx.post(f"{two.jira_url}{SEARCH}", json={"jql": "key = PROJ-1"}, headers=headers)

    assert answer.status_code == 401
    assert answer.json()["errorMessages"] == [
        "You are not authenticated. Authentication required to perform this operation."
    ]


def test_server_info_is_public_and_says_which_deployment(two: SandboxTracker) -> None:
    cloud = httpx.get(f"{two.jira_url}/rest/api/3/serverInfo").json()
    server = httpx.get(f"{two.jira_url}/rest/api/2/serverInfo").json()

    assert (cloud["deploymentType"], server["deploymentType"]) == ("Cloud", "Server")
    assert cloud["baseUrl"] == two.url


def test_statuses_list_the_workflow(two: SandboxTracker, jira: httpx.Client) -> None:
    statuses = jira.get("/rest/api/3/status").json()

    categories = {s["name"]: s["statusCategory"]["key"] for s in statuses}
    assert categories == {
        "To Do": "new",
        "In Progress": "indeterminate",
        "In Review": "indeterminate",
        "Done": "done",
        "Won't Do": "done",
    }
