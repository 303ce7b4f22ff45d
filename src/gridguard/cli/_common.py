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
import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.decorators import FC

    from ..security.principal import Principal
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
    "chosen_principal",
    "console",
    "current_lang",
    "date_option",
    "db_option",
    "echo",
    "echo_json",
    "echo_path",
    "json_option",
    "lang_option",
    "local_time",
    "notify_config_option",
    "notify_settings",
    "number_column",
    "open_existing",
    "parse_at",
    "parse_date",
    "parse_principal",
    "pick",
    "principal_option",
    "print_table",
    "remember_lang",
    "role_word",
    "say",
    "show_table",
    "unmask_option",
    "value_word",
    "with_lang",
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
    principal = chosen_principal()
    ws = open_workspace(url, principal=principal, purpose=purpose or "")
    try:
        if principal.building_id is not None:
            check_ids(ws, building=principal.building_id)
        elif principal.area_id is not None:
            check_ids(ws, area=principal.area_id)
        check_ids(ws, **ids)
    except BaseException:
        ws.close()
        raise
    return ws


PRINCIPAL_ENV = "GRIDGUARD_PRINCIPAL"
"""Who the command acts as (``ROLE:AREA``), when ``--as`` is not given."""
PRINCIPAL_KEY = "gridguard.principal"
"""Where the ``--as`` value of a run is kept (``ctx.meta``)."""


def principal_option(f: FC) -> FC:
    """The global ``--as ROLE:AREA`` option (parameter ``acting_as``), or its env variable."""
    return click.option(
        "--as",
        "acting_as",
        envvar=PRINCIPAL_ENV,
        metavar="ROLE:AREA",
        help=(
            "Act as ROLE over AREA (grid_worker:g01; a building observer names her building, "
            "building_observer:b1; an admin or auditor of everything: admin:*); every read and "
            f"write is then checked and audited as that principal. [env: {PRINCIPAL_ENV}]"
        ),
    )(f)


