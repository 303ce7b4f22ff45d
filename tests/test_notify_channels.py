"""The builtin channels pass the notifier contract; channels are checked when they are built."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gridguard import ConfigError
from gridguard.builtins.formats import ConsoleNotifier
from gridguard.builtins.notifiers import JsonLinesNotifier, LogNotifier
from gridguard.notifications.service import build_channel
from gridguard.notify import Message, PermanentFailure
from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.testing import NotifierContract

REGISTRIES = collect_registries(get_plugin_manager(entry_points=False))


class _Line:
    def __init__(self, record: dict[str, Any]) -> None:
        self.key = record["id"]
        self.text = f"{record['subject']}\n{record['body']}"


class TestJsonLinesContract(NotifierContract):
    @pytest.fixture
    def notifier(self, tmp_path: Path) -> JsonLinesNotifier:
        return JsonLinesNotifier({"path": str(tmp_path / "out.jsonl")})

    @pytest.fixture
    def received(self, tmp_path: Path) -> Callable[[], list[_Line]]:
        def read() -> list[_Line]:
            path = tmp_path / "out.jsonl"
            if not path.exists():
                return []
            return [_Line(json.loads(line)) for line in path.read_text("utf-8").splitlines()]

        return read

    @pytest.fixture
    def failing_notifier(self, tmp_path: Path) -> JsonLinesNotifier:
        folder = tmp_path / "gone"
        folder.mkdir()
        notifier = JsonLinesNotifier({"path": str(folder / "out.jsonl")})
        shutil.rmtree(folder)  # the disk went away after the channel was built
        return notifier

    @pytest.fixture
    def refusing_notifier(self, tmp_path: Path) -> JsonLinesNotifier:
        notifier = JsonLinesNotifier({"path": str(tmp_path / "taken.jsonl")})
        (tmp_path / "taken.jsonl").mkdir()  # a folder now stands where the file should go
        return notifier

    @pytest.fixture
    def bad_settings(self, tmp_path: Path) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (JsonLinesNotifier, {}, "path"),
            (JsonLinesNotifier, {"path": str(tmp_path / "missing" / "x.jsonl")}, "path"),
            (JsonLinesNotifier, {"path": str(tmp_path)}, "path"),
            (JsonLinesNotifier, {"path": str(tmp_path / "x"), "fsync": "yes"}, "fsync"),
            (JsonLinesNotifier, {"path": str(tmp_path / "x"), "rotate": True}, "rotate"),
        ]

    def test_a_resend_is_written_once(
        self, notifier: JsonLinesNotifier, received: Callable[[], list[_Line]], tmp_path: Path
    ) -> None:
        message = Message(recipient="r", subject="s", body="b")
        notifier.send(message)
        notifier.send(message)
        # A new process opening the same file knows what it already holds.
        JsonLinesNotifier({"path": str(tmp_path / "out.jsonl")}).send(message)
        assert [line.key for line in received()] == [str(message.id)]

    def test_text_that_is_not_utf8_is_refused_and_nothing_written(
        self, notifier: JsonLinesNotifier, received: Callable[[], list[_Line]]
    ) -> None:
        with pytest.raises(PermanentFailure, match="UTF-8"):
            notifier.send(Message(recipient="r", subject="s", body="broken \ud800 text"))
        assert received() == []
        notifier.send(Message(recipient="r", subject="s", body="fine"))
        assert len(received()) == 1

    def test_a_torn_last_line_does_not_stop_the_channel(self, tmp_path: Path) -> None:
        path = tmp_path / "out.jsonl"
        path.write_text('{"id": "a", "subject": "s", "body": "b"}\n{"id": "b", "sub', "utf-8")
        JsonLinesNotifier({"path": str(path)}).send(Message(recipient="r", subject="s", body="b"))
        assert len(path.read_text("utf-8").splitlines()) == 3


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _Raising(logging.Handler):
    """A handler that forwards records elsewhere and raises what that raises."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def emit(self, record: logging.LogRecord) -> None:
        raise self.error


