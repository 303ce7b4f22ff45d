"""Validate a CSV import in a second process: ``python -m gridguard.targeting._producer``.

The bulk import spends most of its time reading and validating rows, and
SQLite spends its own writing them; on a machine with two cores the two run
side by side. This process reads the file, validates each batch and writes
it to standard output as a length-prefixed :mod:`marshal` frame of
``(rows, problems, rows read)``; :func:`gridguard.targeting.importing.import_file`
stores what it receives. The pipe blocks when the writer falls behind, so
memory stays flat in both processes.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import GridGuardError

__all__ = ["Batch", "batches", "batches_from_process", "main"]

Batch = tuple[list[tuple[int, tuple[Any, ...]]], list[tuple[int, str, str, str]], int]
"""Validated ``(row number, row)`` pairs, problems ``(row, column, value, reason)``, rows read."""


class Collect:
    """Stands in for the error report: keeps the problems of the current batch."""

    def __init__(self) -> None:
        self.problems: list[tuple[int, str, str, str]] = []

    def add(self, row: int, column: str, value: str, reason: str) -> None:
        self.problems.append((row, column, value, reason))

    def take(self) -> list[tuple[int, str, str, str]]:
        taken, self.problems = self.problems, []
        return taken


def batches(table: Any, lay: Any, kind: Any, batch_size: int) -> Iterator[Batch]:
    """The validated batches of an open table (in this process)."""
    from . import fields
    from .importing import validate_rows

    collect = Collect()
    rows: list[tuple[int, tuple[Any, ...]]] = []
    seen = 0
    for item in validate_rows(table, lay, kind, collect):
        seen += 1
        if not isinstance(item, int):
            rows.append(item)
        if seen >= batch_size:
            yield rows, collect.take(), seen
            rows, seen = [], 0
            fields.refresh_today()
    if seen:
        yield rows, collect.take(), seen


def _write(out: BinaryIO, frame: Any) -> None:
    data = marshal.dumps(frame)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def main(argv: list[str]) -> int:
    """Validate ``kind`` rows of ``path`` and stream the batches to standard output."""
    from .importing import KINDS
    from .tables import layout, open_csv

    kind_name, path, encoding, checked, batch_size = argv
    kind = KINDS[kind_name]
    table = open_csv(Path(path), encoding, checked == "1")
    lay = layout(table.header, kind.fields, kind.aliases, kind.required, source=Path(path).name)
    out = sys.stdout.buffer
    try:
        for batch in batches(table, lay, kind, int(batch_size)):
            _write(out, batch)
    finally:
        table.close()
    out.flush()
    return 0


def batches_from_process(
    kind: str, path: Path, encoding: str, checked: bool, batch_size: int
) -> Iterator[Batch]:
    """What :func:`batches` yields for a CSV file, made by a second Python process."""
    env = dict(os.environ)
    # The child must import this very gridguard, even from a tree put on sys.path.
    env["PYTHONPATH"] = os.pathsep.join(
        [p for p in sys.path if p] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    command = [sys.executable, "-m", "gridguard.targeting._producer"]
    args = [kind, str(path), encoding, "1" if checked else "0", str(batch_size)]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=errors, env=env)
        assert proc.stdout is not None
        try:
            while True:
                header = proc.stdout.read(8)
                if len(header) < 8:
                    break
                yield marshal.loads(proc.stdout.read(int.from_bytes(header, "little")))
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the caller stopped early or failed
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0:
            errors.seek(0)
            lines = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GridGuardError(
                f"the import's validating process failed (exit code {code}): "
                + (lines[-1] if lines else "no message")
            )


if __name__ == "__main__":  # pragma: no cover - run as a child process
    sys.exit(main(sys.argv[1:]))
