"""Encrypted values are bound to their row: a copied or moved ciphertext is refused.

Each value is sealed with its table, column and row id as AES-GCM
associated data. These tests copy ciphertexts between rows the way someone
holding the database file (but not the key) could, and read them back
through every path: a stored record (``get``, ``find``), SQL pushed down by
a workflow (``query``), a rotation. Values sealed before row binding
(``gg1:``) still open, are refused when moved too, and a rotation rewrites
them bound to their row.
"""

from __future__ import annotations

import base64
import hmac
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridguard import Household, Person
from gridguard.security.crypto import (
    DecryptionError,
    FieldCipher,
    KeyRing,
    MisplacedValueError,
    key_status,
    rotate_keys,
)
from gridguard.storage.sqlite import SQLiteStorage
from gridguard.targeting import ListEntry, match_list
from gridguard.workspace import Workspace
from strategies import cn_mobile_numbers, valid_resident_id_numbers
from test_targeting_match import CASES, LI, register, write_list

ONE = bytes(range(32))
TWO = bytes(range(100, 132))


def with_household_phone() -> list[Any]:
    """The matching tests' register, two households with a phone of their own."""
    out = []
    for record in register():
        if isinstance(record, Household) and record.id in ("h1", "h2"):
            phone = "13600136000" if record.id == "h1" else "13500135000"
            record = Household(**{**_fields(record), "phone": phone})
        out.append(record)
    return out


