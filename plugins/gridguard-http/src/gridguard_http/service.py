"""The store behind the application: a pool of storages, a workspace per request.

Each request runs in a worker thread with a storage taken from the pool and
a fresh :class:`~gridguard.Workspace` opened on it for the request's
principal, so every read and write goes through the same access checks and
audit log as the Python API. Nothing here touches a transaction directly.
The workspace's *purpose* (the audit log's *why*) is the request line,
``HTTP GET /places``; a request that reads nothing personal still leaves
one ``http.read`` entry, so every request is in the audit log.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs

import gridguard
from gridguard import Principal, Workspace
from gridguard.plugins import GridGuardPluginManager, Registries
from gridguard.security.access import register_operation
from gridguard.storage.dialect import SqlDialect

__all__ = ["HTTP_READ", "Service"]

T = TypeVar("T")

HTTP_READ = "http.read"
"""The operation every read request is audited as (it needs nothing beyond the resource's own
checks, which the workspace makes when the handler reads)."""
register_operation(HTTP_READ, ())


@attrs.define
class Service:
    """The storages of one store and the plugins loaded for it."""

    url: str
    plugin_manager: GridGuardPluginManager
    registries: Registries
    _pool: queue.LifoQueue[Workspace] = attrs.field(repr=False)
    _opened: list[Workspace] = attrs.field(repr=False)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        plugin_manager: GridGuardPluginManager,
        size: int = 4,
        key: str | None = None,
    ) -> Service:
        """Open ``size`` storages of the store at ``url`` (one for an in-memory store)."""
        first = gridguard.open(url, plugin_manager=plugin_manager, key=key)
        opened = [first]
        if not first.url.startswith("memory:"):
            for _ in range(max(1, size) - 1):
                opened.append(gridguard.open(url, plugin_manager=plugin_manager, key=key))
        pool: queue.LifoQueue[Workspace] = queue.LifoQueue()
        for ws in opened:
            pool.put(ws)
        return cls(first.url, plugin_manager, first.registries, pool, opened)

    @property
    def dialect(self) -> SqlDialect:
        return self._opened[0].dialect

    @contextmanager
    def workspace(self, principal: Principal, purpose: str) -> Iterator[Workspace]:
        """A workspace for ``principal`` on a pooled storage; its audit entries written on exit."""
        base = self._pool.get()
        try:
            ws = Workspace(
                base.storage,
                principal=principal,
                plugin_manager=self.plugin_manager,
                registries=self.registries,
                purpose=purpose,
            )
            try:
                yield ws
            finally:
                ws.flush_audit()
        finally:
            self._pool.put(base)

    def run(self, principal: Principal, purpose: str, work: Callable[[Workspace], T]) -> T:
        """``work(ws)`` in a workspace opened for ``principal``."""
        with self.workspace(principal, purpose) as ws:
            return work(ws)

    def close(self) -> None:
        """Close every storage of the pool."""
        for ws in self._opened:
            ws.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
