"""The html reporter: a self-contained page, text stays text, opened in headless Chromium."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from gridguard_html import CSP, HtmlReporter, chart_svg, format_cell
from headless_chromium import Browser, Page, find_chromium, open_browser
from hypothesis import given, settings
from hypothesis import strategies as st

from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.report.document import (
    Chart,
    Figures,
    Label,
    Report,
    Section,
    Series,
)
from gridguard.testing import (
    HOSTILE_NAMES,
    ReporterContract,
    bare_report,
    huayuan_reports,
    sample_daily_report,
    text_table,
)

KNOWN_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "dl",
    "div",
    "dt",
    "dd",
    "p",
    "nav",
    "ol",
    "li",
    "a",
    "main",
    "section",
    "table",
    "thead",
    "tr",
    "th",
    "tbody",
    "td",
    "figure",
    "figcaption",
    "script",
}
"""Every element the template writes; with no chart, nothing else may appear."""

URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href"}


class PageSource(HTMLParser):
    """Collects, from a page's source, its elements and the text of each table cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> PageSource:
    page = PageSource()
    page.feed(html)
    page.close()
    return page


def external_references(html: str) -> list[str]:
    """Every URL in the page that would reach beyond it: attributes and CSS ``url()``."""
    found = []
    for _, attributes in parse(html).tags:
        for name, value in attributes.items():
            if name in URL_ATTRIBUTES and value and not value.startswith(("#", "data:")):
                found.append(value)
    found += [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", html) if not u.startswith("#")]
    found += re.findall(r"@import\s+\S+", html)
    return found


@pytest.fixture(scope="module")
def html() -> str:
    return HtmlReporter().render(sample_daily_report(names=HOSTILE_NAMES), lang="zh-CN")


def test_registered_through_the_entry_point() -> None:
    registries = collect_registries(get_plugin_manager())
    assert registries.reporters.entry("html").plugin == "html"
    reporter = registries.reporters.get("html")()
    assert (reporter.media_type, reporter.suffix) == ("text/html", ".html")


def test_the_page_references_nothing_outside_itself(html: str) -> None:
    assert external_references(html) == []
    tags = parse(html).tags
    assert [t for t, _ in tags if t in ("link", "iframe", "img", "object", "embed", "base")] == []
    assert [a for t, a in tags if t == "script" and "src" in a] == []
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv")]
    assert csp == [CSP]
    assert "default-src 'none'" in CSP


def test_the_reference_check_finds_a_reference() -> None:
    page = '<img src="http://127.0.0.1:9/x.png"><a href="#s-1">ok</a><div style="b: url(//cdn/x)">'
    assert external_references(page) == ["http://127.0.0.1:9/x.png", "//cdn/x"]


def test_hostile_names_show_as_text(html: str) -> None:
    page = parse(html)
    for name in HOSTILE_NAMES:
        assert name in page.cells
    assert "49" not in page.cells
    assert "yes" not in page.cells
    assert [t for t, _ in page.tags].count("script") == 1
    assert [t for t, _ in page.tags].count("a") == 3  # the table of contents
    assert "<script>alert" not in html


def test_labels_follow_the_language() -> None:
    report = sample_daily_report()
    zh = HtmlReporter().render(report, lang="zh-CN")
    en = HtmlReporter().render(report, lang="en")
    assert '<html lang="zh-CN">' in zh
    assert '<html lang="en">' in en
    for text in ("疫情防控日报", "各网格覆盖情况", "已走访户数", "累计走访户数与计划", "较昨日"):
        assert text in zh
        assert text not in en
    for text in ("Daily situation report", "Coverage by grid", "since yesterday"):
        assert text in en
        assert text not in zh
    assert "华苑社区" in en  # names are data, the same in every language


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="zh-CN"):
        HtmlReporter().render(sample_daily_report(), lang="fr")


def test_cells_are_formatted_for_reading(html: str) -> None:
    page = parse(html)
    assert "1,204" in page.cells
    assert "97.7%" in page.cells
    # 07:30 UTC is 15:30 in the report's time zone, Asia/Shanghai.
    assert "2020-01-29 15:30" in page.cells
    assert format_cell(None, "int") == "—"
    assert format_cell(0.5, "percent") == "50.0%"


