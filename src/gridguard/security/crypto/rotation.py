"""Key rotation: re-encrypt every sealed value and rebuild the blind indexes, in one go.

Each value is opened for its row and sealed again for the same row (same
table, column and row id in the associated data) under the new key; values
sealed before row binding (``gg1:``) come out bound to their row. Rotating
to the key already in force does exactly that and nothing else.

:func:`rotate_keys` runs in a single transaction: a crash half-way leaves
the store as it was, under the old key, and running it again starts over.
It also encrypts a store that holds personal data in clear (the first
"rotation", from no key to a key). Rows are read and written in batches by
id, so memory stays flat for a city.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ...errors import StorageError
from ...storage.sqlite import sqlite_fault
from .cipher import LEGACY_PREFIX, TOKEN_PREFIX, FieldCipher, is_legacy, is_sealed, key_id_of
from .fields import ENCRYPTED_COLUMNS, INDEX_COLUMNS, INDEX_TABLE, index_values, write_regions
from .keys import KeyRing
from .store import active_key_id, install_guards

if TYPE_CHECKING:
    from ...storage.sqlite import SQLiteStorage

__all__ = ["KeyStatus", "RotationResult", "key_status", "rotate_keys"]

_BATCH = 5_000


@attrs.frozen(kw_only=True)
class RotationResult:
    """What a rotation did."""

    key_id: str
    """The key now in force."""
    previous: str | None
    """The key in force before (``None``: the store was in clear)."""
    rows: int
    """Rows (persons and outside-list rows) whose stored values were rewritten."""
    values: int
    """Values re-encrypted (or encrypted for the first time)."""


@attrs.frozen(kw_only=True)
class KeyStatus:
    """Which keys a store uses, and how many persons each one sealed."""

    active: str | None
    retired: tuple[str, ...]
    persons_by_key: dict[str, int]
    """Key id -> persons whose blind indexes (and values) are under that key."""
    values_in_clear: int
    """Identity numbers and phones stored unencrypted (persons and outside lists)."""
    values_unbound: int = 0
    """Values sealed before row binding (``gg1:``), checked for their row through their nonce
    only: ``gridguard keys rotate`` (with the same key, or a new one) seals them for their
    row."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def key_status(storage: SQLiteStorage) -> KeyStatus:
    """The store's key state: one query per table, no value is decrypted."""
    with storage.transaction(write=False) as uow:
        conn = uow.connection
        keys = conn.execute("SELECT key_id, state FROM encryption_keys ORDER BY created_at")
        rows = keys.fetchall()
        by_key = dict(
            conn.execute(f"SELECT key_id, count(*) FROM {INDEX_TABLE} GROUP BY key_id").fetchall()
        )
        clear = legacy = 0
        for table, columns in ENCRYPTED_COLUMNS.items():
            counted = ", ".join(
                f"count({c}) FILTER (WHERE {c} NOT LIKE '{TOKEN_PREFIX}%' "
                f"AND {c} NOT LIKE '{LEGACY_PREFIX}%'), "
                f"count({c}) FILTER (WHERE {c} LIKE '{LEGACY_PREFIX}%')"
                for c in columns
            )
            found = conn.execute(f"SELECT {counted} FROM {table}").fetchone()
            clear += sum(found[0::2])
            legacy += sum(found[1::2])
    return KeyStatus(
        active=next((str(k) for k, s in rows if s == "active"), None),
        retired=tuple(str(k) for k, s in rows if s == "retired"),
        persons_by_key={str(k): int(n) for k, n in by_key.items()},
        values_in_clear=int(clear or 0),
        values_unbound=int(legacy),
    )


