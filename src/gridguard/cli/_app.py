"""The ``gridguard`` command: set up a store, list plugins, run the Huayuan demo.

Kept thin and quick to start: this module imports click only. The
workspace, the storage backends, the generator and rich are imported inside
the commands that use them, so ``gridguard --help`` does not pay for them.
The other command groups are imported when used (:data:`COMMANDS`); plugins
add theirs through the ``register_commands`` hook (:func:`plugin_commands`).
``--help`` lists them all from a cache while it is valid (:mod:`._listing`).
A :class:`~gridguard.errors.GridGuardError` ends the command with a one-line
red message on stderr and exit code 2, never a traceback (exit codes: 0 all
done, 1 done with some rows refused, 2 usage error or unknown id; see
:mod:`gridguard.cli._common`); a fault of the store itself
(:class:`~gridguard.errors.StoreFault`: disk full, read-only, corrupt, busy,
foreign) is printed in the run's language (``--lang``, ``GRIDGUARD_LANG``).
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .._version import __version__
from ..errors import ConfigError, GridGuardError, PluginError, StoreFault
from ._common import (
    CHECK_ENV,
    LANG_ENV,
    LANG_META,
    PRINCIPAL_KEY,
    WRITE_WAIT_ENV,
    console,
    current_lang,
    db_option,
    echo,
    echo_path,
    json_option,
    parse_principal,
    pick,
    principal_option,
    print_table,
    say,
    with_lang,
)
from ._listing import cached_listing, store_listing

if TYPE_CHECKING:
    import pluggy
    from rich.console import Console

__all__ = ["COMMANDS", "main", "plugin_commands"]

DEMO_OUT = "gridguard-demo"
DEMO_FILE = "huayuan.db"


def _fail(message: str) -> NoReturn:
    """Print ``message`` as one red line on stderr and exit with status 2 (nothing done)."""
    line = " ".join(message.split())
    click.secho(f"error: {line}", fg="red", err=True)  # one prefix scripts can look for
    sys.exit(2)


COMMANDS: dict[str, str] = {
    "notify": "gridguard.cli._notify:notify",
    "rules": "gridguard.cli._rules:rules",
    "screen": "gridguard.cli._rules:screen",
    "quarantine": "gridguard.cli._quarantine:quarantine",
    "service": "gridguard.cli._quarantine:service",
    "checkin": "gridguard.cli._watch:checkin",
    "coverage": "gridguard.cli._sweep:coverage",
    "plan": "gridguard.cli._sweep:plan",
    "show": "gridguard.cli._sweep:show",
    "visit": "gridguard.cli._sweep:visit",
    "import": "gridguard.cli._targeting:import_command",
    "observer": "gridguard.cli._watch:observer",
    "match": "gridguard.cli._targeting:match_command",
    "targets": "gridguard.cli._targeting:targets_command",
    "report": "gridguard.cli._report:report",
    "audit": "gridguard.cli._privacy:audit",
    "purge": "gridguard.cli._privacy:purge",
    "keys": "gridguard.cli._keys:keys",
    "campaign": "gridguard.cli._campaign:campaign",
    "team": "gridguard.cli._team:team",
    "review": "gridguard.cli._review:review",
    "point": "gridguard.cli._point:point",
    "task": "gridguard.cli._task:task",
    "followup": "gridguard.cli._followup:followup",
}
"""Commands defined in other modules, by name: ``"module:attribute"`` of a click command.

