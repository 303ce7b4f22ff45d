"""The builtin ``csv`` reporter: a whole report in one CSV file that Excel opens as it is.

Layout: the report's header first (title, area, day, masked, then the
``meta`` facts), one ``key, value`` row each; then every block of every
section, one after another, separated by an empty row. Each block starts
with its own header row and every row of it begins with two columns, the
section and the block, so a filter on the first columns picks one table::

    Section,Table,Channel,Screened,Not at home,...
    Door-to-door sweep,Visits,at the door,700,120,...

Figures are a block of ``label, value, change`` rows (the change of a share
in percentage points); a chart is the table
of its values (x, then one column per series). Numbers stay numbers
(percentages as ``12.5%``, which Excel reads as a number), dates are ISO,
times are local to the campaign without an offset (the zone is in the
header).

The file is UTF-8 with a byte-order mark, so Excel shows Chinese without an
import dialog, and every text cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is prefixed with ``'`` so that no
spreadsheet runs it as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from ._format import neutralise
from .document import Chart, ColumnKind, Figures, Label, Report, Table, cell_text, check_lang
from .locale import label

__all__ = ["CsvReporter"]

BOM = "\ufeff"


def _cell(value: Any, kind: ColumnKind, lang: str) -> Any:
    value = cell_text(value, lang) if isinstance(value, Label) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def _change(change: int | float | None, kind: ColumnKind) -> Any:
    """A figure's change as a number; a share's in percentage points."""
    if change is None:
        return ""
    return round(change * 100, 1) if kind == "percent" else change


class CsvReporter:
    """Renders a report as one UTF-8 CSV (with BOM): header rows, then every block."""

    media_type = "text/csv; charset=utf-8"
    suffix = ".csv"

    def render(self, report: Report, *, lang: str = "en") -> bytes:
        check_lang(lang)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")

        def text(value: str) -> str:
            return neutralise(value)

        writer.writerow([text(report.title.text(lang)), text(report.area_name or "")])
        if report.day is not None:
            writer.writerow([text(label("day").text(lang)), report.day.isoformat()])
        writer.writerow(["masked", "yes" if report.masked else "no"])
        for key, value in report.meta.items():
            writer.writerow([text(key), text(str(value))])
        for section in report.sections:
            where = text(section.title.text(lang))
            if section.note is not None:
                writer.writerow([])
                writer.writerow([where, "", text(section.note.text(lang))])
            for block in section.blocks:
                writer.writerow([])
                for row in self._rows(block, lang):
                    writer.writerow([where, *row])
        return (BOM + out.getvalue()).encode("utf-8")

    def _rows(self, block: Figures | Table | Chart, lang: str) -> list[Sequence[Any]]:
        if isinstance(block, Figures):
            title = neutralise(label("figures").text(lang))
            rows: list[Sequence[Any]] = [
                [
                    title,
                    label("field").text(lang),
                    label("value").text(lang),
                    label("change").text(lang),
                ]
            ]
            for item in block.items:
                rows.append(
                    [
                        title,
                        neutralise(item.label.text(lang)),
                        _cell(item.value, item.kind, lang),
                        _change(item.change, item.kind),
                    ]
                )
            return rows
        if isinstance(block, Table):
            title = neutralise(block.title.text(lang))
            rows = [[title, *(neutralise(c.label.text(lang)) for c in block.columns)]]
            for row in block.rows:
                rows.append(
                    [
                        title,
                        *(_cell(v, c.kind, lang) for v, c in zip(row, block.columns, strict=True)),
                    ]
                )
            return rows
        title = neutralise(block.title.text(lang))
        rows = [
            [
                title,
                neutralise(block.x_label.text(lang)),
                *(neutralise(s.label.text(lang)) for s in block.series),
            ]
        ]
        for n, x in enumerate(block.x):
            rows.append(
                [title, neutralise(x), *(_cell(s.values[n], "float", lang) for s in block.series)]
            )
        return rows
