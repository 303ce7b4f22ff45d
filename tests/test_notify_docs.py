"""The tutorial's notifier (docs/notifications.md) passes the contract suite as written there.

The chat robots' example (splitting and pacing) runs as written, too.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gridguard.testing import HttpReceiver, NotifierContract

DOC = Path(__file__).resolve().parent.parent / "docs" / "notifications.md"
_BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)
_PLUGIN = next(b for b in _BLOCKS if b.startswith('"""gridguard_ntfy'))
_LIMITS = next(b for b in _BLOCKS if "RobotPacer(limits)" in b)


def _load() -> types.ModuleType:
    module = types.ModuleType("gridguard_ntfy")
    exec(compile(_PLUGIN, str(DOC), "exec"), module.__dict__)
    sys.modules.setdefault("gridguard_ntfy", module)
    return module


NTFY = _load()


def test_the_chat_robots_example_runs_as_written() -> None:
    """Its asserts are the documented behaviour: numbered parts that fit, a paced robot."""
    namespace: dict[str, Any] = {}
    exec(compile(_LIMITS, str(DOC), "exec"), namespace)
    assert len(namespace["parts"]) == 3


def test_the_tutorial_plugin_is_about_thirty_lines() -> None:
    code = [line for line in _PLUGIN.splitlines() if line.strip()]
    assert len(code) <= 35


class TestTutorialNotifier(NotifierContract):
    @pytest.fixture
    def receiver(self) -> Iterator[HttpReceiver]:
        with HttpReceiver() as receiver:
            yield receiver

    @pytest.fixture
    def notifier(self, receiver: HttpReceiver) -> Any:
        return NTFY.NtfyNotifier({"url": receiver.url + "/t"})

    @pytest.fixture
    def received(self, receiver: HttpReceiver) -> Callable[[], Any]:
        return receiver.received

    @pytest.fixture
    def failing_notifier(self, receiver: HttpReceiver, notifier: Any) -> Any:
        receiver.answer(503)
        return notifier

    @pytest.fixture
    def refusing_notifier(self, receiver: HttpReceiver, notifier: Any) -> Any:
        receiver.answer(404)
        return notifier

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [(NTFY.NtfyNotifier, {"url": "ftp://x"}, "url"), (NTFY.NtfyNotifier, {}, "url")]
