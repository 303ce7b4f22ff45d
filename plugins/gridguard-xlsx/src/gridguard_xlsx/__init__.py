"""gridguard importer and reporter for Excel workbooks, both registered as ``xlsx``.

The reporter (:class:`XlsxReporter`, in :mod:`gridguard_xlsx.reporter`) writes a
report as a workbook with a sheet per section. The importer:

Reads the first worksheet (or the one named by ``GRIDGUARD_XLSX_SHEET``) in
openpyxl's read-only, streaming mode. The first non-empty row is the header;
each later non-empty row is yielded as ``(row number, {header: value})``
with the worksheet's own row numbers. Formulas are read as formulas
(``data_only=False``), so gridguard can refuse them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridguard import hookimpl
from gridguard.errors import ValidationError

if TYPE_CHECKING:
    from .reporter import XlsxReporter

__all__ = ["SHEET_ENV", "XlsxImporter", "XlsxReporter", "register_importers", "register_reporters"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The reporter is imported on first use, so loading the plugin stays quick."""
    if name != "XlsxReporter":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .reporter import XlsxReporter

    globals()[name] = XlsxReporter
    return XlsxReporter


SHEET_ENV = "GRIDGUARD_XLSX_SHEET"


class XlsxImporter:
    """Streams the rows of one worksheet of an ``.xlsx`` workbook."""

    suffixes: tuple[str, ...] = (".xlsx", ".xlsm")

    def __init__(self, sheet: str | None = None) -> None:
        self.sheet = sheet or os.environ.get(SHEET_ENV) or None

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        from zipfile import BadZipFile

        from openpyxl import load_workbook
        from openpyxl.chartsheet import Chartsheet
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(path, read_only=True, data_only=False)
        except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise ValidationError.single(
                Path(path).name, type(exc).__name__, "not an Excel workbook (.xlsx)"
            ) from None
        try:
            if self.sheet is not None and self.sheet not in book.sheetnames:
                known = ", ".join(book.sheetnames)
                raise ValidationError.single(
                    Path(path).name, self.sheet, f"no such worksheet (sheets: {known})"
                )
            chosen = book.worksheets[0] if self.sheet is None else book[self.sheet]
            if isinstance(chosen, Chartsheet):
                raise ValidationError.single(
                    Path(path).name, chosen.title, "a chart sheet, not a worksheet of rows"
                )
            sheet = chosen
            header: list[str] | None = None
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                if header is None:
                    header = [
                        (None if v is None else str(v).strip()) or f"column {n + 1}"
                        for n, v in enumerate(values)
                    ]
                    continue
                cells = list(values) + [None] * (len(header) - len(values))
                row = dict(zip(header, cells, strict=False))
                extra = [v for v in cells[len(header) :] if v is not None]
                if extra:
                    row[f"column {len(header) + 1}"] = extra[0]
                yield number, row
        finally:
            book.close()


@hookimpl
def register_importers(register: Callable[[str, Callable[[], XlsxImporter]], None]) -> None:
    """Register the ``xlsx`` importer."""
    register("xlsx", XlsxImporter)


@hookimpl
def register_reporters(register: Callable[[str, Callable[[], XlsxReporter]], None]) -> None:
    """Register the ``xlsx`` reporter."""
    from .reporter import XlsxReporter

    register("xlsx", XlsxReporter)
