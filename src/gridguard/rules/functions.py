"""A function that rule conditions can call, with a Python and a SQL implementation."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["RuleFunction"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _name(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(f"rule function name {value!r} must be snake_case")


@attrs.frozen(kw_only=True)
class RuleFunction:
    """A named function for rule conditions.

    ``python`` computes the value in Python; ``sql`` maps a dialect
    (``sqlite``, ``postgresql``) to an SQL template whose ``{0}``, ``{1}``...
    are replaced by the compiled arguments. Both must agree, missing values
    (``None``/``NULL``) included: the Python function receives ``None`` for
    a missing argument and returns ``None`` for an unknown result.
    """

    name: str = attrs.field(validator=_name)
    python: Callable[..., Any]
    sql: Mapping[str, str] = attrs.field(factory=dict)
    arity: int = 1
    doc: str = ""
    returns: str = "any"
    """The result's type for load-time checks (``bool``, ``number``, ``text``,
    ``date``); ``any`` (the default) is accepted wherever a value may stand."""