def parse_principal(text: str, name: str | None = None) -> Principal:
    """The principal of ``--as ROLE:AREA``: a usage error names the value and the rule.

    ``name`` (the login name by default) is who the audit log says acted.
    """
    import difflib
    import getpass

    from ..errors import ConfigError
    from ..security.principal import Principal, Role

    role_text, sep, scope = text.partition(":")
    roles = [r.value for r in Role]
    if role_text not in roles:
        close = difflib.get_close_matches(role_text, roles, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (one of: {', '.join(roles)})"
        raise ConfigError(f"--as {text!r}: unknown role {role_text!r}{hint}")
    if not sep or not scope:
        raise ConfigError(f"--as {text!r}: say the area after the role (ROLE:AREA, or ROLE:*)")
    role = Role(role_text)
    who = name or os.environ.get("GRIDGUARD_USER") or getpass.getuser()
    if role is Role.BUILDING_OBSERVER:
        return Principal(name=who, role=role, building_id=scope)
    return Principal(name=who, role=role, area_id=None if scope == "*" else scope)


def chosen_principal() -> Principal:
    """The principal the command runs as: ``--as`` (or ``GRIDGUARD_PRINCIPAL``), else the system's.

    Without either, the command acts as the local administrator of
    everything (:data:`~gridguard.security.principal.LOCAL_ADMIN`): whoever
    may open the database file may read all of it anyway.
    """
    from ..security.principal import LOCAL_ADMIN

    ctx = click.get_current_context(silent=True)
    chosen = None if ctx is None else ctx.find_root().meta.get(PRINCIPAL_KEY)
    if chosen is None:
        text = os.environ.get(PRINCIPAL_ENV)
        chosen = parse_principal(text) if text else LOCAL_ADMIN
    return chosen


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
        found = _stored(ws, cls, wanted)
        missing = [w for w in wanted if w not in found]
        wrong_level = [
            (w, found[w].level.value)
            for w in wanted
            if level is not None and w in found and found[w].level.value != level
        ]
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


def _stored(ws: Workspace, cls: type[Any], wanted: list[str]) -> dict[str, Any]:
    """The records of ``wanted`` the workspace's principal may see, by id.

    For a principal with a scope (``--as``) an id outside it is as unknown
    as one that is not stored, and the suggestions come from her scope only.
    """
    from ..errors import AccessDenied, NotFoundError

    if ws.guard.everywhere:
        with ws.transaction(write=False) as uow:
            return {w: r for w in wanted if (r := uow.get(cls, w)) is not None}
    found: dict[str, Any] = {}
    for w in wanted:
        try:
            found[w] = ws.get(cls, w)
        except (AccessDenied, NotFoundError):
            continue
    return found


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
LANGS = ("zh-CN", "en")
"""The languages gridguard prints in; the first is the default."""
LANG_META = "gridguard.lang"
"""Where a run keeps the language it prints in (``ctx.meta``, shared by the whole run)."""


def remember_lang(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a ``--lang`` value for the run, so that everything it prints follows it.

    Kept in ``ctx.meta`` (read by :func:`current_lang`) and in
    ``GRIDGUARD_LANG``, which the notices of the storage layer (a writer that
    waits) read; the command line restores the variable when the command ends.
    """
    import os

    if value:
        ctx.meta[LANG_META] = value
        os.environ[LANG_ENV] = value
    return value


def _lang_settings() -> dict[str, Any]:
    return {
        "type": click.Choice(LANGS),
        "envvar": LANG_ENV,
        "default": LANGS[0],
        "show_default": True,
        "is_eager": True,
        "callback": remember_lang,
        "help": f"Language of what is printed (labels, headings, status words). [env: {LANG_ENV}]",
    }


def _lang_parameter(*, expose: bool) -> click.Option:
    return click.Option(["--lang"], expose_value=expose, **_lang_settings())


lang_option = click.option("--lang", **_lang_settings())
"""``--lang zh-CN|en`` (parameter ``lang``) for a command that prints for people."""


def with_lang(command: click.Command) -> click.Command:
    """``command`` and every command under it, each given ``--lang`` if it has none yet.

    The option added is not passed to the command's function: the command
    reads the language through :func:`current_lang` (and :func:`say`). Every
    command that prints takes ``--lang`` this way, a command added later too.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_lang(sub)
        if not any(p.name == "lang" for p in command.params):
            command.params.append(_lang_parameter(expose=False))
    elif not any(p.name == "lang" for p in command.params):
        command.params.append(_lang_parameter(expose=False))
    return command


def current_lang() -> str:
    """The language of this run: ``--lang``, else ``GRIDGUARD_LANG``, else ``zh-CN``."""
    import os

    ctx = click.get_current_context(silent=True)
    if ctx is not None and LANG_META in ctx.meta:
        return str(ctx.meta[LANG_META])
    chosen = os.environ.get(LANG_ENV, LANGS[0])
    return chosen if chosen in LANGS else LANGS[0]


def say(zh: str, en: str) -> str:
    """``zh`` when this run prints in Chinese, else ``en``: one label in one language."""
    return zh if current_lang() == "zh-CN" else en


def local_time(at: dt.datetime | None, zone: Any, *, seconds: bool = False) -> str:
    """``at`` as a reader reads it: in the campaign's time zone ``zone``, with its offset.

    ``2026-12-06 09:22+08:00``; ``-`` for ``None``. A naive time is taken as UTC.
    """
    if at is None:
        return "-"
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if zone is not None:
        at = at.astimezone(zone)
    return at.isoformat(sep=" ", timespec="seconds" if seconds else "minutes")


def console(*, err: bool = False) -> Any:
    """A rich console for this run's output: as wide as the terminal (``COLUMNS``), no markup
    guessing (numbers and ids are not recoloured)."""
    from rich.console import Console

    return Console(stderr=err, highlight=False)


def echo(text: str = "", *, err: bool = False, indent: int = 0) -> None:
    """Print ``text``, each line wrapped at word boundaries to the terminal's width.

    A number or an id is moved whole to the next line, never cut; a CJK
    character counts as two columns. With ``indent``, every line (the
    wrapped ones too) starts that many columns in.
    """
    out = console(err=err)
    if indent:
        from rich.padding import Padding
        from rich.text import Text

        out.print(Padding(Text(text, overflow="fold"), (0, 0, 0, indent)))
        return
    out.print(text, markup=False, highlight=False, overflow="fold")


def echo_path(label: str, path: Any, *, err: bool = False) -> None:
    """Print ``label: path``; a path too long for the line goes whole on the next one.

    A path is never broken, so that it can be copied: one longer than the
    terminal is the one thing printed wider than it.
    """
    from rich.cells import cell_len

    line = f"{label}: {path}"
    if cell_len(line) <= console(err=err).width:
        click.echo(line, err=err)
    else:
        click.echo(f"{label}:", err=err)
        click.echo(f"  {path}", err=err)


def number_column(table: Any, header: str, **options: Any) -> None:
    """Add a column of figures to a rich ``table``: right-aligned and never wrapped or cut."""
    table.add_column(header, justify="right", no_wrap=True, **options)


def print_table(out: Any, table: Any) -> None:
    """Print a rich ``table`` on console ``out`` within its width, nothing cut.

    Columns narrow to their longest word and widest figure (headers wrap);
    a table still too wide is printed as one block per row, ``header:
    value`` lines (:func:`gridguard.report.text_reporter.print_fitted`).
    """
    from ..report.text_reporter import print_fitted

    print_fitted(out, table)


def show_table(
    title: str | None,
    headers: list[str],
    rows: list[list[Any]],
    *,
    numeric: Collection[int] = (),
) -> None:
    """Print rows as a plain table (columns ``numeric`` right-aligned, figures never cut).

    Cells are printed as they are written (no markup), the table within the
    terminal's width (:func:`print_table`).
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=None if title is None else Text(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for n, header in enumerate(headers):
        if n in numeric:
            number_column(table, header)
        else:
            table.add_column(Text(header), overflow="fold")
    for row in rows:
        table.add_row(
            *(Text(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
              for v in row)
        )  # fmt: skip
    print_table(console(), table)


_STATUS_WORDS = {
    "open": ("待办", "open"),
    "done": ("已完成", "done"),
    "cancelled": ("已取消", "cancelled"),
    "active": ("在管", "active"),
    "ended": ("已结束", "ended"),
    "released": ("已解除", "released"),
}


def value_word(value: str | None) -> str:
    """A stored vocabulary value (a task kind, a status, an outcome) in this run's language.

    From the report catalogue (:func:`gridguard.report.locale.value_label`) or a
    status word; an unknown value (a plugin's own) is shown as it is.
    """
    if value is None:
        return "-"
    from ..report.locale import VALUES

    if value in _STATUS_WORDS:
        zh, en = _STATUS_WORDS[value]
        return say(zh, en)
    found = VALUES.get(value)
    return value if found is None else found.text(current_lang())


_ROLES = {
    "admin": ("管理员", "admin"),
    "grid_worker": ("网格员", "grid worker"),
    "building_observer": ("楼幢观察员", "building observer"),
    "community_doctor": ("社区医生", "community doctor"),
    "community_secretary": ("社区书记", "community secretary"),
    "team_member": ("小分队队员", "team member"),
    "service_volunteer": ("服务志愿者", "service volunteer"),
    "auditor": ("审计员", "auditor"),
    "cadre": ("干部", "cadre"),
    "doctor": ("医生", "doctor"),
    "police": ("民警", "police"),
    "volunteer": ("志愿者", "volunteer"),
}


def role_word(role: str | None) -> str:
    """A principal's or a team member's role in this run's language (an unknown one as it is)."""
    if role is None:
        return "-"
    zh, en = _ROLES.get(role, (role, role))
    return say(zh, en)


def pick(label: str) -> str:
    """The part of a two-language label (``Daily report 日报``) in this run's language.

    The English comes first and the Chinese from its first CJK character; a
    label without Chinese is the same in both.
    """
    for n, ch in enumerate(label):
        if "\u3400" <= ch <= "\u9fff":
            english, chinese = label[:n].strip(), label[n:].strip()
            return say(chinese, english or chinese)
    return label
