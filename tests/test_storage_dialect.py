"""A plugin brings its own SQL dialect: the workflows ask the backend's dialect object.

``tinysql://`` is a small storage plugin built on the SQLite backend with a
dialect object of its own: psycopg-style ``%s`` placeholders (its units of
work refuse SQL that still holds a ``?``) and none of SQLite's own fast
paths. The whole demo runs on it and reports what it reports on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gridguard
import gridguard.workspace
from gridguard.cli import main
from gridguard.errors import StorageError
from gridguard.hookspecs import StorageFactory
from gridguard.storage.base import Storage
from gridguard.storage.dialect import SqlDialect, SQLiteDialect
from gridguard.storage.sqlite import SQLiteStorage, SQLiteUnitOfWork, sqlite_path
from gridguard.testing import StorageContract


class TinyDialect(SQLiteDialect):
    """SQLite's functions, psycopg's placeholders, and no SQLite-only fast paths."""

    name = "tinysql"
    placeholder = "%s"
    sqlite_sql = False


class TinyUnitOfWork(SQLiteUnitOfWork):
    """Takes SQL with ``%s`` placeholders only; SQL written for SQLite's ``?`` is refused."""

    statements = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        if "?" in sql:
            raise StorageError(f"tinysql takes %s placeholders, not ?: {sql[:120]}")
        TinyUnitOfWork.statements += 1
        return super().query(sql.replace("%s", "?"), params)


class TinyStorage(SQLiteStorage):
    dialect = TinyDialect()
    unit_of_work = TinyUnitOfWork


class TinyPlugin:
    """The plugin: one storage backend, for ``tinysql:///path`` URLs."""

    @staticmethod
    @gridguard.hookimpl
    def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
        def open_tiny(url: str) -> Storage:
            return TinyStorage(sqlite_path(url.replace("tinysql:", "sqlite:", 1)), url=url)

        register("tinysql", open_tiny)


class TestTinyStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        store = TinyStorage(tmp_path / "tiny.db")
        yield store
        store.close()


def test_the_plugin_dialect_is_what_the_store_reports(tmp_path: Path) -> None:
    with gridguard.open(f"tinysql:///{tmp_path / 'w.db'}", plugins=[TinyPlugin]) as ws:
        assert isinstance(ws.storage.dialect, SqlDialect)
        assert ws.storage.dialect.name == "tinysql"
        assert ws.storage.dialect.text("a = ? AND b = ?") == "a = %s AND b = %s"
        assert ws.storage.dialect.numbered("a = ?2 AND b = ?1 OR c = ?2") == (
            "a = %s AND b = %s OR c = %s",
            [2, 1, 2],
        )


def test_sql_written_for_sqlite_is_refused_by_the_tiny_store(tmp_path: Path) -> None:
    store = TinyStorage(tmp_path / "t.db")
    try:
        with pytest.raises(StorageError, match="placeholders"), store.transaction() as uow:
            list(uow.query("SELECT ?", [1]))
    finally:
        store.close()


def test_the_demo_runs_on_a_plugin_dialect_with_the_figures_it_has_on_sqlite(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    huayuan_demo: tuple[dict[str, Any], Path],
) -> None:
    opened = gridguard.workspace.open_workspace

    def with_tiny(*args: Any, **kwargs: Any) -> gridguard.Workspace:
        kwargs["plugins"] = [*kwargs.get("plugins", ()), TinyPlugin]
        return opened(*args, **kwargs)

    monkeypatch.setattr(gridguard.workspace, "open_workspace", with_tiny)
    TinyUnitOfWork.statements = 0
    url = f"tinysql:///{tmp_path / 'huayuan.db'}"
    result = CliRunner().invoke(
        main, ["demo", "--db", url, "--json", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    tiny: dict[str, Any] = json.loads(result.stdout)
    assert TinyUnitOfWork.statements > 100, "the workflows pushed their SQL down to the plugin"
    expected, _ = huayuan_demo

    def figure(value: Any) -> Any:  # files written: by name, wherever the run wrote them
        return Path(value).name if isinstance(value, str) and value.startswith("/") else value

    ignored = {"database", "seconds"}
    differ = {
        key: (expected.get(key), tiny.get(key))
        for key in expected.keys() | tiny.keys()
        if key not in ignored and figure(expected.get(key)) != figure(tiny.get(key))
    }
    assert differ == {}
