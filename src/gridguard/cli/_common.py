"""What the ``gridguard`` command modules share: the common options and small helpers.

One ``--db`` option (and its ``GRIDGUARD_DB`` variable), one ``--campaign``,
one ``--json``, one ``--date`` for a day and one ``--at`` for a time, one
``--unmask``, and one notification ``--config``; opening a store that must
already exist and checking the ids a command was given (an unknown one is an
error naming it, with a "did you mean"); printing JSON; reading a date or a
time. Like every command module it imports click only at its top, the rest
inside the helpers, so that ``gridguard --help`` stays quick.

Exit codes, the same for every command: ``0`` all done; ``1`` done, but some
rows were refused (or a check found problems); ``2`` a usage error, an
unknown id, a missing database or any other error that stopped the command.
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
    "CHECK_ENV",
    "DB_ENV",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "LANG_ENV",
    "LANG_META",
    "WRITE_WAIT_ENV",
    "at_option",
    "campaign_option",
    "check_ids",
    "date_option",
    "db_option",
    "echo_json",
    "json_option",
    "lang_option",
    "notify_config_option",
    "notify_settings",
    "open_existing",
    "parse_at",
    "parse_date",
    "remember_lang",
    "unmask_option",
]

DB_ENV = "GRIDGUARD_DB"  # the same variable gridguard.workspace reads
WRITE_WAIT_ENV = "GRIDGUARD_WRITE_WAIT"  # the same variable gridguard.storage reads
CHECK_ENV = "GRIDGUARD_CHECK"  # likewise

EXIT_REFUSED = 1
"""The command ran, but some rows were refused (or a check it ran found problems)."""
EXIT_USAGE = 2
"""A usage error, an unknown id, a missing database: nothing was done."""


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


def date_option(
    text: str = "Local day, YYYY-MM-DD, in the campaign's time zone (default: today).",
    *,
    required: bool = False,
) -> Callable[[FC], FC]:
    """The ``--date`` option (parameter ``day``, text): the one name for a day."""
    return click.option("--date", "day", required=required, metavar="YYYY-MM-DD", help=text)


def at_option(
    text: str = "When: ISO 8601; without a UTC offset, in the campaign's time zone (default: now).",
) -> Callable[[FC], FC]:
    """The ``--at`` option (parameter ``at_text``): the one name for a time."""
    return click.option("--at", "at_text", metavar="TIME", help=text)


def unmask_option(
    text: str = "Show names, phones, identity numbers and addresses in full (audited).",
) -> Callable[[FC], FC]:
    """The ``--unmask`` flag (parameter ``unmask``): the one name for unmasked output."""
    return click.option("--unmask", is_flag=True, help=text)


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


def open_existing(target: str, *, purpose: str | None = None, **ids: Any) -> Workspace:
    """The workspace at ``target``, which must exist: only ``init`` and ``demo`` create one.

    ``ids`` (``campaign=``, ``area=``, ``grid=``, ``team=``, ``building=``,
    ``household=``, ``person=``; a value ``None`` is skipped, a list checks
    each) are checked to be stored, see :func:`check_ids`.
    """
    from pathlib import Path

    from ..errors import ConfigError
    from ..storage.sqlite import sqlite_path
    from ..workspace import open_workspace, resolve_url

    url = resolve_url(target)
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        if path != ":memory:" and not Path(path).is_file():
            raise ConfigError(
                f"no database at {path!r}: create one with `gridguard init` "
                "(or `gridguard demo`), or give the right --db"
            )
    ws = open_workspace(url) if purpose is None else open_workspace(url, purpose=purpose)
    try:
        check_ids(ws, **ids)
    except BaseException:
        ws.close()
        raise
    return ws


_KINDS: dict[str, tuple[str, str, str | None]] = {
    # kind: (model class, label, area level it must have)
    "campaign": ("Campaign", "campaign", None),
    "area": ("Area", "area", None),
    "grid": ("Area", "grid", "grid"),
    "community": ("Area", "community", "community"),
    "team": ("Team", "team", None),
    "building": ("Building", "building", None),
    "stairwell": ("Stairwell", "stairwell", None),
    "household": ("Household", "household", None),
    "person": ("Person", "person", None),
    "point": ("MonitoringPoint", "monitoring point", None),
}
SUGGEST_UP_TO = 50_000
"""Ids of a kind are compared for a "did you mean" only when there are at most this many."""


def check_ids(ws: Workspace, **ids: Any) -> None:
    """Raise :class:`~gridguard.errors.NotFoundError` for an id that names nothing stored.

    The message names the kind and the id and offers the closest stored ids
    (:func:`difflib.get_close_matches`), or the stored names' ids when the
    id given is a name (``网格一``).
    """

    from .. import model
    from ..errors import NotFoundError

    for kind, value in ids.items():
        if value is None:
            continue
        class_name, label, level = _KINDS[kind]
        cls = getattr(model, class_name)
        wanted = [value] if isinstance(value, str) else list(value)
        with ws.transaction(write=False) as uow:
            stored = uow.existing_ids(cls, set(wanted))
            missing = [w for w in wanted if w not in stored]
            wrong_level = []
            if level is not None:
                for w in wanted:
                    if w in stored:
                        area = uow.get(cls, w)
                        if area is not None and area.level.value != level:
                            wrong_level.append((w, area.level.value))
        if wrong_level:
            w, actual = wrong_level[0]
            raise NotFoundError(f"{w!r} is a {actual}, not a {label}")
        if not missing:
            continue
        hint = ""
        if ws.count(cls) <= SUGGEST_UP_TO:
            records = ws.find(cls, level=level) if level is not None else ws.find(cls)
            hint = _suggest(missing[0], records, label)
        raise NotFoundError(f"unknown {label} {missing[0]!r}{hint}")


def _suggest(wanted: str, records: list[Any], label: str) -> str:
    """``; did you mean ...?``: the stored ids closest to ``wanted``, or whose name is close.

    A record found by its name is shown as ``'id' (name)``, so that a grid typed
    by its name (第三网格) leads to the id of the one meant.
    """
    import difflib

    if not records:
        return f"; there is no {label} in the store yet"

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    named = [r for r in records if getattr(r, "name", None) == wanted]
    if named:  # the name of one: its id is what was meant
        return "; did you mean " + " or ".join(f"{r.id!r} ({wanted})" for r in named[:3]) + "?"
    scored: dict[str, tuple[float, str]] = {}
    for record in records:
        name = str(getattr(record, "name", "") or "")
        by_id, by_name = ratio(wanted, record.id), ratio(wanted, name) if name else 0.0
        best = max(by_id, by_name)
        if best >= 0.5:
            shown = repr(record.id) if by_id >= by_name else f"{record.id!r} ({name})"
            scored[record.id] = (best, shown)
    if not scored:
        return ""
    close = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0]))[:3]
    return "; did you mean " + " or ".join(shown for _, (_, shown) in close) + "?"


def parse_at(value: str | None, zone: Any, option: str = "--at") -> dt.datetime | None:
    """``value`` (ISO 8601) as an aware instant; without an offset, read in ``zone``."""
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time (YYYY-MM-DDTHH:MM, optionally +08:00)",
            param_hint=option,
        ) from None
    if at.utcoffset() is None:
        at = at.replace(tzinfo=zone)
    return at


def echo_json(data: Any) -> None:
    """Print ``data`` as one line of JSON, Chinese as itself, dates and the like as text."""
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


def parse_date(value: str | None, option: str = "--date") -> dt.date | None:
    """``value`` (YYYY-MM-DD) as a date, ``None`` as ``None``; else a usage error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None


LANG_ENV = "GRIDGUARD_LANG"
"""The environment variable every printing command reads its ``--lang`` from."""

LANG_META = "gridguard.lang"
"""Where a run keeps the language it was asked for (``ctx.meta``): errors follow it."""


def remember_lang(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a ``--lang`` value for the run, so that an error and a notice follow it too.

    The notices of the storage layer (a writer that waits) read
    ``GRIDGUARD_LANG``; the command line restores it when the command ends.
    """
    import os

    if value:
        ctx.meta[LANG_META] = value
        os.environ[LANG_ENV] = value
    return value


lang_option = click.option(
    "--lang",
    type=click.Choice(["zh-CN", "en"]),
    envvar=LANG_ENV,
    default="zh-CN",
    show_default=True,
    callback=remember_lang,
    help=f"Language of what is printed. [env: {LANG_ENV}]",
)
"""``--lang zh-CN|en`` (parameter ``lang``) for a command that prints for people."""
