"""Builtin plugin: notification channels every installation has.

* notifier ``jsonl``: appends each message as one JSON object per line to a
  file, once per message id (it skips ids the file already holds, so a
  re-delivery after a crash is not written twice);
* notifier ``log``: hands each message to a :mod:`logging` logger.

The ``console`` notifier lives with the plain formats in
:mod:`gridguard.builtins.formats`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..hookspecs import NotifierFactory, hookimpl
from ..masking import mask_phone
from ..notify.base import Message, PermanentFailure
from ..notify.markup import escape

__all__ = ["JsonLinesNotifier", "LogNotifier"]


def _bool(settings: Mapping[str, Any], name: str, default: bool) -> bool:
    value = settings.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: must be true or false (got {value!r})")
    return value


def _unknown(settings: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(settings) - known - {"type"})
    if extra:
        raise ConfigError(f"{extra[0]}: unknown setting (known: {', '.join(sorted(known))})")


def _masked(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the mobile number to @-mention masked: a file is no place for it."""
    out = dict(data)
    mention = out.get("mention")
    if isinstance(mention, str):
        out["mention"] = mask_phone(mention, national=True)
    return out


class JsonLinesNotifier:
    """Appends messages to a JSON-lines file: one object per line, one line per message id.

    Settings: ``path`` (required; its folder must exist), ``fsync`` (force
    each line to disk, default false).
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        _unknown(settings, {"path", "fsync"})
        path = settings.get("path")
        if not isinstance(path, str | os.PathLike) or not str(path).strip():
            raise ConfigError("path: required, the file to append messages to")
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(f"path: folder {str(self.path.parent)!r} does not exist")
        if self.path.is_dir():
            raise ConfigError(f"path: {str(self.path)!r} is a folder, not a file")
        self.fsync = _bool(settings, "fsync", False)
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._torn = False
        if self.path.exists():
            with open(self.path, "rb") as raw:
                size = raw.seek(0, os.SEEK_END)
                if size:
                    raw.seek(size - 1)
                    self._torn = raw.read(1) != b"\n"
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        self._seen.add(str(json.loads(line)["id"]))
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line from a crash: its message comes again

    def send(self, message: Message) -> None:
        key = str(message.id)
        record = {
            "id": key,
            "at": message.at.isoformat(),
            "delivered_at": dt.datetime.now(dt.UTC).isoformat(),
            "channel": message.channel,
            "recipient": message.recipient,
            "topic": message.topic,
            "subject": message.subject,
            "body": message.body,
            "data": _masked(message.data),
        }
        try:
            line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no retry will ever write it
            raise PermanentFailure(f"the message is not valid UTF-8 text: {exc.reason}") from exc
        with self._lock:
            if key in self._seen:
                return
            try:
                handle = open(self.path, "ab")  # noqa: SIM115 - closed below
            except IsADirectoryError as exc:  # the file was replaced by a folder: refuse for good
                raise PermanentFailure(f"path: {str(self.path)!r} is a folder, not a file") from exc
            with handle:
                if self._torn:  # end the line a crash left unfinished; it is skipped on reading
                    handle.write(b"\n")
                    self._torn = False
                handle.write(line)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            self._seen.add(key)


class LogNotifier:
    """Hands messages to a :mod:`logging` logger (``logger``, default ``gridguard.notify``).

    ``level`` is a logging level name (default ``INFO``). The message id
    travels as the record's ``idempotency_key`` attribute.
    """

    def __init__(self, settings: Mapping[str, Any]) -> None:
        _unknown(settings, {"logger", "level"})
        name = settings.get("logger", "gridguard.notify")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"logger: must be a logger name (got {name!r})")
        level = settings.get("level", "INFO")
        import logging  # here, so that loading the plugin manager does not import logging

        number = logging.getLevelName(level) if isinstance(level, str) else None
        if not isinstance(number, int):
            raise ConfigError(f"level: must be a logging level such as INFO (got {level!r})")
        self.logger = logging.getLogger(name)
        self.level = number

    def send(self, message: Message) -> None:
        """Log ``message``; a handler that raises fails the delivery.

        The standard handlers report their own errors and carry on; a handler
        that raises (one that forwards to another system) makes the send
        fail, worth a retry, except a value error such as text its target
        cannot encode, which no retry mends: that is a refusal.
        """
        try:
            self._log(message)
        except ValueError as exc:
            raise PermanentFailure(f"the log refused the message: {exc}") from exc

    def _log(self, message: Message) -> None:
        self.logger.log(
            self.level,
            "[%s] %s: %s",
            escape(message.recipient),  # bidirectional controls shown as U+FFFD
            escape(message.subject),
            escape(message.body),
            extra={"idempotency_key": str(message.id), "topic": message.topic},
        )


@hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    register("jsonl", JsonLinesNotifier)
    register("log", LogNotifier)
