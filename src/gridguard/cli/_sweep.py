"""The sweep's commands: ``plan``, ``visit record``, ``show household|person``, ``coverage``.

Registered in :data:`gridguard.cli.COMMANDS`; like every command module it
imports click only at its top, the rest inside the commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_REFUSED,
    campaign_option,
    date_option,
    db_option,
    echo_json,
    json_option,
    lang_option,
    open_existing,
    parse_date,
    unmask_option,
)
from ._team import composition_policy, policy_option

if TYPE_CHECKING:
    from ..sweep import Sweep
    from ..workspace import Workspace

__all__ = ["coverage", "plan", "show", "visit"]

_json = json_option("Print JSON instead of tables.")


def _sweep(ws: Workspace, campaign_id: str | None) -> Sweep:
    from ..sweep import Sweep

    return Sweep(ws, campaign_id)


_BY_ZH = {
    "campaign": "行动",
    "area": "区域",
    "grid": "网格",
    "building": "楼幢",
    "stairwell": "楼梯",
}


def _wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` terminal cells (a CJK character is two)."""
    from rich.cells import cell_len

    lines: list[str] = []
    line = ""
    for word in text.split(" ") if " " in text or text.isascii() else list(text):
        joined = f"{line} {word}" if line and text.isascii() else line + word
        if line and cell_len(joined) > width:
            lines.append(line)
            line = word
        else:
            line = joined
    lines.append(line)
    out: list[str] = []
    for part in lines:  # a word longer than the column is split
        while cell_len(part) > width:
            out.append(part[:width])
            part = part[width:]
        out.append(part)
    return "\n".join(out)


def _pad(text: str, width: int, *, left: bool = False) -> str:
    """``text`` padded to ``width`` terminal cells, to the right (numbers) or the left."""
    from rich.cells import cell_len

    gap = " " * max(width - cell_len(text), 0)
    return text + gap if left else gap + text


def _prefix(ids: list[str]) -> int:
    """Length of the prefix (up to a ``-``) that all ``ids`` share, to print them shorter."""
    if not ids:
        return 0
    low, high = min(ids), max(ids)
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return low[:n].rfind("-") + 1


# -- plan ----------------------------------------------------------------------------------------


def _ramp(text: str | None) -> list[int] | None:
    from ..errors import ConfigError

    if text is None:
        return None
    try:
        ramp = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ConfigError(f"--teams is a comma-separated list of numbers, not {text!r}") from None
    if not ramp or min(ramp) < 0:
        raise ConfigError(f"--teams needs whole numbers of teams per day (got {text!r})")
    return ramp


