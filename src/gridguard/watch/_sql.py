"""SQL helpers shared by the watch's queries: placeholders and timestamps per dialect."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..storage.schema import decode_timestamp, encode_timestamp

__all__ = ["SQL_DIALECTS", "instant", "param_ts", "text"]

SQL_DIALECTS = ("sqlite", "postgresql")
"""Dialects the watch writes SQL for; any other store (memory) is read in Python."""


def text(dialect: str, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the dialect's placeholder style."""
    return sql.replace("?", "%s") if dialect == "postgresql" else sql


def param_ts(dialect: str, value: dt.datetime) -> Any:
    """A timestamp parameter as the dialect stores it (text for SQLite)."""
    return encode_timestamp(value) if dialect == "sqlite" else value


def instant(value: Any) -> dt.datetime | None:
    """A stored timestamp (text or datetime) as an aware UTC datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return decode_timestamp(str(value))
