"""Builtin plugin: plain formats every installation has.

* reporter ``json``: a report as indented UTF-8 JSON;
* importer ``jsonl``: one JSON object per line;
* importer ``csv``: a CSV file with a header row (UTF-8, with or without BOM);
* notifier ``console``: prints each message to standard error.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from ..errors import ValidationError
from ..hookspecs import ImporterFactory, NotifierFactory, ReporterFactory, hookimpl
from ..notify.base import Message


class JsonReporter:
    """Renders report data as indented JSON; labels are the data's own keys."""

    media_type = "application/json"

    def render(self, report: Mapping[str, Any], *, lang: str = "en") -> str:
        return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False, default=str)


class JsonLinesImporter:
    """Reads one JSON object per line; blank lines are skipped."""

    suffixes: tuple[str, ...] = (".jsonl", ".ndjson")

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        with open(path, encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValidationError.single(
                        f"{path.name}:{number}", f"column {exc.colno}", "not valid JSON"
                    ) from None
                if not isinstance(row, dict):
                    raise ValidationError.single(
                        f"{path.name}:{number}",
                        type(row).__name__,
                        "each line must be a JSON object",
                    )
                yield number, row


class CsvImporter:
    """Reads a UTF-8 CSV file with a header row; row numbers count the header as row 1."""

    suffixes: tuple[str, ...] = (".csv",)

    def read(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for number, row in enumerate(reader, start=2):
                yield number, {k: v for k, v in row.items() if k is not None}


class ConsoleNotifier:
    """Writes each message to a stream (standard error by default)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.stream: TextIO = settings.get("stream", sys.stderr)

    def send(self, message: Message) -> None:
        print(f"[{message.recipient}] {message.subject}: {message.body}", file=self.stream)


@hookimpl
def register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    register("json", JsonReporter)


@hookimpl
def register_importers(register: Callable[[str, ImporterFactory], None]) -> None:
    register("jsonl", JsonLinesImporter)
    register("csv", CsvImporter)


@hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    register("console", ConsoleNotifier)
