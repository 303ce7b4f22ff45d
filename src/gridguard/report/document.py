"""Report data: what a report says, apart from how it is drawn.

A report is built from storage into a :class:`Report`, a tree of plain frozen
values: sections holding headline :class:`Figures`, :class:`Table` rows and
:class:`Chart` series. Reporters (``text``, ``csv``, ``json``, ``html``,
``xlsx``...) only walk that tree, so a new report needs no new renderer and a
new renderer draws every report.

Every label carries both languages (:class:`Label`), so a renderer picks one
with ``lang`` and needs no catalogue of its own. Cells hold values as they
are to be shown: personal data is masked by the report's builder unless the
caller asked for it in clear (``Report.masked`` says which), and renderers
show every string as text, never as markup, a formula or a template.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

__all__ = [
    "LANGS",
    "Block",
    "Chart",
    "Column",
    "ColumnKind",
    "Figure",
    "Figures",
    "Label",
    "Report",
    "Section",
    "Series",
    "Table",
    "cell_text",
    "check_lang",
]

LANGS: tuple[str, ...] = ("en", "zh-CN")
"""The languages every label carries."""

ColumnKind = Literal["text", "int", "float", "percent", "date", "datetime"]
"""How a column's values are shown: ``percent`` values are fractions (0.5 is 50%)."""


