"""Master plans and phase files: the fixture plan end to end, then each rule on its own."""

from __future__ import annotations

import os
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from debussy.errors import PlanError
from debussy.issues import GitHubRef, JiraRef
from debussy.plans import MAX_PLAN_BYTES, Plan, load_plan
from tests.plans.conftest import FIXTURES, PHASE_1, PHASE_2, TWO_PHASES, PlanFolder

MASTER = Path("plans/MASTER_PLAN.md")  # relative to the working folder set by plan_folder


def load(path: Path = MASTER, **kwargs: Any) -> Plan:
    return load_plan(path, **kwargs)


def error_of(path: Path = MASTER, **kwargs: Any) -> str:
    with pytest.raises(PlanError) as caught:
        load_plan(path, **kwargs)
    return caught.value.message


def with_row(row: str, *, header: str = "| Phase | Title | Status |") -> str:
    """The standard master plan with its table replaced by ``header`` and one ``row`` (line 10)."""
    head = TWO_PHASES.split("| Phase |")[0]
    return f"{head}{header}\n|---|---|---|\n{row}\n"


# ------------------------------------------------------------------- the fixture plan


@pytest.fixture(scope="module")
def webhook_plan() -> Plan:
    return load_plan(FIXTURES / "webhook-retries" / "MASTER_PLAN.md", default_repo="ignored/repo")


def test_fixture_plan_title_headers_and_repo(webhook_plan: Plan) -> None:
    assert webhook_plan.title == "Payment Webhook Retries - Master Plan"
    assert webhook_plan.path == (FIXTURES / "webhook-retries" / "MASTER_PLAN.md").resolve()
    assert webhook_plan.headers["Owner"] == "@mhernandez"
    assert webhook_plan.headers["status"] == "In Progress"  # keys are case-insensitive
    assert webhook_plan.headers["github_repo"] == "acme-shop/storefront"
    assert "Goals" not in webhook_plan.headers
    # The plan's own GitHub Repo beats the default the caller passed.
    assert webhook_plan.github_repo == "acme-shop/storefront"


def test_fixture_plan_level_issues(webhook_plan: Plan) -> None:
    # The HTML comment holding a template line (#N, owner/repo#N) is not read.
    assert webhook_plan.issues == (
        GitHubRef("acme-shop/storefront", 412),
        GitHubRef("acme-shop/storefront", 398),
        JiraRef("PAY-1180"),
    )


def test_fixture_phases_table(webhook_plan: Plan) -> None:
    phases_dir = (FIXTURES / "webhook-retries" / "phases").resolve()
    assert [(p.id, p.title, p.table_status, p.line) for p in webhook_plan.phases] == [
        ("1", "Webhook event log", "Completed", 32),
        ("2", "Retry worker", "In Progress", 33),
        ("3", "Admin replay | dead letters", "Pending", 34),
        ("4", "Rollout & monitoring", "Pending", 35),
    ]
    assert [p.file for p in webhook_plan.phases] == [
        phases_dir / "phase-1-event-log.md",
        phases_dir / "phase-2-retry-worker.md",
        phases_dir / "phase-3-admin-replay.md",
        phases_dir / "phase-4-rollout.md",
    ]


def test_fixture_phase_with_frontmatter(webhook_plan: Plan) -> None:
    phase = webhook_plan.phase("1")
    assert phase.issues == (
        GitHubRef("acme-shop/storefront", 413),  # an int in YAML means #413 of the plan repo
        GitHubRef("acme-shop/payments-sdk", 57),
        JiraRef("PAY-1181"),
    )
    assert phase.headers["owner"] == "mhernandez"  # frontmatter scalars are headers
    assert phase.headers["Depends On"] == "N/A"  # and so are the markdown header lines


def test_fixture_phase_with_list_form_headers(webhook_plan: Plan) -> None:
    phase = webhook_plan.phase("2")
    assert phase.issues == (
        GitHubRef("acme-shop/storefront", 414),
        GitHubRef("acme-shop/storefront", 415),
        GitHubRef("acme-shop/storefront", 412),
        JiraRef("PAY-1182"),
        JiraRef("PAY-1183"),
    )
    assert phase.headers["Status"] == "In Progress"
    assert "Note" not in phase.headers  # after the first section: body text, not a header


def test_fixture_phase_with_its_own_repo_and_a_bullet_list(webhook_plan: Plan) -> None:
    phase = webhook_plan.phase("3")
    # #88 means admin-console#88 here (the phase's GitHub Repo); listed twice, kept once.
    assert phase.issues == (
        GitHubRef("acme-shop/admin-console", 88),
        GitHubRef("acme-shop/storefront", 416),
        JiraRef("PAY-1184"),
    )
    assert phase.headers["Status"] == "Pending"  # trailing two-space line break dropped


