"""Quarantine orders by hand, extension, release and the census, on memory and SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard.errors import ConflictError, NotFoundError, ValidationError
from gridguard.model.assessments import OrderStatus, QuarantineOrder
from gridguard.quarantine import (
    QuarantineExtension,
    QuarantinePolicy,
    QuarantineRelease,
    census,
    extend,
    order_quarantine,
    release,
    release_due,
)
from quarantine_helpers import T0, local, open_store, order_by_hand, records, ws

__all__ = ["ws"]

DAY = dt.date(2020, 1, 30)


def test_an_order_by_hand_runs_fourteen_days_from_the_last_exposure(ws: Any) -> None:
    order = order_by_hand(ws, exposure_kind="confirmed_case")
    # Last contact on the 28th: observed from the 29th to 11 February (day 14), released the 12th.
    assert (order.start, order.last_day, order.end) == (
        dt.date(2020, 1, 29),
        dt.date(2020, 2, 11),
        dt.date(2020, 2, 12),
    )
    assert (order.exposure_kind, order.last_contact) == ("confirmed_case", dt.date(2020, 1, 28))
    assert (order.household_id, order.ordered_by, order.ordered_at) == ("h1", "刘医生", T0)
    assert ws.get(QuarantineOrder, order.id) == order
    assert order_by_hand(ws, exposure_kind="confirmed_case") == order, "the same order again"
    assert ws.count(QuarantineOrder) == 1


def test_the_campaign_policy_sets_the_days(ws: Any) -> None:
    order = order_by_hand(ws, policy=QuarantinePolicy(days=21))
    assert (order.last_day, order.end) == (dt.date(2020, 2, 18), dt.date(2020, 2, 19))


def test_a_whole_household_and_central_quarantine(ws: Any) -> None:
    order = order_by_hand(ws, person_id=None, household_id="h2", kind="central")
    assert order.person_id is None
    assert order.kind.value == "central"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"reason": " "}, "$.reason"),
        ({"ordered_by": ""}, "$.ordered_by"),
        ({"person_id": "nobody"}, "$.person_id"),
        ({"person_id": "p1", "household_id": "h2"}, "$.household_id"),
        ({"person_id": None}, "$.person_id"),
        ({"last_exposure": dt.date(2020, 1, 31)}, "$.last_exposure"),
        ({"last_exposure": dt.date(2020, 1, 10)}, "$.last_exposure"),
    ],
)
def test_bad_orders_are_refused_and_store_nothing(
    ws: Any, change: dict[str, Any], path: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        order_by_hand(ws, **change)
    assert caught.value.violations[0].path == path
    assert ws.count(QuarantineOrder) == 0


def test_a_second_order_for_someone_under_one_is_a_conflict(ws: Any) -> None:
    order_by_hand(ws)
    with pytest.raises(ConflictError, match="extend"):
        order_by_hand(ws, last_exposure=dt.date(2020, 1, 29))
    with pytest.raises(ConflictError):
        order_by_hand(ws, person_id=None, household_id="h1", last_exposure=dt.date(2020, 1, 29))


def test_extension_only_moves_the_end_later_and_is_recorded(ws: Any) -> None:
    order = order_by_hand(ws)
    same = extend(ws, order.id, last_exposure=dt.date(2020, 1, 27), at=T0)
    assert not same.extended
    assert same.order.end == order.end
    moved = extend(ws, order.id, last_exposure=dt.date(2020, 1, 30), reason="再次接触", at=T0)
    assert moved.extended
    # The window of the later contact: 31 January to 13 February, released the 14th.
    assert (moved.order.last_day, moved.order.end) == (dt.date(2020, 2, 13), dt.date(2020, 2, 14))
    assert moved.order.start == order.start, "the start stays"
    assert moved.order.last_contact == dt.date(2020, 1, 30), "the order carries the later contact"
    assert ws.get(QuarantineOrder, order.id).end == dt.date(2020, 2, 14)
    with ws.transaction(write=False) as uow:
        (fact,) = uow.find(QuarantineExtension)
    assert (fact.previous_end, fact.new_end, fact.reason) == (
        order.end,
        moved.order.end,
        "再次接触",
    )
    with pytest.raises(ValidationError, match="future"):
        extend(ws, order.id, last_exposure=dt.date(2020, 2, 5), at=T0)


def test_early_release_needs_a_reason_and_who(ws: Any) -> None:
    order = order_by_hand(ws)
    with pytest.raises(ValidationError) as caught:
        release(ws, order.id, at=T0)
    assert {v.path for v in caught.value.violations} == {"$.reason", "$.released_by"}
    assert ws.get(QuarantineOrder, order.id).status is OrderStatus.ACTIVE
    record = release(ws, order.id, reason="核酸阴性，专家会诊解除", released_by="刘医生", at=T0)
    assert record.early
    assert ws.get(QuarantineOrder, order.id).status is OrderStatus.ENDED
    with pytest.raises(ConflictError, match="ended"):
        release(ws, order.id, reason="again", released_by="x", at=T0)
    with pytest.raises(NotFoundError):
        release(ws, "no-such-order", at=T0)


def test_release_at_the_end_needs_no_reason(ws: Any) -> None:
    order = order_by_hand(ws)
    end = local(order.end, 0, 5)
    record = release(ws, order.id, at=end)
    assert not record.early
    assert record.end == order.end


def test_release_due_releases_exactly_the_orders_whose_end_has_come(ws: Any) -> None:
    first = order_by_hand(ws)
    second = order_by_hand(ws, person_id="p3", last_exposure=dt.date(2020, 1, 30))
    # 23:59 local on the day before the first order's end: nothing is due yet.
    assert release_due(ws, at=local(first.end - dt.timedelta(days=1), 23, 59)) == []
    done = release_due(ws, at=local(first.end, 0, 1))
    assert [r.order_id for r in done] == [first.id]
    assert ws.get(QuarantineOrder, second.id).status is OrderStatus.ACTIVE
    assert release_due(ws, at=local(first.end, 0, 2)) == []
    with ws.transaction(write=False) as uow:
        assert uow.count(QuarantineRelease) == 1


def test_census_counts_per_area(ws: Any) -> None:
    order_by_hand(ws)  # p1 in c1, ordered today
    order_by_hand(ws, person_id="p4", last_exposure=dt.date(2020, 1, 16))  # c2, day 14 today
    rows = {r.area_id: r for r in census(ws, day=DAY)}
    assert rows["c1"].active == 1
    assert rows["c1"].new_today == 1
    assert rows["c2"].ending_today == 1
    assert rows["c2"].active == 1
    grid = {r.area_id: r.active for r in census(ws, day=DAY, by="grid")}
    assert grid == {"g1": 1, "g2": 1}
    later = {r.area_id: r for r in census(ws, day=dt.date(2020, 1, 31))}
    assert later["c2"].active == 0
    assert later["c2"].release_due == 1
    release_due(ws, at=local(dt.date(2020, 1, 31), 8))
    later = {r.area_id: r for r in census(ws, day=dt.date(2020, 1, 31))}
    assert later["c2"].released_today == 1
    assert later["c2"].release_due == 0
    assert later["c1"].new_today == 0
    with pytest.raises(ValidationError):
        census(ws, day=DAY, by="building")


def test_orders_the_rules_make_count_as_new_on_their_start(ws: Any) -> None:
    rule_made = QuarantineOrder(
        id="r1",
        household_id="h2",
        person_id="p3",
        kind="home",
        start=DAY,
        end=DAY + dt.timedelta(days=14),
        rule_id="outbreak-area-travel",
        rule_set_id="cn",
        rule_set_version="1",
    )
    with ws.transaction() as uow:
        uow.put(QuarantineOrder, [rule_made])
    (row,) = census(ws, day=DAY)
    assert (row.active, row.new_today) == (1, 1)


def test_the_census_agrees_between_memory_and_sqlite(tmp_path: Path) -> None:
    results = []
    for kind in ("memory", "sqlite"):
        with open_store(kind, tmp_path) as store:
            order_by_hand(store)
            order_by_hand(
                store, person_id=None, household_id="h2", last_exposure=dt.date(2020, 1, 17)
            )
            order_by_hand(store, person_id="p4", last_exposure=dt.date(2020, 1, 25))
            release_due(store, at=local(DAY, 10))
            results.append([census(store, day=DAY, by=by) for by in ("community", "grid")])
    assert results[0] == results[1]


def test_migration_keeps_existing_orders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at schema 7 gains the new columns; its orders survive the table rebuild."""
    from gridguard.storage import sqlite as backend

    everything = backend._migrations()
    monkeypatch.setattr(backend, "_migrations", lambda: [m for m in everything if m[0] < 8])
    path = tmp_path / "old.db"
    old = backend.SQLiteStorage(path)
    assert old.schema_version() == 7
    with old.transaction() as uow:
        for record in records():
            uow.put(type(record), [record])
    old._conn.execute(
        "INSERT INTO quarantine_orders VALUES ('old', 'h1', 'p1', 'home', '2020-01-20', "
        "'2020-02-03', 'why', 'r', 'rs', '1', NULL, 'active', 'c1', 1)"
    )
    old.close()
    monkeypatch.setattr(backend, "_migrations", lambda: everything)
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(quarantine_orders)")]
    conn.close()
    assert "ordered_by" not in columns
    with gridguard.open(path) as store:
        assert store.storage.schema_version() >= 8
        order = store.get(QuarantineOrder, "old")
        assert order.ordered_by is None
        assert order.end == dt.date(2020, 2, 3)
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_info(quarantine_orders)")]
    conn.close()
    assert columns[-6:] == [
        "ordered_by",
        "ordered_at",
        "exposure_kind",
        "last_contact",
        "jurisdiction",
        "version",
    ]


