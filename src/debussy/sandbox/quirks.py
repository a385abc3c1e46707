"""Quirks: switches for behaviour only some real GitHub and Jira sites show.

The sandbox answers like github.com and Jira Cloud by default. A quirk turns on what
an older or differently configured site does, so client tests reach those paths with
the one fake rather than with hand-written canned bodies. Set them on a tracker with
``sandbox.quirks.<name> = ...`` at any time; they apply from the next request on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UnknownKeyMessage = Literal["does_not_exist", "invalid"]


@dataclass
class Quirks:
    github_without_enable_duplicate: bool = False
    """Older GitHub Enterprise Server: ``stateReason`` has no ``enableDuplicate`` argument,
    so a query using it fails validation (``argumentNotAccepted``) as a whole."""

    jira_page_size: int | None = None
    """The site's own cap on search results per page (Jira's ``jira.search.views.default.max``
    on Server/DC, smaller pages under load on Cloud); ``None``: the API's documented caps."""

    jira_names_one_unknown_key: bool = False
    """A search with several unknown keys names only the first in its 400 (seen on some
    sites); clients must drop it and ask again until the search is clean."""

    jira_unknown_key_message: UnknownKeyMessage = "does_not_exist"
    """How the 400 names an unknown key: "An issue with key 'X' does not exist for field
    'key'." or, as for keys of a project the user cannot see, "The issue key 'X' for
    field 'key' is invalid."."""

    jira_hidden_issues_omitted: bool = False
    """Issues hidden by ``hide_jira_issue`` are silently left out of search results
    (issue-level security on some setups) instead of failing the search with a 400."""
