"""The demo's screening step: the built-in rule set over what the sweep recorded."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["screen"]


def screen(ctx: DemoContext) -> None:
    """Screen Huayuan with the built-in rules as of the last day of the sweep's records.

    Works on whatever screenings the earlier steps recorded (none at all
    is fine: nobody is flagged). Reports ``flagged_persons`` and
    ``quarantine_orders``.
    """
    from ..model import Screening
    from ..model.assessments import QuarantineOrder
    from ..screening._run import screen as run_screen

    ws = ctx.ws
    campaign = ctx.scenario.campaign
    task = ctx.progress.add_task("Screening rules 规则筛查", total=1)
    with ws.transaction(write=False) as uow:
        latest: dt.datetime | None = None
        for screening in uow.find(Screening):
            latest = screening.at if latest is None or screening.at > latest else latest
    day = campaign.local_date(latest) if latest is not None else campaign.start
    result = run_screen(ws, campaign_id=campaign.id, day=day)
    with ws.transaction(write=False) as uow:
        orders = uow.count(QuarantineOrder)
    ctx.progress.update(task, completed=1)
    ctx.report("screening_day", day.isoformat())
    ctx.report("flagged_persons", result.flagged, "Flagged persons 规则标记人员")
    ctx.report("quarantine_orders", orders, "Quarantine orders 隔离令")
    ctx.report("screening_by_risk", dict(result.by_risk))
