"""``gridguard team create|list|import``: sweep and service teams, checked against a policy.

A team's composition is checked by the named policy given with
``--policy`` (:data:`POLICIES`): ``doctor`` (the library's default: at
least two members, one a doctor) or ``three`` (the 2020 teams of three: a
cadre, a doctor and a police officer). A team that falls short is refused,
each shortfall named. Registered in :data:`gridguard.cli.COMMANDS`; like
every command module it imports click only at its top.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_REFUSED,
    db_option,
    echo,
    echo_json,
    json_option,
    open_existing,
    role_word,
    say,
)

if TYPE_CHECKING:
    from ..model import CompositionPolicy
    from ..workspace import Workspace

__all__ = ["POLICY_NAMES", "composition_policy", "policy_option", "team"]

POLICY_NAMES = ("doctor", "three")

policy_option = click.option(
    "--policy",
    type=click.Choice(POLICY_NAMES),
    default="doctor",
    show_default=True,
    help="Team composition: doctor (two or more, one a doctor) or three "
    "(a cadre, a doctor and a police officer).",
)
"""The ``--policy`` option (parameter ``policy``)."""

ROLES = {
    "cadre": "cadre", "社区干部": "cadre", "干部": "cadre", "党员干部": "cadre",
    "工作人员": "cadre",
    "doctor": "doctor", "医生": "doctor", "医护": "doctor", "医务人员": "doctor", "护士": "doctor",
    "police": "police", "民警": "police", "警察": "police", "社区民警": "police", "辅警": "police",
    "volunteer": "volunteer", "志愿者": "volunteer", "党员志愿者": "volunteer",
    "grid_worker": "grid_worker", "网格员": "grid_worker",
}  # fmt: skip

TEAM_ALIASES = {
    "team": ("小分队", "队伍", "队名", "小分队名称", "team_name", "队伍名称"),
    "kind": ("类型", "队伍类型", "team_kind"),
    "home_grid": ("网格", "负责网格", "所属网格", "grid"),
    "name": ("姓名", "成员姓名", "member", "member_name"),
    "role": ("角色", "职务", "身份", "member_role"),
    "phone": ("联系电话", "手机号", "电话", "手机", "mobile"),
    "party_member": ("党员", "是否党员", "party"),
}
TEAM_FIELDS = tuple(TEAM_ALIASES)
KINDS = {"sweep": "sweep", "走访": "sweep", "入户": "sweep", "摸查": "sweep",
         "service": "service", "服务": "service", "服务队": "service"}  # fmt: skip


def composition_policy(name: str) -> CompositionPolicy:
    """The named composition policy."""
    from ..model import CompositionPolicy, MemberRole, TeamKind

    if name == "three":
        return CompositionPolicy(
            min_members={TeamKind.SWEEP: 3, TeamKind.SERVICE: 1},
            required_roles={
                TeamKind.SWEEP: {
                    MemberRole.CADRE: 1,
                    MemberRole.DOCTOR: 1,
                    MemberRole.POLICE: 1,
                },
                TeamKind.SERVICE: {},
            },
        )
    return CompositionPolicy()


def _member(text: str) -> Any:
    """``陈建国:医生[:13800138000][:党员]`` as a team member."""
    from ..errors import ConfigError
    from ..model import TeamMember

    parts = [p.strip() for p in text.replace("：", ":").split(":")]
    if len(parts) < 2:
        raise ConfigError(f"--member {text!r}: give NAME:ROLE[:PHONE][:党员]")
    role = ROLES.get(parts[1].lower())
    if role is None:
        raise ConfigError(
            f"--member {text!r}: unknown role {parts[1]!r} "
            "(社区干部/cadre, 医生/doctor, 民警/police, 志愿者/volunteer, 网格员/grid_worker)"
        )
    rest = parts[2:]
    party = any(p in ("党员", "party") for p in rest)
    phones = [p for p in rest if p not in ("党员", "party") and p]
    return TeamMember(
        name=parts[0], role=role, party_member=party, phone=phones[0] if phones else None
    )


def team_dict(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "area_id": record.area_id,
        "kind": record.kind.value,
        "home_grid_id": record.home_grid_id,
        "members": [
            {"name": m.name, "role": m.role.value, "party_member": m.party_member}
            for m in record.members
        ],
    }


def _check(teams: list[Any], policy: str) -> None:
    from ..errors import ValidationError

    checker = composition_policy(policy)
    problems = []
    for team_record in teams:
        for violation in checker.violations(team_record):
            problems.append(violation.prefixed(f"team {team_record.id} ({team_record.name})"))
    if problems:
        raise ValidationError(problems)


def _grid_id(ws: Workspace, community: str, text: str | None) -> str | None:
    """A grid by id or by name below ``community`` (names are what a teams file holds)."""
    from ..errors import NotFoundError
    from ..model import Area, AreaLevel

    if text is None:
        return None
    grids = list(ws.find(Area, level=AreaLevel.GRID.value))
    for grid in grids:
        if grid.id == text:
            return grid.id
    named = [g for g in grids if g.name == text and g.parent_id == community]
    if len(named) == 1:
        return named[0].id
    raise NotFoundError(f"unknown grid {text!r} in community {community!r}")


@click.group()
def team() -> None:
    """Teams (小分队, 服务队): create one, import a teams file, list them."""


@team.command("create")
@click.argument("team_id", metavar="ID")
@db_option()
@click.option("--name", required=True, help="The team's name, such as 第一小分队.")
@click.option("--area", "area_id", required=True, help="The community the team works for.")
@click.option("--kind", type=click.Choice(["sweep", "service"]), default="sweep", show_default=True)
@click.option("--home-grid", help="The grid it starts from (an id or a grid's name).")
@click.option(
    "--member",
    "members",
    multiple=True,
    metavar="NAME:ROLE[:PHONE][:党员]",
    help="A member, such as 陈建国:医生:13800138000 (repeat for each).",
)
@policy_option
@json_option()
def create(
    team_id: str,
    target: str,
    name: str,
    area_id: str,
    kind: str,
    home_grid: str | None,
    members: tuple[str, ...],
    policy: str,
    as_json: bool,
) -> None:
    """Create team ID (running it again with other members updates it)."""
    from ..model import Team

    with open_existing(target, community=area_id) as ws:
        record = Team(
            id=team_id,
            name=name,
            area_id=area_id,
            kind=kind,
            members=[_member(m) for m in members],
            home_grid_id=_grid_id(ws, area_id, home_grid),
        )
        _check([record], policy)
        ws.add([record])
    if as_json:
        echo_json(team_dict(record))
    else:
        n = len(record.members)
        size = say(f"{n:,} 人", f"{n:,} members")
        echo(f"{say('小分队', 'team')} {record.id} {record.name}: {size}")


@team.command("list")
@db_option()
@click.option("--area", "area_id", help="Only this community's teams.")
@json_option()
def list_command(target: str, area_id: str | None, as_json: bool) -> None:
    """Every team, with its members' roles (names masked)."""
    from ..masking import mask_name
    from ..model import Team

    with open_existing(target, community=area_id) as ws:
        found = ws.find(Team, area_id=area_id) if area_id else ws.find(Team)
    rows = [team_dict(t) for t in found]
    if as_json:
        for row in rows:
            for member in row["members"]:
                member["name"] = mask_name(member["name"])
        echo_json(rows)
        return
    for row in rows:
        roles = ", ".join(f"{mask_name(m['name'])} {role_word(m['role'])}" for m in row["members"])
        grid = f" · {say('网格', 'grid')} {row['home_grid_id']}" if row["home_grid_id"] else ""
        echo(f"{row['id']} {row['name']} [{_kind(row['kind'])}{grid}]: {roles}")


