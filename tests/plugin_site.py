"""Installed-looking distributions in a folder on ``sys.path``, for plugin tests."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

__all__ = ["Site", "site"]


class Site:
    """A directory on ``sys.path`` holding installed-looking distributions."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.monkeypatch = monkeypatch
        monkeypatch.syspath_prepend(str(path))

    def add(
        self,
        dist: str,
        version: str,
        modules: dict[str, str],
        entry_points: dict[str, str],
    ) -> None:
        """Install ``dist`` with ``modules`` (name: source) and ``gridguard`` entry points."""
        for module, source in modules.items():
            (self.path / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
            # Forget the module when the test ends, so the next test imports its own.
            self.monkeypatch.delitem(sys.modules, module, raising=False)
        # As a wheel names it: "-" escaped, or every "gridguard-x" would read as "gridguard".
        info = self.path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[gridguard]\n{lines}", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    path = tmp_path / "site"
    path.mkdir()
    return Site(path, monkeypatch)
