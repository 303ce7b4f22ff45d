"""Hostile files: unbalanced quotes, deep JSON, huge fields, invalid bytes.

Each bad record is one clear error naming its line; every other record is
stored, and what a file's report counts adds up (read = stored + refused).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gridguard
from gridguard import CheckIn, Person, Visit
from gridguard.cli import main
from gridguard.importers.text import (
    MAX_JSON_DEPTH,
    MAX_LINE_CHARS,
    MAX_RECORD_CHARS,
    BadRecord,
    csv_records,
    json_records,
)
from gridguard.sweep import Sweep
from gridguard.targeting import import_file
from gridguard.targeting.importing import report_path_for
from gridguard.watch import record_file as record_checkins_file
from test_sweep_recording import _records
from test_targeting_import import place_tree
from watch_world import NOTIFY, observe, world

VISIT_HEADER = "household_id,at,outcome,channel,team_id,note"
HUGE = 100 * 1024 * 1024  # a 100 MB field


def _visit_row(minute: int, note: str = "") -> str:
    return (
        f"g1-b0-0-101,2020-01-25 {10 + minute // 60:02d}:{minute % 60:02d},not_home,door,t1,{note}"
    )


def _visits(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([VISIT_HEADER, *rows]) + "\n", encoding="utf-8", newline="")
    return path


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = gridguard.open("memory://" if request.param == "memory" else tmp_path / "h.db")
    with store:
        store.add(_records())
        yield store


def _adds_up(report: Any) -> None:
    assert report.records == report.accepted + report.rejected
    assert report.rejected == len(report.errors)


# -- the readers ---------------------------------------------------------------------------------


def _csv(text: str, multiline: tuple[str, ...] = ()) -> list[tuple[int, Any]]:
    return list(csv_records(io.StringIO(text, newline=""), multiline=multiline))


def test_an_unbalanced_quote_is_refused_on_its_line_and_the_next_line_read() -> None:
    got = _csv('a,b\n1,"two\n3,4\n5,"six"\n7,8\n')
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    assert isinstance(got[1][1], BadRecord)
    assert "unbalanced quote" in got[1][1].reason
    assert "line 2" in got[1][1].reason
    assert [cells for _, cells in got if not isinstance(cells, BadRecord)] == [
        ["a", "b"],
        ["3", "4"],
        ["5", "six"],
        ["7", "8"],
    ]


def test_a_quote_left_open_to_the_end_of_the_file_loses_only_its_own_line() -> None:
    got = _csv('a,b\n1,"two\n3,4\n5,6\n')
    assert isinstance(got[1][1], BadRecord)
    assert [c for _, c in got[2:]] == [["3", "4"], ["5", "6"]]


def test_a_multi_line_cell_is_read_only_in_a_multi_line_column() -> None:
    text = 'a,note\n1,"first\nsecond"\n2,x\n'
    allowed = _csv(text, multiline=("note",))
    assert allowed[1] == (2, ["1", "first\nsecond"])
    assert allowed[2] == (4, ["2", "x"])  # numbered by the line it starts on
    refused = _csv(text)  # a well-formed record, but no column may hold a line break
    assert isinstance(refused[1][1], BadRecord)
    assert refused[1][1].value == "note"
    assert "line break" in refused[1][1].reason
    assert refused[2] == (4, ["2", "x"])  # one record refused, its lines not read again


def test_a_multi_line_cell_that_swallows_whole_records_is_refused() -> None:
    got = _csv('a,note\n1,"open\n2,x\n3,y"\n4,z\n', multiline=("note",))
    assert isinstance(got[1][1], BadRecord)
    assert [c for _, c in got[2:]] == [["2", "x"], ["3", 'y"'], ["4", "z"]]


def test_long_lines_and_records_are_refused_without_reading_them_whole() -> None:
    long_line = "x" * (MAX_LINE_CHARS + 1)
    got = _csv(f"a,b\n1,{long_line}\n2,3\n")
    assert got[1][0] == 2
    assert isinstance(got[1][1], BadRecord)
    assert "longer than" in got[1][1].reason
    assert got[2] == (3, ["2", "3"])
    chunk = "y" * (MAX_LINE_CHARS // 2)
    lines = "\n".join([chunk] * (2 * MAX_RECORD_CHARS // len(chunk)))
    got = _csv(f'a,note\n1,"{lines}"\n2,3\n', multiline=("note",))
    assert isinstance(got[1][1], BadRecord)
    assert got[-1] == (2 + lines.count("\n") + 1, ["2", "3"])


def test_deep_json_and_invalid_bytes_are_errors_of_their_line() -> None:
    deep = "[" * 1000 + "]" * 1000
    near = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    text = f'{{"a": 1}}\n{deep}\n{near}\n"\udcff"\n{{"b": "[[[[ in a string"}}\n'
    got = list(json_records(io.StringIO(text)))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    assert isinstance(got[1][1], BadRecord)
    assert f"deeper than {MAX_JSON_DEPTH}" in got[1][1].reason
    assert not isinstance(got[2][1], BadRecord)
    assert isinstance(got[3][1], BadRecord)
    assert "not UTF-8" in got[3][1].reason
    assert got[4][1] == {"b": "[[[[ in a string"}


# -- visits --------------------------------------------------------------------------------------


def test_an_unbalanced_quote_in_a_visit_file_loses_only_its_record(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    rows = [_visit_row(i) for i in range(100)]
    rows[2] = _visit_row(2, '"he said the door was open')
    rows[50] = _visit_row(50, '"a second stray, closed "later" here')
    report = Sweep(ws).record_file(_visits(tmp_path / "v.csv", rows))
    _adds_up(report)
    assert (report.records, report.accepted, report.rejected) == (100, 98, 2)
    assert [e.line for e in report.errors] == [4, 52]
    assert "unbalanced quote" in str(report.errors[0]) or "malformed" in str(report.errors[0])
    assert ws.count(Visit) == 98


def test_a_note_over_lines_is_still_one_visit(ws: gridguard.Workspace, tmp_path: Path) -> None:
    rows = [_visit_row(0, '"rang twice\nnobody came"'), _visit_row(1)]
    report = Sweep(ws).record_file(_visits(tmp_path / "v.csv", rows))
    assert (report.records, report.accepted) == (2, 2)
    notes = sorted(v.note for v in ws.find(Visit))
    assert notes == ["", "rang twice\nnobody came"]


def test_a_100_mb_field_is_an_error_of_its_record(ws: gridguard.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"{VISIT_HEADER}\n{_visit_row(0)}\n{_visit_row(1)[:-1]}")
        block = "x" * (1 << 20)
        for _ in range(HUGE // len(block)):
            handle.write(block)
        handle.write(f"\n{_visit_row(2)}\n")
    report = Sweep(ws).record_file(path)
    _adds_up(report)
    assert (report.records, report.accepted) == (3, 2)
    assert report.errors[0].line == 3
    assert "longer than" in str(report.errors[0])


def test_deep_json_in_a_visit_file_is_an_error_of_its_line(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    good = json.dumps(
        {"household_id": "g1-b0-0-101", "at": "2020-01-25 10:00", "outcome": "not_home"}
        | {"team_id": "t1", "channel": "door"}
    )
    deep = '{"household_id": ' + "[" * 1000 + "]" * 1000 + "}"
    path = tmp_path / "v.jsonl"
    path.write_text(f"{good}\n{deep}\n", encoding="utf-8")
    report = Sweep(ws).record_file(path)
    _adds_up(report)
    assert (report.records, report.accepted) == (2, 1)
    assert report.errors[0].line == 2
    assert "nested deeper" in str(report.errors[0])


def test_invalid_bytes_in_a_visit_csv_are_an_error_of_their_line(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "v.csv"
    path.write_bytes(
        "\n".join([VISIT_HEADER, _visit_row(0), _visit_row(1, "caf\udce9"), _visit_row(2)]).encode(
            "utf-8", "surrogateescape"
        )
    )
    report = Sweep(ws).record_file(path)
    _adds_up(report)
    assert (report.records, report.accepted) == (3, 2)
    assert report.errors[0].line == 3
    assert "not text in this encoding" in str(report.errors[0])


def test_the_cli_names_the_line_and_prints_no_traceback(tmp_path: Path) -> None:
    target = tmp_path / "c.db"
    with gridguard.open(target) as store:
        store.add(_records())
    rows = [_visit_row(i) for i in range(5)]
    rows[1] = _visit_row(1, '"open')
    path = _visits(tmp_path / "v.csv", rows)
    result = CliRunner().invoke(main, ["visit", "record", str(path), "--db", str(target)])
    assert result.exit_code == 1, result.output
    assert "5条记录，接受4，拒收1" in "".join(result.output.split())  # wrapped at 80 columns
    assert "v.csv:line 3" in result.output
    assert "unbalanced quote" in result.output
    assert "Traceback" not in result.output


# -- check-ins -----------------------------------------------------------------------------------


def test_a_check_in_file_with_a_stray_quote_loses_only_that_line(tmp_path: Path) -> None:
    header = "building_id,observer_id,at,status"
    rows = [f"b1,o1,2020-01-26 09:{m:02d},all_normal" for m in range(10)]
    rows[3] = 'b1,o1,2020-01-26 09:03,"all_normal'
    path = tmp_path / "c.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with gridguard.open("memory://") as store:
        store.add(world())
        observe(store)
        report = record_checkins_file(store, path, notify=NOTIFY)
        _adds_up(report)
        assert (report.records, report.accepted) == (10, 9)
        assert report.errors[0].line == 5
        assert store.count(CheckIn) == 9


# -- the population register ---------------------------------------------------------------------


def _swallowing_register(path: Path) -> Path:
    """50 persons; row 4 opens a quote that a quote in row 31 would close."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["户编号", "姓名"])
        for i in range(50):
            out.writerow(["h101" if i % 2 else "h102", f"居民{i}"])
    text = path.read_text(encoding="utf-8").splitlines()
    text[3] = 'h101,"居民2'  # opens a quote, never closed on its line
    text[30] = 'h101,居民29 "老"'  # a quote inside a cell: closes the one above
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("parallel", [False, True], ids=["here", "child process"])
def test_the_register_reports_each_swallowed_row_as_read(tmp_path: Path, parallel: bool) -> None:
    path = _swallowing_register(tmp_path / "persons.csv")
    with gridguard.open(tmp_path / "r.db") as ws:
        ws.add(place_tree())
        result = import_file(ws, "persons", path, parallel=parallel)
        assert result.rows == 50
        assert result.rows == result.inserted + result.updated + result.unchanged + result.rejected
        assert (result.inserted, result.rejected) == (49, 1)
        assert ws.count(Person) == 49
    with open(report_path_for(path), encoding="utf-8-sig", newline="") as handle:
        (problem,) = list(csv.reader(handle))[1:]
    assert problem[0] == "4"
    assert "unbalanced quote" in problem[3]