def test_fixture_phase_with_lower_case_jira_keys_and_a_code_block(webhook_plan: Plan) -> None:
    # The runbook code block holds "**GitHub Issues:** #0", which must not be read.
    assert webhook_plan.phase("4").issues == (JiraRef("PAY-1190"), JiraRef("PAY-1180"))


def test_all_issues_is_plan_level_then_phases_each_once(webhook_plan: Plan) -> None:
    keys = [ref.canonical for ref in webhook_plan.all_issues()]
    assert keys == [
        "acme-shop/storefront#412",
        "acme-shop/storefront#398",
        "PAY-1180",
        "acme-shop/storefront#413",
        "acme-shop/payments-sdk#57",
        "PAY-1181",
        "acme-shop/storefront#414",
        "acme-shop/storefront#415",
        "PAY-1182",
        "PAY-1183",
        "acme-shop/admin-console#88",
        "acme-shop/storefront#416",
        "PAY-1184",
        "PAY-1190",
    ]


@pytest.mark.parametrize("wanted", ["2", "Phase 2", "phase 2", " 2 "])
def test_phase_lookup_accepts_the_ways_people_name_a_phase(webhook_plan: Plan, wanted: str) -> None:
    assert webhook_plan.phase(wanted).title == "Retry worker"


def test_unknown_phase_lists_the_known_ones(webhook_plan: Plan) -> None:
    with pytest.raises(PlanError, match=r"no phase '9' in this plan \(phases: 1, 2, 3, 4\)"):
        webhook_plan.phase("9")


def test_loading_the_fixture_does_not_need_a_default_repo() -> None:
    plan = load_plan(FIXTURES / "webhook-retries" / "MASTER_PLAN.md")
    assert plan.github_repo == "acme-shop/storefront"


# ------------------------------------------------------------------ default repository


def test_default_repo_is_used_when_the_plan_names_none(plan_folder: PlanFolder) -> None:
    master = TWO_PHASES.replace("**GitHub Repo:** octo/app\n", "**GitHub Issues:** #5\n")
    plan_folder.standard(master=master, phase_2=PHASE_2 + "**GitHub Issues:** #6\n")
    plan = load(default_repo="from/config")
    assert plan.github_repo == "from/config"
    assert plan.issues == (GitHubRef("from/config", 5),)
    assert plan.phase("2").issues == (GitHubRef("from/config", 6),)


def test_plan_header_beats_default_and_phase_repo_beats_plan(plan_folder: PlanFolder) -> None:
    phase_1 = "# Phase 1\n\n**GitHub Repo:** octo/sdk\n**GitHub Issues:** #3, gh#4\n"
    phase_2 = "# Phase 2\n\n**GitHub Issues:** #3\n"
    plan_folder.standard(phase_1=phase_1, phase_2=phase_2)
    plan = load(default_repo="from/config")
    assert plan.github_repo == "octo/app"
    assert plan.phase("1").issues == (GitHubRef("octo/sdk", 3), GitHubRef("octo/sdk", 4))
    assert plan.phase("2").issues == (GitHubRef("octo/app", 3),)


def test_master_frontmatter_names_the_repo(plan_folder: PlanFolder) -> None:
    master = "---\ngithub_repo: octo/front\ngithub_issues: [1]\n---\n" + TWO_PHASES.replace(
        "**GitHub Repo:** octo/app\n", ""
    )
    plan_folder.standard(master=master)
    plan = load(default_repo="from/config")
    assert plan.github_repo == "octo/front"
    assert plan.issues == (GitHubRef("octo/front", 1),)


def test_hash_n_with_no_repo_anywhere_names_the_phase_file_and_line(
    plan_folder: PlanFolder,
) -> None:
    master = TWO_PHASES.replace("**GitHub Repo:** octo/app\n", "")
    plan_folder.standard(master=master, phase_2="# Phase 2\n\n**GitHub Issues:** #6\n")
    message = error_of()
    assert message.startswith("plans/phases/phase-2.md:3: '#6' needs a repository")
    assert "github.repo" in message


def test_same_repo_in_frontmatter_and_header_is_fine_but_a_contradiction_is_not(
    plan_folder: PlanFolder,
) -> None:
    plan_folder.standard(master="---\ngithub_repo: Octo/App\n---\n" + TWO_PHASES)
    assert load().github_repo == "Octo/App"
    plan_folder.standard(master="---\ngithub_repo: octo/other\n---\n" + TWO_PHASES)
    message = error_of()
    assert message.startswith("plans/MASTER_PLAN.md:7: GitHub Repo 'octo/app' contradicts")
    assert "plans/MASTER_PLAN.md:2" in message


