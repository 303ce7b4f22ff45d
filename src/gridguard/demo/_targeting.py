"""The demo's third line of defense: on day 1 a list of travellers from Wuhan arrives.

Before the first team knocks on a door, the community receives a railway
list of people who came from the outbreak area in the two weeks before
25 January 2020, with the mistakes such lists have (see
:func:`~gridguard.targeting.noisy.noisy_list`). It is written to the demo folder
as a GB18030 CSV file, as Chinese Excel saves it, linked to the register
by :func:`~gridguard.targeting.matching.match_list`, and the matched households
become the targets the sweep visits first.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..model import ExposureKind
from ..targeting.matching import match_list
from ..targeting.noisy import noisy_list

if TYPE_CHECKING:
    from . import DemoContext

__all__ = ["LIST_FILE", "LIST_SIZE", "LIST_SOURCE", "targeting"]

LIST_SIZE = 300
"""Rows on the demo's list: residents back from Wuhan and some who do not live here."""
LIST_SOURCE = "railway-wuhan-0124"
LIST_FILE = "travellers-wuhan.csv"


def targeting(ctx: DemoContext) -> None:
    """Receive the travellers list, link it to the register and rank the doors to knock on."""
    ws, scenario = ctx.ws, ctx.scenario
    campaign = scenario.campaign
    start = campaign.start
    adult = start.replace(year=start.year - 16)
    people = [
        (p.id, p.name, str(p.resident_id), p.phone)
        for p in scenario.persons
        if p.resident_id is not None
        and p.phone is not None
        and p.birth_date is not None
        and p.birth_date <= adult
    ]
    travellers = noisy_list(
        people,
        size=LIST_SIZE,
        seed=ctx.seed,
        arrivals=(start - dt.timedelta(days=campaign.look_back_days), start - dt.timedelta(days=1)),
    )
    task = ctx.progress.add_task("Matching the list 名单比对", total=1)
    ctx.out.mkdir(parents=True, exist_ok=True)
    path = travellers.write_csv(ctx.out / LIST_FILE)
    result = match_list(
        ws,
        path,
        source=LIST_SOURCE,
        area_id=scenario.community.id,
        exposure=ExposureKind.OUTBREAK_AREA_ARRIVAL,
        received=start,
        on=start,
    )
    ctx.progress.update(task, completed=1)
    ctx.report("list_rows", result.rows, "Outside list rows 外来名单行数")
    ctx.report("matched", result.matched, "Matched to residents 名单匹配到居民")
    ctx.report("review_queue", result.review_queue, "Review queue 待人工核对")
    ctx.report("targets", result.targets, "Priority households 重点排查户")
