"""Huayuan's real reports: the demo's place tree and six-day sweep, then the builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gridguard
from gridguard.demo import DemoContext, build_huayuan
from gridguard.report import build_report
from gridguard.report.document import Report
from gridguard.sweep.demo import run_sweep
from gridguard.synth import huayuan


class _Quiet:
    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


def huayuan_reports(folder: Path) -> dict[str, Report]:
    """The daily and progress reports of Huayuan after its sweep (SQLite in ``folder``)."""
    with gridguard.open(folder / "huayuan.db") as ws:
        ctx = DemoContext(ws=ws, scenario=huayuan(2020), seed=2020, out=folder, progress=_Quiet())
        build_huayuan(ctx)
        run_sweep(ctx)
        return {kind: build_report(ws, kind) for kind in ("daily", "progress")}
