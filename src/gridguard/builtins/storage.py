"""Builtin plugin: the memory and SQLite storage backends."""

from __future__ import annotations

from collections.abc import Callable

from ..hookspecs import StorageFactory, hookimpl
from ..storage.capabilities import FieldKeyRing
from ..storage.memory import MemoryStorage
from ..storage.sqlite import SQLiteOpener


@hookimpl
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    register("memory", MemoryStorage.open)
    register("sqlite", SQLiteOpener(key_source=_environment_keys))


def _environment_keys() -> FieldKeyRing | None:
    """The key ring named by ``GRIDGUARD_KEY_FILE`` or held in ``GRIDGUARD_KEY``, if set."""
    from ..security.crypto.keys import keyring_from_environment

    return keyring_from_environment()
