"""Plans: master plans, phase files and the issue references they link.

Callers use ``load_plan`` and the ``Plan``/``PhaseSpec`` values; the reference
parsers and ``origin_repo`` are public for ``init`` and for tests.
"""

from __future__ import annotations

from debussy.plans.git_remote import origin_repo, repo_from_remote_url
from debussy.plans.markdown import MAX_PLAN_BYTES
from debussy.plans.parser import Headers, PhaseSpec, Plan, load_plan
from debussy.plans.refs import parse_github_refs, parse_github_repo, parse_jira_refs

__all__ = [
    "MAX_PLAN_BYTES",
    "Headers",
    "PhaseSpec",
    "Plan",
    "load_plan",
    "origin_repo",
    "parse_github_refs",
    "parse_github_repo",
    "parse_jira_refs",
    "repo_from_remote_url",
]
