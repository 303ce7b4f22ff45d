"""A screening run queues one message per recipient listing their persons, plus urgent alerts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import gridguard
from gridguard.model import Person, Screening, Trip
from gridguard.model.messages import OutboxMessage
from gridguard.notifications.config import configure
from gridguard.screening import screen
from gridguard.testing import sample_records

DAY = dt.date(2020, 1, 28)
AT = dt.datetime(2020, 1, 28, 2, tzinfo=dt.UTC)


def _city(tmp_path: Path, locale: str) -> gridguard.Workspace:
    ws = gridguard.open(tmp_path / f"d-{locale}.db")
    ws.add(sample_records())
    ws.add([Person(id=f"x{n}", household_id=("h1", "h2")[n % 2], name=f"欧阳{n}号")
            for n in range(40)])  # fmt: skip
    facts = [Screening(person_id=f"x{n}", at=AT, symptoms=["咳嗽"]) for n in range(30)]
    facts += [Screening(person_id=f"x{n}", at=AT, trips=[Trip(destination="武汉",
              returned=dt.date(2020, 1, 20))]) for n in range(30, 38)]  # fmt: skip
    facts += [Screening(person_id="x38", at=AT, temperature=38.4)]  # urgent: a fever
    facts += [Screening(person_id="x39", at=AT, symptoms=["发热"])]  # urgent too, by word
    ws.record(facts)
    configure(
        ws,
        {
            "campaign": "cmp",
            "locale": locale,
            "channels": {"file": {"type": "jsonl", "path": str(tmp_path / "n.jsonl")},
                         "robot": {"type": "console"}},
            "contacts": [{"role": "grid_worker", "area_id": "c1", "name": "赵网格"}],
        },
    )  # fmt: skip
    return ws


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_one_message_per_recipient_and_channel_plus_the_urgent(tmp_path: Path, locale: str) -> None:
    with _city(tmp_path, locale) as ws:
        result = screen(ws, campaign_id="cmp", day=DAY)
        with ws.transaction(write=False) as uow:
            messages = list(uow.find(OutboxMessage))
        again = screen(ws, campaign_id="cmp", day=DAY)
    urgent = [m for m in messages if m.data.get("urgent")]
    digests = [m for m in messages if m.data.get("digest")]
    assert len(urgent) + len(digests) == len(messages) == result.notifications
    assert {m.data["person_id"] for m in urgent} == {"x38", "x39"}
    # Recipients: the grid worker (a contact) and the team's doctor, on two channels each.
    assert len(digests) == len({(m.recipient, m.channel) for m in digests}) == 4
    assert all(m.channel in ("file", "robot") for m in digests)
    flagged = {m.data["role"]: m.data["persons"] for m in digests}
    assert flagged["community_doctor"] >= 38  # every non-urgent person, in one message
    body = next(m.body for m in digests if m.data["role"] == "community_doctor")
    assert "欧*" in body
    assert "欧阳1号" not in body
    assert "百苑新村牡丹阁3栋101" in body
    assert "respiratory-symptoms" not in body
    if locale == "zh-CN":
        assert "有呼吸道症状" in body
        assert "转诊发热门诊" in body
        assert "14天内有疫情发生地旅居史" in body
        assert "01-29 00:00前" in body  # 24 hours after the screened day's start, local time
    else:
        assert "Respiratory symptoms" in body
        assert "refer to the fever clinic" in body
        assert "by 01-29 00:00" in body
        assert "有呼吸道症状" not in body
    assert again.notifications == 0
