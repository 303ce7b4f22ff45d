"""The targeting cascade's candidate look-ups on an encrypted store.

Same answers as ``gridguard.targeting.matching.SqlFinder``, asked
differently: a list's keys are turned into blind indexes in Python, joined
against ``persons_blind`` in SQL, and only the persons found are decrypted.
The fuzzy pass's block (same region and birth date) is the ``id_block``
index; the last four characters are compared after decryption, on a few
candidates per block.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from ..security.crypto.fields import INDEX_TABLE, REGION_TAG, FieldCrypt
from ..storage.capabilities import RawConnection
from .matching import Resident

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..storage.capabilities import FieldEncryption

__all__ = ["BlindFinder"]


class BlindFinder:
    """Candidate look-ups as joins on blind indexes: the register is never decrypted whole."""

    CHUNK = 20_000

    def __init__(self, uow: UnitOfWork, fields: FieldEncryption) -> None:
        if not isinstance(fields, FieldCrypt):
            raise TypeError(f"blind-index look-ups need gridguard's FieldCrypt, not {fields!r}")
        self.uow = uow
        self.fields = fields
        self.indexes_built = False
        """The blind indexes are declared by the schema: nothing to build on first use."""
        self._regions: list[str] | None = None

    def _raw(self, sql: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """Rows as stored: this finder opens each value itself, for the row it selected it
        from, rather than have the store look every value up again."""
        connection = self.uow.connection if isinstance(self.uow, RawConnection) else None
        if not isinstance(connection, sqlite3.Connection):
            raise TypeError("blind-index look-ups need a SQLite unit of work")
        yield from connection.execute(sql, params)

    def _joined(
        self, column: str, keys: Collection[str], blind: Callable[[str], str | None]
    ) -> dict[str, list[Resident]]:
        """Persons whose ``column`` index equals ``blind(key)``, for each key."""
        by_blind: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            value = blind(key)
            if value is not None:
                by_blind[value].append(key)
        found: dict[str, list[Resident]] = defaultdict(list)
        opened = self.fields.open_value
        ordered = sorted(by_blind)
        sql = (
            "SELECT j.value, p.id, p.household_id, p.name, p.resident_id, p.phone "
            f"FROM json_each(?) AS j CROSS JOIN {INDEX_TABLE} AS b ON b.{column} = j.value "
            "JOIN persons AS p ON p.id = b.person_id"
        )
        for start in range(0, len(ordered), self.CHUNK):
            chunk = json.dumps(ordered[start : start + self.CHUNK])
            for value, pid, household, name, rid, phone in self._raw(sql, (chunk,)):
                person = Resident(
                    str(pid),
                    str(household),
                    str(name),
                    opened(rid, "pr", str(pid)),
                    opened(phone, "pp", str(pid)),
                )
                for key in by_blind[str(value)]:
                    found[key].append(person)
        return found

    def by_numbers(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        key = self.fields.cipher.key
        return self._joined("resident_id", numbers, lambda n: key.blind("resident_id", n))

    def by_phones(self, phones: Collection[str]) -> dict[str, list[Resident]]:
        key = self.fields.cipher.key
        return self._joined("phone", phones, lambda p: key.blind("phone", p))

    def by_blocks(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        """Persons with a number's first 14 characters and at most two of the last four."""
        key = self.fields.cipher.key
        blocks = self._joined(
            "id_block",
            numbers,
            lambda n: key.blind("id_block", n[:14]) if n[:14].isdigit() else None,
        )
        found: dict[str, list[Resident]] = {}
        for number, people in blocks.items():
            hits = [
                p
                for p in people
                if p.resident_id is not None
                and len(p.resident_id) == len(number)
                and sum(a != b for a, b in zip(p.resident_id[14:], number[14:], strict=True)) <= 2
            ]
            if hits:
                found[number] = hits
        return found

    def regions(self) -> list[str]:
        """The region codes on file, from their sealed list (one row per code)."""
        if self._regions is None:
            opened = self.fields.open_value
            self._regions = sorted(
                str(opened(region, REGION_TAG, str(index)))
                for index, region in self._raw("SELECT id_region, region FROM persons_regions", ())
            )
        return self._regions
