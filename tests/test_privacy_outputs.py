"""Personal data in what gridguard prints and writes: masked by default, shown on request.

The ranked targets' addresses, the importer's error report (a masked value
that still starts with a formula character), and the notes of service
requests listed for coordinators.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import gridguard
from gridguard.cli import main
from gridguard.quarantine import order_quarantine
from gridguard.security.audit import AuditEntry
from gridguard.services import open_requests, request_service
from gridguard.services.workflow import mask_numbers
from gridguard.targeting import Target, import_file
from quarantine_helpers import T0, local, records
from test_targeting_import import place_tree, report_rows, write

FORMULA = ("=", "+", "-", "@")


def _targets_store(path: Path) -> None:
    with gridguard.open(path) as ws:
        ws.add(place_tree())
        with ws.transaction() as uow:
            uow.put(
                Target,
                [
                    Target(id="t-h101", household_id="h101", grid_id="g1", priority=9.0),
                    Target(id="t-h102", household_id="h102", grid_id="g1", priority=3.0),
                ],
            )


def test_targets_mask_addresses_unless_unmasked_and_unmasking_is_audited(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    _targets_store(Path(db))
    runner = CliRunner()
    masked = runner.invoke(main, ["targets", "--db", db, "--json"])
    assert masked.exit_code == 0, masked.output
    assert [t["address"] for t in json.loads(masked.output)] == ["牡*******", "牡*******"]
    table = runner.invoke(main, ["targets", "--db", db])
    assert "牡丹阁" not in table.output
    with gridguard.open(db) as ws:
        assert not [e for e in ws.find(AuditEntry) if e.action == "targeting.unmask"]
    shown = runner.invoke(main, ["targets", "--db", db, "--json", "--unmask", "--grid", "g1"])
    assert [t["address"] for t in json.loads(shown.output)] == ["牡丹阁3幢101", "牡丹阁3幢102"]
    with gridguard.open(db) as ws:
        (entry,) = [e for e in ws.find(AuditEntry) if e.action == "targeting.unmask"]
    assert (entry.target, entry.outcome.value) == ("area:g1", "allowed")


@pytest.mark.parametrize("cell", ["=1+2", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3"])
def test_the_error_report_neutralises_a_masked_value_that_starts_a_formula(
    tmp_path: Path, cell: str
) -> None:
    with gridguard.open(tmp_path / "i.db") as ws:
        ws.add(place_tree())
        path = write(tmp_path / "p.csv", [["h101", "陈建国", "", cell, "", "", ""]])
        assert import_file(ws, "persons", path).rejected == 1
    ((_, column, value, reason),) = report_rows(path)
    assert column == "手机号"  # a name that looks like a formula is stored as text instead
    assert value.startswith("'" + cell[0])  # quoted, as the CSV reporter quotes a cell
    assert cell[1:] not in value  # and still masked
    assert "formula" in reason
    assert not any(c.startswith(FORMULA) for c in (column, value, reason))


def test_service_notes_are_listed_with_numbers_masked(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "s.db") as ws:
        ws.add(records())
        order_quarantine(
            ws,
            person_id="p1",
            last_exposure=dt.date(2020, 1, 28),
            ordered_by="医",
            reason="接触",
            at=T0,
        )
        note = "大米 青菜，电话 13800138000，身份证 442000195503071318"
        request_service(
            ws, household_id="h1", service="groceries", note=note, at=local(dt.date(2020, 1, 30), 9)
        )
        (listed,) = open_requests(ws)
    shown = listed.as_dict()["note"]
    assert shown == "大米 青菜，电话 138****8000，身份证 442000**********18"
    assert listed.as_dict(unmask=True)["note"] == note
    out = CliRunner().invoke(
        main,
        [
            "service",
            "overdue",
            "--db",
            str(tmp_path / "s.db"),
            "--at",
            "2020-02-05T00:00+08:00",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "13800138000" not in out.output
    assert "138****8000" in out.output


@given(st.text(alphabet="0123456789 -+大米", max_size=40))
def test_masking_numbers_in_a_note_never_leaves_a_long_digit_run(text: str) -> None:
    masked = mask_numbers(text)
    digits = "".join(c if c.isdigit() else "|" for c in masked.replace(" ", "").replace("-", ""))
    assert all(len(run) < 11 for run in digits.split("|"))
