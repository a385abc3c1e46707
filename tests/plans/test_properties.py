"""Properties of the reference parsers over generated input.

Whatever a plan author types, the outcome is references or a ``PlanError`` that
names the place: never a ``ValueError`` from deep inside ``urllib`` or a crash.
And every reference Debussy can write back out parses to the same issue.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from debussy.errors import PlanError
from debussy.issues import GitHubRef, JiraRef
from debussy.plans import (
    Plan,
    load_plan,
    parse_github_refs,
    parse_jira_refs,
    repo_from_remote_url,
)
from debussy.plans.refs import MAX_GITHUB_ISSUE_NUMBER

WHERE = "plans/phases/phase-2.md:4"

# Text that looks like reference lists: the alphabet references are made of, plus noise.
reference_like = st.text(
    alphabet=st.sampled_from(list("#/:.-_,; <>[]()?%@!ghGHpPrRoOjJ0123456789 \t\n\\\"'")),
    max_size=60,
)
arbitrary_text = st.one_of(st.text(max_size=80), reference_like)

owners = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}", fullmatch=True)
names = st.from_regex(r"[A-Za-z0-9._-]{1,100}", fullmatch=True).filter(
    lambda name: name not in (".", "..")
)
repos = st.builds(lambda owner, name: f"{owner}/{name}", owners, names)
numbers = st.integers(min_value=1, max_value=MAX_GITHUB_ISSUE_NUMBER)
jira_keys = st.builds(
    lambda project, number: f"{project}-{number}",
    st.from_regex(r"[A-Z][A-Z0-9_]{0,9}", fullmatch=True),
    st.integers(min_value=1, max_value=10**9),
)


def outcome_is_refs_or_plan_error(parse: Callable[[str], list[Any]], text: str) -> None:
    """Either a list of references, or a PlanError naming the place (anything else escapes)."""
    try:
        refs = parse(text)
    except PlanError as error:
        refs, message = None, error.message
    else:
        message = None
    if message is None:
        assert isinstance(refs, list)
    else:
        assert message.startswith(f"{WHERE}: ")


@given(arbitrary_text)
@example("https://[::1/octo/app/issues/1")
@example("http://github.com:99999999/octo/app/issues/1")
@example("https://github.com\uff03/octo/app/issues/1")
@example("#99999999999999999999999999")
def test_github_parser_returns_refs_or_a_plan_error(text: str) -> None:
    outcome_is_refs_or_plan_error(
        lambda t: parse_github_refs(t, default_repo="octo/app", web_host="github.com", where=WHERE),
        text,
    )
    outcome_is_refs_or_plan_error(
        lambda t: parse_github_refs(t, default_repo=None, web_host="ghe.io:8443", where=WHERE),
        text,
    )


@given(arbitrary_text)
@example("https://[::1/browse/PROJ-1")
def test_jira_parser_returns_refs_or_a_plan_error(text: str) -> None:
    outcome_is_refs_or_plan_error(lambda t: parse_jira_refs(t, where=WHERE), text)
    outcome_is_refs_or_plan_error(
        lambda t: parse_jira_refs(t, where=WHERE, hosts=["acme.atlassian.net"]), text
    )


@given(arbitrary_text)
def test_remote_url_parser_never_raises(text: str) -> None:
    result = repo_from_remote_url(text)
    assert result is None or result.count("/") == 1


@given(repo=repos, number=numbers, default=repos)
def test_github_refs_round_trip_through_every_rendering(
    repo: str, number: int, default: str
) -> None:
    ref = GitHubRef(repo, number)
    renderings = [
        f"{repo}#{number}",
        f"https://github.com/{repo}/issues/{number}",
        f"[{ref.display_key(default)}](https://github.com/{repo}/issues/{number})",
        ref.canonical,  # lower-cased: still the same issue
    ]
    text = ", ".join(renderings)
    parsed = parse_github_refs(text, default_repo=default, web_host="github.com", where=WHERE)
    assert parsed == [ref] * len(renderings)
    assert parsed[0].repo == repo  # the author's spelling is kept
    short = parse_github_refs(
        f"#{number} gh#{number}", default_repo=repo, web_host="x", where=WHERE
    )
    assert short == [ref, ref]


@given(key=jira_keys)
def test_jira_refs_round_trip_through_every_rendering(key: str) -> None:
    renderings = [
        key,
        key.lower(),
        f"https://acme.atlassian.net/browse/{key}",
        f"<https://acme.atlassian.net/browse/{key.lower()}/>",
        f"[{key}](https://jira.acme.io/jira/browse/{key})",
    ]
    parsed = parse_jira_refs(" ".join(renderings), where=WHERE)
    assert parsed == [JiraRef(key)] * len(renderings)
    assert all(ref.key == key for ref in parsed)


# Lines a master plan is made of, recombined in any order and with noise.
plan_lines = st.one_of(
    st.sampled_from(
        [
            "# Plan",
            "---",
            "```",
            "~~~",
            "<!--",
            "-->",
            "",
            "**GitHub Repo:** octo/app",
            "**GitHub Issues:** #1, octo/x#2",
            "**GitHub Issues:**",
            "- #3",
            "- **Jira Issues:** PROJ-1",
            "**Jira Issues:** https://acme.atlassian.net/browse/PROJ-2",
            "github_issues: [1, two]",
            "jira_issues: {a: b}",
            "title: [unclosed",
            "## Section",
            "| Phase | Title | Status |",
            "|---|:---:|---|",
        ]
    ),
    reference_like,
)
table_rows = st.one_of(
    st.sampled_from(
        [
            "| 1 | [One](p1.md) | Pending |",
            "| 2 | [Two](sub/p2.md) | Done |",
            "| Phase 3 | [Two again](sub/p2.md) |",
            "| 2 | [Again](p1.md) |",
            "| x \\| y | [Esc \\| aped](p1.md) |",
            "| 4 | [Out](../p1.md) |",
            "| 5 | [Self](MASTER_PLAN.md) |",
            "| 6 | No link |",
        ]
    ),
    reference_like.map(lambda text: f"| 7 | {text} |"),
)
master_plans = st.builds(
    lambda before, header, rows, after: "\n".join([*before, *header, *rows, *after]),
    st.lists(plan_lines, max_size=8),
    st.sampled_from(
        [["| Phase | Title | Status |", "|---|:---:|---|"], ["Phase | Title", "--|--"], []]
    ),
    st.lists(table_rows, min_size=1, max_size=4),
    st.lists(plan_lines, max_size=4),
)
PHASE_FILES = {
    "p1.md": "# One\n\n**GitHub Issues:** #5\n",
    "sub/p2.md": "---\njira_issues: [A-1]\n---\n",
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(master_plans)
def test_any_master_plan_text_loads_or_raises_a_plan_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in PHASE_FILES.items():
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_text(content, encoding="utf-8")
        master = root / "MASTER_PLAN.md"
        master.write_text(text, encoding="utf-8")
        try:
            plan: Plan | None = load_plan(master, default_repo="octo/default")
        except PlanError as error:
            plan, message = None, error.message
        else:
            message = ""
        if plan is None:
            event("PlanError")
            assert message.startswith(str(root))  # the master plan or a phase file
        else:
            event("Plan")
            assert plan.phases
            files = [phase.file for phase in plan.phases]
            inside = root.resolve()
            assert all(file is not None and file.is_file() for file in files)
            assert all(file is not None and file.is_relative_to(inside) for file in files)