def test_bad_github_repo_header_names_the_line(plan_folder: PlanFolder) -> None:
    plan_folder.standard(master=TWO_PHASES.replace("octo/app", "octo"))
    assert error_of().startswith("plans/MASTER_PLAN.md:4: bad GitHub repository 'octo'")


# ------------------------------------------------------------------------ header lines


@pytest.mark.parametrize(
    "line",
    [
        "**GitHub Issues:** #7",
        "**github issues:** #7",
        "**GITHUB ISSUES:** #7",
        "**GitHub Issue:** #7",
        "- **GitHub Issues:** #7",
        "* **GitHub Issues:** #7",
        "**GitHub Issues**: #7",
        "**GitHub Issues:** #7  ",
        "**GitHub Issues:** #7\\",
        "   **GitHub Issues:**   #7",
    ],
)
def test_header_line_spellings(plan_folder: PlanFolder, line: str) -> None:
    plan_folder.standard(phase_1=f"# Phase 1\n\n{line}\n**Status:** Pending\n")
    plan = load()
    assert plan.phase("1").issues == (GitHubRef("octo/app", 7),)
    assert plan.phase("1").headers["status"] == "Pending"


def test_headers_anywhere_in_the_master_preamble(plan_folder: PlanFolder) -> None:
    master = TWO_PHASES.replace(
        "## Phases", "## Tracking\n\nLinked work:\n\n**Jira Issues:** SRCH-9\n\n## Phases"
    )
    plan_folder.standard(master=master)
    assert load().issues == (JiraRef("SRCH-9"),)


def test_bullet_list_under_an_empty_issue_header(plan_folder: PlanFolder) -> None:
    phase_1 = """\
        # Phase 1

        **GitHub Issues:**

        - #7
        + octo/sdk#2
        **Jira Issues:** SRCH-1

        - not an issue: a list after a blank line is ordinary prose
        """
    plan_folder.standard(phase_1=phase_1)
    phase = load().phase("1")
    assert phase.issues == (GitHubRef("octo/app", 7), GitHubRef("octo/sdk", 2), JiraRef("SRCH-1"))
    assert phase.headers["GitHub Issues"] == "#7, octo/sdk#2"


def test_issue_header_after_the_phases_table_is_refused_not_ignored(
    plan_folder: PlanFolder,
) -> None:
    plan_folder.standard(master=TWO_PHASES + "\n## Phase 2 notes\n\n**GitHub Issues:** #9\n")
    message = error_of()
    assert message.startswith("plans/MASTER_PLAN.md:15: '**GitHub Issues:**' must be in the header")
    assert "phase file" in message


def test_issue_header_below_a_phase_section_is_refused_not_ignored(
    plan_folder: PlanFolder,
) -> None:
    plan_folder.standard(phase_1=PHASE_1 + "\n**Jira Issues:** SRCH-4\n")
    message = error_of()
    assert message.startswith("plans/phases/phase-1.md:9: '**Jira Issues:**' must be in the header")


def test_header_lines_in_code_blocks_and_comments_are_not_read(plan_folder: PlanFolder) -> None:
    master = TWO_PHASES.replace(
        "## Phases",
        "Header format:\n\n~~~markdown\n**GitHub Issues:** #abc\n~~~\n\n"
        "<!--\n**Jira Issues:** TODO\n-->\n\n## Phases",
    )
    plan_folder.standard(master=master)
    assert load().issues == ()


def test_repeated_issue_headers_add_up_and_duplicates_collapse(plan_folder: PlanFolder) -> None:
    phase_1 = """\
        ---
        github_issues: ["octo/app#7", 8]
        ---
        # Phase 1

        **GitHub Issues:** #7, https://github.com/OCTO/APP/issues/8
        **GitHub Issues:** octo/app#9, #9
        **Jira Issues:** srch-1, SRCH-1, https://acme.atlassian.net/browse/SRCH-1
        """
    plan_folder.standard(phase_1=phase_1)
    assert load().phase("1").issues == (
        GitHubRef("octo/app", 7),
        GitHubRef("octo/app", 8),
        GitHubRef("octo/app", 9),
        JiraRef("SRCH-1"),
    )


