"""``gridguard campaign create|list|show|close``: the level-1 response a community runs in.

Registered in :data:`gridguard.cli.COMMANDS`; like every command module it
imports click only at its top, the rest inside the commands. Days are read
and printed in the campaign's time zone.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    open_existing,
    parse_date,
    say,
)

__all__ = ["campaign"]


def _outbreak(text: str) -> Any:
    """``武汉`` or ``武汉:4201`` (a name and an administrative-code prefix)."""
    from ..model import OutbreakArea

    name, _, code = text.partition(":")
    return OutbreakArea(name=name.strip(), code=code.strip() or None)


def campaign_dict(record: Any) -> dict[str, Any]:
    """A campaign as plain data (dates as ISO text)."""
    return {
        "id": record.id,
        "name": record.name,
        "scope": list(record.scope),
        "start": record.start.isoformat(),
        "end": None if record.end is None else record.end.isoformat(),
        "time_zone": record.time_zone,
        "outbreak_areas": [{"name": o.name, "code": o.code} for o in record.outbreak_areas],
        "look_back_days": record.look_back_days,
    }


def _text(data: dict[str, Any]) -> str:
    areas = ", ".join(
        o["name"] + (f" ({o['code']})" if o["code"] else "") for o in data["outbreak_areas"]
    )
    end = data["end"] or say("进行中", "open")
    return (
        f"{data['id']} {data['name']}: {data['start']} .. {end} ({data['time_zone']}); "
        f"{say('范围', 'scope')} {', '.join(data['scope'])}; "
        f"{say('疫情发生地', 'outbreak areas')} {areas or '-'}"
    )


@click.group()
def campaign() -> None:
    """Campaigns (一级响应): create one, list them, show one, close one."""


@campaign.command("create")
@click.argument("campaign_id", metavar="ID")
@db_option()
@click.option("--name", required=True, help="The campaign's name, such as 华苑社区一级响应.")
@click.option(
    "--scope",
    "scope",
    multiple=True,
    required=True,
    metavar="AREA",
    help="An area the campaign covers (a community; repeat for more).",
)
@date_option("First day, YYYY-MM-DD.", required=True)
@click.option(
    "--time-zone",
    default="Asia/Shanghai",
    show_default=True,
    help="The zone its days are counted in.",
)
@click.option(
    "--outbreak",
    "outbreaks",
    multiple=True,
    metavar="NAME[:CODE]",
    help="An outbreak area (疫情发生地), with an administrative-code prefix (repeat for more).",
)
@click.option(
    "--look-back-days",
    type=int,
    default=14,
    show_default=True,
    help="Days of travel history asked.",
)
@json_option()
def create(
    campaign_id: str,
    target: str,
    name: str,
    scope: tuple[str, ...],
    day: str,
    time_zone: str,
    outbreaks: tuple[str, ...],
    look_back_days: int,
    as_json: bool,
) -> None:
    """Create campaign ID (or change it: running it again with other values updates it)."""
    from ..model import Campaign

    start = parse_date(day)
    assert start is not None  # --date is required
    with open_existing(target, area=list(scope)) as ws:
        record = Campaign(
            id=campaign_id,
            name=name,
            scope=scope,
            start=start,
            time_zone=time_zone,
            outbreak_areas=[_outbreak(o) for o in outbreaks],
            look_back_days=look_back_days,
        )
        ws.add([record])
    data = campaign_dict(record)
    if as_json:
        echo_json(data)
    else:
        echo(f"{say('行动', 'campaign')} {_text(data)}")


@campaign.command("list")
@db_option()
@json_option()
def list_command(target: str, as_json: bool) -> None:
    """Every campaign of the store."""
    from ..model import Campaign

    with open_existing(target) as ws:
        found = [campaign_dict(c) for c in ws.find(Campaign)]
    if as_json:
        echo_json(found)
        return
    if not found:
        echo(
            say("尚无行动", "no campaign yet")
            + ": gridguard campaign create ID --name ... --scope ..."
        )
    for data in found:
        echo(_text(data))


@campaign.command("show")
@click.argument("campaign_id", metavar="ID")
@db_option()
@json_option()
def show(campaign_id: str, target: str, as_json: bool) -> None:
    """One campaign: its scope, days, time zone and outbreak areas."""
    from ..model import Campaign

    with open_existing(target, campaign=campaign_id) as ws:
        data = campaign_dict(ws.get(Campaign, campaign_id))
    if as_json:
        echo_json(data)
    else:
        echo(_text(data))


@campaign.command("close")
@click.argument("campaign_id", metavar="ID")
@db_option()
@date_option("Last day, YYYY-MM-DD (default: today in the campaign's time zone).")
@json_option()
def close(campaign_id: str, target: str, day: str | None, as_json: bool) -> None:
    """End campaign ID on a day; its personal data can be purged after the retention period."""
    import datetime as dt

    import attrs

    from ..model import Campaign

    given = parse_date(day)
    with open_existing(target, campaign=campaign_id) as ws:
        record = ws.get(Campaign, campaign_id)
        end = given or dt.datetime.now(record.zone).date()
        record = attrs.evolve(record, end=end)
        ws.update(record, expected_version=ws.version(Campaign, campaign_id))
    data = campaign_dict(record)
    if as_json:
        echo_json(data)
    else:
        echo(f"{say('已结束', 'closed')}: {_text(data)}")
