"""Faults in small places: a frame cut short by the import's child, a bad audit log entry.

Each is one clear error naming what is wrong, never a ``ValueError`` or
"bad marshal data" from deep inside.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import gridguard
from gridguard import Area, AreaLevel
from gridguard._frames import frames_from_process
from gridguard.cli import main
from gridguard.errors import GridGuardError
from gridguard.security.audit import recent_entries, verify_log

# -- frames from a child process -----------------------------------------------------------------


def _frames(mode: str) -> list[object]:
    return list(
        frames_from_process(
            "frames_child", [mode], failure="the child failed", error=GridGuardError
        )
    )


def test_whole_frames_arrive() -> None:
    assert _frames("whole") == [("first", 1), ("second", 2)]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("cut", r"the child failed \(exit code 0\): a frame was cut short \(10 of 100 bytes\)"),
        ("header", r"a frame's length was cut short \(3 of 8 bytes\)"),
        ("garbage", r"the child failed: a frame cannot be read"),
        ("dies", r"\(exit code 3\): a frame was cut short .*; MemoryError: out of memory"),
    ],
)
def test_a_frame_cut_short_is_a_clear_error(mode: str, message: str) -> None:
    got: list[object] = []
    stream = frames_from_process(
        "frames_child", [mode], failure="the child failed", error=GridGuardError
    )
    with pytest.raises(GridGuardError, match=message):
        for frame in stream:
            got.append(frame)
    assert got == [("first", 1)]  # the good frame before it came through, nothing after


# -- a bad audit log entry -----------------------------------------------------------------------


def _store_with_a_bad_entry(path: Path) -> None:
    with gridguard.open(path) as ws:
        for i in range(6):
            ws.add([Area(id=f"a{i}", name=f"区域{i}", level=AreaLevel.CITY)])
        ws.flush_audit()
    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT count(*) FROM audit_log").fetchone()
        assert count >= 5
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET seq = 'x3' WHERE seq = 3")
    db.close()


def test_a_non_integer_seq_is_named_by_its_position(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _store_with_a_bad_entry(path)
    with gridguard.open(path) as ws:
        report = verify_log(ws)
        assert not report.ok
        (bad,) = [p for p in report.problems if p.kind == "unreadable"]
        assert bad.position == report.entries  # SQLite sorts the text after every number
        assert "'x3' is not a whole number" in str(bad)
        assert str(bad).startswith(f"entry at position {bad.position}: unreadable")
        assert any(p.kind == "missing" and p.seq == 4 for p in report.problems)
        entries = recent_entries(ws, last=50)  # lists the readable ones
        assert entries
        assert all(isinstance(e.seq, int) for e in entries)
        ws.add([Area(id="after", name="之后", level=AreaLevel.CITY)])  # the log still grows


def test_the_cli_names_the_bad_entry_and_other_commands_run(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _store_with_a_bad_entry(path)
    runner = CliRunner()
    verify = runner.invoke(main, ["audit", "verify", "--db", str(path)])
    assert verify.exit_code == 2, verify.output  # an entry that cannot be read is a fault
    assert "unreadable: id " in verify.output
    assert "'x3' is not a whole number" in verify.output
    for args in (["audit", "show"], ["audit", "show", "--head"], ["init"]):
        result = runner.invoke(main, [*args, "--db", str(path)])
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, ValueError)
