"""The plugin manager: builtins first, then the ``gridguard`` entry-point group.

Nothing happens at import time: :func:`get_plugin_manager` builds a fresh
manager each call. A plugin that fails to import is reported (see
:attr:`GridGuardPluginManager.failures`) and skipped; in strict mode it
raises :class:`~gridguard.errors.PluginError`.

Environment variables:

``GRIDGUARD_PLUGINS``
    Comma-separated names of the entry-point plugins to load; when set,
    only these load (empty: none). Builtins always load.
``GRIDGUARD_BLOCK_PLUGINS``
    Comma-separated plugin names never to load (builtins included, e.g.
    ``gridguard.builtins.storage``).
``GRIDGUARD_STRICT_PLUGINS``
    ``1`` makes a plugin that fails to load an error.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import attrs
import pluggy
from pluggy import HookCaller

from . import hookspecs
from .errors import PluginError

__all__ = [
    "ALLOW_ENV",
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "STRICT_ENV",
    "GridGuardPluginManager",
    "LoadFailure",
    "Registered",
    "Registries",
    "Registry",
    "collect_registries",
    "describe_plugins",
    "get_plugin_manager",
    "plugin_callers",
]

ENTRY_POINT_GROUP = "gridguard"
ALLOW_ENV = "GRIDGUARD_PLUGINS"
BLOCK_ENV = "GRIDGUARD_BLOCK_PLUGINS"
STRICT_ENV = "GRIDGUARD_STRICT_PLUGINS"

DEFAULT_PLUGINS = (
    "gridguard.builtins.storage",
    "gridguard.builtins.lines",
    "gridguard.builtins.identity",
    "gridguard.builtins.formats",
    "gridguard.builtins.notifiers",
    "gridguard.builtins.retention",
)
"""Builtin plugin modules, registered through the same hooks as any plugin."""

T = TypeVar("T")


@attrs.frozen
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    source: str
    error: str


class GridGuardPluginManager(pluggy.PluginManager):
    """A pluggy manager that also remembers which plugins failed to load."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.failures: list[LoadFailure] = []
        self.sources: dict[str, str] = {}
        """Where each plugin came from.

        ``builtin``, ``entry point (dist version)`` or ``register``.
        """


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def get_plugin_manager(
    *,
    strict: bool | None = None,
    entry_points: bool = True,
    plugins: Iterable[object] = (),
) -> GridGuardPluginManager:
    """Build a plugin manager with the builtins, installed plugins and ``plugins``.

    ``strict`` (default: ``GRIDGUARD_STRICT_PLUGINS``) raises on a plugin that
    fails to load instead of reporting and skipping it. ``entry_points=False``
    loads builtins only. Objects in ``plugins`` (modules or instances with
    hook implementations) are registered last, which tests and embedders use
    to add a plugin without packaging it.
    """
    strict = _strict_from_env() if strict is None else strict
    blocked = _names(os.environ.get(BLOCK_ENV)) or set()
    allowed = _names(os.environ.get(ALLOW_ENV))
    pm = GridGuardPluginManager()
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)

    for module_name in DEFAULT_PLUGINS:
        if module_name in blocked:
            continue
        pm.register(importlib.import_module(module_name), name=module_name)
        pm.sources[module_name] = "builtin"

    if entry_points:
        _load_entry_points(pm, strict=strict, allowed=allowed, blocked=blocked)

    for plugin in plugins:
        try:
            registered = pm.register(plugin)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"plugin {plugin!r} cannot be registered: {exc}") from exc
        if registered is not None:
            pm.sources[registered] = "register"

    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hooks ``plugin`` implements that gridguard does not specify (a typo, or a newer API)."""
    unknown = set()
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not impl.optionalhook:
                unknown.add(caller.name)
    return sorted(unknown)


def _load_entry_points(
    pm: GridGuardPluginManager, *, strict: bool, allowed: set[str] | None, blocked: set[str]
) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or (allowed is not None and ep.name not in allowed):
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        dist = _dist_label(ep)
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            unknown = _unknown_hooks(pm, plugin)
            if unknown:
                pm.unregister(plugin)
                raise PluginError(f"unknown hook {', '.join(unknown)}")
        except Exception as exc:
            if strict:
                raise PluginError(f"plugin {ep.name!r} ({dist}) failed to load: {exc}") from exc
            pm.failures.append(LoadFailure(ep.name, dist, f"{type(exc).__name__}: {exc}"))
            continue
        pm.sources[ep.name] = f"entry point ({dist})"


def _dist_label(ep: importlib.metadata.EntryPoint) -> str:
    """``name version`` of the distribution providing ``ep`` (its metadata read once)."""
    if ep.dist is None:
        return "unknown"
    metadata = ep.dist.metadata
    return f"{metadata['Name']} {metadata['Version']}"


@attrs.frozen
class Registered(Generic[T]):
    """A registered item and the plugin that registered it."""

    name: str
    value: T
    plugin: str


class Registry(Generic[T]):
    """Named items of one kind (storage backends, notifiers...); names are unique."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Registered[T]] = {}

    def add(self, name: str, value: T, plugin: str) -> None:
        """Add ``value`` as ``name``; a second registration of a name is a :class:`PluginError`."""
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {self.kind} with no name")
        existing = self._items.get(name)
        if existing is not None:
            raise PluginError(
                f"{self.kind} {name!r} is registered twice: "
                f"by {existing.plugin!r} and by {plugin!r}"
            )
        self._items[name] = Registered(name, value, plugin)

    def get(self, name: str) -> T:
        """The item called ``name``; a :class:`PluginError` lists the known names otherwise."""
        try:
            return self._items[name].value
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise PluginError(f"no {self.kind} called {name!r} (known: {known})") from None

    def entry(self, name: str) -> Registered[T]:
        """The registration record of ``name`` (with its plugin)."""
        self.get(name)
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def entries(self) -> list[Registered[T]]:
        """Registration records in name order."""
        return [self._items[n] for n in self.names()]


