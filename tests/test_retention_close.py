"""Purge by the campaign's close date, and a dry run that lists what it keeps and why.

A closed campaign's community loses every row's personal data, whenever the
row was stored: an outside list imported the day before the purge, the
texts of sent messages, health reports and team members' phones go too. An
open campaign's community keeps everything, a message not sent yet keeps its
text, and the dry run lists per table what the purge then does, to the row.
Runs on SQLite and on PostgreSQL (the gridguard-postgres plugin).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

import gridguard
from gridguard import Campaign, Household, Person, Team
from gridguard.cli import main
from gridguard.model.facts import HealthReport
from gridguard.model.messages import DeliveryAttempt, OutboxMessage
from gridguard.model.targeting import ListEntry, OutsideList
from gridguard.model.teams import MemberRole, TeamMember
from gridguard.notifications.outbox import enqueue, record_attempts
from gridguard.notify import Message
from gridguard.security.retention import KEEP_REASONS, PURGED, purge
from gridguard.testing import sample_facts, sample_records
from gridguard.workspace import Workspace

NOW = dt.datetime(2020, 6, 1, 4, tzinfo=dt.UTC)
"""Three months after the first campaign closed (1 March)."""
RECENT = NOW - dt.timedelta(days=1)
"""When the late outside list was imported and the messages sent: after the close."""
SECRETS = ("陈晓东", "441900198001010012", "13712345678", "13612345678", "38.6")
"""Personal data stored in community c1 after its campaign closed."""


def scenario(ws: Workspace) -> None:
    """The sample place tree; campaign ``cmp`` (c1, c2) closed 1 March, ``later`` still
    running over c2; in each community a late outside list, sent and unsent messages,
    health reports and a team with phones."""
    records: list[Any] = []
    for r in sample_records():
        if isinstance(r, Campaign):
            r = attrs.evolve(r, end=dt.date(2020, 3, 1))
        if isinstance(r, Team):
            r = attrs.evolve(
                r,
                members=(
                    TeamMember(name="黄干部", role=MemberRole.CADRE, phone="13612345678"),
                    TeamMember(name="刘医生", role=MemberRole.DOCTOR),
                ),
            )
        records.append(r)
    records += [
        Campaign(id="later", name="库充 复查", scope=("c2",), start=dt.date(2020, 5, 1)),
        Team(
            id="t2",
            name="库充小分队",
            area_id="c2",
            kind="sweep",
            members=(
                TeamMember(name="吴医生", role=MemberRole.DOCTOR, phone="13612340002"),
                TeamMember(name="郑干部", role=MemberRole.CADRE),
            ),
        ),
    ]
    ws.add(records)
    ws.record(sample_facts())
    lists = [OutsideList(id=f"rail-{c}", source="铁路", area_id=c) for c in ("c1", "c2")]
    entries = [
        ListEntry(
            at=RECENT,
            list_id=list_id,
            row=1,
            name=name,
            id_number=number,
            phone=phone,
        )
        for list_id, name, number, phone in (
            ("rail-c1", "陈晓东", "441900198001010012", "13712345678"),
            ("rail-c2", "吴晓燕", "441900198502020021", "13712340002"),
        )
    ]
    ws.record(
        [
            HealthReport(at=RECENT, person_id=pid, temperature=t, symptoms=("cough",))
            for pid, t in (("p1", 38.6), ("p4", 39.1))
        ]
    )
    sent = [
        Message(
            recipient=phone,
            subject="发热提醒",
            body=f"{address} {t} °C",
            data={"address": address},
            channel="sms",
            area_id=area,
            at=RECENT,
        )
        for area, phone, address, t in (
            ("g1", "13712345678", "百苑新村牡丹阁3栋101", 38.6),
            ("g2", "13712340002", "库充1栋101", 39.1),
        )
    ]
    unsent = Message(
        recipient="13712345678",
        subject="复查提醒",
        body="百苑新村牡丹阁3栋201 明日复查",
        channel="sms",
        area_id="g1",
        at=RECENT,
    )
    with ws._transaction() as uow:
        uow.put(OutsideList, lists)
        uow.save_facts(ListEntry, entries)
        enqueue(uow, [*sent, unsent])
        record_attempts(
            uow,
            [DeliveryAttempt(at=RECENT, message_id=m.id, attempt=1, outcome="sent") for m in sent],
        )


TABLES = (
    "persons",
    "households",
    "list_entries",
    "outbox",
    "health_reports",
    "teams",
    "visits",
    "checkins",
    "screenings",
    "service_requests",
)


def dump(ws: Workspace) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Every row of the purged tables by id, as stored (values opened)."""
    with ws._transaction(write=False) as uow:
        return {
            t: {str(r[0]): tuple(map(str, r)) for r in uow.query(f"SELECT * FROM {t}")}
            for t in TABLES
        }


@contextmanager
def store(backend: str, tmp_path: Path) -> Iterator[Workspace]:
    if backend == "sqlite":
        with gridguard.open(tmp_path / "r.db") as ws:
            yield ws
        return
    pytest.importorskip("gridguard_postgres")
    from rules_pg import pg_schema

    with pg_schema() as (url, _), gridguard.open(url) as ws:
        yield ws


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    with store(request.param, tmp_path) as opened:
        scenario(opened)
        yield opened


