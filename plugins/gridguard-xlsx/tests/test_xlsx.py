"""The xlsx importer: registered through its entry point, read by gridguard's import and match."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from gridguard_xlsx import XlsxImporter
from openpyxl import Workbook

import gridguard
from gridguard import Area, AreaLevel, Building, Household, Person, Stairwell
from gridguard.errors import ValidationError
from gridguard.model import GB11643
from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.targeting import import_file, match_list


def number(born: dt.date, seq: int) -> str:
    first17 = f"442000{born:%Y%m%d}{seq:03d}"
    return first17 + GB11643.check_character(first17)


def place_tree() -> list[object]:
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="hy"),
        Building(id="b3", area_id="g1", name="牡丹阁3幢"),
        Stairwell(id="b3-1", building_id="b3", name="1梯", floors=7, doors_per_floor=2),
        Household(id="h101", stairwell_id="b3-1", floor=1, door="101", address="牡丹阁3幢101"),
    ]


def register_workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["户编号", "姓名", "身份证号", "手机号", "出生日期"])
    sheet.append(["h101", "陈建国", number(dt.date(1960, 3, 7), 11), 13800138000, None])
    sheet.append([None, None, None, None, None])  # an empty row: skipped, but counted
    sheet.append(["h101", "李芳", number(dt.date(1962, 5, 1), 22), '=HYPERLINK("x")', None])
    sheet.append(["h101", "陈小明", None, "139 0013 9000", dt.datetime(1990, 1, 2)])
    book.save(path)
    return path


def test_the_plugin_registers_xlsx_through_its_entry_point() -> None:
    registries = collect_registries(get_plugin_manager())
    entry = registries.importers.entry("xlsx")
    assert entry.plugin == "xlsx"
    assert ".xlsx" in entry.value().suffixes


def test_rows_keep_the_worksheet_row_numbers_and_cell_types(tmp_path: Path) -> None:
    rows = list(XlsxImporter().read(register_workbook(tmp_path / "r.xlsx")))
    assert [n for n, _ in rows] == [2, 4, 5]
    assert rows[0][1]["手机号"] == 13800138000
    assert rows[1][1]["手机号"] == '=HYPERLINK("x")'  # the formula, not a cached value
    assert rows[2][1]["出生日期"] == dt.datetime(1990, 1, 2)


def test_importing_a_workbook_takes_good_rows_and_reports_the_formula(tmp_path: Path) -> None:
    path = register_workbook(tmp_path / "花名册.xlsx")
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        result = import_file(ws, "persons", path)
        assert (result.format, result.inserted, result.rejected) == ("xlsx", 2, 1)
        names = sorted(p.name for p in ws.find(Person))
        assert names == ["陈小明", "陈建国"]
        phones = sorted(p.phone for p in ws.find(Person) if p.phone)
        assert phones == ["+8613800138000", "+8613900139000"]
        born = next(p for p in ws.find(Person) if p.name == "陈小明").birth_date
        assert born == dt.date(1990, 1, 2)
        again = import_file(ws, "persons", path)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert result.report is not None
    report = result.report.read_text(encoding="utf-8-sig").splitlines()
    assert report[1].startswith("4,手机号,")
    assert "spreadsheet formula" in report[1]


def test_a_list_in_a_workbook_is_matched(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "到达日期"])
    sheet.append(["CHEN JIANGUO", number(dt.date(1960, 3, 7), 11), dt.date(2020, 1, 20)])
    book.save(tmp_path / "list.xlsx")
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        import_file(ws, "persons", register_workbook(tmp_path / "r.xlsx"))
        result = match_list(ws, tmp_path / "list.xlsx", source="railway-0124", area_id="hy")
    assert (result.rows, result.matched, result.targets) == (1, 1, 1)


def test_a_file_that_is_not_a_workbook_is_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("姓名,身份证号\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not an Excel workbook"):
        list(XlsxImporter().read(path))


def test_a_named_sheet_must_exist(tmp_path: Path) -> None:
    path = register_workbook(tmp_path / "r.xlsx")
    with pytest.raises(ValidationError, match="no such worksheet"):
        list(XlsxImporter(sheet="名单").read(path))