def _kind(kind: str) -> str:
    """A team's kind in this run's language (an unknown one as it is)."""
    words = {"sweep": ("排查", "sweep"), "service": ("服务", "service")}
    zh, en = words.get(kind, (kind, kind))
    return say(zh, en)


@team.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@click.option("--area", "area_id", required=True, help="The community the teams work for.")
@click.option("--encoding", help="Text encoding of a CSV file (default: detected).")
@click.option("--format", "fmt", help="Importer to read the file with (default: by suffix).")
@policy_option
@json_option()
def import_command(
    file: Path,
    target: str,
    area_id: str,
    encoding: str | None,
    fmt: str | None,
    policy: str,
    as_json: bool,
) -> None:
    """Import a teams file: one row per member (小分队, 网格, 姓名, 角色, 联系电话, 党员).

    Members are grouped into teams by 小分队; a team's id is derived from
    the community and its name, so importing the file again changes
    nothing. Every team is checked against --policy before any is stored.
    """
    from ..model import Team
    from ..targeting.fields import derived_id
    from ..targeting.tables import BadRow, clean, layout, open_table

    with open_existing(target, community=area_id) as ws:
        table = open_table(ws, file, fmt, encoding)
        try:
            lay = layout(table.header, TEAM_FIELDS, TEAM_ALIASES, ("team", "name", "role"),
                         source=file.name)  # fmt: skip
            if lay.ignored:
                from ..errors import ValidationError

                raise ValidationError.single(
                    f"{file.name}:1", ", ".join(lay.ignored), "unknown column(s), nothing stored"
                )
            groups: dict[str, dict[str, Any]] = {}
            refused: list[str] = []
            for number, cells in table.rows:
                if isinstance(cells, BadRow):
                    refused.append(f"{file.name}:{number}: {cells.reason}")
                    continue
                v = {
                    f: (None if p is None else clean(cells[p]))
                    for f, p in zip(lay.fields, lay.positions, strict=True)
                }
                if not v["team"] or not v["name"] or not v["role"]:
                    refused.append(f"{file.name}:{number}: 小分队, 姓名 and 角色 are required")
                    continue
                spec = ":".join(
                    x
                    for x in (
                        v["name"],
                        v["role"],
                        v["phone"] or "",
                        "党员" if (v["party_member"] or "") in ("是", "党员", "yes", "1", "true")
                        else "",
                    )
                    if x is not None
                )  # fmt: skip
                try:
                    member = _member(spec)
                except Exception as exc:
                    refused.append(f"{file.name}:{number}: {exc}")
                    continue
                group = groups.setdefault(
                    v["team"], {"members": [], "grid": v["home_grid"], "kind": v["kind"]}
                )
                group["members"].append(member)
                group["grid"] = group["grid"] or v["home_grid"]
        finally:
            table.close()
        teams = [
            Team(
                id=derived_id("t", area_id, name),
                name=name,
                area_id=area_id,
                kind=KINDS.get((g["kind"] or "sweep").lower(), "sweep"),
                members=g["members"],
                home_grid_id=_grid_id(ws, area_id, g["grid"]),
            )
            for name, g in groups.items()
        ]
        _check(teams, policy)
        result = ws.add(teams)
    summary = {
        "file": str(file),
        "teams": len(teams),
        "members": sum(len(t.members) for t in teams),
        "written": result.written,
        "refused": refused,
    }
    if as_json:
        echo_json(summary)
    else:
        echo(
            say(
                f"{file.name}：小分队 {summary['teams']:,} 个，成员 {summary['members']:,} 人，"
                f"新增或更新 {result.written:,}",
                f"{file.name}: {summary['teams']:,} teams, {summary['members']:,} members, "
                f"{result.written:,} new or changed",
            )
        )
        for line in refused:
            click.secho(line, fg="red", err=True)
    if refused:
        sys.exit(EXIT_REFUSED)
