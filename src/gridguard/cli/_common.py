"""What the ``gridguard`` command modules share: the common options and small helpers.

One ``--db`` option (and its ``GRIDGUARD_DB`` variable), one ``--campaign``,
one ``--json`` and one notification ``--config``; opening a store that must
already exist; printing JSON; reading a date. Like every command module it
imports click only at its top, the rest inside the helpers, so that
``gridguard --help`` stays quick.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.decorators import FC

    from ..workspace import Workspace

__all__ = [
    "DB_ENV",
    "LANG_ENV",
    "campaign_option",
    "db_option",
    "echo_json",
    "json_option",
    "lang_option",
    "notify_config_option",
    "notify_settings",
    "open_existing",
    "parse_date",
]

DB_ENV = "GRIDGUARD_DB"  # the same variable gridguard.workspace reads


def db_option(text: str = "Storage URL or SQLite file path.") -> Callable[[FC], FC]:
    """The ``--db`` option (parameter ``target``), read from ``GRIDGUARD_DB`` when not given."""
    return click.option(
        "--db",
        "target",
        envvar=DB_ENV,
        default="gridguard.db",
        show_default=True,
        help=f"{text} [env: {DB_ENV}]",
    )


def json_option(text: str = "Print one JSON object.") -> Callable[[FC], FC]:
    """The ``--json`` flag (parameter ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help=text)


campaign_option = click.option(
    "--campaign", "campaign_id", help="Campaign id (default: the store's only campaign)."
)
"""The ``--campaign`` option (parameter ``campaign_id``)."""


def notify_config_option(
    text: str = "Notification settings (TOML): channels, routes, contacts, quiet hours.",
) -> Callable[[FC], FC]:
    """The ``--config`` option (parameter ``config``): a notification settings file."""
    return click.option("--config", "config", type=click.Path(dir_okay=False), help=text)


def notify_settings(config: str | None, campaign_id: str | None = None) -> Any:
    """The notification settings of ``config``, for ``campaign_id``; ``None`` without a file.

    Without a file the workflows use the workspace's stored configuration
    (``gridguard notify configure``), else the defaults. A ``campaign_id``
    given on the command line fills in a file that names no campaign.
    """
    import attrs

    from ..notifications.settings import NotifySettings

    if not config:
        return None
    settings = NotifySettings.from_toml(config)
    if campaign_id and settings.campaign is None:
        settings = attrs.evolve(settings, campaign=campaign_id)
    return settings


def open_existing(target: str) -> Workspace:
    """The workspace at ``target``; a SQLite file must exist (a new one would hold nothing)."""
    from pathlib import Path

    from ..errors import ConfigError
    from ..storage.sqlite import sqlite_path
    from ..workspace import open_workspace, resolve_url

    url = resolve_url(target)
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        if path != ":memory:" and not Path(path).is_file():
            raise ConfigError(
                f"no database at {path!r}: create one with `gridguard demo` or `gridguard init`"
            )
    return open_workspace(url)


def echo_json(data: Any) -> None:
    """Print ``data`` as one line of JSON, Chinese as itself, dates and the like as text."""
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def parse_date(value: str | None) -> dt.date | None:
    """``value`` (YYYY-MM-DD) as a date, ``None`` as ``None``; else a usage error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


LANG_ENV = "GRIDGUARD_LANG"
"""The environment variable every printing command reads its ``--lang`` from."""

lang_option = click.option(
    "--lang",
    type=click.Choice(["zh-CN", "en"]),
    envvar=LANG_ENV,
    default="zh-CN",
    show_default=True,
    help=f"Language of what is printed. [env: {LANG_ENV}]",
)
"""``--lang zh-CN|en`` (parameter ``lang``) for a command that prints for people."""