@attrs.define
class Registries:
    """Everything the plugins registered, by kind."""

    storage_backends: Registry[hookspecs.StorageFactory] = attrs.field(
        factory=lambda: Registry("storage backend")
    )
    notifiers: Registry[hookspecs.NotifierFactory] = attrs.field(
        factory=lambda: Registry("notifier")
    )
    reporters: Registry[hookspecs.ReporterFactory] = attrs.field(
        factory=lambda: Registry("reporter")
    )
    importers: Registry[hookspecs.ImporterFactory] = attrs.field(
        factory=lambda: Registry("importer")
    )
    lines: Registry[Any] = attrs.field(factory=lambda: Registry("line of defense"))
    rule_functions: Registry[Any] = attrs.field(factory=lambda: Registry("rule function"))
    identity_schemes: Registry[Any] = attrs.field(factory=lambda: Registry("identity scheme"))
    purge_fields: Registry[Any] = attrs.field(factory=lambda: Registry("purge field"))


def plugin_callers(pm: pluggy.PluginManager, hook_name: str) -> Iterator[tuple[str, HookCaller]]:
    """A hook caller for each plugin implementing ``hook_name``, with the plugin's name.

    Each caller is pluggy's own (:meth:`~pluggy.PluginManager.subset_hook_caller`)
    and leaves out the other plugins' implementations, but not the hook
    wrappers, so wrappers and :meth:`~pluggy.PluginManager.add_hookcall_monitoring`
    see each plugin's call, while whatever the call registers is attributed
    to that one plugin. Plugins come in registration order (builtins first).
    """
    hook: HookCaller = getattr(pm.hook, hook_name)
    impls = [i for i in hook.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
    for impl in impls:
        others = [other.plugin for other in impls if other is not impl]
        yield impl.plugin_name, pm.subset_hook_caller(hook_name, remove_plugins=others)


def collect_registries(pm: pluggy.PluginManager) -> Registries:
    """Call every registration hook of every plugin and gather what they register."""
    reg = Registries()
    named: list[tuple[str, Registry[Any]]] = [
        ("register_storage_backends", reg.storage_backends),
        ("register_notifiers", reg.notifiers),
        ("register_reporters", reg.reporters),
        ("register_importers", reg.importers),
    ]
    for hook_name, registry in named:
        for plugin, caller in plugin_callers(pm, hook_name):

            def add(
                name: str, factory: Any, _r: Registry[Any] = registry, _p: str = plugin
            ) -> None:
                _r.add(name, factory, _p)

            caller(register=add)

    by_attribute: list[tuple[str, Registry[Any], Callable[[Any], str]]] = [
        ("register_lines_of_defense", reg.lines, _name_of),
        ("register_rule_functions", reg.rule_functions, _name_of),
        ("register_identity_schemes", reg.identity_schemes, _name_of),
        ("register_purge_fields", reg.purge_fields, _column_of),
    ]
    for hook_name, registry, key in by_attribute:
        for plugin, caller in plugin_callers(pm, hook_name):

            def add_item(
                item: Any,
                _r: Registry[Any] = registry,
                _p: str = plugin,
                _k: Callable[[Any], str] = key,
            ) -> None:
                _r.add(_k(item), item, _p)

            caller(register=add_item)
    return reg


def _name_of(item: Any) -> str:
    name = getattr(item, "name", "")
    return name if isinstance(name, str) else ""


def _column_of(item: Any) -> str:
    """``table.column``: what names a purge field."""
    table, column = getattr(item, "table", ""), getattr(item, "column", "")
    return f"{table}.{column}" if table and column else ""


def describe_plugins(pm: GridGuardPluginManager) -> dict[str, Any]:
    """What is loaded, for ``gridguard plugins``: each plugin with its hooks and registrations."""
    registries = collect_registries(pm)
    registered: dict[str, dict[str, list[str]]] = {}
    for field in attrs.fields(Registries):
        registry: Registry[Any] = getattr(registries, field.name)
        for entry in registry.entries():
            registered.setdefault(entry.plugin, {}).setdefault(field.name, []).append(entry.name)
    plugins = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        plugins.append(
            {
                "name": name,
                "source": pm.sources.get(name, "register"),
                "hooks": hooks,
                "registers": registered.get(name, {}),
            }
        )
    plugins.sort(key=lambda p: (p["source"] != "builtin", p["name"]))
    return {
        "plugins": plugins,
        "failures": [attrs.asdict(f) for f in pm.failures],
    }
