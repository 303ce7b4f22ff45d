"""The demo's report step: the last day's daily report to the terminal and under --out."""

from __future__ import annotations

import io
import json
import types
from pathlib import Path
from typing import Any

import gridguard
from gridguard.demo import DEMO_STEPS, DemoContext
from gridguard.model import Campaign
from gridguard.report.demo import report
from gridguard.testing import sample_facts, sample_records


class _Progress:
    """A progress display with a console, as the demo has in a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(file=io.StringIO(), width=100, color_system=None)

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        pass


def test_the_report_step_is_last() -> None:
    assert DEMO_STEPS[-1] == "gridguard.report.demo:report"


def test_the_step_shows_the_head_and_writes_the_files(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "d.db") as ws:
        ws.add(sample_records())
        ws.record(sample_facts())
        campaign = ws.get(Campaign, "cmp")
        progress = _Progress()
        ctx = DemoContext(
            ws=ws,
            scenario=types.SimpleNamespace(campaign=campaign),  # type: ignore[arg-type]
            seed=1,
            out=tmp_path / "out",
            progress=progress,
        )
        report(ctx)
    shown = progress.console.file.getvalue()  # type: ignore[attr-defined]
    assert "Daily situation report" in shown
    assert "Lines of defense" in shown
    assert "Quarantine" not in shown  # the terminal gets the head only
    assert len(shown.splitlines()) < 40
    day = ctx.summary["daily_report_day"]
    assert day == "2020-01-25"  # the last day with a visit
    data = json.loads(Path(ctx.summary["daily_report_json"]).read_text(encoding="utf-8"))
    assert data["kind"] == "daily"
    assert data["title"] == "疫情防控日报"
    text = Path(ctx.summary["daily_report_text"]).read_text(encoding="utf-8")
    assert "隔离管控" in text
    html = ctx.summary["daily_report_html"]
    if "html" in ws.registries.reporters:
        assert Path(html).is_file()
    else:
        assert html is None
