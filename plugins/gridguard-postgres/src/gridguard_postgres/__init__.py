"""PostgreSQL storage for gridguard.

Install ``gridguard-postgres`` and open a workspace with a PostgreSQL URL::

    import gridguard

    ws = gridguard.open("postgresql://gg@db.example/gridguard?schema=zhongshan")

The tables come from gridguard's own table specs, keyed by jurisdiction in
every primary and foreign key so that Citus can shard them (see
:func:`citus_statements`).
"""

from ._dialect import PostgresDialect
from ._layout import PG_TYPES, citus_statements
from ._storage import EXTENSIONS, PostgresStorage, PostgresUnitOfWork
from ._url import Settings, mask_url, parse_url

__all__ = [
    "EXTENSIONS",
    "PG_TYPES",
    "PostgresDialect",
    "PostgresStorage",
    "PostgresUnitOfWork",
    "Settings",
    "citus_statements",
    "mask_url",
    "parse_url",
]