def test_same_issue_at_plan_and_phase_level_appears_once_in_all_issues(
    plan_folder: PlanFolder,
) -> None:
    master = TWO_PHASES.replace("**Created:**", "**Jira Issues:** SRCH-1\n**Created:**")
    plan_folder.standard(master=master, phase_2=PHASE_2 + "**Jira Issues:** SRCH-1, SRCH-2\n")
    plan = load()
    assert plan.issues == (JiraRef("SRCH-1"),)
    assert plan.phase("2").issues == (JiraRef("SRCH-1"), JiraRef("SRCH-2"))
    assert plan.all_issues() == (JiraRef("SRCH-1"), JiraRef("SRCH-2"))


def test_web_host_and_jira_hosts_apply_to_phase_files(plan_folder: PlanFolder) -> None:
    phase_1 = (
        "# Phase 1\n\n**GitHub Issues:** https://ghe.acme.io/octo/app/issues/3\n"
        "**Jira Issues:** https://jira.acme.io/browse/OPS-1\n"
    )
    plan_folder.standard(phase_1=phase_1)
    plan = load(github_web_host="ghe.acme.io", jira_hosts=["jira.acme.io"])
    assert plan.phase("1").issues == (GitHubRef("octo/app", 3), JiraRef("OPS-1"))
    message = error_of(github_web_host="ghe.acme.io", jira_hosts=["acme.atlassian.net"])
    assert message.startswith("plans/phases/phase-1.md:4: bad Jira issue reference")
    message = error_of()  # github.com only
    assert message.startswith("plans/phases/phase-1.md:3: bad GitHub issue reference")


def test_bad_reference_in_the_master_header_matches_the_documented_message(
    plan_folder: PlanFolder,
) -> None:
    master = TWO_PHASES.replace("**Created:** 2026-10-02\n", "**Created:** 2026-10-02\n\n\n")
    master = master.replace(
        "**GitHub Repo:** octo/app\n", "**GitHub Repo:** octo/app\n**GitHub Issues:** #12, #abc\n"
    )
    plan_folder.standard(master=master)
    assert error_of().startswith("plans/MASTER_PLAN.md:7: bad GitHub issue reference '#abc'")


def test_bad_jira_key_in_a_phase_names_the_phase_file(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_2="# Phase 2\n\n**Jira Issues:** PROJ\n")
    assert error_of().startswith("plans/phases/phase-2.md:3: bad Jira issue reference 'PROJ'")


# --------------------------------------------------------------------------- frontmatter


def test_frontmatter_accepts_ints_strings_and_single_values(plan_folder: PlanFolder) -> None:
    phase_1 = """\
        ---
        title: Index prefixes
        estimate: 3
        reviewed: true
        due: 2026-12-01
        github_issues: "#1, octo/sdk#2"
        jira_issues: SRCH-3
        labels: [search, backend]
        ---
        # Phase 1
        """
    phase_2 = "---\ngithub_issues: 11\njira_issues: []\ngithub_repo:\n---\n# Phase 2\n"
    plan_folder.standard(phase_1=phase_1, phase_2=phase_2)
    plan = load()
    one = plan.phase("1")
    assert one.issues == (GitHubRef("octo/app", 1), GitHubRef("octo/sdk", 2), JiraRef("SRCH-3"))
    assert dict(one.headers) == {
        "title": "Index prefixes",
        "estimate": "3",
        "reviewed": "true",
        "due": "2026-12-01",
        "github_issues": "#1, octo/sdk#2",
        "jira_issues": "SRCH-3",
    }
    assert plan.phase("2").issues == (GitHubRef("octo/app", 11),)


def test_frontmatter_with_bom_and_crlf_keeps_line_numbers(plan_folder: PlanFolder) -> None:
    text = "\ufeff---\r\ngithub_issues:\r\n  - 1\r\n  - abc\r\n---\r\n# Phase 1\r\n"
    plan_folder.standard()
    (plan_folder.root / "phases/phase-1.md").write_bytes(text.encode("utf-8"))
    assert error_of().startswith("plans/phases/phase-1.md:4: bad GitHub issue reference 'abc'")


@pytest.mark.parametrize(
    ("frontmatter", "line", "fragment"),
    [
        ("github_issues: {a: 1}", 2, "'github_issues' must list issue numbers"),
        ("github_issues: true", 2, "not a bool"),
        ("github_issues: [1, 2.5]", 2, "not a float"),
        ("github_issues:\n  - 1\n  - [2]", 4, "not a list"),
        ("jira_issues: [SRCH-1, 12]", 2, "'jira_issues' must list Jira keys"),
        ("github_repo: 5", 2, "'github_repo' must be a string"),
        ("owner: ana\ngithub_repo: [octo/app]", 3, "'github_repo' must be a string"),
    ],
)
def test_frontmatter_values_of_the_wrong_type_name_the_line(
    plan_folder: PlanFolder, frontmatter: str, line: int, fragment: str
) -> None:
    plan_folder.standard(phase_1=f"---\n{frontmatter}\n---\n# Phase 1\n")
    message = error_of()
    assert message.startswith(f"plans/phases/phase-1.md:{line}: ")
    assert fragment in message


