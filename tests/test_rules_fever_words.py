"""The built-in rules catch a fever reported in words, in Chinese or English, not only a reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import gridguard
from gridguard.model import Screening
from gridguard.rules import Assessment
from gridguard.screening import screen
from gridguard.testing import sample_records

DAY = dt.date(2020, 1, 28)
AT = dt.datetime(2020, 1, 28, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("symptoms", "temperature", "rules"),
    [
        (["发热"], None, {"fever"}),
        (["发烧"], None, {"fever"}),
        (["Fever"], None, {"fever"}),
        ([], 37.3, {"fever"}),
        (["乏力"], None, {"respiratory-symptoms"}),
        (["loss of smell"], None, {"respiratory-symptoms"}),
        (["发热", "干咳"], 36.5, {"fever", "respiratory-symptoms"}),
        (["头痛"], 36.5, set()),
    ],
)
def test_fever_by_word_or_by_reading(
    tmp_path: Path, store: str, symptoms: list[str], temperature: float | None, rules: set[str]
) -> None:
    with gridguard.open("memory://" if store == "memory" else tmp_path / "f.db") as ws:
        ws.add(sample_records())
        ws.record([Screening(person_id="p3", at=AT, symptoms=symptoms, temperature=temperature)])
        screen(ws, campaign_id="cmp", day=DAY)
        with ws.transaction(write=False) as uow:
            found = {a.person_id: a for a in uow.find(Assessment)}
    fired = {f.rule_id for f in found["p3"].fired} if "p3" in found else set()
    assert fired == rules
    if "fever" in rules:
        assert found["p3"].referrals == ("fever_clinic",)
