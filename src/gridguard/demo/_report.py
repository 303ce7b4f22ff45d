"""The demo's last step: the daily situation report of the sweep's last day.

Its headline figures and lines of defense go to the terminal as text, after
the demo's summary (not with ``--json``); the whole
report goes under ``--out`` as ``daily-<day>.txt``, ``daily-<day>.json``
and, when a reporter named ``html`` is installed (the ``gridguard-html``
plugin), ``daily-<day>.html``. The files' labels are in Chinese, the
language of the people who read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["TERMINAL_SECTIONS", "report"]

TERMINAL_SECTIONS = ("overview", "lines")
"""The sections shown in the terminal; the files hold every section."""


def report(ctx: DemoContext) -> None:
    """Build the last day's daily report; show its head, write it as JSON (and HTML)."""
    from ..report.text_reporter import TextReporter
    from ..reporting.daily import daily_report

    ws = ctx.ws
    task = ctx.progress.add_task("Daily report 日报", total=None)
    built = daily_report(ws, campaign=ctx.scenario.campaign.id)
    day = built.day.isoformat() if built.day else "none"
    ctx.out.mkdir(parents=True, exist_ok=True)
    written = {}
    reporters = ws.registries.reporters
    for name in ("json", "html"):
        if name not in reporters:
            continue
        reporter = reporters.get(name)()
        path = ctx.out / f"daily-{day}{reporter.suffix}"
        rendered = reporter.render(built, lang="zh-CN")
        if isinstance(rendered, str):
            path.write_text(rendered, encoding="utf-8")
        else:
            path.write_bytes(rendered)
        written[name] = str(path)
    ctx.progress.update(task, total=1, completed=1)
    text = ctx.out / f"daily-{day}.txt"
    text.write_text(TextReporter().render(built, lang="zh-CN"), encoding="utf-8")
    written["text"] = str(text)
    head = attrs.evolve(built, sections=[s for s in built.sections if s.key in TERMINAL_SECTIONS])
    ctx.texts.append(TextReporter().render(head, lang=ctx.lang))  # the terminal's width
    ctx.report("daily_report_day", day, "Daily report 日报", "")
    ctx.report("daily_report_text", written["text"])
    ctx.report("daily_report_json", written.get("json"))
    ctx.report("daily_report_html", written.get("html"))