def test_migration_11_keeps_orders_and_the_releases_that_point_at_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rebuilding the orders table for their exposure keeps every order and release."""
    from gridguard.storage import sqlite as backend

    everything = backend._migrations()
    monkeypatch.setattr(backend, "_migrations", lambda: [m for m in everything if m[0] < 11])
    path = tmp_path / "v10.db"
    old = backend.SQLiteStorage(path)
    assert old.schema_version() == 10
    with old.transaction() as uow:
        for record in records():
            uow.put(type(record), [record])
    old._conn.execute(
        "INSERT INTO quarantine_orders VALUES ('o1', 'h1', 'p1', 'home', '2020-01-29', "
        "'2020-02-12', 'why', 'manual', 'quarantine', '1', NULL, 'ended', '刘医生', "
        "'2020-01-30 02:00:00.000000', 'c1', 2)"
    )
    old._conn.execute(
        "INSERT INTO quarantine_releases VALUES ('9b1e0c3a-8a51-4d6e-9f0e-2f1f7c1d0a11', "
        "'2020-01-30 03:00:00.000000', NULL, 'o1', 'h1', 'p1', '2020-02-12', 1, "
        "'会诊解除', '刘医生', 'c1')"
    )
    old._conn.commit()
    old.close()
    monkeypatch.setattr(backend, "_migrations", lambda: everything)
    with gridguard.open(path) as store:
        assert store.storage.schema_version() >= 11
        kept = store.get(QuarantineOrder, "o1")
        assert (kept.start, kept.end, kept.status) == (
            dt.date(2020, 1, 29),
            dt.date(2020, 2, 12),
            OrderStatus.ENDED,
        )
        assert kept.exposure_kind is None
        assert kept.last_contact is None
        with store.transaction(write=False) as uow:
            (released,) = uow.find(QuarantineRelease)
            assert uow.connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert released.order_id == "o1"


# -- invariants ------------------------------------------------------------------------------


_days = st.integers(min_value=0, max_value=40)


@settings(max_examples=30)
@given(
    first=_days,
    steps=st.lists(
        st.tuples(st.sampled_from(["extend", "release", "release_due"]), _days, st.booleans()),
        max_size=6,
    ),
)
def test_end_never_before_start_extension_only_later_release_only_after_end_or_by_hand(
    first: int,
    steps: list[tuple[str, int, bool]],
) -> None:
    base = dt.date(2020, 1, 1)
    store = gridguard.open("memory://")
    store.add(records())
    exposure = base + dt.timedelta(days=first)
    order = order_quarantine(
        store,
        person_id="p1",
        last_exposure=exposure,
        ordered_by="刘医生",
        reason="密切接触",
        at=local(exposure, 12),
    )
    clock = exposure
    for action, offset, with_reason in steps:
        before = store.get(QuarantineOrder, order.id)
        clock = clock + dt.timedelta(days=offset % 10)
        at = local(clock, 12)
        try:
            if action == "extend":
                extend(store, order.id, last_exposure=clock - dt.timedelta(days=offset % 3), at=at)
            elif action == "release":
                release(
                    store,
                    order.id,
                    reason="专家会诊" if with_reason else "",
                    released_by="刘医生" if with_reason else None,
                    at=at,
                )
            else:
                release_due(store, at=at)
        except (ValidationError, ConflictError):
            pass
        after = store.get(QuarantineOrder, order.id)
        assert after.start < after.end
        assert after.end >= before.end, "the end only moves later"
        if before.status is OrderStatus.ACTIVE and after.status is OrderStatus.ENDED:
            with store.transaction(write=False) as uow:
                (record,) = uow.find(QuarantineRelease)
            assert clock >= after.end or (record.early and record.reason and record.released_by)
            assert record.early == (clock < after.end)
    store.close()
