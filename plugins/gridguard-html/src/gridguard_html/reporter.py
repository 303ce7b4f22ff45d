"""The ``html`` reporter: a report as one self-contained HTML page.

The page is drawn by a packaged Jinja2 template in a sandboxed environment
with autoescaping on and :class:`~jinja2.StrictUndefined`, so every string
from the report (a resident's name, an address, a list's source) lands in
the page as text: ``<script>`` shows as ``<script>``, ``{{ 7*7 }}`` as
``{{ 7*7 }}``, since report data is only ever a template *value*, never
template source. Charts are inline SVG drawn by :mod:`gridguard_html.charts`,
the style sheet and the few lines of table-sorting script are inline too,
and a Content-Security-Policy allows nothing else: the page opens offline and
asks the network for nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from gridguard.report.document import (
    Chart,
    ColumnKind,
    Figures,
    Label,
    Report,
    Table,
    cell_text,
    check_lang,
)
from gridguard.report.locale import meta_label

from .charts import chart_svg

__all__ = ["CSP", "SORT_SCRIPT", "HtmlReporter", "format_cell"]

SORT_SCRIPT = """\
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], i = th.cellIndex;
    var up = th.getAttribute("aria-sort") !== "ascending", numeric = th.dataset.kind !== "text";
    th.closest("tr").querySelectorAll("th").forEach(function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[i].dataset.v, y = b.cells[i].dataset.v;
      var c = numeric ? (x === "" ? -Infinity : +x) - (y === "" ? -Infinity : +y)
                      : x.localeCompare(y);
      return up ? c : -c;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""
"""Sorts a table by the clicked column (numbers as numbers, missing first); no library."""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; form-action 'none'; base-uri 'none'"
)

_WORDS: dict[str, Label] = {
    "area": Label("Area", "区域"),
    "day": Label("Day", "日期"),
    "generated": Label("Generated", "生成时间"),
    "masked": Label("Personal data is masked.", "个人信息已脱敏。"),
    "clear": Label(
        "Contains personal data in clear: handle with care.",
        "含未脱敏的个人信息，请妥善保管。",
    ),
    "change": Label("since yesterday", "较昨日"),
    "none": Label("No rows.", "无记录。"),
    "sort": Label("Click a column header to sort.", "点击列标题可排序。"),
    "contents": Label("Contents", "目录"),
}

_META: dict[str, Label] = {
    "campaign": Label("Campaign", "防控行动"),
    "campaign_name": Label("Campaign name", "行动名称"),
    "time_zone": Label("Time zone", "时区"),
}

_MISSING = "—"


def format_cell(value: object, kind: ColumnKind, zone: ZoneInfo | None = None) -> str:
    """A cell's value as shown: thousands separated, percents as ``12.5%``, ISO dates.

    A timezone-aware datetime is shown in ``zone`` (the report's time zone)
    when given, so times read as local times of the campaign.
    """
    if value is None:
        return _MISSING
    if isinstance(value, bool):
        return str(value)
    if kind == "percent" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if kind == "int" else f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        if zone is not None and value.tzinfo is not None:
            value = value.astimezone(zone)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _generated(when: dt.datetime, zone: ZoneInfo | None) -> str:
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    local = when.astimezone(zone) if zone is not None else when
    # The offset, not the zone's abbreviation (CST), reads the same in every language.
    offset = local.isoformat(timespec="minutes")[16:]
    return f"{local:%Y-%m-%d %H:%M} ({offset})"


def _sort_value(value: object) -> str:
    """What the sorting script compares: numbers as numbers, dates as ISO text."""
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _change(value: int | float | None, kind: ColumnKind) -> dict[str, str] | None:
    if value is None:
        return None
    direction = "up" if value > 0 else "down" if value < 0 else "same"
    if not value:
        return {"text": "±0", "direction": direction}
    if kind == "percent":  # a change of a share is in percentage points
        return {"text": f"{value * 100:+.1f} pp", "direction": direction}
    sign = "+" if value > 0 else ""
    return {"text": sign + format_cell(value, kind), "direction": direction}


def _table(table: Table, lang: str, zone: ZoneInfo | None) -> dict[str, Any]:
    kinds = [column.kind for column in table.columns]
    return {
        "type": "table",
        "key": table.key,
        "title": table.title.text(lang),
        "columns": [
            {"label": column.label.text(lang), "kind": column.kind, "key": column.key}
            for column in table.columns
        ],
        "rows": [
            [
                {
                    "text": format_cell(cell, kind, zone),
                    "v": _sort_value(cell),
                    "numeric": kind not in ("text", "date", "datetime"),
                }
                for cell, kind in zip((cell_text(c, lang) for c in row), kinds, strict=True)
            ]
            for row in table.rows
        ],
    }


def _figures(figures: Figures, lang: str) -> dict[str, Any]:
    return {
        "type": "figures",
        "key": figures.key,
        "items": [
            {
                "key": figure.key,
                "label": figure.label.text(lang),
                "value": format_cell(figure.value, figure.kind),
                "change": _change(figure.change, figure.kind),
            }
            for figure in figures.items
        ],
    }


def _chart(chart: Chart, lang: str) -> dict[str, Any]:
    return {
        "type": "chart",
        "key": chart.key,
        "kind": chart.kind,
        "title": chart.title.text(lang),
        # matplotlib escapes every string it writes into the SVG.
        "svg": Markup(chart_svg(chart, lang=lang)),
    }


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=PackageLoader("gridguard_html", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@attrs.define
class HtmlReporter:
    """Renders a report as one self-contained HTML page (UTF-8 text).

    Figures are cards with the change since yesterday, tables are sortable
    by a click on a column header, charts are inline SVG. The page's
    ``lang`` is the report's language, so a browser picks the right font.
    """

    media_type = "text/html"
    suffix = ".html"

    def render(self, report: Report, *, lang: str = "en") -> str:
        check_lang(lang)
        zone = report.zone()
        sections = []
        for section in report.sections:
            blocks = []
            for block in section.blocks:
                if isinstance(block, Figures):
                    blocks.append(_figures(block, lang))
                elif isinstance(block, Table):
                    blocks.append(_table(block, lang, zone))
                else:
                    blocks.append(_chart(block, lang))
            sections.append(
                {
                    "key": section.key,
                    "title": section.title.text(lang),
                    "note": None if section.note is None else section.note.text(lang),
                    "blocks": blocks,
                }
            )
        words = {key: label.text(lang) for key, label in _WORDS.items()}
        template = _environment().get_template("report.html.j2")
        return template.render(
            lang=lang,
            title=report.title.text(lang),
            kind=report.kind,
            area=report.area_name or report.area_id,
            day=None if report.day is None else report.day.isoformat(),
            generated=_generated(report.generated_at, zone),
            masked=report.masked,
            meta=[
                (_META[key].text(lang) if key in _META else meta_label(key).text(lang), value)
                for key, value in report.meta.items()
            ],
            sections=sections,
            has_tables=any(isinstance(b, Table) for _, b in report.blocks()),
            words=words,
            csp=CSP,
            script=Markup(SORT_SCRIPT),  # a constant, hashed into the CSP
        )
