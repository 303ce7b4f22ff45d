"""Field encryption on a SQLite store: nothing in clear on disk, matching still works.

The acceptance tests of personal data at rest: the raw bytes of the
database file and its WAL never hold an identity number or a phone; the
targeting cascade links the same rows on an encrypted store as on a plain
one; a wrong or missing key is a clear error; a rotation keeps every value
readable and every blind index matching.
"""

from __future__ import annotations

import base64
import csv
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Household, Person
from gridguard.errors import ConfigError, StorageError
from gridguard.security.crypto import (
    KEY_ENV,
    KEY_FILE_ENV,
    DecryptionError,
    KeyRing,
    add_key_to_file,
    key_status,
    read_key_file,
    rotate_keys,
)
from gridguard.storage.sqlite import SQLiteStorage
from gridguard.synth import huayuan
from gridguard.targeting import ListEntry, match_list, noisy_list, ranked_targets, review_queue
from gridguard.targeting.importing import import_file
from gridguard.workspace import Workspace
from strategies import cn_mobile_numbers, valid_resident_id_numbers
from test_targeting_match import CASES, links, register, write_list

ONE = bytes(range(32))
TWO = bytes(range(100, 132))


def key_text(*keys: bytes) -> str:
    return ",".join(base64.b64encode(k).decode() for k in keys)


@pytest.fixture(scope="module")
def scenario() -> Any:
    """Huayuan: 4,000 households, 11,000 persons with identity numbers and phones."""
    return huayuan(5)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment holds key ONE, as an operator's shell would."""
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, key_text(ONE))


def raw_bytes(db: Path) -> bytes:
    """The database file and its WAL (when there is one), as they are on disk."""
    out = db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    if wal.exists():
        out += wal.read_bytes()
    return out


def number_forms(number: str) -> set[str]:
    """The ways an identity number could be written: as stored, lower case, without its
    check character, and without its region code."""
    return {number, number.lower(), number[:17], number[6:]}


def phone_forms(phone: str) -> set[str]:
    """A phone in E.164 and national form (``+8613800138000`` holds ``13800138000``)."""
    national = phone.removeprefix("+86")
    return {phone, national, f"{national[:3]} {national[3:7]} {national[7:]}"}


def leaks(data: bytes, secrets: Iterable[str]) -> set[str]:
    """Every secret found in ``data`` as UTF-8 or UTF-16 text (either byte order).

    Runs of digits (and ``X``, ``+``, spaces) are pulled out of the bytes
    once and their substrings looked up in a set, so a city's worth of
    secrets costs one pass over the file per encoding.
    """
    wanted = set(secrets)
    lengths = {len(s) for s in wanted}
    runs = [m.decode("ascii") for m in re.findall(rb"[0-9Xx+ ]{11,}", data)]
    for pattern, codec in (
        (rb"(?:[0-9Xx+ ]\x00){11,}", "utf-16-le"),
        (rb"(?:\x00[0-9Xx+ ]){11,}", "utf-16-be"),
    ):
        runs += [m.decode(codec) for m in re.findall(pattern, data)]
    windows = {
        run[start : start + size]
        for run in set(runs)
        for size in lengths
        for start in range(len(run) - size + 1)
    }
    return windows & wanted


def secrets_of(people: Iterable[Person], households: Iterable[Household] = ()) -> set[str]:
    out: set[str] = set()
    for p in people:
        if p.resident_id is not None:
            out |= number_forms(str(p.resident_id))
        if p.phone is not None:
            out |= phone_forms(p.phone)
    for h in households:
        if h.phone is not None:
            out |= phone_forms(h.phone)
    return out


def test_the_leak_finder_finds_what_it_looks_for() -> None:
    data = b"xx 442000196003070115 yy" + "13800138000".encode("utf-16-le")
    assert leaks(data, {"442000196003070115", "13800138000", "13900139000"}) == {
        "442000196003070115",
        "13800138000",
    }


def test_a_plain_store_does_hold_the_numbers_the_check_looks_for(tmp_path: Path) -> None:
    """The control: without a key the same writes leave the numbers in the file."""
    db = tmp_path / "plain.db"
    records = register()
    with gridguard.open(db) as ws:
        ws.add(records)
        assert leaks(raw_bytes(db), secrets_of(ws.find(Person)))


# -- nothing in clear on disk -----------------------------------------------------------------


