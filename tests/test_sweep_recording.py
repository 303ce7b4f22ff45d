"""Recording visits: JSON lines and CSV, idempotent, bad records reported per line."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Campaign, ConfigError, Person, Screening, Team, ValidationError, Visit
from gridguard.cli import main
from gridguard.sweep import CSV_COLUMNS, Sweep, VisitRecord
from test_sweep_planner import DOCTOR_TEAM, community

START = dt.date(2020, 1, 25)


def _records() -> list[Any]:
    return [
        *community(buildings=2, stairwells=1, doors=1),
        Person(id="p1", household_id="g1-b0-0-101", name="陈建国"),
        Person(id="p2", household_id="g1-b0-0-101", name="林秀英"),
        Person(id="p3", household_id="g1-b0-0-201", name="黄伟"),
        Person(id="p9", household_id="g9-b0-0-101", name="何强"),
    ]


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = gridguard.open("memory://" if request.param == "memory" else tmp_path / "r.db")
    with store:
        store.add(_records())
        yield store


def _line(**fields: Any) -> str:
    base: dict[str, Any] = {"team_id": "t1", "channel": "door"}
    return json.dumps({**base, **fields}, ensure_ascii=False)


GOOD = [
    _line(
        household_id="g1-b0-0-101",
        at="2020-01-25T15:00:00+08:00",
        outcome="screened",
        screenings=[
            {"person_id": "p1", "temperature": 36.6},
            {
                "person_id": "p2",
                "temperature": 36.9,
                "trips": [{"destination": "武汉", "returned": "2020-01-20"}],
            },
        ],
    ),
    _line(household_id="g1-b0-0-201", at="2020-01-25 15:05", outcome="not_home"),
    _line(
        household_id="g1-b0-0-201",
        at="2020-01-25T20:00:00+08:00",
        outcome="screened",
        channel="phone",
        screenings=[{"person_id": "p3", "symptoms": ["Cough"]}],
    ),
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_json_lines_file_twice_stores_once(ws: gridguard.Workspace, tmp_path: Path) -> None:
    path = _write(tmp_path / "visits.jsonl", GOOD)
    sweep = Sweep(ws)
    first = sweep.record_file(path)
    assert (first.records, first.accepted, first.rejected) == (3, 3, 0)
    assert (first.visits_written, first.screenings_written) == (3, 3)
    counts = ws.counts()
    second = sweep.record_file(path)
    assert not second.changed
    assert (second.visits_unchanged, second.screenings_unchanged) == (3, 3)
    assert ws.counts() == counts
    visits = ws.find(Visit, household_id="g1-b0-0-201")
    assert [v.channel.value for v in visits] == ["door", "phone"]
    assert visits[0].at == dt.datetime(2020, 1, 25, 7, 5, tzinfo=dt.UTC)  # naive: Zhongshan time
    assert all(v.campaign_id == "hy" for v in visits)
    (screening,) = ws.find(Screening, person_id="p3")
    assert screening.visit_id == visits[1].id
    assert screening.symptoms == ("cough",)


def test_bad_records_are_reported_by_line_and_the_rest_stored(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    ws.add([Team(id="t-other", name="外队", area_id="c2", members=DOCTOR_TEAM)])
    lines = [
        GOOD[0],
        _line(household_id="nowhere", at="2020-01-25T15:00:00+08:00", outcome="screened"),
        _line(
            household_id="g1-b0-0-101",
            at="2020-01-25T15:30:00+08:00",
            outcome="screened",
            team_id="t-other",
        ),
        _line(household_id="g1-b0-0-101", at="2020-01-24T23:59:00+08:00", outcome="screened"),
        _line(
            household_id="g1-b0-0-201",
            at="2020-01-26T10:00:00+08:00",
            outcome="screened",
            screenings=[{"person_id": "p3"}, {"person_id": "p1"}],
        ),
        "",
        _line(
            household_id="g1-b0-0-201",
            at="2020-01-26T11:00:00+08:00",
            outcome="not_home",
            screenings=[{"person_id": "p3"}],
        ),
        _line(household_id="g9-b0-0-101", at="2020-01-26T11:00:00+08:00", outcome="screened"),
        _line(household_id="g1-b0-0-201", at="2020-01-26T12:00:00+08:00", outcome="home"),
        _line(household_id="g1-b0-0-201", outcome="screened"),
        _line(
            household_id="g1-b0-0-201",
            at="2020-01-26T13:00:00+08:00",
            outcome="screened",
            teamid="x",
        ),
        GOOD[1],
    ]
    report = Sweep(ws).record_file(_write(tmp_path / "mixed.jsonl", lines))
    assert (report.records, report.accepted) == (11, 2)
    problems = {e.line: [(v.path, v.rule) for v in e.violations] for e in report.errors}
    assert problems[2] == [("$.household_id", "unknown household")]
    assert problems[3] == [("$.team_id", "team not in campaign hy")]
    assert problems[4][0][0] == "$.at"
    assert "outside campaign hy" in problems[4][0][1]
    assert problems[5] == [("$.screenings[1].person_id", "not a member of household g1-b0-0-201")]
    assert problems[7][0][0] == "$.screenings"  # line 6 is blank
    assert problems[8] == [("$.household_id", "household outside the scope of campaign hy")]
    assert problems[9][0][0] == "$.outcome"
    assert problems[10] == [("$.at", "required: when the visit happened")]
    assert problems[11] == [("$.teamid", "unknown key")]
    assert ws.count(Visit) == 2  # lines 1 and 12
    assert ws.count(Screening) == 2  # line 1's; none from line 5
    assert "line 2: $.household_id: unknown household" in str(report.errors[0])


def test_a_visit_after_the_campaign_ended(ws: gridguard.Workspace, tmp_path: Path) -> None:
    ended = Campaign(id="hy", name="华苑一级响应", scope=["c1"], start=START, end=START)
    ws.update(ended, expected_version=ws.version(Campaign, "hy"))
    path = _write(tmp_path / "late.jsonl", [GOOD[0], GOOD[1].replace("2020-01-25", "2020-01-26")])
    report = Sweep(ws).record_file(path)
    assert [e.line for e in report.errors] == [2]
    assert "2020-01-25 to 2020-01-25" in report.errors[0].violations[0].rule


def test_the_same_id_with_other_content_is_a_conflict(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    sweep = Sweep(ws)
    sweep.record_file(_write(tmp_path / "a.jsonl", GOOD))
    changed = GOOD[1].replace("not_home", "refused")  # same household, time, team: same id
    report = sweep.record_file(_write(tmp_path / "b.jsonl", [changed, GOOD[0]]))
    assert [e.line for e in report.errors] == [1]
    assert "other content" in str(report.errors[0])
    assert report.accepted == 1
    assert report.visits_unchanged == 1


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


CSV_ROWS: list[dict[str, Any]] = [
    {
        "household_id": "g1-b0-0-101",
        "at": "2020-01-25 15:00",
        "outcome": "screened",
        "team_id": "t1",
        "person_id": "p1",
        "temperature": "37.5",
        "symptoms": "cough;fatigue",
    },
    {
        "household_id": "g1-b0-0-201",
        "at": "2020-01-25 15:10",
        "outcome": "not_home",
        "team_id": "t1",
    },
    {
        "household_id": "g1-b0-0-101",
        "at": "2020-01-25 15:00",
        "outcome": "screened",
        "team_id": "t1",
        "person_id": "p2",
        "trip_destination": "武汉",
        "trip_returned": "2020-01-21",
        "exposure_kind": "confirmed_case",
        "exposure_last_contact": "2020-01-19",
    },
]


def test_csv_rows_of_one_visit_make_one_record(ws: gridguard.Workspace, tmp_path: Path) -> None:
    path = _csv(tmp_path / "visits.csv", CSV_ROWS)
    sweep = Sweep(ws)
    report = sweep.record_file(path)
    assert (report.records, report.accepted, report.visits_written) == (2, 2, 2)
    assert report.screenings_written == 2
    (p2,) = ws.find(Screening, person_id="p2")
    assert p2.trips[0].destination == "武汉"
    assert p2.exposures[0].kind.value == "confirmed_case"
    (p1,) = ws.find(Screening, person_id="p1")
    assert (p1.temperature, p1.symptoms) == (37.5, ("cough", "fatigue"))
    assert not sweep.record_file(path).changed


def test_csv_errors_name_their_lines(ws: gridguard.Workspace, tmp_path: Path) -> None:
    rows = [
        {**CSV_ROWS[0], "person_id": "p3"},  # not of that household
        CSV_ROWS[1],
        {**CSV_ROWS[1], "household_id": "g1-b0-0-101", "at": "2020-01-25 16:00", "outcome": "x"},
        {**CSV_ROWS[1], "note": "second row disagrees"},
    ]
    report = Sweep(ws).record_file(_csv(tmp_path / "bad.csv", rows))
    lines = {e.line: e for e in report.errors}
    assert set(lines) == {2, 3, 4}  # the header is line 1
    assert "not a member" in str(lines[2])
    assert "must agree" in str(lines[3])
    assert report.accepted == 0
    with pytest.raises(
        ValidationError, match=r"line 1: unknown column \(columns: .*\(got temprature\)"
    ):
        path = tmp_path / "typo.csv"
        path.write_text("household_id,at,outcome,temprature\nh,2020-01-25 10:00,screened,37\n")
        Sweep(ws).record_file(path)


def test_unreadable_files(ws: gridguard.Workspace, tmp_path: Path) -> None:
    sweep = Sweep(ws)
    with pytest.raises(ConfigError, match="no such file"):
        sweep.record_file(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="no importer"):
        sweep.record_file(_write(tmp_path / "visits.bin", ["x"]))
    (tmp_path / "latin.jsonl").write_bytes(b'{"household_id": "caf\xe9"}\n')
    latin = sweep.record_file(tmp_path / "latin.jsonl")  # the bad bytes are the line's error
    assert (latin.records, latin.accepted) == (1, 0)
    assert "not UTF-8" in latin.errors[0].violations[0].rule
    assert ws.count(Visit) == 0
    named = sweep.record_file(_write(tmp_path / "visits.txt", GOOD), format="jsonl")
    assert named.visits_written == 3


def test_a_malformed_json_line_is_reported_and_the_good_lines_stored(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    sweep = Sweep(ws)
    lines = [GOOD[0], '{"household_id": "h1", "at": ', GOOD[1], "[1, 2]", GOOD[2]]
    report = sweep.record_file(_write(tmp_path / "torn.jsonl", lines))
    assert report.visits_written == 3
    assert ws.count(Visit) == 3
    assert [(e.line, e.violations[0].rule) for e in report.errors] == [
        (2, "not valid JSON"),
        (4, "each line must be a JSON object"),
    ]
    assert report.records == 5
    again = sweep.record_file(tmp_path / "torn.jsonl")  # idempotent, bad lines still named
    assert again.visits_written == 0
    assert [e.line for e in again.errors] == [2, 4]


def test_the_api_records_visit_records(ws: gridguard.Workspace) -> None:
    at = dt.datetime(2020, 1, 25, 7, tzinfo=dt.UTC)
    visit = Visit(household_id="g1-b0-0-101", outcome="screened", at=at, team_id="t1")
    report = Sweep(ws).record(
        [VisitRecord(visit, [Screening(person_id="p1", at=at, temperature=36.4)])]
    )
    assert report.accepted == 1
    assert report.screenings_written == 1
    (stored,) = ws.find(Screening)
    assert stored.visit_id == visit.id
    assert ws.get(Visit, str(visit.id)).campaign_id == "hy"


# -- the same file twice, whatever is in it --------------------------------------------------------

_HOUSEHOLDS = ["g1-b0-0-101", "g1-b0-0-201", "g1-b1-0-101", "g9-b0-0-101", "nowhere"]


@st.composite
def visit_lines(draw: st.DrawFn) -> list[str]:
    lines = []
    for _ in range(draw(st.integers(1, 12))):
        outcome = draw(st.sampled_from(["screened", "not_home", "refused", "vacant", "bogus"]))
        screenings = []
        if draw(st.booleans()):
            screenings = [
                {"person_id": p, "temperature": draw(st.sampled_from([36.5, 37.8, 50]))}
                for p in draw(st.lists(st.sampled_from(["p1", "p2", "p3", "p9"]), max_size=2))
            ]
        lines.append(
            _line(
                household_id=draw(st.sampled_from(_HOUSEHOLDS)),
                at=f"2020-01-{draw(st.integers(24, 27))}T{draw(st.integers(10, 20))}:00:00+08:00",
                outcome=outcome,
                channel=draw(st.sampled_from(["door", "phone"])),
                team_id=draw(st.sampled_from(["t1", "t2", "t9", "ghost"])),
                screenings=screenings,
            )
        )
    return lines


@settings(max_examples=30)
@given(lines=visit_lines())
def test_recording_a_file_twice_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("twice")
    path = _write(folder / "visits.jsonl", lines)
    with gridguard.open(folder / "t.db") as ws:
        ws.add(_records())
        sweep = Sweep(ws)
        first = sweep.record_file(path)
        counts = ws.counts()
        second = sweep.record_file(path)
        assert ws.counts() == counts
    assert not second.changed
    assert [str(e) for e in second.errors] == [str(e) for e in first.errors]
    assert second.accepted == first.accepted
    assert first.visits_written + first.visits_unchanged <= first.accepted
    assert counts["visits"] == first.visits_written


# -- the command ---------------------------------------------------------------------------------


def test_visit_record_command(tmp_path: Path) -> None:
    db = tmp_path / "cmd.db"
    with gridguard.open(db) as store:
        store.add(_records())
    good = _write(tmp_path / "good.jsonl", GOOD)
    runner = CliRunner()
    first = runner.invoke(main, ["visit", "record", str(good), "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "3条记录，接受3，拒收0" in "".join(first.stdout.split())  # wrapped at 80 columns
    again = runner.invoke(main, ["visit", "record", str(good), "--db", str(db), "--json"])
    assert again.exit_code == 0
    data = json.loads(again.stdout)
    assert data["visits"] == {"written": 0, "unchanged": 3}
    bad = _write(
        tmp_path / "bad.jsonl",
        [GOOD[0], _line(household_id="nowhere", at="2020-01-25T15:00:00+08:00", outcome="vacant")],
    )
    result = runner.invoke(main, ["visit", "record", str(bad), "--db", str(db)])
    assert result.exit_code == 1
    assert "2条记录，接受1，拒收1" in "".join(result.stdout.split())
    assert "bad.jsonl:line 2: $.household_id: unknown household" in result.stderr
    missing = runner.invoke(main, ["visit", "record", str(tmp_path / "no.jsonl"), "--db", str(db)])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: no such file")
