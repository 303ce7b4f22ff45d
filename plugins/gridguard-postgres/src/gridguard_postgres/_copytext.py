"""Rows as one block of ``COPY ... FROM STDIN`` text, built column by column.

psycopg's ``Copy.write_row`` costs a few microseconds of Python a row; for a
city of millions that was a third of the loading process's time. Here a
batch is turned into columns once (``zip``), each column is made text in one
pass (most are text already and only checked for the characters COPY must
escape), and the lines are joined in C. The output is exactly what COPY's
text format reads: tab between fields, ``\\N`` for NULL, backslash escapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["NULL", "copy_text", "text_column"]

NULL = "\\N"
"""How COPY's text format spells NULL."""

_SPECIAL = ("\\", "\t", "\n", "\r")


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _field(value: Any) -> str:
    """One value in COPY's text spelling (``None`` as NULL, booleans as 1/0)."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return _escape(value) if any(c in value for c in _SPECIAL) else value
    if isinstance(value, bool):
        return "1" if value else "0"
    return _escape(str(value))


def text_column(values: Sequence[Any]) -> Sequence[str]:
    """``values`` (one column of a batch) as COPY text fields."""
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if kinds == {str}:
        joined = "".join([v for v in values if v is not None] if nulls else values)
        if not any(c in joined for c in _SPECIAL):  # the common case: nothing to escape
            return [NULL if v is None else v for v in values] if nulls else values
    elif kinds == {int}:
        return [NULL if v is None else str(v) for v in values]
    return [_field(v) for v in values]


def copy_text(rows: Sequence[Sequence[Any]], *extra: Sequence[Any]) -> str:
    """``rows`` (each followed by the values of ``extra`` at its index) as COPY text."""
    columns: list[Sequence[str]] = [text_column(c) for c in zip(*rows, strict=True)]
    columns += [text_column(c) for c in extra]
    if not columns or not rows:
        return ""
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"