def test_the_import_command_counts_what_it_read_stored_and_refused(tmp_path: Path) -> None:
    target = tmp_path / "r.db"
    with gridguard.open(target) as ws:
        ws.add(place_tree())
    path = _swallowing_register(tmp_path / "persons.csv")
    result = CliRunner().invoke(main, ["import", "persons", str(path), "--db", str(target)])
    assert "Traceback" not in result.output
    assert "50行·新增49·更新0·未变0·拒绝1" in "".join(result.output.split())


def test_a_register_in_json_lines_refuses_bad_lines_one_by_one(tmp_path: Path) -> None:
    good = [json.dumps({"household_id": "h101", "name": f"居民{i}"}) for i in range(4)]
    deep = '{"household_id": "h101", "name": ' + "[" * 1000 + "]" * 1000 + "}"
    path = tmp_path / "persons.jsonl"
    path.write_text("\n".join(["{not json", good[0], deep, *good[1:]]) + "\n", encoding="utf-8")
    with gridguard.open("memory://") as ws:
        ws.add(place_tree())
        result = import_file(ws, "persons", path)
        assert result.rows == 6
        assert result.rows == result.inserted + result.updated + result.unchanged + result.rejected
        assert (result.inserted, result.rejected) == (4, 2)
    with open(report_path_for(path), encoding="utf-8-sig", newline="") as handle:
        problems = {row[0]: row[3] for row in list(csv.reader(handle))[1:]}
    assert problems["1"] == "not valid JSON"
    assert "nested deeper" in problems["3"]