def test_the_masked_flag_is_shown() -> None:
    assert "个人信息已脱敏" in HtmlReporter().render(sample_daily_report(), lang="zh-CN")
    clear = HtmlReporter().render(sample_daily_report(masked=False), lang="zh-CN")
    assert "含未脱敏的个人信息" in clear


def test_chart_text_is_drawn_as_typed() -> None:
    chart = Chart(
        key="odd",
        title=Label("Odd", "怪"),
        kind="stacked",
        x_label=Label("Name", "姓名"),
        x=["$x$ 价格", "<b>粗</b>", "{{ 7*7 }}"],
        series=[
            Series("a", Label("A <i>", "甲 <i>"), (1, None, 3)),
            Series("b", Label("B", "乙"), (2, 2, 2)),
        ],
    )
    svg = chart_svg(chart, lang="zh-CN")
    assert svg.startswith("<svg")
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert "$x$ 价格" in texts
    assert "&lt;b&gt;粗&lt;/b&gt;" in texts
    assert "{{ 7*7 }}" in texts
    assert "甲 &lt;i&gt;" in texts
    assert "<b>" not in svg
    assert "<i>" not in svg
    assert "Noto Sans CJK SC" in svg  # the font family list travels with the text
    assert "sans-serif" in svg


def test_charts_on_one_page_do_not_share_ids(html: str) -> None:
    ids = [a["id"] for t, a in parse(html).tags if a.get("id")]
    marker_ids = [i for i in ids if i and re.fullmatch(r"m[0-9a-f]{10}", i)]
    assert len(marker_ids) == len(set(marker_ids))


# --- headless Chromium ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium was found: apt-get install -y chromium")
        pytest.skip("no Chromium found (apt-get install -y chromium, or set GRIDGUARD_CHROMIUM)")
    with open_browser(executable) as opened:
        yield opened


def rgb(image: Any) -> list[tuple[int, int, int]]:
    """The pixels of an RGB image as ``(r, g, b)`` tuples."""
    data: bytes = image.tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


def open_page(browser: Browser, path: Path, width: int = 1200) -> Page:
    page = Page(browser, width=width)
    page.open(path.as_uri())
    return page


def test_chromium_makes_no_network_request(browser: Browser, html: str, tmp_path: Path) -> None:
    path = tmp_path / "日报.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(browser, path)
    assert page.requests() == [path.as_uri()]


def test_chromium_sees_requests_when_there_are_some(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "leaky.html"
    path.write_text('<img src="http://127.0.0.1:9/x.png">', encoding="utf-8")
    page = open_page(browser, path)
    assert "http://127.0.0.1:9/x.png" in page.requests()


def test_chromium_dom_holds_the_figures_and_tables(
    browser: Browser, html: str, tmp_path: Path
) -> None:
    path = tmp_path / "daily.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(browser, path)
    figures = json.loads(
        page.evaluate(
            "JSON.stringify(Object.fromEntries(Array.from(document.querySelectorAll"
            "('.figure')).map(f => [f.dataset.key, f.querySelector('.value').textContent])))"
        )
    )
    assert figures == {
        "visited": "4,012",
        "stairwells_swept": "430",
        "coverage": "93.5%",
        "quarantines_active": "17",
        "alerts": "—",
    }
    names = page.evaluate(
        "Array.from(document.querySelectorAll('table[data-key=followups] tbody tr'))"
        ".map(r => r.cells[0].textContent)"
    )
    assert names == list(HOSTILE_NAMES)
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert page.evaluate("document.title") == "疫情防控日报 · 华苑社区 · 2020-01-30"
    charts = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart svg')).map(s => s.closest('figure')"
        ".dataset.key)"
    )
    assert charts == ["burnup", "teams"]


def test_chromium_sorts_a_table_by_a_click(browser: Browser, html: str, tmp_path: Path) -> None:
    path = tmp_path / "sort.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(browser, path)
    column = "Array.from(document.querySelectorAll('table[data-key=grids] tbody tr'))"
    header = "document.querySelectorAll('table[data-key=grids] th')"
    assert page.evaluate(f"{column}.map(r => r.cells[0].textContent)") == [
        "第一网格",
        "第二网格",
        "第三网格",
    ]
    page.evaluate(f"{header}[2].click(); {header}[2].click()")  # visited, descending
    assert page.evaluate(f"{column}.map(r => r.cells[2].textContent)") == [
        "2,101",
        "1,110",
        "801",
    ]


