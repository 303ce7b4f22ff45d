"""Builtin plugin: plain formats every installation has.

* reporter ``json``: a report as indented UTF-8 JSON;
* reporters ``text`` (plain text tables for the terminal) and ``csv`` (one UTF-8 CSV
  with BOM, safe against formula injection): see :mod:`gridguard.report`;
* importer ``jsonl``: one JSON object per line;
* importer ``csv``: a CSV file with a header row (UTF-8 with or without BOM, UTF-16 with
  BOM, GBK/GB18030: detected, see :func:`detect_encoding`, or given);
* notifier ``console``: prints each message to standard error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ConfigError, ValidationError
from ..hookspecs import ImporterFactory, NotifierFactory, ReporterFactory, hookimpl
from ..importers.text import BadRecord, csv_records, json_records, undecoded
from ..notify.base import Message, PermanentFailure
from ..notify.markup import escape

if TYPE_CHECKING:
    from ..report.document import Report


class JsonReporter:
    """Renders a report as indented UTF-8 JSON, labels in the chosen language."""

    media_type = "application/json"
    suffix = ".json"

    def render(self, report: Report, *, lang: str = "en") -> str:
        return json.dumps(report.to_dict(lang), ensure_ascii=False, indent=2, default=str)


class JsonLinesImporter:
    """Reads one JSON object per line; blank lines are skipped."""

    suffixes: tuple[str, ...] = (".jsonl", ".ndjson")

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in json_lines(path):
            if isinstance(row, ValidationError):
                raise row.prefixed(f"{path.name}:{number}") from None
            yield number, row


def json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | ValidationError]]:
    """The objects of a JSON-lines file; a bad line is its own error, not the end of the file.

    Blank lines are skipped; the error of a bad line (not JSON, not an
    object, bytes that are not UTF-8, too long or too deeply nested: see
    :mod:`gridguard.importers.text`) has the path ``$``.
    """
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, row in json_records(handle):
            if isinstance(row, BadRecord):
                yield number, ValidationError.single("$", row.value, row.reason)
            elif isinstance(row, dict):
                yield number, row
            else:
                yield (
                    number,
                    ValidationError.single(
                        "$", type(row).__name__, "each line must be a JSON object"
                    ),
                )


_DETECT_CHUNK = 1 << 20


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes strictly as ``encoding`` (read in 1 MiB chunks)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_DETECT_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> tuple[str, bool]:
    """The text encoding of a CSV file, and whether the whole file decodes with it.

    A byte-order mark decides (UTF-8 or UTF-16). Otherwise the file is tried
    whole, strictly, as UTF-8 and then as GB18030 (a superset of GBK and
    GB2312, what Chinese Excel saves as "CSV"); the first that decodes every
    byte wins. When neither does, the one with fewer undecodable bytes wins
    (a GBK register with one stray byte is still GBK), with ``False``: the
    rows with undecodable bytes can then be reported one by one, naming that
    encoding. Latin-1 and other single-byte files often decode as GB18030
    too, and are not told apart: give their encoding explicitly.
    """
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", _decodes(path, "utf-8-sig")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", _decodes(path, "utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        if _decodes(path, encoding):
            return encoding, True
    if _undecodable(path, "gb18030") < _undecodable(path, "utf-8-sig"):
        return "gb18030", False
    return "utf-8-sig", False


def _undecodable(path: Path, encoding: str) -> int:
    """How many bytes of ``path`` do not decode as ``encoding`` (read in 1 MiB chunks)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    bad = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_DETECT_CHUNK):
            text = decoder.decode(chunk)
            bad += sum(1 for c in text if "\udc80" <= c <= "\udcff")
        text = decoder.decode(b"", final=True)
        bad += sum(1 for c in text if "\udc80" <= c <= "\udcff")
    return bad


