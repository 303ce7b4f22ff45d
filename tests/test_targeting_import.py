"""Importing a population register: encodings, headers, bad rows, idempotent re-import."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Area, AreaLevel, Building, Household, Person, Stairwell
from gridguard.errors import ConfigError, StorageError, ValidationError
from gridguard.model import GB11643, ResidentId, normalize_phone
from gridguard.storage.schema import spec_for
from gridguard.targeting import fields, import_file
from gridguard.targeting.importing import KINDS, derived_id, report_path_for
from gridguard.targeting.tables import open_csv
from strategies import cn_mobile_numbers, names, valid_resident_id_numbers

HEADER = ["户编号", "姓名", "身份证号", "手机号", "性别", "出生日期", "居住类型"]


def number(born: dt.date, seq: int, region: str = "442000") -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + GB11643.check_character(first17)


CHEN = number(dt.date(1960, 3, 7), 11)  # odd sequence: a man
LI = number(dt.date(1962, 5, 1), 22)  # even: a woman
ZHAO = number(dt.date(1990, 1, 2), 32)


def place_tree() -> list[Any]:
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="hy"),
        Building(id="b3", area_id="g1", name="牡丹阁3幢", compound="百苑新村"),
        Stairwell(id="b3-1", building_id="b3", name="1梯", floors=7, doors_per_floor=2),
        Household(id="h101", stairwell_id="b3-1", floor=1, door="101", address="牡丹阁3幢101"),
        Household(id="h102", stairwell_id="b3-1", floor=1, door="102", address="牡丹阁3幢102"),
    ]


def write(
    path: Path, rows: list[list[Any]], encoding: str = "gbk", header: list[str] = HEADER
) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def good_rows() -> list[list[Any]]:
    return [
        ["h101", "陈建国", CHEN, "138 0013 8000", "男", "1960-03-07", "常住"],
        ["h101", "李芳", LI.lower(), "+86 139-0013-9000", "女", "1962/5/1", "户籍"],
        ["h102", "赵小明", "", "１３７００１３７０００", "", "1990年1月2日", "租户"],
    ]


def report_rows(path: Path) -> list[list[str]]:
    with open(report_path_for(path), encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture(params=["sqlite", "memory"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    target = tmp_path / "gg.db" if request.param == "sqlite" else "memory://"
    with gridguard.open(target) as workspace:
        workspace.add(place_tree())
        yield workspace


# -- the acceptance criteria ---------------------------------------------------------------------


def test_a_gbk_csv_with_chinese_headers_imports_correctly(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "花名册.csv", good_rows(), encoding="gbk")
    result = import_file(ws, "persons", path)
    assert (result.encoding, result.rows, result.inserted, result.rejected) == ("gb18030", 3, 3, 0)
    assert result.report is None
    people = {p.name: p for p in ws.find(Person)}
    assert set(people) == {"陈建国", "李芳", "赵小明"}
    chen = people["陈建国"]
    assert chen.resident_id == ResidentId(CHEN)
    assert chen.phone == "+8613800138000"
    assert (chen.sex.value if chen.sex else None, chen.birth_date) == ("male", dt.date(1960, 3, 7))
    assert chen.household_id == "h101"
    li = people["李芳"]
    assert str(li.resident_id) == LI.upper()  # a lower-case x is folded
    assert li.phone == "+8613900139000"
    zhao = people["赵小明"]
    assert zhao.resident_id is None
    assert zhao.phone == "+8613700137000"  # full-width digits
    assert zhao.residency.value == "tenant"
    assert zhao.birth_date == dt.date(1990, 1, 2)


def test_importing_the_same_file_twice_changes_nothing(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", good_rows())
    first = import_file(ws, "persons", path)
    before = {p.id: (p, ws.version(Person, p.id)) for p in ws.find(Person)}
    again = import_file(ws, "persons", path)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 0)
    after = {p.id: (p, ws.version(Person, p.id)) for p in ws.find(Person)}
    assert after == before
    assert first.inserted == len(after) == 3


def test_a_bad_row_in_the_middle_leaves_the_good_rows_in_and_is_reported(
    ws: Any, tmp_path: Path
) -> None:
    rows = good_rows()
    bad = ["h101", "王五", CHEN[:-1] + ("0" if CHEN[-1] != "0" else "1"), "", "", "", ""]
    path = write(tmp_path / "p.csv", [rows[0], rows[1], bad, rows[2]])
    result = import_file(ws, "persons", path)
    assert (result.rows, result.inserted, result.rejected) == (4, 3, 1)
    assert {p.name for p in ws.find(Person)} == {"陈建国", "李芳", "赵小明"}
    assert result.report == report_path_for(path)
    assert result.report.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    ((row, column, value, reason),) = report_rows(path)
    assert (row, column) == ("4", "身份证号")  # the header is row 1
    assert value == CHEN[:6] + "*" * 10 + bad[2][-2:]  # masked
    assert "check character" in reason


# -- bad input, one reason per row ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        (["h101", "甲", CHEN[:-1] + "Y", "", "", "", ""], "身份证号", "first 17|check"),
        (["h101", "乙", "", "", "", "2099-01-01", ""], "出生日期", "must not be in the future"),
        (["h101", "丙", CHEN, "", "", "1961-03-07", ""], "出生日期", "does not match the birth"),
        (["h101", "丁", CHEN, "", "女", "", ""], "性别", "does not match the sex"),
        (["h101", "戊", "", '=HYPERLINK("x")', "", "", ""], "手机号", "spreadsheet formula"),
        (["h101", "己", "", "@SUM(A1)", "", "", ""], "手机号", "spreadsheet formula"),
        (["h101", "庚", "", "+cmd|' /C calc'!A0", "", "", ""], "手机号", "spreadsheet formula"),
        (["h101", "辛", "", "-2+3", "", "", ""], "手机号", "spreadsheet formula"),
        (["h101", "壬", "", "12345", "", "", ""], "手机号", "phone"),
        (["h101", "癸", "", "", "未知", "", ""], "性别", "must be one of"),
        (["h101", "子", "", "", "", "1990-02-30", ""], "出生日期", "not a calendar date"),
        (["h101", "丑", "", "", "", "", "路人"], "居住类型", "must be one of"),
        (["h999", "寅", "", "", "", "", ""], "户编号", "unknown household"),
        (["h 101", "卯", "", "", "", "", ""], "户编号", "an id is"),
        (["h101", "", "", "", "", "", ""], "姓名", "required"),
        (["h101", "辰\x07", "", "", "", "", ""], "姓名", "control characters"),
    ],
)
def test_each_bad_row_gets_a_clear_reason(
    ws: Any, tmp_path: Path, cells: list[str], column: str, reason: str
) -> None:
    path = write(tmp_path / "p.csv", [good_rows()[0], cells])
    result = import_file(ws, "persons", path)
    assert (result.inserted, result.rejected) == (1, 1)
    ((row, found_column, _, found_reason),) = report_rows(path)
    assert (row, found_column) == ("3", column)
    assert any(part in found_reason for part in reason.split("|")), found_reason


def test_a_name_that_looks_like_a_formula_is_stored_as_text(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", [["h101", "=1+2", "", "", "", "", ""]])
    result = import_file(ws, "persons", path)
    assert (result.inserted, result.rejected) == (1, 0)
    assert [p.name for p in ws.find(Person)] == ["=1+2"]


def test_personal_values_are_masked_in_the_report(ws: Any, tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.csv",
        [
            ["h101", "欧阳娜娜", "", "13800", "", "", ""],
            ["h101", "李芳", "", "", "", "2099-12-31", ""],
        ],
    )
    import_file(ws, "persons", path)
    text = report_path_for(path).read_text(encoding="utf-8-sig")
    assert "13800" not in text
    assert "2099-12-31" not in text
    assert "2099" in text


def test_duplicate_rows_are_reported_and_stored_once(ws: Any, tmp_path: Path) -> None:
    first = good_rows()[0]
    changed = [*first[:3], "13900139000", *first[4:]]
    path = write(tmp_path / "p.csv", [first, good_rows()[1], first, changed])
    result = import_file(ws, "persons", path, batch_size=2)  # duplicates across batches too
    assert (result.inserted, result.rejected) == (2, 2)
    reasons = {row: reason for row, _, _, reason in report_rows(path)}
    assert set(reasons) == {"4", "5"}
    assert all("duplicate row" in r for r in reasons.values())
    assert ws.get(Person, derived_id("p", "CN:" + CHEN)).phone == "+8613800138000"


def test_a_truncated_file_reports_its_last_row(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", good_rows()[:2])
    with open(path, "ab") as handle:
        handle.write('h102,"赵'.encode("gbk"))  # cut off inside a quoted cell
    result = import_file(ws, "persons", path)
    assert (result.inserted, result.rejected) == (2, 1)
    ((row, _, _, reason),) = report_rows(path)
    assert row == "4"
    assert "truncated" in reason


def test_a_row_with_too_few_cells_is_reported(ws: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(",".join(HEADER) + "\nh101,陈建国\nh101,李芳,,,,,\n", encoding="utf-8")
    result = import_file(ws, "persons", path)
    assert (result.inserted, result.rejected) == (1, 1)
    ((row, _, _, reason),) = report_rows(path)
    assert row == "2"
    assert "2 cells, the header 7" in reason


def test_a_file_in_the_wrong_encoding_reports_its_rows(ws: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"household_id,name\n" + "h101,陈建国\n".encode("gbk") + b"h102,Li Fang\n")
    result = import_file(ws, "persons", path, encoding="utf-8")
    assert (result.inserted, result.rejected) == (1, 1)
    ((row, _, _, reason),) = report_rows(path)
    assert row == "2"
    assert "wrong encoding" in reason


def test_a_missing_required_column_stops_the_import_before_anything_is_written(
    ws: Any, tmp_path: Path
) -> None:
    path = write(tmp_path / "p.csv", [["陈建国", CHEN]], header=["姓名", "身份证号"])
    with pytest.raises(ValidationError, match="household_id") as info:
        import_file(ws, "persons", path)
    assert "required column is missing" in str(info.value)
    assert ws.count(Person) == 0


def test_all_or_nothing_keeps_everything_out(ws: Any, tmp_path: Path) -> None:
    rows = good_rows()
    path = write(tmp_path / "p.csv", [rows[0], ["h999", "寅", "", "", "", "", ""], rows[1]])
    with pytest.raises(ValidationError, match="row 3") as info:
        import_file(ws, "persons", path, all_or_nothing=True)
    assert "nothing imported" in str(info.value)
    assert ws.count(Person) == 0
    assert len(report_rows(path)) == 1
    import_file(ws, "persons", write(path, [rows[0], rows[1]]), all_or_nothing=True)
    assert ws.count(Person) == 2


def test_a_changed_row_is_updated_and_only_its_version_moves(ws: Any, tmp_path: Path) -> None:
    rows = good_rows()
    path = write(tmp_path / "p.csv", rows)
    import_file(ws, "persons", path)
    versions = {p.id: ws.version(Person, p.id) for p in ws.find(Person)}
    rows[0][3] = "13600136000"
    result = import_file(ws, "persons", write(path, rows))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    chen = derived_id("p", "CN:" + CHEN)
    assert ws.get(Person, chen).phone == "+8613600136000"
    for pid, version in versions.items():
        assert ws.version(Person, pid) == version + (1 if pid == chen else 0)


def test_a_person_who_moves_household_is_the_same_person(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", good_rows()[:1])
    import_file(ws, "persons", path)
    moved = [["h102", *good_rows()[0][1:]]]
    result = import_file(ws, "persons", write(path, moved))
    assert (result.inserted, result.updated) == (0, 1)
    (chen,) = ws.find(Person)
    assert chen.household_id == "h102"


def test_ids_come_from_the_file_when_it_has_them(ws: Any, tmp_path: Path) -> None:
    header = ["人员编号", *HEADER]
    path = write(tmp_path / "p.csv", [["p-1", *good_rows()[0]]], header=header)
    import_file(ws, "persons", path)
    assert ws.get(Person, "p-1").name == "陈建国"


def test_progress_counts_every_row(ws: Any, tmp_path: Path) -> None:
    rows = [*good_rows(), ["h999", "寅", "", "", "", "", ""]]
    seen: list[int] = []
    import_file(ws, "persons", write(tmp_path / "p.csv", rows), progress=seen.append, batch_size=2)
    assert seen == [2, 2]


# -- the other kinds and formats -----------------------------------------------------------------


def test_the_whole_place_tree_imports_from_chinese_headers(tmp_path: Path) -> None:
    files = {
        "areas": (["编号", "名称", "级别", "上级编号"], [
            ["zs", "中山市", "市", ""],
            ["dq", "东区", "街道", "zs"],
            ["hy", "华苑社区", "社区", "dq"],
            ["g1", "第一网格", "网格", "hy"],
            ["bad", "错层", "社区", "g1"],
            ["orphan", "孤儿网格", "网格", "nowhere"],
        ]),
        "buildings": (["楼幢编号", "所属网格", "楼幢名称", "小区", "有物业"], [
            ["b3", "g1", "牡丹阁3幢", "百苑新村", "否"],
            ["b4", "g1", "芙蓉阁4幢", "百苑新村", "maybe"],
        ]),
        "stairwells": (["楼梯编号", "楼幢编号", "楼梯", "层数", "每层户数"], [
            ["b3-1", "b3", "1梯", "７", "2"],
            ["b3-2", "b3", "2梯", "0", "2"],
        ]),
        "households": (["户编号", "楼梯编号", "楼层", "门牌", "地址", "联系电话"], [
            ["h101", "b3-1", "1", "101", "牡丹阁3幢101", "138 0013 8000"],
            ["", "b3-1", "2楼", "201", "牡丹阁3幢201", ""],
            ["h999", "b3-1", "99x", "999", "地址", ""],
        ]),
    }  # fmt: skip
    with gridguard.open(tmp_path / "gg.db") as ws:
        outcome = {}
        for kind, (header, rows) in files.items():
            path = write(tmp_path / f"{kind}.csv", rows, encoding="utf-8-sig", header=header)
            result = import_file(ws, kind, path)
            outcome[kind] = (
                result.inserted,
                result.rejected,
                [r[3] for r in report_rows(path)] if result.report else [],
            )
        assert outcome["areas"][:2] == (4, 2)
        assert any("must be below its parent" in r for r in outcome["areas"][2])
        assert any("unknown area" in r for r in outcome["areas"][2])
        assert outcome["buildings"][:2] == (1, 1)
        assert outcome["stairwells"][:2] == (1, 1)
        assert outcome["households"][:2] == (2, 1)
        assert ws.get(Area, "dq").level is AreaLevel.TOWN
        assert ws.get(Stairwell, "b3-1").floors == 7
        derived = derived_id("h", "b3-1", "2", "201")
        assert ws.get(Household, derived).floor == 2
        assert ws.get(Household, "h101").phone == "+8613800138000"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_every_supported_encoding_is_detected(ws: Any, tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "p.csv", good_rows(), encoding=encoding)
    result = import_file(ws, "persons", path)
    assert (result.inserted, result.rejected) == (3, 0)
    assert {p.name for p in ws.find(Person)} == {"陈建国", "李芳", "赵小明"}


def test_a_jsonl_file_goes_through_its_importer(ws: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [
        {"户编号": "h101", "姓名": "陈建国", "身份证号": CHEN, "手机号": 13800138000},
        {"户编号": "h101", "姓名": "李芳", "手机号": "=1"},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = import_file(ws, "persons", path)
    assert (result.format, result.inserted, result.rejected) == ("jsonl", 1, 1)
    assert ws.find(Person)[0].phone == "+8613800138000"


def test_unknown_kind_format_and_file_are_config_errors(ws: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", good_rows())
    with pytest.raises(ConfigError, match="cannot import"):
        import_file(ws, "teams", path)
    with pytest.raises(ConfigError, match="no such file"):
        import_file(ws, "persons", tmp_path / "missing.csv")
    odd = tmp_path / "p.ods"
    odd.write_text("x")
    with pytest.raises(ConfigError, match="no importer reads"):
        import_file(ws, "persons", odd)
    with pytest.raises(ConfigError, match="unknown encoding"):
        import_file(ws, "persons", path, encoding="klingon")


@pytest.mark.parametrize("whole_file", [False, True])
def test_the_validating_process_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_file: bool
) -> None:
    """Validated in a second process (the rows packed a batch at a time) or in this one,
    and written a column at a time where the parents were read once (``whole_file``) or
    row by row: the same rows stored, refused and reported, on a first import, a repeat
    and a changed file."""
    from gridguard.targeting import importing

    if whole_file:
        monkeypatch.setattr(importing, "PARALLEL_FROM_BYTES", 0)
    first = [*good_rows(), ["h999", "寅", "", "", "", "", ""], good_rows()[0]]
    changed = [["h102", *good_rows()[0][1:]], *good_rows()[1:], ["h101", "卯", "", "", "", "", ""]]
    files = [write(tmp_path / f"{n}.csv", rows) for n, rows in enumerate((first, first, changed))]
    outcomes: list[list[Any]] = []
    for parallel in (False, True):
        outcome = []
        with gridguard.open(tmp_path / f"gg-{parallel}.db") as ws:
            ws.add(place_tree())
            for path in files:
                result = import_file(ws, "persons", path, parallel=parallel, batch_size=2)
                outcome.append(
                    (
                        result.inserted,
                        result.updated,
                        result.unchanged,
                        result.rejected,
                        report_rows(path) if result.rejected else [],
                        sorted(map(repr, ws.find(Person))),
                        sorted((p.id, ws.version(Person, p.id)) for p in ws.find(Person)),
                    )
                )
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]
    # On the repeat, the file's second copy of a stored row is one more unchanged row.
    assert [o[:4] for o in outcomes[0]] == [(3, 0, 0, 2), (0, 0, 4, 1), (1, 1, 2, 0)]


@pytest.mark.parametrize(("parallel", "processes"), [(None, 1), (False, 1), (True, 2)])
def test_a_file_is_validated_in_a_second_process_only_when_asked(
    tmp_path: Path, parallel: bool | None, processes: int
) -> None:
    """One process by default: two cost more CPU time in all, and more wall time too when
    the other cores are busy (see the performance guide)."""
    path = write(tmp_path / "p.csv", good_rows())
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        asked = {} if parallel is None else {"parallel": parallel}
        result = import_file(ws, "persons", path, **asked)
        assert (result.processes, result.inserted) == (processes, 3)


def test_a_large_persons_import_keeps_the_match_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridguard.targeting import importing
    from gridguard.targeting._indexes import MATCH_INDEXES

    monkeypatch.setattr(importing, "REINDEX_FROM_BYTES", 0)
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        with ws.transaction() as uow:
            for sql in MATCH_INDEXES.values():
                list(uow.query(sql))
        import_file(ws, "persons", write(tmp_path / "p.csv", good_rows()))
        with ws.transaction(write=False) as uow:
            names_ = {r[0] for r in uow.query("SELECT name FROM sqlite_master WHERE type='index'")}
            plan = " ".join(
                str(r)
                for r in uow.query(
                    "EXPLAIN QUERY PLAN SELECT id FROM persons WHERE resident_id = ?", (CHEN,)
                )
            )
        assert set(MATCH_INDEXES) <= names_
        assert "persons_resident_id" in plan
        assert ws.count(Person) == 3


@pytest.mark.parametrize("whole_file", [False, True])
def test_an_import_checks_its_references_itself_and_leaves_the_store_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_file: bool
) -> None:
    """SQLite's row-by-row foreign-key checks are off while an import writes (it checks each
    batch's parents itself, by look-up or from the parents read once): a row whose household
    is not on file is still reported and left out, every stored row's parent is on file, and
    the checks are on again afterwards, after a failed import too."""
    from gridguard.targeting import importing

    if whole_file:
        monkeypatch.setattr(importing, "PARALLEL_FROM_BYTES", 0)
    rows = [*good_rows(), ["h999", "寅", "", "", "", "", ""]]
    path = write(tmp_path / "p.csv", rows)
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        result = import_file(ws, "persons", path, parallel=False, batch_size=2)
        assert (result.inserted, result.rejected) == (3, 1)
        assert report_rows(path)[0][1:] == ["户编号", "h999", "unknown household"]
        with ws.transaction(write=False) as uow:
            assert list(uow.query("PRAGMA foreign_key_check")) == []
            assert list(uow.query("PRAGMA foreign_keys")) == [(1,)]

        def stop(seen: int) -> None:
            raise StorageError("the disk is full")

        with pytest.raises(StorageError):
            import_file(ws, "persons", path, progress=stop, batch_size=2)
        with ws.transaction(write=False) as uow:
            assert list(uow.query("PRAGMA foreign_keys")) == [(1,)]


def test_an_interrupted_import_leaves_nothing(tmp_path: Path) -> None:
    """A failure while writing rolls the whole file back: no batch is half in."""
    path = write(tmp_path / "p.csv", good_rows() * 3)

    def stop(seen: int) -> None:
        raise StorageError("the disk is full")

    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(place_tree())
        with pytest.raises(StorageError):
            import_file(ws, "persons", path, progress=stop, batch_size=2)
        assert ws.count(Person) == 0


# -- the fast paths agree with the model ---------------------------------------------------------

_id_chars = st.text("0123456789Xx", min_size=17, max_size=19)


@given(st.one_of(valid_resident_id_numbers(), _id_chars))
def test_the_fast_identity_check_agrees_with_the_model(text: str) -> None:
    try:
        expected: str | None = str(ResidentId(text))
    except ValidationError:
        expected = None
    fast = fields.fast_resident_id(text)
    if fast is not None:
        assert fast[0] == expected
        assert fast[1] == ResidentId(text).birth_date.isoformat()  # type: ignore[union-attr]
    stored, _, _ = (None, None, None)
    try:
        stored = fields.read_resident_id("resident_id", text)[0]
    except fields.CellError:
        stored = None
    assert stored == expected


@given(
    st.one_of(
        cn_mobile_numbers(),
        st.builds(lambda p, r: f"1{p:02d}{r:08d}", st.integers(0, 99), st.integers(0, 10**8 - 1)),
        st.builds(lambda r: f"+861{r:010d}", st.integers(0, 10**10 - 1)),
    )
)
def test_the_fast_phone_check_agrees_with_the_model(text: str) -> None:
    try:
        expected: str | None = normalize_phone(text)
    except ValidationError:
        expected = None
    fast = fields.fast_phone(text)
    if fast is not None:
        assert fast == expected
    try:
        got: str | None = fields.read_phone("phone", text)
    except fields.CellError:
        got = None
    assert got == expected


@st.composite
def person_cells(draw: st.DrawFn) -> list[str | None]:
    born = draw(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2019, 12, 31)))
    seq = draw(st.integers(0, 999))
    rid = number(born, seq)
    male = seq % 2 == 1
    return [
        draw(st.none() | st.just("p-1")),
        "h101",
        draw(names()).strip() or "某",
        draw(st.sampled_from([rid, rid.lower(), None])),
        draw(st.none() | cn_mobile_numbers().map(lambda p: p[3:])),
        draw(st.sampled_from([None, "男" if male else "女", "male" if male else "female"])),
        draw(st.sampled_from([None, born.isoformat(), f"{born:%Y/%m/%d}", f"{born:%Y%m%d}"])),
        draw(st.sampled_from([None, "常住", "tenant", "访客"])),
    ]


@given(person_cells())
def test_a_validated_person_row_is_what_the_model_stores(cells: list[str | None]) -> None:
    row = KINDS["persons"].validate(cells)
    spec = spec_for(Person)
    person = spec.decode(row)  # decoding validates with the model
    assert spec.encode(person) == row
    assert person.name == cells[2]
    if cells[3] is not None:
        assert str(person.resident_id) == cells[3].upper()


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            [
                ["h101", "陈建国", CHEN, "13800138000", "男", "", ""],
                ["h101", "李芳", LI, "", "", "", ""],
                ["h102", "赵小明", ZHAO, "137 0013 7000", "", "", "租户"],
                ["h102", "钱", "", "12", "", "", ""],
                ["h999", "孙", "", "", "", "", ""],
                ["h101", "周", "", "", "", "2099-01-01", ""],
                ["h101", "吴", "", "=A1", "", "", ""],
            ]
        ),
        max_size=12,
    )
)
def test_memory_and_sqlite_agree_on_any_file(tmp_path_factory: Any, rows: list[list[str]]) -> None:
    """The memory store row by row, SQLite as a small file and as a large one (parents read
    once, common batches written a column at a time): the same outcome."""
    from gridguard.targeting import importing

    folder = tmp_path_factory.mktemp("agree")
    path = write(folder / "p.csv", rows)
    seen = []
    for target, large in (("memory://", False), (folder / "gg.db", False), (folder / "l.db", True)):
        with gridguard.open(target) as ws, pytest.MonkeyPatch.context() as patch:
            if large:
                patch.setattr(importing, "PARALLEL_FROM_BYTES", 0)
            ws.add(place_tree())
            result = import_file(ws, "persons", path, batch_size=3)
            stored = sorted(spec_for(Person).encode(p) for p in ws.find(Person))
            report = report_rows(path) if result.report else []
            seen.append((result.inserted, result.unchanged, result.rejected, stored, report))
    assert seen[0] == seen[1] == seen[2]


def test_open_csv_streams_rows_with_their_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", good_rows(), encoding="utf-8")
    table = open_csv(path, None)
    try:
        assert table.checked
        assert [n for n, _ in table.rows] == [2, 3, 4]
    finally:
        table.close()


_ROWS = st.sampled_from(
    [
        ["h101", "陈建国", CHEN, "13800138000", "男", "", ""],
        ["h102", "陈建国", CHEN, "13800138000", "男", "", ""],  # the same person, moved
        ["h101", "李芳", LI, "", "", "", ""],
        ["h101", "李芳", LI, "13700137000", "", "", ""],  # the same person, a new phone
        ["h102", "赵小明", ZHAO, "137 0013 7000", "", "", "租户"],
        ["h102", "钱", "", "12", "", "", ""],
        ["h101", "孙", "", "", "", "", ""],
    ]
)


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(_ROWS, max_size=8), second=st.lists(_ROWS, max_size=8))
def test_memory_and_sqlite_agree_on_a_re_import(
    tmp_path_factory: Any, first: list[list[str]], second: list[list[str]]
) -> None:
    """New, changed, unchanged and repeated rows across small batches: both stores agree."""
    folder = tmp_path_factory.mktemp("again")
    seen = []
    for target in ("memory://", folder / "gg.db"):
        with gridguard.open(target) as ws:
            ws.add(place_tree())
            import_file(ws, "persons", write(folder / "a.csv", first), batch_size=2)
            path = write(folder / "b.csv", second)
            result = import_file(ws, "persons", path, batch_size=2)
            stored = sorted(spec_for(Person).encode(p) for p in ws.find(Person))
            report = report_rows(path) if result.report else []
            seen.append(
                (result.inserted, result.updated, result.unchanged, result.rejected, stored, report)
            )
    assert seen[0] == seen[1]
