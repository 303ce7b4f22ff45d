"""Builtin plugin: the memory and SQLite storage backends.

The backends are imported when the hook is called (when a workspace's
registries are collected), not when the plugin manager loads this module,
so that ``gridguard --help`` does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import StorageFactory, hookimpl


@hookimpl
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    from ..storage.memory import MemoryStorage
    from ..storage.sqlite import SQLiteStorage

    register("memory", MemoryStorage.open)
    register("sqlite", SQLiteStorage.open)
