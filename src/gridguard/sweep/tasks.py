"""Tasks close themselves: a task is done once what it asked for is recorded.

Screening rules, observers' anomalies and missed quarantine reports make
:class:`~gridguard.model.Task` records (visit a household, phone a
person...). :func:`settle_tasks` marks an open task done when the record it
asked for is stored:

* a **visit** task, by a door visit of its household that screened it or
  found it vacant, at or after the task's due time (the rule the sweep
  planner uses to bring a household back);
* a **phone call** task, by a visit of its household that screened it (by
  phone or at the door), or a health report of its person, from twelve
  hours before its due time on (the screening rules make call tasks due
  twelve or more hours after the screening that asked for them, so that
  screening never settles its own follow-up).

Deliveries and referrals are closed by hand (``gridguard task close``).
Running it again changes nothing.

:func:`assign_task` gives an open task to a team of the task's community
whose kind fits the work (a delivery to a service team, the rest to a sweep
team) and whose members meet the workspace's composition policy.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from ..errors import ValidationError, Violation
from ..model import (
    Channel,
    HealthReport,
    Task,
    TaskKind,
    TaskStatus,
    Team,
    TeamKind,
    Visit,
    VisitOutcome,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["CALL_WINDOW", "TEAM_FOR", "assign_task", "close_task", "settle_tasks", "settled"]

CALL_WINDOW = dt.timedelta(hours=12)
"""How long before its due time a record may settle a phone call task."""

TEAM_FOR: dict[TaskKind, TeamKind] = {
    TaskKind.VISIT: TeamKind.SWEEP,
    TaskKind.PHONE_CALL: TeamKind.SWEEP,
    TaskKind.REFERRAL: TeamKind.SWEEP,
    TaskKind.DELIVERY: TeamKind.SERVICE,
}
"""The kind of team that does each kind of task: deliveries are the service teams' work."""


def settled(task: Task, visits: list[Visit], reports: list[HealthReport]) -> bool:
    """Whether ``visits`` (of the task's household) or ``reports`` do what ``task`` asked."""
    if task.kind is TaskKind.VISIT:
        return any(
            v.channel is Channel.DOOR
            and v.outcome in (VisitOutcome.SCREENED, VisitOutcome.VACANT)
            and v.at >= task.due
            for v in visits
        )
    if task.kind is TaskKind.PHONE_CALL:
        since = task.due - CALL_WINDOW
        return any(v.outcome is VisitOutcome.SCREENED and v.at >= since for v in visits) or any(
            r.person_id == task.person_id and r.at >= since for r in reports
        )
    return False


def settle_tasks(ws: Workspace) -> int:
    """Mark done every open task whose record is stored; how many were closed."""
    open_tasks = [
        t
        for t in ws.find(Task, status=TaskStatus.OPEN.value)
        if t.kind in (TaskKind.VISIT, TaskKind.PHONE_CALL)
    ]
    if not open_tasks:
        return 0
    done = []
    for task in open_tasks:
        visits = ws.find(Visit, household_id=task.household_id)
        reports = (
            ws.find(HealthReport, person_id=task.person_id)
            if task.kind is TaskKind.PHONE_CALL and task.person_id is not None
            else []
        )
        if settled(task, visits, reports):
            done.append(attrs.evolve(task, status=TaskStatus.DONE))
    if done:
        ws.authorize("tasks.close")
        with ws._transaction() as uow:
            uow.put(Task, done)
    return len(done)


def close_task(ws: Workspace, task_id: str, status: TaskStatus = TaskStatus.DONE) -> Task:
    """Close task ``task_id`` by hand (done, or cancelled)."""
    task = ws.get(Task, task_id)
    closed = attrs.evolve(task, status=status)
    ws.authorize("tasks.close", task)
    with ws._transaction() as uow:
        version = uow.version(Task, task_id)
        uow.put(Task, [closed], expect=None if version is None else {task_id: version})
    return closed


def assign_task(ws: Workspace, task_id: str, team_id: str) -> Task:
    """Give open task ``task_id`` to team ``team_id`` (again: to another team) and return it.

    Refused with a :class:`~gridguard.errors.ValidationError` naming each
    reason: a task that is no longer open, a team of another community than
    the task's household, a team of the wrong kind for the task
    (:data:`TEAM_FOR`), or a team that falls short of the workspace's
    composition policy (a sweep team without its doctor is no team to send).
    An unknown task or team is a :class:`~gridguard.errors.NotFoundError`.
    """
    task = ws.get(Task, task_id)
    team = ws.get(Team, team_id)
    ws.authorize("tasks.assign", task)
    with ws.transaction(write=False) as uow:
        community = uow.jurisdiction_of(Task, task_id)
    problems: list[Violation] = []
    if task.status is not TaskStatus.OPEN:
        problems.append(Violation("$.status", task.status.value, "only an open task is assigned"))
    if community is not None and team.area_id != community:
        problems.append(
            Violation("$.assignee", team_id, f"the team works for {team.area_id}, not {community}")
        )
    wanted = TEAM_FOR[task.kind]
    if team.kind is not wanted:
        problems.append(
            Violation(
                "$.assignee",
                team_id,
                f"a {task.kind.value} task goes to a {wanted.value} team, "
                f"not a {team.kind.value} team",
            )
        )
    problems += [
        Violation("$.assignee", team_id, f"{v.path.removeprefix('$.')}: {v.rule}")
        for v in ws.composition_policy.violations(team)
    ]
    if problems:
        raise ValidationError(problems)
    assigned = attrs.evolve(task, assignee=team_id)
    with ws.transaction() as uow:
        version = uow.version(Task, task_id)
        uow.put(Task, [assigned], expect=None if version is None else {task_id: version})
    return assigned
