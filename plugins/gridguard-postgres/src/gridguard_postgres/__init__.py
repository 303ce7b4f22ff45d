"""PostgreSQL storage for gridguard.

Install ``gridguard-postgres`` and open a workspace with a PostgreSQL URL::

    import gridguard

    ws = gridguard.open("postgresql://gg@db.example/gridguard?schema=zhongshan")

The tables come from gridguard's own table specs, keyed by jurisdiction in
every primary and foreign key so that Citus can shard them (see
:func:`citus_statements`).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dialect import PostgresDialect
    from ._layout import PG_TYPES, citus_statements
    from ._storage import EXTENSIONS, PostgresStorage, PostgresUnitOfWork
    from ._url import Settings, mask_url, parse_url

_LAZY = {
    "PostgresDialect": "._dialect",
    "PG_TYPES": "._layout",
    "citus_statements": "._layout",
    "EXTENSIONS": "._storage",
    "PostgresStorage": "._storage",
    "PostgresUnitOfWork": "._storage",
    "Settings": "._url",
    "mask_url": "._url",
    "parse_url": "._url",
}
"""Imported on first use, so that loading the plugin (``gridguard --help``,
``gridguard plugins``) does not import psycopg."""


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
