"""Screening rules: a typed, safe rule language that runs in Python and inside the database.

Conditions are read from text into a tree of frozen nodes
(:mod:`gridguard.rules.tree`, :func:`parse_condition`), grouped into
versioned rule sets in TOML (:func:`load_rule_set`,
:func:`builtin_rule_set`), and compiled either to Python closures
(:func:`compile_python`) or to parameterised SQL (:func:`compile_sql`).
:func:`screen` runs a rule set over a campaign's persons and stores what
it concludes. Plugins add functions conditions may call with
:class:`RuleFunction`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compile_python import compile_python
from .compile_sql import Fragment, compile_sql
from .context import RunContext
from .functions import RuleFunction
from .parse import ConditionError, parse_condition, parse_value
from .records import Assessment, QuarantineOrder, RiskLevel, ScreeningRun, Task
from .ruleset import Rule, RuleSet, RuleSetError, builtin_rule_set, load_rule_set, parse_rule_set

if TYPE_CHECKING:
    from .screening import ScreeningResult, screen

__all__ = [
    "Assessment",
    "ConditionError",
    "Fragment",
    "QuarantineOrder",
    "RiskLevel",
    "Rule",
    "RuleFunction",
    "RuleSet",
    "RuleSetError",
    "RunContext",
    "ScreeningResult",
    "ScreeningRun",
    "Task",
    "builtin_rule_set",
    "compile_python",
    "compile_sql",
    "load_rule_set",
    "parse_condition",
    "parse_rule_set",
    "parse_value",
    "screen",
]

_LAZY = {"screen", "ScreeningResult"}


def __getattr__(name: str) -> Any:
    """The screening run, imported on first use (it needs the storage layer)."""
    if name in _LAZY:
        from . import screening

        return getattr(screening, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
