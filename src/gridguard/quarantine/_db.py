"""Small helpers for the SQL the quarantine and services workflows push down.

Queries are written once with ``?`` placeholders and run on SQLite and
PostgreSQL; a store that runs no SQL (memory) gets ``None`` from
:func:`sql_for` and the caller computes in Python instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import NotFoundError
from ..model import Campaign
from ..model.quarantine import QuarantinePolicy
from ..storage.dialect import SqlDialect as Sql
from ..storage.schema import decode_timestamp, spec_for

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["CHUNK", "Sql", "chunks", "instant", "policy_for", "select", "sql_for"]

T = TypeVar("T")
CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's parameter limit."""


def sql_for(ws: Workspace) -> Sql | None:
    """The SQL dialect of ``ws``'s store, or ``None`` when it runs no SQL."""
    dialect = ws.dialect
    return dialect if dialect.runs_sql else None


def instant(value: Any) -> dt.datetime | None:
    """A stored timestamp (text on SQLite, a datetime on PostgreSQL) as aware UTC."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return decode_timestamp(str(value))


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select(uow: UnitOfWork, sql: Sql, cls: type[T], where: str, params: Sequence[Any]) -> list[T]:
    """Records of ``cls`` (alias ``t``) matching the SQL condition ``where``, decoded."""
    spec = spec_for(cls)
    cols = ", ".join(f't."{c}"' for c in spec.column_names)
    text = sql.text(f"SELECT {cols} FROM {spec.table} t WHERE {where}")
    return [spec.decode(spec.as_stored(row)) for row in uow.query(text, params)]


def policy_for(
    uow: UnitOfWork, campaign_id: str | None, policy: QuarantinePolicy | None
) -> QuarantinePolicy:
    """``policy``, or the default policy in the time zone of the campaign (or the only one)."""
    if policy is not None:
        return policy
    campaign: Campaign | None = None
    if campaign_id is not None:
        campaign = uow.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFoundError(f"no Campaign with id {campaign_id!r}")
    else:
        found = list(uow.find(Campaign))
        campaign = found[0] if len(found) == 1 else None
    return (
        QuarantinePolicy() if campaign is None else QuarantinePolicy(time_zone=campaign.time_zone)
    )
