"""The ``gridguard import``, ``gridguard match`` and ``gridguard targets`` commands.

Data-driven targeting from the command line: load a population register
from CSV or Excel, link an outside list to it, and print the ranked doors
to knock on per grid. Like :mod:`gridguard.cli`, this module imports click
only; the work is imported inside each command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ._common import (
    EXIT_REFUSED,
    date_option,
    db_option,
    echo,
    echo_json,
    echo_path,
    json_option,
    open_existing,
    parse_date,
    remember_lang,
    say,
    unmask_option,
    value_word,
)

__all__ = ["import_command", "match_command", "targets_command"]

KIND_NAMES = ("areas", "buildings", "stairwells", "households", "persons", "register")
EXPOSURES = (
    "outbreak_area_arrival",
    "confirmed_case",
    "household_member_of_case",
    "contact_of_contact",
    "suspected_case",
    "other",
)

_db_option = db_option()
_format_option = click.option(
    "--format",
    "fmt",
    default=None,
    help="Importer to read the file with (csv, xlsx, jsonl...); default: from its suffix.",
)
_encoding_option = click.option(
    "--encoding",
    default=None,
    help="Text encoding of a CSV file (utf-8, gbk, gb18030...); default: detected.",
)


@contextmanager
def _rows_progress(show: bool, description: str) -> Iterator[Any]:
    """A rich progress display counting rows on stderr, or nothing."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows 行"),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        yield progress, progress.add_task(description, total=None)


@click.command("import")
@click.argument("kind", type=click.Choice(KIND_NAMES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_db_option
@_format_option
@_encoding_option
@click.option(
    "--all-or-nothing",
    is_flag=True,
    help="Import nothing if any row is bad (default: good rows in, bad rows reported).",
)
@click.option("--no-report", is_flag=True, help="Write no error report beside the file.")
@click.option(
    "--parallel",
    is_flag=True,
    help="Validate a CSV file in a second process while this one writes: about a quarter "
    "quicker on an idle machine with two cores, about a tenth more CPU time in all.",
)
@click.option(
    "--community",
    "community_id",
    help="register: the stored community the register's places are built below.",
)
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, exists=True),
    help="register: a TOML file mapping other headers to fields ([columns]) and columns to ignore.",
)
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="COLUMN",
    help="register: accept this unknown column and leave it out (repeat for more).",
)
@click.option(
    "--lang",
    type=click.Choice(["zh-CN", "en"]),
    default="zh-CN",
    show_default=True,
    callback=remember_lang,
    help="Language of the error report (register: of the row-by-row report).",
)
@json_option()
def import_command(
    kind: str,
    file: Path,
    target: str,
    fmt: str | None,
    encoding: str | None,
    all_or_nothing: bool,
    no_report: bool,
    parallel: bool,
    community_id: str | None,
    mapping: str | None,
    ignored: tuple[str, ...],
    lang: str,
    as_json: bool,
) -> None:
    """Import KIND records (areas, buildings, stairwells, households, persons) from FILE.

    Columns are found by their English or Chinese headers (姓名, 身份证号,
    手机号...). Good rows go in; each bad row is listed with its row number,
    column, masked value and reason in FILE's error report
    (<name>.errors.csv, beside it). Importing the same file again changes
    nothing.

    KIND register reads a community's flat register (one row per person:
    网格, 小区, 楼栋, 单元, 楼层, 房号, 户主姓名, 与户主关系, 姓名, 性别,
    身份证号码, 联系电话, 居住类型) and builds the grids, buildings,
    stairwells, households and persons below --community; every row's
    outcome is in <name>.register.csv beside the file.
    """
    if kind == "register":
        if parallel:
            raise click.UsageError("--parallel: not for `import register`")
        _import_register(
            file, target, fmt, encoding, no_report, community_id, mapping, ignored, lang, as_json
        )
        return
    register_only = [
        name
        for name, value in (
            ("--community", community_id),
            ("--mapping", mapping),
            ("--ignore", ignored),
        )
        if value
    ]
    if register_only:
        raise click.UsageError(f"{', '.join(register_only)}: only for `import register`")
    from ..targeting.importing import import_file

    show = not as_json and sys.stderr.isatty()
    with (
        open_existing(target) as ws,
        _rows_progress(show, say(f"导入 {kind}", f"Importing {kind}")) as bar,
    ):
        result = import_file(
            ws,
            kind,
            file,
            format=fmt,
            encoding=encoding,
            all_or_nothing=all_or_nothing,
            report=not no_report,
            progress=None if bar is None else (lambda n: bar[0].advance(bar[1], n)),
            parallel=parallel,
            lang=lang,
        )
    if as_json:
        echo_json(result.summary())
        if result.rejected:
            sys.exit(EXIT_REFUSED)
        return
    echo(
        say(
            f"{kind}（{file.name}，{result.format}，{result.encoding or '-'}）："
            f"{result.rows:,} 行 · 新增 {result.inserted:,} · 更新 {result.updated:,} · "
            f"未变 {result.unchanged:,} · 拒绝 {result.rejected:,}",
            f"{kind} from {file.name} ({result.format}, {result.encoding or '-'}): "
            f"{result.rows:,} rows · {result.inserted:,} inserted · "
            f"{result.updated:,} updated · {result.unchanged:,} unchanged · "
            f"{result.rejected:,} rejected",
        )
    )
    if result.ignored_columns:
        echo(f"{say('未用的列', 'Ignored columns')}: {', '.join(result.ignored_columns)}")
    if result.report is not None:
        echo_path(say("错误报告", "Error report"), result.report)
    if result.rejected:
        sys.exit(EXIT_REFUSED)


