"""Which stored columns are encrypted, and the rows of their blind indexes.

Storage backends call a :class:`FieldCrypt` between a model's encoded row
and the database: :meth:`FieldCrypt.seal_rows` before a write,
:meth:`FieldCrypt.open_row` after a read, :meth:`FieldCrypt.open_values`
on the rows of SQL that workflows push down (reports, the sweep), so that
every reader sees the values and none has to know about encryption.

Encrypted: persons' identity numbers and phones, households' phones, and
the identity numbers and phones of outside lists' rows.

The blind indexes live in their own table (``persons_blind``, migration
0010), one row per person, so that the ``persons`` table and its bulk-load
path are the same whether encryption is on or off. Kept per person (each a
keyed HMAC, see :meth:`~gridguard.security.crypto.keys.FieldKey.blind`):

- ``resident_id``: the whole identity number (exact matching);
- ``id_block``: its first 14 characters, region and birth date (the block
  in which the targeting cascade looks for mistyped numbers);
- ``id_region``: its first six digits (to find region codes on file);
- ``phone``: the E.164 phone.

What they reveal, to someone with the database but not the key: which
persons share a number, a phone, a region code or a region and birth
date; never the values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import StorageError
from .cipher import TOKEN_PREFIX, FieldCipher, is_sealed

if TYPE_CHECKING:
    from ...storage.schema import Row, TableSpec

__all__ = [
    "ENCRYPTED_COLUMNS",
    "INDEX_COLUMNS",
    "INDEX_TABLE",
    "REGION_TAG",
    "FieldCrypt",
    "index_values",
    "write_regions",
]

ENCRYPTED_COLUMNS: Mapping[str, Mapping[str, str]] = {
    "persons": {"resident_id": "pr", "phone": "pp"},
    "households": {"phone": "hp"},
    "list_entries": {"id_number": "lr", "phone": "lp"},
}
"""Table -> encrypted column -> its tag (sealed into each value; see :mod:`.cipher`)."""
REGION_TAG = "rr"
"""The tag of the region codes in ``persons_regions``."""
INDEX_TABLE = "persons_blind"
INDEX_COLUMNS = ("resident_id", "id_block", "id_region", "phone")
"""The blind-index columns of ``persons_blind``, after ``person_id`` and ``key_id``.

Retention purges them with their persons
(:data:`gridguard.security.retention.BLIND_INDEX_PURGE_FIELDS`)."""


_UPSERT_INDEX = (
    f"INSERT INTO {INDEX_TABLE} (person_id, key_id, {', '.join(INDEX_COLUMNS)}) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("key_id", *INDEX_COLUMNS))
    + " WHERE "
    + " OR ".join(f"{INDEX_TABLE}.{c} IS NOT excluded.{c}" for c in ("key_id", *INDEX_COLUMNS))
)


def index_values(
    cipher: FieldCipher, resident_id: str | None, phone: str | None
) -> tuple[Any, ...]:
    """``(resident_id, id_block, id_region, phone)`` blind indexes of plain values."""
    key = cipher.key
    rid = block = region = None
    if resident_id is not None:
        rid = key.blind("resident_id", resident_id)
        if len(resident_id) == 18 and resident_id[:14].isdigit():
            block = key.blind("id_block", resident_id[:14])
            region = key.blind("id_region", resident_id[:6])
    return rid, block, region, None if phone is None else key.blind("phone", phone)


def write_regions(
    conn: sqlite3.Connection, cipher: FieldCipher, regions: Mapping[str, str]
) -> None:
    """Record region codes on file (blind index -> code), sealed; known ones are kept."""
    conn.executemany(
        "INSERT INTO persons_regions (id_region, region) VALUES (?, ?) "
        "ON CONFLICT (id_region) DO NOTHING",
        [(b, cipher.seal(r, REGION_TAG, b)) for b, r in regions.items()],
    )


class FieldCrypt:
    """Seals and opens the encrypted columns of rows; keeps the blind indexes."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher
        self.tables = frozenset(ENCRYPTED_COLUMNS)
        self._positions: dict[str, tuple[tuple[int, str], ...]] = {}

    @property
    def key_id(self) -> str:
        return self.cipher.key.key_id

    def positions(self, spec: TableSpec) -> tuple[tuple[int, str], ...]:
        """``(index in the row, tag)`` of each encrypted column of ``spec``'s table."""
        found = self._positions.get(spec.table)
        if found is None:
            names = spec.column_names
            columns = ENCRYPTED_COLUMNS.get(spec.table, {})
            found = tuple((names.index(c), tag) for c, tag in columns.items())
            self._positions[spec.table] = found
        return found

    def seal_rows(self, spec: TableSpec, rows: Iterable[Row]) -> list[Row]:
        """The rows with their encrypted columns sealed (``None`` stays ``None``)."""
        places = self.positions(spec)
        seal = self.cipher.seal
        out = []
        for row in rows:
            values = list(row)
            row_id = str(values[0])
            for i, tag in places:
                value = values[i]
                if value is not None and not is_sealed(value):
                    values[i] = seal(value, tag, row_id)
            out.append(tuple(values))
        return out

    def open_row(self, spec: TableSpec, row: Sequence[Any]) -> Row:
        """A stored row of ``spec`` with its encrypted columns opened (clear values kept)."""
        values = list(row)
        for i, tag in self.positions(spec):
            value = values[i]
            if is_sealed(value):
                values[i] = self.cipher.open(value, tag)
        return tuple(values)

    def open_value(self, value: Any) -> Any:
        """One value as selected by SQL: opened when it is sealed, else as it is."""
        return self.cipher.open(value) if is_sealed(value) else value

    def open_values(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row of any SQL result with every sealed value in it opened."""
        opened = self.cipher.open
        return tuple(opened(v) if type(v) is str and v.startswith(TOKEN_PREFIX) else v for v in row)

    def write_index(self, conn: sqlite3.Connection, spec: TableSpec, rows: Sequence[Row]) -> None:
        """Upsert the blind indexes of ``rows`` (plain encoded rows of ``spec``)."""
        if spec.table != "persons" or not rows:
            return
        names = spec.column_names
        rid_at, phone_at = names.index("resident_id"), names.index("phone")
        key_id = self.key_id
        index = [
            (row[0], key_id, *index_values(self.cipher, row[rid_at], row[phone_at])) for row in rows
        ]
        conn.executemany(_UPSERT_INDEX, index)
        regions = {
            entry[4]: row[rid_at][:6] for entry, row in zip(index, rows, strict=True) if entry[4]
        }
        if regions:
            write_regions(conn, self.cipher, regions)

    def filter(self, spec: TableSpec, column: str, value: Any) -> tuple[str, list[Any]] | None:
        """A ``WHERE`` clause for ``column = value`` on an encrypted column, else ``None``."""
        if column not in ENCRYPTED_COLUMNS.get(spec.table, {}):
            return None
        if value is None:
            return f'"{column}" IS NULL', []
        if spec.table != "persons":
            raise StorageError(
                f"{spec.table}.{column} is encrypted and has no blind index: it cannot be "
                "a filter on this store"
            )
        blind = self.cipher.key.blind(column, str(value))
        return f"id IN (SELECT person_id FROM {INDEX_TABLE} WHERE {column} = ?)", [blind]