def _rows(rows: Any) -> tuple[tuple[Cell, ...], ...]:
    return tuple(tuple(row) for row in rows)


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGS`; ``ValueError`` naming the choices if not."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} is not one of {', '.join(LANGS)}")
    return lang


@attrs.frozen
class Label:
    """A piece of text in English and Chinese (简体中文)."""

    en: str
    zh: str

    def text(self, lang: str) -> str:
        """The text in ``lang`` (``en`` or ``zh-CN``)."""
        return self.zh if check_lang(lang) == "zh-CN" else self.en

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh-CN": self.zh}


Cell = str | int | float | dt.date | dt.datetime | Label | None
"""A table cell. A :class:`Label` cell is a value from a closed vocabulary (a visit
outcome, a risk level) shown in the reader's language: see :func:`cell_text`."""


def cell_text(value: Cell, lang: str) -> str | int | float | dt.date | dt.datetime | None:
    """``value`` as a renderer shows it in ``lang``: a :class:`Label` becomes its text."""
    return value.text(lang) if isinstance(value, Label) else value


# Typed converters (``converter=tuple`` would leave the element type unknown to mypy).
def _figures(items: Iterable[Figure]) -> tuple[Figure, ...]:
    return tuple(items)


def _columns(items: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(items)


def _values(items: Iterable[float | int | None]) -> tuple[float | int | None, ...]:
    return tuple(items)


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _series(items: Iterable[Series]) -> tuple[Series, ...]:
    return tuple(items)


def _blocks(items: Iterable[Block]) -> tuple[Block, ...]:
    return tuple(items)


def _sections(items: Iterable[Section]) -> tuple[Section, ...]:
    return tuple(items)


@attrs.frozen
class Figure:
    """One headline number, with the change since the day before when known."""

    key: str
    label: Label
    value: int | float | None
    change: int | float | None = None
    kind: ColumnKind = "int"


@attrs.frozen
class Figures:
    """A row of headline numbers (visits today, active quarantines...)."""

    key: str
    items: tuple[Figure, ...] = attrs.field(converter=_figures)

    def value(self, key: str) -> int | float | None:
        """The value of the figure named ``key``; ``KeyError`` if there is none."""
        for item in self.items:
            if item.key == key:
                return item.value
        raise KeyError(key)


@attrs.frozen
class Column:
    """A table column: its key, its label and how its values are shown."""

    key: str
    label: Label
    kind: ColumnKind = "text"


@attrs.frozen
class Table:
    """Rows of cells under labelled columns; each row has one cell per column."""

    key: str
    title: Label
    columns: tuple[Column, ...] = attrs.field(converter=_columns)
    rows: tuple[tuple[Cell, ...], ...] = attrs.field(converter=_rows)

    @rows.validator
    def _width(self, _: attrs.Attribute[Any], rows: tuple[tuple[Cell, ...], ...]) -> None:
        for number, row in enumerate(rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.key!r} row {number} has {len(row)} cells "
                    f"for {len(self.columns)} columns"
                )

    def records(self) -> Iterator[dict[str, Cell]]:
        """Each row as a mapping from column key to cell."""
        keys = [column.key for column in self.columns]
        for row in self.rows:
            yield dict(zip(keys, row, strict=True))

    def rows_in(
        self, lang: str
    ) -> Iterator[tuple[str | int | float | dt.date | dt.datetime | None, ...]]:
        """Each row with its :class:`Label` cells in ``lang`` (see :func:`cell_text`)."""
        for row in self.rows:
            yield tuple(cell_text(value, lang) for value in row)


@attrs.frozen
class Series:
    """One line or set of bars in a chart: a value per x."""

    key: str
    label: Label
    values: tuple[float | int | None, ...] = attrs.field(converter=_values)


@attrs.frozen
class Chart:
    """A chart over categories or days: ``line`` (a burn-up), ``bar`` or ``stacked``."""

    key: str
    title: Label
    kind: Literal["line", "bar", "stacked"]
    x_label: Label
    x: tuple[str, ...] = attrs.field(converter=_strings)
    series: tuple[Series, ...] = attrs.field(converter=_series)
    y_label: Label | None = None

    @series.validator
    def _lengths(self, _: attrs.Attribute[Any], series: tuple[Series, ...]) -> None:
        for one in series:
            if len(one.values) != len(self.x):
                raise ValueError(
                    f"chart {self.key!r} series {one.key!r} has {len(one.values)} values "
                    f"for {len(self.x)} x positions"
                )


Block = Figures | Table | Chart


@attrs.frozen
class Section:
    """A titled part of a report (one line of defense, quarantine, services...)."""

    key: str
    title: Label
    blocks: tuple[Block, ...] = attrs.field(converter=_blocks)
    note: Label | None = None


@attrs.frozen
class Report:
    """A report: what it is about, when, and its sections in reading order."""

    kind: str
    """``daily``, ``progress``, ``household``, ``person``, ``teams``, ``linelist``..."""
    title: Label
    area_id: str | None
    area_name: str | None
    day: dt.date | None
    generated_at: dt.datetime
    sections: tuple[Section, ...] = attrs.field(converter=_sections)
    masked: bool = True
    """Whether personal data (names, phones, identity numbers) is masked in the cells."""
    meta: Mapping[str, str] = attrs.field(factory=dict)
    """Extra plain facts for the header: campaign, rule set version, time zone..."""

    def section(self, key: str) -> Section:
        """The section named ``key``; ``KeyError`` if there is none."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def blocks(self) -> Iterator[tuple[Section, Block]]:
        """Every block with its section, in reading order."""
        for section in self.sections:
            for block in section.blocks:
                yield section, block

    def block(self, key: str) -> Block:
        """The block named ``key`` in any section; ``KeyError`` if there is none."""
        for _, block in self.blocks():
            if block.key == key:
                return block
        raise KeyError(key)

    def zone(self) -> ZoneInfo | None:
        """The campaign's time zone (``meta["time_zone"]``), ``None`` when absent or unknown.

        A reporter shows aware times in it, so that they read as local times.
        """
        name = self.meta.get("time_zone")
        if not name:
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        """Plain JSON-ready data; labels in ``lang``, or in both languages when ``None``."""
        return _plain(self, lang)


def _label(label: Label | None, lang: str | None) -> Any:
    if label is None:
        return None
    return label.to_dict() if lang is None else label.text(lang)


def _cell(value: Any, lang: str | None = None) -> Any:
    if isinstance(value, Label):
        return _label(value, lang)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _plain(report: Report, lang: str | None) -> dict[str, Any]:
    def block(b: Block) -> dict[str, Any]:
        if isinstance(b, Figures):
            return {
                "type": "figures",
                "key": b.key,
                "items": [
                    {
                        "key": f.key,
                        "label": _label(f.label, lang),
                        "value": f.value,
                        "change": f.change,
                        "kind": f.kind,
                    }
                    for f in b.items
                ],
            }
        if isinstance(b, Table):
            return {
                "type": "table",
                "key": b.key,
                "title": _label(b.title, lang),
                "columns": [
                    {"key": c.key, "label": _label(c.label, lang), "kind": c.kind}
                    for c in b.columns
                ],
                "rows": [[_cell(v, lang) for v in row] for row in b.rows],
            }
        return {
            "type": "chart",
            "key": b.key,
            "title": _label(b.title, lang),
            "kind": b.kind,
            "x_label": _label(b.x_label, lang),
            "y_label": _label(b.y_label, lang),
            "x": list(b.x),
            "series": [
                {"key": s.key, "label": _label(s.label, lang), "values": list(s.values)}
                for s in b.series
            ],
        }

    return {
        "kind": report.kind,
        "title": _label(report.title, lang),
        "area_id": report.area_id,
        "area_name": report.area_name,
        "day": _cell(report.day),
        "generated_at": _cell(report.generated_at),
        "masked": report.masked,
        "meta": dict(report.meta),
        "sections": [
            {
                "key": s.key,
                "title": _label(s.title, lang),
                "note": _label(s.note, lang),
                "blocks": [block(b) for b in s.blocks],
            }
            for s in report.sections
        ],
    }
