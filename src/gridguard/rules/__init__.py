"""Screening rules: a typed, safe rule language that runs in Python and inside the database.

Conditions are read from text into a tree of frozen nodes
(:mod:`gridguard.rules.tree`, :func:`~gridguard.rules.parse.parse_condition`),
grouped into versioned rule sets in TOML
(:func:`~gridguard.rules.ruleset.load_rule_set`), and compiled either to
Python closures (:mod:`gridguard.rules.python_compiler`) or to
parameterised SQL (:mod:`gridguard.rules.sql_compiler`).
:func:`gridguard.screening.screen` runs a rule set over a campaign's
persons and stores what it concludes. Plugins add functions conditions may
call with :class:`RuleFunction`. The names above are also importable from
``gridguard.rules`` itself.
"""

from __future__ import annotations

from ..model.assessments import Assessment as Assessment
from ..model.assessments import QuarantineOrder as QuarantineOrder
from ..model.assessments import RiskLevel as RiskLevel
from ..model.assessments import ScreeningRun as ScreeningRun
from ..model.assessments import Task as Task
from .context import RunContext as RunContext
from .functions import RuleFunction
from .parse import ConditionError as ConditionError
from .parse import parse_condition as parse_condition
from .parse import parse_value as parse_value

# Re-exported names; only RuleFunction is listed in __all__, so that the API reference
# documents each of them once, in its own module (see docs/rules.md).
from .python_compiler import compile_python as compile_python
from .ruleset import Rule as Rule
from .ruleset import RuleSet as RuleSet
from .ruleset import RuleSetError as RuleSetError
from .ruleset import builtin_rule_set as builtin_rule_set
from .ruleset import load_rule_set as load_rule_set
from .ruleset import parse_rule_set as parse_rule_set
from .sql_compiler import Fragment as Fragment
from .sql_compiler import compile_sql as compile_sql

__all__ = ["RuleFunction"]
