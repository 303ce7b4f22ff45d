"""A message carries the time of what caused it, so a day's report counts the alerts of that day.

Facts may be recorded after the day they describe (a replayed campaign, a
backlog typed in later): the messages they cause belong to that day all the
same.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import gridguard
from gridguard.notify import OutboxMessage
from gridguard.report.document import Figures
from gridguard.reporting.daily import daily_report
from gridguard.screening._run import screen
from gridguard.testing import sample_facts, sample_records

DAY = dt.date(2020, 1, 25)


def _alerts_made(ws: gridguard.Workspace, day: dt.date) -> int | float | None:
    report = daily_report(ws, day=day.isoformat(), campaign="cmp")
    (section,) = [s for s in report.sections if s.key == "alerts"]
    figures = next(b for b in section.blocks if isinstance(b, Figures))
    return figures.value("alerts")


def test_screening_messages_carry_the_screened_day_and_are_counted_on_it(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "s.db") as ws:
        ws.add(sample_records())
        ws.record(sample_facts())
        result = screen(ws, campaign_id="cmp", day=DAY)
        assert result.notifications > 0
        with ws.transaction(write=False) as uow:
            messages = [m for m in uow.find(OutboxMessage) if m.topic == "screening"]
        assert len(messages) == result.notifications
        campaign = ws.get(gridguard.Campaign, "cmp")
        assert campaign is not None
        assert {m.at for m in messages} == {campaign.day_start(DAY)}
        assert _alerts_made(ws, DAY) == len(messages)
        assert _alerts_made(ws, DAY + dt.timedelta(days=1)) == 0
