"""SQLite's faults as named gridguard errors, and the notice of a writer that waits.

No ``sqlite3`` exception leaves the SQLite backend: :func:`sqlite_fault`
turns each into a :class:`~gridguard.errors.StoreFault` (disk full,
read-only, corrupt, busy) or a plain :class:`~gridguard.errors.StorageError`,
with its message in English and Chinese. :func:`wait_notice` is what a
writer prints on stderr while another write holds the store.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path

from ..errors import (
    ConfigError,
    StorageError,
    StoreBusy,
    StoreCorrupt,
    StoreFull,
    StoreReadOnly,
)

__all__ = [
    "LANG_ENV",
    "WRITE_WAIT_ENV",
    "WRITE_WAIT_SECONDS",
    "busy_error",
    "corrupt_error",
    "marker_record",
    "notice_lang",
    "sqlite_fault",
    "wait_notice",
    "write_wait",
    "writer_since",
]

LANG_ENV = "GRIDGUARD_LANG"
"""The language of the messages printed for people: ``zh-CN`` (the default) or ``en``."""
WRITE_WAIT_ENV = "GRIDGUARD_WRITE_WAIT"
"""How long (seconds) a writer waits for another write to finish before it gives up."""
WRITE_WAIT_SECONDS = 300.0
"""The wait of a writer when neither the caller nor ``GRIDGUARD_WRITE_WAIT`` says."""

_FULL, _READONLY, _PERM, _CORRUPT, _NOTADB = 13, 8, 3, 11, 26
_BUSY, _LOCKED, _CANTOPEN, _IOERR = 5, 6, 14, 10


def write_wait(seconds: float | None) -> float:
    """The writer's wait: ``seconds`` if given, else ``GRIDGUARD_WRITE_WAIT``, else 300 s."""
    if seconds is not None:
        if seconds < 0:
            raise ConfigError(f"write_wait: a wait cannot be negative (got {seconds})")
        return float(seconds)
    text = os.environ.get(WRITE_WAIT_ENV, "").strip()
    if not text:
        return WRITE_WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{WRITE_WAIT_ENV}: seconds to wait, 0 or more (got {text!r})")
    return value


def notice_lang() -> str:
    """The language of notices: ``GRIDGUARD_LANG`` (``en`` or ``zh-CN``, the default)."""
    return "en" if os.environ.get(LANG_ENV, "").lower().startswith("en") else "zh-CN"


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_full(exc: sqlite3.Error) -> bool:
    return _code(exc) == _FULL or "disk is full" in str(exc)


def sqlite_fault(exc: sqlite3.Error, path: str) -> StorageError:
    """The gridguard error for ``exc``, raised on the SQLite database at ``path``.

    Each message says that nothing of the operation was stored (SQLite
    rolls a failed transaction back whole) and what the operator can do.
    """
    code = _code(exc)
    where = repr(path)
    if _is_full(exc):
        return StoreFull(
            f"the disk holding {where} is full: nothing of this operation was stored; "
            "free some space and run it again",
            f"{where} 所在的磁盘已满：本次操作没有写入任何内容；请腾出空间后重试",
        )
    if code in (_READONLY, _PERM) or "readonly" in str(exc):
        return read_only_error(path)
    if code in (_CORRUPT, _NOTADB):
        return corrupt_error(path, str(exc))
    if code in (_BUSY, _LOCKED):
        return busy_error(path, None, 0.0)
    if code == _CANTOPEN:
        return StoreReadOnly(
            f"cannot open {where} or the -wal and -shm files beside it: check that the "
            "file exists and that its folder may be written",
            f"无法打开 {where} 或其旁边的 -wal、-shm 文件：请确认文件存在且所在文件夹可写",
        )
    if code == _IOERR:
        return StorageError(
            f"input/output error on {where} ({exc}): nothing of this operation was stored; "
            "check the disk"
        )
    if isinstance(exc, sqlite3.IntegrityError):
        return StorageError(f"SQLite refused a write to {where}: {exc}; nothing of it was stored")
    return StorageError(f"SQLite failed on {where}: {exc}")


def read_only_error(path: str) -> StoreReadOnly:
    """The store at ``path`` (its file or its folder) may not be written."""
    where = repr(path)
    folder = repr(str(Path(path).parent))
    return StoreReadOnly(
        f"{where} is read-only (the file, or its folder {folder}): nothing was stored; "
        "give write access to both, or open a copy",
        f"{where} 只读（文件本身或其所在文件夹 {folder}）：没有写入任何内容；"
        "请为二者开放写权限，或使用副本",
    )


def corrupt_error(path: str, detail: str) -> StoreCorrupt:
    """The store at ``path`` is damaged (``detail``: what SQLite's check or error said)."""
    where = repr(path)
    first = " ".join(detail.split())[:200]
    return StoreCorrupt(
        f"{where} is damaged ({first}): stop writing to it and restore it from a backup "
        "(or the last good copy); nothing was stored",
        f"{where} 已损坏（{first}）：请停止写入，并用备份（或最近一份完好的副本）恢复；"
        "没有写入任何内容",
    )


def marker_record(pid: int, now: float) -> bytes:
    """The marker's record: a writer's process id and the minute (since the epoch) it began."""
    return f"{pid} {int(now) // 60}".ljust(32).encode()


def writer_since(marker: Path) -> tuple[dt.datetime | None, str]:
    """When the write now in progress began (to the minute) and which process runs it."""
    try:
        pid, _, minute = marker.read_text(encoding="utf-8").partition(" ")
        return dt.datetime.fromtimestamp(int(minute.strip()) * 60, dt.UTC), pid.strip()
    except (OSError, ValueError, OverflowError):
        return None, ""


def _clock(since: dt.datetime | None) -> str:
    return "" if since is None else since.astimezone().strftime("%H:%M")


def wait_notice(path: str, since: dt.datetime | None, pid: str, limit: float) -> str:
    """The line a writer prints while it waits for another write (in :func:`notice_lang`)."""
    clock = _clock(since)
    who = f" (process {pid})" if pid else ""
    if notice_lang() == "en":
        when = f" since {clock}" if clock else ""
        return (
            f"another write{who} is in progress on {path!r}{when}, waiting "
            f"(up to {limit:g} s, {WRITE_WAIT_ENV})..."
        )
    who_zh = f"（进程 {pid}）" if pid else ""
    when_zh = f"自 {clock} 起" if clock else ""
    return (
        f"{path!r} 上另一个写入{who_zh}{when_zh}正在进行，等待中"
        f"（最多 {limit:g} 秒，{WRITE_WAIT_ENV}）……"
    )


def busy_error(path: str, since: dt.datetime | None, waited: float) -> StoreBusy:
    """Another write held ``path`` longer than this writer waited: nothing was stored."""
    clock = _clock(since)
    where = repr(path)
    when = f" since {clock}" if clock else ""
    when_zh = f"自 {clock} 起" if clock else ""
    return StoreBusy(
        f"another write has held {where}{when}; gave up after waiting {waited:.0f} s: "
        f"nothing was stored; run it again later, or wait longer with {WRITE_WAIT_ENV}",
        f"{where} 上另一个写入{when_zh}一直在进行；已等待 {waited:.0f} 秒后放弃："
        f"没有写入任何内容；请稍后重试，或用 {WRITE_WAIT_ENV} 延长等待",
    )


def print_notice(line: str) -> None:
    """Print a notice on stderr (the default of :attr:`SQLiteStorage.on_wait`)."""
    print(line, file=sys.stderr, flush=True)
