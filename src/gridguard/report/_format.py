"""How the builtin reporters show a value of each column kind, and the change of a figure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .document import ColumnKind, Label, cell_text

__all__ = ["FORMULA_TRIGGERS", "change_text", "neutralise", "value_text"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""

MISSING = "–"


def value_text(value: Any, kind: ColumnKind, lang: str) -> str:
    """``value`` as text: thousands separators, percentages, local dates; ``–`` when missing."""
    value = cell_text(value, lang) if isinstance(value, Label) else value
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if kind == "percent" and isinstance(value, int | float):
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def change_text(change: int | float | None, kind: ColumnKind, lang: str = "en") -> str:
    """A figure's change since the day before: ``+12``, ``-3``, ``±0``, ``+4.5 pp``.

    A percentage's change is in percentage points: ``pp`` in English,
    ``个百分点`` in Chinese.
    """
    if change is None:
        return ""
    if not change:
        return "±0"
    if kind == "percent":
        unit = "个百分点" if lang.startswith("zh") else "pp"
        return f"{change * 100:+.1f} {unit}"
    if isinstance(change, float):
        return f"{change:+,.1f}"
    return f"{change:+,}"


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: a leading formula character is quoted."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
