"""Faults named: a full disk, a read-only file or folder, a damaged store, a foreign file,
another write that does not end.

Each is one line on stderr, in Chinese by default or in English with
``--lang en``, exit status 2, and nothing lost: what the store held before is
still there, nothing of the failed command is, and the audit chain holds.

The full disk is a real one (a small tmpfs) where this machine lets the test
mount one (as root), and a simulated one everywhere (SQLite's
``max_page_count``, which fails the same way, with ``SQLITE_FULL``). A
read-only file or folder is a read-only bind mount as root (root writes
through file modes), and file modes otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard import Visit
from gridguard.cli import main
from gridguard.errors import StoreBusy, StoreCorrupt, StoreForeign, StoreFull, StoreReadOnly
from gridguard.security.audit import verify_log
from gridguard.storage.sqlite import SQLiteStorage

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run(*args: str, lang: str | None = None) -> Result:
    """The command line, in a clean language setting unless ``lang`` is given."""
    env = {"GRIDGUARD_LANG": lang} if lang else {"GRIDGUARD_LANG": None}
    return CliRunner().invoke(main, list(args), env=env)


def one_line_error(result: Result) -> str:
    """The single line a failed command printed; exit status 2, no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert "sqlite3" not in result.stderr
    return lines[0]


def visits_file(folder: Path, homes: list[str], count: int, name: str = "visits.jsonl") -> Path:
    lines = [
        json.dumps(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"fault-visit/{name}/{n}")),
                "household_id": homes[n % len(homes)],
                "at": f"2020-01-29 {8 + n // 3600 % 10:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
                "outcome": "not_home",
                "note": f"第{n}次 " + "敲门无人应答，" * 20,
            },
            ensure_ascii=False,
        )
        for n in range(count)
    ]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def held(db: Path) -> dict[str, int]:
    """What the store holds, read without gridguard: rows of a few tables.

    The audit log is left out: a refused or failed command's run is audited.
    """
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("visits", "screenings", "persons", "households", "tasks")
        }
    conn.close()
    return found


def chain_holds(db: Path) -> None:
    with gridguard.open(db) as ws:
        report = verify_log(ws)
    assert report.ok, report.problems


@pytest.fixture
def store(huayuan_demo: tuple[dict[str, Any], Path], tmp_path: Path) -> Path:
    """A copy of the demo's store in a folder of its own."""
    folder = tmp_path / "store"
    folder.mkdir()
    db = folder / "huayuan.db"
    shutil.copy(huayuan_demo[1], db)
    return db


def homes_of(db: Path, limit: int = 500) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [
            r[0] for r in conn.execute("SELECT id FROM households ORDER BY id LIMIT ?", [limit])
        ]


# -- a full disk -------------------------------------------------------------------------------


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the simulated full disk runs instead")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_one_line_and_loses_nothing(store: Path, tmp_path: Path) -> None:
    size = store.stat().st_size
    with small_disk(tmp_path / "disk", f"{size // 1024 + 2048}k") as disk:
        db = disk / "huayuan.db"
        shutil.copy(store, db)
        filler = disk / "other-files"
        filler.write_bytes(b"\0" * (1536 * 1024))  # what else fills the disk
        before = held(db)
        homes = homes_of(db)
        big = visits_file(tmp_path, homes, 6000)
        result = run("visit", "record", str(big), "--db", str(db))
        line = one_line_error(result)
        assert "磁盘已满" in line
        assert "没有写入任何内容" in line
        english = one_line_error(run("visit", "record", str(big), "--db", str(db), lang="en"))
        assert "is full: nothing of this operation was stored" in english
        assert held(db) == before  # the batch is wholly out, the store as it was
        filler.unlink()  # the operator frees some space, and runs it again
        small = visits_file(tmp_path, homes, 3, name="small.jsonl")
        ok = run("visit", "record", str(small), "--db", str(db))
        assert ok.exit_code == 0, ok.output
        assert held(db)["visits"] == before["visits"] + 3
        chain_holds(db)