def _import_register(
    file: Path,
    target: str,
    fmt: str | None,
    encoding: str | None,
    no_report: bool,
    community_id: str | None,
    mapping: str | None,
    ignored: tuple[str, ...],
    lang: str,
    as_json: bool,
) -> None:
    """``gridguard import register``: the flat register, row by row outcomes."""
    from ..targeting.register import OUTCOMES, import_register

    if community_id is None:
        raise click.UsageError("import register needs --community ID")
    show = not as_json and sys.stderr.isatty()
    with (
        open_existing(target, community=community_id) as ws,
        _rows_progress(show, say("导入花名册", "Importing the register")) as bar,
    ):
        result = import_register(
            ws,
            file,
            community=community_id,
            format=fmt,
            encoding=encoding,
            mapping=mapping,
            ignore=ignored,
            lang=lang,
            report=not no_report,
            progress=None if bar is None else (lambda n: bar[0].advance(bar[1], n)),
        )
    if as_json:
        echo_json(result.summary())
    else:
        zh = lang.startswith("zh")
        counts = " · ".join(
            f"{result.outcomes.get(key, 0):,} {labels[1] if zh else labels[0]}"
            for key, labels in OUTCOMES.items()
        )
        places = ", ".join(f"{n:,} {_place(kind)}" for kind, n in result.places.items())
        echo(
            say(
                f"花名册 {file.name}（{result.format}，{result.encoding or '-'}）："
                f"{result.rows:,} 行 · {counts}；新地点：{places}",
                f"register {file.name} ({result.format}, {result.encoding or '-'}): "
                f"{result.rows:,} rows · {counts}; new places: {places}",
            )
        )
        for line, outcome, text in result.first_problems:
            colour = "red" if outcome == "refused" else "yellow"
            click.secho(f"{file.name}:{line}: {text}", fg=colour, err=True)
        if result.report is not None:
            echo_path(say("逐行结果", "Row report"), result.report)
    if result.refused:
        sys.exit(EXIT_REFUSED)


