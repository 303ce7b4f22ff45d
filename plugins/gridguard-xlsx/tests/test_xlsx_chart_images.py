"""The daily report's four charts as PNG images in the workbook, labels in the reader's language.

A whole Huayuan demo gives each chart data. The workbook, read back with
openpyxl, holds a sheet of four images; each is a PNG that decodes to a
900 x 400 picture with ink on it (not a blank canvas). In the zh-CN
workbook the charts' titles (above the images and in the native charts
beside their data) are Chinese, in the en workbook English. Without a
font for Chinese, the images are still drawn and a warning says so.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import warnings

import numpy as np
import pytest
from gridguard_xlsx import XlsxReporter
from gridguard_xlsx import images as chart_images
from matplotlib import image as mpimg
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from gridguard.report.document import Chart, Figure, Figures, Label, Report, Section, Series

CJK = re.compile(r"[\u3400-\u9fff]")
WORD = re.compile(r"[A-Za-z]{3,}")
SHEET = {"zh-CN": "图表", "en": "Charts"}


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Report:
    from gridguard.demo import QuietProgress, run_demo
    from gridguard.reporting import build_report
    from gridguard.workspace import open_workspace

    folder = tmp_path_factory.mktemp("huayuan")
    run_demo(str(folder / "huayuan.db"), out=folder, seed=2020, progress=QuietProgress())
    with open_workspace(folder / "huayuan.db") as ws:
        return build_report(ws, "daily")


def _book(report: Report, lang: str) -> Workbook:
    return load_workbook(io.BytesIO(XlsxReporter().render(report, lang=lang)))


def _decoded(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(mpimg.imread(io.BytesIO(png), format="png"))


def _inked(pixels: np.ndarray) -> float:
    """The share of pixels that are not near white."""
    return float((pixels[..., :3].min(axis=2) < 0.8).mean())


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_workbook_holds_the_four_charts_as_pictures(daily: Report, lang: str) -> None:
    book = _book(daily, lang)
    assert book.sheetnames[1] == SHEET[lang]
    sheet = book[SHEET[lang]]
    pictures = sheet._images
    assert len(pictures) == 4
    for picture in pictures:
        assert picture.format == "png"
        pixels = _decoded(picture.ref.getvalue())
        assert pixels.shape[:2] == (400, 900)
        assert float(pixels[..., :3].std()) > 0.05, "not one flat colour"
        assert _inked(pixels) > 0.02, "lines, bars and labels are drawn"
    rows = sorted(p.anchor._from.row for p in pictures)
    assert all(b - a >= 20 for a, b in itertools.pairwise(rows)), "no overlap"
    charts = [b for _, b in daily.blocks() if isinstance(b, Chart)]
    titles = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1, values_only=True) if row[0]]
    assert titles == [c.title.text(lang) for c in charts]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_chart_titles_are_in_the_workbooks_language(daily: Report, lang: str) -> None:
    book = _book(daily, lang)
    titles = [row[0] for row in book[SHEET[lang]].iter_rows(min_row=2, values_only=True) if row[0]]
    native = [
        chart.title.tx.rich.p[0].r[0].t for sheet in book.worksheets for chart in sheet._charts
    ]
    assert len(titles) == 4
    assert len(native) == 4, "the native charts stay beside their data"
    for title in titles + native:
        if lang == "zh-CN":
            assert CJK.search(title), title
            assert not WORD.search(title), title
        else:
            assert not CJK.search(title), title


def test_each_picture_is_the_chart_in_its_language(daily: Report) -> None:
    """The zh-CN and en images of a chart differ: the labels drawn are the language's."""
    chart = next(b for _, b in daily.blocks() if isinstance(b, Chart))
    zh, en = (chart_images.chart_png(chart, lang) for lang in ("zh-CN", "en"))
    assert zh != en
    assert _decoded(zh).shape == _decoded(en).shape


def _small() -> Chart:
    return Chart(
        key="small",
        title=Label("Active quarantines per day", "每日在管隔离人数"),
        kind="stacked",
        x_label=Label("Day", "日期"),
        y_label=Label("Persons", "人数"),
        x=["01-25", "01-26", "01-27"],
        series=[
            Series("home", Label("Home", "居家隔离"), [1, 4, None]),
            Series("central", Label("Central", "集中隔离"), [0, 2, 3]),
        ],
    )


def test_without_a_chinese_font_the_picture_is_drawn_and_a_warning_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if chart_images.cjk_font() is None:
        pytest.fail("no CJK font: install fonts-noto-cjk (the tests expect Noto Sans CJK)")
    with_font = chart_images.chart_png(_small(), "zh-CN")
    monkeypatch.setattr(chart_images, "cjk_font", lambda: None)
    with pytest.warns(chart_images.MissingFontWarning, match="fonts-noto-cjk"):
        boxes = chart_images.chart_png(_small(), "zh-CN")
    assert boxes != with_font, "the Chinese labels were drawn with the CJK font"
    assert _inked(_decoded(boxes)) > 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        english = chart_images.chart_png(_small(), "en")  # nothing to miss in English
    assert _decoded(english).shape[:2] == (400, 900)


def test_a_report_without_charts_has_no_chart_sheet() -> None:
    figures = Figures("f", [Figure("n", Label("Persons", "人数"), 1)])
    report = Report(
        kind="household",
        title=Label("Household", "户"),
        area_id=None,
        area_name=None,
        day=None,
        generated_at=dt.datetime(2020, 1, 28, tzinfo=dt.UTC),
        sections=[Section("s", Label("Figures", "指标"), [figures])],
    )
    assert "Charts" not in _book(report, "en").sheetnames


def test_a_chart_without_data_is_drawn_and_says_so() -> None:
    empty = Chart(key="none", title=Label("Flagged", "重点人员"), kind="stacked",
                  x_label=Label("Day", "日期"), x=[], series=[])  # fmt: skip
    pixels = _decoded(chart_images.chart_png(empty, "zh-CN"))
    assert pixels.shape[:2] == (400, 900)
    assert 0 < _inked(pixels) < 0.2
