"""The ``xlsx`` reporter: a report as an Excel workbook, a sheet per section.

The first sheet says what the report is (title, area, day, when it was made,
whether personal data is masked); then each section gets a sheet named after
its title. On a section's sheet, figures are a small key/value block, each
table is an Excel table (its own header row with filter buttons), and each
chart is its data as such a table with a native Excel chart beside it. The
panes are frozen under the header row of the sheet's first table.

A report with charts also gets a sheet of them as images (``图表`` /
``Charts``, second after the cover sheet), drawn by
:mod:`gridguard_xlsx.images`. Both are kept on purpose: the native chart
follows its data table when someone edits it in Excel, while the image looks
the same in every viewer, including the phone previews and chat-app viewers
that draw no Excel chart, or draw its Chinese title without the font.

Every string goes in as a string cell (``t="s"``), never a formula, and a
string that Excel would take for a formula if someone edited the cell (one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
also marked with Excel's quote prefix, so ``=HYPERLINK(...)`` in a resident's
name stays that text.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from gridguard.report.document import (
    Chart,
    ColumnKind,
    Figures,
    Label,
    Report,
    Section,
    Table,
    cell_text,
    check_lang,
)

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FORMULA_PREFIXES", "XlsxReporter", "sheet_title"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""What a string may start with for Excel (or LibreOffice) to evaluate it once edited."""

_MAX_SHEET = 31
_BAD_SHEET = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "float": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
_WORDS: dict[str, Label] = {
    "about": Label("Report", "报告"),
    "report": Label("Report", "报告"),
    "area": Label("Area", "区域"),
    "day": Label("Day", "日期"),
    "generated": Label("Generated", "生成时间"),
    "masked": Label("Personal data masked", "个人信息已脱敏"),
    "yes": Label("yes", "是"),
    "no": Label("no", "否"),
    "sections": Label("Sections", "章节"),
    "figure": Label("Figure", "指标"),
    "value": Label("Value", "数值"),
    "change": Label("Since yesterday", "较昨日"),
    "empty": Label("(no rows)", "（无记录）"),
    "charts": Label("Charts", "图表"),
}

_ROWS_PER_INCH = 4.8
"""Default rows (15 points high) per inch of image: 72 / 15."""
_META: dict[str, Label] = {
    "campaign": Label("Campaign", "防控行动"),
    "campaign_name": Label("Campaign name", "行动名称"),
    "time_zone": Label("Time zone", "时区"),
}


def sheet_title(title: str, taken: set[str]) -> str:
    """``title`` made a valid, unused sheet name; adds it to ``taken`` (lower-cased).

    Excel refuses ``[ ] : * ? / \\``, names over 31 characters, names that
    start or end with an apostrophe, ``History``, and two names that differ
    only in case: those are replaced, cut, or numbered ``~2``, ``~3``...
    """
    name = _BAD_SHEET.sub("_", title).strip().strip("'").strip() or "Sheet"
    if name.lower() == "history":
        name += "_"
    base = name[:_MAX_SHEET]
    candidate, number = base, 1
    while candidate.lower() in taken:
        number += 1
        suffix = f"~{number}"
        candidate = base[: _MAX_SHEET - len(suffix)].rstrip("'") + suffix
    taken.add(candidate.lower())
    return candidate


