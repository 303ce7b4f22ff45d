"""Reading a file as a table: header, then rows of cells, whatever the format.

CSV is read here directly (:func:`gridguard.importers.text.csv_records`, no
dictionary per row: the bulk import reads millions of rows), with the encoding detected by
:func:`gridguard.builtins.formats.detect_encoding` or given. Every other
format goes through the importer registered for it (``xlsx`` from the
``gridguard-xlsx`` plugin, ``jsonl`` built in), whose rows are mappings.

Headers are matched to fields through per-kind aliases in English and
Chinese (``身份证号``, ``公民身份号码`` and ``resident_id`` are one field).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..builtins.formats import detect_encoding
from ..errors import ConfigError, ValidationError
from ..importers.text import BadRecord, PlainLines, csv_chunks, one_by_one, undecoded

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = [
    "ID_NUMBER_ALIASES",
    "BadRow",
    "CellColumns",
    "Layout",
    "Table",
    "clean",
    "layout",
    "normalise_header",
    "open_csv",
    "open_table",
]

ID_NUMBER_ALIASES = (
    "idnumber",
    "idcard",
    "身份证",
    "身份证号",
    "身份证号码",
    "公民身份号码",
    "证件号码",
    "证件号",
)
"""Other headers of a resident identity number (身份证号) than ``resident_id`` and ``id_number``.

The register's persons call the field ``resident_id``, an outside list's
entries ``id_number``; each kind takes the other's name as an alias too.
"""

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_HEADER_DROP = str.maketrans("", "", " \t_-*:：")


def normalise_header(text: str) -> str:
    """A header as compared: NFKC, lower case, no spaces, ``_``, ``-``, ``*`` or remarks.

    ``"身份证号码（必填）"`` -> ``"身份证号码"``, ``"Resident ID"`` -> ``"residentid"``.
    """
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return _BRACKETS.sub("", text).translate(_HEADER_DROP)


@attrs.frozen
class BadRow:
    """A row that could not be read as a row: wrong cell count, broken quoting, bad bytes."""

    reason: str


@attrs.frozen
class Layout:
    """Where each field of a kind is in a file's header."""

    fields: tuple[str, ...]
    columns: tuple[str | None, ...]
    """The header text of each field's column, or ``None`` when the file lacks it."""
    positions: tuple[int | None, ...]
    ignored: tuple[str, ...]
    """Header cells that name no field."""

    def column(self, field: str) -> str:
        """The header text a field was read from (the field name when absent)."""
        return self.columns[self.fields.index(field)] or field


def layout(
    header: Sequence[Any],
    fields: Sequence[str],
    aliases: Mapping[str, Sequence[str]],
    required: Sequence[str],
    *,
    source: str,
) -> Layout:
    """Match header cells to fields; a missing required field or a doubled one is an error.

    ``aliases[field]`` are normalised spellings (see :func:`normalise_header`);
    the field name itself always matches.
    """
    lookup: dict[str, str] = {}
    for field in fields:
        for alias in (field, *aliases.get(field, ())):
            lookup[normalise_header(alias)] = field
    positions: dict[str, int] = {}
    columns: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[tuple[str, str]] = []
    for index, cell in enumerate(header):
        text = "" if cell is None else str(cell).strip()
        named = lookup.get(normalise_header(text))
        if named is None:
            if text:
                ignored.append(text)
            continue
        if named in positions:
            problems.append((text, f"names the same field ({named}) as column {columns[named]!r}"))
            continue
        positions[named] = index
        columns[named] = text
    for field in required:
        if field not in positions:
            spelled = ", ".join(dict.fromkeys([field, *aliases.get(field, ())][:4]))
            problems.append((field, f"required column is missing (header such as: {spelled})"))
    if problems:
        raise ValidationError.single(
            f"{source}:1", "; ".join(f"{c}: {r}" for c, r in problems), "bad header row"
        )
    return Layout(
        fields=tuple(fields),
        columns=tuple(columns.get(f) for f in fields),
        positions=tuple(positions.get(f) for f in fields),
        ignored=tuple(ignored),
    )


