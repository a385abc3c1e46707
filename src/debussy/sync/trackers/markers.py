"""Debussy's hidden comment markers: how a replayed event finds the comment it already posted.

A comment Debussy writes (a lifecycle event's reason and evidence, auto-close's note)
ends with ``<!-- debussy:RUN/PHASE/EVENT -->`` (PRODUCT.md §5 "Evidence"). GitHub
renders markdown and hides an HTML comment; the write read fetches the latest
comments and ``markers_in`` lists the markers they carry, so the write planner sends
a comment only when its marker is absent: a replay never posts twice, and a comment
that was lost (the request failed) is posted by the replay.

Jira's document format has no hidden element, so a Jira comment carries the same
token as its last, short line (``debussy:RUN/PHASE/EVENT``); the search reads it back
the same way. Pure: no I/O.
"""

from __future__ import annotations

import re

_MARKER_RE = re.compile(r"debussy:(?P<id>[^\s/<>\]]+/[^\s/<>\]]+/[^\s<>\]]+)")
"""Three slash-separated parts: label names (``debussy:completed``) never match."""
_UNSAFE = re.compile(r"[\s/<>\]]+")


def marker_id(run_id: str, phase_id: str | None, event: str) -> str:
    """``run/phase/event`` with anything that would end the token replaced (``-``: no phase)."""
    parts = (run_id, phase_id if phase_id is not None else "-", event)
    return "/".join(_UNSAFE.sub("_", part) or "_" for part in parts)


def hidden_marker(identity: str) -> str:
    """The marker as GitHub markdown hides it."""
    return f"<!-- debussy:{identity} -->"


def plain_marker(identity: str) -> str:
    """The marker as a Jira comment carries it (no hidden element exists there)."""
    return f"debussy:{identity}"


def markers_in(text: str) -> frozenset[str]:
    """Every marker identity in a comment body."""
    return frozenset(match["id"] for match in _MARKER_RE.finditer(text))