def _fields(record: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(record, recurse=False)


def store(tmp_path: Path, ring: KeyRing | None = None) -> Path:
    db = tmp_path / "enc.db"
    with Workspace(SQLiteStorage(db, keyring=ring or KeyRing.of(ONE))) as ws:
        ws.add(with_household_phone())
    return db


def copy_value(db: Path, table: str, column: str, source: str, target: str) -> None:
    """What someone with the file and no key can do: copy a ciphertext into another row."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"UPDATE {table} SET {column} = (SELECT {column} FROM {table} WHERE id = ?) "
            "WHERE id = ?",
            (source, target),
        )


def pushed_down(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    """SQL as a report or the sweep pushes it down: values come back opened."""
    with ws._transaction(write=False) as uow:
        return list(uow.query(sql))


# -- the reproduction ------------------------------------------------------------------------


def test_a_phone_copied_into_another_persons_row_is_refused_naming_row_and_column(
    tmp_path: Path,
) -> None:
    db = store(tmp_path)
    copy_value(db, "persons", "phone", "chen", "li")
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'") as caught:
            ws.get(Person, "li")
        assert (caught.value.table, caught.value.column, caught.value.row_id) == (
            "persons",
            "phone",
            "li",
        )
        assert "13800138000" not in str(caught.value)  # never the plaintext
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'"):
            list(ws.find(Person))
        # SQL pushed down does not say which row a value came from: the store finds out.
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'"):
            pushed_down(ws, "SELECT phone FROM persons WHERE id = 'li'")
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'"):
            pushed_down(ws, "SELECT phone FROM persons WHERE id = 'chen'")  # the original too
        # Rows the copy did not touch read as before.
        assert ws.get(Person, "huang").phone == "+8613700137000"
        assert pushed_down(ws, "SELECT phone FROM persons WHERE id = 'huang'") == [
            ("+8613700137000",)
        ]


@pytest.mark.parametrize(
    ("table", "column", "source", "target"),
    [
        ("persons", "resident_id", "li", "zhang"),
        ("households", "phone", "h1", "h2"),
        ("households", "phone", "h1", "h3"),
    ],
)
def test_every_encrypted_column_refuses_a_value_from_another_row(
    tmp_path: Path, table: str, column: str, source: str, target: str
) -> None:
    db = store(tmp_path)
    copy_value(db, table, column, source, target)
    cls = Person if table == "persons" else Household
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        with pytest.raises(MisplacedValueError, match=rf"{table}\.{column} of row '{target}'"):
            ws.get(cls, target)
        with pytest.raises(MisplacedValueError, match=rf"{table}\.{column} of row '{target}'"):
            pushed_down(ws, f"SELECT {column} FROM {table}")


def test_an_outside_list_value_moved_between_rows_is_refused(tmp_path: Path) -> None:
    db = store(tmp_path)
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        match_list(ws, write_list(tmp_path / "list.csv", CASES), source="railway")
        ids = sorted(str(e.id) for e in ws.find(ListEntry) if e.id_number)
    copy_value(db, "list_entries", "id_number", ids[0], ids[1])
    with (
        Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws,
        pytest.raises(MisplacedValueError, match=rf"list_entries\.id_number of row '{ids[1]}'"),
    ):
        list(ws.find(ListEntry))


# -- rotation and blind indexes --------------------------------------------------------------


def everything(ws: Workspace) -> tuple[Any, ...]:
    return (
        sorted((p.id, str(p.resident_id), p.phone) for p in ws.find(Person)),
        sorted((h.id, h.phone) for h in ws.find(Household)),
        sorted(pushed_down(ws, "SELECT id, resident_id, phone FROM persons"), key=str),
    )


def test_rotation_reseals_each_value_for_the_same_row_and_keeps_look_ups(tmp_path: Path) -> None:
    db = store(tmp_path)
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        before = everything(ws)
    storage = SQLiteStorage(db, field_encryption=False)
    result = rotate_keys(storage, KeyRing.of(ONE, TWO))
    storage.close()
    assert result.key_id == KeyRing.of(TWO).current.key_id
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(TWO))) as ws:
        assert everything(ws) == before
        # Blind-index look-ups answer under the new key.
        assert [p.id for p in ws.find(Person, resident_id=LI)] == ["li"]
        assert sorted(p.id for p in ws.find(Person, phone="+8613800138000")) == ["chen", "chen-son"]
        linked = match_list(ws, write_list(tmp_path / "l.csv", CASES), source="bus")
        assert linked.by_pass == {"identity": 1, "phone_name": 1, "fuzzy_identity": 3}
    # Still bound to the row after the rotation.
    copy_value(db, "persons", "resident_id", "li", "zhang")
    with (
        Workspace(SQLiteStorage(db, keyring=KeyRing.of(TWO))) as ws,
        pytest.raises(MisplacedValueError, match=r"persons\.resident_id of row 'zhang'"),
    ):
        ws.get(Person, "zhang")


def test_a_rotation_stops_at_a_moved_value_and_changes_nothing(tmp_path: Path) -> None:
    db = store(tmp_path)
    copy_value(db, "persons", "phone", "chen", "li")
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT id, phone FROM persons ORDER BY id").fetchall()
    storage = SQLiteStorage(db, field_encryption=False)
    with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'"):
        rotate_keys(storage, KeyRing.of(ONE, TWO))
    storage.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, phone FROM persons ORDER BY id").fetchall() == stored


# -- values sealed before row binding ---------------------------------------------------------


def legacy_seal(ring: KeyRing, value: str, tag: str, row_id: str) -> str:
    """A value as the first format sealed it: the column alone as associated data, a nonce
    derived from the column, the row id and the value."""
    key = ring.current
    aad = f"gridguard:{tag}".encode()
    plain = value.encode()
    nonce = hmac.digest(key.nonce_key, b"%s\x00%s\x00%s" % (aad, row_id.encode(), plain), "sha256")[
        :12
    ]
    body = nonce + AESGCM(key.cipher_key).encrypt(nonce, plain, aad)
    return f"gg1:{key.key_id}:{tag}:{base64.urlsafe_b64encode(body).decode()}"


FIRST_TRIGGERS = {
    table: " OR ".join(
        f"(NEW.{c} IS NOT NULL AND substr(NEW.{c}, 1, 4) <> 'gg1:')" for c in columns
    )
    for table, columns in (
        ("persons", ("resident_id", "phone")),
        ("households", ("phone",)),
        ("list_entries", ("id_number", "phone")),
    )
}
"""The guard triggers of the first format: they refuse anything but ``gg1:`` values."""


def legacy_store(tmp_path: Path) -> Path:
    """A store whose persons' values are in the first format, with the first format's
    triggers and no look-up indexes, as an older gridguard left it."""
    db = store(tmp_path)
    ring = KeyRing.of(ONE)
    with Workspace(SQLiteStorage(db, keyring=ring)) as ws:
        plain = [(p.id, p.resident_id, p.phone) for p in ws.find(Person)]
    with sqlite3.connect(db) as conn:
        made = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE '%_sealed%'"
        ).fetchall()
        for kind, name in made:
            conn.execute(f"DROP {kind.upper()} {name}")
        for table, clear in FIRST_TRIGGERS.items():
            columns = ", ".join(c for c in ("resident_id", "id_number", "phone") if c in clear)
            for event in ("INSERT", f"UPDATE OF {columns}"):
                conn.execute(
                    f"CREATE TRIGGER {table}_sealed_{event.split()[0].lower()} BEFORE {event} "
                    f"ON {table} WHEN {clear} BEGIN SELECT RAISE(ABORT, 'clear'); END"
                )
        for pid, rid, phone in plain:
            conn.execute(
                "UPDATE persons SET resident_id = ?, phone = ? WHERE id = ?",
                (
                    None if rid is None else legacy_seal(ring, str(rid), "pr", pid),
                    None if phone is None else legacy_seal(ring, phone, "pp", pid),
                    pid,
                ),
            )
    return db


@pytest.mark.parametrize("opened_first", [False, True])
def test_values_of_the_first_format_open_and_a_rotation_binds_them(
    tmp_path: Path, opened_first: bool
) -> None:
    db = legacy_store(tmp_path)
    storage = SQLiteStorage(db, field_encryption=False)
    assert key_status(storage).values_unbound == 5 + 4
    storage.close()
    before = None
    if opened_first:  # a command run with the key before the rotation
        with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
            before = everything(ws)
            assert ws.get(Person, "li").phone == "+8613900139000"
    storage = SQLiteStorage(db, field_encryption=False)
    result = rotate_keys(storage, KeyRing.of(ONE))  # the same key: only rebinds
    status = key_status(storage)
    storage.close()
    assert result.values == 5 + 4
    assert status.values_unbound == 0
    with sqlite3.connect(db) as conn:
        stored = [v for r in conn.execute("SELECT resident_id, phone FROM persons") for v in r]
    assert all(v is None or v.startswith("gg2:") for v in stored)
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        assert before is None or everything(ws) == before
        assert ws.get(Person, "li").phone == "+8613900139000"
        assert [p.id for p in ws.find(Person, resident_id=LI)] == ["li"]


def test_a_moved_value_of_the_first_format_is_refused_too(tmp_path: Path) -> None:
    db = legacy_store(tmp_path)
    copy_value(db, "persons", "phone", "chen", "li")
    with Workspace(SQLiteStorage(db, keyring=KeyRing.of(ONE))) as ws:
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'.*gg1"):
            ws.get(Person, "li")
        with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'li'"):
            pushed_down(ws, "SELECT phone FROM persons")


# -- random rows -----------------------------------------------------------------------------

row_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,11}", fullmatch=True)


@settings(max_examples=200)
@given(
    value=st.text(max_size=30),
    tag=st.sampled_from(["pr", "pp", "hp", "lr", "lp"]),
    row=row_ids,
    other=row_ids,
    other_tag=st.sampled_from(["pr", "pp", "hp", "lr", "lp"]),
)
def test_a_sealed_value_opens_in_its_place_and_nowhere_else(
    value: str, tag: str, row: str, other: str, other_tag: str
) -> None:
    cipher = FieldCipher(KeyRing.of(ONE))
    token = cipher.seal(value, tag, row)
    assert cipher.open(token, tag, row) == value
    assert len(value) < 8 or value not in token
    if (other, other_tag) != (row, tag):
        with pytest.raises(MisplacedValueError):
            cipher.open(token, other_tag, other)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(
        st.tuples(row_ids, valid_resident_id_numbers(), st.none() | cn_mobile_numbers()),
        min_size=2,
        max_size=8,
        unique_by=lambda p: p[0],
    ),
    pick=st.data(),
)
def test_random_rows_round_trip_and_refuse_a_swap(
    tmp_path_factory: pytest.TempPathFactory, people: list[tuple[str, str, str | None]], pick: Any
) -> None:
    db = tmp_path_factory.mktemp("rows") / "enc.db"
    base = [r for r in register() if not isinstance(r, Person)]
    persons = [
        Person(id=pid, household_id="h1", name="某人", resident_id=rid, phone=phone)
        for pid, rid, phone in people
    ]
    ring = KeyRing.of(ONE)
    with Workspace(SQLiteStorage(db, keyring=ring)) as ws:
        ws.add([*base, *persons])
        assert sorted((p.id, p.resident_id, p.phone) for p in ws.find(Person)) == sorted(
            (p.id, p.resident_id, p.phone) for p in persons
        )
        assert sorted(pushed_down(ws, "SELECT id, resident_id, phone FROM persons")) == sorted(
            (p.id, str(p.resident_id), p.phone) for p in persons
        )
    source, target = pick.draw(
        st.lists(st.sampled_from([p.id for p in persons]), min_size=2, max_size=2, unique=True)
    )
    copy_value(db, "persons", "resident_id", source, target)
    with Workspace(SQLiteStorage(db, keyring=ring)) as ws:
        with pytest.raises(MisplacedValueError, match=rf"persons\.resident_id of row '{target}'"):
            ws.get(Person, target)
        assert ws.get(Person, source).resident_id == {p.id: p.resident_id for p in persons}[source]
    with pytest.raises(DecryptionError):
        FieldCipher(ring).open("gg2:x:pr:AAAA", "pr", target)
