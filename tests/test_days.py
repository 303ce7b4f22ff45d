"""A date is a date: days given as datetimes, and instants given without a time zone.

Every day field of every stored record takes a ``date``; an aware datetime
becomes the day its own clock shows (a campaign's own days: the day in its
time zone) and a naive one is refused with the field's name. Every instant
field refuses a naive time and stores UTC. The API, the serializer and the
visit files agree.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings

import gridguard
from gridguard import Campaign, Screening, Trip, ValidationError
from gridguard.model import Exposure
from gridguard.serialization import from_dict, from_json, to_json
from gridguard.storage.schema import SPECS
from gridguard.sweep import Sweep
from gridguard.testing import sample_records
from gridguard.testing.strategies import stored_records

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def only_violation(info: pytest.ExceptionInfo[ValidationError]) -> Any:
    (violation,) = info.value.violations
    return violation


# -- the acceptance ---------------------------------------------------------------------


def test_a_return_at_one_minute_past_midnight_in_shanghai_is_that_day() -> None:
    trip = Trip(destination="武汉", returned=dt.datetime(2020, 1, 21, 0, 1, tzinfo=SHANGHAI))
    assert trip.returned == dt.date(2020, 1, 21)
    assert type(trip.returned) is dt.date


def test_a_naive_return_time_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Trip(destination="武汉", returned=dt.datetime(2020, 1, 21, 0, 1))
    violation = only_violation(info)
    assert violation.path == "$.returned"
    assert "2020-01-21T00:01" in violation.value
    assert "time zone" in violation.rule


@pytest.mark.parametrize(
    ("given", "day"),
    [
        (dt.datetime(2020, 1, 21, 23, 59, 59, tzinfo=SHANGHAI), dt.date(2020, 1, 21)),
        (dt.datetime(2020, 1, 21, 0, 0, tzinfo=dt.UTC), dt.date(2020, 1, 21)),
        # The day on the datetime's own clock, not in Shanghai (already 22 January there).
        (dt.datetime(2020, 1, 21, 23, 30, tzinfo=NEW_YORK), dt.date(2020, 1, 21)),
        (dt.date(2020, 1, 21), dt.date(2020, 1, 21)),
    ],
)
def test_a_day_given_as_an_aware_datetime_is_the_day_on_its_own_clock(
    given: dt.date, day: dt.date
) -> None:
    exposure = Exposure(kind="confirmed_case", last_contact=given)
    assert exposure.last_contact == day
    assert type(exposure.last_contact) is dt.date


def test_a_day_given_as_text_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Trip(destination="武汉", departed="2020-01-10")
    violation = only_violation(info)
    assert (violation.path, violation.rule) == ("$.departed", "must be a date")


def test_a_campaign_takes_its_own_days_in_its_time_zone() -> None:
    evening_utc = dt.datetime(2020, 1, 24, 17, 0, tzinfo=dt.UTC)  # 01:00 on the 25th in Shanghai
    fields: dict[str, Any] = {"id": "hy", "name": "华苑", "scope": ["c1"]}
    shanghai = Campaign(**fields, start=evening_utc, end=evening_utc + dt.timedelta(days=30))
    assert (shanghai.start, shanghai.end) == (dt.date(2020, 1, 25), dt.date(2020, 2, 24))
    assert Campaign(**fields, start=evening_utc, time_zone="UTC").start == dt.date(2020, 1, 24)
    assert type(shanghai.start) is dt.date
    with pytest.raises(ValidationError) as info:
        Campaign(**fields, start=dt.date(2020, 1, 25), end=dt.datetime(2020, 3, 1))
    assert only_violation(info).path == "$.end"
    # evolve and the serializer build campaigns the same way
    assert attrs.evolve(shanghai, start=evening_utc) == shanghai
    assert from_dict(Campaign, {**fields, "start": evening_utc.isoformat()}).start == shanghai.start


# -- every day and every instant field of every stored record ----------------------------


def _declared(cls: type[Any]) -> list[tuple[str, type[Any], bool]]:
    """The day and instant fields of ``cls``: name, type, and whether it may be ``None``."""
    attrs.resolve_types(cls)
    out = []
    for field in attrs.fields(cls):
        kinds = typing.get_args(field.type) or (field.type,)
        for kind in (dt.datetime, dt.date):
            if kind in kinds:
                out.append((field.name, kind, type(None) in kinds))
                break
    return out


def _nested(records: list[Any]) -> list[Any]:
    """The records and the trips and exposures inside their screenings."""
    out = list(records)
    for record in records:
        if isinstance(record, Screening):
            out += [*record.trips, *record.exposures]
    return out


def _required(kind: type[Any]) -> set[tuple[str, str]]:
    """The fields of ``kind`` (day or instant) that every stored record must have, by class."""
    return {
        (cls.__name__, name)
        for cls in (*SPECS, Trip, Exposure)
        for name, declared, optional in _declared(cls)
        if declared is kind and not optional
    }


@settings(max_examples=10)
@given(records=stored_records())
def test_every_day_field_converts_aware_and_refuses_naive_datetimes(records: list[Any]) -> None:
    assert {type(r) for r in _nested(records)} >= {*SPECS, Trip, Exposure}
    checked: set[tuple[str, str]] = set()
    for record in _nested(records):
        for name, kind, _ in _declared(type(record)):
            value = getattr(record, name)
            if kind is not dt.date or value is None:
                continue
            zone = ZoneInfo(record.time_zone) if isinstance(record, Campaign) else NEW_YORK
            late = dt.datetime.combine(value, dt.time(23, 59, 59), zone)
            if isinstance(record, Campaign):
                late = late.astimezone(dt.UTC)  # a campaign reads it in its own zone
            changed = attrs.evolve(record, **{name: late})
            assert getattr(changed, name) == value, (type(record).__name__, name)
            assert type(getattr(changed, name)) is dt.date
            with pytest.raises(ValidationError) as info:
                attrs.evolve(record, **{name: late.replace(tzinfo=None)})
            assert [v.path for v in info.value.violations] == [f"$.{name}"]
            assert "time zone" in info.value.violations[0].rule
            checked.add((type(record).__name__, name))
    assert checked >= _required(dt.date)


@settings(max_examples=10)
@given(records=stored_records())
def test_every_instant_field_stores_utc_and_refuses_naive_times(records: list[Any]) -> None:
    checked: set[tuple[str, str]] = set()
    for record in _nested(records):
        for name, kind, _ in _declared(type(record)):
            value = getattr(record, name)
            if kind is not dt.datetime or value is None:
                continue
            local = value.astimezone(SHANGHAI)
            changed = attrs.evolve(record, **{name: local})
            assert getattr(changed, name) == value
            assert getattr(changed, name).utcoffset() == dt.timedelta(0)
            with pytest.raises(ValidationError) as info:
                attrs.evolve(record, **{name: local.replace(tzinfo=None)})
            violation = only_violation(info)
            assert violation.path == f"$.{name}"
            assert violation.rule == "must be a timezone-aware datetime"
            checked.add((type(record).__name__, name))
    assert checked >= _required(dt.datetime)


def test_a_message_refuses_a_naive_time_with_the_fields_name() -> None:
    from gridguard.notify import Message

    with pytest.raises(ValidationError) as info:
        Message(recipient="r", subject="s", body="b", not_before=dt.datetime(2020, 1, 25, 8))
    assert only_violation(info).path == "$.not_before"


# -- the serializer and the visit files agree with the API --------------------------------


@pytest.mark.parametrize(
    "text",
    ["2020-01-21", "2020-01-21T00:01:00+08:00", "2020-01-21T23:59:59+08:00", "2020-01-21T00:01Z"],
)
def test_the_serializer_reads_a_day_as_the_api_does(text: str) -> None:
    data = {"person_id": "p1", "at": "2020-01-25T08:00:00+08:00"}
    read = from_dict(Screening, {**data, "trips": [{"destination": "武汉", "returned": text}]})
    value: dt.date = dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
    assert read.trips == (Trip(destination="武汉", returned=value),)
    assert read.trips[0].returned == dt.date(2020, 1, 21)
    assert from_json(Screening, to_json(read)) == read


def test_the_serializer_refuses_a_naive_time_for_a_day_with_its_path() -> None:
    data = {"person_id": "p1", "at": "2020-01-25T08:00:00+08:00"}
    with pytest.raises(ValidationError) as info:
        from_dict(
            Screening, {**data, "trips": [{"destination": "武汉", "returned": "2020-01-21T00:01"}]}
        )
    violation = only_violation(info)
    assert violation.path == "$.trips[0].returned"
    assert "time zone" in violation.rule


def test_a_time_in_a_day_column_of_a_visit_file_is_the_campaigns_local_time(
    tmp_path: Path,
) -> None:
    """Like a naive visit time, a naive time for a day is local: its day is the one written."""
    returned = [
        "2020-01-21",
        "2020-01-21 00:01",
        "2020-01-21 23:59:59",
        "2020-01-21T00:01+08:00",
    ]
    lines = [
        json.dumps(
            {
                "household_id": "h1" if n < 2 else "h2",
                "at": f"2020-01-25T1{n}:00:00+08:00",
                "outcome": "screened",
                "screenings": [
                    {
                        "person_id": ("p1", "p2", "p3", "p3")[n],
                        "trips": [{"destination": "武汉", "returned": text}],
                        "exposures": [{"kind": "confirmed_case", "last_contact": text}],
                    }
                ],
            },
            ensure_ascii=False,
        )
        for n, text in enumerate(returned)
    ]
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gridguard.open("memory://") as ws:
        ws.add(sample_records())
        report = Sweep(ws).record_file(path)
        assert (report.accepted, report.rejected) == (4, 0), report
        screenings = ws.find(Screening)
    assert len(screenings) == 4
    for screening in screenings:
        assert screening.trips[0].returned == dt.date(2020, 1, 21)
        assert screening.exposures[0].last_contact == dt.date(2020, 1, 21)


# -- where the campaign is known, a datetime's day is the one in the campaign's zone -----


@pytest.fixture
def sample_ws(tmp_path: Path) -> Any:
    """The sample records and facts in SQLite (reports aggregate in SQL)."""
    from gridguard.testing import sample_facts

    with gridguard.open(tmp_path / "sample.db") as ws:
        ws.add(sample_records())
        ws.record(sample_facts())
        yield ws


def test_a_screening_run_for_a_datetime_runs_for_its_day_in_the_campaigns_zone(
    sample_ws: gridguard.Workspace,
) -> None:
    from gridguard.screening import screen

    evening_utc = dt.datetime(2020, 1, 25, 16, 30, tzinfo=dt.UTC)  # 00:30 on the 26th in Shanghai
    run = screen(sample_ws, campaign_id="cmp", day=evening_utc).run
    assert run.day == dt.date(2020, 1, 26)
    assert type(run.day) is dt.date
    with pytest.raises(ValidationError) as info:
        screen(sample_ws, campaign_id="cmp", day=dt.datetime(2020, 1, 26, 0, 30))
    assert only_violation(info).path == "$.day"


def test_a_report_for_a_datetime_is_for_its_day_in_the_campaigns_zone(
    sample_ws: gridguard.Workspace,
) -> None:
    from gridguard.reporting.build import build_report

    evening_utc = dt.datetime(2020, 1, 25, 16, 30, tzinfo=dt.UTC)
    report = build_report(sample_ws, "daily", area="c1", day=evening_utc)
    assert report.day == dt.date(2020, 1, 26)
    assert type(report.day) is dt.date
    with pytest.raises(ValidationError) as info:
        build_report(sample_ws, "daily", area="c1", day=dt.datetime(2020, 1, 26, 0, 30))
    assert only_violation(info).path == "$.day"


def test_an_order_by_hand_for_an_exposure_datetime_starts_on_its_day_in_the_policys_zone(
    sample_ws: gridguard.Workspace,
) -> None:
    from gridguard.quarantine import extend, order_quarantine

    at = dt.datetime(2020, 1, 30, 1, 0, tzinfo=dt.UTC)
    exposed = dt.datetime(2020, 1, 27, 16, 30, tzinfo=dt.UTC)  # 00:30 on the 28th in Shanghai
    args: dict[str, Any] = {"ordered_by": "刘医生", "reason": "密切接触", "at": at}
    order = order_quarantine(sample_ws, person_id="p1", last_exposure=exposed, **args)
    # The exposure's day is the 28th: observed from the 29th, released on 12 February.
    assert (order.last_contact, order.start, order.end) == (
        dt.date(2020, 1, 28),
        dt.date(2020, 1, 29),
        dt.date(2020, 2, 12),
    )
    again = order_quarantine(sample_ws, person_id="p1", last_exposure=dt.date(2020, 1, 28), **args)
    assert again == order, "the day and the datetime on it are the same exposure"
    with pytest.raises(ValidationError) as info:
        order_quarantine(
            sample_ws, person_id="p2", last_exposure=exposed.replace(tzinfo=None), **args
        )
    assert only_violation(info).path == "$.last_exposure"
    moved = extend(sample_ws, order.id, last_exposure=exposed + dt.timedelta(days=1), at=at)
    assert moved.order.end == dt.date(2020, 2, 13)
    with pytest.raises(ValidationError) as info:
        extend(sample_ws, order.id, last_exposure=dt.datetime(2020, 1, 29, 8), at=at)
    assert only_violation(info).path == "$.last_exposure"
