"""Anomalies become work: what each kind of anomaly an observer reports asks of the community.

* ``move_in``: a visit :class:`~gridguard.model.assessments.Task` for the
  household; the sweep planner puts households with an open visit task
  into the next plan until a visit screens them (or finds them vacant).
* ``symptomatic``: a phone-call task for the community doctor.
* ``stranger``: a message to the grid worker (topic ``stranger``).
* ``move_out`` and ``other``: a message on the ``anomaly`` topic.

Tasks are made outside any screening rule set, so they carry
``rule_set_id="building_watch"``, the anomaly's kind as ``rule_id`` and
version ``"1"``; their ids are derived from the check-in and the anomaly's
position, so recording a check-in again makes nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..model import Anomaly, AnomalyKind, CheckIn
from ..model.assessments import Task, TaskKind, stable_id
from ..model.watch import WATCH_RULE_SET, WATCH_RULE_SET_VERSION
from ..notifications.routing import Event

if TYPE_CHECKING:
    from ..model.assessments import Task
    from ..notifications.routing import Event

__all__ = ["NEEDS_HOUSEHOLD", "describe", "follow_up", "task_id"]

NEEDS_HOUSEHOLD = frozenset({AnomalyKind.MOVE_IN, AnomalyKind.SYMPTOMATIC})
"""Anomalies that make a task, and so must name the household concerned."""

_LABELS = {
    AnomalyKind.STRANGER: ("陌生人员", "stranger"),
    AnomalyKind.MOVE_IN: ("迁入", "move-in"),
    AnomalyKind.MOVE_OUT: ("迁出", "move-out"),
    AnomalyKind.SYMPTOMATIC: ("有症状", "symptomatic"),
    AnomalyKind.OTHER: ("其他", "other"),
}


def describe(anomaly: Anomaly) -> str:
    """``迁入 move-in x2 (note)``: an anomaly as one short bilingual phrase for messages."""
    zh, en = _LABELS[anomaly.kind]
    count = f" x{anomaly.count}" if anomaly.count > 1 else ""
    note = f" ({anomaly.note})" if anomaly.note else ""
    return f"{zh} {en}{count}{note}"


def task_id(checkin: CheckIn, index: int) -> str:
    """The id of the task made from the ``index``-th anomaly of ``checkin``."""

    kind = checkin.anomalies[index].kind.value
    return str(stable_id(WATCH_RULE_SET, str(checkin.id), index, kind))


def follow_up(
    checkins: Iterable[CheckIn], observers: Mapping[str, str] | None = None
) -> tuple[list[Task], list[Event]]:
    """The tasks and notification events the anomalies of ``checkins`` call for.

    ``observers`` maps observer ids to names, for the messages.
    """

    tasks: list[Task] = []
    events: list[Event] = []
    for checkin in checkins:
        for n, anomaly in enumerate(checkin.anomalies):
            kind = anomaly.kind
            if kind in NEEDS_HOUSEHOLD and anomaly.household_id is not None:
                visit = kind is AnomalyKind.MOVE_IN
                tasks.append(
                    Task(
                        id=task_id(checkin, n),
                        household_id=anomaly.household_id,
                        kind=TaskKind.VISIT if visit else TaskKind.PHONE_CALL,
                        due=checkin.at,
                        note=(
                            "入户走访新迁入住户 visit the household that moved in"
                            if visit
                            else "社区医生电话随访 doctor's phone call: reported ill"
                        )
                        + (f": {anomaly.note}" if anomaly.note else ""),
                        rule_id=kind.value,
                        rule_set_id=WATCH_RULE_SET,
                        rule_set_version=WATCH_RULE_SET_VERSION,
                    )
                )
                continue
            if kind in NEEDS_HOUSEHOLD:
                continue
            events.append(
                Event(
                    topic="stranger" if kind is AnomalyKind.STRANGER else "anomaly",
                    key=f"watch:checkin:{checkin.id}:{n}",
                    at=checkin.at,
                    building_id=checkin.building_id,
                    household_id=anomaly.household_id,
                    values={
                        "anomalies": describe(anomaly),
                        "observer": (observers or {}).get(checkin.observer_id),
                    },
                )
            )
    return tasks, events
