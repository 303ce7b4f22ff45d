"""Observers and their check-ins: assignment, recording, bad input, anomalies become work."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Anomaly, Building, CheckIn, ConflictError, ValidationError, Visit
from gridguard.model.assessments import Task, TaskKind, TaskStatus
from gridguard.notify import OutboxMessage
from gridguard.sweep import Sweep
from gridguard.sweep.planner import pending_work
from gridguard.watch import (
    MonitoringPoint,
    PointReport,
    add_point,
    assign_observer,
    observer_coverage,
    point_coverage,
    record_checkins,
    record_file,
    record_point_reports,
)
from gridguard.watch.checkins import CSV_COLUMNS
from watch_world import NOTIFY, observe, world

UTC = dt.UTC
AT = dt.datetime(2020, 1, 26, 1, 30, tzinfo=UTC)  # 09:30 in Zhongshan


@pytest.fixture(params=["memory", "sqlite"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[gridguard.Workspace]:
    store = gridguard.open("memory://" if request.param == "memory" else tmp_path / "c.db")
    with store:
        store.add(world())
        observe(store)
        yield store


# -- observers ----------------------------------------------------------------------------------


def test_assigning_an_observer_updates_the_building(ws: gridguard.Workspace) -> None:
    building = assign_observer(ws, "b4", "o1")
    assert building.observer_id == "o1" == ws.get(Building, "b4").observer_id
    assign_observer(ws, "b4", None)
    assert ws.get(Building, "b4").observer_id is None


def test_an_observer_needs_a_phone_and_must_exist(ws: gridguard.Workspace) -> None:
    with pytest.raises(ValidationError, match="needs a phone") as info:
        assign_observer(ws, "b4", "x1")
    assert info.value.violations[0].path == "$.observer_id"
    with pytest.raises(ValidationError, match="unknown person"):
        assign_observer(ws, "b4", "nobody")
    assert ws.get(Building, "b4").observer_id is None


def test_a_stale_version_is_a_conflict(ws: gridguard.Workspace) -> None:
    version = ws.version(Building, "b4")
    assign_observer(ws, "b4", "o1", expected_version=version)
    with pytest.raises(ConflictError):
        assign_observer(ws, "b4", "o2", expected_version=version)
    assert ws.get(Building, "b4").observer_id == "o1"


def test_coverage_counts_buildings_with_and_without_an_observer(ws: gridguard.Workspace) -> None:
    by_area = {c.area_id: (c.places, c.observed) for c in observer_coverage(ws)}
    assert by_area == {"g1": (4, 3), "vg1": (1, 0)}
    by_community = {c.area_id: c.unobserved for c in observer_coverage(ws, by="community")}
    assert by_community == {"c1": 1, "v1": 1}
    points = point_coverage(ws)
    assert [(c.area_id, c.places, c.observed) for c in points] == [("v1", 2, 1)]


def test_one_monitoring_point_per_village_group(ws: gridguard.Workspace) -> None:
    with pytest.raises(ConflictError, match="already has"):
        add_point(ws, MonitoringPoint(id="mp2", area_id="vg1", name="另一个"))
    with pytest.raises(ValidationError, match="village group") as info:
        add_point(ws, MonitoringPoint(id="mp3", area_id="g1", name="网格里"))
    assert info.value.violations[0].path == "$.area_id"
    add_point(ws, MonitoringPoint(id="mp2", area_id="vg2", name="二组监测点"))
    assert ws.count(MonitoringPoint) == 2 if ws.storage.dialect.runs_sql else True


def test_a_point_report_from_someone_else_is_refused(ws: gridguard.Workspace) -> None:
    with pytest.raises(ValidationError, match="not the staff") as info:
        record_point_reports(ws, [PointReport(point_id="mp1", observer_id="o1", at=AT)])
    assert info.value.violations[0].path == "$[0].observer_id"
    result = record_point_reports(ws, [PointReport(point_id="mp1", observer_id="o9", at=AT)])
    assert result.written == 1


# -- recording ----------------------------------------------------------------------------------


def test_an_all_normal_check_in_is_stored(ws: gridguard.Workspace) -> None:
    report = record_checkins(ws, [CheckIn(building_id="b1", observer_id="o1", at=AT)])
    assert (report.accepted, report.written, report.tasks, report.messages) == (1, 1, 0, 0)
    assert ws.count(CheckIn) == 1


def test_a_check_in_from_someone_else_stores_nothing(ws: gridguard.Workspace) -> None:
    report = record_checkins(
        ws,
        [
            CheckIn(building_id="b1", observer_id="o2", at=AT),
            CheckIn(building_id="b4", observer_id="o1", at=AT),
            CheckIn(building_id="b9", observer_id="o1", at=AT),
            CheckIn(building_id="b2", observer_id="o2", at=AT),
        ],
    )
    assert (report.records, report.accepted, report.rejected) == (4, 1, 3)
    problems = {e.line: (e.violations[0].path, e.violations[0].rule) for e in report.errors}
    assert problems == {
        0: ("$.observer_id", "not the observer of building b1"),
        1: ("$.observer_id", "building b4 has no observer: assign one first"),
        2: ("$.building_id", "unknown building"),
    }
    assert [c.building_id for c in ws.find(CheckIn)] == ["b2"]


def test_a_check_in_in_the_future_is_an_error() -> None:
    future = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    with pytest.raises(ValidationError, match="future") as info:
        CheckIn(building_id="b1", observer_id="o1", at=future)
    assert info.value.violations[0].path == "$.at"


def test_anomalies_that_make_work_must_name_a_household_of_the_building(
    ws: gridguard.Workspace,
) -> None:
    def with_anomaly(**fields: Any) -> CheckIn:
        return CheckIn(
            building_id="b1",
            observer_id="o1",
            at=AT,
            status="anomalies",
            anomalies=(Anomaly(**fields),),
        )

    report = record_checkins(
        ws,
        [
            with_anomaly(kind="move_in"),
            with_anomaly(kind="symptomatic", household_id="b2-h1"),
            with_anomaly(kind="move_in", household_id="nowhere"),
        ],
    )
    assert report.accepted == 0
    rules = [(e.violations[0].path, e.violations[0].rule) for e in report.errors]
    assert rules == [
        ("$.anomalies[0].household_id", "required for move_in: the household"),
        ("$.anomalies[0].household_id", "not a household of building b1"),
        ("$.anomalies[0].household_id", "unknown household"),
    ]
    assert (ws.count(CheckIn), ws.count(Task), ws.count(OutboxMessage)) == (0, 0, 0)


def test_anomalies_become_tasks_and_messages(ws: gridguard.Workspace) -> None:
    checkin = CheckIn(
        building_id="b1",
        observer_id="o1",
        at=AT,
        status="anomalies",
        anomalies=(
            Anomaly(kind="move_in", household_id="b1-h2", count=2, note="两名租客"),
            Anomaly(kind="symptomatic", household_id="b1-h1", note="咳嗽"),
            Anomaly(kind="stranger", note="夜间陌生人"),
        ),
    )
    report = record_checkins(ws, [checkin], notify=NOTIFY)
    assert (report.written, report.tasks, report.messages) == (1, 2, 1)
    tasks = {t.kind: t for t in ws.find(Task)}
    visit, call = tasks[TaskKind.VISIT], tasks[TaskKind.PHONE_CALL]
    assert (visit.household_id, visit.rule_id, visit.rule_set_id, visit.rule_set_version) == (
        "b1-h2",
        "move_in",
        "building_watch",
        "1",
    )
    assert (call.household_id, call.rule_id, call.status) == (
        "b1-h1",
        "symptomatic",
        TaskStatus.OPEN,
    )
    (message,) = ws.find(OutboxMessage)
    assert (message.topic, message.recipient) == ("stranger", "grid_worker@g1")
    assert "陌生人员 stranger (夜间陌生人)" in message.body
    assert "观察员 观* 报告" in message.body  # the observer's name, masked
    # Recording the same check-in again makes nothing new.
    again = record_checkins(ws, [checkin], notify=NOTIFY)
    assert (again.written, again.unchanged, again.tasks, again.messages) == (0, 1, 0, 0)


def test_a_task_a_person_closed_stays_closed_when_recorded_again(
    ws: gridguard.Workspace,
) -> None:
    checkin = CheckIn(
        building_id="b1",
        observer_id="o1",
        at=AT,
        status="anomalies",
        anomalies=(Anomaly(kind="move_in", household_id="b1-h2"),),
    )
    record_checkins(ws, [checkin])
    (task,) = ws.find(Task)
    with ws.transaction() as uow:  # a person marks the visit done
        uow.put(Task, [_done(task)])
    record_checkins(ws, [checkin])
    assert ws.find(Task)[0].status is TaskStatus.DONE


def _done(task: Task) -> Task:
    import attrs

    return attrs.evolve(task, status=TaskStatus.DONE)


# -- a move-in goes into the next sweep plan ----------------------------------------------------


def _screen_everyone(ws: gridguard.Workspace, at: dt.datetime) -> None:
    households = [f"{b}-h{n}" for b in ("b1", "b2", "b3", "b4") for n in (1, 2)] + ["vb-h1"]
    ws.record(
        Visit(household_id=h, outcome="screened", team_id="t1", campaign_id="cmp", at=at)
        for h in households
    )


def test_a_move_in_puts_a_screened_household_back_in_the_plan(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws, "cmp")
    _screen_everyone(ws, AT - dt.timedelta(hours=20))
    assert pending_work(sweep.context, 3) == []
    moved = CheckIn(
        building_id="b2",
        observer_id="o2",
        at=AT,
        status="anomalies",
        anomalies=(Anomaly(kind="move_in", household_id="b2-h2"),),
    )
    record_checkins(ws, [moved])
    work = pending_work(sweep.context, 3)
    assert [(w.stairwell_id, w.households) for w in work] == [("b2-s", 1)]
    plan = sweep.plan(sweep.roster([1], start=dt.date(2020, 1, 27)))
    (shift,) = plan.shifts
    assert sweep.route(shift) == {"t1": ["b2-h2"]}
    assert shift.assignments[0].stops[0].priority == 1
    # A screening visit after the report settles the task: out of the next plan.
    ws.record(
        [
            Visit(
                household_id="b2-h2",
                outcome="screened",
                team_id="t1",
                campaign_id="cmp",
                at=AT + dt.timedelta(hours=5),
            )
        ]
    )
    assert pending_work(sweep.context, 3) == []


def test_a_not_home_visit_does_not_settle_the_move_in(ws: gridguard.Workspace) -> None:
    sweep = Sweep(ws, "cmp")
    _screen_everyone(ws, AT - dt.timedelta(hours=20))
    record_checkins(
        ws,
        [
            CheckIn(
                building_id="b3",
                observer_id="o3",
                at=AT,
                status="anomalies",
                anomalies=(Anomaly(kind="move_in", household_id="b3-h1"),),
            )
        ],
    )
    ws.record(
        [
            Visit(
                household_id="b3-h1",
                outcome="not_home",
                team_id="t1",
                campaign_id="cmp",
                at=AT + dt.timedelta(hours=5),
            )
        ]
    )
    assert [w.stairwell_id for w in pending_work(sweep.context, 3)] == ["b3-s"]


# -- files --------------------------------------------------------------------------------------


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _line(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False)


def test_a_file_is_recorded_and_bad_lines_are_reported(
    ws: gridguard.Workspace, tmp_path: Path
) -> None:
    future = (dt.datetime.now(UTC) + dt.timedelta(days=2)).isoformat()
    path = _jsonl(
        tmp_path / "checkins.jsonl",
        [
            _line(building_id="b1", observer_id="o1", at="2020-01-26T09:30:00"),
            "{not json",
            _line(building_id="b2", observer_id="o1", at="2020-01-26T09:31:00"),
            _line(building_id="b3", observer_id="o3", at=future),
            _line(
                building_id="b3",
                observer_id="o3",
                at="2020-01-26T10:00:00+08:00",
                anomalies=[{"kind": "move_out", "count": 3}],
            ),
        ],
    )
    report = record_file(ws, path, notify=NOTIFY)
    assert (report.records, report.accepted) == (5, 2)
    errors = {e.line: e.violations[0] for e in report.errors}
    assert sorted(errors) == [2, 3, 4]
    assert errors[3].path == "$.observer_id"
    assert (errors[4].path, errors[4].rule) == ("$.at", "must not be in the future")
    stored = sorted((c.building_id, c.at, c.status.value) for c in ws.find(CheckIn))
    # A naive time is read in the campaign's time zone (Asia/Shanghai).
    assert stored == [
        ("b1", dt.datetime(2020, 1, 26, 1, 30, tzinfo=UTC), "all_normal"),
        ("b3", dt.datetime(2020, 1, 26, 2, 0, tzinfo=UTC), "anomalies"),
    ]
    # The move-out goes out on the "anomaly" topic, to whom its route names.
    assert report.messages == 2
    assert {(m.topic, m.recipient) for m in ws.find(OutboxMessage)} == {
        ("anomaly", "grid_worker@g1"),
        ("anomaly", "building_observer@b3"),
    }
    again = record_file(ws, path, notify=NOTIFY)
    assert (again.written, again.unchanged, again.messages) == (0, 2, 0)


def test_a_csv_file_has_one_row_per_anomaly(ws: gridguard.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "checkins.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        base = {"building_id": "b1", "observer_id": "o1", "at": "2020-01-26 09:00"}
        writer.writerow(
            {
                **base,
                "anomaly_kind": "move_in",
                "anomaly_household_id": "b1-h2",
                "anomaly_count": "2",
            }
        )
        writer.writerow({**base, "anomaly_kind": "stranger", "anomaly_note": "快递员?"})
        writer.writerow({"building_id": "b2", "observer_id": "o2", "at": "2020-01-26 09:05"})
        writer.writerow(
            {
                "building_id": "b3",
                "observer_id": "o3",
                "at": "2020-01-26 09:05",
                "anomaly_kind": "bad_kind",
            }
        )
    report = record_file(ws, path, notify=NOTIFY)
    assert (report.records, report.accepted, report.tasks, report.messages) == (3, 2, 1, 1)
    (error,) = report.errors
    assert (error.line, error.violations[0].path) == (5, "$.anomalies[0].kind")
    first = next(c for c in ws.find(CheckIn) if c.building_id == "b1")
    assert [(a.kind.value, a.count) for a in first.anomalies] == [("move_in", 2), ("stranger", 1)]


@settings(max_examples=20)
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(["b1", "b2", "b3", "b4"]), st.sampled_from(["o1", "o2", "o3"])),
        max_size=8,
    )
)
def test_only_the_buildings_own_observer_gets_in(pairs: list[tuple[str, str]]) -> None:
    """Whatever the mix, exactly the check-ins of a building's own observer are stored."""
    with gridguard.open("memory://") as store:
        store.add(world())
        observe(store)
        checkins = [
            CheckIn(building_id=b, observer_id=o, at=AT + dt.timedelta(minutes=n))
            for n, (b, o) in enumerate(pairs)
        ]
        report = record_checkins(store, checkins)
        good = [c for c in checkins if c.observer_id == "o" + c.building_id[1:]]
        assert report.accepted == len(good)
        assert sorted(c.id for c in store.find(CheckIn)) == sorted(c.id for c in good)


def test_the_same_id_with_other_content_is_a_conflict_for_that_record_only(
    ws: gridguard.Workspace,
) -> None:
    first = CheckIn(building_id="b1", observer_id="o1", at=AT)
    record_checkins(ws, [first])
    changed = CheckIn(id=first.id, building_id="b1", observer_id="o1", at=AT + dt.timedelta(1))
    other = CheckIn(building_id="b2", observer_id="o2", at=AT)
    report = record_checkins(ws, [changed, other])
    assert (report.accepted, report.written) == (1, 1)
    (error,) = report.errors
    assert (error.line, error.violations[0].path) == (0, "$.id")
    assert ws.get(CheckIn, str(first.id)).at == AT
