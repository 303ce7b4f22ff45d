"""Access control of the building watch, quarantine and services: each role, what it may do.

The sample tree (communities ``c1`` and ``c2``, buildings ``b1`` and ``b2``)
with a village group and its monitoring point under ``c1``; every workflow is
called as each relevant role, and the store (read by the administrator)
shows what was and was not written. Expectations follow the permission
table in :mod:`gridguard.security.access`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import gridguard
from gridguard import AccessDenied, Area, AreaLevel, Building, CheckIn, Person, Principal, Role
from gridguard.model import HealthReport, ServiceRequest
from gridguard.model.assessments import QuarantineOrder, Task
from gridguard.quarantine import (
    census,
    check_missed,
    extend,
    order_quarantine,
    record_reports,
    release,
    release_due,
)
from gridguard.security.audit import AuditEntry
from gridguard.services import (
    ServiceAssignment,
    ServiceCompletion,
    assign_service,
    complete_service,
    open_requests,
    request_service,
)
from gridguard.watch import (
    POINTS,
    MonitoringPoint,
    PointReport,
    add_point,
    assign_observer,
    missing,
    observer_coverage,
    record_checkins,
    record_point_reports,
)
from gridguard.workspace import Workspace
from quarantine_helpers import T0, local, records

DAY = dt.date(2020, 1, 30)
AT = local(DAY, 8)

PRINCIPALS = {
    "observer_b1": Principal(name="楼长", role=Role.BUILDING_OBSERVER, building_id="b1"),
    "grid_worker_g1": Principal(name="网格员", role=Role.GRID_WORKER, area_id="g1"),
    "grid_worker_vg1": Principal(name="村网格员", role=Role.GRID_WORKER, area_id="vg1"),
    "team_member_g1": Principal(name="队员", role=Role.TEAM_MEMBER, area_id="g1"),
    "secretary_c1": Principal(name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1"),
    "secretary_c2": Principal(name="二书记", role=Role.COMMUNITY_SECRETARY, area_id="c2"),
    "doctor_c1": Principal(name="医生", role=Role.COMMUNITY_DOCTOR, area_id="c1"),
    "doctor_c2": Principal(name="二医生", role=Role.COMMUNITY_DOCTOR, area_id="c2"),
    "volunteer_c1": Principal(name="志愿者", role=Role.SERVICE_VOLUNTEER, area_id="c1"),
    "volunteer_c2": Principal(name="二志愿者", role=Role.SERVICE_VOLUNTEER, area_id="c2"),
    "auditor": Principal(name="审计", role=Role.AUDITOR, area_id="east"),
}


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Workspace]:
    ws = gridguard.open(tmp_path / "w.db")
    ws.add(
        [
            *records(),
            Person(id="p5", household_id="h3", name="赵敏", phone="13900001111"),
            Area(id="vg1", name="一组", level=AreaLevel.VILLAGE_GROUP, parent_id="c1"),
        ]
    )
    assign_observer(ws, "b1", "p2")
    assign_observer(ws, "b2", "p5")
    with ws:
        yield ws


def _as(admin: Workspace, who: str) -> Workspace:
    return Workspace(
        admin.storage,
        principal=PRINCIPALS[who],
        plugin_manager=admin.plugin_manager,
        registries=admin.registries,
    )


def _checkin(building: str, observer: str) -> CheckIn:
    return CheckIn(at=AT, building_id=building, observer_id=observer)


def _last(admin: Workspace) -> AuditEntry:
    return max(admin.find(AuditEntry), key=lambda e: e.seq)


# -- building watch ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "stored"),
    [
        ("observer_b1", {"b1"}),  # her own building only
        ("grid_worker_g1", {"b1"}),
        ("secretary_c1", {"b1"}),
        ("doctor_c1", {"b1"}),
        ("secretary_c2", {"b2"}),
        ("team_member_g1", None),  # no check-in access at all
        ("volunteer_c1", None),
        ("auditor", None),  # writes nothing
    ],
)
def test_checkins_are_recorded_only_inside_the_scope(
    admin: Workspace, who: str, stored: set[str] | None
) -> None:
    ws = _as(admin, who)
    batch = [_checkin("b1", "p2"), _checkin("b2", "p5")]
    if stored is None:
        with pytest.raises(AccessDenied, match=r"may not watch\.checkin"):
            record_checkins(ws, batch)
        assert admin.count(CheckIn) == 0
        assert (_last(admin).action, _last(admin).outcome.value) == ("watch.checkin", "denied")
        return
    report = record_checkins(ws, batch)
    assert {c.building_id for c in admin.find(CheckIn)} == stored
    assert report.accepted == 1
    (error,) = report.errors
    assert error.violations[0].path == "$.building_id"
    assert "outside" in error.violations[0].rule


def test_monitoring_points_and_their_reports(admin: Workspace) -> None:
    point = MonitoringPoint(id="mp1", area_id="vg1", name="一组监测点", observer_id="p2")
    for who in ("grid_worker_vg1", "observer_b1", "volunteer_c1", "secretary_c2"):
        with pytest.raises(AccessDenied, match=r"watch\.point"):
            add_point(_as(admin, who), point)
    assert admin.find(MonitoringPoint) == []
    add_point(_as(admin, "secretary_c1"), point)
    assert admin.get(MonitoringPoint, "mp1") == point

    report = PointReport(at=AT, point_id="mp1", observer_id="p2")
    for who in ("secretary_c2", "grid_worker_g1", "observer_b1"):
        with pytest.raises(AccessDenied, match=r"watch\.point_report MonitoringPoint:mp1: outside"):
            record_point_reports(_as(admin, who), [report])
    for who in ("team_member_g1", "volunteer_c1", "auditor"):
        with pytest.raises(AccessDenied, match="no write access to check_in records"):
            record_point_reports(_as(admin, who), [report])
    assert admin.find(PointReport) == []
    assert record_point_reports(_as(admin, "grid_worker_vg1"), [report]).written == 1
    # a point and its report fall into the place and check-in categories, not "other"
    assert _as(admin, "grid_worker_vg1").find(MonitoringPoint) == [point]
    assert _as(admin, "secretary_c2").find(MonitoringPoint) == []
    with pytest.raises(AccessDenied, match="PointReport"):
        _as(admin, "team_member_g1").find(PointReport)


def test_missing_reports_and_coverage_stay_inside_the_scope(admin: Workspace) -> None:
    add_point(admin, MonitoringPoint(id="mp1", area_id="vg1", name="一组", observer_id="p2"))
    everywhere = {m.place_id for m in missing(admin, DAY)}
    assert everywhere == {"b1", "b2"}
    assert {m.place_id for m in missing(_as(admin, "observer_b1"), DAY)} == {"b1"}
    assert {m.place_id for m in missing(_as(admin, "grid_worker_g1"), DAY)} == {"b1"}
    assert {m.place_id for m in missing(_as(admin, "secretary_c2"), DAY)} == {"b2"}
    assert missing(_as(admin, "grid_worker_g1"), DAY, kind=POINTS) == []
    assert [m.place_id for m in missing(_as(admin, "secretary_c1"), DAY, kind=POINTS)] == ["mp1"]
    with pytest.raises(AccessDenied, match=r"watch\.missing"):
        missing(_as(admin, "volunteer_c1"), DAY)

    assert {c.area_id for c in observer_coverage(admin)} == {"g1", "g2"}
    assert [c.area_id for c in observer_coverage(_as(admin, "secretary_c1"))] == ["g1"]
    assert [c.area_id for c in observer_coverage(_as(admin, "secretary_c2"), "community")] == ["c2"]
    assert observer_coverage(_as(admin, "observer_b1")) == []


def test_assigning_an_observer_needs_the_place_and_the_person_in_scope(admin: Workspace) -> None:
    with pytest.raises(AccessDenied, match=r"watch\.observer Building:b1"):
        assign_observer(_as(admin, "grid_worker_g1"), "b1", "p1")
    with pytest.raises(AccessDenied, match="outside area:c2"):
        assign_observer(_as(admin, "secretary_c2"), "b1", "p5")
    from gridguard.errors import ValidationError

    with pytest.raises(ValidationError, match="unknown person"):
        assign_observer(_as(admin, "secretary_c1"), "b1", "p5")  # p5 lives in c2
    assert admin.get(Building, "b1").observer_id == "p2"
    assign_observer(_as(admin, "secretary_c2"), "b2", None)
    assert admin.get(Building, "b2").observer_id is None


# -- quarantine --------------------------------------------------------------------------------


def _order(ws: Workspace, person: str = "p1") -> QuarantineOrder:
    return order_quarantine(
        ws,
        person_id=person,
        last_exposure=dt.date(2020, 1, 28),
        ordered_by="刘医生",
        reason="密切接触",
        at=T0,
    )


@pytest.mark.parametrize(
    "who", ["secretary_c1", "grid_worker_g1", "team_member_g1", "volunteer_c1", "auditor"]
)
def test_quarantine_is_for_medical_roles_only(admin: Workspace, who: str) -> None:
    order = _order(admin)
    ws = _as(admin, who)
    report = HealthReport(at=local(DAY, 9), person_id="p1", temperature=36.5)
    calls = {
        "quarantine.order": lambda: _order(ws, "p2"),
        "quarantine.report": lambda: record_reports(ws, [report]),
        "quarantine.extend": lambda: extend(ws, order.id, last_exposure=DAY, at=T0),
        "quarantine.release": lambda: release(ws, order.id, reason="阴性", released_by="x", at=T0),
        "quarantine.check": lambda: check_missed(ws, now=T0),
    }
    for action, call in calls.items():
        # an auditor may be refused any write before the workflow asks anything else
        expected = (
            rf"may not ({action}.*health|write the store)"
            if who == "auditor"
            else rf"may not {action}.*health"
        )
        with pytest.raises(AccessDenied, match=expected):
            call()
    assert [o.id for o in admin.find(QuarantineOrder)] == [order.id]
    assert admin.get(QuarantineOrder, order.id) == order
    assert admin.count(HealthReport) == 0


def test_a_doctor_works_on_her_own_community_only(admin: Workspace) -> None:
    c1, c2 = _as(admin, "doctor_c1"), _as(admin, "doctor_c2")
    with pytest.raises(
        AccessDenied, match=r"quarantine\.order Person:p1: unknown or outside area:c2"
    ):
        _order(c2)
    order = _order(c1)
    report = HealthReport(at=local(DAY, 9), person_id="p1", temperature=38.2)
    with pytest.raises(AccessDenied, match=r"quarantine\.report Person:p1: outside"):
        record_reports(c2, [report])
    with pytest.raises(AccessDenied, match=r"quarantine\.extend QuarantineOrder:"):
        extend(c2, order.id, last_exposure=DAY, at=local(DAY, 10))
    with pytest.raises(AccessDenied, match=r"quarantine\.release QuarantineOrder:"):
        release(c2, order.id, reason="阴性", released_by="二医生", at=local(DAY, 10))
    assert record_reports(c1, [report]).referrals == 1
    assert extend(c1, order.id, last_exposure=DAY, at=local(DAY, 10)).extended
    # jobs over the whole store see only the orders in the doctor's scope
    late = local(dt.date(2020, 2, 1), 13)
    assert check_missed(c2, now=late).checked == 0
    assert check_missed(c1, now=late).new_tasks > 0
    after_end = local(dt.date(2020, 3, 1), 9)
    assert release_due(c2, at=after_end) == []
    assert [r.order_id for r in release_due(c1, at=after_end)] == [order.id]
    tasks = admin.find(Task)
    assert tasks
    assert {t.household_id for t in tasks} == {"h1"}


def test_the_census_counts_inside_the_scope(admin: Workspace) -> None:
    _order(admin, "p1")
    _order(admin, "p4")
    assert [r.area_id for r in census(admin, day=DAY)] == ["c1", "c2"]
    assert [r.area_id for r in census(_as(admin, "doctor_c1"), day=DAY)] == ["c1"]
    assert [r.area_id for r in census(_as(admin, "secretary_c2"), day=DAY)] == ["c2"]
    assert [r.area_id for r in census(_as(admin, "grid_worker_g1"), day=DAY, by="grid")] == ["g1"]
    assert census(_as(admin, "grid_worker_g1"), day=DAY) == []  # not her whole community
    assert [r.area_id for r in census(_as(admin, "auditor"), day=DAY)] == ["c1", "c2"]
    for who in ("observer_b1", "volunteer_c1"):
        with pytest.raises(AccessDenied, match=r"quarantine\.census"):
            census(_as(admin, who), day=DAY)


# -- services ----------------------------------------------------------------------------------


def test_service_requests_by_volunteers_and_the_community(admin: Workspace) -> None:
    _order(admin, "p1")
    _order(admin, "p4")

    def ask(ws: Workspace, household: str) -> ServiceRequest:
        return request_service(ws, household_id=household, service="groceries", at=local(DAY, 9))

    for who in ("team_member_g1", "observer_b1"):
        with pytest.raises(AccessDenied, match=r"service\.request"):
            ask(_as(admin, who), "h1")
    with pytest.raises(AccessDenied, match="this role writes nothing"):
        ask(_as(admin, "auditor"), "h1")
    with pytest.raises(
        AccessDenied, match=r"service\.request Household:h3: unknown or outside area:c1"
    ):
        ask(_as(admin, "volunteer_c1"), "h3")
    assert admin.count(ServiceRequest) == 0
    mine = ask(_as(admin, "volunteer_c1"), "h1")
    theirs = ask(_as(admin, "grid_worker_g1"), "h1")
    other = ask(_as(admin, "secretary_c2"), "h3")

    volunteer = _as(admin, "volunteer_c1")
    with pytest.raises(AccessDenied, match=r"service\.assign ServiceRequest:"):
        assign_service(volunteer, other.id, team_id="svc1", at=local(DAY, 10))
    with pytest.raises(AccessDenied, match=r"service\.assign"):
        assign_service(_as(admin, "team_member_g1"), mine.id, team_id="svc1", at=local(DAY, 10))
    from gridguard.errors import ValidationError

    with pytest.raises(ValidationError, match="no such person"):
        assign_service(volunteer, mine.id, person_id="p5", at=local(DAY, 10))  # p5 is in c2
    assign_service(volunteer, mine.id, team_id="svc1", at=local(DAY, 10))
    with pytest.raises(AccessDenied, match=r"service\.done"):
        complete_service(_as(admin, "volunteer_c2"), mine.id, at=local(DAY, 11))
    complete_service(volunteer, mine.id, at=local(DAY, 11))
    assert len(admin.find(ServiceAssignment)) == 1
    assert len(admin.find(ServiceCompletion)) == 1

    assert {o.request_id for o in open_requests(volunteer)} == {str(theirs.id)}
    assert {o.request_id for o in open_requests(_as(admin, "volunteer_c2"))} == {str(other.id)}
    assert {o.request_id for o in open_requests(admin)} == {str(theirs.id), str(other.id)}
    with pytest.raises(AccessDenied, match=r"service\.read"):
        open_requests(_as(admin, "observer_b1"))


def test_watch_quarantine_and_service_records_have_their_categories() -> None:
    from gridguard.quarantine import QuarantineExtension, QuarantineRelease
    from gridguard.security.access import Category, category_of

    assert category_of(MonitoringPoint) is Category.PLACE
    assert category_of(PointReport) is Category.CHECK_IN
    assert category_of(ServiceAssignment) is Category.SERVICE
    assert category_of(ServiceCompletion) is Category.SERVICE
    assert category_of(QuarantineRelease) is Category.HEALTH
    assert category_of(QuarantineExtension) is Category.HEALTH


def test_allowed_workflow_runs_are_one_audit_entry_each(admin: Workspace) -> None:
    doctor = _as(admin, "doctor_c1")
    _order(doctor)
    reports = [
        HealthReport(id=uuid.uuid4(), at=local(DAY, h), person_id="p1", temperature=36.5)
        for h in (8, 16)
    ]
    record_reports(doctor, reports)
    mine = [e for e in admin.find(AuditEntry) if e.principal == "医生"]
    actions = [(e.action, e.target, e.count) for e in mine if e.action.startswith("quarantine")]
    assert actions[0][:2] == ("quarantine.order", "Person:p1")
    assert actions[1] == ("quarantine.report", "Person:p1", 1)
    assert attrs.has(type(mine[0]))
