"""What the building watch stores beyond the check-in itself: monitoring points and their reports.

A health monitoring point (健康监测点) is the rural counterpart of a
building observer: one per village group, staffed by a village cadre or
volunteer who reports every day. The point is a registry entry (its staff
may change); each daily report is an insert-once fact, shaped like an
observer's :class:`~gridguard.model.CheckIn`.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import identifier, non_empty, optional_identifier
from .enums import CheckInStatus
from .facts import Anomaly, Fact, agrees_with_status, anomaly_tuple, checkin_status

__all__ = ["WATCH_RULE_SET", "WATCH_RULE_SET_VERSION", "MonitoringPoint", "PointReport"]

WATCH_RULE_SET = "building_watch"
"""The ``rule_set_id`` of tasks the watch makes itself (not a screening rule set)."""
WATCH_RULE_SET_VERSION = "1"


@stored(
    "monitoring_points",
    Category.PLACE,
    parent=Ref("area_id", "Area"),
    refs=(Ref("observer_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class MonitoringPoint:
    """A health monitoring point (健康监测点) of one village group, and who staffs it."""

    id: str = attrs.field(validator=identifier)
    area_id: str = attrs.field(validator=identifier)
    """The village group (村小组) the point serves."""
    name: str = attrs.field(validator=non_empty)
    observer_id: str | None = attrs.field(default=None, validator=optional_identifier)
    """The person who reports for the point every day."""


@stored(
    "point_reports",
    Category.CHECK_IN,
    parent=Ref("point_id", "MonitoringPoint"),
    refs=(Ref("observer_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class PointReport(Fact):
    """A monitoring point's daily report: all normal, or what was seen."""

    kind: ClassVar[str] = "point_report"

    point_id: str = attrs.field(validator=identifier)
    observer_id: str = attrs.field(validator=identifier)
    status: CheckInStatus = attrs.field(default=CheckInStatus.ALL_NORMAL, converter=checkin_status)
    anomalies: tuple[Anomaly, ...] = attrs.field(
        default=(), converter=anomaly_tuple, validator=agrees_with_status("report")
    )
