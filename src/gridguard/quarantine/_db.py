"""Small helpers for the SQL the quarantine and services workflows push down.

Queries are written once with ``?`` placeholders and run on SQLite and
PostgreSQL; a store that runs no SQL (memory) gets ``None`` from
:func:`sql_for` and the caller computes in Python instead.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..model import Campaign
from ..storage.schema import decode_timestamp, encode_timestamp, spec_for
from .records import QuarantinePolicy

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["CHUNK", "Sql", "chunks", "instant", "policy_for", "select", "sql_for"]

T = TypeVar("T")
CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's parameter limit."""


@attrs.frozen
class Sql:
    """One SQL dialect: placeholders and how dates and instants are bound."""

    dialect: str

    def text(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def ts(self, value: dt.datetime) -> Any:
        return encode_timestamp(value) if self.dialect == "sqlite" else value

    def date(self, value: dt.date) -> Any:
        return value.isoformat() if self.dialect == "sqlite" else value


def sql_for(ws: Workspace) -> Sql | None:
    """The SQL dialect of ``ws``'s store, or ``None`` when it runs no SQL."""
    dialect = ws.storage.dialect
    return Sql(dialect) if dialect in ("sqlite", "postgresql") else None


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
    if sql.dialect == "sqlite":
        return [spec.decode(row) for row in uow.query(text, params)]
    # PostgreSQL hands back native values; put them in the stored text form decode() reads.
    kinds = [c.kind for c in spec.columns]
    return [
        spec.decode([_as_stored(kind, value) for kind, value in zip(kinds, row, strict=True)])
        for row in uow.query(text, params)
    ]


def _as_stored(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamp" and isinstance(value, dt.datetime):
        return encode_timestamp(value)
    if kind == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return value


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
            from ..errors import NotFoundError

            raise NotFoundError(f"no Campaign with id {campaign_id!r}")
    else:
        found = list(uow.find(Campaign))
        campaign = found[0] if len(found) == 1 else None
    return (
        QuarantinePolicy() if campaign is None else QuarantinePolicy(time_zone=campaign.time_zone)
    )
