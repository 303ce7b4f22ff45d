"""``gridguard task list|assign|close``: the work rules and observers asked for.

Tasks close themselves when what they asked for is recorded
(:func:`gridguard.sweep.tasks.settle_tasks`, run by ``task list`` and after
``visit record``); ``task assign`` gives one to a team, checked against the
team's community, kind and composition; ``task close`` closes one by hand. Registered in
:data:`gridguard.cli.COMMANDS`; imports click only at its top.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    db_option,
    echo,
    echo_json,
    json_option,
    open_existing,
    say,
    show_table,
    value_word,
)

__all__ = ["task"]


def task_dict(record: Any, zone: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind.value,
        "status": record.status.value,
        "household_id": record.household_id,
        "person_id": record.person_id,
        "due": record.due.astimezone(zone).isoformat(timespec="minutes"),
        "note": record.note,
        "rule": record.rule_id,
        "assignee": record.assignee,
    }


def check_task(ws: Any, task_id: str) -> None:
    """Raise :class:`~gridguard.errors.NotFoundError` naming ``task_id`` unless it is stored."""
    import difflib

    from ..errors import NotFoundError
    from ..model import Task

    with ws.transaction(write=False) as uow:
        known = uow.existing_ids(Task, {task_id})
    if not known:
        ids = [t.id for t in ws.find(Task, status="open")]
        close_ids = difflib.get_close_matches(task_id, ids, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close_ids)}?" if close_ids else ""
        raise NotFoundError(f"unknown task {task_id!r}{hint}")


@click.group()
def task() -> None:
    """Tasks (任务): visits, phone calls, deliveries and referrals to do."""


@task.command("list")
@db_option()
@click.option(
    "--status",
    type=click.Choice(["open", "done", "cancelled", "all"]),
    default="open",
    show_default=True,
)
@click.option(
    "--kind", type=click.Choice(["visit", "phone_call", "delivery", "referral"]), default=None
)
@click.option("--household", "household_id", help="Only this household's tasks.")
@json_option()
def list_command(
    target: str, status: str, kind: str | None, household_id: str | None, as_json: bool
) -> None:
    """Tasks, oldest due first (times in the campaign's time zone); settles the done ones first."""
    from ..model import Task
    from ..notifications.routing import campaign_zone
    from ..sweep.tasks import settle_tasks

    with open_existing(target, household=household_id) as ws:
        closed = settle_tasks(ws)
        where: dict[str, Any] = {}
        if status != "all":
            where["status"] = status
        if kind is not None:
            where["kind"] = kind
        if household_id is not None:
            where["household_id"] = household_id
        zone = campaign_zone(ws, None)
        found = sorted(ws.find(Task, **where), key=lambda t: (t.due, t.id))
    rows = [task_dict(t, zone) for t in found]
    if as_json:
        echo_json({"settled": closed, "tasks": rows})
        return
    if closed:
        echo(
            say(f"{closed:,} 项任务已按记录自动完成", f"{closed:,} tasks done by what was recorded")
        )
    if not rows:
        echo(say("没有任务", "no tasks"))
        return
    show_table(
        None,
        [say("任务", "Task"), say("期限", "Due"), say("类型", "Kind"), say("状态", "Status"),
         say("对象", "Who"), say("分配给", "Team")],
        [[r["id"], r["due"].replace("T", " "), value_word(r["kind"]), value_word(r["status"]),
          r["person_id"] or r["household_id"], r["assignee"] or "-"] for r in rows],
    )  # fmt: skip


@task.command("assign")
@click.argument("task_id", metavar="ID")
@click.option("--team", "team_id", required=True, help="The team that takes the task.")
@db_option()
@json_option()
def assign(task_id: str, team_id: str, target: str, as_json: bool) -> None:
    """Give open task ID to --team: a team of its community, of the kind the task needs
    (a delivery to a service team, the rest to a sweep team), whose members meet the
    composition policy."""
    from ..notifications.routing import campaign_zone
    from ..sweep.tasks import assign_task

    with open_existing(target, team=team_id) as ws:
        check_task(ws, task_id)
        record = assign_task(ws, task_id, team_id)
        data = task_dict(record, campaign_zone(ws, None))
    if as_json:
        echo_json(data)
    else:
        echo(say(f"任务 {task_id}：已分配给 {team_id}", f"task {task_id}: assigned to {team_id}"))


@task.command("close")
@click.argument("task_id", metavar="ID")
@db_option()
@click.option("--cancel", is_flag=True, help="Cancel it instead (nothing more to do).")
@json_option()
def close(task_id: str, target: str, cancel: bool, as_json: bool) -> None:
    """Close task ID by hand: done (or cancelled with --cancel)."""
    from ..model import TaskStatus
    from ..notifications.routing import campaign_zone
    from ..sweep.tasks import close_task

    with open_existing(target) as ws:
        check_task(ws, task_id)
        record = close_task(ws, task_id, TaskStatus.CANCELLED if cancel else TaskStatus.DONE)
        data = task_dict(record, campaign_zone(ws, None))
    if as_json:
        echo_json(data)
    else:
        echo(f"{say('任务', 'task')} {task_id}: {value_word(data['status'])}")
