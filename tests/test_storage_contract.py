"""The storage contract suite, run against both builtin backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gridguard.storage.base import Storage
from gridguard.storage.memory import MemoryStorage
from gridguard.storage.sqlite import SQLiteStorage
from gridguard.testing import StorageContract


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        store = MemoryStorage()
        yield store
        store.close()


class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        store = SQLiteStorage.open(f"sqlite:///{tmp_path / 'contract.db'}")
        yield store
        store.close()
