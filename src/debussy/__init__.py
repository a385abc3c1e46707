"""Debussy: track multi-phase implementation plans and keep their GitHub and Jira issues honest.

The command line is ``debussy.cli``; the library underneath is ``debussy.app.runs``,
``debussy.sync`` (tracker clients, cache, drift, reconciliation), ``debussy.plans``
and ``debussy.state`` (the state database).
"""
