"""A report's charts drawn as PNG images, with matplotlib's Agg renderer.

A workbook is often read where Excel's own charts are not drawn, or not
drawn well: a phone's file preview, a chat app's viewer, an office suite
that lacks the fonts. An image shows the same everywhere. Each chart is
drawn on its own :class:`~matplotlib.figure.Figure` with the Agg canvas
(no pyplot, no global backend, safe in a server thread), labels in the
report's language.

Chinese labels need a font that has the characters: the first CJK font
matplotlib's font manager knows (Noto Sans CJK SC first) is used. Without
one the charts are still drawn, the Chinese characters show as empty boxes,
and a :class:`MissingFontWarning` says which package to install.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridguard.report.document import Chart, Label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CJK_FAMILIES", "MissingFontWarning", "chart_png", "cjk_font"]

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
)
"""Font families that draw simplified Chinese, in the order they are preferred."""

SIZE = (9.0, 4.0)
"""Width and height of a chart image, in inches."""

DPI = 100
"""Pixels per inch: a chart image is 900 x 400 pixels."""

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_COLORS = ("#1f6fb2", "#e0702b", "#3a9a4b", "#c23b3b", "#7d5ba6", "#8c6d31", "#d4a017", "#5f6b73")


_EMPTY = Label("(no data)", "（无数据）")


class MissingFontWarning(UserWarning):
    """No font with Chinese characters was found: the charts' Chinese labels show as boxes."""


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font that draws Chinese, or ``None``."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _texts(chart: Chart, lang: str) -> list[str]:
    texts = [chart.title.text(lang), chart.x_label.text(lang), *chart.x]
    texts += [series.label.text(lang) for series in chart.series]
    if chart.y_label is not None:
        texts.append(chart.y_label.text(lang))
    return texts


def _font(chart: Chart, lang: str) -> list[str]:
    """The font families to draw with; warns once per call when Chinese has no font."""
    family = cjk_font()
    if family is not None:
        return [family, "DejaVu Sans"]
    if any(_CJK.search(text) for text in _texts(chart, lang)):
        warnings.warn(
            f"no font with Chinese characters found for chart {chart.key!r} (tried "
            f"{', '.join(CJK_FAMILIES[:3])}...): its Chinese labels show as boxes; install "
            "Noto Sans CJK (Debian/Ubuntu: apt-get install fonts-noto-cjk)",
            MissingFontWarning,
            stacklevel=3,
        )
    return ["DejaVu Sans"]


def _values(values: Sequence[float | int | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _draw(ax: Axes, chart: Chart, lang: str) -> None:
    """Lines, grouped or stacked bars; an empty chart says it has no data."""
    positions = list(range(len(chart.x)))
    count = max(1, len(chart.series))
    if chart.kind == "line":
        for n, series in enumerate(chart.series):
            ax.plot(
                positions,
                _values(series.values),
                marker="o",
                linewidth=2,
                linestyle="--" if series.key == "plan" else "-",
                color=_COLORS[n % len(_COLORS)],
                label=series.label.text(lang),
            )
    elif chart.kind == "stacked":
        bottom = [0.0] * len(positions)
        for n, series in enumerate(chart.series):
            heights = [0.0 if math.isnan(v) else v for v in _values(series.values)]
            ax.bar(
                positions,
                heights,
                0.7,
                bottom=bottom,
                color=_COLORS[n % len(_COLORS)],
                label=series.label.text(lang),
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    else:
        width = 0.8 / count
        for n, series in enumerate(chart.series):
            offset = (n - (count - 1) / 2) * width
            ax.bar(
                [p + offset for p in positions],
                _values(series.values),
                width,
                color=_COLORS[n % len(_COLORS)],
                label=series.label.text(lang),
            )
    ax.set_xticks(positions, list(chart.x), rotation=30 if len(chart.x) > 8 else 0, ha="right")
    ax.set_title(chart.title.text(lang), fontsize=13)
    ax.set_xlabel(chart.x_label.text(lang))
    if chart.y_label is not None:
        ax.set_ylabel(chart.y_label.text(lang))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not chart.series or not chart.x:
        ax.text(0.5, 0.5, _EMPTY.text(lang), ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)


def chart_png(chart: Chart, lang: str) -> bytes:
    """``chart`` drawn as a PNG image (:data:`SIZE` at :data:`DPI`), labels in ``lang``."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families = _font(chart, lang)
    with (
        matplotlib.rc_context(
            {"font.family": "sans-serif", "font.sans-serif": families, "axes.unicode_minus": False}
        ),
        warnings.catch_warnings(),
    ):
        # Without a CJK font every missing glyph warns; MissingFontWarning said it once.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        figure = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        _draw(ax, chart, lang)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
