"""Field-encryption keys, the AES-GCM field cipher and blind indexes, without a store."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridguard.errors import ConfigError
from gridguard.security.crypto import (
    KEY_ENV,
    KEY_FILE_ENV,
    DecryptionError,
    FieldCipher,
    FieldKey,
    KeyRing,
    MisplacedValueError,
    add_key_to_file,
    generate_master_key,
    is_sealed,
    keyring_from_environment,
    read_key_file,
)

ONE = bytes(range(32))
TWO = bytes(range(1, 33))


def test_a_key_file_is_created_owner_only_and_grows_one_current_key_at_a_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys"
    first = add_key_to_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = add_key_to_file(path)
    ring = read_key_file(path)
    assert ring.ids == (first.key_id, second.key_id)
    assert ring.current.key_id == second.key_id != first.key_id
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_bad_key_file_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    good = base64.b64encode(ONE).decode()
    path.write_text(f"# keys\ngridguard-key-v1 {good}\ngridguard-key-v1 bm90IGEga2V5\n")
    with pytest.raises(ConfigError, match=r"line 3: a gridguard key is 32 bytes"):
        read_key_file(path)
    path.write_text(f"secret {good}\n")
    with pytest.raises(ConfigError, match=r"line 1: expected 'gridguard-key-v1"):
        read_key_file(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_key_file(tmp_path / "missing")
    path.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="holds no key"):
        read_key_file(path)


def test_keys_come_from_a_file_or_the_environment_not_both(tmp_path: Path) -> None:
    inline = ",".join(base64.b64encode(k).decode() for k in (ONE, TWO))
    ring = keyring_from_environment({KEY_ENV: inline})
    assert ring is not None
    assert ring.ids == KeyRing.of(ONE, TWO).ids
    path = tmp_path / "keys"
    add_key_to_file(path, TWO)
    from_file = keyring_from_environment({KEY_FILE_ENV: str(path)})
    assert from_file is not None
    assert from_file.current.key_id == ring.current.key_id
    assert keyring_from_environment({}) is None
    with pytest.raises(ConfigError, match="not both"):
        keyring_from_environment({KEY_ENV: inline, KEY_FILE_ENV: str(path)})
    with pytest.raises(ConfigError, match="GRIDGUARD_KEY: not a base64"):
        keyring_from_environment({KEY_ENV: "***"})


def test_key_material_never_shows_in_a_repr() -> None:
    key = FieldKey.from_master(ONE)
    shown = repr(key) + repr(KeyRing((key,)))
    assert key.key_id in shown
    for secret in (ONE, key.cipher_key, key.index_key, key.nonce_key):
        assert secret.hex() not in shown
        assert repr(secret) not in shown


def test_derived_keys_are_independent_of_each_other() -> None:
    key = FieldKey.from_master(ONE)
    parts = {key.cipher_key, key.nonce_key, key.index_key, ONE}
    assert len(parts) == 4
    assert FieldKey.from_master(ONE) == key
    assert FieldKey.from_master(TWO).key_id != key.key_id


@given(st.text(min_size=0, max_size=40), st.text(min_size=1, max_size=20))
def test_sealing_round_trips_and_is_stable_in_its_row(value: str, row: str) -> None:
    cipher = FieldCipher(KeyRing.of(ONE))
    token = cipher.seal(value, "pp", row)
    assert is_sealed(token)
    assert cipher.open(token, "pp", row) == cipher.open(token, None, row) == value
    assert cipher.seal(value, "pp", row) == token  # the same value in the same row
    if len(value) >= 8:
        assert value not in token


def test_equal_values_in_two_rows_do_not_look_equal() -> None:
    cipher = FieldCipher(KeyRing.of(ONE))
    assert cipher.seal("+8613800138000", "pp", "a") != cipher.seal("+8613800138000", "pp", "b")


def test_a_moved_altered_or_foreign_value_is_an_error_never_garbage() -> None:
    cipher = FieldCipher(KeyRing.of(ONE))
    token = cipher.seal("442000196003070115", "pr", "chen")
    with pytest.raises(MisplacedValueError, match=r"persons\.phone of row 'chen'"):
        cipher.open(token, "pp", "chen")  # moved into the phone column
    relabelled = token.replace(":pr:", ":pp:")
    with pytest.raises(MisplacedValueError, match="does not authenticate"):
        cipher.open(relabelled, "pp", "chen")  # moved, and its label forged
    with pytest.raises(MisplacedValueError, match=r"persons.resident_id of row 'wang'"):
        cipher.open(token, "pr", "wang")  # moved into another person's row
    with pytest.raises(DecryptionError, match="without the id of its row"):
        cipher.open(token, "pr")
    body = bytearray(base64.urlsafe_b64decode(token.rsplit(":", 1)[1]))
    body[-1] ^= 1
    altered = token.rsplit(":", 1)[0] + ":" + base64.urlsafe_b64encode(bytes(body)).decode()
    with pytest.raises(DecryptionError, match="does not authenticate"):
        cipher.open(altered, "pr", "chen")
    other = FieldCipher(KeyRing.of(TWO))
    with pytest.raises(DecryptionError, match=r"encrypted with key \w{12}, which .* does not hold"):
        other.open(token, "pr", "chen")
    same_id_other_key = token.replace(cipher.key.key_id, other.key.key_id)
    with pytest.raises(DecryptionError, match="does not authenticate"):
        other.open(same_id_other_key, "pr", "chen")
    with pytest.raises(DecryptionError, match="not a valid encrypted value"):
        cipher.open("gg2:nonsense", "pr", "chen")


def test_an_older_key_of_the_ring_still_opens_what_it_sealed() -> None:
    old = FieldCipher(KeyRing.of(ONE)).seal("13800138000", "pp", "p")
    ring = KeyRing.of(ONE, TWO)
    assert FieldCipher(ring).open(old, "pp", "p") == "13800138000"
    assert FieldCipher(ring).key.key_id == ring.current.key_id


@given(st.text(max_size=30), st.text(max_size=30))
def test_blind_indexes_are_keyed_per_field_and_equal_only_for_equal_values(a: str, b: str) -> None:
    one, two = FieldKey.from_master(ONE), FieldKey.from_master(TWO)
    assert (one.blind("phone", a) == one.blind("phone", b)) == (a == b)
    assert one.blind("phone", a) != one.blind("resident_id", a)
    assert one.blind("phone", a) != two.blind("phone", a)
    assert len(one.blind("phone", a)) == 22


def test_generated_keys_are_random() -> None:
    assert generate_master_key() != generate_master_key()
    assert len(generate_master_key()) == 32