@pytest.mark.parametrize(
    ("frontmatter", "line", "fragment"),
    [
        # an unclosed flow list: the line where it opens, not where YAML noticed
        ("status: pending\ngithub_issues: [1, 2\nowner: ana", 3, "flow sequence"),
        ('title: "Suggest endpoint\nowner: ana\nestimate: 2', 2, "quoted scalar"),
        ("status: pending\n  bad indent: x", 3, "mapping values are not allowed"),
        ("a: b\nc: @d", 3, "'@' that cannot start any token"),
    ],
)
def test_malformed_frontmatter_names_the_file_and_yaml_line(
    plan_folder: PlanFolder, frontmatter: str, line: int, fragment: str
) -> None:
    plan_folder.standard(phase_1=f"---\n{frontmatter}\n---\n# Phase 1\n")
    message = error_of()
    assert message.startswith(f"plans/phases/phase-1.md:{line}: malformed YAML frontmatter")
    assert fragment in message


@pytest.mark.parametrize(
    ("frontmatter", "line", "fragment"),
    [
        ("owner: ana\ngithub_isues: [1]", 3, "'github_isues' (did you mean 'github_issues'?"),
        ("jira-isue: [PROJ-1]", 2, "did you mean 'jira_issues'?"),
        ("gh_issues: [1]", 2, "unknown frontmatter key 'gh_issues'"),
    ],
)
def test_a_misspelt_debussy_frontmatter_key_names_key_file_and_line(
    plan_folder: PlanFolder, frontmatter: str, line: int, fragment: str
) -> None:
    plan_folder.standard(phase_1=f"---\n{frontmatter}\n---\n# Phase 1\n")
    message = error_of()
    assert message.startswith(f"plans/phases/phase-1.md:{line}: unknown frontmatter key")
    assert fragment in message


def test_a_misspelt_key_in_the_master_frontmatter_is_an_error_too(
    plan_folder: PlanFolder,
) -> None:
    plan_folder.standard(master="---\ngithub_rep: octo/app\n---\n" + TWO_PHASES)
    assert error_of().startswith("plans/MASTER_PLAN.md:2: unknown frontmatter key 'github_rep'")


def test_the_authors_own_frontmatter_keys_stay_free(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_1="---\nowner: ana\nstatus: done\nphase: 1\n---\n# Phase 1\n")
    assert load().phases[0].headers["owner"] == "ana"


def test_empty_frontmatter_is_fine(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_1="---\n---\n# Phase 1\n\n**GitHub Issues:** #4\n")
    assert load().phase("1").issues == (GitHubRef("octo/app", 4),)


def test_a_character_yaml_refuses_names_its_line(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_1="---\nowner: ana\nnote: bell\x07here\n---\n# Phase 1\n")
    message = error_of()
    assert message.startswith("plans/phases/phase-1.md:3: malformed YAML frontmatter")
    assert "character U+0007 is not allowed" in message


def test_frontmatter_that_is_not_a_mapping_or_not_closed(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_1="---\n- a\n- b\n---\n# Phase 1\n")
    assert "frontmatter must be a mapping" in error_of()
    plan_folder.standard(phase_1="---\ngithub_issues: [1]\n# Phase 1\n")
    assert error_of().startswith("plans/phases/phase-1.md:1: frontmatter is not closed")


def test_deeply_nested_frontmatter_is_a_plan_error(plan_folder: PlanFolder) -> None:
    # PyYAML composes each level with at least one Python frame, so as many levels as the
    # recursion limit always overflow it; more only make its scanner (quadratic in the
    # open brackets) slower: 5,000 levels took ~3 s with coverage for the same error.
    depth = sys.getrecursionlimit()
    plan_folder.standard(phase_1="---\nx: " + "[" * depth + "\n---\n# Phase 1\n")
    assert error_of() == "plans/phases/phase-1.md:1: YAML frontmatter is nested too deeply"


def test_yaml_tags_that_would_run_code_are_refused(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_1="---\nx: !!python/object/apply:os.system ['true']\n---\n")
    assert error_of().startswith("plans/phases/phase-1.md:2: malformed YAML frontmatter")


# ------------------------------------------------------------------------ phases table


