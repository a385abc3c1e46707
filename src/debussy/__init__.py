"""Debussy: track multi-phase implementation plans and keep their GitHub and Jira issues honest.

The command line is ``debussy.cli``; the library underneath is ``debussy.app.runs``,
``debussy.sync`` (tracker clients, cache, drift, reconciliation), ``debussy.plans``
and ``debussy.state`` (the state database).
"""

__version__ = "0.1.0"
"""The release, as in pyproject.toml (tests/test_version.py keeps them equal).

A literal, not ``importlib.metadata.version("debussy")``: importing
``importlib.metadata`` costs about 10 ms, and the GitHub client's User-Agent is read on
every command that talks to GitHub (notes/NOTES_performance.md).
"""