def rotate_keys(
    storage: SQLiteStorage,
    ring: KeyRing,
    *,
    progress: Callable[[int], Any] | None = None,
) -> RotationResult:
    """Re-encrypt the store's personal fields under ``ring.current``, in one transaction.

    Every key that sealed a stored value must be in ``ring`` (older keys
    above the current one in the key file); a value that does not
    authenticate stops the rotation with
    :class:`~gridguard.security.crypto.cipher.DecryptionError` and changes nothing.
    ``storage`` should be opened with ``field_encryption=False``.
    ``progress`` is called with the number of persons done after each batch.
    """
    target = FieldCipher(ring)
    reader = FieldCipher(ring)
    new_id = target.key.key_id
    counts = [0, 0, 0]  # rows rewritten, values sealed anew, persons done
    with storage.transaction() as uow:
        conn = uow.connection
        # The blind indexes are written anew: dropped, refilled, built again at the end,
        # which is several times faster than keeping five random-order indexes up to date.
        indexes = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (INDEX_TABLE,),
        ).fetchall()
        for (sql,) in indexes:
            conn.execute("DROP INDEX " + sql.split(" ON ", 1)[0].split()[-1])
        conn.execute(f"DELETE FROM {INDEX_TABLE}")
        previous = active_key_id(conn)
        # First: a store encrypted by an earlier version has triggers that refuse gg2 values.
        install_guards(conn)
        conn.execute("DELETE FROM persons_regions")
        for table, columns in ENCRYPTED_COLUMNS.items():
            _rotate_table(conn, table, columns, reader, target, counts, progress)
        for (sql,) in indexes:
            conn.execute(sql)
        stale = conn.execute(
            f"SELECT count(*) FROM {INDEX_TABLE} WHERE key_id <> ?", (new_id,)
        ).fetchone()[0]
        if stale:
            raise StorageError(f"{stale} blind-index rows were left under an old key")
        conn.execute(
            "UPDATE encryption_keys SET state = 'retired', retired_at = ? "
            "WHERE state = 'active' AND key_id <> ?",
            (_now(), new_id),
        )
        conn.execute(
            "INSERT INTO encryption_keys (key_id, state, created_at) VALUES (?, 'active', ?) "
            "ON CONFLICT (key_id) DO UPDATE SET state = 'active', retired_at = NULL",
            (new_id, _now()),
        )
    if previous is None and storage.path != ":memory:":
        _compact(storage.path)  # values that were in clear leave no copy behind
    return RotationResult(key_id=new_id, previous=previous, rows=counts[0], values=counts[1])


def _compact(path: str) -> None:
    """``VACUUM`` and empty the WAL: the file is rewritten from the live rows only."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        raise sqlite_fault(exc, path) from exc
    finally:
        conn.close()


_INDEX_SQL = (
    f"INSERT INTO {INDEX_TABLE} (person_id, key_id, {', '.join(INDEX_COLUMNS)}) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def _rotate_table(
    conn: sqlite3.Connection,
    table: str,
    columns: Mapping[str, str],
    reader: FieldCipher,
    target: FieldCipher,
    counts: list[int],
    progress: Callable[[int], Any] | None,
) -> None:
    """Re-seal ``columns`` of every row of ``table`` (and the persons' blind indexes)."""
    new_id = target.key.key_id
    tags = list(columns.values())
    selected = ", ".join(f'"{c}"' for c in columns)
    assigned = ", ".join(f'"{c}" = ?{i}' for i, c in enumerate(columns, 2))
    update_sql = f"UPDATE {table} SET {assigned} WHERE rowid = ?1"
    persons = table == "persons"
    after = 0
    while True:  # in rowid order: the table's pages are read and written once, in sequence
        batch = conn.execute(
            f"SELECT rowid, id, {selected} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, _BATCH),
        ).fetchall()
        if not batch:
            return
        after = batch[-1][0]
        updates: list[tuple[Any, ...]] = []
        index: list[tuple[Any, ...]] = []
        regions: dict[str, str] = {}
        for rowid, row_id, *stored in batch:
            plain = [
                reader.open(v, tag, str(row_id)) if is_sealed(v) else v
                for tag, v in zip(tags, stored, strict=True)
            ]
            sealed = [
                None if v is None else target.seal(v, tag, str(row_id))
                for tag, v in zip(tags, plain, strict=True)
            ]
            if sealed != stored:
                updates.append((rowid, *sealed))
                counts[1] += sum(
                    1
                    for old, v in zip(stored, plain, strict=True)
                    if v is not None
                    and (not is_sealed(old) or is_legacy(old) or key_id_of(old) != new_id)
                )
            if persons:
                blind = index_values(target, plain[0], plain[1])
                index.append((row_id, new_id, *blind))
                if blind[2] is not None:
                    regions[blind[2]] = str(plain[0])[:6]
        conn.executemany(update_sql, updates)
        counts[0] += len(updates)
        if persons:
            conn.executemany(_INDEX_SQL, index)
            write_regions(conn, target, regions)
            counts[2] += len(batch)
            if progress is not None:
                progress(counts[2])
