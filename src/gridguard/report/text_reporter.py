"""The builtin ``text`` reporter: a report as plain text tables for the terminal (rich).

Every string goes into rich as a :class:`rich.text.Text`, never as markup,
so a name like ``[bold]x[/bold]`` or ``:smile:`` prints as it is written.
The output carries no colour codes: it reads the same in a terminal, a
file or an e-mail. It is as wide as the terminal (``COLUMNS``, else 80
columns); a table too wide for that is printed as stacked blocks, one per
row, so that a figure is never cut.
"""

from __future__ import annotations

import io
from typing import Any

from ._format import change_text, value_text
from .document import Chart, Column, Figures, Label, Report, Table, check_lang
from .locale import meta_label

__all__ = ["TextReporter", "print_fitted", "terminal_width"]

WIDTH = 80
"""Columns per line when the terminal's width is not known (``COLUMNS`` unset, no terminal)."""


def terminal_width() -> int:
    """The terminal's width in columns: ``COLUMNS`` when set, else the terminal's, else 80."""
    import shutil

    return max(shutil.get_terminal_size((WIDTH, 24)).columns, 20)


def _t(text: str) -> Any:
    from rich.text import Text

    return Text(text)


class TextReporter:
    """Renders a report as plain text: a heading, then each section's figures and tables."""

    media_type = "text/plain; charset=utf-8"
    suffix = ".txt"

    def __init__(self, width: int | None = None) -> None:
        self.width = width

    def render(self, report: Report, *, lang: str = "en") -> str:
        from rich import box
        from rich.console import Console
        from rich.rule import Rule

        check_lang(lang)
        out = io.StringIO()
        console = Console(
            file=out,
            width=self.width or terminal_width(),
            color_system=None,
            force_terminal=False,
            highlight=False,
            emoji=False,
            markup=False,
            soft_wrap=False,
        )
        head = [report.title.text(lang)]
        if report.area_name:
            head.append(report.area_name)
        if report.day is not None:
            head.append(report.day.isoformat())
        console.print(_t(" · ".join(head)))
        facts = [f"{meta_label(k).text(lang)}: {v}" for k, v in report.meta.items()]
        if facts:
            console.print(_t("  ".join(facts)))
        for section in report.sections:
            console.print(Rule(_t(section.title.text(lang)), style="none"))
            if section.note is not None:
                console.print(_t(section.note.text(lang)))
            for block in section.blocks:
                if isinstance(block, Figures):
                    console.print(self._figures(block, lang, box.SIMPLE))
                elif isinstance(block, Table):
                    table = self._table(block.title, block.columns, block.rows, lang)
                    _print_fitted(console, table)
                elif isinstance(block, Chart):
                    _print_fitted(console, self._chart(block, lang))
        return out.getvalue()

    def _figures(self, block: Figures, lang: str, style: Any) -> Any:
        from rich.table import Table as RichTable

        grid = RichTable(box=style, show_header=False, pad_edge=False)
        grid.add_column(_t(""))
        grid.add_column(_t(""), justify="right")
        grid.add_column(_t(""), justify="right")
        for item in block.items:
            grid.add_row(
                _t(item.label.text(lang)),
                _t(value_text(item.value, item.kind, lang)),
                _t(change_text(item.change, item.kind, lang)),
            )
        return grid

    def _table(
        self,
        title: Label,
        columns: tuple[Column, ...],
        rows: tuple[tuple[Any, ...], ...],
        lang: str,
    ) -> Any:
        from rich import box
        from rich.table import Table as RichTable

        table = RichTable(title=_t(title.text(lang)), box=box.SIMPLE_HEAD, title_justify="left")
        for column in columns:
            numeric = column.kind in ("int", "float", "percent")
            table.add_column(
                _t(column.label.text(lang)),
                justify="right" if numeric else "left",
                overflow="fold",  # wrap long values; never cut them off with an ellipsis
                no_wrap=numeric,  # a figure is never broken over lines
            )
        for row in rows:
            table.add_row(
                *(_t(value_text(v, c.kind, lang)) for v, c in zip(row, columns, strict=True))
            )
        if not rows:
            table.add_row(*(_t("–") for _ in columns))
        return table

    def _chart(self, chart: Chart, lang: str) -> Any:
        """A chart as the table of its values: x down the side, one column per series."""
        columns = (
            Column("x", chart.x_label, "text"),
            *(
                Column(s.key, s.label, "float" if _floats(s.values) else "int")
                for s in chart.series
            ),
        )
        rows = tuple((x, *(s.values[n] for s in chart.series)) for n, x in enumerate(chart.x))
        return self._table(chart.title, columns, rows, lang)


def _print_fitted(console: Any, table: Any) -> None:
    """Print ``table`` whole on ``console`` (see :func:`print_fitted`)."""
    print_fitted(console, table)


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w] or [""]


def _unbreakable(text: str) -> int:
    """The widest part of ``text`` that cannot move to another line: a word of letters or digits.

    Chinese breaks between any two characters, so a word with a CJK
    character counts as one character wide (two columns).
    """
    from rich.cells import cell_len

    widest = 0
    for word in _words(text):
        widest = max(widest, 2 if not word.isascii() else cell_len(word))
    return widest


def print_fitted(console: Any, table: Any) -> None:
    """Print a rich ``table`` within the console's width, never cutting a word or a figure.

    A table that fits is printed as it is. One that does not is given column
    widths that keep every figure and every word of letters whole (headers
    and Chinese text wrap); when even that is too wide, it is printed as
    stacked blocks, one per row: the first cell, then ``header: value``
    lines, each wrapped to the width.
    """
    from rich.cells import cell_len
    from rich.measure import Measurement
    from rich.text import Text

    page = console.width
    columns = list(table.columns)
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= page or not columns:
        console.print(table)
        return
    cells = [[_text_of(cell) for cell in column.cells] for column in columns]
    headers = [_text_of(column.header) for column in columns]
    most = [
        max([cell_len(line) for v in [h, *c] for line in v.splitlines() or [""]])
        for h, c in zip(headers, cells, strict=True)
    ]
    least = [
        max([_unbreakable(h)] + [cell_len(v) if column.no_wrap else _unbreakable(v) for v in c])
        for h, c, column in zip(headers, cells, columns, strict=True)
    ]
    extra = natural - sum(most)  # padding and rules between the columns
    room = page - extra - sum(least)
    if room >= 0:
        widths = list(least)
        slack = [m - w for m, w in zip(most, widths, strict=True)]
        while room > 0 and any(slack):  # share the room, one column at a time
            for n in range(len(widths)):
                if room and slack[n]:
                    widths[n] += 1
                    slack[n] -= 1
                    room -= 1
        for column, w in zip(columns, widths, strict=True):
            column.width = w
            column.min_width = w
            column.overflow = "fold"
            column.no_wrap = False  # each is as wide as its widest figure: headers wrap
        console.print(table)
        return
    if table.title is not None:
        console.print(table.title)
    for n in range(table.row_count):
        console.print(Text(cells[0][n] if cells else ""), overflow="fold")
        for header, column_cells in zip(headers[1:], cells[1:], strict=True):
            console.print(Text(f"  {header}: {column_cells[n]}"), overflow="fold")
    console.print()


def _text_of(cell: Any) -> str:
    """The plain text of a rich cell: a :class:`~rich.text.Text`, a string or anything else."""
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    return str(cell)


def _floats(values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, float) and not v.is_integer() for v in values)
