"""Property: SQLite and PostgreSQL agree on every batch, good or bad, error messages included."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from gridguard_postgres import PostgresStorage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import GridGuardError, Household, Person, Visit
from gridguard.storage.schema import SPECS, spec_for
from gridguard.testing import SAMPLE_START, sample_records

HOUSEHOLDS = ("h1", "h2", "h3", "ghost")
TEAMS = (None, "t1", "no-team")
OUTCOMES = ("screened", "not_home", "refused", "vacant")


@st.composite
def visit_batches(draw: st.DrawFn) -> list[list[Visit]]:
    """Batches of visits drawing ids from a small pool, so repeats and conflicts happen."""
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        batch = []
        for _ in range(draw(st.integers(0, 8))):
            batch.append(
                Visit(
                    id=uuid.UUID(int=draw(st.integers(1, 12))),
                    at=SAMPLE_START + dt.timedelta(minutes=draw(st.integers(0, 3))),
                    household_id=draw(st.sampled_from(HOUSEHOLDS)),
                    team_id=draw(st.sampled_from(TEAMS)),
                    outcome=draw(st.sampled_from(OUTCOMES)),
                )
            )
        batches.append(batch)
    return batches


def _apply(ws: gridguard.Workspace, batches: list[list[Visit]], door: str) -> list[Any]:
    outcomes: list[Any] = []
    for batch in batches:
        try:
            outcomes.append(ws.record(batch, batch_size=3))
        except GridGuardError as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    try:
        h1 = ws.get(Household, "h1")
        outcomes.append(ws.update(attrs.evolve(h1, door=door), expected_version=1))
    except GridGuardError as exc:
        outcomes.append(type(exc).__name__)
    return outcomes


def _snapshot(ws: gridguard.Workspace) -> tuple[list[Visit], dict[str, int], list[Person]]:
    return ws.find(Visit), ws.counts(), ws.find(Person, household_id="h1")


def _empty(admin: psycopg.Connection[tuple[object, ...]], store: PostgresStorage) -> None:
    tables = ", ".join(f'"{store.schema}"."{s.table}"' for s in SPECS.values())
    admin.execute(f"TRUNCATE {tables}")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=visit_batches(), door=st.sampled_from(["101", "101A"]))
def test_sqlite_and_postgres_agree(
    pg_store: PostgresStorage,
    pg_admin: psycopg.Connection[tuple[object, ...]],
    batches: list[list[Visit]],
    door: str,
) -> None:
    _empty(pg_admin, pg_store)
    pg = gridguard.Workspace(pg_store)
    with tempfile.TemporaryDirectory() as tmp, gridguard.open(Path(tmp) / "a.db") as lite:
        lite.add(sample_records())
        pg.add(sample_records())
        assert _apply(pg, batches, door) == _apply(lite, batches, door)
        assert _snapshot(pg) == _snapshot(lite)


def test_bulk_batches_go_by_copy_and_agree_too(pg_store: PostgresStorage) -> None:
    """Batches past the array limit are staged with COPY; the result is the same."""
    ws = gridguard.Workspace(pg_store)
    ws.add(sample_records())
    visits = [
        Visit(
            id=uuid.UUID(int=90_000 + n),
            at=SAMPLE_START + dt.timedelta(seconds=n),
            household_id=("h1", "h2", "h3")[n % 3],
            outcome="screened",
        )
        for n in range(2_500)
    ]
    assert ws.record(visits).written == 2_500
    changed = attrs.evolve(visits[2_000], note="other")
    with pytest.raises(gridguard.ConflictError, match=str(visits[2_000].id)):
        ws.record([*visits, changed])
    assert ws.record(visits).unchanged == 2_500
    with pg_store.transaction(write=False) as uow:
        rows = list(uow.query("SELECT jurisdiction, count(*) FROM visits GROUP BY 1 ORDER BY 1"))
    assert rows == [("c1", 1_667), ("c2", 833)]
    assert spec_for(Visit).encode(ws.get(Visit, str(visits[7].id))) == spec_for(Visit).encode(
        visits[7]
    )


def test_a_stored_id_sent_again_under_an_unknown_parent_is_a_validation_error(
    pg_store: PostgresStorage,
) -> None:
    """As in SQLite: the parent is checked before the stored fact is compared."""
    visit = Visit(id=uuid.UUID(int=1), at=SAMPLE_START, household_id="h1", outcome="screened")
    ghost = attrs.evolve(visit, household_id="ghost")
    pg = gridguard.Workspace(pg_store)
    with tempfile.TemporaryDirectory() as tmp, gridguard.open(Path(tmp) / "a.db") as lite:
        outcomes = []
        for ws in (pg, lite):
            ws.add(sample_records())
            ws.record([visit])
            with pytest.raises(gridguard.ValidationError) as caught:
                ws.record([ghost])
            outcomes.append(str(caught.value))
    assert outcomes[0] == outcomes[1] == "$[0].household_id: unknown household (got 'ghost')"
