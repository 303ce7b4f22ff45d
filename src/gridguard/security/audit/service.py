"""Reading the audit log through a workspace: verify the chain, list recent entries.

Both are audited operations themselves (``audit.read``), allowed to
administrators and auditors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import ValidationError
from ...model.audit import AuditEntry
from ...storage.capabilities import StoreChecks
from .chain import AuditReport, _whole, head, verify

if TYPE_CHECKING:
    from ...storage.schema import TableSpec
    from ...workspace import Workspace

__all__ = ["recent_entries", "verify_log"]


def verify_log(ws: Workspace, *, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Check the whole chain of ``ws``'s store (see :func:`gridguard.security.audit.verify`).

    A store that can check its own file (SQLite: ``PRAGMA quick_check``) does
    so first: a damaged one is a :class:`~gridguard.errors.StoreCorrupt`,
    never an "intact" chain.
    """
    if isinstance(ws.storage, StoreChecks):
        ws.storage.check_integrity()
    ws.flush_audit()
    ws.authorize("audit.read", "*")  # the log covers the whole store
    with ws._transaction(write=False) as uow:
        return verify(uow, ws.dialect, anchor=anchor)


def recent_entries(ws: Workspace, last: int = 20) -> list[AuditEntry]:
    """The ``last`` entries, oldest first."""
    ws.flush_audit()
    ws.authorize("audit.read", "*")  # the log covers the whole store
    with ws._transaction(write=False) as uow:
        top, _ = head(uow, ws.dialect)
        if last <= 0:
            return []
        if ws.dialect.runs_sql:
            mark = ws.dialect.placeholder
            from ...storage.schema import spec_for

            spec = spec_for(AuditEntry)
            cols = ", ".join(f'"{c}"' for c in spec.column_names)
            sql = f"SELECT {cols} FROM {spec.table} WHERE seq > {mark} ORDER BY seq"
            at_seq = spec.column_names.index("seq")
            rows = uow.query(sql, [top - last])
            # An entry whose seq is not a whole number (SQLite sorts text after
            # every number) is not one of the last ones; audit verify names it.
            return [_decoded(spec, row) for row in rows if _whole(row[at_seq]) is not None]
        found = [e for e in uow.find(AuditEntry) if e.seq > top - last]
        return sorted(found, key=lambda e: e.seq)


def _decoded(spec: TableSpec, row: Any) -> AuditEntry:
    """A stored row as an entry; a row that breaks the model is named by its ``seq``."""
    try:
        entry: AuditEntry = spec.decode(spec.as_stored(row))
    except ValidationError as exc:
        seq = row[spec.column_names.index("seq")]
        raise exc.prefixed(f"audit log entry {seq}") from None
    return entry
