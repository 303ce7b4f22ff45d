"""One file per household, one file per person: contents, flags, day boundaries, the command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gridguard
from gridguard import Campaign, Exposure, OutbreakArea, Person, Screening, Trip, Visit
from gridguard.cli import main
from gridguard.sweep import Sweep, flags
from gridguard.testing.sample import resident_id_for
from test_sweep_planner import community

START = dt.date(2020, 1, 25)
ZHONGSHAN = dt.timezone(dt.timedelta(hours=8))
CAMPAIGN = Campaign(
    id="hy",
    name="华苑一级响应",
    scope=["c1"],
    start=START,
    outbreak_areas=[OutbreakArea(name="武汉", code="4201")],
)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2020, 1, day, hour, minute, tzinfo=ZHONGSHAN)


def _screening(at: dt.datetime, **answers: Any) -> Screening:
    return Screening(person_id="p1", at=at, **answers)


@pytest.mark.parametrize(
    ("at", "returned", "flagged"),
    [
        (_at(25, 23, 30), dt.date(2020, 1, 11), True),  # 14 days before the 25th
        (_at(26, 0, 30), dt.date(2020, 1, 11), False),  # past midnight in Zhongshan: 15 days
        (_at(25, 10), dt.date(2020, 1, 24), True),
        (_at(25, 10), dt.date(2020, 1, 26), False),  # a return after the screening is a mistake
    ],
)
def test_an_outbreak_trip_flags_within_the_look_back_days(
    at: dt.datetime, returned: dt.date, flagged: bool
) -> None:
    screening = _screening(at, trips=[Trip(destination="湖北武汉", returned=returned)])
    assert bool(flags(screening, CAMPAIGN)) is flagged


def test_what_flags_a_person() -> None:
    at = _at(25, 15)
    assert flags(_screening(at, temperature=37.2), CAMPAIGN) == []
    assert [f.kind for f in flags(_screening(at, temperature=37.3), CAMPAIGN)] == ["fever"]
    assert [f.kind for f in flags(_screening(at, symptoms=["cough"]), CAMPAIGN)] == ["symptoms"]
    other = _screening(at, trips=[Trip(destination="广州", returned=dt.date(2020, 1, 24))])
    assert flags(other, CAMPAIGN) == []
    by_code = _screening(at, trips=[Trip(destination="420102")])
    assert [f.kind for f in flags(by_code, CAMPAIGN)] == ["outbreak_trip"]
    contact = Exposure(kind="confirmed_case", last_contact=dt.date(2020, 1, 20))
    old = Exposure(kind="confirmed_case", last_contact=dt.date(2019, 12, 20))
    found = flags(_screening(at, exposures=[contact, old]), CAMPAIGN)
    assert [(f.kind, f.on) for f in found] == [("contact", START)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "files.db"
    born = dt.date(1958, 4, 2)
    with gridguard.open(path) as ws:
        records = [
            r for r in community(buildings=1, stairwells=1, doors=1) if not isinstance(r, Campaign)
        ]
        ws.add(
            [
                *records,
                CAMPAIGN,
                Person(
                    id="p1",
                    household_id="g1-b0-0-101",
                    name="陈建国",
                    phone="13800138000",
                    resident_id=resident_id_for(born, 11),
                    birth_date=born,
                ),
                Person(id="p2", household_id="g1-b0-0-101", name="林秀英"),
            ]
        )
        door = Visit(household_id="g1-b0-0-101", outcome="not_home", at=_at(25, 15), team_id="t1")
        phone = Visit(
            household_id="g1-b0-0-101", outcome="screened", channel="phone", at=_at(25, 20)
        )
        ws.record(
            [
                door,
                phone,
                Screening(
                    person_id="p1",
                    at=phone.at,
                    visit_id=phone.id,
                    trips=[Trip(destination="武汉", returned=dt.date(2020, 1, 20))],
                ),
                Screening(person_id="p2", at=phone.at, visit_id=phone.id),
            ]
        )
    return path


def test_the_household_file(db: Path) -> None:
    with gridguard.open(db) as ws:
        file = Sweep(ws).household_file("g1-b0-0-101")
        pending = Sweep(ws).household_file("g1-b0-0-201")
    assert file.status == "screened"
    assert [p.id for p in file.members] == ["p1", "p2"]
    assert [(v.channel.value, v.outcome.value) for v in file.visits] == [
        ("door", "not_home"),
        ("phone", "screened"),
    ]
    assert file.flagged() == ["p1"]
    data = file.to_dict()
    assert data["members"][0]["name"] == "陈**"
    assert data["members"][0]["phone"] == "+86138****8000"
    assert data["members"][0]["resident_id"].startswith("442000***")
    assert data["visits"][0]["at"] == "2020-01-25T15:00:00+08:00"
    assert data["screenings"][0]["flags"][0]["kind"] == "outbreak_trip"
    assert file.to_dict(masked=False)["members"][0]["name"] == "陈建国"
    assert (pending.status, pending.visits, pending.members) == ("pending", (), ())


def test_the_person_file(db: Path) -> None:
    with gridguard.open(db) as ws:
        sweep = Sweep(ws)
        flagged = sweep.person_file("p1")
        calm = sweep.person_file("p2")
        with pytest.raises(gridguard.NotFoundError):
            sweep.person_file("nobody")
    assert flagged.flagged
    assert [f.kind for f in flagged.flags] == ["outbreak_trip"]
    assert flagged.household.id == "g1-b0-0-101"
    assert not calm.flagged
    assert len(calm.screenings) == 1


def test_show_commands(db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["show", "household", "g1-b0-0-101", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "screened"
    assert data["flagged"] == ["p1"]
    assert data["members"][0]["name"] == "陈**"
    full = runner.invoke(main, ["show", "person", "p1", "--db", str(db), "--json", "--unmask"])
    assert json.loads(full.stdout)["person"]["name"] == "陈建国"
    table = runner.invoke(
        main, ["show", "household", "g1-b0-0-101", "--db", str(db)], env={"COLUMNS": "160"}
    )
    assert table.exit_code == 0, table.output
    for text in ("成员", "走访", "2020-01-25 20:00", "疫区旅行史", "陈**"):
        assert text in table.output
    assert "陈建国" not in table.output
    person = runner.invoke(main, ["show", "person", "p1", "--db", str(db)], env={"COLUMNS": "160"})
    assert "一人一档" in person.output
    assert "武汉" in person.output
    missing = runner.invoke(main, ["show", "household", "nowhere", "--db", str(db)])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: unknown household 'nowhere'")
