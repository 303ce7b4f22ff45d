"""Audit chain, scoped access and retention on PostgreSQL (the gridguard-postgres plugin).

Skips without psycopg, the plugin or a server (fails under CI), as the
rules' PostgreSQL tests do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

import gridguard
from gridguard import AccessDenied, Campaign, Household, Person, Principal, Role, Visit
from gridguard.security.audit import AuditEntry, recent_entries, verify_log
from gridguard.security.retention import PURGED, purge
from gridguard.testing import sample_facts, sample_records
from gridguard.workspace import Workspace
from rules_pg import pg_schema

NOW = dt.datetime(2020, 6, 1, 4, tzinfo=dt.UTC)


def _records() -> list[Any]:
    out: list[Any] = []
    for r in sample_records():
        out.append(attrs.evolve(r, end=dt.date(2020, 3, 1)) if isinstance(r, Campaign) else r)
    return out


def test_audit_access_and_purge_on_postgresql() -> None:
    with pg_schema() as (url, conn), gridguard.open(url) as ws:
        ws.add(_records())
        ws.record(sample_facts())
        worker = Workspace(
            ws.storage, principal=Principal(name="网格员", role=Role.GRID_WORKER, area_id="g1")
        )
        assert {h.id for h in worker.find(Household)} == {"h1", "h2"}
        with pytest.raises(AccessDenied, match="Household:h3"):
            worker.get(Household, "h3")
        with pytest.raises(AccessDenied, match="outside area:g1"):
            worker.record([Visit(at=NOW, household_id="h3", outcome="screened")])
        worker.flush_audit()
        report = purge(ws, now=NOW)
        assert report.jurisdictions == ("c1", "c2")
        assert ws.get(Person, "p1").name == PURGED
        assert ws.count(Visit) == 3
        assert verify_log(ws).ok
        assert [e.action for e in recent_entries(ws, 2)] == ["audit.read", "audit.read"]
        table = f'"{url.rsplit("schema=", 1)[1]}".audit_log'
        conn.execute(f"UPDATE {table} SET target = 'Person:p9' WHERE seq = 3")
        problems = [(p.seq, p.kind) for p in verify_log(ws).problems]
        assert (3, "changed") in problems
        assert [e.outcome.value for e in ws.find(AuditEntry) if e.principal == "网格员"] == [
            "allowed",
            "denied",
            "denied",
        ]
