"""What an importer plugin implements: read a file as a stream of rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["Importer"]


@runtime_checkable
class Importer(Protocol):
    """Reads one file format as rows: ``(row number, {column: value})``."""

    suffixes: tuple[str, ...]
    """File name endings this importer reads, such as ``(".csv",)``."""

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield each row with its 1-based row number in the file, streaming."""
