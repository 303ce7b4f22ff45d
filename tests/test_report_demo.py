"""The demo's report step: the last day's daily report to the terminal and under --out."""

from __future__ import annotations

import json
import types
from pathlib import Path

import gridguard
from gridguard.demo import DEMO_STEPS, DemoContext, QuietProgress
from gridguard.demo._report import report
from gridguard.model import Campaign
from gridguard.testing import sample_facts, sample_records


def test_the_report_step_is_last() -> None:
    assert DEMO_STEPS[-1] == "gridguard.demo._report:report"


def test_the_step_shows_the_head_and_writes_the_files(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "d.db") as ws:
        ws.add(sample_records())
        ws.record(sample_facts())
        campaign = ws.get(Campaign, "cmp")
        ctx = DemoContext(
            ws=ws,
            scenario=types.SimpleNamespace(campaign=campaign),  # type: ignore[arg-type]
            seed=1,
            out=tmp_path / "out",
            progress=QuietProgress(),
        )
        report(ctx)
    (shown,) = ctx.texts
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
