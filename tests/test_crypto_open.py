"""``gridguard.open(url, key=...)`` / ``keyring=...``: field encryption from the one entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

import gridguard
from gridguard import Person
from gridguard.errors import ConfigError
from gridguard.security.crypto import KEY_ENV, KEY_FILE_ENV, KeyRing, add_key_to_file
from gridguard.testing import sample_records
from test_crypto_store import ONE, TWO, leaks, raw_bytes, secrets_of


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)


def _persons() -> list[Person]:
    return [r for r in sample_records() if isinstance(r, Person)]


@pytest.mark.parametrize("form", ["file", "bytes", "keyring"])
def test_a_store_opened_with_a_key_is_encrypted_and_reads_back(tmp_path: Path, form: str) -> None:
    keys = tmp_path / "keys"
    add_key_to_file(keys, ONE)
    given = {
        "file": {"key": keys},
        "bytes": {"key": ONE},
        "keyring": {"keyring": KeyRing.of(ONE)},
    }[form]
    db = tmp_path / "enc.db"
    with gridguard.open(db, **given) as ws:
        ws.add(sample_records())
        p1 = ws.get(Person, "p1")
        assert p1.resident_id is not None
        assert [p.id for p in ws.find(Person, resident_id=str(p1.resident_id))] == ["p1"]
        assert ws.storage.fields is not None  # type: ignore[attr-defined]
    assert leaks(raw_bytes(db), secrets_of(_persons())) == set()
    with gridguard.open(db, keyring=KeyRing.of(ONE)) as ws:
        assert ws.get(Person, "p2").phone == "+8613923456789"


def test_a_missing_or_wrong_key_or_two_keys_are_clear_errors(tmp_path: Path) -> None:
    db = tmp_path / "enc.db"
    with gridguard.open(db, key=ONE) as ws:
        ws.add(sample_records())
    with pytest.raises(ConfigError, match="encrypts identity numbers"):
        gridguard.open(db)
    with pytest.raises(ConfigError, match="wrong key"):
        gridguard.open(db, key=TWO)
    with pytest.raises(ConfigError, match="not both"):
        gridguard.open(db, key=ONE, keyring=KeyRing.of(ONE))
    with pytest.raises(ConfigError, match="32 bytes"):
        gridguard.open(db, key=b"short")
    with pytest.raises(ConfigError, match="does not exist"):
        gridguard.open(db, key=tmp_path / "no-such-key-file")


def test_a_backend_without_field_encryption_refuses_a_key() -> None:
    with pytest.raises(ConfigError, match="'memory' storage backend does not support"):
        gridguard.open("memory://", key=ONE)


def test_without_a_key_a_new_store_is_plain(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        assert ws.storage.fields is None  # type: ignore[attr-defined]
    assert leaks(raw_bytes(db), secrets_of(_persons()))


def test_a_look_up_by_identity_number_is_audited_masked(tmp_path: Path) -> None:
    from gridguard.security.audit import AuditEntry

    with gridguard.open(tmp_path / "a.db", key=ONE) as ws:
        ws.add(sample_records())
        number = str(ws.get(Person, "p1").resident_id)
        assert len(ws.find(Person, resident_id=number, household_id="h1")) == 1
        ws.flush_audit()
        (entry,) = [e for e in ws.find(AuditEntry) if e.target.startswith("Person[")]
    assert number not in entry.target
    assert number[:6] not in entry.target
    assert "household_id=h1" in entry.target
