"""Helpers the workflows share: new records, batches stored record by record, header aliases."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import attrs

import gridguard
from gridguard import ConflictError, Household, ValidationError, Violation
from gridguard.storage.base import unstored
from gridguard.sweep.recording import RecordReport, store_batch
from gridguard.targeting.importing import KINDS
from gridguard.targeting.matching import LIST_ALIASES
from gridguard.targeting.tables import ID_NUMBER_ALIASES, layout
from gridguard.testing import sample_records
from gridguard.watch import CheckInReport


def test_unstored_keeps_the_first_of_each_new_id_in_order() -> None:
    with gridguard.open("memory://") as ws:
        ws.add(sample_records())
        h1 = ws.get(Household, "h1")
        new = attrs.evolve(h1, id="h9", door="909")
        again = attrs.evolve(new, door="910")
        with ws.transaction(write=False) as uow:
            assert unstored(uow, Household, [h1, new, again, ws.get(Household, "h2")]) == [new]
            assert unstored(uow, Household, []) == []


def _fact(id: str) -> Any:
    return SimpleNamespace(id=id)


def test_store_batch_finds_the_records_at_fault_and_stores_the_others() -> None:
    stored: list[str] = []

    def store(facts: list[Any]) -> None:
        ids = [f.id for f in facts]
        if "b" in ids:
            raise ConflictError("b is stored with other content")
        if "d" in ids:
            raise ValidationError([Violation("$.household_id", "'x'", "unknown household")])
        stored.extend(ids)

    good: Sequence[tuple[int, Sequence[Any]]] = [
        (1, [_fact("a")]),
        (2, [_fact("b"), _fact("c")]),
        (3, [_fact("d")]),
        (4, [_fact("e")]),
    ]
    accepted, errors = store_batch(good, store)
    assert accepted == 2
    assert stored == ["a", "e"]  # the whole batch failed, then each record on its own
    assert [e.line for e in errors] == [2, 3]
    assert errors[0].violations[0].path == "$.id"
    assert "other content" in errors[0].violations[0].rule
    assert errors[1].violations[0].rule == "unknown household"


def test_store_batch_stores_a_good_batch_in_one_call() -> None:
    calls: list[list[str]] = []
    accepted, errors = store_batch(
        [(1, [_fact("a")]), (2, [_fact("b")])], lambda facts: calls.append([f.id for f in facts])
    )
    assert (accepted, errors, calls) == (2, [], [["a", "b"]])


def test_both_batch_reports_count_the_same_way() -> None:
    visits = RecordReport(5, 3, visits_written=3)
    checkins = CheckInReport(records=5, accepted=3, written=3)
    for report in (visits, checkins):
        assert report.rejected == 2
        assert list(report.to_dict())[:3] == ["records", "accepted", "rejected"]
        assert report.to_dict()["errors"] == []
    assert visits.to_dict()["visits"] == {"written": 3, "unchanged": 0}
    assert checkins.to_dict()["checkins"] == {"written": 3, "unchanged": 0}


def test_an_identity_number_column_is_found_by_the_same_headers_in_a_register_and_a_list() -> None:
    persons = KINDS["persons"].aliases["resident_id"]
    entries = LIST_ALIASES["id_number"]
    assert set(ID_NUMBER_ALIASES) <= set(persons)
    assert set(ID_NUMBER_ALIASES) <= set(entries)
    for header in ("身份证号码（必填）", "公民身份号码", "ID Number", "resident_id"):
        register = layout([header], ["resident_id"], {"resident_id": persons}, (), source="p.csv")
        outside = layout([header], ["id_number"], {"id_number": entries}, (), source="l.csv")
        assert register.positions == outside.positions == (0,), header