def test_columns_are_found_by_name_in_any_order_with_extras(plan_folder: PlanFolder) -> None:
    master = """\
        # Plan

        **GitHub Repo:** octo/app

        | Owner | **Status** | Title | Risk | PHASE |
        |:------|:----------:|-------|-----:|-------|
        | ana | Done ✅ | [Index prefixes](phases/phase-1.md) | Low | Phase 1 |
        | raj |  | [Suggest endpoint](phases/phase-2.md) | High | **2** |
        """
    plan_folder.standard(master=master)
    plan = load()
    assert [(p.id, p.title, p.table_status) for p in plan.phases] == [
        ("1", "Index prefixes", "Done ✅"),
        ("2", "Suggest endpoint", None),
    ]


def test_table_without_status_column_and_without_outer_pipes(plan_folder: PlanFolder) -> None:
    master = """\
        # Plan

        Phase | Title
        ---|---
        1a | [Index prefixes](phases/phase-1.md)
        1b | [Suggest endpoint](./phases/phase-2.md)
        Both phases are small.
        Not part of the table | [x](phases/missing.md)
        """
    plan_folder.standard(master=master)
    plan = load()
    assert [(p.id, p.table_status) for p in plan.phases] == [("1a", None), ("1b", None)]


def test_only_the_first_phases_table_counts_and_other_tables_are_skipped(
    plan_folder: PlanFolder,
) -> None:
    master = """\
        # Plan

        | Risk | Mitigation |
        |------|------------|
        | Slow index | Rebuild offline |

        ```
        | Phase | Title |
        |---|---|
        | 9 | [Inside a code block](phases/missing.md) |
        ```

        | Phase | Title |
        |---|---|
        | 1 | [Index prefixes](phases/phase-1.md) |

        | Phase | Title |
        |---|---|
        | 2 | [Summary table, ignored](phases/missing.md) |
        """
    plan_folder.standard(master=master)
    assert [p.id for p in load().phases] == ["1"]


@pytest.mark.parametrize(
    ("cell", "title"),
    [
        ("[Suggest \\| rank](phases/phase-2.md)", "Suggest | rank"),
        ("**[Suggest](phases/phase-2.md)**", "Suggest"),
        ("[Suggest](<phases/phase 2.md>)", "Suggest"),
        ("[Suggest](phases/phase%202.md)", "Suggest"),
        ('[Suggest](phases/phase-2.md "Phase 2 file")', "Suggest"),
        ("[Suggest](phases/phase-2.md#tasks)", "Suggest"),
        ("[Suggest \\[beta\\]](phases/phase-2.md)", "Suggest [beta]"),
        ("🚧 [Suggest](phases/phase-2.md) (draft)", "Suggest"),
    ],
)
def test_title_cell_link_forms(plan_folder: PlanFolder, cell: str, title: str) -> None:
    plan_folder.write("phases/phase 2.md", PHASE_2)
    plan_folder.standard(master=with_row(f"| 2 | {cell} | Pending |"))
    phase = load().phase("2")
    assert phase.title == title
    assert phase.file is not None
    assert phase.file.parent == (plan_folder.root / "phases").resolve()


def test_phase_file_next_to_the_master_plan(plan_folder: PlanFolder) -> None:
    plan_folder.write("search-phase1.md", PHASE_1)
    plan_folder.standard(master=with_row("| 1 | [Index](search-phase1.md) | Pending |"))
    assert load().phase("1").file == (plan_folder.root / "search-phase1.md").resolve()


def test_messages_use_the_path_as_the_caller_spelled_it(plan_folder: PlanFolder) -> None:
    plan_folder.standard(phase_2="# Phase 2\n\n**Jira Issues:** PROJ\n")
    absolute = plan_folder.master.resolve()
    with pytest.raises(PlanError, match=rf"^{plan_folder.root.resolve()}/phases/phase-2.md:3: "):
        load_plan(absolute)


def test_missing_phases_table(plan_folder: PlanFolder) -> None:
    plan_folder.standard(master="# Plan\n\n**Status:** Draft\n\n## Phases\n\nTBD\n")
    message = error_of()
    assert message.startswith("plans/MASTER_PLAN.md: no phases table")
    assert "| Phase | Title |" in message


def test_a_table_without_a_title_column_is_pointed_out(plan_folder: PlanFolder) -> None:
    master = "# Plan\n\n| Phase | Name | Status |\n|---|---|---|\n| 1 | Setup | Pending |\n"
    plan_folder.standard(master=master)
    message = error_of()
    assert "no phases table" in message
    assert "the table at line 3 has columns phase, name, status" in message


