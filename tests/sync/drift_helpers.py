"""Drift for plain records, the way the rule tests hold them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from debussy.config import Config
from debussy.issues import DriftReport, IssueStatus
from debussy.state.records import IssueKey, LinkedIssue, PhaseRecord, RunRecord, Snapshot
from debussy.sync.drift_detector import DriftDetector


def detect_run_drift(
    run: RunRecord,
    phases: Sequence[PhaseRecord],
    links: Sequence[LinkedIssue],
    statuses: Mapping[IssueKey, IssueStatus],
    snapshots: Mapping[IssueKey, Snapshot],
    config: Config,
) -> list[DriftReport]:
    """``DriftDetector(...).reports(statuses)``: what the dashboard and sync are given."""
    return DriftDetector(run, phases, links, config, snapshots=snapshots).reports(statuses)
