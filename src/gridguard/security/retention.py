"""Retention: when a campaign has closed, purge the personal data it gathered.

A campaign is *closed* once its ``end`` date has passed; ``days`` after that
(14 by default, as Sara Alert does) the personal data in its jurisdictions
is purged, whenever it was stored: a list imported the day before the purge
goes as well as the first day's visits. Purged: names, identity numbers,
phones, birth dates and addresses of persons and households, the free text
of facts (visit and service notes, the notes of anomalies and exposures),
the names, numbers and phones of outside-list rows, the temperatures and
symptoms of health reports, the phones of team members, and the texts of
messages that were sent (recipient, subject, body and data of the outbox).
Rows are *redacted*, never deleted: every visit, screening, check-in,
quarantine order and message stays with its place, day and outcome, so the
counts in reports and the outbox's attempt log do not change.

A jurisdiction is purged only when every campaign covering it is closed and
past its retention period: one that a running campaign, or a campaign closed
less than ``days`` ago, still covers is kept; so is one that no campaign
covers (nothing says when its data may go), and a message not sent yet.
The report says, per table, how many rows are purged and which groups of
rows are kept, and why (:class:`KeptGroup`); purged and kept add up to the
rows of the table.

The purge is one audited operation; :func:`purge` with ``dry_run=True``
counts what would go and what stays, and changes nothing.
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
from ..storage.schema import SPECS

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "BLIND_INDEX_PURGE_FIELDS",
    "DEFAULT_RETENTION_DAYS",
    "KEEP_REASONS",
    "PURGED",
    "PURGE_FIELDS",
    "KeptGroup",
    "PurgeField",
    "PurgeReport",
    "classify_campaigns",
    "closed_campaigns",
    "purge",
]

DEFAULT_RETENTION_DAYS = 14
"""Days after a campaign's end before its personal data is purged."""
PURGED = "已清除"
"""What a purged name or address reads (they cannot be empty)."""
_UNSENT = (
    "NOT EXISTS (SELECT 1 FROM outbox_attempts AS settled WHERE settled.message_id = outbox.id "
    "AND settled.outcome IN ('sent', 'dead'))"
)
"""A message still waiting to be sent: its text is what a channel will deliver."""

KEEP_REASONS: Mapping[str, tuple[str, str]] = {
    "open": ("仍有进行中的活动覆盖", "a campaign still running covers it"),
    "retention": ("活动结束未满保留期", "its campaign closed less than the retention period ago"),
    "no_campaign": ("无活动覆盖，无从判断何时清除", "no campaign covers it: nothing says when"),
    "unsent": ("消息尚未发出", "a message not sent yet: its channel still needs the text"),
    "clean": ("已无个人信息（已清除或本无）", "nothing personal left (purged before, or none)"),
}
"""Why rows are kept in clear: reason -> (zh-CN, en)."""


