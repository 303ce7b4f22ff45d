"""Property: the memory and SQLite backends agree on every batch, good or bad."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

import gridguard
from gridguard import GridGuardError, Household, Visit
from gridguard.testing import SAMPLE_START, sample_records

HOUSEHOLDS = ("h1", "h2", "h3", "ghost")
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


def _snapshot(ws: gridguard.Workspace) -> tuple[list[Visit], dict[str, int]]:
    return ws.find(Visit), ws.counts()


@given(visit_batches(), st.sampled_from(["101", "101A"]))
def test_memory_and_sqlite_agree(batches: list[list[Visit]], door: str) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        gridguard.open("memory://") as mem,
        gridguard.open(Path(tmp) / "a.db") as lite,
    ):
        mem.add(sample_records())
        lite.add(sample_records())
        assert _apply(mem, batches, door) == _apply(lite, batches, door)
        assert _snapshot(mem) == _snapshot(lite)
