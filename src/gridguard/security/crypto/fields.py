"""Which stored columns are encrypted, and the rows of their blind indexes.

Storage backends call a :class:`FieldCrypt` between a model's encoded row
and the database: :meth:`FieldCrypt.seal_rows` before a write,
:meth:`FieldCrypt.open_row` after a read, :meth:`FieldCrypt.open_rows`
on the rows of SQL that workflows push down (reports, the sweep), so that
every reader sees the values and none has to know about encryption.

Every value is sealed for its row (:mod:`.cipher`), so opening one needs
the id of the row it came from. A read of a stored record knows it; the
rows of pushed-down SQL do not, so :meth:`FieldCrypt.open_rows` looks each
sealed value up in its column (one indexed query per column and batch)
and opens it for every row that holds it: a value copied into a second row
is refused wherever it is read.

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
from .cipher import LEGACY_PREFIX, PLACES, TOKEN_PREFIX, DecryptionError, FieldCipher, is_sealed

if TYPE_CHECKING:
    from ...storage.schema import Row, TableSpec

__all__ = [
    "ENCRYPTED_COLUMNS",
    "INDEX_COLUMNS",
    "INDEX_TABLE",
    "REGION_TAG",
    "SEALED_TERM",
    "FieldCrypt",
    "index_values",
    "write_regions",
]

REGION_TAG = "rr"
"""The tag of the region codes in ``persons_regions``."""
ENCRYPTED_COLUMNS: Mapping[str, Mapping[str, str]] = {
    table: {column: tag for tag, (t, column, _) in PLACES.items() if t == table}
    for table in ("persons", "households", "list_entries")
}
"""Table -> encrypted column -> its tag (sealed into each value; see :mod:`.cipher`)."""
SEALED_TERM = "substr(\"{column}\", 1, 2) = 'gg'"
"""The SQL term that picks sealed values of ``column`` (and the partial look-up indexes)."""
_PREFIXES = (TOKEN_PREFIX, LEGACY_PREFIX)
_LOOKUP_CHUNK = 500
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
        [(b, cipher.seal(r, REGION_TAG, b)) for b, r in regions.items()],  # row id: the index
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
        """A stored row of ``spec`` with its encrypted columns opened (clear values kept).

        Each value is opened for this row (its id, the first column): one
        copied from another row raises a
        :class:`~gridguard.security.crypto.cipher.MisplacedValueError`.
        """
        values = list(row)
        row_id = str(values[0])
        for i, tag in self.positions(spec):
            value = values[i]
            if is_sealed(value):
                values[i] = self.cipher.open(value, tag, row_id)
        return tuple(values)

    def open_value(self, value: Any, tag: str, row_id: str) -> Any:
        """One value of column ``tag`` of row ``row_id``: opened when it is sealed, else as is."""
        return self.cipher.open(value, tag, row_id) if is_sealed(value) else value

    def open_rows(
        self, conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]
    ) -> list[tuple[Any, ...]]:
        """Rows of any SQL result with every sealed value in them opened.

        The SQL does not say which row a value came from, so each sealed
        value is looked up in the column its tag names and opened for every
        row holding it: a value sealed for one row and found in another is
        refused, naming that row.
        """
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for v in row:
                if type(v) is str and v.startswith(_PREFIXES):
                    parts = v.split(":")
                    if len(parts) != 4:
                        raise DecryptionError("not a valid encrypted value in a query's result")
                    wanted.setdefault(parts[2], set()).add(v)
        if not wanted:
            return [tuple(r) for r in rows]
        opened: dict[str, str] = {}
        for tag, tokens in wanted.items():
            opened.update(self._open_where_held(conn, tag, tokens))
        return [tuple(opened.get(v, v) if type(v) is str else v for v in row) for row in rows]

    def _open_where_held(
        self, conn: sqlite3.Connection, tag: str, tokens: set[str]
    ) -> dict[str, str]:
        place = PLACES.get(tag)
        if place is None:
            raise DecryptionError(f"unknown column tag {tag!r} in an encrypted value")
        table, column, key = place
        holders: dict[str, list[str]] = {}
        ordered = sorted(tokens)
        term = SEALED_TERM.format(column=column)
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            chunk = ordered[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            sql = (
                f'SELECT "{key}", "{column}" FROM {table} WHERE "{column}" IN ({marks}) AND {term}'
            )
            for row_id, token in conn.execute(sql, chunk):
                holders.setdefault(token, []).append(str(row_id))
        out: dict[str, str] = {}
        for token in ordered:
            rows = holders.get(token)
            if not rows:
                raise DecryptionError(
                    f"a query read an encrypted value of {table}.{column} that no row of "
                    f"{table} holds: it cannot be opened without the row it belongs to"
                )
            for row_id in rows:  # each holder must be the row it was sealed for
                out[token] = self.cipher.open(token, tag, row_id)
        return out

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
