"""The demo's quarantine and services steps: deterministic by seed, placed before dispatch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gridguard
from gridguard.demo import DEMO_STEPS, DemoContext, QuietProgress
from gridguard.demo._quarantine import monitor
from gridguard.demo._services import deliver
from gridguard.model import Area, Campaign
from gridguard.model.assessments import OrderStatus, QuarantineOrder, Task, TaskKind
from quarantine_helpers import records


def _run(path: Path, seed: int) -> tuple[dict[str, Any], list[Any]]:
    with gridguard.open(path) as ws:
        ws.add(records())
        orders = [
            QuarantineOrder(
                id=f"q-{pid}",
                household_id=hid,
                person_id=pid,
                kind="home",
                start=dt.date(2020, 1, 18),
                end=dt.date(2020, 2, 1),
                rule_id="outbreak-area-travel",
                rule_set_id="cn",
                rule_set_version="1",
            )
            for pid, hid in (("p1", "h1"), ("p3", "h2"), ("p4", "h3"))
        ]
        with ws.transaction() as uow:
            uow.put(QuarantineOrder, orders)
        scenario = SimpleNamespace(campaign=ws.get(Campaign, "cmp"), community=ws.get(Area, "c1"))
        ctx = DemoContext(
            ws=ws, scenario=scenario, seed=seed, out=path.parent, progress=QuietProgress()
        )  # type: ignore[arg-type]
        ctx.report("screening_day", "2020-01-29")
        deliver(ctx)
        monitor(ctx)
        tasks = sorted((t.kind.value, t.person_id, t.note) for t in ws.find(Task))
        assert ws.count(QuarantineOrder, status=OrderStatus.ACTIVE) == 0
        assert all(t.kind in (TaskKind.PHONE_CALL, TaskKind.REFERRAL) for t in ws.find(Task))
    return ctx.summary, tasks


def test_the_steps_are_deterministic_by_seed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _run(tmp_path / "a" / "d.db", 7)
    again = _run(tmp_path / "b" / "d.db", 7)
    assert first == again
    summary = first[0]
    assert summary["active_quarantines"] == 3
    assert summary["service_requests"] == 3
    assert summary["service_overdue"] == 1
    assert summary["service_delivered"] == 2
    assert summary["released_quarantines"] == 3
    assert summary["fever_referrals"] == 2
    assert summary["health_reports"] > 0


def test_the_steps_run_after_screening_and_before_dispatch() -> None:
    screen = DEMO_STEPS.index("gridguard.demo._screening:screen")
    dispatch = DEMO_STEPS.index("gridguard.demo._notify:dispatch")
    for step in ("gridguard.demo._quarantine:monitor", "gridguard.demo._services:deliver"):
        assert screen < DEMO_STEPS.index(step) < dispatch
