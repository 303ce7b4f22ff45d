"""Retention: when a campaign has closed, purge the personal data it gathered.

A campaign is *closed* once its ``end`` date has passed; ``days`` after that
(14 by default, as Sara Alert does) the personal data in its jurisdictions
is purged: names, identity numbers, phones, birth dates and addresses of
persons and households, the free text of facts (visit and service notes,
the notes of anomalies and exposures), and the names, numbers and phones of
outside-list rows. Rows are *redacted*, never deleted: every visit,
screening, check-in and quarantine order stays with its place, day and
outcome, so the counts in reports do not change. A jurisdiction that an
open campaign still covers is left alone.

The purge is one audited operation; :func:`purge` with ``dry_run=True``
counts what would go and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ValidationError
from ..model import Campaign, Household, Person
from ..storage.dialect import SqlDialect
from ..storage.schema import SPECS, encode_timestamp

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "BLIND_INDEX_PURGE_FIELDS",
    "DEFAULT_RETENTION_DAYS",
    "PURGED",
    "PURGE_FIELDS",
    "PurgeField",
    "PurgeReport",
    "closed_campaigns",
    "purge",
]

DEFAULT_RETENTION_DAYS = 14
"""Days after a campaign's end before its personal data is purged."""
PURGED = "已清除"
"""What a purged name or address reads (they cannot be empty)."""


@attrs.frozen(kw_only=True)
class PurgeField:
    """A column holding personal data and what it becomes when purged.

    ``value`` replaces the text (``None`` empties it); with ``notes`` the
    column is JSON whose objects' ``note`` keys are emptied instead.

    A table outside the schema's specs that has no ``jurisdiction`` column
    of its own (the blind indexes of field encryption, ``persons_blind``)
    names its ``owner`` table and the column holding the owner row's id
    (``key``): its rows are purged with their owner's. Such a table is
    skipped on a store that does not have it.
    """

    table: str
    column: str
    value: str | None = None
    notes: bool = False
    owner: str | None = None
    key: str = "id"


PURGE_FIELDS: tuple[PurgeField, ...] = (
    PurgeField(table="persons", column="name", value=PURGED),
    PurgeField(table="persons", column="resident_id"),
    PurgeField(table="persons", column="phone"),
    PurgeField(table="persons", column="birth_date"),
    PurgeField(table="households", column="address", value=PURGED),
    PurgeField(table="households", column="phone"),
    PurgeField(table="visits", column="note", value=""),
    PurgeField(table="service_requests", column="note", value=""),
    PurgeField(table="checkins", column="anomalies", notes=True),
    PurgeField(table="screenings", column="exposures", notes=True),
    PurgeField(table="point_reports", column="anomalies", notes=True),
    PurgeField(table="list_entries", column="name"),
    PurgeField(table="list_entries", column="id_number"),
    PurgeField(table="list_entries", column="phone"),
    PurgeField(table="list_entries", column="note", value=""),
)
"""The stored records' columns of personal data that :func:`purge` redacts."""

BLIND_INDEX_PURGE_FIELDS: tuple[PurgeField, ...] = tuple(
    PurgeField(table="persons_blind", column=column, owner="persons", key="person_id")
    for column in ("resident_id", "id_block", "id_region", "phone")
)
"""The blind indexes of field encryption (``persons_blind``, see
:mod:`gridguard.security.crypto.fields`): kept as rows, their values emptied
with their persons' identity numbers and phones. Named here rather than
imported, so that a purge does not load the crypto package; a test holds the
two in step."""

# The builtin plugin gridguard.builtins.retention registers both tuples through the
# register_purge_fields hook; purge() redacts what the workspace's plugins registered.


@attrs.frozen(kw_only=True)
class PurgeReport:
    """What a purge changed (or, dry, would change): rows per table, and why."""

    dry_run: bool
    days: int
    cutoff: dt.datetime
    """Facts before this instant were purged."""
    campaigns: tuple[str, ...]
    """Closed campaigns whose retention period is over."""
    jurisdictions: tuple[str, ...]
    """Communities purged (those still covered by an open campaign are not)."""
    rows: Mapping[str, int]
    """Rows redacted per table."""
    skipped: tuple[str, ...] = ()
    """Tables this backend could not redact (facts on the memory store)."""

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "days": self.days,
            "cutoff": self.cutoff.isoformat(),
            "campaigns": list(self.campaigns),
            "jurisdictions": list(self.jurisdictions),
            "rows": dict(self.rows),
            "total": self.total,
            "skipped": list(self.skipped),
        }


