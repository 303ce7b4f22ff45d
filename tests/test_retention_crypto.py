"""Retention on an encrypted store: the purge empties the blind indexes with the values.

A person's identity number and phone are sealed in ``persons`` and indexed
by keyed hashes in ``persons_blind``; purging a closed campaign's personal
data must leave neither behind (a hash of a number is still the number's
fingerprint), while every count in reports stays the same.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import gridguard
from gridguard import Person
from gridguard.security.crypto import INDEX_TABLE, KEY_ENV, KEY_FILE_ENV
from gridguard.security.retention import purge
from test_crypto_store import ONE, key_text
from test_retention import NOW, _report_counts, _store

BLIND = ("resident_id", "id_block", "id_region", "phone")


def _blind(path: Path) -> dict[str, tuple[str | None, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(f"SELECT person_id, {', '.join(BLIND)} FROM {INDEX_TABLE}")
        return {str(r[0]): tuple(r[1:]) for r in rows}
    finally:
        conn.close()


def _on_disk(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The retention test store, encrypted from the start with key ONE."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, key_text(ONE))
    path = tmp_path / "enc.db"
    _store(path)
    return path


def test_purge_on_an_encrypted_store_empties_values_and_blind_indexes(encrypted: Path) -> None:
    before_counts = _report_counts(encrypted)
    before = _blind(encrypted)
    assert all(v is not None for v in before["p1"][:3])  # p1 has an identity number
    with gridguard.open(encrypted, key=ONE) as ws:
        p4 = ws.get(Person, "p4")
        persons = ws.count(Person)
        report = purge(ws, days=14, now=NOW)
        assert report.jurisdictions == ("c1",)
        assert report.rows[INDEX_TABLE] == 2  # p1 and p2 had values indexed; p3 had none
        assert ws.count(Person) == persons
        for pid in ("p1", "p2", "p3"):
            person = ws.get(Person, pid)
            assert (person.resident_id, person.phone) == (None, None)
        # exact matching still works for the persons kept, and finds nothing purged
        assert p4.resident_id is not None
        assert [p.id for p in ws.find(Person, resident_id=str(p4.resident_id))] == ["p4"]
        assert purge(ws, days=14, now=NOW).rows[INDEX_TABLE] == 0
    after = _blind(encrypted)
    assert set(after) == set(before)  # rows kept, values gone
    for pid in ("p1", "p2", "p3"):
        assert after[pid] == (None, None, None, None)
    assert after["p4"] == before["p4"]  # c2 is still covered by an open campaign
    assert _report_counts(encrypted) == before_counts
    data = _on_disk(encrypted)
    kept = set(before["p4"])  # p4 may share a region code with p1 and p2
    gone = {(pid, c): v for pid in ("p1", "p2") for c, v in zip(BLIND, before[pid], strict=True)}
    assert gone[("p1", "resident_id")] not in kept  # so the check below has something to find
    lingering = {
        k: v for k, v in gone.items() if v is not None and v not in kept and v.encode() in data
    }
    assert lingering == {}
    assert before["p4"][0] is not None
    assert before["p4"][0].encode() in data  # the check can see a blind index when it is there


def test_a_dry_run_counts_the_blind_indexes_too(encrypted: Path) -> None:
    with gridguard.open(encrypted, key=ONE) as ws:
        dry = purge(ws, days=14, now=NOW, dry_run=True)
    assert dry.rows[INDEX_TABLE] == 2
    assert _blind(encrypted)["p1"][0] is not None


def test_a_plain_store_has_blind_index_rows_to_purge_only_when_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    _store(path)
    with gridguard.open(path) as ws:
        report = purge(ws, days=14, now=NOW)
    assert report.rows[INDEX_TABLE] == 0
    assert report.rows["persons"] == 3
