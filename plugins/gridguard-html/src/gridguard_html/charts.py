"""Charts drawn with matplotlib as SVG markup, to be inlined in the page.

matplotlib runs headless (the Agg canvas, no ``pyplot`` and so no global
figure state) and writes SVG with its text kept as ``<text>`` elements
(``svg.fonttype = "none"``): the page stays small, its text can be selected
and searched, and the reader's browser draws the Chinese with whatever CJK
font it has, from the family list in :data:`FONT_FAMILIES` down to the
generic ``sans-serif``. Nothing is loaded from the network.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gridguard.report.document import Chart

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FONT_FAMILIES", "chart_svg"]

FONT_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "DejaVu Sans",
)
"""Sans-serif fonts tried in order for chart text: the common CJK fonts of
Linux, Windows and macOS, then DejaVu Sans (matplotlib's own) for Latin."""

_COLOURS = ("#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#5c5f66")
_MAX_TICKS = 16
_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _rc() -> dict[str, Any]:
    from cycler import cycler

    return {
        "svg.fonttype": "none",
        "font.family": ["sans-serif"],
        "font.sans-serif": list(FONT_FAMILIES),
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=list(_COLOURS)),
        "svg.image_inline": True,
        "text.usetex": False,
        # A label is text, never mathtext: "$5 $6" is drawn as typed.
        "text.parse_math": False,
    }


def _number(value: float | int | None) -> float:
    return math.nan if value is None else float(value)


def _ticks(axes: Axes, x: Sequence[str]) -> None:
    positions = list(range(len(x)))
    step = max(1, math.ceil(len(x) / _MAX_TICKS))
    shown = positions[::step]
    axes.set_xticks(shown, [x[i] for i in shown])
    if len(x) > 6 or any(len(x[i]) > 6 for i in shown):
        for label in axes.get_xticklabels():
            label.set_rotation(35)
            label.set_horizontalalignment("right")


def chart_svg(chart: Chart, *, lang: str, width: float = 7.2, height: float = 3.2) -> str:
    """``chart`` as an ``<svg>`` element (no XML prolog), labels in ``lang``.

    ``line`` draws each series as a line with markers (a burn-up), ``bar``
    draws grouped bars, ``stacked`` stacks the series. A missing value is a
    gap. Element ids are salted with the chart's key, so several charts can
    share one page.
    """
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    rc: Any = _rc()
    rc["svg.hashsalt"] = f"gridguard-{chart.key}"
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        positions = list(range(len(chart.x)))
        count = max(1, len(chart.series))
        bottom = [0.0] * len(chart.x)
        for index, series in enumerate(chart.series):
            values = [_number(v) for v in series.values]
            label = series.label.text(lang)
            if chart.kind == "line":
                axes.plot(positions, values, marker="o", markersize=3, linewidth=1.8, label=label)
            elif chart.kind == "bar":
                bar_width = 0.8 / count
                shifted = [p - 0.4 + bar_width * (index + 0.5) for p in positions]
                axes.bar(shifted, values, width=bar_width, label=label)
            else:
                heights = [0.0 if math.isnan(v) else v for v in values]
                axes.bar(positions, heights, width=0.7, bottom=bottom, label=label)
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        _ticks(axes, chart.x)
        axes.set_xlabel(chart.x_label.text(lang))
        if chart.y_label is not None:
            axes.set_ylabel(chart.y_label.text(lang))
        axes.set_ylim(bottom=0)
        axes.grid(axis="y", color="#dde1e6", linewidth=0.6)
        axes.set_axisbelow(True)
        if chart.series:
            axes.legend(frameon=False, loc="best")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1), count=1)
    return svg.strip()
