"""Builtin plugin: the memory and SQLite storage backends.

The backends are imported when the hook is called (when a workspace's
registries are collected), not when the plugin manager loads this module,
so that ``gridguard --help`` does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..hookspecs import StorageFactory, hookimpl

if TYPE_CHECKING:
    from ..storage.capabilities import FieldKeyRing


@hookimpl
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    from ..storage.memory import MemoryStorage
    from ..storage.sqlite import SQLiteOpener

    register("memory", MemoryStorage.open)
    register("sqlite", SQLiteOpener(key_source=_environment_keys))


def _environment_keys() -> FieldKeyRing | None:
    """The key ring named by ``GRIDGUARD_KEY_FILE`` or held in ``GRIDGUARD_KEY``, if set."""
    from ..security.crypto.keys import keyring_from_environment

    return keyring_from_environment()