def clean(value: Any) -> str | None:
    """A cell as text: stripped, ``None`` when blank; numbers and dates from spreadsheets too.

    ``13800138000.0`` (a phone a spreadsheet stored as a number) -> ``"13800138000"``;
    a date or datetime -> its ISO date.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


@attrs.define
class Table:
    """An open file: its header, and its rows as ``(row number, cells | BadRow)``.

    Iterate :attr:`rows` once; :meth:`close` releases the file even when the
    rows were never read.
    """

    header: list[Any]
    rows: Iterator[tuple[int, list[Any] | BadRow]]
    format: str
    encoding: str | None = None
    checked: bool = False
    """The whole file was found to decode in :attr:`encoding` (no bad bytes to look for)."""
    keyed: bool = False
    """Rows come as mappings (a plugin's importer) turned into cells in header order."""
    _close: Any = None
    column_batches: Callable[[int], Iterator[CellColumns]] | None = None
    """The same rows as :attr:`rows`, a batch of at most so many at a time, a column at a
    time (CSV); read one or the other, once."""

    def close(self) -> None:
        """Close the file (and a half-read stream)."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        if self._close is not None:
            self._close()


def _csv_rows(
    records: Iterator[tuple[int, list[str] | BadRecord]],
    expected: int,
    checked: bool,
    encoding: str,
) -> Iterator[tuple[int, list[Any] | BadRow]]:
    """Rows after the header, by the line each starts on as an editor counts lines; bad rows
    as :class:`BadRow`.

    The register has no multi-line field: a row that runs over a line end
    is refused, and after an unbalanced quote the lines it would have
    swallowed are read as rows of their own
    (:func:`~gridguard.importers.text.csv_records`). Blank lines count but
    give no row.
    """
    for number, cells in records:
        if isinstance(cells, BadRecord):
            yield number, BadRow(cells.reason)
            continue
        if not cells:
            continue
        if not checked:
            try:
                "".join(cells).encode("utf-8")
            except UnicodeEncodeError:
                yield (
                    number,
                    BadRow(
                        f"bytes that are not {encoding} text, the encoding found for this file "
                        "(wrong encoding?)"
                    ),
                )
                continue
        if len(cells) != expected:
            if len(cells) < expected:
                reason = f"has {len(cells)} cells, the header {expected}: is the file truncated?"
            else:
                reason = f"has {len(cells)} cells, the header only {expected}"
            if len(cells) > expected and not any(c.strip() for c in cells[expected:]):
                yield number, cells[:expected]
                continue
            yield number, BadRow(reason)
            continue
        yield number, cells


@attrs.frozen
class CellColumns:
    """A batch of a CSV file's rows a column at a time: row ``i`` starts on line
    ``numbers[i]`` and its cell ``c`` is ``columns[c][i]``, as read (not stripped); ``bad``
    the batch's rows that are not rows of the header's width, as :class:`BadRow`."""

    numbers: list[int]
    columns: list[list[str]]
    bad: list[tuple[int, BadRow]]

    @property
    def read(self) -> int:
        """Rows read, bad rows included (blank lines are no rows)."""
        return len(self.numbers) + len(self.bad)


def _column_batches(
    chunks: Iterator[PlainLines | tuple[int, list[str] | BadRecord]],
    width: int,
    checked: bool,
    encoding: str,
    size: int,
) -> Iterator[CellColumns]:
    """:func:`_csv_rows`'s rows, ``size`` at a time, as columns.

    A run of plain lines that all have the header's width and decode is
    split in one go: joined, its line ends made commas, split once, and each
    column sliced out of the cells. Any other run, and every record that
    needed :mod:`csv`, goes through :func:`_csv_rows` row by row, so a row is
    refused in the same words either way.
    """
    numbers: list[int] = []
    columns: list[list[str]] = [[] for _ in range(width)]
    bad: list[tuple[int, BadRow]] = []
    commas = width - 1

    def take() -> CellColumns:
        nonlocal numbers, columns, bad
        batch = CellColumns(numbers, columns, bad)
        numbers, columns, bad = [], [[] for _ in range(width)], []
        return batch

    def rows(items: Iterator[tuple[int, list[str] | BadRecord]]) -> None:
        for number, cells in _csv_rows(items, width, checked, encoding):
            if isinstance(cells, BadRow):
                bad.append((number, cells))
            else:
                numbers.append(number)
                for column, value in zip(columns, cells, strict=True):
                    column.append(value)

    for chunk in chunks:
        if not isinstance(chunk, PlainLines):
            rows(iter((chunk,)))
        else:
            lines = chunk.lines
            at = 0
            while at < len(lines):
                piece = lines[at : at + size - len(numbers) - len(bad)]
                first = chunk.first + at
                at += len(piece)
                text = "\n".join(piece)
                if (
                    "" not in piece
                    and (checked or not undecoded(text))
                    and set(map(str.count, piece, repeat(","))) == {commas}
                ):
                    cells = text.replace("\n", ",").split(",")
                    numbers.extend(range(first, first + len(piece)))
                    for c, column in enumerate(columns):
                        column.extend(cells[c::width])
                else:
                    rows((n, t.split(",") if t else []) for n, t in enumerate(piece, first))
                if len(numbers) + len(bad) >= size:
                    yield take()
        if len(numbers) + len(bad) >= size:
            yield take()
    if numbers or bad:
        yield take()


def open_csv(path: Path, encoding: str | None, checked: bool = False) -> Table:
    """Open a CSV file: ``encoding`` detected when ``None``; ``checked`` if known to decode."""

    if encoding is None:
        encoding, checked = detect_encoding(path)
    elif encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a BOM is never part of the first header
    try:
        handle = open(path, encoding=encoding, errors="surrogateescape", newline="")  # noqa: SIM115
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None
    records = csv_chunks(handle)
    first: Any = next(records, None)
    if first is None:
        handle.close()
        raise ValidationError.single(path.name, "empty file", "no header row")
    header = first[1]
    if isinstance(header, BadRecord):
        handle.close()
        raise ValidationError.single(f"{path.name}:{first[0]}", header.reason, "bad header row")
    if not checked and any("\udc80" <= c <= "\udcff" for cell in header for c in cell):
        handle.close()
        raise ValidationError.single(
            f"{path.name}:1", encoding, "the header is not text in this encoding (wrong encoding?)"
        )
    width = len(header)
    name = encoding

    def rows() -> Iterator[tuple[int, list[Any] | BadRow]]:
        with handle:
            yield from _csv_rows(one_by_one(records), width, checked, name)

    def column_batches(size: int) -> Iterator[CellColumns]:
        with handle:
            yield from _column_batches(records, width, checked, name, size)

    return Table(
        header=header,
        rows=rows(),
        format="csv",
        encoding=encoding,
        checked=checked,
        close=handle.close,
        column_batches=column_batches,
    )


def _keyed_rows(importer: Any, path: Path) -> Iterator[tuple[int, Any]]:
    """An importer's rows; from the builtin JSON-lines importer, a bad line as its error."""
    from ..builtins.formats import JsonLinesImporter, json_lines

    if type(importer) is JsonLinesImporter:
        return json_lines(path)
    return iter(importer.read(path))


def _open_keyed(ws: Workspace, path: Path, fmt: str) -> Table:
    importer = ws.registries.importers.get(fmt)()
    stream = _keyed_rows(importer, path)
    early: list[tuple[int, BadRow]] = []  # bad lines before the first row
    first = next(stream, None)
    while first is not None and isinstance(first[1], ValidationError):
        early.append((first[0], BadRow(first[1].violations[0].rule)))
        first = next(stream, None)
    if first is None:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        raise ValidationError.single(path.name, "no rows", "the file holds no data rows")
    header = list(first[1])

    def rows() -> Iterator[tuple[int, list[Any] | BadRow]]:
        yield from early
        number, row = first
        yield number, [row.get(k) for k in header]
        for number, row in stream:
            if isinstance(row, ValidationError):
                yield number, BadRow(row.violations[0].rule)
                continue
            extra = [k for k in row if k not in header and clean(row[k]) is not None]
            if extra:
                yield number, BadRow(f"has columns the first row has not: {', '.join(extra)}")
                continue
            yield number, [row.get(k) for k in header]

    return Table(
        header=header, rows=rows(), format=fmt, keyed=True, close=getattr(stream, "close", None)
    )


def format_for(ws: Workspace, path: Path, fmt: str | None) -> str:
    """The importer format for ``path``: given, or the one whose suffix the file has."""
    if fmt is not None:
        ws.registries.importers.get(fmt)  # an unknown name lists the known ones
        return fmt
    suffix = path.suffix.lower()
    for name in ws.registries.importers.names():
        if suffix in ws.registries.importers.get(name)().suffixes:
            return name
    known = ", ".join(ws.registries.importers.names())
    raise ConfigError(
        f"no importer reads {path.name!r} (known formats: {known}); "
        "give one with --format, or install a plugin such as gridguard-xlsx"
    )


def open_table(ws: Workspace, path: Path, fmt: str | None, encoding: str | None) -> Table:
    """Open ``path`` as a table, CSV directly and other formats through their importer."""
    if not path.is_file():
        raise ConfigError(f"no such file: {str(path)!r}")
    name = format_for(ws, path, fmt)
    if name == "csv":
        return open_csv(path, encoding)
    return _open_keyed(ws, path, name)
