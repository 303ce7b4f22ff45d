"""The building watch (second line of defense): observers, check-ins and missed reports.

One observer per building (楼幢观察员) reports every day, "all normal" or
what changed; a rural village group has a health monitoring point (健康监测点)
that does the same. A building that did not report by the cut-off is the
one to call: the missed-report job escalates from the observer to the grid
worker to the community through the notification outbox, exactly once per
place and day. Anomalies become work: a move-in a visit in the next sweep
plan, someone ill a doctor's phone call, a stranger a message to the grid
worker.
"""

from __future__ import annotations

from ..model.watch import WATCH_RULE_SET, WATCH_RULE_SET_VERSION, MonitoringPoint, PointReport
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