@click.command()
@db_option()
@campaign_option
@click.option(
    "--teams",
    "ramp_text",
    help="Teams out per day, e.g. 6,10,14,20 (default: every team of the campaign, one day).",
)
@date_option("First day, YYYY-MM-DD (default: today).")
@click.option(
    "--capacity", default=5, show_default=True, type=click.IntRange(1), help="Per team-shift."
)
@click.option(
    "--unit",
    type=click.Choice(["stairwells", "households"]),
    default="stairwells",
    show_default=True,
    help="What --capacity counts.",
)
@click.option(
    "--until-done", is_flag=True, help="Repeat the last day until every household is planned."
)
@click.option(
    "--targets",
    "use_targets",
    is_flag=True,
    help="Put the ranked targets (gridguard targets) first: their stairwells go out first.",
)
@policy_option
@_json
def plan(
    target: str,
    campaign_id: str | None,
    ramp_text: str | None,
    day: str | None,
    capacity: int,
    unit: str,
    until_done: bool,
    use_targets: bool,
    policy: str,
    as_json: bool,
) -> None:
    """Plan the sweep: which team walks which stairwells, shift by shift.

    Households still to visit (not yet screened or found vacant, within the
    door attempts) are packed, whole buildings near each team's home grid,
    into the teams' afternoons.
    """
    import datetime as dt

    from ..sweep import Capacity
    from ..sweep.workflow import MAX_PLAN_DAYS

    with open_existing(target, campaign=campaign_id) as ws:
        ws.composition_policy = composition_policy(policy)
        sweep = _sweep(ws, campaign_id)
        priorities: dict[str, int] = {}
        if use_targets:
            from ..targeting.targets import planner_priorities

            priorities = planner_priorities(ws)
        ramp = _ramp(ramp_text) or [len(sweep.teams())]
        if until_done:
            ramp = [*ramp, *([ramp[-1]] * (MAX_PLAN_DAYS - len(ramp)))]
        cap = Capacity(capacity, unit.rstrip("s"))
        first = parse_date(day) or dt.datetime.now(sweep.campaign.zone).date()
        result = sweep.plan(sweep.roster(ramp, start=first), capacity=cap, targets=priorities)
    if as_json:
        echo_json(result.to_dict())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    s = result.summary()
    console.print(
        f"Plan 走访计划 {s['campaign']}: {s['households']:,} households in "
        f"{s['stairwells']:,} stairwells to visit, {cap}"
    )
    ids = [a.team_id for sh in result.shifts for a in sh.assignments]
    cut_team = _prefix(ids)
    cut_stop = _prefix(
        [p.stairwell_id for sh in result.shifts for a in sh.assignments for p in a.stops]
    )
    for shift in result.shifts:
        table = Table(
            title=f"{shift.day.isoformat()} {shift.label}: {len(shift.assignments)} teams, "
            f"{shift.households:,} households",
            title_justify="left",
        )
        table.add_column("Team\n小分队")
        for column in ("Households\n户", "Stairwells\n楼梯", "Buildings\n楼幢", "Grids\n网格"):
            table.add_column(column, justify="right")
        table.add_column("Route 路线", overflow="fold", ratio=1)
        for a in shift.assignments:
            route = ", ".join(
                stop.stairwell_id[cut_stop:]
                + ("" if stop.whole else f"[{stop.first + 1}-{stop.first + stop.households}]")
                for stop in a.stops
            )
            table.add_row(
                a.team_id[cut_team:],
                str(a.households),
                str(a.stairwells),
                str(a.buildings),
                str(a.grids),
                route,
            )
        console.print(table)
    bound = s["lower_bound_shifts"]
    console.print(
        f"Shifts 班次: {s['shifts']} (lower bound {bound if bound is not None else 'n/a'}), "
        f"days 天数: {s['days']}; "
        f"{s['mean_households_per_team_shift']} households and "
        f"{s['mean_buildings_per_team_shift']} buildings per team-shift"
    )
    if not result.complete:
        console.print(
            f"[yellow]Not planned 未安排: {result.unassigned_households:,} households in "
            f"{result.unassigned_stairwells:,} stairwells (more teams or days needed)[/yellow]"
        )


# -- visit record --------------------------------------------------------------------------------


@click.group()
def visit() -> None:
    """Record the sweep's visits."""


@visit.command("record")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@db_option()
@campaign_option
@click.option("--format", "fmt", help="Importer name (default: by the file's suffix).")
@_json
def record(file: str, target: str, campaign_id: str | None, fmt: str | None, as_json: bool) -> None:
    """Record visits and screenings from FILE (JSON lines or CSV); running it twice changes nothing.

    Each JSON line is a visit with its "screenings"; a CSV file has one row
    per screened person. Bad records are listed with their line and not
    stored; the others are. The exit status is 1 when any record was refused.
    """
    from ..sweep.tasks import settle_tasks

    with open_existing(target, campaign=campaign_id) as ws:
        report = _sweep(ws, campaign_id).record_file(file, format=fmt)
        settled = settle_tasks(ws) if report.accepted else 0
    if as_json:
        echo_json({"file": file, **report.to_dict(), "tasks_settled": settled})
    else:
        click.echo(
            f"{file}: {report.records} records, {report.accepted} accepted, "
            f"{report.rejected} refused; visits {report.visits_written} new, "
            f"{report.visits_unchanged} already stored; screenings "
            f"{report.screenings_written} new, {report.screenings_unchanged} already stored"
        )
        if settled:
            click.echo(f"{settled} tasks done by these visits 任务已完成")
        for error in report.errors:
            click.secho(f"{file}:{error}", fg="red", err=True)
    if report.rejected:
        sys.exit(EXIT_REFUSED)


# -- show ----------------------------------------------------------------------------------------


@click.group()
def show() -> None:
    """Show one file: a household (一户一档) or a person (一人一档)."""


_unmask = unmask_option("Show names, phones and identity numbers in full (audited).")


