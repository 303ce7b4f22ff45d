"""``gridguard keys new``, ``keys rotate`` and ``keys status``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard import Person
from gridguard.cli import main
from gridguard.security.crypto import KEY_ENV, KEY_FILE_ENV, read_key_file
from test_targeting_match import register


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard", env=env)


@pytest.fixture(autouse=True)
def no_keys_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def test_new_creates_a_key_file_then_adds_current_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = run("keys", "new", "--key-file", str(keys))
    assert first.exit_code == 0, first.output
    ring = read_key_file(keys)
    assert f"密钥 {ring.current.key_id} 已创建于" in first.output
    second = run("keys", "new", env={KEY_FILE_ENV: str(keys)})
    assert second.exit_code == 0, second.output
    assert read_key_file(keys).ids[0] == ring.current.key_id
    assert len(read_key_file(keys).ids) == 2
    assert "keys rotate" in second.output


def test_new_without_a_key_file_says_where_to_put_it() -> None:
    result = run("keys", "new")
    assert result.exit_code == 2
    assert "say where the key file is" in result.output


def test_rotate_encrypts_a_store_in_clear_then_moves_it_to_a_new_key(tmp_path: Path) -> None:
    db, keys = tmp_path / "gg.db", tmp_path / "keys"
    with gridguard.open(db) as ws:
        ws.add(register())
    assert run("keys", "new", "--key-file", str(keys)).exit_code == 0
    first_id = read_key_file(keys).current.key_id

    status = run("keys", "status", "--db", str(db), "--json")
    assert json.loads(status.output)["active"] is None
    assert json.loads(status.output)["values_in_clear"] == 9

    rotated = run("keys", "rotate", "--db", str(db), "--key-file", str(keys))
    assert rotated.exit_code == 0, rotated.output
    assert f"无（明文） -> {first_id}" in rotated.output
    with sqlite3.connect(db) as conn:
        assert all(
            v is None or v.startswith("gg2:")
            for row in conn.execute("SELECT resident_id, phone FROM persons")
            for v in row
        )

    assert run("keys", "new", "--key-file", str(keys)).exit_code == 0
    second_id = read_key_file(keys).current.key_id
    env = {KEY_FILE_ENV: str(keys)}
    rotated = run("keys", "rotate", "--db", str(db), "--json", env=env)
    assert rotated.exit_code == 0, rotated.output
    out = json.loads(rotated.output)
    assert (out["previous"], out["key_id"], out["values"]) == (first_id, second_id, 9)

    status = json.loads(run("keys", "status", "--db", str(db), "--json").output)
    assert status["active"] == second_id
    assert status["retired"] == [first_id]
    assert status["persons_by_key"] == {second_id: 6}
    shown = run("keys", "status", "--db", str(db))
    assert f"当前密钥: {second_id}" in shown.output

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_FILE_ENV, str(keys))
        with gridguard.open(db) as ws:
            assert ws.get(Person, "li").phone == "+8613900139000"


def test_rotate_with_a_key_that_cannot_read_the_store_changes_nothing(tmp_path: Path) -> None:
    db, keys, other = tmp_path / "gg.db", tmp_path / "keys", tmp_path / "other"
    with gridguard.open(db) as ws:
        ws.add(register())
    run("keys", "new", "--key-file", str(keys))
    run("keys", "rotate", "--db", str(db), "--key-file", str(keys))
    run("keys", "new", "--key-file", str(other))
    result = run("keys", "rotate", "--db", str(db), "--key-file", str(other))
    assert result.exit_code == 2
    assert "does not hold" in result.output
    status = json.loads(run("keys", "status", "--db", str(db), "--json").output)
    assert status["active"] == read_key_file(keys).current.key_id


def test_keys_refuse_what_is_not_a_sqlite_store(tmp_path: Path) -> None:
    result = run("keys", "status", "--db", "memory://")
    assert result.exit_code == 2
    assert "field encryption is for SQLite stores" in result.output
    result = run("keys", "status", "--db", str(tmp_path / "missing.db"))
    assert result.exit_code == 2
    assert "no SQLite store" in result.output
    assert not (tmp_path / "missing.db").exists()
    result = run("keys", "rotate", "--db", str(tmp_path / "missing.db"))
    assert result.exit_code == 2
    assert "no key: give --key-file" in result.output
