"""SQLite specifics: URL forms, pragmas, migrations, the schema, and crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import gridguard
from gridguard.errors import StorageError
from gridguard.storage.schema import SPECS
from gridguard.storage.sqlite import SCHEMA_VERSION, SQLiteStorage, sqlite_path
from gridguard.testing import sample_records


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/gg.db", "data/gg.db"),
        ("sqlite:////srv/gg.db", "/srv/gg.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("plain/file.db", "plain/file.db"),
        ("sqlite:///with%20space.db", "with space.db"),
    ],
)
def test_sqlite_url_forms(url: str, path: str) -> None:
    assert sqlite_path(url) == path


def test_sqlite_url_with_a_host_is_refused() -> None:
    with pytest.raises(StorageError, match="no host"):
        sqlite_path("sqlite://server/db")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        SQLiteStorage(tmp_path / "no" / "such" / "folder.db")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"junk\.db"):
        SQLiteStorage(junk)


def test_pragmas_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "p.db")
    with store.transaction(write=False) as uow:
        conn = uow.connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    store.close()


def test_a_bulk_write_leaves_foreign_keys_unchecked_and_turns_them_on_after(
    tmp_path: Path,
) -> None:
    store = SQLiteStorage(tmp_path / "bulk.db")
    orphan = "INSERT INTO households (id, stairwell_id, floor, door, address, jurisdiction) "
    orphan += "VALUES ('h9', 'nowhere', 1, '101', 'a', 'x')"
    with store.bulk_write() as uow:
        assert uow.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 0
    with pytest.raises(RuntimeError), store.bulk_write() as uow:
        uow.connection.execute(orphan)  # unchecked here, and rolled back
        raise RuntimeError
    with store.transaction(write=False) as uow:
        assert uow.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert uow.connection.execute("SELECT count(*) FROM households").fetchone()[0] == 0
    with pytest.raises(StorageError, match="FOREIGN KEY"), store.transaction() as uow:
        uow.connection.execute(orphan)
    store.close()


def test_schema_matches_the_table_specs(tmp_path: Path) -> None:
    """The frozen migration SQL and the model mapping must not drift apart."""
    store = SQLiteStorage(tmp_path / "s.db")
    with store.transaction(write=False) as uow:
        for spec in SPECS.values():
            info = uow.connection.execute(f"PRAGMA table_info({spec.table})").fetchall()
            names = [row[1] for row in info]
            expected = [*spec.column_names, "jurisdiction"] + ([] if spec.is_fact else ["version"])
            assert names == expected, spec.table
            not_null = {row[1] for row in info if row[3]}
            for column in spec.columns:
                assert (column.name in not_null) == (not column.nullable), (spec.table, column.name)
    store.close()


def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
    store = SQLiteStorage(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    with gridguard.open(f"sqlite:///{path}") as ws:
        assert ws.count(gridguard.Household) == 3


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    SQLiteStorage(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE gridguard_meta SET value = ? WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION + 1),),
    )
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        SQLiteStorage(path)


def test_gridguard_db_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("GRIDGUARD_DB", str(path))
    with gridguard.open() as ws:
        assert ws.storage.dialect.name == "sqlite"
        ws.add(sample_records()[:3])
    assert path.exists()


_CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, uuid
    from pathlib import Path
    import gridguard
    from gridguard.testing import sample_records

    path, marker, batch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    base = dt.datetime(2020, 1, 25, 6, tzinfo=dt.UTC)
    with gridguard.open(path) as ws:
        visits = [
            gridguard.Visit(id=uuid.UUID(int=n + 1), at=base + dt.timedelta(seconds=n),
                            household_id=("h1", "h2", "h3")[n % 3], outcome="screened")
            for n in range(batch)
        ]
        marker.write_text("writing")
        ws.record(visits, batch_size=2000)
        marker.write_text("committed")
        sys.stdout.flush()
        import time
        time.sleep(60)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.6, None])
def test_sigkill_during_a_bulk_write_leaves_the_batch_wholly_in_or_out(
    tmp_path: Path, delay: float | None
) -> None:
    """Kill the writer at various moments; the database is consistent and all-or-nothing."""
    path = tmp_path / "crash.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
    marker = tmp_path / "marker"
    batch = 60_000
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(marker), str(batch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    wanted = "committed" if delay is None else "writing"
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text() in (wanted, "committed"):
            break
        if child.poll() is not None:
            pytest.fail(
                f"writer exited early: {child.stderr.read().decode() if child.stderr else ''}"
            )
        time.sleep(0.005)
    else:
        child.kill()
        pytest.fail("writer never started")
    time.sleep(delay or 0)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    stored = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
    conn.close()
    assert stored in (0, batch)
    if delay is None:
        assert stored == batch
    with gridguard.open(path) as ws:
        assert ws.count(gridguard.Household) == 3
        assert ws.count(gridguard.Visit) == stored
