"""The audit log: what is recorded, and tamper tests on its hash chain.

Tampering is done the way an attacker with the database file would: a raw
``sqlite3`` connection that drops the append-only triggers, then changes,
deletes or reorders rows. ``gridguard audit verify`` must name the entry.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import AccessDenied, Household, Person, Principal, Role, Visit
from gridguard.cli import main
from gridguard.security.audit import AuditEntry, entry_hash, recent_entries, verify_log
from gridguard.storage.schema import spec_for
from gridguard.testing import sample_records
from gridguard.workspace import Workspace

AT = dt.datetime(2020, 1, 26, 3, tzinfo=dt.UTC)
ENTRIES = 12


def _visits(n: int, start: int = 0) -> list[Visit]:
    return [
        Visit(id=uuid.UUID(int=start + i + 1), at=AT, household_id="h1", outcome="screened")
        for i in range(n)
    ]


def _entries(ws: Workspace) -> list[AuditEntry]:
    return sorted(ws.find(AuditEntry), key=lambda e: e.seq)


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A store whose audit log has ENTRIES entries, closed (WAL checkpointed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.db"
        with gridguard.open(path) as ws:
            ws.add(sample_records())
            for n in range(ENTRIES - 1):
                ws.record(_visits(1, start=n))
        yield path


def _copy(template: Path, folder: Path) -> Path:
    target = folder / f"{uuid.uuid4().hex}.db"
    shutil.copy(template, target)
    return target


def _tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def _verify(path: Path, anchor: tuple[int, str] | None = None) -> list[tuple[int, str]]:
    with gridguard.open(path) as ws, ws.transaction(write=False) as uow:
        from gridguard.security.audit import verify

        report = verify(uow, ws.storage.dialect, anchor=anchor)
    return [(p.seq, p.kind) for p in report.problems]


def test_every_write_and_personal_read_is_one_entry(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "a.db", purpose="door-to-door sweep") as ws:
        ws.add(sample_records())
        ws.record(_visits(1000))
        ws.get(Household, "h1")
        ws.find(Person, household_id="h1")
        ws.find(Person, name="陈建国")
        ws.count(Person)  # a count is no file: not audited
        ws.get(gridguard.Area, "c1")  # the place tree is not personal: not audited
        ws.flush_audit()
        entries = _entries(ws)
    assert [(e.action, e.target, e.count) for e in entries] == [
        ("write", "Area,Building,Campaign,Household,Person,Stairwell,Team", 19),
        ("write", "Visit", 1000),
        ("read", "Household:h1", 1),
        ("read", "Person[household_id=h1]", 2),
        ("read", "Person[name=陈**]", 1),
    ]
    assert all(e.principal == "local-admin" and e.role == "admin" for e in entries)
    assert all(e.scope == "*" and e.reason == "door-to-door sweep" for e in entries)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]


def test_reads_are_held_back_until_the_next_write_a_full_batch_or_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridguard.workspace as workspace

    path = tmp_path / "held.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
        ws.get(Person, "p1")
        assert len(_entries(ws)) == 1  # the read waits: a reader never waits for a writer
        ws.record(_visits(1))  # ...and goes in with the next write, in order
        assert [e.action for e in _entries(ws)] == ["write", "read", "write"]
        monkeypatch.setattr(workspace, "AUDIT_READS_HELD", 3)
        for _ in range(3):
            ws.get(Person, "p2")
        assert [e.target for e in _entries(ws)][-3:] == ["Person:p2"] * 3
        ws.get(Household, "h1")
    with gridguard.open(path) as ws:  # closing wrote the last one
        entries = _entries(ws)
        assert entries[-1].target == "Household:h1"
        assert [e.at for e in entries] == sorted(e.at for e in entries)
        assert verify_log(ws).ok


def test_a_failed_write_leaves_no_entry_and_the_chain_holds(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "f.db") as ws:
        ws.add(sample_records())
        with pytest.raises(gridguard.ValidationError):
            ws.record([Visit(at=AT, household_id="nowhere", outcome="screened")])
        assert len(_entries(ws)) == 1
        assert verify_log(ws).ok


def test_the_log_is_append_only_in_sqlite(template: Path, tmp_path: Path) -> None:
    path = _copy(template, tmp_path)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET action = 'nothing' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 1")
    conn.close()


def test_an_untouched_chain_verifies(template: Path, tmp_path: Path) -> None:
    path = _copy(template, tmp_path)
    assert _verify(path) == []
    with gridguard.open(path) as ws:
        report = verify_log(ws)
        entries = _entries(ws)
    assert report.ok
    assert report.entries == ENTRIES + 1  # verifying is itself audited
    for entry in entries:
        assert entry_hash(spec_for(AuditEntry).encode(entry)) == entry.hash


COLUMNS = ["principal", "role", "action", "target", "count", "outcome", "reason", "at"]


@settings(max_examples=30)
@given(seq=st.integers(1, ENTRIES), column=st.sampled_from(COLUMNS))
def test_changing_any_entry_is_detected(template: Path, seq: int, column: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _copy(template, Path(tmp))
        value: object = 7 if column == "count" else "2020-01-01 00:00:00.000000"
        if column not in ("count", "at"):
            value = "denied" if column == "outcome" else "篡改"
        _tamper(path, (f'UPDATE audit_log SET "{column}" = ? WHERE seq = ?', (value, seq)))
        assert (seq, "changed") in _verify(path)


@settings(max_examples=20)
@given(seq=st.integers(1, ENTRIES - 1))
def test_deleting_any_entry_is_detected(template: Path, seq: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _copy(template, Path(tmp))
        _tamper(path, ("DELETE FROM audit_log WHERE seq = ?", (seq,)))
        problems = _verify(path)
        assert (seq + 1, "missing") in problems
        assert (seq + 1, "broken") in problems


def test_cutting_off_the_last_entries_is_detected_against_an_anchor(
    template: Path, tmp_path: Path
) -> None:
    path = _copy(template, tmp_path)
    with gridguard.open(path) as ws:
        last = _entries(ws)[-1]
    anchor = (last.seq, last.hash)
    assert _verify(path, anchor) == []
    _tamper(path, ("DELETE FROM audit_log WHERE seq >= ?", (ENTRIES - 1,)))
    assert _verify(path) == []  # a shorter chain is still a chain...
    assert _verify(path, anchor) == [(ENTRIES, "missing")]  # ...but not the one noted


@settings(max_examples=20)
@given(pair=st.lists(st.integers(1, ENTRIES), min_size=2, max_size=2, unique=True))
def test_reordering_any_two_entries_is_detected(template: Path, pair: list[int]) -> None:
    a, b = sorted(pair)
    with tempfile.TemporaryDirectory() as tmp:
        path = _copy(template, Path(tmp))
        _tamper(
            path,
            ("UPDATE audit_log SET seq = -1 WHERE seq = ?", (a,)),
            ("UPDATE audit_log SET seq = ? WHERE seq = ?", (a, b)),
            ("UPDATE audit_log SET seq = ? WHERE seq = -1", (b,)),
        )
        problems = _verify(path)
        assert (a, "changed") in problems
        assert (b, "changed") in problems
        assert any(kind in ("reordered", "broken") for _, kind in problems)


def test_the_memory_store_keeps_a_chain_too() -> None:
    with gridguard.open("memory://") as ws:
        ws.add(sample_records())
        ws.record(_visits(3))
        ws.get(Person, "p1")
        report = verify_log(ws)
        assert report.ok
        assert report.entries == 4
        assert [e.action for e in recent_entries(ws, 3)] == ["read", "audit.read", "audit.read"]


def test_only_admins_and_auditors_read_the_log(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "r.db") as admin:
        admin.add(sample_records())
        auditor = Workspace(admin.storage, principal=Principal(name="审计", role=Role.AUDITOR))
        assert verify_log(auditor).ok
        doctor = Workspace(
            admin.storage, principal=Principal(name="医生", role=Role.COMMUNITY_DOCTOR)
        )
        with pytest.raises(AccessDenied, match=r"医生 \(community_doctor, \*\) may not audit.read"):
            verify_log(doctor)
        last = _entries(admin)[-1]
        assert (last.principal, last.outcome.value) == ("医生", "denied")


def test_cli_audit_verify_and_show(template: Path, tmp_path: Path) -> None:
    path = _copy(template, tmp_path)
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify", "--db", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "审计日志完整" in ok.output
    head = runner.invoke(main, ["audit", "show", "--db", str(path), "--head"])
    anchor = head.output.strip()
    shown = runner.invoke(main, ["audit", "show", "--db", str(path), "--last", "3"])
    assert shown.exit_code == 0
    assert shown.output.count("\n") == 6  # two lines an entry
    assert "audit.read" in shown.output
    _tamper(path, ("UPDATE audit_log SET target = 'Visit:x' WHERE seq = 4", ()))
    bad = runner.invoke(main, ["audit", "verify", "--db", str(path), "--anchor", anchor])
    assert bad.exit_code == 1
    assert "entry 4: changed" in bad.output
    wrong = runner.invoke(main, ["audit", "verify", "--db", str(path), "--anchor", "3:abc"])
    assert wrong.exit_code == 2
    assert "SEQ:HASH" in wrong.output
