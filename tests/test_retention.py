"""Retention: purging the personal data of closed campaigns keeps every count in reports."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import gridguard
from gridguard import (
    AccessDenied,
    Campaign,
    CheckIn,
    Household,
    Person,
    Principal,
    Role,
    ServiceRequest,
    Visit,
)
from gridguard.cli import main
from gridguard.model.assessments import QuarantineOrder
from gridguard.security.audit import AuditEntry
from gridguard.security.retention import PURGED, closed_campaigns, purge
from gridguard.testing import sample_facts, sample_records
from gridguard.workspace import Workspace

NOW = dt.datetime(2020, 6, 1, 4, tzinfo=dt.UTC)


def _store(path: Path, *, open_in_c2: bool = True) -> None:
    records: list[Any] = []
    for r in sample_records():
        if isinstance(r, Campaign):
            r = attrs.evolve(r, end=dt.date(2020, 3, 1))
        records.append(r)
    if open_in_c2:
        records.append(
            Campaign(id="later", name="库充 复查", scope=("c2",), start=dt.date(2020, 5, 1))
        )
    with gridguard.open(path) as ws:
        ws.add(records)
        ws.record(sample_facts())
        ws.record(
            [
                Visit(
                    at=dt.datetime(2020, 1, 27, 8, tzinfo=dt.UTC),
                    household_id="h3",
                    outcome="screened",
                    note="张伟 13800138000 在家",
                ),
                Visit(
                    at=dt.datetime(2020, 1, 27, 9, tzinfo=dt.UTC),
                    household_id="h1",
                    outcome="screened",
                    note="陈建国 说 没有出行",
                ),
            ]
        )
        orders = [
            QuarantineOrder(
                id=f"q-{p}",
                household_id=h,
                person_id=p,
                kind="home",
                start=dt.date(2020, 1, 26),
                end=dt.date(2020, 2, 9),
                rule_id="arrival",
                rule_set_id="builtin",
                rule_set_version="1",
            )
            for p, h in (("p1", "h1"), ("p4", "h3"))
        ]
        with ws.transaction() as uow:
            uow.put(QuarantineOrder, orders)


def _report_counts(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Visits, screenings and quarantine orders per community per day, as reports count them."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(
                f"SELECT jurisdiction, substr({day}, 1, 10), count(*) FROM {table} "
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()
            for table, day in (
                ("visits", '"at"'),
                ("screenings", '"at"'),
                ("checkins", '"at"'),
                ("quarantine_orders", '"start"'),
                ("service_requests", '"at"'),
            )
        }
    finally:
        conn.close()


def test_purge_removes_personal_data_and_keeps_report_counts(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    _store(path)
    before = _report_counts(path)
    with gridguard.open(path) as ws:
        cov_before = ws.count(Visit), ws.count(CheckIn)
        report = purge(ws, days=14, now=NOW)
        assert report.campaigns == ("cmp",)
        assert report.jurisdictions == ("c1",)  # c2 is still covered by an open campaign
        for pid in ("p1", "p2", "p3"):
            person = ws.get(Person, pid)
            assert (person.name, person.resident_id, person.phone, person.birth_date) == (
                PURGED,
                None,
                None,
                None,
            )
        for hid in ("h1", "h2"):
            household = ws.get(Household, hid)
            assert (household.address, household.phone) == (PURGED, None)
        assert all(v.note == "" for v in ws.find(Visit) if v.household_id != "h3")
        assert [r.note for r in ws.find(ServiceRequest)] == [""]
        assert all(a.note == "" for c in ws.find(CheckIn) for a in c.anomalies)
        # the open campaign's community keeps everything
        assert ws.get(Person, "p4").name == "张伟"
        assert ws.get(Household, "h3").address == "库充1栋101"
        assert [v.note for v in ws.find(Visit, household_id="h3")] == ["张伟 13800138000 在家"]
        assert (ws.count(Visit), ws.count(CheckIn)) == cov_before
        again = purge(ws, days=14, now=NOW)
        assert again.total == 0
        actions = [(e.action, e.target) for e in ws.find(AuditEntry) if "retention" in e.action]
        whole = ("retention.purge", "the whole store")
        assert actions == [whole, ("retention.purge", "Campaign:cmp")] * 2
    assert _report_counts(path) == before
    data = path.read_bytes()
    assert "陈建国".encode() not in data
    assert "李秀英".encode() not in data
    assert "张伟".encode() in data


def test_a_dry_run_counts_what_would_go_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    _store(path, open_in_c2=False)
    with gridguard.open(path) as ws:
        dry = purge(ws, days=14, now=NOW, dry_run=True)
        assert ws.get(Person, "p1").name == "陈建国"
        assert dry.dry_run
        assert dry.jurisdictions == ("c1", "c2")
        real = purge(ws, days=14, now=NOW)
    assert dict(dry.rows) == dict(real.rows)
    assert real.rows["persons"] == 4
    assert real.rows["households"] == 3
    assert real.rows["visits"] == 2  # the two visits with a note
    assert real.rows["checkins"] == 1  # the one anomaly with a note
    assert real.rows["service_requests"] == 1


def test_nothing_is_purged_inside_the_retention_period(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _store(path)
    with gridguard.open(path) as ws:
        report = purge(ws, days=14, now=dt.datetime(2020, 3, 10, tzinfo=dt.UTC))
        assert report.campaigns == ()
        assert report.total == 0
        assert ws.get(Person, "p1").name == "陈建国"


def test_only_an_administrator_purges(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _store(path)
    with gridguard.open(path) as ws:
        secretary = Workspace(
            ws.storage,
            principal=Principal(name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1"),
        )
        with pytest.raises(AccessDenied, match=r"retention\.purge"):
            purge(secretary, now=NOW)
        assert ws.get(Person, "p1").name == "陈建国"
        district = Workspace(
            ws.storage, principal=Principal(name="区管理员", role=Role.ADMIN, area_id="c2")
        )
        with pytest.raises(AccessDenied, match=r"the whole store: it reaches beyond area:c2"):
            purge(district, now=NOW)


@pytest.mark.parametrize(
    ("zone", "end", "first_purge_utc"),
    [
        # Shanghai: day 15 after 1 March starts at 16:00 UTC on 15 March
        ("Asia/Shanghai", dt.date(2020, 3, 1), dt.datetime(2020, 3, 15, 16, tzinfo=dt.UTC)),
        # New York after the DST change of 14 March 2021: local midnight is 04:00 UTC
        ("America/New_York", dt.date(2021, 3, 1), dt.datetime(2021, 3, 16, 4, tzinfo=dt.UTC)),
    ],
)
def test_retention_days_are_counted_in_the_campaign_time_zone(
    zone: str, end: dt.date, first_purge_utc: dt.datetime
) -> None:
    campaign = Campaign(
        id="c", name="c", scope=("a",), start=end - dt.timedelta(days=30), end=end, time_zone=zone
    )
    just_before = first_purge_utc - dt.timedelta(microseconds=1)
    assert closed_campaigns([campaign], days=14, now=just_before)[0] == []
    assert closed_campaigns([campaign], days=14, now=first_purge_utc)[0] == [campaign]
    # closed on its end day's evening? no: the end day itself is still open
    evening = dt.datetime.combine(end, dt.time(23), campaign.zone)
    assert closed_campaigns([campaign], days=0, now=evening)[1] == [campaign]


def test_cli_purge_dry_run_then_purge(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    _store(path, open_in_c2=False)
    runner = CliRunner()
    dry = runner.invoke(main, ["purge", "--db", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "将清除" in dry.output
    assert "persons" in dry.output
    with gridguard.open(path) as ws:
        assert ws.get(Person, "p1").name == "陈建国"
    done = runner.invoke(main, ["purge", "--db", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert '"persons": 4' in done.output
    with gridguard.open(path) as ws:
        assert ws.get(Person, "p1").name == PURGED


def test_the_memory_store_purges_registry_entries_and_says_what_it_skipped() -> None:
    with gridguard.open("memory://") as ws:
        records = [
            attrs.evolve(r, end=dt.date(2020, 3, 1)) if isinstance(r, Campaign) else r
            for r in sample_records()
        ]
        ws.add(records)
        ws.record(sample_facts())
        report = purge(ws, now=NOW)
        assert ws.get(Person, "p4").name == PURGED
        assert ws.get(Household, "h1").phone is None
        assert report.rows == {"persons": 4, "households": 3, "teams": 0}
        assert "visits" in report.skipped


def _report(ws: Workspace, kind: str) -> dict[str, Any]:
    from gridguard.reporting.build import build_report

    data = build_report(ws, kind, day=dt.date(2020, 1, 26), campaign="cmp").to_dict("en")
    data.pop("generated_at", None)
    return data


def _figures(report: dict[str, Any]) -> list[Any]:
    return [
        (item["key"], item["value"])
        for section in report["sections"]
        for block in section["blocks"]
        if block["type"] == "figures"
        for item in block["items"]
    ]


def test_every_area_report_counts_the_same_after_a_purge(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    _store(path, open_in_c2=False)
    kinds = ("daily", "progress", "teams", "linelist")
    with gridguard.open(path) as ws:
        before = {k: _report(ws, k) for k in kinds}
        assert purge(ws, now=NOW).total > 0
        after = {k: _report(ws, k) for k in kinds}
    for kind in ("daily", "progress", "teams"):  # counts only: identical
        assert after[kind] == before[kind], kind
    assert _figures(before["linelist"])
    assert _figures(after["linelist"]) == _figures(before["linelist"])  # the people are gone
