"""SQL written once for both SQL backends: placeholders and bound values per dialect.

Workflows that push work into the database write their SQL with ``?``
placeholders, as SQLite takes them; :func:`sql_text` turns them into
psycopg's ``%s`` for PostgreSQL. SQLite stores timestamps and dates as
text, PostgreSQL as native values: :func:`bound_ts` and :func:`bound_date`
give a parameter in the form the dialect compares with.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

__all__ = ["PLACEHOLDERS", "SQL_DIALECTS", "SqlText", "bound_date", "bound_ts", "sql_text"]

PLACEHOLDERS: dict[str, str] = {"sqlite": "?", "postgresql": "%s"}
"""The parameter placeholder of each SQL dialect gridguard writes for."""

SQL_DIALECTS: tuple[str, ...] = tuple(PLACEHOLDERS)
"""Dialects gridguard writes SQL for; any other store (memory) is read in Python."""


def sql_text(dialect: str, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in ``dialect``'s placeholder style."""
    return sql.replace("?", "%s") if dialect == "postgresql" else sql


def bound_ts(dialect: str, value: dt.datetime) -> Any:
    """A timestamp parameter as ``dialect`` stores it (text on SQLite)."""
    if dialect != "sqlite":
        return value
    from .schema import encode_timestamp  # the schema imports the stored models: not at the top

    return encode_timestamp(value)


def bound_date(dialect: str, value: dt.date) -> Any:
    """A date parameter as ``dialect`` stores it (ISO text on SQLite)."""
    return value.isoformat() if dialect == "sqlite" else value


@attrs.frozen
class SqlText:
    """One SQL dialect, for code that writes several statements in it."""

    dialect: str

    @property
    def mark(self) -> str:
        """The parameter placeholder (``?`` or ``%s``)."""
        return PLACEHOLDERS[self.dialect]

    def text(self, sql: str) -> str:
        """See :func:`sql_text`."""
        return sql_text(self.dialect, sql)

    def ts(self, value: dt.datetime) -> Any:
        """See :func:`bound_ts`."""
        return bound_ts(self.dialect, value)

    def date(self, value: dt.date) -> Any:
        """See :func:`bound_date`."""
        return bound_date(self.dialect, value)
