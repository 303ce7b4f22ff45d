"""Health monitoring points (健康监测点): one per village group, reporting every day.

The rural counterpart of the building observer. A point is staffed by one
person with a phone; its daily reports are :class:`~gridguard.model.watch.PointReport` facts, and
a point that did not report by the cut-off is found and escalated by the
same code as a silent building (:mod:`gridguard.watch.missed` with
``kind=POINTS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import ConflictError, ValidationError, Violation
from ..model import Area, AreaLevel, Person
from ..model.watch import MonitoringPoint, PointReport
from ..storage.base import SaveResult
from .observers import Coverage, check_observer

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["add_point", "point_coverage", "record_point_reports"]


def add_point(ws: Workspace, point: MonitoringPoint) -> MonitoringPoint:
    """Store (or update) a monitoring point: in a village group, one point per group.

    The staff member, when given, must be a person with a phone. A second
    point for the same village group is a :class:`ConflictError`. Needs write
    access to places (``watch.point``) where the point stands.
    """
    ws.authorize("watch.point", point)
    with ws._transaction() as uow:
        area = uow.get(Area, point.area_id)
        if area is None:
            raise ValidationError.single("$.area_id", repr(point.area_id), "unknown area")
        if area.level is not AreaLevel.VILLAGE_GROUP:
            raise ValidationError.single(
                "$.area_id",
                repr(point.area_id),
                f"must be a village group (村小组), not a {area.level.value}",
            )
        same_group = uow.find(MonitoringPoint, where={"area_id": point.area_id})
        others = [p for p in same_group if p.id != point.id]
        if others:
            raise ConflictError(
                f"village group {point.area_id} already has monitoring point {others[0].id}"
            )
        if point.observer_id is not None:
            check_observer(uow.get(Person, point.observer_id), point.observer_id)
        uow.put(MonitoringPoint, [point])
    return point


def record_point_reports(ws: Workspace, reports: Iterable[PointReport]) -> SaveResult:
    """Store daily reports of monitoring points: all or nothing.

    A report from someone who is not the point's staff, or for an unknown
    point, is a :class:`ValidationError` naming its position ``$[i]``. Needs
    the ``watch.point_report`` operation on every point named (one audited,
    set-based check: a point outside the scope refuses the batch).
    """
    batch = list(reports)
    ws.authorize_records("watch.point_report", MonitoringPoint, {r.point_id for r in batch})
    problems: list[Violation] = []
    with ws._transaction() as uow:
        points: dict[str, MonitoringPoint | None] = {}
        for n, report in enumerate(batch):
            if report.point_id not in points:
                points[report.point_id] = uow.get(MonitoringPoint, report.point_id)
            point = points[report.point_id]
            if point is None:
                problems.append(
                    Violation(f"$[{n}].point_id", repr(report.point_id), "unknown monitoring point")
                )
            elif point.observer_id != report.observer_id:
                problems.append(
                    Violation(
                        f"$[{n}].observer_id",
                        repr(report.observer_id),
                        f"not the staff of monitoring point {point.id}",
                    )
                )
        if problems:
            raise ValidationError(problems)
        try:
            return uow.save_facts(PointReport, batch) if batch else SaveResult()
        except ValidationError as exc:
            raise exc.at_positions(list(range(len(batch)))) from None


def point_coverage(ws: Workspace) -> list[Coverage]:
    """Per village: its village groups, and how many have a staffed monitoring point."""
    groups = ws.find(Area, level=AreaLevel.VILLAGE_GROUP)
    staffed = {p.area_id for p in ws.find(MonitoringPoint) if p.observer_id is not None}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for group in groups:
        entry = counts[group.parent_id or group.id]
        entry[0] += 1
        entry[1] += group.id in staffed
    names = {}
    for key in counts:
        found = ws.find(Area, id=key)
        names[key] = found[0].name if found else key
    return [
        Coverage(area_id=key, name=names[key], places=places, observed=observed)
        for key, (places, observed) in sorted(counts.items())
    ]
