"""The building watch's commands: ``observer assign|coverage``, ``checkin record|missing``.

Registered in :data:`gridguard.cli.COMMANDS`; like every command module it
imports click only at its top, the rest inside the commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    EXIT_REFUSED,
    at_option,
    campaign_option,
    check_ids,
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    notify_config_option,
    notify_settings,
    open_existing,
    parse_at,
    parse_date,
    say,
    show_table,
)

if TYPE_CHECKING:
    from ..watch.missed import WatchSettings

__all__ = ["checkin", "observer"]

_json = json_option("Print JSON instead of text.")


def _watch(campaign_id: str | None, cutoff: str | None = None) -> WatchSettings:
    from ..errors import ConfigError, ValidationError
    from ..watch.missed import WatchSettings

    try:
        if cutoff is None:
            return WatchSettings(campaign=campaign_id)
        return WatchSettings(campaign=campaign_id, cutoff=cutoff)
    except ValidationError as exc:
        raise ConfigError(f"--cutoff: {exc.violations[0].rule} (got {cutoff!r})") from None


# -- observer --------------------------------------------------------------------------------


@click.group()
def observer() -> None:
    """Building observers (楼幢观察员): assign one per building, see which buildings have one."""


@observer.command("assign")
@click.argument("building_id")
@click.argument("person_id", required=False)
@db_option()
@click.option("--remove", is_flag=True, help="Take the building's observer away.")
def assign(building_id: str, person_id: str | None, target: str, remove: bool) -> None:
    """Make PERSON_ID (a person with a phone) the observer of BUILDING_ID.

    The building may be named (牡丹阁3幢, or with its compound 百苑新村牡丹阁3幢)
    and the person too (陈建国), when the name is unique: a person's name is
    looked for among the building's residents.
    """
    from ..errors import ConfigError
    from ..watch.observers import assign_observer

    if (person_id is None) != remove:
        raise ConfigError("name the person to assign, or give --remove (not both)")
    with open_existing(target) as ws:
        building_id, person_id = _named(ws, building_id, person_id)
        check_ids(ws, building=building_id, person=person_id)
        building = assign_observer(ws, building_id, person_id)
    who = building.observer_id or say("无", "nobody")
    echo(f"{building.id} {building.name}: {say('观察员', 'observer')} {who}")


def _named(ws: Any, building: str, person: str | None) -> tuple[str, str | None]:
    """Ids for a building and a person given by id or by a unique name."""
    from ..errors import NotFoundError
    from ..model import Building, Household, Person, Stairwell

    with ws.transaction(write=False) as uow:
        known = uow.existing_ids(Building, {building})
    if not known:
        named = [
            b.id for b in ws.find(Building) if building in (b.name, f"{b.compound or ''}{b.name}")
        ]
        if len(named) > 1:
            raise NotFoundError(f"several buildings are called {building!r}: give the id")
        building = named[0] if named else building
    if person is None:
        return building, None
    with ws.transaction(write=False) as uow:
        known = uow.existing_ids(Person, {person})
    if not known:
        residents = [
            p.id
            for s in ws.find(Stairwell, building_id=building)
            for h in ws.find(Household, stairwell_id=s.id)
            for p in ws.find(Person, household_id=h.id)
            if p.name == person
        ]
        if len(residents) > 1:
            raise NotFoundError(f"several residents are called {person!r}: give the id")
        person = residents[0] if residents else person
    return building, person


@observer.command("coverage")
@db_option()
@click.option(
    "--by",
    type=click.Choice(["area", "community"]),
    default="area",
    show_default=True,
    help="Count per grid (area) or per community.",
)
@click.option("--points", is_flag=True, help="Monitoring points per village instead.")
@_json
def coverage(target: str, by: str, points: bool, as_json: bool) -> None:
    """Buildings with and without an observer (or village groups with a staffed point)."""
    from ..watch.observers import observer_coverage
    from ..watch.points import point_coverage

    with open_existing(target) as ws:
        rows = point_coverage(ws) if points else observer_coverage(ws, by)
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    show_table(
        None,
        [say("区域", "Area"), say("名称", "Name"),
         say("村小组", "Village groups") if points else say("楼幢", "Buildings"),
         say("有人值守", "Observed"), say("无观察员", "Without")],
        [[r.area_id, r.name, r.places, r.observed, r.unobserved] for r in rows],
        numeric={2, 3, 4},
    )  # fmt: skip


# -- checkin ---------------------------------------------------------------------------------


@click.group()
def checkin() -> None:
    """Observers' daily check-ins (报平安): record them, find the places that did not report."""


