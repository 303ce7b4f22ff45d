"""The plugin boundary: pluggy markers and every hook gridguard calls.

Registration hooks receive a ``register`` callback. gridguard calls each
plugin's implementation separately, through pluggy's hook callers (so hook
wrappers and ``add_hookcall_monitoring`` see every call), so every
registered name is attributed to the plugin that registered it, and a name
registered twice is a :class:`~gridguard.errors.PluginError` naming both
plugins. Nothing depends on the order plugins are called in.

:func:`register_commands` is the one hook that is not a registration hook:
it receives the ``gridguard`` click group and adds commands to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .importers.base import Importer
    from .model.identity import IdentityScheme
    from .model.lines import LineOfDefense
    from .notify.base import Notifier
    from .report.base import Reporter
    from .rules.functions import RuleFunction
    from .security.retention import PurgeField
    from .storage.base import Storage

__all__ = [
    "PROJECT_NAME",
    "ImporterFactory",
    "NotifierFactory",
    "ReporterFactory",
    "StorageFactory",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "gridguard"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (for gridguard itself)."""
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementation: ``@gridguard.hookimpl``.

pluggy's own marker, so its typed overloads hold: ``@hookimpl``,
``@hookimpl(optionalhook=True)`` and ``@hookimpl(wrapper=True)`` keep the
decorated function's type under mypy strict.
"""

StorageFactory = Callable[[str], "Storage"]
"""Opens a storage backend for a URL such as ``sqlite:///path/to.db``."""
NotifierFactory = Callable[[dict[str, Any]], "Notifier"]
"""Builds a notifier from its settings (a mapping from the campaign's configuration)."""
ReporterFactory = Callable[[], "Reporter"]
"""Builds a reporter."""
ImporterFactory = Callable[[], "Importer"]
"""Builds an importer."""


@hookspec
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    """Register storage backends by URL scheme.

    Call ``register(scheme, factory)`` once per scheme, for example
    ``register("postgresql", PostgresStorage.open)``. ``gridguard.open(url)``
    picks the factory whose scheme starts the URL and calls it with the
    whole URL. Called once per plugin manager, when a workspace is opened or
    ``gridguard plugins`` lists what is loaded.
    """


@hookspec
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    """Register notification channels by name.

    Call ``register(name, factory)``; the factory receives the channel's
    settings as a dict and returns a :class:`~gridguard.notify.Notifier`.
    It should refuse bad settings at once with
    :class:`~gridguard.errors.ConfigError` naming the setting.
    """


@hookspec
def register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    """Register report formats by name (``json``, ``html``, ``xlsx``...).

    Call ``register(format_name, factory)``; the factory returns a
    :class:`~gridguard.report.Reporter`.
    """


@hookspec
def register_importers(register: Callable[[str, ImporterFactory], None]) -> None:
    """Register file importers by format name (``csv``, ``jsonl``, ``xlsx``...).

    Call ``register(format_name, factory)``; the factory returns an
    :class:`~gridguard.importers.Importer` that streams rows from a file.
    """


@hookspec
def register_lines_of_defense(register: Callable[[LineOfDefense], None]) -> None:
    """Register lines of defense.

    Call ``register(line)`` with a :class:`~gridguard.model.LineOfDefense`;
    its ``name`` must be unique. The three built-in lines are registered
    this way too.
    """


@hookspec
def register_rule_functions(register: Callable[[RuleFunction], None]) -> None:
    """Register functions that screening rule conditions may call.

    Call ``register(function)`` with a :class:`~gridguard.rules.RuleFunction`
    carrying a Python implementation and SQL templates per dialect.
    """


@hookspec
def register_identity_schemes(register: Callable[[IdentityScheme], None]) -> None:
    """Register identity number schemes (another country's ID card, a passport).

    Call ``register(scheme)`` with an object that follows
    :class:`~gridguard.model.IdentityScheme`; ``scheme.name`` is what a
    :class:`~gridguard.model.ResidentId` names in its ``scheme`` field.
    The scheme is in use inside the workspaces that load the plugin (their
    transactions and ``with`` blocks), not in the whole process.
    """


@hookspec
def register_purge_fields(register: Callable[[PurgeField], None]) -> None:
    """Register columns of personal data that retention purges.

    Call ``register(field)`` with a
    :class:`~gridguard.security.retention.PurgeField` for each column of
    personal data a plugin's tables hold; ``table.column`` must be unique.
    :func:`~gridguard.security.retention.purge` redacts the fields of the
    workspace's plugins when a campaign's retention period is over. The
    builtin columns (persons, households, visits...) and the blind indexes
    of field encryption are registered this way too.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``gridguard`` command.

    Call ``cli.add_command(command)`` with a :class:`click.Command` or
    :class:`click.Group` (or decorate with ``@cli.command()`` /
    ``@cli.group()``). Called once per ``gridguard`` run, and only when a
    command that is not a builtin is asked for or ``gridguard --help`` lists
    them, so keep the plugin module quick to import. A name that is already
    a command is a :class:`~gridguard.errors.PluginError` naming both.
    """
