"""Reports built by hand, and Huayuan's real reports, for testing report formats.

:class:`~gridguard.testing.ReporterContract` checks what every format must do
on :func:`~gridguard.testing.sample_reports`; a format's own tests also need a
report shaped like a real daily report (:func:`sample_daily_report`), a bare
report around a few sections (:func:`bare_report`) and the reports of a whole
community (:func:`huayuan_reports`). They live here so that every reporter
plugin tests against the same reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from ..report.document import (
    Chart,
    Column,
    Figure,
    Figures,
    Label,
    Report,
    Section,
    Series,
    Table,
)

__all__ = [
    "HOSTILE_NAMES",
    "bare_report",
    "huayuan_reports",
    "sample_daily_report",
    "text_table",
]

HOSTILE_NAMES: tuple[str, ...] = (
    '=HYPERLINK("http://evil.example/x","点我")',
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% if true %}yes{% endif %}",
    "+SUM(A1:A2)",
    "-1+2",
    "@cmd",
    "$x$ 价格",
)
"""Names that must show as text, never as a formula, markup or template."""

_DAYS = tuple(f"01-{day:02d}" for day in range(25, 31))
_COVERED = (620, 1340, 2050, 2790, 3510, 4012)
_PLAN = (700, 1400, 2100, 2800, 3500, 4012)


def sample_daily_report(
    *, names: tuple[str, ...] = ("陈建国", "李秀英"), masked: bool = True
) -> Report:
    """A daily report for Huayuan, 30 January 2020, built by hand from the document classes.

    It holds every block kind a reporter draws: headline figures (one of them
    missing), a coverage table, a burn-up line chart, a bar chart with a gap,
    a line list with dates and times, and an empty table. ``names`` fill the
    line list (pass ``HOSTILE_NAMES`` to check they show as text);
    ``masked`` is the report's masked flag.
    """
    overview = Section(
        key="overview",
        title=Label("Overview", "总览"),
        blocks=[
            Figures(
                key="headline",
                items=[
                    Figure("visited", Label("Households visited", "已走访户数"), 4012, 502),
                    Figure("stairwells_swept", Label("Stairwells swept", "已排查楼梯"), 430, 61),
                    Figure("coverage", Label("Coverage", "覆盖率"), 0.9345, 0.12, "percent"),
                    Figure("quarantines_active", Label("Active quarantines", "居家隔离中"), 17, -2),
                    Figure("alerts", Label("Alerts", "警报"), None),
                ],
            ),
        ],
        note=Label("Figures at 24:00, Asia/Shanghai.", "数据截至当日24时（北京时间）。"),
    )
    sweep = Section(
        key="door_to_door",
        title=Label("Door-to-door sweep", "入户走访"),
        blocks=[
            Table(
                key="grids",
                title=Label("Coverage by grid", "各网格覆盖情况"),
                columns=[
                    Column("grid", Label("Grid", "网格")),
                    Column("households", Label("Households", "户数"), "int"),
                    Column("visited", Label("Visited", "已走访"), "int"),
                    Column("coverage", Label("Coverage", "覆盖率"), "percent"),
                ],
                rows=[
                    ("第一网格", 820, 801, 801 / 820),
                    ("第二网格", 1204, 1110, 1110 / 1204),
                    ("第三网格", 1988, 2101, 1.0),
                ],
            ),
            Chart(
                key="burnup",
                title=Label("Households covered against the plan", "累计走访户数与计划"),
                kind="line",
                x_label=Label("Day", "日期"),
                y_label=Label("Households", "户数"),
                x=_DAYS,
                series=[
                    Series("covered", Label("Covered", "已走访"), _COVERED),
                    Series("plan", Label("Plan", "计划"), _PLAN),
                ],
            ),
            Chart(
                key="teams",
                title=Label("Households per team today", "今日各小分队走访户数"),
                kind="bar",
                x_label=Label("Team", "小分队"),
                x=[f"第{n}队" for n in range(1, 6)],
                series=[Series("households", Label("Households", "户数"), (98, 104, 87, None, 7))],
            ),
        ],
    )
    people = Section(
        key="linelist",
        title=Label("Who to call today", "今日需追访人员"),
        blocks=[
            Table(
                key="followups",
                title=Label("Phone follow-ups", "电话追访"),
                columns=[
                    Column("name", Label("Name", "姓名")),
                    Column("address", Label("Address", "住址")),
                    Column("phone", Label("Phone", "电话")),
                    Column("since", Label("Pending since", "待追访自"), "date"),
                    Column("last_seen", Label("Last visit", "最近走访"), "datetime"),
                ],
                rows=[
                    (
                        name,
                        f"牡丹阁3幢{101 + n}",
                        "138****8000",
                        dt.date(2020, 1, 27),
                        dt.datetime(2020, 1, 29, 7, 30, tzinfo=dt.UTC),
                    )
                    for n, name in enumerate(names)
                ],
            ),
            Table(
                key="empty",
                title=Label("Overdue service requests", "逾期服务请求"),
                columns=[Column("request", Label("Request", "请求"))],
                rows=[],
            ),
        ],
    )
    return Report(
        kind="daily",
        title=Label("Daily situation report", "疫情防控日报"),
        area_id="hy",
        area_name="华苑社区",
        day=dt.date(2020, 1, 30),
        generated_at=dt.datetime(2020, 1, 30, 16, 5, tzinfo=dt.UTC),
        sections=[overview, sweep, people],
        masked=masked,
        meta={"campaign": "一级响应 2020", "time_zone": "Asia/Shanghai"},
    )


def bare_report(
    sections: Iterable[Section], *, kind: str = "linelist", area_name: str | None = None
) -> Report:
    """A report of ``sections`` alone: no area, no day, a fixed time of generation."""
    return Report(
        kind=kind,
        title=Label("r", "r"),
        area_id=None,
        area_name=area_name,
        day=None,
        generated_at=dt.datetime(2020, 1, 30, tzinfo=dt.UTC),
        sections=list(sections),
    )


def text_table(*values: str, key: str = "t") -> Table:
    """A one-column table (``Name`` / ``姓名``) with a row for each of ``values``."""
    return Table(
        key=key,
        title=Label(key, key),
        columns=[Column("name", Label("Name", "姓名"))],
        rows=[(value,) for value in values],
    )


def huayuan_reports(
    folder: Path, kinds: tuple[str, ...] = ("daily", "progress")
) -> dict[str, Report]:
    """Huayuan's reports after its six-day sweep, built in a SQLite store in ``folder``.

    The demo's own steps build the place tree (about 4,000 households) and run
    the sweep, so the reports are as large and as shaped as a real community's.
    """
    from ..demo import DemoContext, QuietProgress, build_huayuan
    from ..demo._sweep import run_sweep
    from ..reporting import build_report
    from ..synth import huayuan
    from ..workspace import open_workspace

    folder = Path(folder)
    with open_workspace(folder / "huayuan.db") as ws:
        ctx = DemoContext(
            ws=ws, scenario=huayuan(2020), seed=2020, out=folder, progress=QuietProgress()
        )
        build_huayuan(ctx)
        run_sweep(ctx)
        return {kind: build_report(ws, kind) for kind in kinds}
