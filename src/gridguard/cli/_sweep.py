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
    echo,
    echo_json,
    json_option,
    lang_option,
    open_existing,
    parse_date,
    say,
    show_table,
    unmask_option,
    value_word,
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


_SHORT = {
    "households": "HH",
    "visited": "Visit",
    "screened": "Scrn",
    "not_home": "Out",
    "phoned": "Phone",
    "unreachable": "Unrch",
    "refused": "Refsd",
    "vacant": "Vacnt",
    "pending": "Pend",
    "persons_screened": "Pers",
}
"""Short English column names of ``coverage``, for a terminal too narrow for the full ones."""

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
    s = result.summary()
    unit_words = {"household": ("户", "households"), "stairwell": ("个楼梯", "stairwells")}
    per = say(*unit_words.get(cap.unit.value, (cap.unit.value, cap.unit.value)))
    echo(
        say(
            f"走访计划 {s['campaign']}：{s['stairwells']:,} 个楼梯共 {s['households']:,} 户待走访，"
            f"每队每班 {cap.amount:,} {per}",
            f"Plan {s['campaign']}: {s['households']:,} households in "
            f"{s['stairwells']:,} stairwells to visit, {cap.amount:,} {per} per team-shift",
        )
    )
    ids = [a.team_id for sh in result.shifts for a in sh.assignments]
    cut_team = _prefix(ids)
    cut_stop = _prefix(
        [p.stairwell_id for sh in result.shifts for a in sh.assignments for p in a.stops]
    )
    shifts = {"morning": ("上午", "morning"), "afternoon": ("下午", "afternoon"),
              "evening": ("晚上", "evening")}  # fmt: skip
    for shift in result.shifts:
        label = say(*shifts.get(shift.label, (shift.label, shift.label)))
        n = len(shift.assignments)
        show_table(
            say(
                f"{shift.day.isoformat()} {label}：{n:,} 个小分队，{shift.households:,} 户",
                f"{shift.day.isoformat()} {label}: {n:,} teams, {shift.households:,} households",
            ),
            [say("小分队", "Team"), say("户", "Households"), say("楼梯", "Stairwells"),
             say("楼幢", "Buildings"), say("网格", "Grids"), say("路线", "Route")],
            [[a.team_id[cut_team:], a.households, a.stairwells, a.buildings, a.grids,
              ", ".join(
                  stop.stairwell_id[cut_stop:]
                  + ("" if stop.whole else f"[{stop.first + 1}-{stop.first + stop.households}]")
                  for stop in a.stops
              )] for a in shift.assignments],
            numeric={1, 2, 3, 4},
        )  # fmt: skip
    bound = s["lower_bound_shifts"]
    shown = f"{bound:,}" if bound is not None else say("不详", "n/a")
    echo(
        say(
            f"班次：{s['shifts']:,}（下限 {shown}），天数：{s['days']:,}；"
            f"每队每班 {s['mean_households_per_team_shift']} 户、"
            f"{s['mean_buildings_per_team_shift']} 幢楼",
            f"Shifts: {s['shifts']:,} (lower bound {shown}), days: {s['days']:,}; "
            f"{s['mean_households_per_team_shift']} households and "
            f"{s['mean_buildings_per_team_shift']} buildings per team-shift",
        )
    )
    if not result.complete:
        echo(
            say(
                f"未安排：{result.unassigned_stairwells:,} 个楼梯共 "
                f"{result.unassigned_households:,} 户（需要更多小分队或天数）",
                f"Not planned: {result.unassigned_households:,} households in "
                f"{result.unassigned_stairwells:,} stairwells (more teams or days needed)",
            )
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
        echo(
            say(
                f"{file}：{report.records:,} 条记录，接受 {report.accepted:,}，"
                f"拒收 {report.rejected:,}；走访新增 {report.visits_written:,}，"
                f"已有 {report.visits_unchanged:,}；筛查新增 {report.screenings_written:,}，"
                f"已有 {report.screenings_unchanged:,}",
                f"{file}: {report.records:,} records, {report.accepted:,} accepted, "
                f"{report.rejected:,} refused; visits {report.visits_written:,} new, "
                f"{report.visits_unchanged:,} already stored; screenings "
                f"{report.screenings_written:,} new, {report.screenings_unchanged:,} "
                "already stored",
            )
        )
        if settled:
            echo(
                say(
                    f"{settled:,} 项任务已由这些走访完成", f"{settled:,} tasks done by these visits"
                )
            )
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
    return "; ".join(f"{value_word(f['kind'])}: {_detail(f['detail'])}" for f in flags) or "-"


def _detail(detail: str) -> str:
    """A flag's detail (:class:`gridguard.sweep.files.Flag`) in this run's language.

    The detail is stored in English (``outbreak_area_arrival, last
    2020-01-25``, ``武汉, back 2020-01-16``, ``37.8 °C``, symptoms); its
    vocabulary words and links are put in words of the language chosen.
    """
    import re

    contact = re.fullmatch(r"([a-z_]+), last (\d{4}-\d\d-\d\d)", detail)
    if contact:
        kind, day = contact.groups()
        return f"{value_word(kind)}{say('，最后接触 ', ', last ')}{day}"
    trip = re.fullmatch(r"(.*), back (\d{4}-\d\d-\d\d)", detail)
    if trip:
        place, day = trip.groups()
        return say(f"{place}，{day} 返回", f"{place}, back {day}")
    if re.fullmatch(r"[\d.]+ °C", detail):
        return detail
    return ", ".join(value_word(word) for word in detail.split(", "))


def _answers(screening: dict[str, Any]) -> tuple[str, str, str]:
    trips = ", ".join(
        t["destination"]
        + (
            say(f"（{t['returned']} 返回）", f" (back {t['returned']})")
            if t.get("returned")
            else ""
        )
        for t in screening["trips"]
    )
    exposures = ", ".join(
        f"{value_word(e['kind'])} {e['last_contact']}" for e in screening["exposures"]
    )
    symptoms = ", ".join(value_word(x) for x in screening["symptoms"])
    temperature = screening["temperature"]
    return (
        "-" if temperature is None else f"{temperature:.1f}",
        "; ".join(x for x in (trips, exposures, symptoms) if x) or "-",
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
    h = data["household"]
    area = data["area"]["name"] if data["area"] else "-"
    echo(f"{say('户', 'Household')} {h['id']}  {h['address']}")
    echo(
        f"{area} / {data['building']['name']} / {data['stairwell']['name']}, "
        f"{say('电话', 'phone')} {h['phone'] or '-'}; "
        f"{say('状态', 'status')}: {value_word(data['status'])} ({data['campaign']})"
    )
    flagged = set(data["flagged"])
    names = {p["id"]: p["name"] for p in data["members"]}
    show_table(
        say("成员", "Members"),
        [say("人员", "Person"), say("姓名", "Name"), say("性别", "Sex"), say("出生", "Born"),
         say("居住", "Residency"), say("一人一档", "File")],
        [[p["id"], p["name"], value_word(p["sex"]), p["birth_date"] or "-",
          value_word(p["residency"]), say("是", "yes") if p["id"] in flagged else ""]
         for p in data["members"]],
    )  # fmt: skip
    show_table(
        say("走访", "Visits"),
        [say("时间", "Time"), say("方式", "Channel"), say("结果", "Outcome"),
         say("小分队", "Team"), say("备注", "Note")],
        [[_time(v["at"]), value_word(v["channel"]), value_word(v["outcome"]),
          v["team_id"] or "-", v["note"]] for v in data["visits"]],
    )  # fmt: skip
    show_table(
        say("筛查", "Screenings"),
        [say("时间", "Time"), say("人员", "Person"), "°C", say("史", "History"),
         say("标记", "Flags")],
        [[_time(x["at"]), names.get(x["person_id"], x["person_id"]), *_answers(x)]
         for x in data["screenings"]],
        numeric={2},
    )  # fmt: skip


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
    p = data["person"]
    echo(f"{say('人员', 'Person')} {p['id']}  {p['name']}  ({value_word(p['residency'])})")
    echo(f"{say('户', 'Household')} {data['household']['id']}  {data['household']['address']}")
    echo(
        f"{say('身份证', 'Identity')} {p['resident_id'] or '-'}, "
        f"{say('电话', 'phone')} {p['phone'] or '-'}, "
        f"{say('出生', 'born')} {p['birth_date'] or '-'}"
    )
    verdict = say("一人一档", "flagged") if data["flagged"] else say("无需建档", "not flagged")
    echo(f"{verdict}: {_flags_text(data['flags'])}")
    show_table(
        say("筛查", "Screenings"),
        [say("时间", "Time"), "°C", say("史", "History"), say("标记", "Flags")],
        [[_time(x["at"]), *_answers(x)] for x in data["screenings"]],
        numeric={1},
    )


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
    labels = [chinese if zh else en for (en, chinese), _ in columns]
    legend: list[str] = []
    if console.width - sum(w + 2 for w in roomy) - 6 >= 8:
        widths = roomy
    elif not zh:  # an English word wider than its figures: abbreviated, and said so below
        for n, ((en, _), key) in enumerate(columns):
            if max(len(word) for word in en.split()) > widths[n]:
                labels[n] = _SHORT[key]
                widths[n] = max(widths[n], len(labels[n]))
                legend.append(f"{_SHORT[key]} = {en.lower()}")
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
    headers = [_wrap(label, w).split("\n") for label, w in zip(labels, widths, strict=True)]
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
    if legend:
        echo("; ".join(legend))
