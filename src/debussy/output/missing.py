"""Issues a tracker does not know, summed up per repository or Jira project.

``status --issues`` and ``sync`` both say ``1,994 issues not found on GitHub in octo/app:
#101–#2094`` rather than one line per issue; each issue is still logged under ``-v``, and the
JSON documents list every one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from debussy.issues import GitHubRef, IssueRef, JiraRef
from debussy.output.words import number_ranges, platform_name, plural

log = logging.getLogger(__name__)


def missing_lines(missing: Iterable[tuple[IssueRef, str]]) -> list[str]:
    """One line per repository or project over (reference, key as shown) pairs."""
    groups: dict[tuple[str, str], list[tuple[IssueRef, str]]] = {}
    for ref, key in missing:
        where = ref.repo if isinstance(ref, GitHubRef) else ref.project
        groups.setdefault((ref.platform, where), []).append((ref, key))
    lines: list[str] = []
    for (platform, where), issues in groups.items():
        for _ref, key in issues:
            log.info("%s: not found on %s", key, platform_name(platform))
        if platform == "github":
            numbers = [ref.number for ref, _key in issues if isinstance(ref, GitHubRef)]
            listed = number_ranges(numbers)
        else:
            numbers = [
                int(ref.key.rsplit("-", 1)[1]) for ref, _key in issues if isinstance(ref, JiraRef)
            ]
            listed = number_ranges(numbers, prefix=f"{where}-")
        lines.append(
            f"{plural(len(issues), 'issue')} not found on {platform_name(platform)} "
            f"in {where}: {listed}"
        )
    return lines