def test_a_closed_campaigns_data_goes_whenever_it_was_stored_an_open_ones_stays(
    ws: Workspace,
) -> None:
    report = purge(ws, now=NOW)
    assert report.campaigns == ("cmp",)
    assert report.jurisdictions == ("c1",)  # c2: "later" is still running
    # The outside list imported yesterday, after the close: gone.
    entries = {e.list_id: e for e in ws.find(ListEntry)}
    late = entries["rail-c1"]
    assert (late.name, late.id_number, late.phone) == (None, None, None)
    assert (late.row, late.at) == (1, RECENT)  # the row stays, with its place and day
    # Sent messages: recipient, texts and data blanked; the attempt log intact.
    messages = {m.area_id: m for m in ws.find(OutboxMessage) if m.subject != "复查提醒"}
    gone = messages["g1"]
    assert (gone.recipient, gone.subject, gone.body, dict(gone.data)) == (PURGED,) * 3 + ({},)
    assert ws.count(DeliveryAttempt) == 2
    # A message not sent yet keeps its text: its channel still has to deliver it.
    (waiting,) = [m for m in ws.find(OutboxMessage) if m.subject == "复查提醒"]
    assert waiting.recipient == "13712345678"
    # Health reports: temperature and symptoms blanked, the report (person, day) kept.
    health = {h.person_id: h for h in ws.find(HealthReport)}
    assert (health["p1"].temperature, health["p1"].symptoms) == (None, ())
    # Team members' phones.
    assert [m.phone for m in ws.get(Team, "t1").members] == [None, None]
    assert ws.get(Person, "p1").name == PURGED
    # The open campaign's community keeps every one of them.
    kept = entries["rail-c2"]
    assert (kept.name, kept.id_number, kept.phone) == (
        "吴晓燕",
        "441900198502020021",
        "13712340002",
    )
    assert messages["g2"].body == "库充1栋101 39.1 °C"
    assert (health["p4"].temperature, health["p4"].symptoms) == (39.1, ("cough",))
    assert [m.phone for m in ws.get(Team, "t2").members] == ["+8613612340002", None]
    assert ws.get(Household, "h3").address == "库充1栋101"
    # Nothing of c1's late data is left in any purged table.
    rows = dump(ws)
    found = [
        (t, s) for t, by_id in rows.items() for r in by_id.values() for s in SECRETS if s in str(r)
    ]
    assert found == [("outbox", "13712345678")]  # the unsent message's recipient, kept


def test_the_dry_run_changes_nothing_and_lists_what_the_purge_does(ws: Workspace) -> None:
    before = dump(ws)
    dry = purge(ws, now=NOW, dry_run=True)
    assert dump(ws) == before
    real = purge(ws, now=NOW)
    after = dump(ws)
    assert dict(dry.rows) == dict(real.rows)
    assert dict(dry.kept) == dict(real.kept)
    for table in TABLES:
        changed = sum(1 for id, row in after[table].items() if before[table][id] != row)
        assert dry.rows.get(table, 0) == changed, table  # the listing is what happened
        kept = sum(g.rows for g in dry.kept[table])
        assert dry.rows.get(table, 0) + kept == dry.tables[table] == len(before[table]), table
    reasons = {t: {g.reason: g.rows for g in groups} for t, groups in dry.kept.items()}
    assert reasons["outbox"] == {"open": 1, "unsent": 1}
    assert reasons["persons"] == {"open": 1}
    assert dry.kept["persons"][0].campaigns == ("later",)
    assert reasons["health_reports"] == {"open": 1}
    assert reasons["teams"] == {"open": 1}
    assert purge(ws, now=NOW, dry_run=True).rows == dict.fromkeys(dry.rows, 0)


def test_a_campaign_inside_its_retention_period_keeps_its_communities(ws: Workspace) -> None:
    ws.add(
        [
            Campaign(
                id="recheck",
                name="百苑 复查",
                scope=("c1",),
                start=dt.date(2020, 5, 1),
                end=dt.date(2020, 5, 25),
            )
        ]
    )
    report = purge(ws, now=NOW, dry_run=True)
    assert report.campaigns == ("cmp",)
    assert report.jurisdictions == ()  # c1: "recheck" closed 7 days ago; c2: "later" runs
    (group,) = [g for g in report.kept["list_entries"] if g.reason == "retention"]
    assert (group.rows, group.jurisdictions, group.campaigns) == (1, ("c1",), ("recheck",))
    assert group.until == dt.date(2020, 6, 9)  # 25 May + 14 days, the day after
    assert "2020-06-09" in group.text("en")
    assert "2020-06-09" in group.text("zh-CN")
    assert purge(ws, now=NOW).total == 0
    assert ws.get(Person, "p1").name == "陈建国"


def test_every_reason_reads_in_both_languages() -> None:
    assert all(zh and en and zh != en for zh, en in KEEP_REASONS.values())


def test_cli_dry_run_lists_tables_and_reasons_in_chinese_and_english(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with gridguard.open(path) as ws:
        scenario(ws)
        before = dump(ws)
    runner = CliRunner()
    zh = runner.invoke(main, ["purge", "--db", str(path), "--dry-run"])
    assert zh.exit_code == 0, zh.output
    assert "将清除" in zh.output
    assert "保留 1: 消息尚未发出" in zh.output
    assert "仍有进行中的活动覆盖" in zh.output
    en = runner.invoke(main, ["purge", "--db", str(path), "--dry-run", "--lang", "en"])
    assert "would purge" in en.output
    assert "keep 1: a message not sent yet" in en.output
    assert all(len(line) <= 80 for line in (zh.output + en.output).splitlines())
    dry = json.loads(
        runner.invoke(main, ["purge", "--db", str(path), "--dry-run", "--json"]).output
    )
    with gridguard.open(path) as ws:
        assert dump(ws) == before
    done = json.loads(runner.invoke(main, ["purge", "--db", str(path), "--json"]).output)
    assert done["rows"] == dry["rows"]
    assert done["kept"] == dry["kept"]
    assert (done["rows"]["outbox"], done["rows"]["list_entries"]) == (1, 1)
