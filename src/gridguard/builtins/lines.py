"""Builtin plugin: the three lines of defense."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import hookimpl
from ..model.lines import BUILTIN_LINES, LineOfDefense


@hookimpl
def register_lines_of_defense(register: Callable[[LineOfDefense], None]) -> None:
    for line in BUILTIN_LINES:
        register(line)
