"""The xlsx reporter: a sheet per section, Chinese headers, filters, no formula ever."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from gridguard_xlsx import XlsxReporter
from gridguard_xlsx.reporter import FORMULA_PREFIXES, sheet_title
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.report.document import (
    Chart,
    Column,
    Figures,
    Label,
    Report,
    Section,
    Series,
    Table,
)
from gridguard.testing import (
    HOSTILE_NAMES,
    SpreadsheetReporterContract,
    bare_report,
    huayuan_reports,
    sample_daily_report,
    text_table,
)


def workbook(report: Report, lang: str = "zh-CN") -> Workbook:
    return load_workbook(io.BytesIO(XlsxReporter().render(report, lang=lang)))


@pytest.fixture(scope="module")
def book() -> Workbook:
    return workbook(sample_daily_report(names=HOSTILE_NAMES))


def test_registered_through_the_entry_point() -> None:
    registries = collect_registries(get_plugin_manager())
    assert registries.reporters.entry("xlsx").plugin == "xlsx"
    reporter = registries.reporters.get("xlsx")()
    assert reporter.suffix == ".xlsx"
    assert reporter.media_type.endswith("spreadsheetml.sheet")
    assert isinstance(reporter.render(sample_daily_report(), lang="en"), bytes)


def test_a_sheet_per_section_named_in_the_language(book: Workbook) -> None:
    # The report has a chart: its image sheet comes second, after the cover.
    assert book.sheetnames == ["报告", "图表", "总览", "入户走访", "今日需追访人员"]
    english = workbook(sample_daily_report(), lang="en")
    assert english.sheetnames == [
        "Report",
        "Charts",
        "Overview",
        "Door-to-door sweep",
        "Who to call today",
    ]


def test_tables_have_chinese_headers_a_filter_and_a_frozen_header(book: Workbook) -> None:
    sheet = book["入户走访"]
    tables = sheet.tables
    grids = next(t for t in tables.values() if t.name.endswith("grids"))
    assert grids.ref == "A4:D7"
    assert [c.value for c in sheet[4]][:4] == ["网格", "户数", "已走访", "覆盖率"]
    assert [c.name for c in grids.tableColumns] == ["网格", "户数", "已走访", "覆盖率"]
    assert grids.autoFilter is not None
    assert grids.autoFilter.ref == "A4:D7"
    assert sheet.freeze_panes == "A5"  # under the header row of the first table
    assert sheet["B5"].value == 820
    assert sheet["B5"].number_format == "#,##0"
    assert sheet["D6"].number_format == "0.0%"
    assert sheet["D6"].value == pytest.approx(1110 / 1204)
    people = book["今日需追访人员"]
    assert people.freeze_panes == "A5"
    assert all(t.autoFilter is not None for t in people.tables.values())
    assert len(people.tables) == 2


def test_figures_are_a_key_value_block(book: Workbook) -> None:
    rows = list(book["总览"].iter_rows(values_only=True))
    block = rows[rows.index(("指标", "数值", "较昨日")) + 1 :]
    assert block[:4] == [
        ("已走访户数", 4012, 502),
        ("已排查楼梯", 430, 61),
        ("覆盖率", 0.9345, 0.12),
        ("居家隔离中", 17, -2),
    ]
    assert block[4] == ("警报", None, None)


def test_charts_are_data_tables_with_a_chart(book: Workbook) -> None:
    sheet = book["入户走访"]
    burnup = next(t for t in sheet.tables.values() if t.name.endswith("burnup"))
    assert [c.name for c in burnup.tableColumns] == ["日期", "已走访", "计划"]
    first = int(burnup.ref.split(":")[0][1:])
    rows = list(sheet.iter_rows(min_row=first + 1, max_row=first + 6, max_col=3, values_only=True))
    assert rows[0] == ("01-25", 620, 700)
    assert rows[-1] == ("01-30", 4012, 4012)
    teams = next(t for t in sheet.tables.values() if t.name.endswith("teams"))
    first = int(teams.ref.split(":")[0][1:])
    assert sheet.cell(first + 4, 2).value is None  # a missing value stays empty


def test_datetimes_are_in_the_reports_time_zone(book: Workbook) -> None:
    sheet = book["今日需追访人员"]
    assert sheet["E5"].value == dt.datetime(2020, 1, 29, 15, 30)  # 07:30 UTC in Shanghai
    assert sheet["D5"].value == dt.datetime(2020, 1, 27)
    assert sheet["D5"].number_format == "yyyy-mm-dd"


def test_no_cell_is_a_formula_and_hostile_names_are_text(book: Workbook) -> None:
    seen = {}
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    seen[cell.value] = cell
    for name in HOSTILE_NAMES:
        assert seen[name].value == name
        assert seen[name].quotePrefix == name.startswith(FORMULA_PREFIXES)
    assert seen['=HYPERLINK("http://evil.example/x","点我")'].hyperlink is None


def test_the_raw_sheet_xml_holds_no_formula() -> None:
    import zipfile

    data = XlsxReporter().render(sample_daily_report(names=HOSTILE_NAMES), lang="zh-CN")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 5  # cover, charts, three sections
        for name in sheets:
            assert b"<f>" not in archive.read(name)
            assert b"<f " not in archive.read(name)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        XlsxReporter().render(sample_daily_report(), lang="fr")


def section(title: str, key: str = "s") -> Section:
    return Section(
        key=key,
        title=Label(title, title),
        blocks=[
            Table(
                key="t",
                title=Label("t", "t"),
                columns=[Column("a", Label("A", "甲")), Column("b", Label("A", "甲"))],
                rows=[("=1+1", "x\x01y")],
            ),
            Chart(
                key="c",
                title=Label("c", "图"),
                kind="stacked",
                x_label=Label("x", "x"),
                x=["a", "b"],
                series=[Series("s", Label("s", "s"), (1, 2)), Series("t", Label("t", "t"), (3, 4))],
            ),
        ],
    )


def test_sheet_names_are_sanitised_short_and_unique() -> None:
    long = "第一网格入户走访情况及电话追访与居家隔离人员服务需求汇总表格附件"
    titles = ("a/b: [c]?*", long, long, "报告", "'History'", "   ")
    report = bare_report([section(title) for title in titles], kind="daily")
    book = workbook(report)
    names = [n for n in book.sheetnames if n != "图表"]  # the sections' charts as images
    assert names[1] == "a_b_ _c___"
    assert len(names[2]) == 31
    assert names[3] == long[:29] + "~2"
    assert names[4] == "报告~2"
    assert names[5] == "History_"
    assert names[6] == "Sheet"
    assert len({n.lower() for n in names}) == len(names)
    sheet = book[names[1]]
    table = next(iter(sheet.tables.values()))
    assert [c.name for c in table.tableColumns] == ["甲", "甲 (2)"]
    assert sheet["A5"].value == "=1+1"
    assert sheet["A5"].data_type == "s"
    assert sheet["B5"].value == "x\ufffdy"  # a control character Excel refuses


@given(st.text(max_size=60))
def test_any_title_makes_a_valid_sheet_name(title: str) -> None:
    taken = {"sheet", "报告"}
    name = sheet_title(title, taken)
    assert 1 <= len(name) <= 31
    assert not set(name) & set("[]:*?/\\")
    assert not name.startswith("'")
    assert not name.endswith("'")
    assert name.lower() in taken
    assert sheet_title(title, taken).lower() != name.lower()


@given(st.text(max_size=30))
def test_any_string_is_written_as_text(text: str) -> None:
    report = bare_report([Section(key="s", title=Label("s", "s"), blocks=[text_table(text)])])
    cell = workbook(report)["s"]["A5"]
    if text:
        assert cell.data_type == "s"
        # Control characters Excel refuses become U+FFFD; XML reads any line end as "\n".
        expected = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", text)
        assert cell.value == expected.replace("\r\n", "\n").replace("\r", "\n")


class TestXlsxContract(SpreadsheetReporterContract):
    @pytest.fixture
    def reporter(self) -> XlsxReporter:
        return XlsxReporter()

    def _book(self, output: str | bytes) -> Workbook:
        assert isinstance(output, bytes)
        return load_workbook(io.BytesIO(output))

    def visible_text(self, output: str | bytes) -> str:
        book = self._book(output)
        values = [
            str(value)
            for sheet in book
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        return "\n".join([*book.sheetnames, *values])

    def cells(self, output: str | bytes) -> list[str]:
        """Text and formula cells as Excel holds them: a quoted cell with its ``'``.

        Numbers are left out: ``-2`` in a number cell is a number, not a formula.
        """
        found = []
        for sheet in self._book(output):
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        found.append(str(cell.value))
                    elif cell.data_type == "s" and cell.value is not None:
                        found.append(("'" if cell.quotePrefix else "") + str(cell.value))
        return found


def test_a_real_huayuan_daily_report(tmp_path: Path) -> None:
    reports = huayuan_reports(tmp_path)
    daily = reports["daily"]
    book = workbook(daily)
    assert len(book.sheetnames) == 2 + len(daily.sections)
    assert book.sheetnames[1] == "图表"
    assert len(book["图表"]._images) == 4  # the daily report's four charts as pictures
    assert book.sheetnames[2:] == [s.title.text("zh-CN") for s in daily.sections]
    overview = next(b for _, b in daily.blocks() if isinstance(b, Figures))
    sheet = book[daily.sections[0].title.text("zh-CN")]
    rows = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    for item in overview.items:
        assert rows[item.label.text("zh-CN")] == item.value
    for one in book:
        for row in one.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    progress = workbook(reports["progress"])
    assert sum(len(one._charts) for one in progress) >= 1  # the burn-up, drawn by Excel
