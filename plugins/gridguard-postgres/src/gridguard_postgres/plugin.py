"""The ``gridguard`` entry point: registers the PostgreSQL backend for its URL schemes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gridguard import hookimpl

if TYPE_CHECKING:
    from gridguard.storage.base import Storage


def _open(url: str) -> Storage:
    """Opened lazily, so that listing plugins does not import psycopg."""
    from ._storage import PostgresStorage

    return PostgresStorage.open(url)


@hookimpl
def register_storage_backends(register: Callable[[str, Callable[[str], Storage]], None]) -> None:
    """``postgresql://`` (and its alias ``postgres://``) open a :class:`PostgresStorage`."""
    register("postgresql", _open)
    register("postgres", _open)
