"""Screening rules can read what observers report: the check-in fields, in SQL and in Python."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Anomaly, CheckIn
from gridguard.model.assessments import Assessment
from gridguard.rules.ruleset import parse_rule_set
from gridguard.screening._run import screen
from watch_world import observe, world

UTC = dt.UTC
DAY = dt.date(2020, 1, 28)

RULES = """
id = "watch-rules"
version = "1"
title = { en = "Observer reports", zh = "观察员报告" }

[[rules]]
id = "moved-in-lately"
title = { en = "Household moved in lately", zh = "新迁入" }
line = "building_watch"
when = 'any(household_anomalies, kind == "move_in" and within_days(day, 3))'
then = [{ classify = "low" }]

[[rules]]
id = "ill-in-building"
title = { en = "Someone ill in the building this week", zh = "本楼有人不适" }
line = "building_watch"
when = 'count(building_anomalies, kind == "symptomatic" and within_days(day, 6)) >= 1'
then = [{ classify = "low" }]
"""


def _checkin(building: str, at: dt.datetime, *anomalies: Anomaly) -> CheckIn:
    return CheckIn(
        building_id=building,
        observer_id="o" + building[1:],
        at=at,
        status="anomalies" if anomalies else "all_normal",
        anomalies=anomalies,
    )


def _fired(url: str, checkins: list[CheckIn]) -> dict[str, set[str]]:
    with gridguard.open(url) as ws:
        ws.add(world())
        observe(ws)
        ws.record(checkins)
        screen(ws, parse_rule_set(RULES), campaign_id="cmp", day=DAY)
        out: dict[str, set[str]] = {}
        for assessment in ws.find(Assessment):
            out.setdefault(assessment.person_id, set()).update(f.rule_id for f in assessment.fired)
        return out


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_check_in_fields_count_local_days(backend: str, tmp_path: Path) -> None:
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'r.db'}"
    # 25 Jan 16:30 UTC is 26 Jan 00:30 in Shanghai: day 28 - 2, within 3 days.
    # 24 Jan 15:30 UTC is 24 Jan 23:30 local: day 28 - 4, too old for "within 3 days".
    checkins = [
        _checkin(
            "b1",
            dt.datetime(2020, 1, 25, 16, 30, tzinfo=UTC),
            Anomaly(kind="move_in", household_id="b1-h2"),
        ),
        _checkin(
            "b2",
            dt.datetime(2020, 1, 24, 15, 30, tzinfo=UTC),
            Anomaly(kind="move_in", household_id="b2-h2"),
        ),
        _checkin(
            "b3",
            dt.datetime(2020, 1, 27, 2, 0, tzinfo=UTC),
            Anomaly(kind="symptomatic", household_id="b3-h2"),
        ),
    ]
    fired = _fired(url, checkins)
    # x1 lives in b1-h2; everyone of b3 (o3) is in the building where someone is ill.
    assert fired == {"x1": {"moved-in-lately"}, "o3": {"ill-in-building"}}


def _anomaly() -> st.SearchStrategy[Anomaly]:
    return st.builds(
        Anomaly,
        kind=st.sampled_from(["move_in", "symptomatic", "stranger"]),
        household_id=st.sampled_from([None, "b1-h1", "b1-h2"]),
    )


@st.composite
def _checkins(draw: st.DrawFn) -> list[CheckIn]:
    out = []
    for n in range(draw(st.integers(0, 5))):
        minutes = draw(st.integers(-9 * 24 * 60, 24 * 60))
        at = dt.datetime(2020, 1, 27, 16, 0, tzinfo=UTC) + dt.timedelta(minutes=minutes + n)
        found = draw(st.lists(_anomaly(), min_size=1, max_size=2))
        out.append(_checkin("b1", at, *found))
    return out


@given(_checkins())
@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_memory_and_sqlite_read_check_ins_alike(tmp_path: Path, checkins: list[Any]) -> None:
    db = tmp_path / f"w-{abs(hash(tuple(c.id for c in checkins)))}.db"
    db.unlink(missing_ok=True)
    assert _fired("memory://", checkins) == _fired(f"sqlite:///{db}", checkins)


def test_postgresql_reads_check_ins_like_memory() -> None:
    from rules_pg import pg_schema

    checkins = [
        _checkin(
            "b1",
            dt.datetime(2020, 1, 25, 16, 30, tzinfo=UTC),
            Anomaly(kind="move_in", household_id="b1-h2"),
            Anomaly(kind="symptomatic", household_id="b1-h1", count=2),
        ),
        _checkin("b2", dt.datetime(2020, 1, 24, 15, 30, tzinfo=UTC), Anomaly(kind="stranger")),
    ]
    with pg_schema() as (url, _):
        assert _fired(url, checkins) == _fired("memory://", checkins) != {}