@attrs.frozen(kw_only=True)
class PurgeField:
    """A column holding personal data and what it becomes when purged.

    ``value`` replaces the text (``None`` empties it); with ``json_keys``
    the column is JSON whose objects' keys named there are replaced by their
    value instead (``notes`` is short for ``{"note": ""}``).

    ``keep_when`` is a SQL condition on the table's rows that keeps a row in
    clear even in a purged jurisdiction, for the reason named by
    ``keep_reason`` (a key of :data:`KEEP_REASONS`): messages not sent yet.

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
    json_keys: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    owner: str | None = None
    key: str = "id"
    keep_when: str | None = None
    keep_reason: str | None = None

    @property
    def blanks(self) -> Mapping[str, Any]:
        """The JSON keys this field replaces, and with what (empty: a plain column)."""
        return {"note": "", **self.json_keys} if self.notes else self.json_keys


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
    PurgeField(table="health_reports", column="temperature"),
    PurgeField(table="health_reports", column="symptoms", value="[]"),
    PurgeField(table="teams", column="members", json_keys={"phone": None}),
    *(
        PurgeField(
            table="outbox", column=column, value=value, keep_when=_UNSENT, keep_reason="unsent"
        )
        for column, value in (
            ("recipient", PURGED),
            ("subject", PURGED),
            ("body", PURGED),
            ("data", "{}"),
        )
    ),
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
class KeptGroup:
    """Rows of one table a purge keeps in clear, for one reason."""

    reason: str
    """A key of :data:`KEEP_REASONS`."""
    rows: int
    jurisdictions: tuple[str, ...] = ()
    """The communities concerned."""
    campaigns: tuple[str, ...] = ()
    """The campaigns that keep them (running, or inside their retention period)."""
    until: dt.date | None = None
    """For ``retention``: the first day they may be purged (in the campaigns' time zone)."""

    def reason_text(self, lang: str = "zh-CN") -> str:
        """Why the rows are kept, in ``lang`` (``zh-CN`` or ``en``)."""
        zh, en = KEEP_REASONS[self.reason]
        return zh if lang == "zh-CN" else en

    def detail(self, lang: str = "zh-CN") -> str:
        """The campaigns that keep the rows and the day they may go ("" when none)."""
        zh = lang == "zh-CN"
        parts = []
        if self.campaigns:
            parts.append(("活动 " if zh else "campaigns ") + ", ".join(self.campaigns))
        if self.until is not None:
            day = f"{self.until:%Y-%m-%d}"
            parts.append(f"{day} 起可清除" if zh else f"purged from {day}")
        return ("；" if zh else "; ").join(parts)

    def text(self, lang: str = "zh-CN") -> str:
        """The reason and its detail on one line."""
        detail = self.detail(lang)
        sep = "；" if lang == "zh-CN" else "; "
        return self.reason_text(lang) + (sep + detail if detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "rows": self.rows,
            "jurisdictions": list(self.jurisdictions),
            "campaigns": list(self.campaigns),
            "until": None if self.until is None else self.until.isoformat(),
            "zh-CN": self.text("zh-CN"),
            "en": self.text("en"),
        }


@attrs.frozen(kw_only=True)
class PurgeReport:
    """What a purge changed (or, dry, would change) per table, and what it kept and why."""

    dry_run: bool
    days: int
    cutoff: dt.datetime
    """Campaigns that closed (in their time zone) before this instant's day are purged."""
    campaigns: tuple[str, ...]
    """Closed campaigns whose retention period is over."""
    jurisdictions: tuple[str, ...]
    """Communities purged (those still covered by an open campaign are not)."""
    rows: Mapping[str, int]
    """Rows redacted per table."""
    skipped: tuple[str, ...] = ()
    """Tables this backend could not redact (facts on the memory store)."""
    kept: Mapping[str, tuple[KeptGroup, ...]] = attrs.field(factory=dict)
    """Per table, the groups of rows kept in clear and why (SQL backends)."""
    tables: Mapping[str, int] = attrs.field(factory=dict)
    """Rows per table, purged and kept together (SQL backends)."""

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
            "tables": dict(self.tables),
            "kept": {t: [g.to_dict() for g in groups] for t, groups in self.kept.items()},
        }


def closed_campaigns(
    campaigns: Iterable[Campaign], *, days: int, now: dt.datetime
) -> tuple[list[Campaign], list[Campaign]]:
    """``(purgeable, open)``: campaigns closed at least ``days`` ago, and those still running.

    Days count in each campaign's own time zone. A campaign that ended but
    is still inside its retention period is in neither list.
    """
    purgeable, running, _ = classify_campaigns(campaigns, days=days, now=now)
    return purgeable, running


def classify_campaigns(
    campaigns: Iterable[Campaign], *, days: int, now: dt.datetime
) -> tuple[list[Campaign], list[Campaign], list[Campaign]]:
    """``(purgeable, running, retained)``: closed at least ``days`` ago, not closed, and
    closed but still inside the retention period. Days count in each campaign's time zone."""
    purgeable, running, retained = [], [], []
    for campaign in campaigns:
        today = campaign.local_date(now)
        if campaign.end is None or campaign.end >= today:
            running.append(campaign)
        elif campaign.end + dt.timedelta(days=days) < today:
            purgeable.append(campaign)
        else:
            retained.append(campaign)
    return purgeable, running, retained


def _covered(uow: UnitOfWork, campaigns: Iterable[Campaign]) -> dict[str, set[str]]:
    """Jurisdiction -> ids of the ``campaigns`` that cover it."""
    from .access import Scope
    from .principal import Principal, Role

    found: dict[str, set[str]] = {}
    for campaign in campaigns:
        for area in campaign.scope:
            who = Principal(name="retention", role=Role.ADMIN, area_id=area)
            for juris in Scope.resolve(who, uow).jurisdictions:
                found.setdefault(juris, set()).add(campaign.id)
    return found


def _blank_keys(value: Any, blanks: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_blank_keys(v, blanks) for v in value]
    if isinstance(value, dict):
        return {k: (blanks[k] if k in blanks else _blank_keys(v, blanks)) for k, v in value.items()}
    return value


def _scope_sql(fields: Sequence[PurgeField], mark: str, count: int) -> str:
    """The condition on a table's rows that picks those of ``count`` jurisdictions."""
    marks = ", ".join(mark for _ in range(count))
    owner = fields[0].owner
    if owner is None:
        return f"jurisdiction IN ({marks})"
    return f'"{fields[0].key}" IN (SELECT id FROM {owner} WHERE jurisdiction IN ({marks}))'


