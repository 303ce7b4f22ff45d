"""The plugin manager: builtins, entry points, failures, allow and block lists, registries."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from gridguard.builtins.formats import JsonReporter
from gridguard.errors import PluginError
from gridguard.hookspecs import ReporterFactory, hookimpl
from gridguard.model import IdentityScheme, LineOfDefense
from gridguard.notify import Message
from gridguard.plugins import (
    ALLOW_ENV,
    BLOCK_ENV,
    DEFAULT_PLUGINS,
    STRICT_ENV,
    GridGuardPluginManager,
    LoadFailure,
    collect_registries,
    describe_plugins,
    get_plugin_manager,
)
from plugin_site import Site

PLUGIN_SOURCE = """
from gridguard.hookspecs import hookimpl


class FakeReporter:
    media_type = "text/plain"

    def render(self, report, *, lang="en"):
        return "fake"


@hookimpl
def register_reporters(register):
    register("{format}", FakeReporter)
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin environment variables of the shell running the tests must not leak in."""
    for name in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_plugin(site: Site) -> Site:
    site.add(
        "fakeplugin",
        "1.0",
        {"fakeplugin": PLUGIN_SOURCE.format(format="fake")},
        {"fake": "fakeplugin"},
    )
    return site


@pytest.fixture
def broken_plugin(site: Site) -> Site:
    site.add(
        "brokenplugin",
        "2.3",
        {"brokenplugin": 'raise ImportError("needs a library that is not installed")\n'},
        {"broken": "brokenplugin"},
    )
    return site


class ReporterPlugin:
    """An unpackaged plugin object that registers one reporter format."""

    def __init__(self, plugin_name: str, format_name: str) -> None:
        self.__name__ = plugin_name  # pluggy names a plugin object by its __name__
        self.format_name = format_name

    @hookimpl
    def register_reporters(self, register: Callable[[str, ReporterFactory], None]) -> None:
        register(self.format_name, JsonReporter)


class LinePlugin:
    def __init__(self, plugin_name: str, line_name: str) -> None:
        self.__name__ = plugin_name
        self.line = LineOfDefense(name=line_name, title_en="A line", title_zh="防线")

    @hookimpl
    def register_lines_of_defense(self, register: Callable[[LineOfDefense], None]) -> None:
        register(self.line)


# -- builtins ---------------------------------------------------------------------------


def test_builtins_are_registered_through_hooks() -> None:
    pm = get_plugin_manager(entry_points=False)
    assert isinstance(pm, GridGuardPluginManager)
    for module in DEFAULT_PLUGINS:
        assert pm.get_plugin(module) is not None
        assert pm.sources[module] == "builtin"

    reg = collect_registries(pm)
    assert {"memory", "sqlite"} <= set(reg.storage_backends)
    assert reg.lines.names() == ["building_watch", "data_targeting", "door_to_door"]
    assert "CN" in reg.identity_schemes
    assert isinstance(reg.identity_schemes.get("CN"), IdentityScheme)
    assert "json" in reg.reporters
    assert {"csv", "jsonl"} <= set(reg.importers)
    assert "console" in reg.notifiers


def test_builtin_items_are_attributed_to_their_module() -> None:
    reg = collect_registries(get_plugin_manager(entry_points=False))
    assert reg.lines.entry("door_to_door").plugin == "gridguard.builtins.lines"
    assert reg.reporters.entry("json").plugin == "gridguard.builtins.formats"
    assert reg.identity_schemes.entry("CN").plugin == "gridguard.builtins.identity"
    assert reg.storage_backends.entry("sqlite").plugin == "gridguard.builtins.storage"


def test_builtin_lines_keep_their_order_and_titles() -> None:
    reg = collect_registries(get_plugin_manager(entry_points=False))
    lines = sorted((reg.lines.get(n) for n in reg.lines), key=lambda line: line.order)
    assert [line.name for line in lines] == ["door_to_door", "building_watch", "data_targeting"]
    assert reg.lines.get("building_watch").title("zh-CN") == "楼幢观察员"


def test_each_call_builds_a_fresh_manager() -> None:
    extra = ReporterPlugin("extra", "extra_format")
    with_extra = get_plugin_manager(entry_points=False, plugins=[extra])
    without = get_plugin_manager(entry_points=False)
    assert with_extra is not without
    assert "extra_format" in collect_registries(with_extra).reporters
    assert "extra_format" not in collect_registries(without).reporters


def test_unknown_name_lists_the_known_ones() -> None:
    reg = collect_registries(get_plugin_manager(entry_points=False))
    with pytest.raises(PluginError, match=r"no reporter called 'xlsx' \(known: .*json"):
        reg.reporters.get("xlsx")


def test_console_notifier_writes_to_its_stream() -> None:
    reg = collect_registries(get_plugin_manager(entry_points=False))
    stream = io.StringIO()
    notifier = reg.notifiers.get("console")({"stream": stream})
    notifier.send(Message(recipient="grid-7", subject="all normal", body="Building 3"))
    assert stream.getvalue() == "[grid-7] all normal: Building 3\n"


# -- duplicate names ---------------------------------------------------------------------


def test_duplicate_name_from_two_plugins_names_both() -> None:
    pm = get_plugin_manager(
        entry_points=False,
        plugins=[ReporterPlugin("alpha_plugin", "pdf"), ReporterPlugin("beta_plugin", "pdf")],
    )
    with pytest.raises(PluginError, match="registered twice") as excinfo:
        collect_registries(pm)
    message = str(excinfo.value)
    assert "'pdf'" in message
    assert "alpha_plugin" in message
    assert "beta_plugin" in message


def test_duplicate_of_a_builtin_name_is_an_error() -> None:
    pm = get_plugin_manager(entry_points=False, plugins=[LinePlugin("my_lines", "door_to_door")])
    with pytest.raises(PluginError) as excinfo:
        collect_registries(pm)
    message = str(excinfo.value)
    assert "line of defense 'door_to_door'" in message
    assert "gridguard.builtins.lines" in message
    assert "my_lines" in message


def test_unknown_hook_in_a_registered_plugin_is_a_plugin_error() -> None:
    class Typo:
        __name__ = "typo"

        @hookimpl
        def register_reporter(self, register: Any) -> None:  # missing "s"
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="register_reporter"):
        get_plugin_manager(entry_points=False, plugins=[Typo()])


def test_hook_implementation_may_omit_the_register_argument() -> None:
    calls: list[str] = []

    class Quiet:
        __name__ = "quiet"

        @hookimpl
        def register_notifiers(self) -> None:
            calls.append("called")

    collect_registries(get_plugin_manager(entry_points=False, plugins=[Quiet()]))
    assert calls == ["called"]


# -- entry points ------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_plugin")
def test_entry_point_plugin_loads_with_its_distribution() -> None:
    pm = get_plugin_manager()
    assert pm.get_plugin("fake") is not None
    assert pm.sources["fake"] == "entry point (fakeplugin 1.0)"
    assert pm.failures == []

    reg = collect_registries(pm)
    assert reg.reporters.entry("fake").plugin == "fake"
    assert reg.reporters.get("fake")().render({}) == "fake"


@pytest.mark.usefixtures("fake_plugin")
def test_entry_points_false_loads_builtins_only() -> None:
    pm = get_plugin_manager(entry_points=False)
    assert pm.get_plugin("fake") is None
    assert "fake" not in collect_registries(pm).reporters


@pytest.mark.usefixtures("fake_plugin", "broken_plugin")
def test_broken_entry_point_is_reported_and_skipped() -> None:
    pm = get_plugin_manager()
    assert pm.get_plugin("broken") is None
    assert pm.failures == [
        LoadFailure(
            "broken", "brokenplugin 2.3", "ImportError: needs a library that is not installed"
        )
    ]
    # The others still load.
    assert pm.get_plugin("fake") is not None
    assert "memory" in collect_registries(pm).storage_backends


@pytest.mark.usefixtures("broken_plugin")
def test_broken_entry_point_raises_in_strict_mode() -> None:
    with pytest.raises(PluginError, match=r"'broken' \(brokenplugin 2.3\) failed to load"):
        get_plugin_manager(strict=True)


@pytest.mark.usefixtures("broken_plugin")
@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_strict_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(STRICT_ENV, value)
    with pytest.raises(PluginError, match="needs a library that is not installed"):
        get_plugin_manager()


@pytest.mark.usefixtures("broken_plugin")
def test_strict_argument_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    pm = get_plugin_manager(strict=False)
    assert [f.name for f in pm.failures] == ["broken"]


def test_entry_point_with_an_unknown_hook_is_a_failure(site: Site) -> None:
    site.add(
        "typoplugin",
        "0.1",
        {
            "typoplugin": """
            from gridguard.hookspecs import hookimpl

            @hookimpl
            def register_reporter(register):
                pass
            """
        },
        {"typo": "typoplugin"},
    )
    pm = get_plugin_manager()
    assert pm.get_plugin("typo") is None
    assert len(pm.failures) == 1
    assert pm.failures[0].name == "typo"
    assert "register_reporter" in pm.failures[0].error
    with pytest.raises(PluginError, match="register_reporter"):
        get_plugin_manager(strict=True)


# -- allow and block lists ---------------------------------------------------------------


@pytest.fixture
def two_plugins(site: Site) -> Site:
    site.add(
        "twoplugins",
        "1.0",
        {
            "plugin_one": PLUGIN_SOURCE.format(format="one"),
            "plugin_two": PLUGIN_SOURCE.format(format="two"),
        },
        {"one": "plugin_one", "two": "plugin_two"},
    )
    return site


@pytest.mark.usefixtures("two_plugins")
def test_allow_list_loads_only_the_named_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, " one , ")
    pm = get_plugin_manager()
    assert pm.get_plugin("one") is not None
    assert pm.get_plugin("two") is None
    reporters = collect_registries(pm).reporters
    assert "one" in reporters
    assert "two" not in reporters
    # Builtins load whatever the allow-list says.
    assert "json" in reporters


@pytest.mark.usefixtures("two_plugins", "broken_plugin")
def test_empty_allow_list_loads_no_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "")
    pm = get_plugin_manager(strict=True)
    assert pm.get_plugin("one") is None
    assert pm.get_plugin("two") is None
    assert pm.failures == []
    assert set(DEFAULT_PLUGINS) <= {name for name, _ in pm.list_name_plugin()}


@pytest.mark.usefixtures("two_plugins")
def test_block_list_skips_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCK_ENV, "two")
    pm = get_plugin_manager()
    assert pm.get_plugin("one") is not None
    assert pm.get_plugin("two") is None
    assert pm.is_blocked("two")


@pytest.mark.usefixtures("broken_plugin")
def test_blocking_a_broken_plugin_keeps_strict_mode_happy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCK_ENV, "broken")
    pm = get_plugin_manager(strict=True)
    assert pm.failures == []


def test_block_list_can_block_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCK_ENV, "gridguard.builtins.storage,gridguard.builtins.formats")
    pm = get_plugin_manager(entry_points=False)
    assert pm.get_plugin("gridguard.builtins.storage") is None
    reg = collect_registries(pm)
    assert len(reg.storage_backends) == 0
    assert len(reg.reporters) == 0
    assert "door_to_door" in reg.lines
    names = [p["name"] for p in describe_plugins(pm)["plugins"]]
    assert "gridguard.builtins.storage" not in names
    assert "gridguard.builtins.lines" in names


@pytest.mark.usefixtures("two_plugins")
def test_block_wins_over_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "one,two")
    monkeypatch.setenv(BLOCK_ENV, "one")
    pm = get_plugin_manager()
    assert pm.get_plugin("one") is None
    assert pm.get_plugin("two") is not None


# -- describe_plugins --------------------------------------------------------------------


@pytest.mark.usefixtures("fake_plugin", "broken_plugin")
def test_describe_plugins_lists_hooks_registrations_and_failures() -> None:
    pm = get_plugin_manager(plugins=[LinePlugin("local_lines", "health_monitoring_point")])
    described = describe_plugins(pm)
    json.dumps(described)  # the `gridguard plugins --json` output is plain JSON data
    by_name = {p["name"]: p for p in described["plugins"]}

    formats = by_name["gridguard.builtins.formats"]
    assert formats["source"] == "builtin"
    assert formats["hooks"] == ["register_importers", "register_notifiers", "register_reporters"]
    assert formats["registers"] == {
        "notifiers": ["console"],
        "reporters": ["csv", "json", "text"],
        "importers": ["csv", "jsonl"],
    }
    assert by_name["gridguard.builtins.lines"]["registers"] == {
        "lines": ["building_watch", "data_targeting", "door_to_door"]
    }
    assert by_name["gridguard.builtins.storage"]["hooks"] == ["register_storage_backends"]
    assert {"memory", "sqlite"} <= set(
        by_name["gridguard.builtins.storage"]["registers"]["storage_backends"]
    )

    fake = by_name["fake"]
    assert fake == {
        "name": "fake",
        "source": "entry point (fakeplugin 1.0)",
        "hooks": ["register_reporters"],
        "registers": {"reporters": ["fake"]},
    }
    local = by_name["local_lines"]
    assert local["source"] == "register"
    assert local["registers"] == {"lines": ["health_monitoring_point"]}

    # Builtins come first.
    sources = [p["source"] for p in described["plugins"]]
    assert sources[: len(DEFAULT_PLUGINS)] == ["builtin"] * len(DEFAULT_PLUGINS)

    assert described["failures"] == [
        {
            "name": "broken",
            "source": "brokenplugin 2.3",
            "error": "ImportError: needs a library that is not installed",
        }
    ]
