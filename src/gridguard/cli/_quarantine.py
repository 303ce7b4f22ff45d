"""``gridguard quarantine ...`` and ``gridguard service ...``: the second line's home monitoring.

Registered in :data:`gridguard.cli.COMMANDS`; like every command module it
imports click only at its top, the rest inside the commands. Times are ISO
8601 with an offset (``2020-01-30T08:00+08:00``); a time without one is
read in the campaign's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    at_option,
    campaign_option,
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    local_time,
    open_existing,
    parse_date,
    say,
    show_table,
    value_word,
)

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["quarantine", "service"]

_at = at_option()


def _zone(ws: Workspace, campaign_id: str | None) -> Any:
    from ..notifications.routing import campaign_zone

    return campaign_zone(ws, campaign_id)


def _instant(ws: Workspace, campaign_id: str | None, text: str | None, name: str) -> dt.datetime:
    from ..errors import ValidationError

    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single(f"$.{name}", repr(text), "must be an ISO 8601 time") from None
    if value.utcoffset() is None:
        value = value.replace(tzinfo=_zone(ws, campaign_id))
    return value.astimezone(dt.UTC)


def _echo(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        echo_json(data)
    else:
        echo(text)


_EXPOSURE_KINDS = (
    "confirmed_case",
    "household_member_of_case",
    "contact_of_contact",
    "outbreak_area_arrival",
    "trip_return",
    "suspected_case",
    "other",
)
"""What ``--exposure`` accepts: the exposure kinds of the model, and a trip's return."""


def _order_dict(order: Any) -> dict[str, Any]:
    from ..serialization import converter

    data: dict[str, Any] = converter.unstructure(order)
    return data


# -- quarantine ----------------------------------------------------------------------------------


@click.group()
def quarantine() -> None:
    """Quarantine (居家/集中隔离): order, report, check, extend, release, census."""