def _compared(column: str, json_columns: frozenset[str]) -> str:
    """``column`` as compared with its purged value: JSON as its text (PostgreSQL's ``json``
    type has no equality)."""
    return f'CAST("{column}" AS TEXT)' if column in json_columns else f'"{column}"'


def _keep_sql(fields: Sequence[PurgeField]) -> tuple[str | None, str | None]:
    """The table's keep condition and its reason (one per table: the first field's)."""
    for field in fields:
        if field.keep_when is not None:
            return field.keep_when, field.keep_reason
    return None, None


def _redact(
    uow: UnitOfWork,
    dialect: SqlDialect,
    table: str,
    fields: list[PurgeField],
    juris: list[str],
    dry_run: bool,
    registry: bool,
    json_columns: frozenset[str] = frozenset(),
) -> int:
    """Redact (or, dry, find) the rows of ``table`` in ``juris`` that hold personal data."""
    mark, differs = dialect.placeholder, dialect.distinct
    if dialect.sqlite_sql and not dry_run:
        # Overwrite freed space too, so the old text does not linger in the file.
        for _ in uow.query("PRAGMA secure_delete = ON"):
            pass
    row = f'"{fields[0].key}"'
    where = [_scope_sql(fields, mark, len(juris))]
    keep, _ = _keep_sql(fields)
    if keep is not None:
        where.append(f"NOT ({keep})")
    params: list[Any] = list(juris)
    plain = [f for f in fields if not f.blanks]
    changed: set[str] = set()
    if plain:
        differ = " OR ".join(
            f'"{f.column}" IS NOT NULL'
            if f.value is None
            else f"{_compared(f.column, json_columns)} {differs} {mark}"
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
    for field in (f for f in fields if f.blanks):
        sql = f'SELECT {row}, "{field.column}" FROM {table} WHERE {" AND ".join(where)}'
        updates = []
        for id, stored in list(uow.query(sql, params)):
            if not stored:
                continue
            # SQLite keeps JSON as text; PostgreSQL hands back the parsed value.
            value = json.loads(stored) if isinstance(stored, str | bytes) else stored
            blanked = _blank_keys(value, field.blanks)
            if blanked != value:
                updates.append((json.dumps(blanked, ensure_ascii=False, sort_keys=True), id))
        bump = ", version = version + 1" if registry else ""
        for encoded, id in updates:
            if not dry_run:
                update = (
                    f'UPDATE {table} SET "{field.column}" = {mark}{bump} WHERE {row} = {mark} '
                    f"RETURNING {row}"
                )
                for _ in uow.query(update, [encoded, id]):
                    pass
            changed.add(str(id))
    return len(changed)


def _redact_registry_in_python(uow: UnitOfWork, juris: list[str], dry_run: bool) -> dict[str, int]:
    """The memory store runs no SQL: purge persons, households and teams through ``put``."""
    from ..model import Team

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
    teams = [t for t in uow.find(Team, jurisdictions=juris) if any(m.phone for m in t.members)]
    if teams and not dry_run:
        uow.put(
            Team,
            [
                attrs.evolve(t, members=tuple(attrs.evolve(m, phone=None) for m in t.members))
                for t in teams
            ],
        )
    rows[SPECS[Team].table] = len(teams)
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


@attrs.frozen
class _Plan:
    """Which jurisdictions a purge takes, which it keeps, and the campaigns behind each."""

    purged: list[str]
    running: dict[str, set[str]]
    retained: dict[str, set[str]]
    until: dict[str, dt.date]
    """Campaign id -> first day its data may go (retained campaigns)."""

    def reason(self, juris: str) -> str:
        if juris in self.running:
            return "open"
        if juris in self.retained:
            return "retention"
        return "purge" if juris in self.purged else "no_campaign"


def _plan(uow: UnitOfWork, days: int, now: dt.datetime) -> tuple[list[Campaign], _Plan]:
    purgeable, running, retained = classify_campaigns(uow.find(Campaign), days=days, now=now)
    open_ = _covered(uow, running)
    kept = _covered(uow, retained)
    kept = {j: c for j, c in kept.items() if j not in open_}
    juris = sorted(set(_covered(uow, purgeable)) - set(open_) - set(kept))
    until = {c.id: c.end + dt.timedelta(days=days + 1) for c in retained if c.end is not None}
    return purgeable, _Plan(juris, open_, kept, until)


def _kept_groups(
    uow: UnitOfWork,
    dialect: SqlDialect,
    table: str,
    fields: list[PurgeField],
    plan: _Plan,
    purged: int,
) -> tuple[int, tuple[KeptGroup, ...]]:
    """``(rows in the table, the groups kept in clear)``: purged and kept add up to the rows."""
    owner = fields[0].owner
    if owner is None:
        sql = f"SELECT jurisdiction, count(*) FROM {table} GROUP BY jurisdiction"
    else:
        sql = (
            f"SELECT o.jurisdiction, count(*) FROM {table} AS t "
            f'JOIN {owner} AS o ON o.id = t."{fields[0].key}" GROUP BY o.jurisdiction'
        )
    by_reason: dict[str, dict[str, int]] = {}
    total = 0
    for juris, count in uow.query(sql):
        total += int(count)
        by_reason.setdefault(plan.reason(str(juris)), {})[str(juris)] = int(count)
    groups: list[KeptGroup] = []
    for reason in ("open", "retention", "no_campaign"):
        found = by_reason.get(reason)
        if not found:
            continue
        covering = plan.running if reason == "open" else plan.retained
        campaigns = sorted({c for j in found for c in covering.get(j, ())})
        until = max((plan.until[c] for c in campaigns if c in plan.until), default=None)
        groups.append(
            KeptGroup(
                reason=reason,
                rows=sum(found.values()),
                jurisdictions=tuple(sorted(found)),
                campaigns=tuple(campaigns),
                until=until if reason == "retention" else None,
            )
        )
    in_purged = by_reason.get("purge", {})
    rest = sum(in_purged.values()) - purged
    keep, keep_reason = _keep_sql(fields)
    if keep is not None and plan.purged and rest:
        condition = f"{_scope_sql(fields, dialect.placeholder, len(plan.purged))} AND ({keep})"
        held = int(
            next(iter(uow.query(f"SELECT count(*) FROM {table} WHERE {condition}", plan.purged)))[0]
        )
        if held:
            groups.append(
                KeptGroup(
                    reason=keep_reason or "unsent",
                    rows=held,
                    jurisdictions=tuple(sorted(in_purged)),
                )
            )
            rest -= held
    if rest:
        groups.append(KeptGroup(reason="clean", rows=rest, jurisdictions=tuple(sorted(in_purged))))
    return total, tuple(groups)


def purge(
    ws: Workspace,
    *,
    days: int = DEFAULT_RETENTION_DAYS,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> PurgeReport:
    """Purge the personal data of campaigns closed more than ``days`` ago.

    Every row of a purged jurisdiction is redacted, whenever it was stored:
    the campaign's close date decides, not the row's. Needs a principal
    allowed to run ``retention.purge`` over the whole store (an unscoped
    administrator); the purge (or the dry run) is one audit entry,
    and it happens in one transaction. The columns redacted are the purge
    fields the workspace's plugins registered (``register_purge_fields``),
    the builtins' included. The report lists, per table, the rows purged and
    the groups kept, with their reason; a dry run's listing is what the
    purge then does.
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
    # Retention is the whole store's: every campaign's close date is read and the report
    # names every community, so only an unscoped principal purges (as it dispatches).
    action = "retention.dry_run" if dry_run else "retention.purge"
    ws.authorize(action, "*")
    with ws._transaction(write=not dry_run) as uow:
        purgeable, plan = _plan(uow, days, now)
        juris = plan.purged
        for campaign in purgeable:  # the audit names each campaign purged
            ws.authorize(action, campaign)
        rows: dict[str, int] = {}
        kept: dict[str, tuple[KeptGroup, ...]] = {}
        totals: dict[str, int] = {}
        skipped: list[str] = []
        tables = {s.table: s for s in SPECS.values()}
        by_table: dict[str, list[PurgeField]] = {}
        for field in purge_fields:
            spec = tables.get(field.table)
            if field.owner is None and spec is not None and field.column in spec.column_names:
                by_table.setdefault(field.table, []).append(field)
        if dialect.runs_sql:
            owned = _owned(uow, dialect, tables, purge_fields)
            for table, fields in (*by_table.items(), *owned.items()):
                if juris:
                    spec = tables.get(table)
                    registry = spec is not None and not spec.is_fact
                    json_columns = frozenset(
                        c.name for c in (spec.columns if spec else ()) if c.kind == "json"
                    )
                    rows[table] = _redact(
                        uow, dialect, table, fields, juris, dry_run, registry, json_columns
                    )
                totals[table], kept[table] = _kept_groups(
                    uow, dialect, table, fields, plan, rows.get(table, 0)
                )
        elif juris:
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
        kept=kept,
        tables=totals,
    )
