"""Screening: a rule set run over a campaign's persons, and what it stores.

:func:`screen` classifies every person in the database when the store runs
SQL (in Python otherwise), then writes the assessments, quarantine orders,
tasks and messages the rules call for, idempotently: a re-run writes nothing
new. The rule language itself is :mod:`gridguard.rules`.
"""

from ._run import (
    RuleSetVersionConflict,
    ScreeningResult,
    StoredVersion,
    classification_sql,
    explain,
    rule_functions,
    screen,
    stored_versions,
)

__all__ = [
    "RuleSetVersionConflict",
    "ScreeningResult",
    "StoredVersion",
    "classification_sql",
    "explain",
    "rule_functions",
    "screen",
    "stored_versions",
]
