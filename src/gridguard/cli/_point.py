"""``gridguard point add|list|report``: health monitoring points (健康监测点).

One point per village group (村小组), staffed by a person with a phone, who
reports every day. Registered in :data:`gridguard.cli.COMMANDS`; imports
click only at its top.
"""

from __future__ import annotations

import click

from ._common import (
    at_option,
    db_option,
    echo,
    echo_json,
    json_option,
    local_time,
    open_existing,
    parse_at,
    say,
)

__all__ = ["point"]


@click.group()
def point() -> None:
    """Health monitoring points (健康监测点): add one, list them, record a daily report."""


@point.command("add")
@click.argument("point_id", metavar="ID")
@db_option()
@click.option("--area", "area_id", required=True, help="The village group (村小组) it serves.")
@click.option("--name", required=True, help="Its name, such as 第三村小组健康监测点.")
@click.option("--observer", "observer_id", help="The person (with a phone) who staffs it.")
@json_option()
def add(
    point_id: str, target: str, area_id: str, name: str, observer_id: str | None, as_json: bool
) -> None:
    """Add monitoring point ID (or change it)."""
    from ..model import MonitoringPoint
    from ..watch.points import add_point

    with open_existing(target, area=area_id, person=observer_id) as ws:
        stored = add_point(
            ws, MonitoringPoint(id=point_id, area_id=area_id, name=name, observer_id=observer_id)
        )
    data = {"id": stored.id, "area_id": stored.area_id, "name": stored.name,
            "observer_id": stored.observer_id}  # fmt: skip
    if as_json:
        echo_json(data)
    else:
        echo(f"{say('监测点', 'point')} {stored.id} {stored.name} ({stored.area_id})")


@point.command("list")
@db_option()
@json_option()
def list_command(target: str, as_json: bool) -> None:
    """Every monitoring point and who staffs it."""
    from ..model import MonitoringPoint

    with open_existing(target) as ws:
        found = ws.find(MonitoringPoint)
    rows = [
        {"id": p.id, "area_id": p.area_id, "name": p.name, "observer_id": p.observer_id}
        for p in found
    ]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        echo(say("没有监测点", "no monitoring points"))
    for row in rows:
        echo(f"{row['id']} {row['name']} ({row['area_id']}): {row['observer_id'] or '-'}")


@point.command("report")
@click.argument("point_id", metavar="ID")
@db_option()
@click.option("--observer", "observer_id", required=True, help="Who reports (the point's staff).")
@at_option()
@json_option()
def report(
    point_id: str, target: str, observer_id: str, at_text: str | None, as_json: bool
) -> None:
    """Record the point's daily "all normal" report (报平安); the same report twice is stored once.

    Anomalies are reported through ``gridguard checkin record`` files.
    """
    import datetime as dt
    import uuid

    from ..model import MonitoringPoint
    from ..model.watch import PointReport
    from ..notifications.routing import campaign_zone
    from ..watch.points import record_point_reports

    with open_existing(target, point=point_id, person=observer_id) as ws:
        zone = campaign_zone(ws, None)
        at = parse_at(at_text, zone) or dt.datetime.now(dt.UTC)
        ident = uuid.uuid5(
            uuid.NAMESPACE_URL, f"gridguard:point-report:{point_id}:{observer_id}:{at.isoformat()}"
        )
        result = record_point_reports(
            ws, [PointReport(id=ident, at=at, point_id=point_id, observer_id=observer_id)]
        )
        assert ws.get(MonitoringPoint, point_id)
    data = {"id": str(ident), "point_id": point_id, "written": result.written}
    if as_json:
        echo_json(data)
    else:
        state = say("已记录", "stored") if result.written else say("已有", "already stored")
        echo(f"{say('报平安', 'report')} {point_id} {local_time(at, zone)}: {state}")
