"""Debussy: track multi-phase implementation plans and keep their GitHub and Jira issues honest.

The command line is ``debussy.cli``; the library underneath is ``debussy.runs``,
``debussy.sync`` (tracker clients, cache, drift, reconciliation), ``debussy.plans``
and ``debussy.models`` (the state database).
"""
