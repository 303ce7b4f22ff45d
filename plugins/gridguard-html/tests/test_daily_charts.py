"""The daily report as people read it: its charts in Chromium, every label in one language.

A whole Huayuan demo (sweep, screening, watch, services, quarantine) gives
the daily report data for each of its four charts. In headless Chromium the
zh-CN page draws the four charts, inked, with Chinese titles and legends;
the English page shows no Chinese label and the Chinese page no English key
(data such as place names and addresses aside).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from gridguard_html import HtmlReporter
from headless_chromium import Browser, Page, find_chromium, open_browser

from gridguard.report.document import Chart, Figures, Label, Report, Table

CHARTS = ["coverage_by_day", "flagged_by_reason", "compliance_by_day", "quarantine_by_day"]
CJK = re.compile(r"[\u3400-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> Report:
    from gridguard.demo import QuietProgress, run_demo
    from gridguard.reporting import build_report
    from gridguard.workspace import open_workspace

    folder = tmp_path_factory.mktemp("huayuan")
    run_demo(str(folder / "huayuan.db"), out=folder, seed=2020, progress=QuietProgress())
    with open_workspace(folder / "huayuan.db") as ws:
        return build_report(ws, "daily")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium was found: apt-get install -y chromium")
        pytest.skip("no Chromium found (apt-get install -y chromium, or set GRIDGUARD_CHROMIUM)")
    with open_browser(executable) as opened:
        yield opened


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def _visible(page: str) -> list[str]:
    reader = _Visible()
    reader.feed(page)
    reader.close()
    return reader.parts


def _data(report: Report) -> set[str]:
    """Every piece of text that is data, not a label: names, addresses, ids, meta values."""
    out = {report.area_name or "", *(str(v) for v in report.meta.values())}
    for _, block in report.blocks():
        if isinstance(block, Table):
            out |= {str(v) for row in block.rows for v in row if not isinstance(v, Label)}
        if isinstance(block, Chart):
            out |= set(block.x)
    return {d for d in out if d}


def _labels(report: Report) -> list[Label]:
    found = [report.title]
    for section in report.sections:
        found += [section.title] + ([section.note] if section.note else [])
        for block in section.blocks:
            if isinstance(block, Figures):
                found += [f.label for f in block.items]
            elif isinstance(block, Table):
                found += [block.title, *(c.label for c in block.columns)]
                found += [v for row in block.rows for v in row if isinstance(v, Label)]
            elif isinstance(block, Chart):
                found += [block.title, block.x_label, *(s.label for s in block.series)]
                found += [block.y_label] if block.y_label else []
    return found


def _without_data(parts: list[str], data: set[str]) -> list[str]:
    kept = []
    for part in parts:
        for value in sorted(data, key=len, reverse=True):
            part = part.replace(value, " ")
        if part.strip():
            kept.append(part)
    return kept


def test_the_daily_report_has_its_four_charts_with_data(daily: Report) -> None:
    charts = {b.key: b for _, b in daily.blocks() if isinstance(b, Chart)}
    assert list(charts)[:4] == CHARTS
    for key in CHARTS:
        assert any(v for s in charts[key].series for v in s.values if v), key


def test_every_label_is_in_one_language(daily: Report) -> None:
    labels = _labels(daily)
    assert [lab.en for lab in labels if CJK.search(lab.en)] == []
    assert [lab.zh for lab in labels if WORD.search(lab.zh)] == []


def test_the_english_page_has_no_chinese_label_and_the_chinese_page_no_english_key(
    daily: Report,
) -> None:
    data = _data(daily)
    english = _without_data(_visible(HtmlReporter().render(daily, lang="en")), data)
    assert [p for p in english if CJK.search(p)] == []
    chinese = _without_data(_visible(HtmlReporter().render(daily, lang="zh-CN")), data)
    assert [p for p in chinese if WORD.search(p)] == []


def test_chromium_shows_the_charts_with_chinese_labels(
    browser: Browser, daily: Report, tmp_path: Path
) -> None:
    image_module = pytest.importorskip("PIL.Image", reason="the screenshot check reads PNG")
    path = tmp_path / "日报.html"
    path.write_text(HtmlReporter().render(daily, lang="zh-CN"), encoding="utf-8")
    page = Page(browser, width=1200)
    page.open(path.as_uri())
    assert page.requests() == [path.as_uri()]
    boxes: list[Any] = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart')).map(f => {"
        "const s = f.querySelector('svg'); const r = s.getBoundingClientRect();"
        "return [f.dataset.key, r.left + scrollX, r.top + scrollY, r.width, r.height,"
        " f.innerText]; })"
    )
    assert [key for key, *_ in boxes][:4] == CHARTS
    shot = image_module.open(io.BytesIO(page.screenshot())).convert("RGB")
    for key, left, top, width, height, text in boxes[:4]:
        assert width > 300
        assert height > 150
        assert CJK.search(text), f"{key}: its title and legend are Chinese"
        assert not WORD.search(text), f"{key}: no English key in {text!r}"
        area = shot.crop((int(left), int(top), int(left + width), int(top + height)))
        data = area.tobytes()
        inked = sum(1 for i in range(0, len(data), 3) if min(data[i : i + 3]) < 200)
        assert inked / (len(data) / 3) > 0.01, key


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_chromium_shows_every_label_in_the_pages_language(
    browser: Browser, daily: Report, tmp_path: Path, lang: str
) -> None:
    """What Chromium draws, text of the charts' SVG included: one language, data aside."""
    path = tmp_path / f"daily-{lang}.html"
    path.write_text(HtmlReporter().render(daily, lang=lang), encoding="utf-8")
    page = Page(browser, width=1200)
    page.open(path.as_uri())
    shown: list[str] = page.evaluate(
        "[document.body.innerText,"
        " ...Array.from(document.querySelectorAll('svg text, svg title')).map(t => t.textContent)]"
    )
    charts: list[str] = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart svg text')).map(t => t.textContent)"
    )
    assert len(charts) > 20, "the charts' titles, axes, ticks and legends are drawn as text"
    parts = [line.strip() for text in shown for line in text.splitlines() if line.strip()]
    kept = _without_data(parts, _data(daily))
    if lang == "en":
        assert [p for p in kept if CJK.search(p)] == []
    else:
        assert [p for p in kept if WORD.search(p)] == []
        assert any(CJK.search(t) for t in charts)
