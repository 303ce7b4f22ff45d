"""The builtin ``text`` reporter: a report as plain text tables for the terminal (rich).

Every string goes into rich as a :class:`rich.text.Text`, never as markup,
so a name like ``[bold]x[/bold]`` or ``:smile:`` prints as it is written.
The output carries no colour codes: it reads the same in a terminal, a
file or an e-mail.
"""

from __future__ import annotations

import io
from typing import Any

from ._format import change_text, value_text
from .document import Chart, Column, Figures, Label, Report, Table, check_lang
from .locale import meta_label

__all__ = ["TextReporter"]

WIDTH = 100
"""Characters per line."""


def _t(text: str) -> Any:
    from rich.text import Text

    return Text(text)


class TextReporter:
    """Renders a report as plain text: a heading, then each section's figures and tables."""

    media_type = "text/plain; charset=utf-8"
    suffix = ".txt"

    def __init__(self, width: int = WIDTH) -> None:
        self.width = width

    def render(self, report: Report, *, lang: str = "en") -> str:
        from rich import box
        from rich.console import Console
        from rich.rule import Rule

        check_lang(lang)
        out = io.StringIO()
        console = Console(
            file=out,
            width=self.width,
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
                    console.print(self._table(block.title, block.columns, block.rows, lang))
                elif isinstance(block, Chart):
                    console.print(self._chart(block, lang))
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
                _t(change_text(item.change, item.kind)),
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


def _floats(values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, float) and not v.is_integer() for v in values)
