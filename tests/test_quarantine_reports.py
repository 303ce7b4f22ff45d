"""Health reports under quarantine: refusals, fever referrals, missed half-days, time zones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from gridguard.errors import ValidationError
from gridguard.model import HealthReport
from gridguard.model.assessments import Task, TaskKind, TaskStatus
from gridguard.notifications.templates import TEMPLATES
from gridguard.notify import OutboxMessage
from gridguard.quarantine import (
    QuarantinePolicy,
    check_missed,
    record_reports,
    release,
)
from gridguard.quarantine.missed import slot_of, slots
from gridguard.serialization import from_dict
from quarantine_helpers import local, order_by_hand, ws

__all__ = ["ws"]

DAY = dt.date(2020, 1, 30)


def _report(person: str, at: dt.datetime, temperature: float | None = 36.6, **kw: Any) -> Any:
    return HealthReport(at=at, person_id=person, temperature=temperature, **kw)


def _tasks(ws: Any, kind: TaskKind) -> list[Task]:
    return [t for t in ws.find(Task) if t.kind is kind]


# -- refusals --------------------------------------------------------------------------------


def test_a_report_outside_an_active_order_is_refused_and_nothing_is_stored(ws: Any) -> None:
    order_by_hand(ws)
    good = _report("p1", local(DAY, 9))
    stranger = _report("p3", local(DAY, 9))
    with pytest.raises(ValidationError) as caught:
        record_reports(ws, [good, stranger])
    (violation,) = caught.value.violations
    assert violation.path == "$[1].person_id"
    assert "no active quarantine order on 2020-01-30" in violation.rule
    assert ws.count(HealthReport) == 0


def test_a_report_before_the_order_starts_or_after_release_is_refused(ws: Any) -> None:
    order = order_by_hand(ws)
    with pytest.raises(ValidationError, match="2020-01-27"):
        record_reports(ws, [_report("p1", local(dt.date(2020, 1, 27), 20))])
    release(ws, order.id, reason="会诊解除", released_by="刘医生", at=local(DAY, 10))
    with pytest.raises(ValidationError, match="no active quarantine order"):
        record_reports(ws, [_report("p1", local(DAY, 11))])
    assert ws.count(HealthReport) == 0


def test_an_unknown_person_is_named(ws: Any) -> None:
    with pytest.raises(ValidationError, match=r"\$\[0\]\.person_id.*no such person"):
        record_reports(ws, [_report("ghost", local(DAY, 9))])


@pytest.mark.parametrize("temperature", [29.9, 45.1])
def test_temperatures_outside_30_to_45_are_refused(temperature: float) -> None:
    with pytest.raises(ValidationError, match=r"\$\.temperature.*30 to 45"):
        from_dict(
            HealthReport,
            {"person_id": "p1", "at": "2020-01-30T09:00:00+08:00", "temperature": temperature},
        )


def test_a_report_from_the_future_is_refused() -> None:
    with pytest.raises(ValidationError, match="future"):
        _report("p1", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))


def test_a_whole_household_order_covers_each_member(ws: Any) -> None:
    order_by_hand(ws, person_id=None, household_id="h1")
    result = record_reports(ws, [_report("p1", local(DAY, 9)), _report("p2", local(DAY, 9))])
    assert result.written == 2


# -- fever -----------------------------------------------------------------------------------


def test_fever_refers_to_the_clinic_and_tells_the_doctor_once_a_day(ws: Any) -> None:
    order_by_hand(ws)
    first = _report("p1", local(DAY, 8), 37.3)
    result = record_reports(ws, [first, _report("p1", local(DAY, 20), 38.1)])
    assert (result.written, result.referrals, result.notified) == (2, 1, 1)
    (referral,) = _tasks(ws, TaskKind.REFERRAL)
    assert referral.person_id == "p1"
    assert "37.3" in referral.note
    with ws.transaction(write=False) as uow:
        (message,) = uow.find(OutboxMessage)
    assert message.topic == "quarantine_fever"
    assert message.at == first.at, "a message carries the time of the report that caused it"
    assert "37.3" in message.body
    assert "陈建国" not in message.body, "names are masked"
    again = record_reports(ws, [first])
    assert (again.written, again.unchanged, again.referrals, again.notified) == (0, 1, 0, 0)
    next_day = record_reports(ws, [_report("p1", local(DAY + dt.timedelta(days=1), 8), 37.5)])
    assert next_day.referrals == 1
    assert next_day.notified == 1


def test_symptoms_alone_refer_and_a_normal_report_does_not(ws: Any) -> None:
    order_by_hand(ws)
    normal = record_reports(ws, [_report("p1", local(DAY, 8), 36.8)])
    assert normal.referrals == 0
    cough = record_reports(ws, [_report("p1", local(DAY, 20), None, symptoms=("cough",))])
    assert cough.referrals == 1


def test_the_fever_threshold_follows_the_policy(ws: Any) -> None:
    order_by_hand(ws)
    strict = QuarantinePolicy(fever_threshold=38.0)
    assert record_reports(ws, [_report("p1", local(DAY, 8), 37.5)], policy=strict).referrals == 0


def test_the_fever_topic_has_templates_in_both_languages() -> None:
    for locale in ("zh-CN", "en"):
        assert set(TEMPLATES[locale]["quarantine_fever"]) == {"subject", "body"}


# -- missed reports --------------------------------------------------------------------------


def test_a_missed_half_day_makes_one_phone_call_however_often_the_job_runs(ws: Any) -> None:
    order_by_hand(ws, at=local(DAY, 0))
    record_reports(ws, [_report("p1", local(DAY, 9))])  # morning in, evening missed
    now = local(DAY + dt.timedelta(days=1), 0, 30)
    first = check_missed(ws, now=now, since=local(DAY, 0))
    assert first.checked == 2
    assert first.new_tasks == 1
    (miss,) = first.missed
    assert (miss.day, miss.half, miss.slot) == (DAY, 1, "2020-01-30 PM")
    (call,) = _tasks(ws, TaskKind.PHONE_CALL)
    assert call.due == local(DAY + dt.timedelta(days=1), 0)
    for _ in range(3):
        assert check_missed(ws, now=now, since=local(DAY, 0)).new_tasks == 0
    with ws.transaction() as uow:
        uow.put(Task, [attrs.evolve(call, status=TaskStatus.DONE)])
    check_missed(ws, now=now + dt.timedelta(hours=1), since=local(DAY, 0))
    assert [t.status for t in _tasks(ws, TaskKind.PHONE_CALL)] == [TaskStatus.DONE]


def test_a_slot_is_not_checked_before_its_cut_off(ws: Any) -> None:
    order_by_hand(ws, at=local(DAY, 0))
    before = check_missed(ws, now=local(DAY, 11, 59), since=local(DAY, 0))
    assert before.checked == 0
    assert not before.missed
    grace = QuarantinePolicy(grace=dt.timedelta(hours=1))
    assert check_missed(ws, now=local(DAY, 12, 30), since=local(DAY, 0), policy=grace).checked == 0
    assert check_missed(ws, now=local(DAY, 13), since=local(DAY, 0), policy=grace).new_tasks == 1


def test_slots_before_a_hand_made_order_are_not_counted(ws: Any) -> None:
    order_by_hand(ws, at=local(DAY, 15))  # the evening slot had begun: the next morning is first
    result = check_missed(ws, now=local(DAY + dt.timedelta(days=1), 12, 1), since=local(DAY, 0))
    assert [m.slot for m in result.missed] == ["2020-01-31 AM"]
    assert result.checked == 1


@pytest.mark.parametrize(
    ("hour", "minute", "half", "counts_for_pm"),
    [(11, 59, 0, False), (12, 0, 1, True), (23, 59, 1, True)],
)
def test_reports_fall_in_the_local_half_day(
    ws: Any, hour: int, minute: int, half: int, counts_for_pm: bool
) -> None:
    order_by_hand(ws, at=local(DAY, 0))
    at = local(DAY, hour, minute)
    start, _ = slot_of(at, QuarantinePolicy())
    assert start == local(DAY, 12 * half)
    record_reports(ws, [_report("p1", at)])
    result = check_missed(ws, now=local(DAY + dt.timedelta(days=1), 1), since=local(DAY, 0))
    pm_missed = any(m.half == 1 for m in result.missed)
    assert pm_missed is not counts_for_pm


def test_a_report_just_after_local_midnight_belongs_to_the_next_day(ws: Any) -> None:
    order_by_hand(ws, at=local(DAY, 0))
    record_reports(
        ws, [_report("p1", local(DAY, 9)), _report("p1", local(DAY + dt.timedelta(days=1), 0, 0))]
    )
    result = check_missed(ws, now=local(DAY + dt.timedelta(days=1), 12), since=local(DAY, 0))
    assert [m.slot for m in result.missed] == ["2020-01-30 PM"]


def test_half_days_follow_daylight_saving_time(ws: Any) -> None:
    zone = "America/New_York"
    policy = QuarantinePolicy(time_zone=zone)
    change = dt.date(2020, 3, 8)  # clocks go 02:00 -> 03:00
    (_, _, am_start, am_end), (_, _, pm_start, pm_end) = list(slots(change, change, policy))
    assert am_end - am_start == dt.timedelta(hours=11)
    assert pm_end - pm_start == dt.timedelta(hours=12)
    assert am_end == local(change, 12, zone=zone)
    back = dt.date(2020, 11, 1)
    ((_, _, s, e), _) = list(slots(back, back, policy))
    assert e - s == dt.timedelta(hours=13)
    order_by_hand(
        ws,
        last_exposure=dt.date(2020, 3, 1),
        at=local(dt.date(2020, 3, 7), 23, zone=zone),
        policy=policy,
    )
    # 11:30 EDT is 15:30 UTC: in the morning slot, though 11:30 EST would be 16:30 UTC.
    record_reports(ws, [_report("p1", local(change, 11, 30, zone=zone))], policy=policy)
    result = check_missed(
        ws, now=local(change, 12, 0, zone=zone), since=local(change, 0, zone=zone), policy=policy
    )
    assert result.checked == 1
    assert result.new_tasks == 0