def test_no_identity_number_or_phone_is_on_disk_in_clear(
    tmp_path: Path, keyed: None, scenario: Any
) -> None:
    db = tmp_path / "enc.db"
    secrets = secrets_of(scenario.persons, scenario.households)
    assert len(secrets) > 40_000
    with gridguard.open(db) as ws:
        scenario.load(ws)
        assert leaks(raw_bytes(db), secrets) == set()  # the file and the WAL, while open
        people = ws.find(Person)
        assert {(p.id, p.resident_id, p.phone) for p in people} == {
            (p.id, p.resident_id, p.phone) for p in scenario.persons
        }
    assert leaks(raw_bytes(db), secrets) == set()  # and after the checkpoint on close
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT resident_id, phone FROM persons").fetchall()
    assert all(v is None or v.startswith("gg2:") for row in stored for v in row)


def test_outside_lists_are_encrypted_too(tmp_path: Path, keyed: None) -> None:
    db = tmp_path / "enc.db"
    path = write_list(tmp_path / "list.csv", CASES)
    with gridguard.open(db) as ws:
        ws.add(register())
        result = match_list(ws, path, source="railway")
        numbers = {e.id_number for e in ws.find(ListEntry) if e.id_number}
        phones = {e.phone for e in ws.find(ListEntry) if e.phone}
        assert (len(numbers), len(phones)) == (5, 3)
        assert result.review_queue == 3
        shown = review_queue(ws)  # rows read back through the store, masked for people
        assert all("*" in q.id_number or not q.id_number for q in shown)
    secrets = {f for n in numbers for f in number_forms(n)} | {
        f for p in phones for f in phone_forms(p)
    }
    assert leaks(raw_bytes(db), secrets) == set()


# -- matching on an encrypted store ----------------------------------------------------------


def test_each_pass_of_the_cascade_works_on_an_encrypted_store(tmp_path: Path, keyed: None) -> None:
    path = write_list(tmp_path / "list.csv", CASES)
    found = []
    for name in ("plain.db", "enc.db"):
        if name == "plain.db":
            with pytest.MonkeyPatch.context() as mp:
                mp.delenv(KEY_ENV)
                ws = gridguard.open(tmp_path / name)
        else:
            ws = gridguard.open(tmp_path / name)
        with ws:
            assert (ws.storage.fields is None) == (name == "plain.db")
            ws.add(register())
            result = match_list(ws, path, source="railway")
            found.append((links(ws, result.list_id), result.by_pass, result.review_queue))
    assert found[0] == found[1]
    assert found[1][1] == {"identity": 1, "phone_name": 1, "fuzzy_identity": 3}


def test_an_encrypted_store_links_the_same_rows_as_a_plain_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: Any
) -> None:
    people = [(p.id, p.name, str(p.resident_id), p.phone) for p in scenario.persons if p.phone]
    path = noisy_list(people, size=400, seed=5).write_csv(tmp_path / "list.csv")
    seen = []
    for key in (None, ONE):
        if key is None:
            monkeypatch.delenv(KEY_ENV, raising=False)
        else:
            monkeypatch.setenv(KEY_ENV, key_text(key))
        with gridguard.open(tmp_path / f"gg-{key is None}.db") as ws:
            scenario.load(ws)
            result = match_list(ws, path, source="railway", on=scenario.campaign.start)
            seen.append(
                (
                    links(ws, result.list_id),
                    sorted((q.row, q.reason) for q in review_queue(ws)),
                    [(t.household_id, t.priority) for t in ranked_targets(ws)],
                )
            )
    assert seen[0] == seen[1]
    assert sum(len(v) for v in seen[1][0].values()) > 300


def test_exact_look_ups_use_the_blind_index(tmp_path: Path, keyed: None) -> None:
    with gridguard.open(tmp_path / "enc.db") as ws:
        ws.add(register())
        chen = ws.get(Person, "chen")
        assert [p.id for p in ws.find(Person, resident_id=str(chen.resident_id))] == ["chen"]
        family = ws.find(Person, phone="+8613800138000")
        assert sorted(p.id for p in family) == ["chen", "chen-son"]
        assert ws.count(Person, phone=None) == 2
        with pytest.raises(StorageError, match="has no blind index"):
            ws.find(Household, phone="+8613800138000")


def test_writing_the_same_persons_again_changes_nothing(tmp_path: Path, keyed: None) -> None:
    with gridguard.open(tmp_path / "enc.db") as ws:
        records = register()
        ws.add(records)
        versions = {p.id: ws.version(Person, p.id) for p in ws.find(Person)}
        again = ws.add(records)
        assert again.written == 0
        assert {p.id: ws.version(Person, p.id) for p in ws.find(Person)} == versions
        moved = ws.get(Person, "zhang")
        ws.add([moved.__class__(**{**_fields(moved), "phone": "13500135000"})])
        assert ws.version(Person, "zhang") == versions["zhang"] + 1
        assert [p.id for p in ws.find(Person, phone="+8613500135000")] == ["zhang"]