def closed_campaigns(
    campaigns: Iterable[Campaign], *, days: int, now: dt.datetime
) -> tuple[list[Campaign], list[Campaign]]:
    """``(purgeable, open)``: campaigns closed at least ``days`` ago, and those still running.

    Days count in each campaign's own time zone. A campaign that ended but
    is still inside its retention period is in neither list.
    """
    purgeable, running = [], []
    for campaign in campaigns:
        today = campaign.local_date(now)
        if campaign.end is None or campaign.end >= today:
            running.append(campaign)
        elif campaign.end + dt.timedelta(days=days) < today:
            purgeable.append(campaign)
    return purgeable, running


def _jurisdictions(uow: UnitOfWork, campaigns: Iterable[Campaign]) -> set[str]:
    from .access import Scope
    from .principal import Principal, Role

    found: set[str] = set()
    for campaign in campaigns:
        for area in campaign.scope:
            who = Principal(name="retention", role=Role.ADMIN, area_id=area)
            found |= Scope.resolve(who, uow).jurisdictions
    return found


def _blank_notes(value: Any) -> Any:
    if isinstance(value, list):
        return [_blank_notes(v) for v in value]
    if isinstance(value, dict):
        return {k: ("" if k == "note" else _blank_notes(v)) for k, v in value.items()}
    return value


def _redact(
    uow: UnitOfWork,
    dialect: SqlDialect,
    table: str,
    fields: list[PurgeField],
    juris: list[str],
    cutoff: str | None,
    dry_run: bool,
    registry: bool,
) -> int:
    mark, differs = dialect.placeholder, dialect.distinct
    if dialect.sqlite_sql and not dry_run:
        # Overwrite freed space too, so the old text does not linger in the file.
        for _ in uow.query("PRAGMA secure_delete = ON"):
            pass
    marks = ", ".join(mark for _ in juris)
    owner, row = fields[0].owner, f'"{fields[0].key}"'
    if owner is None:
        where = [f"jurisdiction IN ({marks})"]
    else:
        where = [f"{row} IN (SELECT id FROM {owner} WHERE jurisdiction IN ({marks}))"]
    params: list[Any] = list(juris)
    if cutoff is not None:
        where.append(f'"at" < {mark}')
        params.append(cutoff)
    plain = [f for f in fields if not f.notes]
    changed: set[str] = set()
    if plain:
        differ = " OR ".join(
            f'"{f.column}" IS NOT NULL' if f.value is None else f'"{f.column}" {differs} {mark}'
            for f in plain
        )
        differ_params = [f.value for f in plain if f.value is not None]
        condition = " AND ".join(where) + f" AND ({differ})"
        if dry_run:
            sql = f"SELECT {row} FROM {table} WHERE {condition}"
            changed |= {str(r[0]) for r in uow.query(sql, [*params, *differ_params])}
        else:
            sets = ", ".join(f'"{f.column}" = {mark}' for f in plain)
            if registry:
                sets += ", version = version + 1"
            sql = f"UPDATE {table} SET {sets} WHERE {condition} RETURNING {row}"
            values = [f.value for f in plain]
            changed |= {str(r[0]) for r in uow.query(sql, [*values, *params, *differ_params])}
    for field in (f for f in fields if f.notes):
        sql = f'SELECT {row}, "{field.column}" FROM {table} WHERE {" AND ".join(where)}'
        updates = []
        for id, stored in list(uow.query(sql, params)):
            if not stored:
                continue
            # SQLite keeps JSON as text; PostgreSQL hands back the parsed value.
            value = json.loads(stored) if isinstance(stored, str | bytes) else stored
            blanked = _blank_notes(value)
            if blanked != value:
                updates.append((json.dumps(blanked, ensure_ascii=False, sort_keys=True), id))
        for encoded, id in updates:
            changed.add(str(id))
            if not dry_run:
                update = f'UPDATE {table} SET "{field.column}" = {mark} WHERE {row} = {mark}'
                for _ in uow.query(f"{update} RETURNING {row}", [encoded, id]):
                    pass
    return len(changed)