def _time(text: str) -> str:
    """``2020-01-25T17:23:19+08:00`` as ``2020-01-25 17:23``: local time, to the minute."""
    return text[:16].replace("T", " ")


def _flags_text(flags: list[dict[str, Any]]) -> str:
    return "; ".join(f"{f['kind']}: {f['detail']}" for f in flags) or "-"


def _answers(screening: dict[str, Any]) -> tuple[str, str, str]:
    trips = ", ".join(
        t["destination"] + (f" (back {t['returned']})" if t.get("returned") else "")
        for t in screening["trips"]
    )
    exposures = ", ".join(f"{e['kind']} {e['last_contact']}" for e in screening["exposures"])
    temperature = screening["temperature"]
    return (
        "-" if temperature is None else f"{temperature:.1f}",
        "; ".join(x for x in (trips, exposures, ", ".join(screening["symptoms"])) if x) or "-",
        _flags_text(screening["flags"]),
    )


@show.command("household")
@click.argument("household_id")
@db_option()
@campaign_option
@_unmask
@_json
def show_household(
    household_id: str, target: str, campaign_id: str | None, unmask: bool, as_json: bool
) -> None:
    """The household file: address, members, every visit and every screening."""
    with open_existing(target, campaign=campaign_id, household=household_id) as ws:
        data = _sweep(ws, campaign_id).household_file(household_id).to_dict(masked=not unmask)
    if as_json:
        echo_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    h = data["household"]
    area = data["area"]["name"] if data["area"] else "-"
    console.print(f"[bold]Household 户 {h['id']}[/bold]  {h['address']}")
    console.print(
        f"{area} / {data['building']['name']} / {data['stairwell']['name']}, "
        f"phone 电话 {h['phone'] or '-'}; status 状态: [bold]{data['status']}[/bold] "
        f"({data['campaign']})"
    )
    flagged = set(data["flagged"])
    members = Table(title="Members 成员", title_justify="left")
    for column in (
        "Person 人",
        "Name 姓名",
        "Sex 性别",
        "Born 出生",
        "Residency 居住",
        "File 一人一档",
    ):
        members.add_column(column)
    names = {}
    for p in data["members"]:
        names[p["id"]] = p["name"]
        members.add_row(
            p["id"],
            p["name"],
            p["sex"] or "-",
            p["birth_date"] or "-",
            p["residency"],
            "yes 是" if p["id"] in flagged else "",
        )
    console.print(members)
    visits = Table(title="Visits 走访", title_justify="left")
    for column in ("Time 时间", "Channel 方式", "Outcome 结果", "Team 小分队", "Note 备注"):
        visits.add_column(column)
    for v in data["visits"]:
        visits.add_row(_time(v["at"]), v["channel"], v["outcome"], v["team_id"] or "-", v["note"])
    console.print(visits)
    screenings = Table(title="Screenings 筛查", title_justify="left")
    for column in ("Time 时间", "Person 人", "°C", "History 史", "Flags 标记"):
        screenings.add_column(column, overflow="fold")
    for s in data["screenings"]:
        screenings.add_row(_time(s["at"]), names.get(s["person_id"], s["person_id"]), *_answers(s))
    console.print(screenings)


@show.command("person")
@click.argument("person_id")
@db_option()
@campaign_option
@_unmask
@_json
def show_person(
    person_id: str, target: str, campaign_id: str | None, unmask: bool, as_json: bool
) -> None:
    """The person file: who, where, every screening and what flags them."""
    with open_existing(target, campaign=campaign_id, person=person_id) as ws:
        data = _sweep(ws, campaign_id).person_file(person_id).to_dict(masked=not unmask)
    if as_json:
        echo_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    p = data["person"]
    console.print(f"[bold]Person 人 {p['id']}[/bold]  {p['name']}  ({p['residency']})")
    console.print(f"Household 户 {data['household']['id']}  {data['household']['address']}")
    console.print(
        f"Identity 身份证 {p['resident_id'] or '-'}, phone 电话 {p['phone'] or '-'}, "
        f"born 出生 {p['birth_date'] or '-'}"
    )
    verdict = "[red]flagged 一人一档[/red]" if data["flagged"] else "not flagged 无需建档"
    console.print(f"{verdict}: {_flags_text(data['flags'])}")
    screenings = Table(title="Screenings 筛查", title_justify="left")
    for column in ("Time 时间", "°C", "History 史", "Flags 标记"):
        screenings.add_column(column, overflow="fold")
    for s in data["screenings"]:
        screenings.add_row(_time(s["at"]), *_answers(s))
    console.print(screenings)


