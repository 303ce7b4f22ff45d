"""The storage contract suite, run against PostgreSQL in both layouts."""

from __future__ import annotations

import pytest
from gridguard_postgres import PostgresStorage

from gridguard.storage.base import Storage
from gridguard.testing import StorageContract


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def storage(self, pg_store: PostgresStorage) -> Storage:
        return pg_store
