"""Reading a text file record by record, so that one bad record cannot hide the ones after it.

CSV and JSON-lines files from the field are written by hand, by
spreadsheets and by phone apps; some are cut short or carry a stray quote.
The readers here turn every such fault into an error for that one record,
with the line it starts on, and go on with the next line:

* a quote that opens a cell and is not closed on the same line would
  otherwise swallow the following lines into that cell. A record may span
  lines only where the format has a multi-line field (a visit's ``note``),
  and even then not when a following line is a whole record of its own:
  otherwise the record is refused as an *unbalanced quote* and reading
  resumes on its next line;
* a line longer than :data:`MAX_LINE_CHARS`, a record longer than
  :data:`MAX_RECORD_CHARS` and a JSON value nested deeper than
  :data:`MAX_JSON_DEPTH` are refused (never a ``csv.Error`` or a
  ``RecursionError`` for the whole file), and are never held in memory whole;
* bytes that do not decode are the error of their line (open the file with
  ``errors="surrogateescape"``).

The limits are far above anything a real record needs (a name or address
is at most 200 characters, a note 4,000) and are listed in the security
guide (docs/security.md, "Limits").
"""

from __future__ import annotations

import csv
import json
import re
from collections import deque
from collections.abc import Collection, Iterator
from typing import Any, TextIO

import attrs

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_LINE_CHARS",
    "MAX_RECORD_CHARS",
    "BadRecord",
    "PlainLines",
    "csv_chunks",
    "csv_records",
    "json_records",
    "one_by_one",
    "undecoded",
]

MAX_LINE_CHARS = 65_536
"""Longest line of an imported text file, in characters (64 Ki); a longer line is refused."""
MAX_RECORD_CHARS = 131_072
"""Longest CSV record, in characters (128 Ki), over all its lines; a longer one is refused."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects in one JSON line (a visit needs 4)."""

_CUT = MAX_LINE_CHARS + 2  # room for "\r\n": a longer read without a line end was cut short
_SKIP = 1 << 16
_BLOCK_CHARS = 1 << 20
"""Characters read ahead at a time once a CSV file's header is known (about 1 MiB)."""
_NOT_PLAIN = re.compile('["\x00]|\r(?!\n)')
"""What a CSV line needs :mod:`csv` for: a quote, a NUL, a carriage return not ending it."""
_STRAY_CR = re.compile("\r(?!\n)")
_LINE_END = re.compile("\r\n|\r|\n")


def _not_plain(text: str, at: int) -> int:
    """Where :data:`_NOT_PLAIN` first matches in ``text`` from ``at``, or -1: found with
    ``str.find`` and ``str.count``, which scan a megabyte many times faster than the
    expression's alternation does."""
    stop = len(text)
    for char in ('"', "\x00"):
        found = text.find(char, at, stop)
        if found >= 0:
            stop = found
    if text.count("\r", at, stop) != text.count("\r\n", at, stop):
        stray = _STRAY_CR.search(text, at, stop)
        if stray is not None:
            stop = stray.start()
    return stop if stop < len(text) else -1


_UNDECODED = re.compile("[\udc80-\udcff]")
"""A byte that did not decode, as ``surrogateescape`` reads it."""


@attrs.frozen
class BadRecord:
    """A record that could not be read: the line it starts on and why, in one sentence."""

    line: int
    reason: str
    value: str = ""
    """What of the record is shown with the reason (a column number), if anything."""


def _unbalanced(line: int, lines: int) -> BadRecord:
    return BadRecord(
        line,
        f"unbalanced quote: a quoted cell opened on line {line} is not closed on it "
        f"(it would run over {lines} lines); the record is refused and the next line read",
    )


def _too_long(line: int) -> BadRecord:
    return BadRecord(line, f"line {line} is longer than {MAX_LINE_CHARS:,} characters")


