"""Services for quarantined households: request, assign, done, overdue; and the commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gridguard.cli import main
from gridguard.errors import ConflictError, NotFoundError, ValidationError
from gridguard.model import ServiceRequest
from gridguard.services import (
    ServiceAssignment,
    ServiceCompletion,
    assign_service,
    complete_service,
    open_requests,
    overdue,
    request_service,
)
from quarantine_helpers import local, open_store, order_by_hand, ws

__all__ = ["ws"]

DAY = dt.date(2020, 1, 30)


def _request(ws: Any, hour: int = 9, **kw: Any) -> ServiceRequest:
    args: dict[str, Any] = {"household_id": "h1", "service": "groceries", "note": "大米 青菜"}
    args.update(kw)
    return request_service(ws, at=local(DAY, hour), **args)


def test_only_a_quarantined_household_may_ask(ws: Any) -> None:
    with pytest.raises(ValidationError, match=r"\$\.household_id.*quarantine"):
        _request(ws)
    order_by_hand(ws)
    with pytest.raises(ValidationError, match="quarantine"):
        _request(ws, household_id="h2")
    with pytest.raises(ValidationError, match="no such household"):
        _request(ws, household_id="nowhere")
    with pytest.raises(ValidationError, match=r"\$\.service"):
        _request(ws, service="haircut")
    assert ws.count(ServiceRequest) == 0
    request = _request(ws)
    assert ws.get(ServiceRequest, str(request.id)) == request


def test_assign_to_a_service_team_or_a_person(ws: Any) -> None:
    order_by_hand(ws)
    request = _request(ws)
    with pytest.raises(ValidationError, match="must be a service team"):
        assign_service(ws, request.id, team_id="t1", at=local(DAY, 9))
    with pytest.raises(ValidationError, match="exactly one"):
        assign_service(ws, request.id, team_id="svc1", person_id="p2", at=local(DAY, 9))
    with pytest.raises(ValidationError, match="no such person"):
        assign_service(ws, request.id, person_id="ghost", at=local(DAY, 9))
    with pytest.raises(NotFoundError):
        assign_service(ws, "00000000-0000-0000-0000-000000000000", team_id="svc1")
    team = assign_service(ws, request.id, team_id="svc1", at=local(DAY, 9, 5))
    assert team.due == request.at + dt.timedelta(hours=24)
    assert assign_service(ws, request.id, team_id="svc1", at=local(DAY, 9, 5)) == team
    person = assign_service(
        ws, request.id, person_id="p2", due=local(DAY, 12), at=local(DAY, 9, 30)
    )
    (open_one,) = open_requests(ws)
    assert (open_one.person_id, open_one.team_id, open_one.due) == ("p2", None, person.due)
    with ws.transaction(write=False) as uow:
        assert uow.count(ServiceAssignment) == 2


def test_done_closes_a_request_once(ws: Any) -> None:
    order_by_hand(ws)
    request = _request(ws)
    with pytest.raises(ValidationError, match="before the request"):
        complete_service(ws, request.id, at=local(DAY, 8))
    complete_service(ws, request.id, at=local(DAY, 11), note="已送达")
    assert open_requests(ws) == []
    with pytest.raises(ConflictError, match="already done"):
        complete_service(ws, request.id, at=local(DAY, 12))
    with pytest.raises(ConflictError, match="already done"):
        assign_service(ws, request.id, team_id="svc1", at=local(DAY, 12))
    with ws.transaction(write=False) as uow:
        assert uow.count(ServiceCompletion) == 1


def test_overdue_means_open_past_the_due_time(ws: Any) -> None:
    order_by_hand(ws)
    late = _request(ws, 8)
    assign_service(ws, late.id, team_id="svc1", due=local(DAY, 14), at=local(DAY, 8))
    unassigned = _request(ws, 10)
    done = _request(ws, 9)
    assign_service(ws, done.id, team_id="svc1", due=local(DAY, 12), at=local(DAY, 9))
    complete_service(ws, done.id, at=local(DAY, 13))
    assert overdue(ws, now=local(DAY, 14)) == []
    (first,) = overdue(ws, now=local(DAY, 14, 1))
    assert first.request_id == str(late.id)
    assert first.team_id == "svc1"
    later = overdue(ws, now=local(DAY + dt.timedelta(days=1), 10, 1))
    assert [o.request_id for o in later] == [str(late.id), str(unassigned.id)]


def test_open_requests_agree_between_memory_and_sqlite(tmp_path: Path) -> None:
    found = []
    for kind in ("memory", "sqlite"):
        with open_store(kind, tmp_path) as store:
            order_by_hand(store)
            a = request_service(
                store,
                id=__import__("uuid").UUID(int=1),
                household_id="h1",
                service="medicine",
                at=local(DAY, 9),
            )
            assign_service(store, a.id, team_id="svc1", at=local(DAY, 9, 1))
            assign_service(store, a.id, person_id="p2", due=local(DAY, 18), at=local(DAY, 9, 2))
            found.append(overdue(store, now=local(DAY, 20)))
    assert found[0] == found[1]
    assert found[0][0].person_id == "p2"


# -- commands --------------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_the_commands_from_order_to_census(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    open_store("sqlite", path.parent).close()
    (tmp_path / "q.db").rename(path)
    db = ["--db", str(path)]
    made = _run(
        "quarantine", "order", *db, "--person", "p1", "--last-exposure", "2020-01-28",
        "--by", "刘医生", "--reason", "密切接触", "--at", "2020-01-30T09:00", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    order = json.loads(made.output)
    # Exposed on the 28th: observed from the 29th to 11 February, released on the 12th.
    assert (order["start"], order["end"], order["ordered_by"]) == (
        "2020-01-29",
        "2020-02-12",
        "刘医生",
    )
    hot = _run(
        "quarantine", "report", *db, "--person", "p1", "--temperature", "38.2",
        "--symptom", "cough", "--at", "2020-01-30T08:30", "--json",
    )  # fmt: skip
    assert hot.exit_code == 0, hot.output
    assert json.loads(hot.output)["referrals"] == 1
    refused = _run("quarantine", "report", *db, "--person", "p3", "--temperature", "36.5",
                   "--at", "2020-01-30T08:30")  # fmt: skip
    assert refused.exit_code == 2
    assert "no active quarantine order" in refused.output
    hot46 = _run("quarantine", "report", *db, "--person", "p1", "--temperature", "46")
    assert hot46.exit_code == 2
    assert "30 to 45" in hot46.output
    check = _run("quarantine", "check", *db, "--at", "2020-01-31T00:30",
                 "--since", "2020-01-30T00:00", "--json")  # fmt: skip
    assert check.exit_code == 0, check.output
    assert [m["slot"] for m in json.loads(check.output)["missed"]] == ["2020-01-30 PM"]
    ext = _run("quarantine", "extend", *db, order["id"], "--last-exposure", "2020-01-30",
               "--at", "2020-01-31T09:00", "--json")  # fmt: skip
    assert json.loads(ext.output)["end"] == "2020-02-14"
    census = _run("quarantine", "census", *db, "--date", "2020-01-30", "--json")
    assert json.loads(census.output)["areas"][0]["active"] == 1
    early = _run("quarantine", "release", *db, order["id"], "--at", "2020-02-01T09:00")
    assert early.exit_code == 2
    assert "needs a reason" in early.output
    req = _run("service", "request", *db, "--household", "h1", "--note", "大米",
               "--at", "2020-01-30T09:00", "--json")  # fmt: skip
    assert req.exit_code == 0, req.output
    rid = json.loads(req.output)["id"]
    assigned = _run("service", "assign", *db, rid, "--team", "svc1", "--due",
                    "2020-01-30T15:00", "--json")  # fmt: skip
    assert assigned.exit_code == 0, assigned.output
    late = _run("service", "overdue", *db, "--at", "2020-01-30T16:00", "--json")
    assert [o["request_id"] for o in json.loads(late.output)["overdue"]] == [rid]
    done = _run("service", "done", *db, rid, "--at", "2020-01-30T16:30")
    assert done.exit_code == 0, done.output
    assert json.loads(_run("service", "overdue", *db, "--json").output)["overdue"] == []
    released = _run("quarantine", "release", *db, "--due", "--at", "2020-02-14T08:00", "--json")
    assert [r["order_id"] for r in json.loads(released.output)["released"]] == [order["id"]]
