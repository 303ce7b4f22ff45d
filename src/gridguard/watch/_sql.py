"""SQL helpers shared by the watch's queries: placeholders and timestamps per dialect."""

from __future__ import annotations

from ..storage.sqltext import SQL_DIALECTS
from ..storage.sqltext import bound_ts as param_ts
from ..storage.sqltext import sql_text as text

__all__ = ["SQL_DIALECTS", "param_ts", "text"]