class CsvImporter:
    """Reads a CSV file with a header row; rows are numbered as a spreadsheet shows them.

    ``encoding`` (``utf-8``, ``gbk``, ``gb18030``...) is detected when not
    given (:func:`detect_encoding`); bytes that do not decode come through as
    lone surrogates (``surrogateescape``), so a reader can report their rows.
    A cell may span lines only in a :attr:`multiline` column; any other
    record that runs over a line end (an unbalanced quote), a line or cell
    over the limits of :mod:`gridguard.importers.text`, or a row with more
    cells than the header, is an error of its line (see :func:`csv_rows`).
    """

    suffixes: tuple[str, ...] = (".csv",)
    multiline: tuple[str, ...] = ("note", "anomaly_note")
    """Columns whose cells may hold line breaks: gridguard's multi-line fields are notes."""

    def __init__(self, encoding: str | None = None) -> None:
        self.encoding = encoding

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each row as ``{header: cell}``; the first bad row raises, prefixed ``name:line``."""
        for number, row in self.rows(path):
            if isinstance(row, ValidationError):
                raise row.prefixed(f"{path.name}:{number}") from None
            yield number, row

    def rows(self, path: Path) -> Iterator[tuple[int, dict[str, Any] | ValidationError]]:
        """Each row as ``{header: cell}``, or the error of a row that could not be read.

        Rows are numbered by the line they start on, as an editor counts
        lines (a quoted note may span lines; blank lines count but give no
        row). A short row has ``None`` for its missing cells (as
        :class:`csv.DictReader`).
        """
        encoding, checked = (self.encoding, False) if self.encoding else detect_encoding(path)
        with open(path, encoding=encoding, errors="surrogateescape", newline="") as handle:
            records = csv_records(handle, multiline=self.multiline)
            header: list[str] | None = None
            for number, cells in records:
                if isinstance(cells, list) and not cells:
                    continue
                if header is None:
                    if isinstance(cells, BadRecord):
                        raise ValidationError.single("line 1", cells.value, cells.reason)
                    header = cells
                    continue
                if isinstance(cells, BadRecord):
                    yield number, ValidationError.single("$", cells.value, cells.reason)
                    continue
                assert header is not None
                if not checked and any(map(undecoded, cells)):
                    yield (
                        number,
                        ValidationError.single(
                            "$", encoding, "bytes that are not text in this encoding"
                        ),
                    )
                    continue
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                    yield (
                        number,
                        ValidationError.single(
                            "$",
                            f"{len(cells)} cells",
                            f"more cells than the header's {len(header)}",
                        ),
                    )
                    continue
                padded = [*cells[: len(header)], *[None] * (len(header) - len(cells))]
                yield number, dict(zip(header, padded, strict=True))


class ConsoleNotifier:
    """Writes each message to a stream (standard error by default).

    ``stream`` is ``"stderr"``, ``"stdout"`` or a text stream. A stream that
    cannot encode the message (a console without Chinese) refuses it for
    good; any other write error is worth a retry.
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        extra = sorted(set(settings) - {"stream"})
        if extra:
            raise ConfigError(f"{extra[0]}: unknown setting (known: stream)")
        stream = settings.get("stream", sys.stderr)
        if stream in ("stderr", "stdout"):
            stream = getattr(sys, stream)
        if not callable(getattr(stream, "write", None)):
            raise ConfigError(f"stream: must be stderr, stdout or a text stream (got {stream!r})")
        self.stream: TextIO = stream

    def send(self, message: Message) -> None:
        """Print ``[recipient] subject: body``, bidirectional controls shown as ``U+FFFD``."""
        try:
            print(
                escape(f"[{message.recipient}] {message.subject}: {message.body}"),
                file=self.stream,
                flush=True,  # shown, or failed, before the dispatcher records it sent
            )
        except UnicodeEncodeError as exc:
            raise PermanentFailure(
                f"the console cannot show this message ({exc.encoding}: {exc.reason})"
            ) from exc


@hookimpl
def register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    from ..report.csv_reporter import CsvReporter
    from ..report.text_reporter import TextReporter

    register("json", JsonReporter)
    register("text", TextReporter)
    register("csv", CsvReporter)


@hookimpl
def register_importers(register: Callable[[str, ImporterFactory], None]) -> None:
    register("jsonl", JsonLinesImporter)
    register("csv", CsvImporter)


@hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    register("console", ConsoleNotifier)
