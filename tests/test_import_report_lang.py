"""The generic ``import`` error report speaks zh-CN (the default) or en, as the register's does."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gridguard.targeting.reasons import in_lang
from test_targeting_cli import CHEN, register_files, run, write


def report_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path]:
    db = str(tmp_path / "gg.db")
    assert run("init", "--db", db).exit_code == 0
    files = register_files(tmp_path)
    for kind in ("areas", "buildings", "stairwells", "households"):
        assert run("import", kind, str(files[kind]), "--db", db).exit_code == 0
    bad = write(tmp_path / "bad.csv", ["户编号", "姓名", "身份证号", "手机号"], [
        ["h101", "陈建国", CHEN[:-1] + ("0" if CHEN[-1] != "0" else "1"), ""],
        ["h102", "", "", ""],
        ["h102", "赵六", "", "12345"],
    ])  # fmt: skip
    return db, bad


@pytest.mark.parametrize(
    ("lang", "reasons"),
    [
        ("zh-CN", ["校验码不符", "必填，但单元格为空", "不是有效的电话号码"]),
        (
            "en",
            [
                "check character does not match",
                "required, but the cell is empty",
                "not a valid phone number",
            ],
        ),
    ],
)
def test_every_reason_is_in_the_language_asked(
    store: tuple[str, Path], lang: str, reasons: list[str]
) -> None:
    db, bad = store
    result = run("import", "persons", str(bad), "--db", db, "--lang", lang)
    assert result.exit_code == 1, result.output
    rows = report_rows(bad.with_name("bad.errors.csv"))
    assert [row[0] for row in rows] == ["2", "3", "4"]
    for reason, row in zip(reasons, rows, strict=True):
        assert row[3].startswith(reason), (reason, row)
    if lang == "zh-CN":
        assert not any(cell.isascii() and " " in cell for row in rows for cell in row[3:])


def test_chinese_is_the_default(store: tuple[str, Path]) -> None:
    db, bad = store
    assert run("import", "persons", str(bad), "--db", db).exit_code == 1
    assert report_rows(bad.with_name("bad.errors.csv"))[0][3].startswith("校验码不符")


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("unknown household", "未知的户"),
        (
            "duplicate row: an earlier row of this file has this key",
            "重复行：本文件前面已有一行是这个编号",
        ),
        ("duplicate row: same as row 7", "重复行: same as row 7"),
        ("must be one of: 男, 女", "必须是以下之一: 男, 女"),
        ("a reason no one translated", "a reason no one translated"),
    ],
)
def test_reasons_of_the_generic_import_have_chinese(english: str, chinese: str) -> None:
    assert in_lang(english, "zh-CN") == chinese
    assert in_lang(english, "en") == english