@click.command("match")
@click.argument("list_file", metavar="LIST", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The list's name, such as railway-0124.")
@_db_option
@click.option("--area", "area_id", help="Area that received the list (default: the top area).")
@click.option(
    "--exposure",
    type=click.Choice(EXPOSURES),
    default="outbreak_area_arrival",
    show_default=True,
    help="What everyone on the list was exposed to.",
)
@click.option("--received", help="Day the list arrived, YYYY-MM-DD (default: today).")
@date_option("Day to rank the targets for, YYYY-MM-DD (default: today).")
@_format_option
@_encoding_option
@click.option(
    "--ignore",
    "ignored",
    multiple=True,
    metavar="COLUMN",
    help="Accept this unknown column and leave it out (repeat for more).",
)
@json_option()
def match_command(
    list_file: Path,
    source: str,
    target: str,
    area_id: str | None,
    exposure: str,
    received: str | None,
    day: str | None,
    fmt: str | None,
    encoding: str | None,
    ignored: tuple[str, ...],
    as_json: bool,
) -> None:
    """Link the outside LIST (passengers, contacts) to the register and rank the targets.

    Each row is linked by the same identity number, else the same phone and
    a similar name, else a nearby identity number and a similar name; the
    rest waits in the review queue. Matching the same list again changes
    nothing.
    """
    from ..targeting.matching import match_list

    on = parse_date(day)
    with open_existing(target, area=area_id) as ws:
        result = match_list(
            ws,
            list_file,
            source=source,
            area_id=area_id,
            exposure=exposure,
            received=parse_date(received, "--received"),
            on=on,
            format=fmt,
            encoding=encoding,
            ignore=ignored,
        )
    summary = result.summary()
    if as_json:
        echo_json(summary)
        if result.rejected:
            sys.exit(EXIT_REFUSED)
        return
    passes = ", ".join(f"{say(*_PASSES.get(k, (k, k)))} {v:,}" for k, v in result.by_pass.items())
    echo(
        say(
            f"{source}：{result.rows:,} 行 · 已匹配 {result.matched:,}（本次 {passes}）· "
            f"待核对 {result.review_queue:,} · 拒绝 {result.rejected:,} · "
            f"重点户 {result.targets:,}",
            f"{source}: {result.rows:,} rows · {result.matched:,} matched "
            f"({passes} this run) · {result.review_queue:,} to review · "
            f"{result.rejected:,} rejected · {result.targets:,} targets",
        )
    )
    if result.report is not None:
        echo_path(say("错误报告", "Error report"), result.report)
    if result.rejected:
        sys.exit(EXIT_REFUSED)


@click.command("targets")
@click.option("--grid", "grid", help="Grid id; all grids when left out.")
@_db_option
@click.option("--limit", type=int, default=None, help="At most this many targets.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@unmask_option("Show full addresses (audited); masked by default.")
def targets_command(
    grid: str | None, target: str, limit: int | None, as_json: bool, unmask: bool
) -> None:
    """The households to visit first, ranked: priority, who, why (重点排查对象)."""
    from ..masking import mask_text
    from ..model import Household
    from ..targeting.targets import ranked_targets

    with open_existing(target, grid=grid) as ws:
        targets = ranked_targets(ws, grid, limit=limit)
        if unmask:
            ws.authorize("targeting.unmask", grid)
        with ws.transaction(write=False) as uow:
            addresses = {}
            for t in targets:
                household = uow.get(Household, t.household_id)
                address = None if household is None else household.address
                shown = address if unmask or address is None else mask_text(address)
                addresses[t.household_id] = shown
    rows: list[dict[str, Any]] = [
        {
            "rank": n,
            "household_id": t.household_id,
            "grid_id": t.grid_id,
            "address": addresses.get(t.household_id),
            "priority": t.priority,
            "last_contact": None if t.last_contact is None else t.last_contact.isoformat(),
            "persons": list(t.persons),
            "sources": list(t.sources),
            "reasons": list(t.reasons),
        }
        for n, t in enumerate(targets, start=1)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    # One block a household, so that long addresses and reasons wrap in 80 columns.
    echo(say("重点排查户", "Targets") + (f" · {grid}" if grid else ""))
    for row in rows:
        echo(
            f"{row['rank']:>3}. {row['household_id']}  {say('优先级', 'priority')} "
            f"{row['priority']:.1f}  {say('最后接触', 'last contact')} {row['last_contact'] or '-'}"
        )
        if row["address"]:
            echo(row["address"], indent=5)
        for reason in row["reasons"]:
            echo(f"- {_reason(reason)}", indent=5)
    if not rows:
        echo(
            say("没有重点户", "No targets")
            + (say(f"（网格 {grid}）", f" in grid {grid}") if grid else "")
        )


def _place(kind: str) -> str:
    """A kind of place the register made, in this run's language."""
    words = {"grids": ("网格", "grids"), "buildings": ("楼幢", "buildings"),
             "stairwells": ("楼梯", "stairwells"), "households": ("户", "households"),
             "persons": ("人", "persons"), "grid": ("网格", "grids"),
             "building": ("楼幢", "buildings"), "stairwell": ("楼梯", "stairwells"),
             "household": ("户", "households"), "person": ("人", "persons")}  # fmt: skip
    zh, en = words.get(kind, (kind, kind))
    return say(zh, en)


_PASSES = {
    "identity": ("身份证号码一致", "same identity number"),
    "phone_name": ("电话一致、姓名相近", "same phone, similar name"),
    "fuzzy_identity": ("身份证号码相近、姓名相近", "similar identity number and name"),
    "manual": ("人工核对", "matched by hand"),
}


def _reason(reason: str) -> str:
    """A target's reason (:mod:`gridguard.targeting.targets`) in this run's language.

    Stored in English (``PERSON: EXPOSURE, DATE, list SOURCE, pass N KIND
    (score S)``); its words are given in the language chosen.
    """
    import re

    found = re.fullmatch(
        r"(?P<who>[^:]+): (?P<exposure>[a-z_]+), (?P<when>[^,]+), list (?P<source>.+), "
        r"pass (?P<n>\d+) (?P<how>[a-z_]+) \(score (?P<score>[\d.]+)\)",
        reason,
    )
    if found is None:
        return reason
    g = found.groupdict()
    when = say("日期不详", "date unknown") if g["when"] == "date unknown" else g["when"]
    zh, en = _PASSES.get(g["how"], (g["how"], g["how"]))
    return say(
        f"{g['who']}：{value_word(g['exposure'])}，{when}，名单 {g['source']}，"
        f"第 {g['n']} 轮匹配（{zh}，得分 {g['score']}）",
        f"{g['who']}: {value_word(g['exposure'])}, {when}, list {g['source']}, "
        f"pass {g['n']} ({en}, score {g['score']})",
    )
