"""The match indexes on ``persons``, and dropping them around a bulk load.

Matching looks persons up by identity number and by phone. The schema owns
the two indexes (migration 6); kept up to date while millions of persons are
bulk-loaded they would make the load three to five times slower, so a large
load (a persons import from ``REINDEX_FROM_BYTES``, the city generator) drops
them first and builds them again once when it is done. Should a load be
killed in between, the first :func:`~gridguard.targeting.matching.match_list`
on SQLite builds whatever is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork

__all__ = ["MATCH_INDEXES", "drop_match_indexes", "restore_match_indexes"]

MATCH_INDEXES = {
    "persons_resident_id": (
        'CREATE INDEX IF NOT EXISTS persons_resident_id ON persons ("resident_id")'
    ),
    "persons_phone": 'CREATE INDEX IF NOT EXISTS persons_phone ON persons ("phone")',
}
"""Index name -> the SQLite statement that creates it (as migration 6 does)."""


def drop_match_indexes(uow: UnitOfWork) -> list[str]:
    """Drop the match indexes that exist (SQLite); returns their names to restore later."""
    present = {
        str(r[0])
        for r in uow.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", ("persons",)
        )
    }
    dropped = [name for name in MATCH_INDEXES if name in present]
    for name in dropped:
        list(uow.query(f"DROP INDEX {name}"))
    return dropped


def restore_match_indexes(uow: UnitOfWork, names: list[str]) -> None:
    """Build the indexes :func:`drop_match_indexes` dropped."""
    for name in names:
        list(uow.query(MATCH_INDEXES[name]))