class _AsciiOnly(logging.Handler):
    """A handler for a target that takes ASCII only (an old pager gateway)."""

    def emit(self, record: logging.LogRecord) -> None:
        record.getMessage().encode("ascii")


class _Logged:
    def __init__(self, record: logging.LogRecord) -> None:
        self.key = getattr(record, "idempotency_key", None)
        self.text = record.getMessage()


class TestLogContract(NotifierContract):
    @pytest.fixture
    def capture(self) -> Any:
        handler = _Capture()
        logger = logging.getLogger("gridguard.test.notify")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        yield handler
        logger.removeHandler(handler)

    @pytest.fixture
    def notifier(self, capture: _Capture) -> LogNotifier:
        return LogNotifier({"logger": "gridguard.test.notify", "level": "WARNING"})

    @pytest.fixture
    def received(self, capture: _Capture) -> Callable[[], list[_Logged]]:
        return lambda: [_Logged(r) for r in capture.records]

    def _with_handler(self, name: str, handler: logging.Handler) -> Any:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
        yield LogNotifier({"logger": name, "level": "WARNING"})
        logger.removeHandler(handler)

    @pytest.fixture
    def failing_notifier(self) -> Any:
        yield from self._with_handler("gridguard.test.busy", _Raising(ConnectionError("busy")))

    @pytest.fixture
    def refusing_notifier(self) -> Any:
        yield from self._with_handler("gridguard.test.ascii", _AsciiOnly())

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [(LogNotifier, {"level": "LOUD"}, "level"), (LogNotifier, {"logger": ""}, "logger")]


class _Printed:
    def __init__(self, line: str) -> None:
        self.key = None
        self.text = line


class TestConsoleContract(NotifierContract):
    carries_idempotency_key = False  # a console shows text; it has no place for a key

    @pytest.fixture
    def stream(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def notifier(self, stream: io.StringIO) -> ConsoleNotifier:
        return ConsoleNotifier({"stream": stream})

    @pytest.fixture
    def received(self, stream: io.StringIO) -> Callable[[], list[_Printed]]:
        return lambda: [_Printed(line) for line in stream.getvalue().splitlines()]

    @pytest.fixture
    def failing_notifier(self) -> Any:
        read, write = os.pipe()
        os.close(read)  # nobody reads the console any more: a broken pipe
        stream = open(write, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        yield ConsoleNotifier({"stream": stream})
        with contextlib.suppress(BrokenPipeError):
            stream.close()

    @pytest.fixture
    def refusing_notifier(self) -> ConsoleNotifier:
        return ConsoleNotifier({"stream": io.TextIOWrapper(io.BytesIO(), encoding="ascii")})

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (ConsoleNotifier, {"stream": "printer"}, "stream"),
            (ConsoleNotifier, {"stream": 3}, "stream"),
            (ConsoleNotifier, {"colour": True}, "colour"),
        ]


def test_the_builtins_register_the_file_and_log_channels() -> None:
    assert REGISTRIES.notifiers.entry("jsonl").plugin == "gridguard.builtins.notifiers"
    assert REGISTRIES.notifiers.entry("log").plugin == "gridguard.builtins.notifiers"
    assert REGISTRIES.notifiers.entry("console").plugin == "gridguard.builtins.formats"


@pytest.mark.parametrize(
    ("name", "settings", "error"),
    [
        ("sms", {}, r"channels\.sms\.type: no notifier called 'sms'"),
        ("f", {"type": "jsonl"}, r"channels\.f\.path: required"),
        ("f", {"type": 3}, r"channels\.f\.type: must be a notifier name"),
        ("f", "jsonl", r"channels\.f: must be a table of settings"),
    ],
)
def test_building_a_channel_names_the_bad_setting(name: str, settings: Any, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        build_channel(REGISTRIES, name, settings)


def test_a_channel_is_named_by_its_type_or_its_own_name(tmp_path: Path) -> None:
    assert isinstance(build_channel(REGISTRIES, "log", {}), LogNotifier)
    built = build_channel(REGISTRIES, "file", {"type": "jsonl", "path": str(tmp_path / "n")})
    assert isinstance(built, JsonLinesNotifier)