def test_chromium_screenshot_shows_the_charts(browser: Browser, html: str, tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image", reason="the screenshot check reads PNG")
    path = tmp_path / "shot.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(browser, path)
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart svg')).map(s => {"
        "const r = s.getBoundingClientRect();"
        "return [s.closest('figure').dataset.key, r.left + scrollX, r.top + scrollY,"
        " r.width, r.height]; })"
    )
    screenshot = image_module.open(io.BytesIO(page.screenshot())).convert("RGB")
    assert [key for key, *_ in boxes] == ["burnup", "teams"]
    for key, left, top, width, height in boxes:
        assert width > 300
        assert height > 150
        area = screenshot.crop((int(left), int(top), int(left + width), int(top + height)))
        pixels = rgb(area)
        inked = sum(1 for r, g, b in pixels if min(r, g, b) < 200)
        blue = sum(1 for r, g, b in pixels if b > 180 and r < 90 and g < 150)  # series 1
        assert inked / len(pixels) > 0.01, key
        assert blue > 200, key
    # The page's own background, away from any chart, is blank: the count can fail.
    margin = screenshot.crop((0, 0, 20, screenshot.height))
    assert all(min(p) > 240 for p in rgb(margin))


# --- the reporter contract, and a real Huayuan report -----------------------------


class TextOnly(HTMLParser):
    """The text a reader sees: text nodes outside ``<script>`` and ``<style>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


class TestHtmlContract(ReporterContract):
    @pytest.fixture
    def reporter(self) -> HtmlReporter:
        return HtmlReporter()

    def visible_text(self, output: str | bytes) -> str:
        assert isinstance(output, str)
        reader = TextOnly()
        reader.feed(output)
        reader.close()
        return "\n".join(reader.parts)

    def assert_inert(self, output: str | bytes) -> None:
        assert isinstance(output, str)
        tags = parse(output).tags
        assert [t for t, _ in tags].count("script") <= 1  # the sorting script alone
        handlers = [n for _, a in tags for n in a if n.startswith("on")]
        assert handlers == []
        assert external_references(output) == []


@pytest.fixture(scope="module")
def huayuan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    return huayuan_reports(tmp_path_factory.mktemp("huayuan"))


def test_a_real_huayuan_daily_report(huayuan: dict[str, Report]) -> None:
    daily = huayuan["daily"]
    page = HtmlReporter().render(daily, lang="zh-CN")
    assert external_references(page) == []
    source = parse(page)
    sections = [a["data-key"] for t, a in source.tags if t == "section"]
    assert sections == [s.key for s in daily.sections]
    overview = next(b for _, b in daily.blocks() if isinstance(b, Figures))
    for item in overview.items:
        assert f'data-key="{item.key}"' in page
        assert f'<div class="value">{format_cell(item.value, item.kind)}</div>' in page
    assert "华苑社区" in page


def test_a_real_huayuan_progress_report_in_chromium(
    browser: Browser, huayuan: dict[str, Report], tmp_path: Path
) -> None:
    progress = huayuan["progress"]
    charts = [b.key for _, b in progress.blocks() if isinstance(b, Chart)]
    assert charts, "the progress report has its burn-up chart"
    path = tmp_path / "progress.html"
    path.write_text(HtmlReporter().render(progress, lang="zh-CN"), encoding="utf-8")
    page = open_page(browser, path)
    assert page.requests() == [path.as_uri()]
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart svg')).map(s => [s.closest('figure')"
        ".dataset.key, s.querySelectorAll('path').length])"
    )
    assert [key for key, _ in drawn] == charts
    assert all(paths > 10 for _, paths in drawn)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_string_comes_out_as_the_same_text(text: str) -> None:
    section = Section(key="s", title=Label(text, text), blocks=[text_table(text)])
    report = bare_report([section], area_name=text)
    page = HtmlReporter().render(report, lang="en")
    source = parse(page)
    assert source.cells == [text]
    assert [t for t, _ in source.tags].count("script") == 1
    assert [t for t, _ in source.tags if t not in KNOWN_TAGS] == []
