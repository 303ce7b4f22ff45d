"""The line list for follow-up: who to call today (今日追访名单).

Three kinds of rows, each with the household's address and who to ask for:

* ``call_not_home``: households found not at home at the door, neither
  screened nor vacant, and not phoned since (the phone follow-up queue as
  it stands at the end of the day), oldest first;
* ``call_task``: open tasks (a call, a visit, a delivery, a referral) due by
  the end of the day, earliest first;
* ``call_quarantine``: persons (or whole households) under quarantine that
  day (as the daily report counts them), for their health check (the reason is the
  kind of quarantine, the note its last day).

Names and phone numbers are masked unless ``unmask=True``; addresses are
shown, since the list is for the people who walk there.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..model import Campaign
from ..report.document import Cell, Column, Figures, Report, Section, Table
from ..report.locale import label, value_label
from ..storage.schema import decode_timestamp
from ._common import figure, masked_name, masked_phone, new_report, note_for
from .daily import ACTIVE, ORDERS
from .scope import IN_CAMPAIGN, ReportScope

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["line_list_report"]

_NOT_HOME = """
SELECT h.id, h.address, h.phone, x.lnh
FROM (SELECT v.household_id,
        max(CASE WHEN v.outcome IN ('screened', 'vacant') THEN 1 ELSE 0 END) AS done,
        max(CASE WHEN v.outcome = 'not_home' AND v.channel = 'door' THEN v."at" END) AS lnh,
        max(CASE WHEN v.channel = 'phone' THEN v."at" END) AS lph
      FROM visits v
      WHERE {in_campaign} AND v."at" < ?{where}
      GROUP BY v.household_id) x
JOIN households h ON h.id = x.household_id
WHERE x.done = 0 AND x.lnh IS NOT NULL AND (x.lph IS NULL OR x.lph < x.lnh)
ORDER BY x.lnh, h.id
"""

_TASKS = """
SELECT t.kind, t.due, t.note, h.address, h.phone, p.name, p.phone
FROM tasks t
JOIN households h ON h.id = t.household_id
LEFT JOIN persons p ON p.id = t.person_id
WHERE t.status = 'open' AND t.due < ?{where}
ORDER BY t.due, t.id
"""

_QUARANTINE = """
SELECT x.kind, x.e, h.address, h.phone, p.name, p.phone
FROM ({orders}) x
JOIN households h ON h.id = x.household_id
LEFT JOIN persons p ON p.id = x.person_id
WHERE {active}
ORDER BY x.e, x.id
"""


def line_list_report(
    ws: Workspace,
    *,
    area: str | None = None,
    day: dt.date | str | None = None,
    campaign: str | Campaign | None = None,
    unmask: bool = False,
    limit: int | None = None,
) -> Report:
    """Who to call on ``day`` in ``area``: not-at-home households, tasks due, quarantines.

    ``limit`` caps the rows of each kind (``None``: all).
    """
    scope = ReportScope.open(ws, area=area, day=day, campaign=campaign, unmask=unmask)
    masked = not unmask
    zone = scope.campaign.zone
    rows: list[tuple[Cell, ...]] = []
    counts = {"call_not_home": 0, "call_task": 0, "call_quarantine": 0}

    def add(reason: str, found: list[tuple[Cell, ...]]) -> None:
        counts[reason] = len(found)
        rows.extend(found[:limit] if limit is not None else found)

    if not scope.empty:
        end = scope.bounds()[1]
        where, params = scope.where("v")
        sql = _NOT_HOME.format(in_campaign=IN_CAMPAIGN, where=where)
        add(
            "call_not_home",
            [
                (
                    value_label("call_not_home"),
                    address,
                    None,
                    masked_phone(phone, masked),
                    _local(last, zone),
                    None,
                )
                for _, address, phone, last in scope._query(
                    sql, [*scope.campaign_params(), end, *params]
                )
            ],
        )
        where, params = scope.where("t")
        add(
            "call_task",
            [
                (
                    value_label(kind),
                    address,
                    masked_name(name, masked),
                    masked_phone(p_phone or h_phone, masked),
                    _local(due, zone),
                    note or None,
                )
                for kind, due, note, address, h_phone, name, p_phone in scope._query(
                    _TASKS.format(where=where), [end, *params]
                )
            ],
        )
        where, params = scope.where("q")
        today = scope.date(scope.day)
        add(
            "call_quarantine",
            [
                (
                    value_label(str(kind)),
                    address,
                    masked_name(name, masked),
                    masked_phone(p_phone or h_phone, masked),
                    None,
                    f"→ {_last_day(until)}",
                )
                for kind, until, address, h_phone, name, p_phone in scope._query(
                    _QUARANTINE.format(orders=ORDERS.format(where=where), active=ACTIVE),
                    [scope.true(), *params, today, today, end],
                )
            ],
        )
    table = Table(
        key="linelist",
        title=label("section.linelist"),
        columns=[
            Column("reason", label("reason")),
            Column("address", label("address")),
            Column("person", label("person")),
            Column("phone", label("phone")),
            Column("due", label("due"), "datetime"),
            Column("note", label("note")),
        ],
        rows=rows,
    )
    figures = Figures(key="linelist_counts", items=[figure(k, n) for k, n in counts.items()])
    note = note_for(not rows) or (label("note.masked") if masked else None)
    section = Section("linelist", label("section.linelist"), [figures, table], note=note)
    return new_report("linelist", scope, [section], masked=masked)


def _local(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    """A stored timestamp as local time in the campaign's zone."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(zone)

    return decode_timestamp(str(value)).astimezone(zone)


def _last_day(end: Any) -> str:
    """The last day of an order ending (exclusive) on ``end``."""
    day = end if isinstance(end, dt.date) else dt.date.fromisoformat(str(end)[:10])
    return (day - dt.timedelta(days=1)).isoformat()