class _LineTooLong(Exception):
    """Raised by :class:`_Lines` in place of a line that is too long (its rest is skipped)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _RecordTooLong(Exception):
    """Raised by :class:`_Lines` when the record being read has grown past its limit."""


class _Lines:
    """The physical lines of a file, numbered and bounded; the lines of the current record kept.

    ``pending`` lines are served before new ones: the lines of a refused
    record after its first go back there to be read again.
    """

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.read = 0
        self.kept: list[tuple[int, str | None]] = []
        self.kept_chars = 0
        self.pending: deque[tuple[int, str | None]] = deque()
        self.buffer = ""
        """A block of the file read ahead (whole lines), served from :attr:`at` on."""
        self.at = 0
        self.cut_tail = False
        """The buffer ends in the start of a line too long, whose rest was skipped."""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pending:
            number, text = self.pending.popleft()
            if text is None:  # a line too long, met again after a refused record
                raise _LineTooLong(number)
        else:
            number, text = self._read()
        kept = self.kept
        kept.append((number, text))
        if len(kept) > 1:  # a record over several lines: bounded
            self.kept_chars += len(text)
            if self.kept_chars > MAX_RECORD_CHARS:
                raise _RecordTooLong
        else:
            self.kept_chars = len(text)
        return text

    def _read(self) -> tuple[int, str]:
        if self.at < len(self.buffer):
            return self._from_buffer()
        text = self.handle.readline(_CUT)
        if not text:
            raise StopIteration
        self.read += 1
        if len(text) > MAX_LINE_CHARS:
            if len(text) == _CUT and not text.endswith("\n"):
                while (rest := self.handle.readline(_SKIP)) and not rest.endswith("\n"):
                    pass  # skip the rest of the line without holding it
                raise _LineTooLong(self.read)
            if len(text.rstrip("\r\n")) > MAX_LINE_CHARS:
                raise _LineTooLong(self.read)
        return self.read, text

    def _from_buffer(self) -> tuple[int, str]:
        buffer, at = self.buffer, self.at
        found = _LINE_END.search(buffer, at)  # as readline() splits with newline=""
        if found is not None:
            end = found.end()
        else:  # the buffer's last line: the file's, or one cut short
            end = len(buffer)
            if self.cut_tail:
                self.at = end
                self.read += 1
                raise _LineTooLong(self.read)
        text = buffer[at:end]
        self.at = end
        self.read += 1
        if len(text) > MAX_LINE_CHARS and len(text.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise _LineTooLong(self.read)
        return self.read, text

    def _fill(self) -> bool:
        """Read the next block of whole lines into the buffer; ``False`` at the end."""
        text = self.handle.read(_BLOCK_CHARS)
        self.cut_tail = False
        if text and not text.endswith("\n"):
            rest = self.handle.readline(_CUT)
            if len(rest) == _CUT and not rest.endswith("\n"):
                self.cut_tail = True
                while (more := self.handle.readline(_SKIP)) and not more.endswith("\n"):
                    pass  # skip the rest of the line without holding it
            text += rest
        self.buffer, self.at = text, 0
        return bool(text)

    def plain(self) -> list[str] | None:
        """The next lines that a plain split reads as :mod:`csv` does, without their ends.

        That is, lines without a quote, a NUL or a carriage return but before
        the line feed, none too long; an empty list when the next line is not
        one (read it with :mod:`csv`), ``None`` at the end of the file.
        """
        if self.at >= len(self.buffer) and not self._fill():
            return None
        buffer, at = self.buffer, self.at
        stop = _not_plain(buffer, at)
        if stop >= 0:
            end = buffer.rfind("\n", at, stop) + 1
        elif self.cut_tail:
            end = buffer.rfind("\n", at) + 1
        else:
            end = len(buffer)
        if end <= at:
            return []
        text = buffer[at:end]
        if "\r" in text:  # each before a line feed: a stray one is not plain
            text = text.replace("\r\n", "\n")
        parts = text.split("\n")
        if not parts[-1]:
            parts.pop()
        if max(map(len, parts)) > MAX_LINE_CHARS:
            long = next(i for i, p in enumerate(parts) if len(p) > MAX_LINE_CHARS)
            parts = parts[:long]
            end = at
            for _ in parts:
                end = buffer.index("\n", end) + 1
        self.at = end
        self.read += len(parts)
        return parts

    def start(self) -> None:
        """A new record begins."""
        self.kept.clear()

    def again(self, lines: list[tuple[int, str | None]]) -> None:
        """Read ``lines`` again before anything else."""
        self.pending.extendleft(reversed(lines))

    def first(self) -> int:
        """The line the current record starts on."""
        return self.kept[0][0] if self.kept else self.read


def undecoded(text: str) -> bool:
    """Whether ``text`` holds a byte that did not decode (read with ``surrogateescape``)."""
    return _UNDECODED.search(text) is not None


def _whole_record(text: str, width: int) -> bool:
    """Whether one line, on its own, is a record of ``width`` cells."""
    try:
        return len(next(csv.reader([text], strict=True), [])) == width
    except csv.Error:
        return False


@attrs.frozen
class PlainLines:
    """Lines of a CSV file that a plain split on ``,`` reads as ``csv`` does (no quote,
    NUL or stray carriage return), without their ends; ``first`` is the line number of
    the first. Blank lines are among them, as empty texts."""

    first: int
    lines: list[str]


def csv_records(
    handle: TextIO, *, multiline: Collection[str] = ()
) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """The records of a CSV file (the header first), each with the line it starts on.

    What :func:`csv_chunks` reads, with its plain lines split one record each.
    """
    return one_by_one(csv_chunks(handle, multiline=multiline))


def one_by_one(
    chunks: Iterator[PlainLines | tuple[int, list[str] | BadRecord]],
) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """The records of :func:`csv_chunks`, its plain lines split one record each."""
    for chunk in chunks:
        if isinstance(chunk, PlainLines):
            for number, text in enumerate(chunk.lines, chunk.first):
                yield number, text.split(",") if text else []
        else:
            yield chunk


def csv_chunks(
    handle: TextIO, *, multiline: Collection[str] = ()
) -> Iterator[PlainLines | tuple[int, list[str] | BadRecord]]:
    """The records of a CSV file (the header first), each with the line it starts on, and
    after the header, runs of plain lines as :class:`PlainLines`, to split as a reader
    needs them (a block of lines at a time, or a column at a time).

    ``handle`` is opened with ``newline=""``. A record that runs over a line
    end without the header's width, or whose later lines are whole records
    on their own, is an unbalanced quote: a :class:`BadRecord`, and reading
    goes on with the line after the one it starts on. A well-formed record
    with a line break in a cell that is not in a ``multiline`` column (named
    by the header) is one :class:`BadRecord`, its lines not read again.
    Blank lines come as empty lists.
    """
    lines = _Lines(handle)
    reader = csv.reader(lines, strict=True)
    width: int | None = None
    header: list[str] = []
    allowed: set[int] = set()
    kept = lines.kept  # the lines of the record being read: one, mostly
    while True:
        kept.clear()
        if width is not None and not lines.pending:
            # Between records, with nothing to read again: plain lines a block at a time.
            plain = lines.plain()
            if plain:
                yield PlainLines(lines.read - len(plain) + 1, plain)
                continue
        try:
            cells = next(reader)
        except StopIteration:
            if len(lines.kept) > 1:  # a quote left open at the end of the file
                yield lines.first(), _unbalanced(lines.first(), len(lines.kept))
                lines.again(lines.kept[1:])
                continue
            return
        except _LineTooLong as exc:
            if lines.kept:  # a record in progress runs into the long line
                yield lines.first(), _unbalanced(lines.first(), len(lines.kept) + 1)
                lines.again([*lines.kept[1:], (exc.line, None)])
                continue
            yield exc.line, _too_long(exc.line)
            continue
        except _RecordTooLong:
            first = lines.first()
            yield (
                first,
                BadRecord(
                    first,
                    f"unbalanced quote, or a record longer than {MAX_RECORD_CHARS:,} characters: "
                    f"a quoted cell opened on line {first} is not closed on it",
                ),
            )
            lines.again(lines.kept[1:])
            continue
        except csv.Error as exc:
            first = lines.first()
            if len(lines.kept) > 1:
                yield first, _unbalanced(first, len(lines.kept))
                lines.again(lines.kept[1:])
            else:
                yield first, BadRecord(first, f"malformed CSV ({exc}); is the file truncated?")
            continue
        first = kept[0][0] if kept else lines.read
        if len(kept) > 1:
            if (
                width is None
                or len(cells) != width
                or any(t is not None and _whole_record(t, width) for _, t in lines.kept[1:])
            ):
                yield first, _unbalanced(first, len(lines.kept))
                lines.again(lines.kept[1:])
                continue
            broken = [i for i, c in enumerate(cells) if ("\n" in c or "\r" in c)]
            if any(i not in allowed for i in broken):
                yield (
                    first,
                    BadRecord(
                        first,
                        f"a cell holds a line break (the record runs from line {first} to line "
                        f"{lines.kept[-1][0]}), which this column cannot hold",
                        header[broken[0]] if header else "",
                    ),
                )
                continue
        if width is None and cells:
            width = len(cells)
            header = cells
            allowed = {i for i, name in enumerate(cells) if name.strip() in multiline}
        yield first, cells


def _depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text (brackets inside strings not counted)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than the limit: not worth the scan
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_records(handle: TextIO) -> Iterator[tuple[int, Any | BadRecord]]:
    """The JSON value of each non-blank line, or why the line is not one.

    ``handle`` is opened with ``errors="surrogateescape"``, so that a line
    with bytes that do not decode is refused on its own.
    """
    lines = _Lines(handle)
    while True:
        lines.start()
        try:
            text = next(lines)
        except StopIteration:
            return
        except _LineTooLong as exc:
            yield exc.line, _too_long(exc.line)
            continue
        number = lines.read
        if not text.strip():
            continue
        if _UNDECODED.search(text):
            yield number, BadRecord(number, "bytes that are not UTF-8 text (wrong encoding?)")
            continue
        if _depth(text) > MAX_JSON_DEPTH:
            yield (
                number,
                BadRecord(number, f"arrays and objects nested deeper than {MAX_JSON_DEPTH} levels"),
            )
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, BadRecord(number, "not valid JSON", f"column {exc.colno}")
        except RecursionError:  # pragma: no cover - the depth check comes first
            yield number, BadRecord(number, "nested too deep")
