"""The flat register import on PostgreSQL: the same outcomes as on SQLite, nothing stored twice."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import gridguard
from gridguard import Area, AreaLevel, Household, Person
from gridguard.model.identity import GB11643
from gridguard.targeting import import_register

HEADER = ["网格", "小区", "楼栋", "单元", "楼层", "房号", "户主姓名", "与户主关系", "姓名", "性别",
          "身份证号码", "联系电话", "居住类型"]  # fmt: skip


def number(born: str, seq: int) -> str:
    first17 = f"442000{born}{seq:03d}"
    return first17 + GB11643.check_character(first17)


def test_a_register_imports_and_reimports_on_postgresql(
    pg_schema_url: Callable[..., str], tmp_path: Path
) -> None:
    base = ["第一网格", "百苑新村", "牡丹阁3幢", "1", "3", "302", "陈建国"]
    bad = number("19700101", 33)
    rows = [
        [*base, "本人", "陈建国", "男", number("19650312", 11), "13800138000", "户籍"],
        [*base, "配偶", "李芳", "男", number("19680101", 22), "", "户籍"],  # a warning
        [*base, "子", "陈小明", "男", bad[:-1] + ("0" if bad[-1] != "0" else "1"), "", ""],
    ]
    path = tmp_path / "花名册.csv"
    with open(path, "w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    with gridguard.open(pg_schema_url()) as ws:
        ws.add(
            [
                Area(id="zs", name="中山市", level=AreaLevel.CITY),
                Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
            ]
        )
        first = import_register(ws, path, community="hy", report=False)
        assert dict(first.outcomes) == {
            "stored": 1, "updated": 0, "unchanged": 0, "stored_with_warnings": 1, "refused": 1,
        }  # fmt: skip
        again = import_register(ws, path, community="hy", report=False)
        assert (again.outcomes["unchanged"], again.outcomes["refused"]) == (2, 1)
        assert (ws.count(Person), ws.count(Household)) == (2, 1)
        (household,) = ws.find(Household)
        assert household.phone == "+8613800138000"