@checkin.command("record")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@db_option()
@campaign_option
@notify_config_option()
@click.option("--format", "fmt", help="Importer name (default: by the file's suffix).")
@_json
def record(
    file: str,
    target: str,
    campaign_id: str | None,
    config: str | None,
    fmt: str | None,
    as_json: bool,
) -> None:
    """Record check-ins from FILE (JSON lines or CSV); running it twice changes nothing.

    Each JSON line is a check-in with its "anomalies"; a CSV file has one
    row per anomaly. Bad lines are listed with their line number and not
    stored; the others are. The exit status is 1 when any line was refused.
    """
    from ..watch.checkins import record_file

    with open_existing(target, campaign=campaign_id) as ws:
        report = record_file(
            ws,
            file,
            format=fmt,
            notify=notify_settings(config, campaign_id),
            settings=_watch(campaign_id),
        )
    if as_json:
        echo_json({"file": file, **report.to_dict()})
    else:
        echo(
            say(
                f"{file}：报平安 {report.records:,} 条，接受 {report.accepted:,}，"
                f"拒收 {report.rejected:,}；新增 {report.written:,}，已有 {report.unchanged:,}；"
                f"生成任务 {report.tasks:,} 项、消息 {report.messages:,} 条",
                f"{file}: {report.records:,} check-ins, {report.accepted:,} accepted, "
                f"{report.rejected:,} refused; {report.written:,} new, {report.unchanged:,} "
                f"already stored; {report.tasks:,} tasks and {report.messages:,} messages made",
            )
        )
        for error in report.errors:
            click.secho(f"{file}:{error}", fg="red", err=True)
    if report.rejected:
        sys.exit(EXIT_REFUSED)


@checkin.command("missing")
@date_option("Local day (YYYY-MM-DD) in the campaign's time zone.", required=True)
@db_option()
@campaign_option
@notify_config_option()
@click.option("--cutoff", help="Local time the report is due by, HH:MM (default 12:00).")
@click.option("--points", is_flag=True, help="Health monitoring points instead of buildings.")
@click.option(
    "--escalate",
    is_flag=True,
    help="Also run the escalation ladder: enqueue each due rung once per place and day.",
)
@at_option()
@_json
def missing_command(
    day: str,
    target: str,
    campaign_id: str | None,
    config: str | None,
    cutoff: str | None,
    points: bool,
    escalate: bool,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Places with an observer and no report on DATE by the cut-off.

    With --escalate, the places still silent are escalated rung by rung
    (observer, grid worker, community) through the notification outbox;
    running it again enqueues nothing twice.
    """

    from ..notifications.routing import campaign_zone
    from ..watch import missed as watch

    date = parse_date(day)
    assert date is not None  # --date is required
    settings = _watch(campaign_id, cutoff)
    kind = watch.POINTS if points else watch.BUILDINGS
    with open_existing(target, campaign=campaign_id) as ws:
        now = parse_at(at_text, campaign_zone(ws, campaign_id))
        found = watch.missing(ws, date, settings=settings, kind=kind)
        report = None
        if escalate:
            report = watch.escalate(
                ws,
                date,
                now=now,
                settings=settings,
                notify=notify_settings(config, campaign_id),
                kind=kind,
            )
    if as_json:
        data: dict[str, Any] = {
            "date": date.isoformat(),
            "kind": kind.name,
            "cutoff": settings.cutoff,
            "missing": [m.to_dict() for m in found],
        }
        if report is not None:
            data["escalation"] = report.to_dict()
        echo_json(data)
        return
    label = say("个监测点", "monitoring points") if points else say("幢楼", "buildings")
    echo(
        say(
            f"{date.isoformat()}：{len(found):,} {label}未在 {settings.cutoff} 前报平安",
            f"{date.isoformat()}: {len(found):,} {label} without a report by {settings.cutoff}",
        )
    )
    for place in found:
        echo(f"  {place.place_id} {place.name} ({say('观察员', 'observer')} {place.observer_id})")
    if report is not None:
        due = ", ".join(report.rungs_due) or say("暂无", "none yet")
        echo(
            say(
                f"逐级提醒：到期层级 {due}；新消息 {report.enqueued:,} 条",
                f"Escalation: rungs due {due}; {report.enqueued:,} new messages",
            )
        )