def test_a_simulated_full_disk_is_a_named_error(store: Path) -> None:
    """SQLite's page limit fails as a full disk does (SQLITE_FULL): a simulation."""
    before = held(store)
    homes = homes_of(store)
    storage = SQLiteStorage(store)
    (pages,) = storage._conn.execute("PRAGMA page_count").fetchone()
    storage._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with gridguard.Workspace(storage) as ws:
        visits = [
            Visit(household_id=homes[n], outcome="not_home", note="无人应答" * 200)
            for n in range(400)
        ]
        with pytest.raises(StoreFull) as caught:
            ws.record(visits)
        assert "磁盘已满" in caught.value.text("zh-CN")
        assert "is full" in caught.value.text("en")
    assert held(store) == before
    chain_holds(store)


# -- read-only ---------------------------------------------------------------------------------


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a file or a folder) read-only: a read-only bind mount as root, else modes."""
    if ROOT:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    mode = path.stat().st_mode
    path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        path.chmod(mode)


def test_a_read_only_file_is_one_line_and_init_does_not_call_it_ready(
    store: Path, tmp_path: Path
) -> None:
    before = held(store)
    visits = visits_file(tmp_path, homes_of(store), 5)
    with read_only(store):
        init = run("init", "--db", str(store))
        line = one_line_error(init)
        assert "store ready" not in init.output
        assert "只读" in line
        recorded = one_line_error(run("visit", "record", str(visits), "--db", str(store)))
        assert "只读" in recorded
        english = one_line_error(run("--lang", "en", "init", "--db", str(store)))
        assert "is read-only" in english
        probe = SQLiteStorage(store)
        try:
            with pytest.raises(StoreReadOnly):
                probe.check_writable()
        finally:
            probe.close()
    assert held(store) == before
    chain_holds(store)


def test_a_read_only_folder_is_one_line(store: Path, tmp_path: Path) -> None:
    before = held(store)
    visits = visits_file(tmp_path, homes_of(store), 5)
    with read_only(store.parent):
        init = run("--lang", "en", "init", "--db", str(store))
        line = one_line_error(init)
        assert "store ready" not in init.output
        assert "its folder" in line
        one_line_error(run("visit", "record", str(visits), "--db", str(store)))
        one_line_error(run("audit", "verify", "--db", str(store)))
    assert held(store) == before
    chain_holds(store)


# -- a damaged store ---------------------------------------------------------------------------


def damage(db: Path) -> None:
    """Overwrite part of some pages in the middle of the file (not its header)."""
    size = db.stat().st_size
    with db.open("r+b") as f:
        for offset in range(size // 3, size, 4096 * 37):
            f.seek(offset + 200)
            f.write(b"\xa5" * 1500)


def test_a_damaged_store_is_named_by_init_audit_verify_and_check(store: Path) -> None:
    damage(store)
    init = run("init", "--db", str(store))
    assert "已损坏" in one_line_error(init)
    assert "store ready" not in init.output
    verify = run("--lang", "en", "audit", "verify", "--db", str(store))
    assert "is damaged" in one_line_error(verify)
    assert "intact" not in verify.output
    checked = run("--check", "--lang", "en", "coverage", "--db", str(store))
    assert "is damaged" in one_line_error(checked)
    with pytest.raises(StoreCorrupt):
        SQLiteStorage(store, check=True)


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    line = one_line_error(run("init", "--db", str(path)))
    assert "已损坏" in line
    assert path.read_bytes() == b"these are my notes, not a database\n" * 200


# -- a foreign SQLite file ---------------------------------------------------------------------


def test_a_foreign_sqlite_file_is_refused_unless_adopted(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('王五')")
    conn.close()

    def tables() -> list[str]:
        with sqlite3.connect(path) as c:
            found = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        c.close()
        return found

    line = one_line_error(run("init", "--db", str(path)))
    assert "并非由 gridguard 创建" in line
    assert "gridguard init --adopt" in line
    english = one_line_error(run("--lang", "en", "coverage", "--db", str(path)))
    assert "gridguard did not create" in english
    assert tables() == ["customers"]  # nothing added
    with pytest.raises(StoreForeign):
        gridguard.open(path)
    adopted = run("init", "--adopt", "--db", str(path))
    assert adopted.exit_code == 0, adopted.output
    assert "store ready" in adopted.output
    assert "customers" in tables()
    assert "gridguard_meta" in tables()
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT name FROM customers").fetchall() == [("王五",)]
    c.close()
    assert run("init", "--db", str(path)).exit_code == 0  # a gridguard store now


# -- another write that does not end -----------------------------------------------------------


def test_a_writer_waits_with_a_notice_then_gives_up_with_nothing_stored(
    store: Path, tmp_path: Path
) -> None:
    before = held(store)
    visits = visits_file(tmp_path, homes_of(store), 20)
    other = SQLiteStorage(store)
    try:
        with other.transaction() as uow:
            uow.connection.execute("UPDATE gridguard_meta SET value = value")
            result = run("--write-wait", "1.5", "visit", "record", str(visits), "--db", str(store))
            assert result.exit_code == 2, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 2, result.stderr  # the notice, then the error
            assert "另一个写入" in lines[0]
            assert f"进程 {os.getpid()}" in lines[0]
            assert "等待中" in lines[0]
            assert lines[1].startswith("error: ")
            assert "已等待 2 秒后放弃" in lines[1] or "已等待 1 秒后放弃" in lines[1]
            assert "没有写入任何内容" in lines[1]
            english = run(
                "--write-wait",
                "0",
                "--lang",
                "en",
                "visit",
                "record",
                str(visits),
                "--db",
                str(store),
            )
            assert "gave up after waiting" in one_line_error(english)
            impatient = SQLiteStorage(store, write_wait=0)
            with pytest.raises(StoreBusy), impatient.transaction():
                pass
            impatient.close()
    finally:
        other.close()
    assert held(store)["visits"] == before["visits"]
    done = run("visit", "record", str(visits), "--db", str(store))
    assert done.exit_code == 0, done.output
    assert held(store)["visits"] == before["visits"] + 20
    chain_holds(store)


def test_reads_do_not_wait_for_a_writer_and_their_audit_entries_arrive(store: Path) -> None:
    other = SQLiteStorage(store)
    try:
        with other.transaction() as uow:
            uow.connection.execute("UPDATE gridguard_meta SET value = value")
            shown = run("--write-wait", "0", "audit", "show", "--db", str(store))
            assert shown.exit_code == 0, shown.output
            look = SQLiteStorage(store, write_wait=0)
            queued = look.queued()
            look.close()
            assert queued, "the read's audit entry waits in the queue"
    finally:
        other.close()
    with gridguard.open(store) as ws:
        report = verify_log(ws)  # the first write takes the queued entries in
    assert report.ok, report.problems
    look = SQLiteStorage(store)
    assert look.queued() == []
    look.close()
    with sqlite3.connect(store) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM audit_log")}
    conn.close()
    assert {i for i, _ in queued} <= ids


def test_a_queued_entry_taken_in_twice_is_stored_once(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed between the store's commit and the queue's leaves the entries in the
    queue; the next writer finds them in the chain already and only empties the queue."""
    other = SQLiteStorage(store)
    try:
        with other.transaction() as uow:
            uow.connection.execute("UPDATE gridguard_meta SET value = value")
            assert run("--write-wait", "0", "audit", "show", "--db", str(store)).exit_code == 0
    finally:
        other.close()
    look = SQLiteStorage(store)
    queued = {i for i, _ in look.queued()}
    look.close()
    assert queued
    with monkeypatch.context() as patch:
        patch.setattr(SQLiteStorage, "unqueue", lambda self, ids: None)  # "killed" here
        with gridguard.open(store) as ws:
            ws.add([gridguard.Area(id="x1", name="新区", level=gridguard.AreaLevel.CITY)])
    look = SQLiteStorage(store)
    assert {i for i, _ in look.queued()} == queued  # still queued, and already in the chain
    look.close()
    with gridguard.open(store) as ws:
        ws.add([gridguard.Area(id="x2", name="新区二", level=gridguard.AreaLevel.CITY)])
        report = verify_log(ws)
    assert report.ok, report.problems
    with sqlite3.connect(store) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM audit_log")]
    conn.close()
    assert len(ids) == len(set(ids))
    assert queued <= set(ids)
    look = SQLiteStorage(store)
    assert look.queued() == []
    look.close()