# -- coverage ------------------------------------------------------------------------------------


@click.command()
@db_option()
@campaign_option
@click.option(
    "--by",
    type=click.Choice(["campaign", "area", "grid", "building", "stairwell"]),
    default="campaign",
    show_default=True,
    help="What to group by (area: the community).",
)
@_json
@lang_option
def coverage(target: str, campaign_id: str | None, by: str, as_json: bool, lang: str) -> None:
    """How far the sweep got: households visited, screened, not at home, phoned, refused..."""
    with open_existing(target, campaign=campaign_id) as ws:
        sweep = _sweep(ws, campaign_id)
        rows = sweep.coverage(by)
        campaign = sweep.campaign.id
    if as_json:
        echo_json({"campaign": campaign, "by": by, "rows": [r.to_dict() for r in rows]})
        return
    from rich.console import Console

    zh = lang == "zh-CN"
    title = f"覆盖 {campaign}（按{_BY_ZH.get(by, by)}）" if zh else f"Coverage {campaign} by {by}"
    columns = (
        (("Households", "户数"), "households"),
        (("Visited", "已走访"), "visited"),
        (("Screened", "已筛查"), "screened"),
        (("Not home", "不在家"), "not_home"),
        (("Phoned", "电话"), "phoned"),
        (("Unreached", "未联系上"), "unreachable"),
        (("Refused", "拒绝"), "refused"),
        (("Vacant", "空置"), "vacant"),
        (("Pending", "待走访"), "pending"),
        (("Persons", "筛查人数"), "persons_screened"),
    )
    cut = _prefix([row.id for row in rows]) if by in ("building", "stairwell") else 0
    cells = [
        (
            row.name if by in ("campaign", "area", "grid") else f"{row.id[cut:]} {row.name}",
            [f"{row.to_dict()[key]:,}" for _, key in columns],
        )
        for row in rows
    ]
    console = Console()
    from rich.cells import cell_len

    widths = [
        max(max((len(numbers[n]) for _, numbers in cells), default=1), 4)
        for n in range(len(columns))
    ]
    roomy = [  # each header on one line, where the terminal is wide enough
        max(w, cell_len(chinese if zh else en))
        for w, ((en, chinese), _) in zip(widths, columns, strict=True)
    ]
    if console.width - sum(w + 2 for w in roomy) - 6 >= 8:
        widths = roomy
    name_width = console.width - sum(w + 2 for w in widths) - 6
    if name_width < 4:  # too narrow for a table: one line per figure, nothing cut
        console.print(title)
        for name, numbers in cells:
            console.print(name)
            for ((en, chinese), _), number in zip(columns, numbers, strict=True):
                console.print(f"  {chinese if zh else en}: {number}")
        return
    # A number is never cut: each column is as wide as its widest figure, and the
    # header wraps to that width instead; names wrap in the first column.
    name_width = min(name_width, 24)
    headers = [_wrap(chinese if zh else en, w).split("\n") for ((en, chinese), _), w in
               zip(columns, widths, strict=True)]  # fmt: skip
    depth = max(len(h) for h in headers)
    print_line = console.out
    print_line(title, highlight=False)
    for level in range(depth):
        parts = [_pad("", name_width, left=True)]
        for header, width in zip(headers, widths, strict=True):
            shift = depth - len(header)
            parts.append(_pad(header[level - shift] if level >= shift else "", width))
        print_line("  ".join(parts).rstrip(), highlight=False)
    print_line("─" * min(console.width, name_width + sum(w + 2 for w in widths)), highlight=False)
    for name, numbers in cells:
        names = _wrap(name, name_width).split("\n")
        for n, part in enumerate(names):
            shown = [_pad(x, w) for x, w in zip(numbers, widths, strict=True)] if n == 0 else []
            print_line("  ".join([_pad(part, name_width, left=True), *shown]).rstrip(),
                       highlight=False)  # fmt: skip