def _redact_registry_in_python(uow: UnitOfWork, juris: list[str], dry_run: bool) -> dict[str, int]:
    """The memory store runs no SQL: purge persons and households through ``put``."""
    rows: dict[str, int] = {}
    groups: tuple[tuple[type[Any], dict[str, Any]], ...] = (
        (Person, {"name": PURGED, "resident_id": None, "phone": None, "birth_date": None}),
        (Household, {"address": PURGED, "phone": None}),
    )
    for cls, changes in groups:
        stale = [
            r
            for r in uow.find(cls, jurisdictions=juris)
            if any(getattr(r, k) != v for k, v in changes.items())
        ]
        if stale and not dry_run:
            uow.put(cls, [attrs.evolve(r, **changes) for r in stale])
        rows[SPECS[cls].table] = len(stale)
    return rows


def _owned(
    uow: UnitOfWork,
    dialect: SqlDialect,
    tables: Mapping[str, Any],
    purge_fields: Sequence[PurgeField],
) -> dict[str, list[PurgeField]]:
    """Fields of tables that hang off an owner table, for the tables this store has."""
    by_table: dict[str, list[PurgeField]] = {}
    for field in purge_fields:
        if field.owner is not None and field.owner in tables:
            by_table.setdefault(field.table, []).append(field)
    if not by_table:
        return {}
    names = sorted(by_table)
    present = {str(r[0]) for r in uow.query(dialect.tables_present(len(names)), names)}
    return {t: f for t, f in by_table.items() if t in present}


def purge(
    ws: Workspace,
    *,
    days: int = DEFAULT_RETENTION_DAYS,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> PurgeReport:
    """Purge the personal data of campaigns closed more than ``days`` ago.

    Needs a principal allowed to run ``retention.purge`` (an administrator)
    over the jurisdictions concerned; the purge (or the dry run) is one
    audit entry, and it happens in one transaction. The columns redacted are
    the purge fields the workspace's plugins registered
    (``register_purge_fields``), the builtins' included.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValidationError.single(
            "$.days", repr(days), "must be a whole number of days, 0 or more"
        )
    now = now or dt.datetime.now(dt.UTC)
    if now.utcoffset() is None:
        raise ValidationError.single("$.now", repr(now), "must be a timezone-aware datetime")
    cutoff = now - dt.timedelta(days=days)
    dialect = ws.dialect
    purge_fields = [entry.value for entry in ws.registries.purge_fields.entries()]
    with ws._transaction(write=not dry_run) as uow:
        purgeable, running = closed_campaigns(uow.find(Campaign), days=days, now=now)
        juris = sorted(_jurisdictions(uow, purgeable) - _jurisdictions(uow, running))
        action = "retention.dry_run" if dry_run else "retention.purge"
        targets: list[Campaign | None] = [*purgeable] or [None]
        for campaign in targets:
            ws.authorize(action, campaign)
        rows: dict[str, int] = {}
        skipped: list[str] = []
        if juris:
            tables = {s.table: s for s in SPECS.values()}
            by_table: dict[str, list[PurgeField]] = {}
            for field in purge_fields:
                spec = tables.get(field.table)
                if field.owner is None and spec is not None and field.column in spec.column_names:
                    by_table.setdefault(field.table, []).append(field)
            if dialect.runs_sql:
                for table, fields in by_table.items():
                    spec = tables[table]
                    rows[table] = _redact(
                        uow,
                        dialect,
                        table,
                        fields,
                        juris,
                        encode_timestamp(cutoff) if spec.is_fact else None,
                        dry_run,
                        registry=not spec.is_fact,
                    )
                for table, fields in _owned(uow, dialect, tables, purge_fields).items():
                    rows[table] = _redact(
                        uow, dialect, table, fields, juris, None, dry_run, registry=False
                    )
            else:
                rows = _redact_registry_in_python(uow, juris, dry_run)
                skipped = sorted(t for t, s in tables.items() if s.is_fact and t in by_table)
    return PurgeReport(
        dry_run=dry_run,
        days=days,
        cutoff=cutoff,
        campaigns=tuple(c.id for c in purgeable),
        jurisdictions=tuple(juris),
        rows=rows,
        skipped=tuple(skipped),
    )
