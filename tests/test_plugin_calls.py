"""Hooks are called through pluggy, so its wrappers and call monitoring see every call."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import pluggy
import pytest

from gridguard.builtins.formats import JsonReporter
from gridguard.errors import PluginError
from gridguard.hookspecs import ReporterFactory, hookimpl
from gridguard.plugins import BLOCK_ENV, collect_registries, get_plugin_manager, plugin_callers

TYPED_PLUGIN = Path(__file__).resolve().parent / "typed_plugin.py"


class ReporterPlugin:
    def __init__(self, plugin_name: str, format_name: str) -> None:
        self.__name__ = plugin_name
        self.format_name = format_name

    @hookimpl
    def register_reporters(self, register: Callable[[str, ReporterFactory], None]) -> None:
        register(self.format_name, JsonReporter)


class Wrapper:
    """A new-style wrapper around ``register_reporters``: it sees each call begin and end."""

    __name__ = "wrapper"

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl(wrapper=True)
    def register_reporters(
        self, register: Callable[[str, ReporterFactory], None]
    ) -> Generator[None, None, None]:
        self.events.append("before")
        result = yield
        self.events.append("after")
        return result


def test_hook_call_monitoring_sees_each_plugins_registration_call() -> None:
    pm = get_plugin_manager(
        entry_points=False,
        plugins=[ReporterPlugin("first", "md"), ReporterPlugin("second", "tsv")],
    )
    before: list[tuple[str, list[str]]] = []
    after: list[str] = []

    def on_before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Any) -> None:
        assert "register" in kwargs
        before.append((hook_name, [impl.plugin_name for impl in impls]))

    def on_after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
        after.append(hook_name)

    undo = pm.add_hookcall_monitoring(on_before, on_after)
    try:
        registries = collect_registries(pm)
    finally:
        undo()

    reporter_calls = [names for hook, names in before if hook == "register_reporters"]
    # One call per implementing plugin, each with that plugin's implementation alone.
    assert sorted(reporter_calls) == [["first"], ["gridguard.builtins.formats"], ["second"]]
    assert registries.reporters.entry("md").plugin == "first"
    assert registries.reporters.entry("tsv").plugin == "second"
    # Every registration hook was called through pluggy, and every call finished.
    assert {hook for hook, _ in before} >= {
        "register_storage_backends",
        "register_notifiers",
        "register_reporters",
        "register_importers",
        "register_lines_of_defense",
        "register_identity_schemes",
        "register_purge_fields",
    }
    assert len(after) == len(before)


def test_a_wrapper_runs_around_every_plugins_call() -> None:
    wrapper = Wrapper()
    pm = get_plugin_manager(entry_points=False, plugins=[ReporterPlugin("first", "md"), wrapper])
    registries = collect_registries(pm)
    # The builtin formats plugin and "first": one wrapped call each.
    assert wrapper.events == ["before", "after", "before", "after"]
    assert registries.reporters.entry("md").plugin == "first"
    assert "wrapper" not in {entry.plugin for entry in registries.reporters.entries()}


def test_a_wrapper_alone_is_not_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrapper has nothing to wrap where no plugin implements the hook."""
    monkeypatch.setenv(BLOCK_ENV, "gridguard.builtins.formats")

    class ImporterWrapper:
        __name__ = "importer_wrapper"
        calls = 0

        @hookimpl(wrapper=True)
        def register_importers(self) -> Generator[None, None, None]:
            ImporterWrapper.calls += 1
            return (yield)

    pm = get_plugin_manager(entry_points=False, plugins=[ImporterWrapper()])
    assert len(collect_registries(pm).importers) == 0
    assert ImporterWrapper.calls == 0


def test_duplicates_still_name_both_plugins() -> None:
    pm = get_plugin_manager(
        entry_points=False,
        plugins=[ReporterPlugin("first", "md"), ReporterPlugin("second", "md")],
    )
    with pytest.raises(
        PluginError, match="reporter 'md' is registered twice: by 'first' and by 'second'"
    ):
        collect_registries(pm)


def test_plugin_callers_call_only_their_own_plugin() -> None:
    calls: list[str] = []

    class Recording:
        def __init__(self, name: str) -> None:
            self.__name__ = name

        @hookimpl
        def register_importers(self, register: Any) -> None:
            calls.append(self.__name__)

    pm = get_plugin_manager(entry_points=False, plugins=[Recording("a"), Recording("b")])
    for plugin, caller in plugin_callers(pm, "register_importers"):
        calls.clear()
        caller(register=lambda *args: None)
        expected = [] if plugin == "gridguard.builtins.formats" else [plugin]
        assert calls == expected
    names = [plugin for plugin, _ in plugin_callers(pm, "register_importers")]
    assert names == ["gridguard.builtins.formats", "a", "b"]


def test_hookimpl_is_pluggys_own_marker() -> None:
    from gridguard import hookimpl as public

    assert public is hookimpl
    assert isinstance(hookimpl, pluggy.HookimplMarker)


def test_hookimpl_options_type_check_in_a_strict_plugin(tmp_path: Path) -> None:
    """mypy --strict accepts ``@hookimpl(optionalhook=True)`` and ``@hookimpl(wrapper=True)``."""
    api = pytest.importorskip("mypy.api")
    stdout, stderr, status = api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(TYPED_PLUGIN)]
    )
    assert status == 0, stdout + stderr
    # The check can fail: the same file with a wrongly typed use of a marked function.
    broken = tmp_path / "broken_plugin.py"
    broken.write_text(
        TYPED_PLUGIN.read_text(encoding="utf-8")
        + "\n\nWRONG: int = register_reporters  # a marked function keeps its type\n",
        encoding="utf-8",
    )
    stdout, _, status = api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(broken)]
    )
    assert status == 1
    assert 'Incompatible types in assignment (expression has type "Callable[' in stdout


def test_the_documented_wrapper_counts_the_wrapped_calls() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "hooks.md").read_text("utf-8")
    section = text.split("\n## How hooks are called\n", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "documented_wrapper"}
    exec(compile(example, "docs/hooks.md", "exec"), namespace)
    wrapper = namespace["CountingWrapper"]()
    pm = get_plugin_manager(entry_points=False, plugins=[wrapper, ReporterPlugin("first", "md")])
    assert "md" in collect_registries(pm).reporters
    assert wrapper.calls == 2  # the builtin formats plugin's call and first's
