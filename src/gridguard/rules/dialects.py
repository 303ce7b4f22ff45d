"""The SQL dialects the rules' SQL compiler targets: now owned by the storage backends.

A backend's :attr:`Storage.dialect <gridguard.storage.base.Storage.dialect>`
is its dialect object (:mod:`gridguard.storage.dialect`); the PostgreSQL
one lives in the ``gridguard-postgres`` plugin
(``gridguard_postgres.PostgresDialect``). The names here stay for code
that imported them from the rules.
"""

from __future__ import annotations

from ..storage.dialect import BaseDialect, SqlDialect, SQLiteDialect

Dialect = BaseDialect
"""The base every builtin dialect extends (:class:`~gridguard.storage.dialect.BaseDialect`)."""

__all__ = ["Dialect", "SQLiteDialect", "SqlDialect"]
