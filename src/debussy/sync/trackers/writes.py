"""The write vocabulary the tracker clients speak: one write, its outcome, what a read saw.

The rules above (``sync/writes.py`` plans the writes, ``sync/converge.py`` sends them)
and the clients below share these values; they live here, in the trackers' layer, so a
client imports nothing from the rules (issue 21). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from debussy.issues import SUB_ISSUE_WORDS, IssueRef, IssueStatus

WriteAction = Literal[
    "set_label", "close", "reopen", "transition", "comment", "add_sub_issue", "remove_sub_issue"
]
Outcome = Literal["applied", "already", "refused", "unconfirmed", "skipped"]
DONE_OUTCOMES: frozenset[str] = frozenset({"applied", "already"})
"""Outcomes after which the tracker matches; any other one means the push is unfinished."""


@dataclass(frozen=True, slots=True)
class TrackerWrite:
    """One change to one issue, exactly as it will be sent.

    ``value``: the Debussy label to end with (None = none), the close reason, the
    target status name, the comment text, or (sub-issue writes) the parent's
    canonical reference; ``parent_key`` is then how the parent is displayed.
    ``add``/``remove``: the label operations of a ``set_label`` (the rest of the
    issue's labels are untouched).
    ``target_id``: the Jira transition id the read offered.
    """

    ref: IssueRef
    display_key: str
    phase_id: str | None
    action: WriteAction
    value: str | None
    why: str = ""
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    target_id: str | None = None
    target_category: str | None = None
    """The status category the Jira transition leads to: a refused move that finds the
    issue there already (another event moved it) is ``already``, not a failure."""
    parent_key: str | None = None

    def describe(self) -> str:
        if self.action == "set_label":
            what = f"set label {self.value}" if self.value else "remove Debussy labels"
            if self.remove and self.value:
                what += f" (remove {', '.join(self.remove)})"
            elif self.remove:
                what += f" ({', '.join(self.remove)})"
        elif self.action == "close":
            what = f"close as {(self.value or 'completed').replace('_', ' ')}"
        elif self.action == "reopen":
            what = "reopen"
        elif self.action == "transition":
            what = f"transition to '{self.value}'"
        elif self.action in SUB_ISSUE_WORDS:
            what = f"{SUB_ISSUE_WORDS[self.action]}{self.parent_key}"
        else:
            what = _comment_summary(self.value)
        return f"{self.display_key}: {what}"

    def as_json(self) -> dict[str, object]:
        document: dict[str, object] = {
            "issue": self.display_key,
            "platform": self.ref.platform,
            "ref": self.ref.canonical,
            "phase": self.phase_id,
            "action": self.action,
            "value": self.value if self.action != "comment" else None,
            "why": self.why,
        }
        if self.action == "set_label":
            document["add"] = list(self.add)
            document["remove"] = list(self.remove)
        return document


def _comment_summary(text: str | None) -> str:
    """``comment "Reason: tests red"``: which comment, in a line (the marker never shows)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    shown = next((line for line in lines if line.startswith("Reason:")), None)
    shown = shown or next((line for line in lines if not line.startswith("<!--")), "")
    if not shown:
        return "comment"
    if len(shown) > 60:
        shown = shown[:59] + "…"
    return f'comment "{shown}"'


@dataclass(frozen=True, slots=True)
class WriteResult:
    write: TrackerWrite
    outcome: Outcome
    detail: str | None = None

    @property
    def done(self) -> bool:
        """True when the tracker is known to match (``applied`` or ``already``)."""
        return self.outcome in DONE_OUTCOMES

    def as_json(self) -> dict[str, object]:
        return {**self.write.as_json(), "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class OfferedTransition:
    """A Jira transition the read says is available now (``expand=transitions``)."""

    id: str
    name: str
    to_name: str
    to_category: str | None


@dataclass(frozen=True, slots=True)
class IssueView:
    """What the convergence read learnt about one issue."""

    status: IssueStatus
    is_pull_request: bool = False
    transitions: tuple[OfferedTransition, ...] = ()
    markers: frozenset[str] | None = None
    """Debussy's comment markers among the latest comments; None when they were not read."""


def pick_transition(
    transitions: Sequence[OfferedTransition], wanted: str
) -> OfferedTransition | None:
    """By target status first (what config names), then by the transition's own name."""
    folded = wanted.strip().casefold()
    for transition in transitions:
        if transition.to_name.casefold() == folded:
            return transition
    for transition in transitions:
        if transition.name.casefold() == folded:
            return transition
    return None
