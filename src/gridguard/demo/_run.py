"""The Huayuan demo: the 2020 community, built and run step by step.

Each step is a function ``step(ctx: DemoContext) -> None`` named in
:data:`DEMO_STEPS` as ``"module:function"``; it works through ``ctx.ws``
and adds its figures with :meth:`DemoContext.report`. Steps run in order
(the place tree first, then each line of defense), so a later step sees
what an earlier one recorded.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ..synth import Scenario
    from ..workspace import Workspace

__all__ = ["DEMO_STEPS", "DemoContext", "QuietProgress", "build_huayuan", "run_demo"]

DEMO_STEPS: tuple[str, ...] = (
    "gridguard.demo:build_huayuan",
    "gridguard.demo._notify:configure",  # one routing for every message the steps queue
    "gridguard.demo._targeting:targeting",  # day 1: the list arrives before the sweep
    "gridguard.demo._sweep:run_sweep",
    "gridguard.demo._screening:screen",
    "gridguard.demo._watch:watch",
    "gridguard.demo._services:deliver",  # before monitoring releases the orders it serves
    "gridguard.demo._quarantine:monitor",
    "gridguard.demo._notify:dispatch",  # last: delivers what the steps before it enqueued
    "gridguard.demo._report:report",  # the last day's daily report, once everything is in
)
"""The demo's steps in the order they run."""


class QuietProgress:
    """The progress display of a demo nobody watches (tests, benchmarks, ``--json``): no output."""

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        pass

    def update(self, task: int, **fields: Any) -> None:
        pass


@attrs.define
class DemoContext:
    """What a demo step works with, and where it puts its figures."""

    ws: Workspace
    scenario: Scenario
    seed: int
    out: Path
    progress: Any
    """Has ``add_task(description, total=None)``, ``advance(task, n)`` and ``update(task, ...)``."""
    summary: dict[str, Any] = attrs.field(factory=dict)
    rows: list[tuple[str, str, str]] = attrs.field(factory=list)
    """``(key, label, reported figure)`` for the summary table, in order."""
    texts: list[str] = attrs.field(factory=list)
    """Text a step wants shown after the summary table (not in ``--json`` output)."""
    lang: str = "en"
    """The language of :attr:`texts` (``zh-CN`` or ``en``)."""

    def report(self, key: str, value: Any, label: str = "", reported: str = "") -> None:
        """Add ``key: value`` to the summary; with a ``label`` it also shows in the table."""
        self.summary[key] = value
        if label:
            self.rows.append((key, label, reported))


def _step(reference: str) -> Callable[[DemoContext], None]:
    module, _, name = reference.partition(":")
    function: Callable[[DemoContext], None] = getattr(importlib.import_module(module), name)
    return function


def build_huayuan(ctx: DemoContext) -> None:
    """The place tree, residents, observers and teams of Huayuan community (华苑社区)."""
    from ..model import Area, AreaLevel, Building

    ws, scenario = ctx.ws, ctx.scenario
    observed = sum(1 for _ in scenario.observer_assignments())
    task = ctx.progress.add_task("Loading 写入", total=scenario.record_count() + observed)
    scenario.load(ws, progress=lambda n: ctx.progress.advance(task, n))
    counts = ws.counts()
    sizes = sorted({team.size for team in scenario.teams})
    ctx.report("community", scenario.community.name)
    ctx.report("campaign_start", scenario.campaign.start.isoformat())
    ctx.report("areas", counts["areas"])
    ctx.report("grids", ws.count(Area, level=AreaLevel.GRID), "Grids 网格")
    ctx.report("buildings", counts["buildings"], "Buildings 楼幢")
    ctx.report("stairwells", counts["stairwells"], "Stairwells 楼梯", "430")
    ctx.report("households", counts["households"], "Households 户", "4,000+")
    ctx.report("persons", counts["persons"], "Persons 人", "~10,000")
    observers = counts["buildings"] - ws.count(Building, observer_id=None)
    ctx.report("observers", observers, "Building observers 楼幢观察员")
    ctx.report("teams", counts["teams"], "Sweep teams 小分队", "20")
    ctx.report("team_size", sizes[0] if len(sizes) == 1 else sizes, "Team size 每队人数", "3")


def run_demo(url: str, *, out: Path, seed: int, progress: Any, lang: str = "en") -> DemoContext:
    """Build the scenario for ``seed`` into the store at ``url`` and run every step.

    ``lang`` is the language of the text the steps show (:attr:`DemoContext.texts`).
    """
    from ..synth import huayuan
    from ..workspace import open_workspace

    started = time.perf_counter()
    task = progress.add_task("Generating Huayuan 生成华苑社区", total=None)
    scenario = huayuan(seed)
    progress.update(task, total=1, completed=1)
    with open_workspace(url) as ws:
        ctx = DemoContext(
            ws=ws, scenario=scenario, seed=seed, out=out, progress=progress, lang=lang
        )
        ctx.report("seed", seed)
        for reference in DEMO_STEPS:
            _step(reference)(ctx)
    ctx.report("seconds", round(time.perf_counter() - started, 3))
    return ctx