def _width(text: str) -> int:
    """How many columns ``text`` takes on screen: a CJK character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Sheet:
    """Writes one worksheet row by row, keeping column widths."""

    def __init__(self, sheet: Worksheet, zone: ZoneInfo | None) -> None:
        self.sheet = sheet
        self.zone = zone
        self.row = 1
        self.widths: dict[int, int] = {}

    def cell(self, column: int, value: Any, kind: ColumnKind = "text", bold: bool = False) -> Cell:
        # A fresh sheet written row by row has no merged cells, so every cell is a Cell.
        cell = cast("Cell", self.sheet.cell(row=self.row, column=column))
        shown = ""
        if isinstance(value, str):
            text = _ILLEGAL.sub("\ufffd", value)
            cell.value = text
            cell.data_type = "s"  # never "f", whatever the text starts with
            if text.startswith(FORMULA_PREFIXES):
                cell.quotePrefix = True
            shown = text
        elif isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(self.zone or dt.UTC).replace(tzinfo=None)
            cell.value = value
            cell.number_format = _FORMATS["datetime"]
            shown = "0000-00-00 00:00"
        elif isinstance(value, dt.date):
            cell.value = value
            cell.number_format = _FORMATS["date"]
            shown = "0000-00-00"
        elif isinstance(value, int | float):
            cell.value = value
            cell.number_format = _FORMATS.get(kind, "General")
            shown = f"{value:,.2f}"
        if bold:
            from openpyxl.styles import Font

            cell.font = Font(bold=True)
        self.widths[column] = max(self.widths.get(column, 0), min(_width(shown), 60))
        return cell

    def line(self, *values: Any, bold: bool = False) -> None:
        for column, value in enumerate(values, start=1):
            if value is not None:
                self.cell(column, value, bold=bold)
        self.row += 1

    def finish(self) -> None:
        from openpyxl.utils import get_column_letter

        for column, width in self.widths.items():
            self.sheet.column_dimensions[get_column_letter(column)].width = max(8, width + 2)


def _headers(labels: list[str]) -> list[str]:
    """Column headers made unique and non-empty, as an Excel table requires."""
    seen: set[str] = set()
    unique = []
    for number, label in enumerate(labels, start=1):
        header = label.strip() or f"Column {number}"
        candidate, count = header, 1
        while candidate.lower() in seen:
            count += 1
            candidate = f"{header} ({count})"
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique


class XlsxReporter:
    """Renders a report as an ``.xlsx`` workbook (bytes), labels in ``lang``."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    suffix = ".xlsx"

    def render(self, report: Report, *, lang: str = "en") -> bytes:
        from openpyxl import Workbook

        check_lang(lang)
        zone = report.zone()
        book = Workbook()
        book.properties.title = report.title.text(lang)[:255]
        book.properties.creator = "gridguard"
        taken: set[str] = set()
        about = _Sheet(book.worksheets[0], zone)
        about.sheet.title = sheet_title(_WORDS["about"].text(lang), taken)
        self._about(about, report, lang)
        self._images(book, report, lang, taken, zone)
        tables = 0
        for section in report.sections:
            sheet = _Sheet(book.create_sheet(sheet_title(section.title.text(lang), taken)), zone)
            tables = self._section(sheet, section, lang, tables)
            sheet.finish()
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def _about(self, out: _Sheet, report: Report, lang: str) -> None:
        def word(key: str) -> str:
            return _WORDS[key].text(lang)

        out.line(report.title.text(lang), bold=True)
        out.row += 1
        out.line(word("report"), report.kind)
        if report.area_name or report.area_id:
            out.line(word("area"), report.area_name or report.area_id)
        if report.day is not None:
            out.line(word("day"), report.day)
        out.line(word("generated"), report.generated_at)
        out.line(word("masked"), word("yes") if report.masked else word("no"))
        for key, value in report.meta.items():
            out.line(_META[key].text(lang) if key in _META else key, value)
        out.row += 1
        out.line(word("sections"), bold=True)
        for section in report.sections:
            out.line(section.title.text(lang))
        out.finish()

    def _images(
        self, book: Any, report: Report, lang: str, taken: set[str], zone: ZoneInfo | None
    ) -> None:
        """The sheet of the report's charts as PNG images, one under the other.

        A chart without data is drawn too (saying so): the reader sees that
        the figure exists and is empty, not that it is missing.
        """
        charts = [b for _, b in report.blocks() if isinstance(b, Chart)]
        if not charts:
            return
        from openpyxl.drawing.image import Image

        from .images import SIZE, chart_png

        out = _Sheet(book.create_sheet(sheet_title(_WORDS["charts"].text(lang), taken)), zone)
        out.line(_WORDS["charts"].text(lang), bold=True)
        for chart in charts:
            out.row += 1
            out.line(chart.title.text(lang), bold=True)
            image = Image(io.BytesIO(chart_png(chart, lang)))
            out.sheet.add_image(image, f"A{out.row}")
            out.row += math.ceil(SIZE[1] * _ROWS_PER_INCH) + 1
        out.finish()

    def _section(self, out: _Sheet, section: Section, lang: str, tables: int) -> int:
        out.line(section.title.text(lang), bold=True)
        if section.note is not None:
            out.line(section.note.text(lang))
        frozen = False
        for block in section.blocks:
            out.row += 1
            if isinstance(block, Figures):
                self._figures(out, block, lang)
                continue
            tables += 1
            if isinstance(block, Table):
                header = self._table(out, block, lang, tables)
            else:
                header = self._chart(out, block, lang, tables)
            if not frozen:
                out.sheet.freeze_panes = f"A{header + 1}"
                frozen = True
        return tables

    def _figures(self, out: _Sheet, figures: Figures, lang: str) -> None:
        out.line(*(_WORDS[k].text(lang) for k in ("figure", "value", "change")), bold=True)
        for item in figures.items:
            out.cell(1, item.label.text(lang))
            if item.value is not None:
                out.cell(2, item.value, item.kind)
            if item.change is not None:
                out.cell(3, item.change, item.kind)
            out.row += 1

    def _grid(
        self,
        out: _Sheet,
        key: str,
        title: str,
        headers: list[str],
        kinds: list[ColumnKind],
        rows: list[tuple[Any, ...]],
        number: int,
        lang: str,
    ) -> tuple[int, int]:
        """A titled Excel table with a filter; its header row and last row."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.table import Table as ExcelTable
        from openpyxl.worksheet.table import TableStyleInfo

        out.line(title, bold=True)
        header = out.row
        out.line(*_headers(headers), bold=True)
        for row in rows:
            for column, (cell, kind) in enumerate(zip(row, kinds, strict=True), start=1):
                value = cell_text(cell, lang)
                if value is not None:
                    out.cell(column, value, kind)
            out.row += 1
        if not rows:
            out.line(_WORDS["empty"].text(lang))
        last = out.row - 1
        name = "gg_" + re.sub(r"[^A-Za-z0-9_]", "_", f"{number}_{key}")[:200]
        table = ExcelTable(
            displayName=name, ref=f"A{header}:{get_column_letter(len(headers))}{last}"
        )
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
        out.sheet.add_table(table)
        return header, last

    def _table(self, out: _Sheet, table: Table, lang: str, number: int) -> int:
        header, _ = self._grid(
            out,
            table.key,
            table.title.text(lang),
            [column.label.text(lang) for column in table.columns],
            [column.kind for column in table.columns],
            list(table.rows),
            number,
            lang,
        )
        return header

    def _chart(self, out: _Sheet, chart: Chart, lang: str, number: int) -> int:
        from openpyxl.chart import BarChart, LineChart, Reference
        from openpyxl.utils import get_column_letter

        headers = [chart.x_label.text(lang), *(s.label.text(lang) for s in chart.series)]
        value_kind: ColumnKind = "float"
        kinds: list[ColumnKind] = ["text", *([value_kind] * len(chart.series))]
        rows = [(x, *(series.values[i] for series in chart.series)) for i, x in enumerate(chart.x)]
        header, last = self._grid(
            out, chart.key, chart.title.text(lang), headers, kinds, rows, number, lang
        )
        if not chart.series or not chart.x:
            return header
        drawing: LineChart | BarChart = LineChart() if chart.kind == "line" else BarChart()
        if isinstance(drawing, BarChart) and chart.kind == "stacked":
            drawing.grouping = "stacked"
            drawing.overlap = 100
        drawing.title = chart.title.text(lang)
        drawing.x_axis.title = chart.x_label.text(lang)
        if chart.y_label is not None:
            drawing.y_axis.title = chart.y_label.text(lang)
        data = Reference(
            out.sheet, min_col=2, max_col=1 + len(chart.series), min_row=header, max_row=last
        )
        drawing.add_data(data, titles_from_data=True)
        drawing.set_categories(Reference(out.sheet, min_col=1, min_row=header + 1, max_row=last))
        drawing.width, drawing.height = 18, 8
        out.sheet.add_chart(drawing, f"{get_column_letter(len(headers) + 2)}{header - 1}")
        return header
