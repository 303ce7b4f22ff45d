"""The flat register import: one row per person, Chinese headers, the place tree built from it."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.errors import ConfigError, ValidationError
from gridguard.model import Area, AreaLevel, Building, Household, Person, Stairwell
from gridguard.model.identity import GB11643
from gridguard.targeting.register import import_register, register_report_path

HEADER = [
    "网格", "小区", "楼栋", "单元", "楼层", "房号",
    "户主姓名", "与户主关系", "姓名", "性别", "身份证号码", "联系电话", "居住类型",
]  # fmt: skip


def number(born: str, seq: int, region: str = "442000") -> str:
    first17 = f"{region}{born}{seq:03d}"
    return first17 + GB11643.check_character(first17)


def bad_check(valid: str) -> str:
    return valid[:-1] + ("0" if valid[-1] != "0" else "1")


def write(path: Path, rows: list[list[str]], encoding: str = "gbk", header: Any = None) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or HEADER)
        writer.writerows(rows)
    return path


def report(path: Path) -> list[list[str]]:
    with open(register_report_path(path), encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    with gridguard.open(tmp_path / "gg.db") as workspace:
        workspace.add(
            [
                Area(id="zs", name="中山市", level=AreaLevel.CITY),
                Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
            ]
        )
        yield workspace


CHEN = number("19650312", 11)  # odd sequence: male
LI = number("19680101", 22)  # even: female
WANG = number("19700101", 33)
ZHAO = number("19800101", 45)
X_NUMBER = next(n for n in (number("19900101", s) for s in range(1, 200)) if n.endswith("X"))
FUTURE = (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d")


def messy_rows() -> list[list[str]]:
    """Line 2 onwards: what a real register holds, good and bad, and what each should become."""
    base = ["第一网格", "百苑新村", "牡丹阁3幢", "1", "3", "302", "陈建国"]
    return [
        [*base, "本人", "陈建国", "男", CHEN, "13800138000", "户籍"],  # 2 stored
        [*base, "配偶", "李芳", "男", LI, "", "户籍"],  # 3 sex disagrees: a warning
        [*base, "子", "陈小明", "男", bad_check(WANG), "", "户籍"],  # 4 bad check: refused
        ["第一网格", "百苑新村", "牡丹阁3幢", "1", "", "501", "王五", "户主", "王五", "",
         X_NUMBER.lower(), "＋86 139 0013 9000", "租住"],  # 5 lower x, full-width +86
        ["第一网格", "百苑新村", "牡丹阁3幢", "1", "5", "501", "王五", "子", '=HYPERLINK("x")',
         "女", "", "+86 139-0013-9001", ""],  # 6 a name like a formula: stored as text
        ["第二网格", "", "桂花楼", "", "2", "201", "赵六", "本人", "赵六", "男",
         number(FUTURE, 45), "12", "户籍"],  # 7 future birth in the number, bad phone
        ["第二网格", "", "桂花楼", "", "2", "201", "赵六", "妻", "钱七", "女", "",
         "", "户籍"],  # 8 no number: stored
        [*base, "本人", "陈建国", "男", CHEN, "13800138000", "户籍"],  # 9 duplicate of 2
        ["第二网格", "", "桂花楼", "", "2", "202", "孙八", "本人", "孙八", "", "",
         "", "户籍"],  # 10 stored
    ]  # fmt: skip


def test_a_messy_register_stores_every_valid_resident_and_refuses_the_rest(
    ws: Any, tmp_path: Path
) -> None:
    path = write(tmp_path / "花名册.csv", messy_rows())
    result = import_register(ws, path, community="hy", lang="en")
    assert result.encoding == "gb18030"
    assert result.rows == 9
    assert dict(result.outcomes) == {
        "stored": 5,
        "updated": 0,
        "unchanged": 0,
        "stored_with_warnings": 1,
        "refused": 3,
    }
    rows = report(path)
    refused = {(r[0], r[3]) for r in rows if r[1] == "refused"}
    assert refused == {
        ("4", "身份证号码"),
        ("7", "身份证号码"),
        ("7", "联系电话"),  # every error of the row, not only the first
        ("9", "身份证号码"),
    }
    messages = {(r[0], r[3]): r[5] for r in rows}
    assert "check character" in messages[("4", "身份证号码")]
    assert "between 1850 and today" in messages[("7", "身份证号码")]
    assert "duplicate person: the same as line 2" in messages[("9", "身份证号码")]
    assert "disagrees with the identity number (female)" in messages[("3", "性别")]
    persons = {p.name: p for p in ws.find(Person)}
    assert set(persons) == {"陈建国", "李芳", "王五", '=HYPERLINK("x")', "钱七", "孙八"}
    assert persons["李芳"].sex is not None
    assert persons["李芳"].sex.value == "female"
    assert persons["王五"].resident_id is not None
    assert str(persons["王五"].resident_id).endswith("X")
    assert persons["王五"].phone == "+8613900139000"
    assert persons["王五"].birth_date == dt.date(1990, 1, 1)  # derived from the number
    assert persons["陈建国"].birth_date == dt.date(1965, 3, 12)
    assert persons["陈建国"].sex is not None
    assert persons["陈建国"].sex.value == "male"
    assert persons["王五"].residency.value == "tenant"


def test_the_place_tree_is_built_below_the_community(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", messy_rows())
    result = import_register(ws, path, community="hy")
    assert dict(result.places) == {"grids": 2, "buildings": 2, "stairwells": 2, "households": 4}
    grids = {a.name: a for a in ws.find(Area, level="grid")}
    assert set(grids) == {"第一网格", "第二网格"}
    assert all(g.parent_id == "hy" for g in grids.values())
    mudan = next(b for b in ws.find(Building) if b.name == "牡丹阁3幢")
    assert (mudan.area_id, mudan.compound) == (grids["第一网格"].id, "百苑新村")
    (stairwell,) = ws.find(Stairwell, building_id=mudan.id)
    assert (stairwell.name, stairwell.floors, stairwell.doors_per_floor) == ("1", 5, 1)
    households = {h.address: h for h in ws.find(Household)}
    assert set(households) == {"百苑新村牡丹阁3幢1单元302", "百苑新村牡丹阁3幢1单元501",
                               "桂花楼201", "桂花楼202"}  # fmt: skip
    chen = households["百苑新村牡丹阁3幢1单元302"]
    assert (chen.floor, chen.door, chen.phone) == (3, "302", "+8613800138000")  # the head's
    assert households["百苑新村牡丹阁3幢1单元501"].floor == 5  # told by the room number
    members = {p.name for p in ws.find(Person, household_id=chen.id)}
    assert members == {"陈建国", "李芳"}


def test_importing_again_stores_nothing_twice_and_a_corrected_row_updates(
    ws: Any, tmp_path: Path
) -> None:
    path = write(tmp_path / "r.csv", messy_rows())
    import_register(ws, path, community="hy")
    before = ws.counts()
    again = import_register(ws, path, community="hy")
    assert ws.counts() == before
    assert (again.outcomes["stored"], again.outcomes["unchanged"]) == (0, 6)
    assert sum(again.places.values()) == 0
    rows = messy_rows()
    rows[10 - 2][6:] = ["孙八", "本人", "孙八", "", "", "13700137000", "户籍"]  # a phone added
    rows.append(["第三网格", "", "荷花楼", "2", "7", "702", "周九", "本人", "周九", "男",
                 ZHAO, "", "户籍"])  # fmt: skip
    later = import_register(ws, write(tmp_path / "r2.csv", rows), community="hy")
    assert (later.outcomes["updated"], later.outcomes["stored"]) == (1, 1)
    assert later.places["grids"] == 1
    assert ws.count(Person) == before["persons"] + 1
    assert next(p for p in ws.find(Person) if p.name == "孙八").phone == "+8613700137000"
    (stairwell,) = [s for s in ws.find(Stairwell) if s.name == "2"]
    assert stairwell.floors == 7


def test_region_codes_and_other_schemes_are_warnings(ws: Any, tmp_path: Path) -> None:
    place = ["网格甲", "", "一幢", "", "1"]
    rows = [
        [*place, "101", "甲", "本人", "甲", "", number("19800101", 1, "992000"), "", ""],
        [*place, "102", "乙", "本人", "乙", "", number("19800101", 3, "810000"), "", ""],
        [*place, "103", "丙", "本人", "丙", "女", number("19800101", 5), "", ""],
    ]
    path = write(tmp_path / "r.csv", rows)
    result = import_register(ws, path, community="hy")  # zh-CN by default
    assert result.outcomes["stored_with_warnings"] == 3
    messages = {r[0]: r[5] for r in report(path)}
    assert messages["2"] == "未知的地区码99"
    assert "非内地证件号码" in messages["3"]
    assert "香港" in messages["3"]
    assert messages["4"] == "性别“女”与身份证号码（男）不符，以身份证号码为准"
    assert ws.count(Person) == 3


def test_unknown_columns_stop_the_import_before_anything_is_stored(ws: Any, tmp_path: Path) -> None:
    rows = [["网格甲", "", "一幢", "", "1", "101", "甲", "本人", "甲", "", "", "", "", "x", "y"]]
    path = write(tmp_path / "r.csv", rows, header=[*HEADER, "户籍地址", "备注"])
    with pytest.raises(ValidationError, match=r"unknown column.* 户籍地址, 备注"):
        import_register(ws, path, community="hy")
    assert ws.count(Person) == 0
    assert ws.count(Household) == 0
    with pytest.raises(ValidationError, match="户籍地址"):
        import_register(ws, path, community="hy", ignore=["备注"])
    mapping = tmp_path / "map.toml"
    mapping.write_text('ignore = ["备注"]\n[columns]\n"户籍地址" = "address"\n', encoding="utf-8")
    result = import_register(ws, path, community="hy", mapping=mapping)
    assert result.outcomes["stored"] == 1
    (household,) = ws.find(Household)
    assert household.address == "x"


def test_a_bad_byte_refuses_only_its_row_naming_the_line_and_the_encoding(
    ws: Any, tmp_path: Path
) -> None:
    path = write(tmp_path / "r.csv", messy_rows()[:2])
    data = path.read_bytes().split(b"\r\n")
    data[2] = data[2][:4] + b"\x80" + data[2][4:]  # line 3
    path.write_bytes(b"\r\n".join(data))
    result = import_register(ws, path, community="hy", lang="en")
    assert result.encoding == "gb18030"
    assert (result.outcomes["stored"], result.refused) == (1, 1)
    ((line, outcome, _, _, _, message),) = [r for r in report(path) if r[1] == "refused"]
    assert (line, outcome) == ("3", "refused")
    assert "not gb18030 text" in message


def test_lines_are_counted_as_an_editor_counts_them(ws: Any, tmp_path: Path) -> None:
    rows = messy_rows()[:3]
    rows[0][4] = ""
    rows[0][5] = "302"
    rows[1][6] = "陈建国\n(户主)"  # a quoted cell over two lines: the register has no such field
    path = write(tmp_path / "r.csv", rows)
    import_register(ws, path, community="hy")
    refused = [r for r in report(path) if r[1] == "拒绝"]
    # The second row, on lines 3 and 4, is refused where it starts; the third starts on line 5.
    assert [r[0] for r in refused] == ["3", "5"]


def test_the_community_must_be_stored_and_be_a_community(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", messy_rows())
    with pytest.raises(ConfigError, match="unknown community 'hz'"):
        import_register(ws, path, community="hz")
    with pytest.raises(ConfigError, match="city, not a community"):
        import_register(ws, path, community="zs")


def test_the_command_reports_rows_and_exits_1_when_some_were_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "gg.db")
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--db", db]).exit_code == 0
    areas = tmp_path / "areas.csv"
    areas.write_text("编号,名称,级别,上级编号\nzs,中山市,市,\nhy,华苑社区,社区,zs\n", "utf-8")
    assert runner.invoke(main, ["import", "areas", str(areas), "--db", db]).exit_code == 0
    path = write(tmp_path / "花名册.csv", messy_rows())
    done = runner.invoke(main, ["import", "register", str(path), "--db", db, "--community", "hy"])
    assert done.exit_code == 1, done.output
    shown = "".join(done.stdout.split())  # wrapped at 80 columns
    assert "9行·5已存入·0已更新·0未变·1已存入（有警告）·3拒绝" in shown
    assert "花名册.csv:4: 身份证号码: 校验码不符" in done.stderr
    again = runner.invoke(
        main, ["import", "register", str(path), "--db", db, "--community", "hy", "--json"]
    )
    assert again.exit_code == 1
    assert '"unchanged": 6' in again.stdout
    unknown = runner.invoke(
        main, ["import", "register", str(path), "--db", db, "--community", "hz"]
    )
    assert unknown.exit_code == 2
    assert "unknown community 'hz'; did you mean 'hy'?" in unknown.stderr
    missing = runner.invoke(main, ["import", "register", str(path), "--db", db])
    assert missing.exit_code == 2
    assert "--community" in missing.stderr
    extra = write(tmp_path / "extra.csv", messy_rows(), header=[*HEADER[:-1], "备注"])
    stopped = runner.invoke(
        main, ["import", "register", str(extra), "--db", db, "--community", "hy"]
    )
    assert stopped.exit_code == 2
    assert "备注" in stopped.stderr
    assert "--ignore" in stopped.stderr
    ignored = runner.invoke(
        main,
        ["import", "register", str(extra), "--db", db, "--community", "hy", "--ignore", "备注"],
    )
    assert ignored.exit_code == 1  # the same refused rows, the column left out


def test_a_formula_like_name_is_stored_through_the_api_and_neutralised_on_export(
    ws: Any, tmp_path: Path
) -> None:
    from gridguard.report._format import neutralise

    path = write(tmp_path / "r.csv", messy_rows()[4:5])
    import_register(ws, path, community="hy")
    (person,) = ws.find(Person)
    assert person.name == '=HYPERLINK("x")'
    ws.add([Person(id="p-api", household_id=person.household_id, name="=1+2")])
    assert ws.get(Person, "p-api").name == "=1+2"
    assert neutralise(person.name) == '\'=HYPERLINK("x")'


def test_an_outside_list_with_an_arrival_column_and_an_unknown_one(ws: Any, tmp_path: Path) -> None:
    from gridguard.targeting.matching import match_list

    import_register(ws, write(tmp_path / "r.csv", messy_rows()), community="hy")
    listed = tmp_path / "旅客.csv"
    listed.write_text(
        "姓名,身份证号码,抵中日期,来源地,座位\n陈建国," + CHEN + ",2020-01-20,武汉,3A\n",
        encoding="gbk",
    )
    with pytest.raises(ValidationError, match="座位"):
        match_list(ws, listed, source="railway-0124", area_id="hy")
    result = match_list(
        ws, listed, source="railway-0124", area_id="hy", ignore=["座位"], on=dt.date(2020, 1, 25)
    )
    assert result.matched == 1
    from gridguard.targeting.targets import ranked_targets

    (target,) = ranked_targets(ws, None)
    assert target.last_contact == dt.date(2020, 1, 20)


def test_an_excel_register_through_the_xlsx_importer(ws: Any, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    if "xlsx" not in ws.registries.importers.names():
        pytest.skip("gridguard-xlsx is not installed")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["第一网格", "百苑新村", "牡丹阁3幢", 1, 3, 302, "陈建国", "本人", "陈建国", "男",
                  CHEN, 13800138000, "户籍"])  # fmt: skip
    sheet.append(["第一网格", "百苑新村", "牡丹阁3幢", 1, 3, 302, "陈建国", "配偶", "李芳", "女",
                  LI, None, "户籍"])  # fmt: skip
    path = tmp_path / "花名册.xlsx"
    book.save(path)
    result = import_register(ws, path, community="hy")
    assert (result.format, result.outcomes["stored"], result.refused) == ("xlsx", 2, 0)
    (household,) = ws.find(Household)
    assert (household.floor, household.door, household.phone) == (3, "302", "+8613800138000")
