"""The pytest plugin that gridguard installs (entry point ``pytest11``) provides its fixtures."""

from __future__ import annotations

import gridguard


def test_empty_workspace_fixture(gridguard_workspace: gridguard.Workspace) -> None:
    assert gridguard_workspace.storage.dialect.name == "memory"
    assert sum(gridguard_workspace.counts().values()) == 0


def test_sample_workspace_fixture(gridguard_sample_workspace: gridguard.Workspace) -> None:
    counts = gridguard_sample_workspace.counts()
    assert counts["households"] == 3
    assert counts["persons"] == 4
    assert counts["visits"] == 3
    assert gridguard_sample_workspace.get(gridguard.Person, "p1").name == "陈建国"
