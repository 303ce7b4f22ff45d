"""The demo's last step: deliver the outbox to a JSON-lines file under ``--out``.

Earlier steps may have enqueued messages (screening results, anomalies);
every one of them, whatever its channel, goes to ``notifications.jsonl``
here, together with the daily digest of the campaign's first day for the
community secretary, which this step enqueues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["NOTIFICATIONS_FILE", "dispatch"]

NOTIFICATIONS_FILE = "notifications.jsonl"


def dispatch(ctx: DemoContext) -> None:
    """Deliver every due message to ``<out>/notifications.jsonl`` and count the outcome."""
    import datetime as dt

    from ..builtins.notifiers import JsonLinesNotifier
    from ..notifications.digest import enqueue_digest
    from ..notifications.outbox import outbox_status, totals
    from ..notifications.service import Notifications
    from ..notifications.settings import Contact, DeliverySettings, DigestSettings, NotifySettings

    ws, scenario = ctx.ws, ctx.scenario
    path = ctx.out / NOTIFICATIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # the demo starts afresh, and so does its file
    community = scenario.community
    settings = NotifySettings(
        campaign=scenario.campaign.id,
        channels={"file": {"type": "jsonl", "path": str(path)}},
        routes=(),
        contacts=(
            Contact(role="community_secretary", area_id=community.id, name="黄书记"),
            Contact(role="community_doctor", area_id=community.id, name="林医生"),
        ),
        digest=DigestSettings(channels=("file",)),
        delivery=DeliverySettings(max_attempts=3, base_delay=1.0, timeout=5.0),
    )
    service = Notifications(ws, settings)
    enqueue_digest(ws, service.router, scenario.campaign.start)
    task = ctx.progress.add_task("Notifying 发送通知", total=None)
    file = JsonLinesNotifier({"path": str(path)})
    report = service.dispatcher(fallback=file).dispatch()
    ctx.progress.update(task, total=1, completed=1)
    with ws.transaction(write=False) as uow:
        counts = totals(outbox_status(uow, dt.datetime.now(dt.UTC), dialect=ws.storage.dialect))
    ctx.report("notifications_sent", counts["sent"], "Notifications sent 通知已送达")
    ctx.report("notifications_dead", counts["dead"], "Notifications failed 通知投递失败")
    ctx.report("notifications_pending", counts["pending"] + counts["in_flight"])
    ctx.report("notifications_file", str(path))
    del report
