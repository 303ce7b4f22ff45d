"""pytest plugin (entry point ``pytest11``): fixtures for testing with gridguard.

Fixtures:

``gridguard_workspace``
    A fresh in-memory :class:`~gridguard.Workspace`.
``gridguard_sample_workspace``
    The same with :func:`~gridguard.testing.sample_records` and
    :func:`~gridguard.testing.sample_facts` stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

pytest.register_assert_rewrite(
    "gridguard.testing.contract",
    "gridguard.testing.notifier_contract",
    "gridguard.testing.reporter_contract",
)

if TYPE_CHECKING:
    from ..workspace import Workspace


@pytest.fixture
def gridguard_workspace() -> Iterator[Workspace]:
    """An empty in-memory workspace, closed after the test."""
    from ..workspace import open_workspace

    ws = open_workspace("memory://")
    yield ws
    ws.close()


@pytest.fixture
def gridguard_sample_workspace(gridguard_workspace: Workspace) -> Workspace:
    """An in-memory workspace holding the sample tree and one fact of each kind."""
    from .sample import sample_facts, sample_records

    gridguard_workspace.add(sample_records())
    gridguard_workspace.record(sample_facts())
    return gridguard_workspace