def _fields(obj: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(obj, recurse=False)


def test_importing_a_register_twice_on_an_encrypted_store_changes_nothing(
    tmp_path: Path, keyed: None
) -> None:
    from test_targeting_import import HEADER, good_rows, place_tree

    path = tmp_path / "p.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerows(good_rows())
    with gridguard.open(tmp_path / "enc.db") as ws:
        ws.add(place_tree())
        first = import_file(ws, "persons", path)
        again = import_file(ws, "persons", path)
        assert (first.inserted, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
        assert {p.phone for p in ws.find(Person)} == {
            "+8613800138000",
            "+8613900139000",
            "+8613700137000",
        }


# -- keys: missing, wrong, altered ------------------------------------------------------------


def test_a_missing_or_wrong_key_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "enc.db"
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        ws.add(register())
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"encrypts identity numbers and phones \(key \w{12}\)"):
        gridguard.open(db)
    monkeypatch.setenv(KEY_ENV, key_text(TWO))
    with pytest.raises(ConfigError, match=r"wrong key for .*enc.db.*: it is encrypted with key"):
        gridguard.open(db)
    monkeypatch.setenv(KEY_ENV, key_text(ONE))
    with gridguard.open(db) as ws:
        assert ws.get(Person, "li").phone == "+8613900139000"


def test_an_altered_value_is_an_error_never_garbage(tmp_path: Path) -> None:
    db = tmp_path / "enc.db"
    ring = KeyRing.of(ONE)
    with Workspace(SQLiteStorage(db, keyring=ring)) as ws:
        ws.add(register())
    with sqlite3.connect(db) as conn:  # someone with the file swaps two columns
        conn.execute("UPDATE persons SET resident_id = phone, phone = resident_id WHERE id = 'li'")
    with Workspace(SQLiteStorage(db, keyring=ring)) as ws:
        with pytest.raises(
            DecryptionError,
            match=r"persons\.resident_id of row 'li': holds a value sealed for column pp",
        ):
            ws.get(Person, "li")
        assert ws.get(Person, "chen").name == "陈建国"


def test_a_key_given_to_a_store_in_clear_is_refused_not_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "plain.db"
    monkeypatch.delenv(KEY_ENV, raising=False)
    with gridguard.open(db) as ws:
        ws.add(register())
    monkeypatch.setenv(KEY_ENV, key_text(ONE))
    with pytest.raises(ConfigError, match="in clear and a key was given: encrypt them"):
        gridguard.open(db)


def test_the_memory_store_has_nothing_at_rest_and_ignores_keys(keyed: None) -> None:
    with gridguard.open("memory://") as ws:
        ws.add(register())
        assert ws.get(Person, "chen").phone == "+8613800138000"


# -- rotation ---------------------------------------------------------------------------------


def snapshot(ws: Any) -> tuple[Any, ...]:
    """Every encrypted value as read back, and the persons' versions."""
    with ws.transaction(write=False) as uow:
        versions = dict(uow.query("SELECT id, version FROM persons"))
    return (
        sorted((p.id, str(p.resident_id), p.phone) for p in ws.find(Person)),
        sorted((h.id, h.phone) for h in ws.find(Household)),
        sorted((str(e.id), e.id_number, e.phone) for e in ws.find(ListEntry)),
        versions,
    )


@pytest.fixture
def encrypted(tmp_path: Path) -> tuple[Path, Path, Any]:
    """A store under the first key of a key file, with a register and a matched list."""
    keys = tmp_path / "keys"
    add_key_to_file(keys, ONE)
    db = tmp_path / "enc.db"
    with Workspace(SQLiteStorage(db, keyring=read_key_file(keys))) as ws:
        ws.add(register())
        match_list(ws, write_list(tmp_path / "list.csv", CASES), source="railway")
        before = snapshot(ws)
    return db, keys, before


def test_rotation_keeps_every_value_readable_and_the_blind_index_matching(
    encrypted: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    db, keys, before = encrypted
    old_id = read_key_file(keys).current.key_id
    new = add_key_to_file(keys, TWO)
    storage = SQLiteStorage(db, field_encryption=False)
    result = rotate_keys(storage, read_key_file(keys))
    status = key_status(storage)
    storage.close()
    assert (result.previous, result.key_id) == (old_id, new.key_id)
    assert result.values == 5 + 4 + 5 + 3  # persons' numbers and phones, the list's
    assert (status.active, status.retired) == (new.key_id, (old_id,))
    assert status.persons_by_key == {new.key_id: 6}
    assert status.values_in_clear == 0
    only_new = KeyRing.of(TWO)
    with Workspace(SQLiteStorage(db, keyring=only_new)) as ws:
        assert snapshot(ws) == before
        chen = ws.get(Person, "chen")
        assert [p.id for p in ws.find(Person, resident_id=str(chen.resident_id))] == ["chen"]
        again = match_list(ws, write_list(tmp_path / "l2.csv", CASES), source="bus")
        assert again.by_pass == {"identity": 1, "phone_name": 1, "fuzzy_identity": 3}
    with pytest.raises(ConfigError, match="wrong key"):
        SQLiteStorage(db, keyring=KeyRing.of(ONE))


def test_a_rotation_that_cannot_decrypt_changes_nothing(
    encrypted: tuple[Path, Path, Any],
) -> None:
    db, _, before = encrypted
    storage = SQLiteStorage(db, field_encryption=False)
    with pytest.raises(DecryptionError, match="does not hold"):
        rotate_keys(storage, KeyRing.of(TWO))  # the old key is missing from the ring
    assert key_status(storage).persons_by_key == {KeyRing.of(ONE).current.key_id: 6}
    storage.close()
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        assert snapshot(ws) == before


def test_rotating_a_store_in_clear_encrypts_it_and_leaves_no_copy_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: Any
) -> None:
    db = tmp_path / "plain.db"
    monkeypatch.delenv(KEY_ENV, raising=False)
    with gridguard.open(db) as ws:
        scenario.load(ws)
        before = snapshot(ws)
    secrets = secrets_of(scenario.persons, scenario.households)
    assert leaks(raw_bytes(db), secrets)
    storage = SQLiteStorage(db, field_encryption=False)
    result = rotate_keys(storage, KeyRing.of(ONE))
    storage.close()
    assert result.previous is None
    assert leaks(raw_bytes(db), secrets) == set()
    monkeypatch.setenv(KEY_ENV, key_text(ONE))
    with gridguard.open(db) as ws:
        assert snapshot(ws) == before


def test_a_writer_that_goes_around_the_encryption_is_stopped(tmp_path: Path, keyed: None) -> None:
    """Bulk paths that bind rows straight into SQL hit triggers, never the disk."""
    with gridguard.open(tmp_path / "enc.db") as ws:
        ws.add(register())
        with (
            pytest.raises(StorageError, match=r"refused a write .*: persons is encrypted"),
            ws.transaction() as uow,
        ):
            uow.connection.execute("UPDATE persons SET phone = '+8613800138000' WHERE id = 'zhang'")
        with (
            pytest.raises(StorageError, match=r"refused a write .*: households is encrypted"),
            ws.transaction() as uow,
        ):
            uow.connection.execute(
                "INSERT INTO households (id, stairwell_id, floor, door, address, phone, "
                "jurisdiction) VALUES ('h9', 's1', 1, '9', 'x', '+8613800138000', 'hy')"
            )
        assert ws.get(Person, "zhang").phone is None


# -- invariants ---------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 5)),
            st.one_of(st.none(), st.integers(0, 5)),
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(valid_resident_id_numbers(), min_size=6, max_size=6, unique=True),
    st.lists(cn_mobile_numbers(), min_size=6, max_size=6, unique=True),
)
def test_an_encrypted_store_answers_like_a_plain_one(
    picks: list[tuple[int | None, int | None]], numbers: list[str], phones: list[str]
) -> None:
    """Whatever the persons (shared numbers and phones included): the same records back,
    the same answers to look-ups by number and phone, from the store and from the cascade."""
    from gridguard.targeting._blind import BlindFinder
    from gridguard.targeting.matching import PyFinder

    tree = [r for r in register() if not isinstance(r, Person)]
    people = [
        Person(
            id=f"p{i}",
            household_id="h1",
            name="某人",
            resident_id=None if n is None else numbers[n],
            phone=None if p is None else phones[p],
        )
        for i, (n, p) in enumerate(picks)
    ]
    with Workspace(SQLiteStorage(":memory:", keyring=KeyRing.of(ONE))) as ws:
        ws.add([*tree, *people])
        assert sorted(ws.find(Person), key=lambda p: p.id) == sorted(people, key=lambda p: p.id)
        for number in numbers:
            expected = sorted(p.id for p in people if str(p.resident_id) == number)
            assert sorted(p.id for p in ws.find(Person, resident_id=number)) == expected
        for phone in phones:
            expected = sorted(p.id for p in people if p.phone == phone)
            assert sorted(p.id for p in ws.find(Person, phone=phone)) == expected
        with ws.transaction(write=False) as uow:
            assert ws.storage.fields is not None
            blind, python = BlindFinder(uow, ws.storage.fields), PyFinder(uow)
            for ask in ("by_numbers", "by_phones", "by_blocks"):
                keys = numbers if ask != "by_phones" else phones
                got = {k: sorted(r.id for r in v) for k, v in getattr(blind, ask)(keys).items()}
                want = {k: sorted(r.id for r in v) for k, v in getattr(python, ask)(keys).items()}
                assert got == want, ask
            assert blind.regions() == python.regions()
