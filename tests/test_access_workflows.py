"""Workflows ask the workspace before they touch the store: one check and one audit entry each."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import gridguard
from gridguard import AccessDenied, Principal, Role, Visit
from gridguard.screening import screen
from gridguard.security.audit import AuditEntry
from gridguard.sweep import Sweep
from gridguard.targeting import import_file
from gridguard.testing import sample_records
from gridguard.workspace import WHOLE_STORE, Workspace


@pytest.fixture
def admin(tmp_path: Path) -> gridguard.Workspace:
    ws = gridguard.open(tmp_path / "w.db")
    ws.add(sample_records())
    return ws


def _as(admin: Workspace, **principal: str) -> Workspace:
    return Workspace(admin.storage, principal=Principal(**principal))  # type: ignore[arg-type]


def report_time() -> dt.datetime:
    return dt.datetime(2020, 1, 26, 2, tzinfo=dt.UTC)


def _last(admin: Workspace) -> AuditEntry:
    return max(admin.find(AuditEntry), key=lambda e: e.seq)


def test_rule_screening_needs_a_medical_role_over_the_whole_campaign(admin: Workspace) -> None:
    secretary = _as(admin, name="书记", role=Role.COMMUNITY_SECRETARY, area_id="east")
    with pytest.raises(AccessDenied, match=r"may not rules\.screen Campaign:cmp: .*health"):
        screen(secretary)
    doctor_c1 = _as(admin, name="医生", role=Role.COMMUNITY_DOCTOR, area_id="c1")
    with pytest.raises(AccessDenied, match="outside area:c1"):
        screen(doctor_c1)  # the campaign spans c1 and c2
    doctor = _as(admin, name="区医生", role=Role.COMMUNITY_DOCTOR, area_id="east")
    screen(doctor)
    entries = [e for e in admin.find(AuditEntry) if e.principal == "区医生"]
    assert [(e.action, e.target, e.outcome.value) for e in entries][:1] == [
        ("rules.screen", "Campaign:cmp", "allowed")
    ]


def test_register_import_and_list_matching_need_an_unscoped_principal(
    admin: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "persons.csv"
    path.write_text("household_id,name\nh1,新住户\n", encoding="utf-8")
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    with pytest.raises(AccessDenied, match=r"targeting\.import the whole store"):
        import_file(worker, "persons", path)
    assert _last(admin).outcome.value == "denied"
    assert import_file(admin, "persons", path).inserted == 1
    assert WHOLE_STORE == "*"


def test_sweep_recording_is_checked_per_household(admin: Workspace, tmp_path: Path) -> None:
    lines = [
        {"household_id": "h1", "at": "2020-01-26T10:00:00+08:00", "outcome": "screened"},
        {"household_id": "h3", "at": "2020-01-26T10:05:00+08:00", "outcome": "screened"},
    ]
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    observer = _as(admin, name="楼长", role=Role.BUILDING_OBSERVER, building_id="b1")
    with pytest.raises(AccessDenied, match="no read access to campaign records"):
        Sweep(observer).record_file(path)
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    report = Sweep(worker).record_file(path)  # h3 is in another community's grid
    assert (report.accepted, report.visits_written) == (1, 1)
    ((error,),) = [e.violations for e in report.errors]
    assert (error.path, error.value) == ("$.household_id", "'h3'")
    assert [v.household_id for v in admin.find(Visit)] == ["h1"]
    with pytest.raises(AccessDenied, match="outside area:g1"):
        worker.record([Visit(at=report_time(), household_id="h3", outcome="screened")])
    entries = sorted(admin.find(AuditEntry), key=lambda e: e.seq)
    actions = [(e.action, e.outcome.value) for e in entries if e.principal == "网格员"]
    assert actions == [("sweep.record", "allowed"), ("write", "allowed"), ("write", "denied")]


def test_authorize_names_principal_action_and_target(admin: Workspace) -> None:
    volunteer = _as(admin, name="志愿者", role=Role.SERVICE_VOLUNTEER, area_id="c1")
    with pytest.raises(AccessDenied) as info:
        volunteer.authorize("notify.enqueue", "c1")
    assert str(info.value) == (
        "志愿者 (service_volunteer, area:c1) may not notify.enqueue area:c1: "
        "a service_volunteer has no write access to outbox records"
    )
    secretary = _as(admin, name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1")
    secretary.authorize("notify.enqueue", "g1")
    with pytest.raises(AccessDenied, match=r"notify\.enqueue area:c2: outside area:c1"):
        secretary.authorize("notify.enqueue", "c2")
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    with pytest.raises(AccessDenied, match=r"unknown\.thing .*other records"):
        worker.authorize("unknown.thing")  # an operation nobody declared
    assert admin.get(gridguard.Area, "c1").name  # the administrator is not affected
