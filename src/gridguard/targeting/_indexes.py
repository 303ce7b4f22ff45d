"""The match indexes on ``persons``, created on first use rather than by a migration.

Matching looks persons up by identity number and by phone. Kept up to date
while millions of persons are bulk-loaded, these two indexes would make the
load three to five times slower, so the schema does not declare them: the
first :func:`~gridguard.targeting.matching.match_list` on SQLite creates them (a few
seconds for a city), and a large persons import drops and rebuilds them
around the load.
"""

from __future__ import annotations

__all__ = ["MATCH_INDEXES"]

MATCH_INDEXES = {
    "persons_resident_id": (
        'CREATE INDEX IF NOT EXISTS persons_resident_id ON persons ("resident_id")'
    ),
    "persons_phone": 'CREATE INDEX IF NOT EXISTS persons_phone ON persons ("phone")',
}
"""Index name -> the SQLite statement that creates it."""
