"""The HTML report of one community: render time beside the JSON of the same report.

Builds Huayuan (about 4,000 households) into a temporary SQLite file with
the demo's steps (place tree, then the six-day sweep), builds its daily
report and its campaign progress report, and renders each as HTML with the
``gridguard-html`` reporter and as JSON with the builtin reporter, which
only walks the same report tree: the ratio is what drawing the page and its
charts costs. The first HTML render of the two is shown apart, since it also
imports Jinja2 and matplotlib and loads the fonts.

    python benchmarks/bench_html.py [--runs N]

Target: at most 2 s for the HTML report of one community.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET = 2.0


def timed(function: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import gridguard
    from gridguard.builtins.formats import JsonReporter
    from gridguard.demo import DemoContext, QuietProgress, build_huayuan
    from gridguard.demo._sweep import run_sweep
    from gridguard.reporting import build_report
    from gridguard.synth import huayuan

    with tempfile.TemporaryDirectory(prefix="gridguard-bench-html-") as folder:
        out = Path(folder)
        with gridguard.open(out / "huayuan.db") as ws:
            ctx = DemoContext(
                ws=ws, scenario=huayuan(2020), seed=2020, out=out, progress=QuietProgress()
            )
            build_huayuan(ctx)
            run_sweep(ctx)
            start = time.perf_counter()
            reports = {kind: build_report(ws, kind) for kind in ("daily", "progress")}
            built = time.perf_counter() - start

    start = time.perf_counter()
    from gridguard_html import HtmlReporter

    html = HtmlReporter()
    pages = [html.render(report, lang="zh-CN") for report in reports.values()]
    cold = time.perf_counter() - start
    json = JsonReporter()
    print(
        f"Huayuan: {ctx.summary['households']:,} households; both reports built "
        f"from SQLite in {built:.2f} s"
    )
    print(
        f"first HTML render of both (imports Jinja2 and matplotlib): {cold:.2f} s, "
        f"pages of {', '.join(f'{len(p):,}' for p in pages)} chars"
    )
    worst = cold
    for kind, report in reports.items():
        charts = sum(1 for _, block in report.blocks() if type(block).__name__ == "Chart")
        seconds = timed(lambda r=report: html.render(r, lang="zh-CN"), args.runs)
        reference = timed(lambda r=report: json.render(r, lang="zh-CN"), args.runs)
        worst = max(worst, seconds)
        print(
            f"{kind}: html {seconds * 1000:.0f} ms ({charts} charts), "
            f"json {reference * 1000:.1f} ms, ratio html/json {seconds / reference:.0f}x "
            f"(median of {args.runs})"
        )
    print(
        f"slowest HTML render {worst:.2f} s (target <= {TARGET:.0f} s), ratio to target "
        f"{worst / TARGET:.2f}"
    )


if __name__ == "__main__":
    main()
