"""The watch's commands: observer assign/coverage, checkin record/missing, with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard import Building, CheckIn
from gridguard.cli import main
from gridguard.notify import OutboxMessage
from watch_world import observe, world


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "watch.db"
    with gridguard.open(path) as ws:
        ws.add(world())
        observe(ws)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_observer_assign_and_coverage(db: Path) -> None:
    result = run("observer", "assign", "b4", "o1", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "b4" in result.output
    with gridguard.open(db) as ws:
        assert ws.get(Building, "b4").observer_id == "o1"
    result = run("observer", "coverage", "--db", str(db), "--json")
    rows = {r["area_id"]: (r["places"], r["observed"]) for r in json.loads(result.stdout)}
    assert rows == {"g1": (4, 4), "vg1": (1, 0)}
    points = json.loads(run("observer", "coverage", "--points", "--db", str(db), "--json").stdout)
    assert [(p["area_id"], p["places"], p["observed"]) for p in points] == [("v1", 2, 1)]


def test_observer_assign_refuses_a_person_without_a_phone(db: Path) -> None:
    result = run("observer", "assign", "b4", "x1", "--db", str(db))
    assert result.exit_code == 2
    assert "needs a phone" in result.output
    assert run("observer", "assign", "b4", "--db", str(db)).exit_code == 2  # neither nor --remove


def test_checkin_record_reports_bad_lines_and_stores_the_rest(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "today.jsonl"
    lines = [
        {"building_id": "b1", "observer_id": "o1", "at": "2020-01-26T09:00:00"},
        {"building_id": "b2", "observer_id": "o1", "at": "2020-01-26T09:00:00"},
        {"building_id": "b3", "observer_id": "o3", "at": "2099-01-26T09:00:00"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    result = run("checkin", "record", str(path), "--db", str(db), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["records"], report["accepted"], report["rejected"]) == (3, 1, 2)
    assert [(e["line"], e["problems"][0]["path"]) for e in report["errors"]] == [
        (2, "$.observer_id"),
        (3, "$.at"),
    ]
    again = json.loads(run("checkin", "record", str(path), "--db", str(db), "--json").stdout)
    assert again["checkins"] == {"written": 0, "unchanged": 1}
    with gridguard.open(db) as ws:
        assert [c.building_id for c in ws.find(CheckIn)] == ["b1"]


def test_checkin_missing_lists_and_escalates_once(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "today.jsonl"
    path.write_text(
        json.dumps({"building_id": "b1", "observer_id": "o1", "at": "2020-01-26T09:00:00"}) + "\n",
        encoding="utf-8",
    )
    run("checkin", "record", str(path), "--db", str(db))
    result = run("checkin", "missing", "--date", "2020-01-26", "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["kind"], data["cutoff"]) == ("buildings", "12:00")
    assert [m["id"] for m in data["missing"]] == ["b2", "b3"]
    args = ["checkin", "missing", "--date", "2020-01-26", "--db", str(db), "--escalate"]
    now = ["--at", "2020-01-26T12:30:00+08:00", "--json"]
    first = json.loads(run(*args, *now).stdout)["escalation"]
    second = json.loads(run(*args, *now).stdout)["escalation"]
    assert (first["rungs_due"], first["enqueued"]) == (["checkin_reminder"], 2)
    assert second["enqueued"] == 0
    with gridguard.open(db) as ws:
        assert sorted(m.recipient for m in ws.find(OutboxMessage)) == [
            "building_observer@b2",
            "building_observer@b3",
        ]
    text = run("checkin", "missing", "--date", "2020-01-26", "--db", str(db), "--points")
    assert "1 个监测点" in text.output
    assert "mp1" in text.output


def test_checkin_missing_refuses_bad_dates_and_cut_offs(db: Path) -> None:
    bad = run("checkin", "missing", "--date", "26/01/2020", "--db", str(db))
    assert bad.exit_code == 2
    assert "--date" in bad.output
    cutoff = run("checkin", "missing", "--date", "2020-01-26", "--cutoff", "25:00", "--db", str(db))
    assert cutoff.exit_code == 2
    assert "--cutoff" in cutoff.output
