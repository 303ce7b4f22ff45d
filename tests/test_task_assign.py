"""``gridguard task assign`` (:func:`~gridguard.sweep.tasks.assign_task`): to a fit team only.

A task goes to a team of its household's community, of the kind its work
needs (a delivery to a service team, the rest to a sweep team), whose members
meet the composition policy; anything else is refused with the reason, and the
assignee is stored, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.errors import NotFoundError, ValidationError
from gridguard.model import (
    CompositionPolicy,
    MemberRole,
    Task,
    TaskKind,
    TaskStatus,
    Team,
    TeamMember,
)
from gridguard.sweep.tasks import assign_task
from quarantine_helpers import SERVICE_TEAM, records
from rules_pg import pg_schema

LENIENT = CompositionPolicy(min_members={}, required_roles={})
DUE = dt.datetime(2020, 1, 30, 1, 0, tzinfo=dt.UTC)


def task(id: str, household_id: str, kind: TaskKind = TaskKind.VISIT, **kw: Any) -> Task:
    return Task(
        id=id,
        household_id=household_id,
        kind=kind,
        due=DUE,
        rule_id="r",
        rule_set_id="rs",
        rule_set_version="1",
        **kw,
    )


def world() -> list[Any]:
    return [
        *records(),
        # t1 (sample, c1, a sweep team with its doctor) and svc1 (c1, service) are fit;
        Team(
            id="t-nodoc",
            name="缺医生",
            area_id="c1",
            members=(
                TeamMember(name="甲", role=MemberRole.CADRE),
                TeamMember(name="乙", role=MemberRole.POLICE),
            ),
        ),
        Team(
            id="t-c2",
            name="库充小分队",
            area_id="c2",
            members=(
                TeamMember(name="丙", role=MemberRole.CADRE),
                TeamMember(name="丁", role=MemberRole.DOCTOR),
            ),
        ),
    ]


def fill(url: Any) -> None:
    """The sample tree, four teams and three tasks (tasks are written as rules write them).

    The store is filled under a policy that asks nothing, as a campaign that
    asked less would have left it, so that it may hold a sweep team without a
    doctor; it is then used under the default policy, which asks for one.
    """
    with gridguard.open(url, composition_policy=LENIENT) as store:
        store.add(world())
        tasks = [
            task("k-visit", "h1"),
            task("k-deliver", "h1", TaskKind.DELIVERY),
            task("k-done", "h2", status=TaskStatus.DONE),
        ]
        with store.transaction() as uow:
            uow.put(Task, tasks)


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        fill(tmp_path / "t.db")
        with gridguard.open(tmp_path / "t.db") as store:
            yield store
        return
    with pg_schema() as (url, _):
        fill(url)
        with gridguard.open(url) as store:
            yield store


def test_a_task_goes_to_a_fit_team_and_the_assignee_is_stored(ws: Any) -> None:
    assert ws.get(Task, "k-visit").assignee is None
    assert assign_task(ws, "k-visit", "t1").assignee == "t1"
    assert assign_task(ws, "k-deliver", SERVICE_TEAM.id).assignee == SERVICE_TEAM.id
    assert ws.get(Task, "k-visit").assignee == "t1"
    assert ws.get(Task, "k-deliver").assignee == SERVICE_TEAM.id
    assert [t.id for t in ws.find(Task, assignee="t1")] == ["k-visit"]


@pytest.mark.parametrize(
    ("task_id", "team_id", "reason"),
    [
        ("k-visit", "t-nodoc", "a sweep team needs at least 1 doctor"),
        ("k-visit", "t-c2", "the team works for c2, not c1"),
        ("k-visit", SERVICE_TEAM.id, "a visit task goes to a sweep team, not a service team"),
        ("k-deliver", "t1", "a delivery task goes to a service team, not a sweep team"),
        ("k-done", "t1", "only an open task is assigned"),
    ],
)
def test_an_unfit_team_or_a_closed_task_is_refused_with_the_reason(
    ws: Any, task_id: str, team_id: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        assign_task(ws, task_id, team_id)
    assert ws.get(Task, task_id).assignee is None


def test_unknown_ids_are_not_found(ws: Any) -> None:
    with pytest.raises(NotFoundError):
        assign_task(ws, "k-visit", "t-none")
    with pytest.raises(NotFoundError):
        assign_task(ws, "k-none", "t1")


def test_the_command_assigns_refuses_with_exit_2_and_lists_the_assignee(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    fill(db)
    run = CliRunner().invoke
    done = run(main, ["task", "assign", "k-visit", "--team", "t1", "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert "已分配给" in done.output
    refused = run(main, ["task", "assign", "k-deliver", "--team", "t1", "--db", str(db)])
    assert refused.exit_code == 2
    assert "a delivery task goes to a service team" in refused.output
    unknown = run(main, ["task", "assign", "k-visit", "--team", "t9", "--db", str(db)])
    assert unknown.exit_code == 2
    assert "unknown team 't9'" in unknown.output
    listed = run(main, ["task", "list", "--db", str(db), "--json"])
    assignees = {t["id"]: t["assignee"] for t in json.loads(listed.stdout)["tasks"]}
    assert assignees["k-visit"] == "t1"
    assert assignees["k-deliver"] is None


def test_a_store_of_schema_12_gains_the_column_with_its_tasks_unassigned(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    fill(db)
    with sqlite3.connect(db) as connection:  # back to version 12, as an older gridguard left it
        connection.execute("UPDATE tasks SET assignee = NULL")
        connection.execute("ALTER TABLE tasks DROP COLUMN assignee")
        connection.execute("UPDATE gridguard_meta SET value = '12' WHERE key = 'schema_version'")
    connection.close()
    with gridguard.open(db) as store:
        assert store.get(Task, "k-visit").assignee is None
        assert assign_task(store, "k-visit", "t1").assignee == "t1"