They are imported when used (or listed by ``--help``), so each such module
should import only click at its top and the rest inside its functions.
"""


PLUGIN_COMMANDS = "gridguard.plugin_commands"
"""Where a run keeps the commands its plugins added (``ctx.meta``): once per run."""
PLUGIN_PACKAGES = "gridguard.plugin_packages"
"""Where a run keeps the top-level packages of its plugins, ``None`` if one failed to load."""


class _Group(click.Group):
    """A click group that turns gridguard's errors into a message and exit code 2.

    Its commands are the ones defined in this module, those of
    :data:`COMMANDS` (imported when used) and those that plugins add through
    the ``register_commands`` hook. The plugins are loaded only when a
    command is asked for that is not gridguard's own, or when ``--help``
    lists them all.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS, *self._plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, every command under it given ``--lang`` (:func:`with_lang`)."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return with_lang(command)
        reference = COMMANDS.get(cmd_name)
        if reference is None:
            found_plugin = self._plugin_commands(ctx).get(cmd_name)
            return None if found_plugin is None else with_lang(found_plugin)
        import importlib

        module, _, attribute = reference.partition(":")
        found: click.Command = getattr(importlib.import_module(module), attribute)
        return with_lang(found)

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """The commands the plugins add, collected once per run (a broken plugin ends it)."""
        meta = ctx.find_root().meta
        if PLUGIN_COMMANDS not in meta:
            from ..plugins import get_plugin_manager

            try:
                pm = get_plugin_manager()
                commands = plugin_commands(pm, taken={*super().list_commands(ctx), *COMMANDS})
            except GridGuardError as exc:
                _fail(str(exc))
            meta[PLUGIN_COMMANDS] = commands
            # A plugin that failed to load is not listed; its files are not known to be
            # watched, so a listing without it is not kept.
            meta[PLUGIN_PACKAGES] = (
                None if pm.failures else {_package_of(plugin) for plugin in pm.get_plugins()}
            )
        found: dict[str, click.Command] = meta[PLUGIN_COMMANDS]
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the listing cache while it is valid.

        Listing every command otherwise means importing every command
        module and loading the plugins; the listing found is then kept
        (:mod:`._listing`).
        """
        meta = ctx.find_root().meta
        cached = None if PLUGIN_COMMANDS in meta else cached_listing()
        listed: dict[str, click.Command] = {}
        if cached is not None:
            for name, fields in cached.items():
                listed[name] = click.Command(
                    name,
                    short_help=fields.get("short_help"),
                    help=fields.get("help"),
                    deprecated=bool(fields.get("deprecated")),
                )
        else:
            plugins = self._plugin_commands(ctx)
            for name in COMMANDS:
                command = self.get_command(ctx, name)
                if command is not None:
                    listed[name] = command
            listed.update(plugins)
            packages = meta.get(PLUGIN_PACKAGES)
            if packages is not None:
                store_listing(listed, {"gridguard", *packages})
        rows: list[tuple[str, click.Command]] = []
        for name in sorted({*super().list_commands(ctx), *listed}):
            command = listed.get(name) or super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in rows])

    def invoke(self, ctx: click.Context) -> Any:
        saved = {name: os.environ.get(name) for name in _SETTINGS_ENV}
        try:
            return super().invoke(ctx)
        except StoreFault as exc:
            _fail(exc.text(_lang(ctx)))
        except GridGuardError as exc:
            _fail(str(exc) or type(exc).__name__)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}")
        finally:
            for name, value in saved.items():  # a run's settings end with it
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


_SETTINGS_ENV = (LANG_ENV, WRITE_WAIT_ENV, CHECK_ENV)
"""The variables the root options set for the run (the storage layer reads them)."""


def _lang(ctx: click.Context) -> str:
    """The language the run was asked for: ``--lang`` (root or command), else ``GRIDGUARD_LANG``."""
    lang = ctx.meta.get(LANG_META) or os.environ.get(LANG_ENV) or "zh-CN"
    return "en" if str(lang).lower().startswith("en") else "zh-CN"


def _package_of(plugin: object) -> str:
    """The top-level package a plugin (a module or an object) comes from."""
    name = getattr(plugin, "__name__", None) if isinstance(plugin, types.ModuleType) else None
    return (name or type(plugin).__module__).split(".")[0]


def plugin_commands(
    pm: pluggy.PluginManager | None = None, *, taken: Collection[str] = ()
) -> dict[str, click.Command]:
    """The commands each plugin adds through ``register_commands``, by name.

    Each plugin's implementation is called on a group of its own, through
    pluggy (so hook wrappers and call monitoring see it), which attributes
    every command to its plugin: a name in ``taken`` (gridguard's own
    commands) or added by two plugins is a :class:`~gridguard.errors.PluginError`
    naming both. ``pm`` defaults to :func:`~gridguard.plugins.get_plugin_manager`.
    """
    from ..plugins import get_plugin_manager, plugin_callers

    pm = pm or get_plugin_manager()
    commands: dict[str, click.Command] = {}
    owners: dict[str, str] = dict.fromkeys(taken, "gridguard")
    for plugin, caller in plugin_callers(pm, "register_commands"):
        group = click.Group(name=plugin)
        caller(cli=group)
        for name, command in group.commands.items():
            if name in owners:
                raise PluginError(
                    f"command {name!r} is registered twice: by {owners[name]!r} and by {plugin!r}"
                )
            owners[name] = plugin
            commands[name] = command
    return commands


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gridguard", message="%(prog)s %(version)s")
@click.option(
    "--lang",
    type=click.Choice(["zh-CN", "en"]),
    help=f"Language of errors and notices (a command's own --lang wins). [env: {LANG_ENV}]",
)
@click.option(
    "--check",
    is_flag=True,
    help=f"Check the store's file (PRAGMA quick_check) before using it. [env: {CHECK_ENV}=1]",
)
@click.option(
    "--write-wait",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long a write waits for another write to finish before it gives up "
    f"(default 300). [env: {WRITE_WAIT_ENV}]",
)
@principal_option
@click.pass_context
def main(
    ctx: click.Context,
    lang: str | None,
    check: bool,
    write_wait: float | None,
    acting_as: str | None,
) -> None:
    """gridguard: grid-based epidemic screening for communities and cities."""
    if lang:
        ctx.meta[LANG_META] = lang
        os.environ[LANG_ENV] = lang
    if check:
        os.environ[CHECK_ENV] = "1"
    if write_wait is not None:
        os.environ[WRITE_WAIT_ENV] = f"{write_wait:g}"
    if acting_as:
        ctx.meta[PRINCIPAL_KEY] = parse_principal(acting_as)


# -- init ----------------------------------------------------------------------------------------


@main.command()
@db_option("Storage URL (sqlite:///path, memory://, a plugin's scheme) or a SQLite file path.")
@click.option(
    "--adopt",
    is_flag=True,
    help="Add gridguard's tables to a SQLite database that another program made "
    "(refused without it).",
)
def init(target: str, adopt: bool) -> None:
    """Create the store, or migrate it to this gridguard's schema, and say where it is.

    The store is checked before it is called ready: its file is read whole
    (a damaged one is refused) and a write is tried and rolled back (a
    read-only file or folder, or a full disk, is refused).
    """
    from ..storage.capabilities import FileBacked, StoreChecks
    from ..workspace import open_workspace, resolve_url

    url = resolve_url(target)
    if adopt and url.startswith("sqlite:"):
        from ..storage.sqlite import SQLiteStorage, sqlite_path

        SQLiteStorage(sqlite_path(url), url=url, adopt=True, field_encryption=False).close()
    with open_workspace(url) as ws:
        url = ws.url
        version = ws.storage.schema_version()
        path = ws.storage.path if isinstance(ws.storage, FileBacked) else None
        if isinstance(ws.storage, StoreChecks):
            ws.storage.check_integrity()
            ws.storage.check_writable()
    url = _masked(url)
    where = f"{url} ({Path(path).resolve()})" if path and path != ":memory:" else url
    echo_path(
        say(
            f"gridguard 数据库已就绪（结构版本 {version}）",
            f"gridguard store ready (schema version {version})",
        ),
        where,
    )


# -- plugins -------------------------------------------------------------------------------------


@main.command()
@json_option("Print one JSON object instead of tables.")
def plugins(as_json: bool) -> None:
    """List the loaded plugins with their source, hooks and registrations, and any failures."""
    from ..plugins import describe_plugins, get_plugin_manager

    info = describe_plugins(get_plugin_manager())
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return

    # One block a plugin: its hooks and registrations are names (ids), shown as
    # they are; the words around them are in the language chosen.
    echo(say("插件", "Plugins"))
    for plugin in info["plugins"]:
        source = str(plugin["source"])
        if source.startswith("entry point"):  # entry point (gridguard-html 0.1.0)
            source = say("入口点", "entry point") + source[len("entry point") :]
        elif source == "builtin":
            source = say("内置", "builtin")
        echo(f"{plugin['name']}  ({say('来源', 'source')}: {source})")
        echo(f"{say('钩子', 'hooks')}: {', '.join(plugin['hooks']) or '-'}", indent=2)
        for kind, names in sorted(plugin["registers"].items()):
            echo(f"{_registry(kind)}: {', '.join(names)}", indent=2)
    if info["failures"]:
        echo(say("加载失败", "Failed to load"), err=True)
        for failure in info["failures"]:
            echo(f"{failure['name']} ({failure['source']}): {failure['error']}", err=True, indent=2)


def _registry(kind: str) -> str:
    """A registry's name (``importers``, ``rule_functions``...) in this run's language."""
    words = {
        "importers": ("导入器", "importers"),
        "notifiers": ("通知渠道", "notifiers"),
        "reporters": ("报表格式", "reporters"),
        "reports": ("报表", "reports"),
        "rule_functions": ("规则函数", "rule functions"),
        "rule_sets": ("规则集", "rule sets"),
        "rule_lines": ("防线", "rule lines"),
        "lines": ("防线", "lines"),
        "storages": ("存储后端", "storages"),
        "storage_backends": ("存储后端", "storage backends"),
        "exposure_kinds": ("暴露类型", "exposure kinds"),
        "anomaly_kinds": ("异常类型", "anomaly kinds"),
        "commands": ("命令", "commands"),
    }
    zh, en = words.get(kind, (kind, kind.replace("_", " ")))
    return say(zh, en)


# -- demo ----------------------------------------------------------------------------------------


def _database_kind(path: Path) -> str:
    """What ``path`` holds: ``gridguard``, ``empty``, ``other`` (SQLite) or ``foreign``."""
    import sqlite3

    if path.stat().st_size == 0:
        return "empty"
    try:
        conn = sqlite3.connect(path)
        try:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "foreign"
    if "gridguard_meta" in tables:
        return "gridguard"
    return "other" if tables else "empty"


def _masked(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _empty_store(url: str) -> str:
    """A store of another backend (``postgresql://...``) for the demo: it must hold nothing yet."""
    from ..workspace import open_workspace

    with open_workspace(url) as ws:
        held = sum(ws.counts().values())
    if held:
        raise ConfigError(
            f"{_masked(url)} already holds {held:,} gridguard records; the demo needs an empty "
            "store (for PostgreSQL, name a new schema: ?schema=huayuan_demo)"
        )
    return url


def _demo_database(db: str | None, out: str) -> Path | str:
    """The demo's SQLite file, cleared for a fresh start; refuses files gridguard did not make.

    A URL of another backend is returned as it is, once it is known to be empty.
    """
    if db is not None and "://" in db:
        if not db.startswith("sqlite:"):
            return _empty_store(db)
        if not db.startswith("sqlite:///"):
            raise ConfigError(f"the demo writes a SQLite file: give a path, not {db!r}")
        from ..storage.sqlite import sqlite_path

        db = sqlite_path(db)
    if db is None:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--out {str(folder)!r} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / DEMO_FILE
    else:
        path = Path(db)
    if path.is_dir():
        raise ConfigError(f"--db {str(path)!r} is a folder: give a database file path")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {str(path.parent)!r} for the database does not exist")
    if path.exists():
        kind = _database_kind(path)
        if kind == "foreign":
            raise ConfigError(f"{str(path)!r} is not a SQLite database; refusing to overwrite it")
        if kind == "other":
            raise ConfigError(
                f"{str(path)!r} is a SQLite database that gridguard did not create; "
                "refusing to overwrite it (choose another --db or --out)"
            )
    for suffix in ("", "-wal", "-shm", "-journal", "-queue", "-writer"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@contextmanager
def _progress(show: bool) -> Iterator[Any]:
    """Rich progress bars on stderr when ``show``, otherwise a silent stand-in."""
    if not show:
        from ..demo import QuietProgress

        yield QuietProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        yield _Picked(progress)


class _Picked:
    """A rich progress whose two-language task labels show in this run's language."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress

    def add_task(self, description: str, total: float | None = None) -> Any:
        return self._progress.add_task(pick(description), total=total)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._progress, name)


def _print_summary(
    console: Console, summary: dict[str, Any], rows: list[tuple[str, str, str]]
) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(
            say(
                f"{summary['community']}，{summary['campaign_start']}"
                f"（随机种子 {summary['seed']}）",
                f"{summary['community']} Huayuan community, "
                f"{summary['campaign_start']} (seed {summary['seed']})",
            )
        ),
        title_justify="left",
    )
    table.add_column("", overflow="fold")
    table.add_column(say("演示", "Demo"), justify="right", no_wrap=True)
    table.add_column(say("报道", "Reported"), justify="right", style="dim", no_wrap=True)
    for key, label, reported in rows:
        value = summary[key]
        table.add_row(
            Text(pick(label)),
            Text(f"{value:,}" if isinstance(value, int | float) else str(value)),
            Text(reported),
        )
    print_table(console, table)
    console.print(f"{say('数据库', 'Database')}: {summary['database']}", markup=False)
    console.print(say(f"用时 {summary['seconds']:.1f} 秒", f"Done in {summary['seconds']:.1f} s"))


@main.command()
@click.option(
    "--db",
    help=f"SQLite file to write (default: <out>/{DEMO_FILE}), or the URL of an empty store "
    "(postgresql://...).",
)
@click.option("--out", default=DEMO_OUT, show_default=True, help="Folder for the demo's files.")
@click.option("--seed", default=2020, show_default=True, type=int, help="Seed of the generator.")
@json_option("Print one JSON object instead of a table.")
def demo(db: str | None, out: str, seed: int, as_json: bool) -> None:
    """Build the Huayuan community (华苑社区) of the 2020 report in a fresh SQLite file.

    430 stairwells, 4,000+ households, 20 sweep teams of three, one observer
    per building. An existing demo database is started afresh.
    """
    target = _demo_database(db, out)
    url = target if isinstance(target, str) else f"sqlite:///{_quote(target)}"
    from ..demo import run_demo

    show = not as_json and sys.stderr.isatty()
    with _progress(show) as progress:
        ctx = run_demo(url, out=Path(out), seed=seed, progress=progress, lang=current_lang())
    where = _masked(target) if isinstance(target, str) else str(target.resolve())
    summary = {"database": where, **ctx.summary}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    screen = console()
    _print_summary(screen, summary, ctx.rows)
    for text in ctx.texts:
        screen.print()
        screen.print(text, markup=False, highlight=False)


def _quote(path: Path) -> str:
    """A path for a ``sqlite:///`` URL (``%``, ``?`` and ``#`` escaped)."""
    from urllib.parse import quote

    return quote(os.fspath(path))


if __name__ == "__main__":  # pragma: no cover
    main()
