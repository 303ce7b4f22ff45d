"""Keyset pages (``Workspace.page``): a page costs the rows of the page, not the store.

SQLite counts the virtual-machine steps of the statements a page runs
(``set_progress_handler``): a page of 50 from a store of 4,000 households
costs about what it costs from a store of 400, where reading the whole
scope and cutting it in Python grows tenfold. The audit log shows the
50 households read, and the statement asks for 51 rows (the 51st says
whether there is a next page).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

import gridguard
from gridguard import Household, Principal, Role
from gridguard.storage.capabilities import RawConnection
from gridguard.testing import sample_records
from gridguard.workspace import Workspace


def _store(tmp_path: Any, households: int) -> Workspace:
    ws = gridguard.open(tmp_path / f"h{households}.db")
    ws.add(sample_records())
    ws.add(
        Household(id=f"x{n:06d}", stairwell_id="s1", floor=1, door=str(n), address="路")
        for n in range(households)
    )
    return ws


def _steps(store: Workspace, read: Any) -> tuple[int, list[str]]:
    """VM steps and statements of ``read()`` on the store's SQLite connection."""
    with store.transaction(write=False) as uow:
        assert isinstance(uow, RawConnection)
        conn = uow.connection
    steps = [0]
    statements: list[str] = []

    def tick() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(tick, 10)
    conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        conn.set_progress_handler(None, 0)
        conn.set_trace_callback(None)
    return steps[0], statements


@pytest.mark.parametrize(
    "principal",
    [
        gridguard.LOCAL_ADMIN,
        Principal(name="社区", role=Role.COMMUNITY_SECRETARY, area_id="c1"),
        Principal(name="网格员", role=Role.GRID_WORKER, area_id="g1"),
    ],
    ids=["admin", "community", "grid"],
)
def test_a_page_reads_its_rows_not_the_store(tmp_path: Any, principal: Principal) -> None:
    costs = {}
    for size in (400, 4000):
        store = _store(tmp_path, size)
        ws = Workspace(store.storage, principal=principal, purpose="paging test")
        ws.page(Household, limit=5)  # the scope is resolved once per workspace
        after = "x000100"
        page_steps, statements = _steps(store, partial(ws.page, Household, after=after, limit=50))
        find_steps, _ = _steps(store, partial(ws.find, Household))
        page = ws.page(Household, after=after, limit=50)
        assert [h.id for h in page.items] == [f"x{n:06d}" for n in range(101, 151)]
        assert page.next == "x000150"
        paging = [s for s in statements if "FROM households" in s]
        assert len(paging) == 1
        assert "ORDER BY id LIMIT" in paging[0]
        ws.flush_audit()
        with store.transaction(write=False) as uow:
            reads = list(uow.query("SELECT target, count FROM audit_log WHERE action = 'read'"))
        assert reads[-1][1] == 50, reads[-1]
        costs[size] = (page_steps, find_steps)
        store.close()
    (small_page, small_find), (big_page, big_find) = costs[400], costs[4000]
    assert big_find > 5 * small_find, "reading the whole scope grows with the store"
    assert big_page < 1.5 * small_page, f"a page must not: {costs}"
