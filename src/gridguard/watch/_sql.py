"""SQL helpers shared by the watch's queries: the store's dialect places and binds values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..storage.dialect import SqlDialect

__all__ = ["SqlDialect", "param_ts", "text"]


def text(dialect: SqlDialect, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in ``dialect``'s placeholder style."""
    return dialect.text(sql)


def param_ts(dialect: SqlDialect, value: dt.datetime) -> Any:
    """A timestamp parameter as ``dialect``'s database stores it."""
    return dialect.ts(value)
