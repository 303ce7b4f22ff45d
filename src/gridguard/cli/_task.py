"""``gridguard task list|close``: the work rules and observers asked for.

Tasks close themselves when what they asked for is recorded
(:func:`gridguard.sweep.tasks.settle_tasks`, run by ``task list`` and after
``visit record``); ``task close`` closes one by hand. Registered in
:data:`gridguard.cli.COMMANDS`; imports click only at its top.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import db_option, echo_json, json_option, open_existing

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
    }


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
        click.echo(f"{closed} tasks done by what was recorded 已自动完成")
    if not rows:
        click.echo("no tasks 没有任务")
    for row in rows:
        who = row["person_id"] or row["household_id"]
        click.echo(
            f"{row['id']}  {row['due']}  {row['kind']:<10} {row['status']:<6} {who}  {row['note']}"
        )


@task.command("close")
@click.argument("task_id", metavar="ID")
@db_option()
@click.option("--cancel", is_flag=True, help="Cancel it instead (nothing more to do).")
@json_option()
def close(task_id: str, target: str, cancel: bool, as_json: bool) -> None:
    """Close task ID by hand: done (or cancelled with --cancel)."""
    import difflib

    from ..errors import NotFoundError
    from ..model import Task, TaskStatus
    from ..notifications.routing import campaign_zone
    from ..sweep.tasks import close_task

    with open_existing(target) as ws:
        with ws.transaction(write=False) as uow:
            known = uow.existing_ids(Task, {task_id})
        if not known:
            ids = [t.id for t in ws.find(Task, status="open")]
            close_ids = difflib.get_close_matches(task_id, ids, n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close_ids)}?" if close_ids else ""
            raise NotFoundError(f"unknown task {task_id!r}{hint}")
        record = close_task(ws, task_id, TaskStatus.CANCELLED if cancel else TaskStatus.DONE)
        data = task_dict(record, campaign_zone(ws, None))
    if as_json:
        echo_json(data)
    else:
        click.echo(f"task {task_id}: {data['status']}")