def test_a_phases_table_with_no_rows(plan_folder: PlanFolder) -> None:
    plan_folder.standard(master="# Plan\n\n| Phase | Title |\n|---|---|\n\nLater.\n")
    assert error_of() == "plans/MASTER_PLAN.md:3: the phases table has no phases"


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("| 1 | Index prefixes | Pending |", "the Title cell 'Index prefixes' does not link"),
        ("| 1 |  | Pending |", "the Title cell '(empty)' does not link"),
        ("| 1 | ![diagram](phases/phase-1.md) | Pending |", "does not link a phase file"),
        ("| 1 | [Index][ref] | Pending |", "does not link a phase file"),
        ("| | [Index](phases/phase-1.md) | Pending |", "bad phase id '(empty)'"),
        ("| 1 & 2 | [Index](phases/phase-1.md) | Pending |", "bad phase id '1 & 2'"),
        ("| 1 | [Index](https://example.com/p1.md) | Pending |", "is a URL"),
        ("| 1 | [Index](../outside.md) | Pending |", "leads outside the plan folder"),
        ("| 1 | [Index](phases/../../outside.md) | Pending |", "leads outside the plan folder"),
        ("| 1 | [Index](/etc/passwd) | Pending |", "is an absolute path"),
        (
            "| 1 | [Index](phases/phase-9.md) | Pending |",
            "phase file 'phases/phase-9.md' does not exist",
        ),
        ("| 1 | [Index](phases) | Pending |", "is not a file"),
        ("| 1 | [Index](MASTER_PLAN.md) | Pending |", "points at the master plan itself"),
        (
            "| 1 | [Index](./phases/../MASTER_PLAN.md) | Pending |",
            "points at the master plan itself",
        ),
        ("| 1 | [Index](#phase-1) | Pending |", "points at the master plan itself"),
    ],
)
def test_bad_rows_name_the_master_plan_line(
    plan_folder: PlanFolder, row: str, fragment: str
) -> None:
    (plan_folder.root.parent / "outside.md").write_text("# Outside\n", encoding="utf-8")
    plan_folder.standard(master=with_row(row))
    message = error_of()
    assert message.startswith("plans/MASTER_PLAN.md:10: ")
    assert fragment in message


def test_a_symlink_that_resolves_outside_the_plan_folder(plan_folder: PlanFolder) -> None:
    outside = plan_folder.root.parent / "secrets.md"
    outside.write_text("# not a phase\n", encoding="utf-8")
    plan_folder.standard()
    (plan_folder.root / "phases/phase-3.md").symlink_to(outside)
    plan_folder.standard(master=with_row("| 3 | [Sneaky](phases/phase-3.md) | Pending |"))
    assert error_of().startswith(
        "plans/MASTER_PLAN.md:10: phase link 'phases/phase-3.md' leads outside"
    )


