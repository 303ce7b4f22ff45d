"""The demo's notifications: one configuration first, delivery to a JSON-lines file last.

:func:`configure` stores the workspace's routing right after the place
tree is built: one channel, ``file`` (``notifications.jsonl`` under
``--out``), the default routes, and the community's secretary and doctor as
contacts. Every later step (screening, watch, services, quarantine) routes
its messages with it. :func:`dispatch`, the last step, enqueues the daily
digest of the campaign's first day, delivers everything, and counts what
was sent, failed and could not be delivered (no one holds the role).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["NOTIFICATIONS_FILE", "configure", "dispatch"]

NOTIFICATIONS_FILE = "notifications.jsonl"


def configure(ctx: DemoContext) -> None:
    """Store the demo's routing: the ``file`` channel, default routes, two community contacts."""
    from ..notifications.config import configure as store

    path = ctx.out / NOTIFICATIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # the demo starts afresh, and so does its file
    community = ctx.scenario.community
    store(
        ctx.ws,
        {
            "campaign": ctx.scenario.campaign.id,
            "channels": {"file": {"type": "jsonl", "path": str(path)}},
            "contacts": [
                {"role": "community_secretary", "area_id": community.id, "name": "黄书记"},
                {"role": "community_doctor", "area_id": community.id, "name": "林医生"},
                {"role": "grid_worker", "area_id": community.id, "name": "网格员"},
            ],
            "delivery": {"max_attempts": 3, "base_delay": 1.0, "timeout": 5.0},
        },
        source="gridguard demo",
    )


def dispatch(ctx: DemoContext) -> None:
    """Deliver every due message to ``<out>/notifications.jsonl`` and count the outcome."""
    import datetime as dt

    from ..notifications.digest import enqueue_digest
    from ..notifications.outbox import outbox_status, totals
    from ..notifications.service import Notifications

    ws, scenario = ctx.ws, ctx.scenario
    path = ctx.out / NOTIFICATIONS_FILE
    service = Notifications(ws)
    enqueue_digest(ws, service.router, scenario.campaign.start)
    task = ctx.progress.add_task("Notifying 发送通知", total=None)
    service.dispatcher().dispatch()
    ctx.progress.update(task, total=1, completed=1)
    with ws.transaction(write=False) as uow:
        counts = totals(outbox_status(uow, dt.datetime.now(dt.UTC), dialect=ws.dialect))
    undeliverable = len(service.undeliverable())
    ctx.report("notifications_sent", counts["sent"], "Notifications sent 通知已送达")
    ctx.report("notifications_dead", counts["dead"], "Notifications failed 通知投递失败")
    ctx.report("notifications_undeliverable", undeliverable, "Notifications undeliverable 无法投递")
    ctx.report("notifications_pending", counts["pending"] + counts["in_flight"] - undeliverable)
    ctx.report("notifications_file", str(path))
