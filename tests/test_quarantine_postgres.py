"""The quarantine and services SQL on PostgreSQL gives what it gives on SQLite and in memory."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import gridguard
from gridguard.model import HealthReport
from gridguard.quarantine import (
    census,
    check_missed,
    extend,
    order_quarantine,
    record_reports,
    release,
    release_due,
)
from gridguard.services import assign_service, complete_service, overdue, request_service
from quarantine_helpers import T0, local, records
from rules_pg import pg_schema

DAY = dt.date(2020, 1, 30)


def _scenario(ws: Any) -> dict[str, Any]:
    """Orders, reports, missed slots, releases and services; every figure the SQL computes."""
    ws.add(records())
    first = order_quarantine(
        ws, person_id="p1", last_exposure=dt.date(2020, 1, 28), ordered_by="刘医生",
        reason="密切接触", at=T0,
    )  # fmt: skip
    order_quarantine(
        ws, household_id="h2", last_exposure=dt.date(2020, 1, 17), ordered_by="黄干部",
        reason="同住", at=T0,
    )  # fmt: skip
    third = order_quarantine(
        ws, person_id="p4", last_exposure=dt.date(2020, 1, 29), ordered_by="刘医生",
        reason="同乘", at=T0,
    )  # fmt: skip
    reports = [
        HealthReport(id=uuid.UUID(int=n + 1), at=local(DAY, 8 + n), person_id=p, temperature=t)
        for n, (p, t) in enumerate([("p1", 36.5), ("p3", 37.9), ("p4", 36.7)])
    ]
    written = record_reports(ws, reports)
    missed = check_missed(ws, now=local(DAY + dt.timedelta(days=1), 12), since=local(DAY, 0))
    extend(ws, first.id, last_exposure=DAY, at=T0)
    release(ws, third.id, reason="会诊解除", released_by="刘医生", at=local(DAY, 18))
    due = release_due(ws, at=local(DAY + dt.timedelta(days=1), 9))
    request = request_service(
        ws, id=uuid.UUID(int=99), household_id="h1", service="medicine", at=local(DAY, 9)
    )
    other = request_service(
        ws, id=uuid.UUID(int=98), household_id="h1", service="groceries", at=local(DAY, 10)
    )
    assign_service(ws, request.id, team_id="svc1", due=local(DAY, 15), at=local(DAY, 9))
    complete_service(ws, other.id, at=local(DAY, 12))
    return {
        "written": (written.written, written.referrals),
        "missed": sorted((m.person_id, m.slot) for m in missed.missed),
        "due": [r.order_id for r in due],
        "census": [
            census(ws, day=d, by=by)
            for d in (DAY, DAY + dt.timedelta(days=1))
            for by in ("community", "grid")
        ],
        "overdue": [o.request_id for o in overdue(ws, now=local(DAY, 16))],
    }


def test_postgresql_agrees_with_sqlite_and_memory(tmp_path: Path) -> None:
    with pg_schema() as (url, _), gridguard.open(url) as store:
        on_pg = _scenario(store)
    with gridguard.open(tmp_path / "a.db") as store:
        on_sqlite = _scenario(store)
    with gridguard.open("memory://") as store:
        in_memory = _scenario(store)
    assert on_pg == on_sqlite == in_memory
    assert on_pg["written"] == (3, 1)
    assert on_pg["overdue"] == [str(uuid.UUID(int=99))]
    assert on_pg["missed"]
