"""Builtin plugin: the memory and SQLite storage backends."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import StorageFactory, hookimpl
from ..storage.memory import MemoryStorage
from ..storage.sqlite import SQLiteStorage


@hookimpl
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    register("memory", MemoryStorage.open)
    register("sqlite", SQLiteStorage.open)
