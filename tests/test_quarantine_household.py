"""Ordering a household whose members are partly under order: per member, in one go."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.model.assessments import QuarantineOrder
from gridguard.quarantine import order_household
from gridguard.quarantine.household import COVERED, EXTENDED, ORDERED
from quarantine_helpers import T0, order_by_hand, records, ws

__all__ = ["ws"]


def _household(ws: Any, exposure: dt.date) -> Any:
    return order_household(
        ws, "h1", last_exposure=exposure, ordered_by="刘医生", reason="家庭密接", at=T0
    )


def test_a_household_without_orders_gets_one_order(ws: Any) -> None:
    done = _household(ws, dt.date(2020, 1, 28))
    (order,) = ws.find(QuarantineOrder)
    assert order.person_id is None
    assert [(m.person_id, m.action, m.order_id) for m in done.members] == [
        ("p1", ORDERED, order.id),
        ("p2", ORDERED, order.id),
    ]


def test_members_under_order_are_extended_and_the_others_ordered(ws: Any) -> None:
    mine = order_by_hand(ws)  # p1, exposed on the 28th: released on 12 February
    done = _household(ws, dt.date(2020, 1, 29))
    by_person = {m.person_id: m for m in done.members}
    assert by_person["p1"].action == EXTENDED
    assert by_person["p1"].order_id == mine.id
    assert by_person["p1"].end == dt.date(2020, 2, 13)
    assert ws.get(QuarantineOrder, mine.id).end == dt.date(2020, 2, 13)
    assert by_person["p2"].action == ORDERED
    p2 = ws.get(QuarantineOrder, by_person["p2"].order_id)
    assert (p2.person_id, p2.household_id, p2.end) == ("p2", "h1", dt.date(2020, 2, 13))
    assert ws.count(QuarantineOrder) == 2


def test_an_earlier_exposure_changes_nothing_and_says_so(ws: Any) -> None:
    _household(ws, dt.date(2020, 1, 29))
    order_by_hand(ws, person_id=None, household_id="h2", last_exposure=dt.date(2020, 1, 29))
    before = sorted((o.id, o.end) for o in ws.find(QuarantineOrder))
    done = _household(ws, dt.date(2020, 1, 28))
    assert {m.action for m in done.members} == {COVERED}
    assert sorted((o.id, o.end) for o in ws.find(QuarantineOrder)) == before


def test_the_command_reports_per_member(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with gridguard.open(db) as store:
        store.add(records())
        order_by_hand(store)
    result = CliRunner().invoke(
        main,
        ["quarantine", "order", "--db", str(db), "--household", "h1",
         "--last-exposure", "2020-01-29", "--by", "刘医生", "--reason", "家庭密接",
         "--at", "2020-01-30T09:00", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    members = {m["person_id"]: m["action"] for m in json.loads(result.output)["members"]}
    assert members == {"p1": "extended", "p2": "ordered"}
