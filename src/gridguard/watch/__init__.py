"""The building watch (second line of defense): observers, check-ins and missed reports.

One observer per building (楼幢观察员) reports every day, "all normal" or
what changed; a rural village group has a health monitoring point (健康监测点)
that does the same. A building that did not report by the cut-off is the
one to call: the missed-report job escalates from the observer to the grid
worker to the community through the notification outbox, exactly once per
place and day. Anomalies become work: a move-in a visit in the next sweep
plan, someone ill a doctor's phone call, a stranger a message to the grid
worker.

The record types load eagerly (the storage schema needs them); the rest
loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..model.watch import WATCH_RULE_SET, WATCH_RULE_SET_VERSION, MonitoringPoint, PointReport

if TYPE_CHECKING:
    from .checkins import CheckInError, CheckInReport, record_checkins, record_file
    from .missed import (
        BUILDINGS,
        POINTS,
        EscalationReport,
        Missed,
        WatchSettings,
        escalate,
        missing,
    )
    from .observers import Coverage, assign_observer, observer_coverage
    from .points import add_point, point_coverage, record_point_reports

_LAZY = {
    "CheckInError": "checkins",
    "CheckInReport": "checkins",
    "record_checkins": "checkins",
    "record_file": "checkins",
    "BUILDINGS": "missed",
    "POINTS": "missed",
    "EscalationReport": "missed",
    "Missed": "missed",
    "WatchSettings": "missed",
    "escalate": "missed",
    "missing": "missed",
    "Coverage": "observers",
    "assign_observer": "observers",
    "observer_coverage": "observers",
    "add_point": "points",
    "point_coverage": "points",
    "record_point_reports": "points",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "BUILDINGS",
    "POINTS",
    "WATCH_RULE_SET",
    "WATCH_RULE_SET_VERSION",
    "CheckInError",
    "CheckInReport",
    "Coverage",
    "EscalationReport",
    "Missed",
    "MonitoringPoint",
    "PointReport",
    "WatchSettings",
    "add_point",
    "assign_observer",
    "escalate",
    "missing",
    "observer_coverage",
    "point_coverage",
    "record_checkins",
    "record_file",
    "record_point_reports",
]
