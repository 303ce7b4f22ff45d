"""The entry points that once skipped the access check: scope, role and audit for each.

Each test is one reproduction of an attack on a store of two communities
(or two grids of one community): a principal of one grid must get nothing
of the other, a role that may not read a category gets a refusal, and each
read of personal data leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import gridguard
from gridguard import AccessDenied, Principal, Role, Visit
from gridguard.model import OutboxMessage
from gridguard.notifications import Notifications, NotifySettings
from gridguard.notifications.routing import Event
from gridguard.security.audit import AuditEntry
from gridguard.sweep import Sweep
from gridguard.targeting import compute_targets, match_list, ranked_targets, review_queue
from gridguard.targeting.targets import Target
from gridguard.testing import sample_records
from gridguard.workspace import Workspace
from test_targeting_match import CASES, DAY, register, write_list

AT = dt.datetime(2020, 1, 26, 2, tzinfo=dt.UTC)


def _as(admin: Workspace, **principal: str) -> Workspace:
    return Workspace(admin.storage, principal=Principal(**principal))  # type: ignore[arg-type]


def _entries(admin: Workspace, name: str) -> list[AuditEntry]:
    admin.flush_audit()
    return sorted((e for e in admin.find(AuditEntry) if e.principal == name), key=lambda e: e.seq)


@pytest.fixture
def two_communities(tmp_path: Path) -> Workspace:
    """The sample: h1, h2 in grid g1 of c1; h3 in grid g2 of c2; each with follow-up work."""
    ws = gridguard.open(tmp_path / "w.db")
    ws.add(sample_records())
    ws.record(
        [
            Visit(at=AT, household_id="h1", outcome="not_home"),
            Visit(at=AT, household_id="h2", outcome="refused"),
            Visit(at=AT, household_id="h3", outcome="not_home"),
            Visit(at=AT + dt.timedelta(minutes=5), household_id="h3", outcome="refused"),
        ]
    )
    return ws


def test_the_follow_up_lists_keep_to_the_principal_s_scope(two_communities: Workspace) -> None:
    admin = two_communities
    assert {f.household_id for f in Sweep(admin).phone_queue()} == {"h1", "h3"}
    assert {f.household_id for f in Sweep(admin).escalations()} == {"h2", "h3"}
    member = _as(admin, name="队员", role=Role.TEAM_MEMBER, area_id="g1")
    assert [f.household_id for f in Sweep(member).phone_queue()] == ["h1"]
    assert [f.household_id for f in Sweep(member).escalations()] == ["h2"]
    reads = [(e.action, e.target, e.outcome.value) for e in _entries(admin, "队员")]
    assert reads == [("sweep.follow_up", "Household x2", "allowed")] * 2  # h1 and h2 read


def test_an_observer_gets_no_follow_up_list_at_all(two_communities: Workspace) -> None:
    observer = _as(two_communities, name="楼长", role=Role.BUILDING_OBSERVER, building_id="b1")
    sweep = Sweep(two_communities)
    sweep.ws = sweep.context.ws = observer  # past the campaign, which she may not read either
    for listing in (sweep.escalations, sweep.phone_queue):
        with pytest.raises(AccessDenied, match=r"sweep\.follow_up .*household records"):
            listing()
    assert [e.outcome.value for e in _entries(two_communities, "楼长")] == ["denied", "denied"]


@pytest.fixture
def targeted(tmp_path: Path) -> Workspace:
    """Targets in two grids of one community (h1, h2 in g1; h3 in g2), and rows to review."""
    ws = gridguard.open(tmp_path / "t.db")
    ws.add(register())
    match_list(ws, write_list(tmp_path / "list.csv", CASES), source="railway", on=DAY)
    return ws


def test_ranked_targets_keep_to_the_scope_and_the_role(targeted: Workspace) -> None:
    admin = targeted
    assert {t.household_id for t in ranked_targets(admin)} == {"h1", "h2", "h3"}
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    assert {t.household_id for t in ranked_targets(worker)} == {"h1", "h2"}
    assert [t.household_id for t in ranked_targets(worker, limit=1)] in (["h1"], ["h2"])
    assert ranked_targets(worker, "g2") == []
    assert any(e.action == "targeting.read" for e in _entries(admin, "网格员"))
    for role, where in (
        (Role.TEAM_MEMBER, {"area_id": "g1"}),
        (Role.SERVICE_VOLUNTEER, {"area_id": "hy"}),
        (Role.BUILDING_OBSERVER, {"building_id": "b1"}),
    ):
        other = _as(admin, name="x", role=role, **where)
        with pytest.raises(AccessDenied, match="no read access to targeting records"):
            ranked_targets(other)


def test_the_review_queue_keeps_to_the_scope_and_the_role(targeted: Workspace) -> None:
    admin = targeted
    assert {q.row for q in review_queue(admin)} == {6, 7, 8}
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    assert review_queue(worker) == []  # the list was received by the city, not her grid
    member = _as(admin, name="队员", role=Role.TEAM_MEMBER, area_id="g1")
    with pytest.raises(AccessDenied, match="no read access to targeting records"):
        review_queue(member)


def test_only_an_unscoped_principal_recomputes_every_target(targeted: Workspace) -> None:
    admin = targeted
    before = {t.id: admin.version(Target, t.id) for t in ranked_targets(admin)}
    observer = _as(admin, name="楼长", role=Role.BUILDING_OBSERVER, building_id="b1")
    with pytest.raises(AccessDenied, match=r"targeting\.compute"):
        compute_targets(observer, on=DAY + dt.timedelta(days=30))
    doctor = _as(admin, name="医生", role=Role.COMMUNITY_DOCTOR, area_id="hy")
    with pytest.raises(AccessDenied, match=r"targeting\.compute the whole store"):
        compute_targets(doctor, on=DAY + dt.timedelta(days=30))
    assert {t.id: admin.version(Target, t.id) for t in ranked_targets(admin)} == before
    assert [e.outcome.value for e in _entries(admin, "楼长")] == ["denied"]
    assert compute_targets(admin, on=DAY) == len(before)


SETTINGS: dict[str, Any] = {
    "campaign": "cmp",
    "channels": {"file": {"type": "jsonl", "path": "n.jsonl"}},
    "routes": [{"topic": "fever", "roles": ["community_doctor"], "channels": ["file"]}],
    "contacts": [
        {"role": "community_doctor", "area_id": "c1", "name": "林晓红"},
        {"role": "community_doctor", "area_id": "c2", "name": "库医生"},
        {"role": "community_secretary", "area_id": "c1", "name": "书记"},
        {"role": "community_secretary", "area_id": "c2", "name": "库书记"},
    ],
    "digest": {"channels": ["file"], "roles": ["community_secretary"]},
}


def _fever(person_id: str | None) -> Event:
    return Event(
        topic="fever", key="forged", at=AT, person_id=person_id, values={"temperature": 39.0}
    )


def test_an_event_about_someone_outside_the_scope_is_refused(
    two_communities: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    admin = two_communities
    settings = NotifySettings.from_dict(SETTINGS)
    secretary = _as(admin, name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1")
    notes = Notifications(secretary, settings)
    with pytest.raises(AccessDenied, match="Person:p4: unknown or outside area:c1"):
        notes.notify([_fever("p4")])  # p4 lives in c2
    with pytest.raises(AccessDenied, match="Person:nobody: unknown or outside area:c1"):
        notes.notify([_fever("nobody")])  # the same answer: no existence oracle
    with pytest.raises(AccessDenied, match="the whole store"):
        notes.notify([_fever(None)])  # an event that names no place reaches everyone
    assert admin.find(OutboxMessage) == []
    assert notes.notify([_fever("p1")]) == 1  # her own community's person
    assert [m.area_id for m in admin.find(OutboxMessage)] == ["g1"]


def test_the_digest_needs_outbox_rights_and_keeps_to_the_scope(
    two_communities: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    admin = two_communities
    settings = NotifySettings.from_dict(SETTINGS)
    worker = _as(admin, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    with pytest.raises(AccessDenied, match="no write access to outbox records"):
        Notifications(worker, settings).enqueue_digest(dt.date(2020, 1, 26))
    assert admin.find(OutboxMessage) == []
    secretary = _as(admin, name="书记", role=Role.COMMUNITY_SECRETARY, area_id="c1")
    assert Notifications(secretary, settings).enqueue_digest(dt.date(2020, 1, 26)) == 1
    assert [m.area_id for m in admin.find(OutboxMessage)] == ["c1"]
    assert ("notify.digest", "allowed") in [
        (e.action, e.outcome.value) for e in _entries(admin, "书记")
    ]


# -- the raw unit of work, existence and aggregates ------------------------------------------


def test_a_raw_unit_of_work_is_the_system_principal_s_only(two_communities: Workspace) -> None:
    admin = two_communities
    for role, where in (
        (Role.TEAM_MEMBER, {"area_id": "g1"}),
        (Role.AUDITOR, {"area_id": "c1"}),
        (Role.COMMUNITY_SECRETARY, {"area_id": "east"}),
    ):
        scoped = _as(admin, name="x", role=role, **where)
        for write in (True, False):
            with (
                pytest.raises(AccessDenied, match="raw unit of work"),
                scoped.transaction(write=write),
            ):
                pass  # pragma: no cover - never entered
    member = _as(admin, name="队员", role=Role.TEAM_MEMBER, area_id="g1")
    with pytest.raises(AccessDenied, match="outside area:g1"), member.atomic():
        member.record([Visit(at=AT, household_id="h1", outcome="screened")])
        member.record([Visit(at=AT, household_id="h3", outcome="screened")])
    assert len(admin.find(Visit)) == 4  # nothing of the joint transaction was kept
    with member.atomic():
        member.record([Visit(at=AT, household_id="h1", outcome="screened")])
    assert len(admin.find(Visit)) == 5
    with admin.transaction(write=False) as uow:
        assert uow.existing_ids(Visit, set()) == set()


def test_another_grid_s_household_and_a_missing_one_get_the_same_answer(
    two_communities: Workspace,
) -> None:
    from gridguard.sweep import VisitRecord

    worker = _as(two_communities, name="网格员", role=Role.GRID_WORKER, area_id="g1")
    report = Sweep(worker).record(
        [VisitRecord(Visit(at=AT, household_id=h, outcome="screened")) for h in ("h3", "zz")]
    )
    answers = [[str(v).replace(v.value, "ID") for v in e.violations] for e in report.errors]
    assert answers[0] == answers[1] == ["$.household_id: unknown household (got ID)"]


def test_coverage_counts_only_what_the_principal_may_see(two_communities: Workspace) -> None:
    admin = two_communities
    member = _as(admin, name="队员", role=Role.TEAM_MEMBER, area_id="g1")
    assert {r.id for r in Sweep(admin).coverage("grid")} == {"g1", "g2"}
    for by, ids in (("grid", {"g1"}), ("building", {"b1"}), ("area", {"c1"})):
        assert {r.id for r in Sweep(member).coverage(by)} == ids
    (mine,) = Sweep(member).coverage("campaign")
    (g1,) = Sweep(member).coverage("grid")
    assert mine.counts() == g1.counts()
    (everything,) = Sweep(admin).coverage("campaign")
    assert everything.counts() != mine.counts()