@quarantine.command("order")
@db_option()
@campaign_option
@click.option("--person", "person_id", help="The person to quarantine.")
@click.option("--household", "household_id", help="A whole household (without --person).")
@click.option("--kind", type=click.Choice(["home", "central"]), default="home", show_default=True)
@click.option(
    "--last-exposure", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD."
)
@click.option("--by", "ordered_by", required=True, help="Who orders it.")
@click.option("--reason", required=True, help="Why.")
@click.option("--days", type=int, help="Days of observation after the last exposure (default 14).")
@click.option(
    "--exposure",
    "exposure_kind",
    type=click.Choice(_EXPOSURE_KINDS),
    help="What the exposure was (recorded on the order).",
)
@_at
@json_option()
def order_command(
    target: str,
    campaign_id: str | None,
    person_id: str | None,
    household_id: str | None,
    kind: str,
    last_exposure: dt.datetime,
    ordered_by: str,
    reason: str,
    days: int | None,
    exposure_kind: str | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Order a person or a whole household into quarantine by hand.

    The order covers the day after the last exposure to day 14 (``--days``);
    it is released the day after.
    """
    from ..quarantine import QuarantinePolicy, order_household, order_quarantine

    with open_existing(
        target, campaign=campaign_id, person=person_id, household=household_id
    ) as ws:
        policy = None
        if days is not None:
            policy = QuarantinePolicy(days=days, time_zone=str(_zone(ws, campaign_id)))
        if household_id is not None and person_id is None:
            done = order_household(
                ws,
                household_id,
                kind=kind,
                last_exposure=last_exposure.date(),
                ordered_by=ordered_by,
                reason=reason,
                exposure_kind=exposure_kind,
                campaign_id=campaign_id,
                at=_instant(ws, campaign_id, at_text, "at"),
                policy=policy,
            )
            lines = [
                say(
                    f"{m.person_id}：{_ACTIONS[m.action]}隔离令 {m.order_id}，"
                    f"{m.end.isoformat()} 解除",
                    f"{m.person_id}: {m.action} order {m.order_id}, "
                    f"released on {m.end.isoformat()}",
                )
                for m in done.members
            ]
            nobody = say(f"{household_id}：无成员", f"{household_id}: no members")
            _echo(done.as_dict(), as_json, "\n".join(lines) or nobody)
            return
        order = order_quarantine(
            ws,
            person_id=person_id,
            household_id=household_id,
            kind=kind,
            last_exposure=last_exposure.date(),
            ordered_by=ordered_by,
            reason=reason,
            exposure_kind=exposure_kind,
            campaign_id=campaign_id,
            at=_instant(ws, campaign_id, at_text, "at"),
            policy=policy,
        )
    _echo(
        _order_dict(order),
        as_json,
        say(
            f"隔离令 {order.id}：{order.person_id or order.household_id} "
            f"{value_word(order.kind.value)} {order.start.isoformat()} .. "
            f"{order.last_day.isoformat()}，{order.end.isoformat()} 解除",
            f"order {order.id}: {order.person_id or order.household_id} "
            f"{value_word(order.kind.value)} {order.start.isoformat()} .. "
            f"{order.last_day.isoformat()}, released on {order.end.isoformat()}",
        ),
    )


_ACTIONS = {"ordered": "新下达", "extended": "已延长", "covered": "已覆盖"}
"""The words for what a household order did for a member."""


@quarantine.command("report")
@db_option()
@campaign_option
@click.option("--person", "person_id", required=True, help="Who reports.")
@click.option("--temperature", type=float, help="Temperature in °C (30-45).")
@click.option("--symptom", "symptoms", multiple=True, help="A symptom (repeat for more).")
@click.option("--id", "fact_id", help="Report id (UUID), so that a retry stores it once.")
@_at
@json_option()
def report_command(
    target: str,
    campaign_id: str | None,
    person_id: str,
    temperature: float | None,
    symptoms: tuple[str, ...],
    fact_id: str | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Record a health report of a person under quarantine (twice a day)."""
    import uuid

    from ..errors import ValidationError
    from ..model import HealthReport
    from ..quarantine import record_reports

    with open_existing(target, campaign=campaign_id, person=person_id) as ws:
        try:
            ident = uuid.UUID(fact_id) if fact_id else uuid.uuid4()
        except ValueError:
            raise ValidationError.single("$.id", repr(fact_id), "must be a UUID") from None
        report = HealthReport(
            id=ident,
            at=_instant(ws, campaign_id, at_text, "at"),
            person_id=person_id,
            temperature=temperature,
            symptoms=symptoms,
        )
        result = record_reports(ws, [report], campaign_id=campaign_id)
    data = {"id": str(report.id), **_asdict(result)}
    text = f"report {report.id} stored" if result.written else f"report {report.id} already stored"
    if result.referrals:
        text += "; referred to the fever clinic, community doctor notified"
    _echo(data, as_json, text)


def _asdict(obj: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(obj)


@quarantine.command("check")
@db_option()
@campaign_option
@at_option("Check as of this time (default: now; without an offset, in the campaign's zone).")
@click.option("--since", "since_text", help="First slot to check (default: a day before --at).")
@json_option()
def check_command(
    target: str,
    campaign_id: str | None,
    at_text: str | None,
    since_text: str | None,
    as_json: bool,
) -> None:
    """Make a phone-call task for each half-day with no health report (once per slot)."""
    from ..quarantine import check_missed

    with open_existing(target, campaign=campaign_id) as ws:
        now = _instant(ws, campaign_id, at_text, "at")
        since = _instant(ws, campaign_id, since_text, "since") if since_text else None
        result = check_missed(ws, now=now, since=since, campaign_id=campaign_id)
    missed = [
        {"person_id": m.person_id, "household_id": m.household_id, "slot": m.slot}
        for m in result.missed
    ]
    data = {"checked": result.checked, "missed": missed, "new_tasks": result.new_tasks}
    lines = [f"{m['slot']}  {m['person_id']}" for m in missed]
    lines.append(
        say(
            f"已检查 {result.checked:,} 个时段，漏报 {len(missed):,} 个，"
            f"新增电话随访 {result.new_tasks:,} 项",
            f"{result.checked:,} slots checked, {len(missed):,} missed, "
            f"{result.new_tasks:,} new phone calls",
        )
    )
    _echo(data, as_json, "\n".join(lines))


@quarantine.command("extend")
@db_option()
@campaign_option
@click.argument("order_id")
@click.option(
    "--last-exposure", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD."
)
@click.option("--reason", default="", help="The new exposure.")
@_at
@json_option()
def extend_command(
    target: str,
    campaign_id: str | None,
    order_id: str,
    last_exposure: dt.datetime,
    reason: str,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Extend an order after a new exposure (its end only moves later)."""
    from ..quarantine import extend

    with open_existing(target, campaign=campaign_id) as ws:
        result = extend(
            ws,
            order_id,
            last_exposure=last_exposure.date(),
            reason=reason,
            at=_instant(ws, campaign_id, at_text, "at"),
            campaign_id=campaign_id,
        )
    data = {
        "order_id": order_id,
        "extended": result.extended,
        "previous_end": result.previous_end.isoformat(),
        "end": result.order.end.isoformat(),
    }
    end = result.order.end.isoformat()
    text = (
        say(f"隔离令 {order_id} 现于 {end} 解除", f"order {order_id} now ends {end}")
        if result.extended
        else say(
            f"隔离令 {order_id} 未变：已于 {end} 解除",
            f"order {order_id} unchanged: it already ends {end}",
        )
    )
    _echo(data, as_json, text)


@quarantine.command("release")
@db_option()
@campaign_option
@click.argument("order_id", required=False)
@click.option("--due", is_flag=True, help="Release every order whose end has come.")
@click.option("--reason", default="", help="Why (needed before the end).")
@click.option("--by", "released_by", help="Who releases (needed before the end).")
@_at
@json_option()
def release_command(
    target: str,
    campaign_id: str | None,
    order_id: str | None,
    due: bool,
    reason: str,
    released_by: str | None,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Release one order (early only with --reason and --by), or all that are due (--due)."""
    from ..errors import ValidationError
    from ..quarantine import release, release_due

    if (order_id is None) == (not due):
        raise ValidationError.single("$.order_id", repr(order_id), "give an order id or --due")
    with open_existing(target, campaign=campaign_id) as ws:
        at = _instant(ws, campaign_id, at_text, "at")
        if due:
            records = release_due(ws, at=at, campaign_id=campaign_id)
        else:
            assert order_id is not None
            records = [
                release(
                    ws,
                    order_id,
                    reason=reason,
                    released_by=released_by,
                    at=at,
                    campaign_id=campaign_id,
                )
            ]
    data = {
        "released": [
            {"order_id": r.order_id, "early": r.early, "end": r.end.isoformat()} for r in records
        ]
    }
    _echo(data, as_json, say(f"已解除 {len(records):,} 人", f"{len(records):,} released"))


@quarantine.command("census")
@db_option()
@campaign_option
@date_option("Local day, YYYY-MM-DD (default: today in the campaign's time zone).")
@click.option(
    "--by", type=click.Choice(["community", "grid"]), default="community", show_default=True
)
@json_option()
def census_command(
    target: str, campaign_id: str | None, day: str | None, by: str, as_json: bool
) -> None:
    """Active, new, ending and released quarantines per area, for one day."""
    from ..quarantine import census
    from ..quarantine.census import CENSUS_FIELDS

    when = parse_date(day)
    with open_existing(target, campaign=campaign_id) as ws:
        rows = census(ws, day=when, by=by, campaign_id=campaign_id)
    if as_json:
        echo_json({"areas": [r.as_dict() for r in rows]})
        return
    headers = {
        "active": ("在管隔离", "Active"),
        "new_today": ("今日新增", "New today"),
        "ending_today": ("今日期满", "Ending today"),
        "released_today": ("今日解除", "Released today"),
        "release_due": ("待解除", "Release due"),
    }
    show_table(
        None,
        [say("区域", "Area"), *(say(*headers.get(f, (f, f))) for f in CENSUS_FIELDS)],
        [[row.area_id, *(getattr(row, f) for f in CENSUS_FIELDS)] for row in rows],
        numeric=set(range(1, len(CENSUS_FIELDS) + 1)),
    )


# -- service -------------------------------------------------------------------------------------


@click.group()
def service() -> None:
    """Services for quarantined households (买菜送菜): request, assign, done, overdue."""


def _open_dict(item: Any) -> dict[str, Any]:
    data: dict[str, Any] = item.as_dict()
    return data


@service.command("request")
@db_option()
@campaign_option
@click.option("--household", "household_id", required=True)
@click.option(
    "--kind",
    "kind",
    type=click.Choice(["groceries", "medicine", "other"]),
    default="groceries",
    show_default=True,
)
@click.option("--note", default="", help="What is needed.")
@_at
@json_option()
def request_command(
    target: str,
    campaign_id: str | None,
    household_id: str,
    kind: str,
    note: str,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Record a request from a quarantined household."""
    from ..services import request_service

    with open_existing(target, campaign=campaign_id, household=household_id) as ws:
        request = request_service(
            ws,
            household_id=household_id,
            service=kind,
            note=note,
            at=_instant(ws, campaign_id, at_text, "at"),
            campaign_id=campaign_id,
        )
    _echo(
        {"id": str(request.id), "household_id": household_id, "service": kind},
        as_json,
        f"{say('服务请求', 'request')} {request.id}",
    )


@service.command("assign")
@db_option()
@campaign_option
@click.argument("request_id")
@click.option("--team", "team_id", help="A service team.")
@click.option("--person", "person_id", help="A person.")
@click.option("--due", "due_text", help="Due time (default: 24 hours after the request).")
@json_option()
def assign_command(
    target: str,
    campaign_id: str | None,
    request_id: str,
    team_id: str | None,
    person_id: str | None,
    due_text: str | None,
    as_json: bool,
) -> None:
    """Give a request to a service team or a person."""
    from ..services import assign_service

    with open_existing(target, campaign=campaign_id, team=team_id, person=person_id) as ws:
        due = _instant(ws, campaign_id, due_text, "due") if due_text else None
        zone = _zone(ws, campaign_id)
        assignment = assign_service(
            ws, request_id, team_id=team_id, person_id=person_id, due=due, campaign_id=campaign_id
        )
    _echo(
        {
            "request_id": request_id,
            "team_id": assignment.team_id,
            "person_id": assignment.person_id,
            "due": assignment.due.isoformat(),
        },
        as_json,
        say(
            f"服务请求 {request_id} -> {assignment.team_id or assignment.person_id}，"
            f"期限 {local_time(assignment.due, zone)}",
            f"request {request_id} -> {assignment.team_id or assignment.person_id}, "
            f"due {local_time(assignment.due, zone)}",
        ),
    )


@service.command("done")
@db_option()
@click.argument("request_id")
@click.option("--note", default="")
@click.option("--at", "at_text", help="When (ISO 8601; default: now).")
@json_option()
def done_command(
    target: str, request_id: str, note: str, at_text: str | None, as_json: bool
) -> None:
    """Record that a request was fulfilled."""
    from ..services import complete_service

    with open_existing(target) as ws:
        at = _instant(ws, None, at_text, "at")
        done = complete_service(ws, request_id, note=note, at=at)
    _echo(
        {"request_id": request_id, "at": done.at.isoformat()},
        as_json,
        f"{request_id} {say('已完成', 'done')}",
    )


@service.command("overdue")
@db_option()
@campaign_option
@at_option("As of this time (default: now; without an offset, in the campaign's zone).")
@json_option()
def overdue_command(
    target: str, campaign_id: str | None, at_text: str | None, as_json: bool
) -> None:
    """Open requests past their due time."""
    from ..services import overdue

    with open_existing(target, campaign=campaign_id) as ws:
        late = overdue(ws, now=_instant(ws, campaign_id, at_text, "at"), campaign_id=campaign_id)
        zone = _zone(ws, campaign_id)
    lines = [
        f"{local_time(o.due, zone)}  {o.household_id}  {value_word(o.service)}  "
        f"{o.team_id or o.person_id or '-'}"
        for o in late
    ]
    lines.append(say(f"逾期 {len(late):,} 项", f"{len(late):,} overdue"))
    _echo({"overdue": [_open_dict(o) for o in late]}, as_json, "\n".join(lines))
