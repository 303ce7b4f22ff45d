"""Validate a CSV import in a second process: ``python -m gridguard.targeting._producer``.

The bulk import spends most of its time reading and validating rows, and
SQLite spends its own writing them; on a machine with two cores the two run
side by side. This process reads the file, validates each batch and writes
it to standard output as a length-prefixed :mod:`marshal` frame
(:mod:`gridguard._frames`) of
``(rows, problems, rows read)``, the rows packed into one text where they can
be (:mod:`._packed`); :func:`gridguard.targeting.importing.import_file`
stores what it receives. The pipe blocks when the writer falls behind, so
memory stays flat in both processes.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from .._frames import frames_from_process, write_frame
from ..errors import GridGuardError
from ._packed import Packed, pack

__all__ = ["Batch", "Validated", "batches", "batches_from_process", "main"]

RELAXED_GC = (20_000, 10, 10)
"""Thresholds of the cyclic garbage collector while rows stream through (see :mod:`gc`):
a young generation of 20,000 objects, not 700; the older ones are collected as usual."""

Validated = tuple[list[tuple[int, tuple[Any, ...]]], list[tuple[int, str, str, str]], int]
"""Validated ``(row number, row)`` pairs, problems ``(row, column, value, reason)``, rows read."""
Batch = tuple[list[tuple[int, tuple[Any, ...]]] | Packed, list[tuple[int, str, str, str]], int]
"""A :data:`Validated` batch, its rows packed where they could be (:mod:`._packed`)."""


class Collect:
    """Stands in for the error report: keeps the problems of the current batch."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, str, str, str]] = []

    def add(self, row: int, column: str, value: str, reason: str) -> None:
        self.problems.append((row, column, value, reason))

    def take(self) -> list[tuple[int, str, str, str]]:
        taken, self.problems = self.problems, []
        return taken


def batches(table: Any, lay: Any, kind: Any, batch_size: int) -> Iterator[Validated]:
    """The validated batches of an open table (in this process)."""
    from . import fields
    from .importing import validate_batch, validate_columns

    collect = Collect()
    if table.column_batches is not None:
        for columns in table.column_batches(batch_size):
            yield validate_columns(columns, table, lay, kind, collect), collect.take(), columns.read
            fields.refresh_today()
        return
    rows = iter(table.rows)
    while chunk := list(islice(rows, batch_size)):
        yield validate_batch(chunk, table, lay, kind, collect), collect.take(), len(chunk)
        fields.refresh_today()


def main(argv: list[str]) -> int:
    """Validate ``kind`` rows of ``path`` and stream the batches to standard output."""
    from .importing import KINDS
    from .tables import layout, open_csv

    kind_name, path, encoding, checked, batch_size = argv
    # Batches are freed as soon as they are written, and rows hold no cycles: the cyclic
    # collector, run every 700 new tuples by default, would only walk them in vain.
    gc.freeze()
    gc.set_threshold(*RELAXED_GC)
    kind = KINDS[kind_name]
    table = open_csv(Path(path), encoding, checked == "1")
    lay = layout(table.header, kind.fields, kind.aliases, kind.required, source=Path(path).name)
    out = sys.stdout.buffer
    try:
        for rows, problems, read in batches(table, lay, kind, int(batch_size)):
            write_frame(out, (pack(rows) or rows, problems, read))
    finally:
        table.close()
    out.flush()
    return 0


def batches_from_process(
    kind: str, path: Path, encoding: str, checked: bool, batch_size: int
) -> Iterator[Batch]:
    """What :func:`batches` yields for a CSV file, made by a second Python process; the
    rows of a batch come :func:`~._packed.pack`-ed where they could be."""
    args = [kind, str(path), encoding, "1" if checked else "0", str(batch_size)]
    yield from frames_from_process(
        "gridguard.targeting._producer",
        args,
        failure="the import's validating process failed",
        error=GridGuardError,
    )


if __name__ == "__main__":  # pragma: no cover - run as a child process
    sys.exit(main(sys.argv[1:]))