def test_a_symlink_inside_the_plan_folder_is_fine(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    (plan_folder.root / "current.md").symlink_to(plan_folder.root / "phases/phase-1.md")
    plan_folder.standard(master=with_row("| 1 | [Current](current.md) | Pending |"))
    assert load().phase("1").file == (plan_folder.root / "phases/phase-1.md").resolve()


@pytest.mark.parametrize(
    "second",
    ["| 1 | [Again](phases/phase-2.md) |", "| Phase 1 | [Again](phases/phase-2.md) |"],
)
def test_duplicate_phase_ids(plan_folder: PlanFolder, second: str) -> None:
    master = "# P\n\n| Phase | Title |\n|---|---|\n| 1 | [One](phases/phase-1.md) |\n" + second
    plan_folder.standard(master=master + "\n")
    assert error_of() == "plans/MASTER_PLAN.md:6: phase '1' is already listed at line 5"


def test_phase_ids_keep_their_case_and_lookup_ignores_it(plan_folder: PlanFolder) -> None:
    master = (
        "# P\n\n| Phase | Title |\n|---|---|\n"
        "| 3a | [One](phases/phase-1.md) |\n| 3b | [Two](phases/phase-2.md) |\n"
    )
    plan_folder.standard(master=master)
    plan = load()
    assert [p.id for p in plan.phases] == ["3a", "3b"]
    assert plan.phase("3B").title == "Two"
    assert plan.phase("Phase 3a").title == "One"


def test_duplicate_ids_differing_only_in_case(plan_folder: PlanFolder) -> None:
    master = (
        "# P\n\n| Phase | Title |\n|---|---|\n"
        "| 3a | [One](phases/phase-1.md) |\n| 3A | [Two](phases/phase-2.md) |\n"
    )
    plan_folder.standard(master=master)
    assert "phase '3A' is already listed at line 5" in error_of()


def test_two_phases_linking_the_same_file(plan_folder: PlanFolder) -> None:
    master = (
        "# P\n\n| Phase | Title |\n|---|---|\n"
        "| 1 | [One](phases/phase-1.md) |\n| 2 | [Two](./phases/phase-1.md) |\n"
    )
    plan_folder.standard(master=master)
    assert error_of() == (
        "plans/MASTER_PLAN.md:6: phase file './phases/phase-1.md' is already listed at line 5"
    )


# ------------------------------------------------------------------------- the files


def test_missing_master_plan(plan_folder: PlanFolder) -> None:
    assert error_of(Path("plans/NOPE.md")) == "plans/NOPE.md: no such plan file"


def test_master_plan_that_is_a_folder(plan_folder: PlanFolder) -> None:
    assert "not a plan file" in error_of(Path("plans"))


def test_non_utf8_master_names_the_file_and_line(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    plan_folder.master.write_bytes(b"# Plan\n\n**Owner:** Jos\xe9\n")
    message = error_of()
    assert message.startswith("plans/MASTER_PLAN.md:3: not UTF-8 text")


def test_non_utf8_phase_file_names_the_phase_file(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    (plan_folder.root / "phases/phase-2.md").write_bytes(b"\xff\xfe# Phase 2\n")
    assert error_of().startswith("plans/phases/phase-2.md:1: not UTF-8 text")


def test_a_file_over_5_mb_is_refused_without_reading_it_all(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    with plan_folder.master.open("wb") as stream:  # sparse: 1 GiB on paper, nothing on disk
        stream.truncate(1024**3)
    tracemalloc.start()
    try:
        message = error_of()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message == "plans/MASTER_PLAN.md: larger than 5 MB, which is too large for a plan file"
    assert peak < 4 * MAX_PLAN_BYTES  # read a little past the limit, not the gigabyte


def test_a_phase_file_over_5_mb_is_refused(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    with (plan_folder.root / "phases/phase-1.md").open("r+b") as stream:
        stream.truncate(MAX_PLAN_BYTES + 1)
    assert error_of().startswith("plans/phases/phase-1.md: larger than 5 MB")


def test_exactly_5_mb_is_still_read(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    text = TWO_PHASES.encode()
    plan_folder.master.write_bytes(text + b" " * (MAX_PLAN_BYTES - len(text)))
    assert len(load().phases) == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_unreadable_phase_file(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    (plan_folder.root / "phases/phase-2.md").chmod(0)
    assert error_of().startswith("plans/phases/phase-2.md: cannot read")


def test_a_fifo_as_phase_file_is_refused_without_blocking(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    os.mkfifo(plan_folder.root / "phases/pipe.md")
    plan_folder.standard(master=with_row("| 1 | [Pipe](phases/pipe.md) | Pending |"))
    assert error_of() == "plans/MASTER_PLAN.md:10: phase link 'phases/pipe.md' is not a file"


# ------------------------------------------------------------------------------ title


@pytest.mark.parametrize(
    ("first_lines", "title"),
    [
        ("# Search Autocomplete #", "Search Autocomplete"),
        ("#   Search #1 rollout", "Search #1 rollout"),
        ("---\ntitle: From frontmatter\n---\nIntro.", "From frontmatter"),
        ("Intro without a heading.", "MASTER_PLAN"),
        ("```\n# not the title\n```\n# Real title", "Real title"),
    ],
)
def test_title(plan_folder: PlanFolder, first_lines: str, title: str) -> None:
    body = TWO_PHASES.replace("# Search Autocomplete\n", "")
    plan_folder.standard(master=f"{first_lines}\n{body}")
    assert load().title == title


def test_crlf_master_plan_parses_with_correct_line_numbers(plan_folder: PlanFolder) -> None:
    plan_folder.standard()
    plan_folder.master.write_bytes(TWO_PHASES.replace("\n", "\r\n").encode())
    plan = load()
    assert [(p.id, p.line) for p in plan.phases] == [("1", 10), ("2", 11)]
    assert plan.headers["Created"] == "2026-10-02"


def test_headers_mapping_is_read_only_and_keeps_the_authors_spelling(
    plan_folder: PlanFolder,
) -> None:
    plan_folder.standard()
    headers = load().headers
    assert list(headers) == ["Created", "GitHub Repo"]
    assert headers.get("GITHUB-REPO") == "octo/app"
    assert "github repo" in headers
    assert 3 not in headers
    with pytest.raises(TypeError):
        headers["Created"] = "x"  # type: ignore[index]
    assert hash(load()) == hash(load())  # plans are usable as dict keys / in sets
