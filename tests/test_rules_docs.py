"""docs/rules.md says what the code does: its day arithmetic, counts and version refusal run."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import gridguard
from gridguard.rules import parse_rule_set
from gridguard.rules.tree import PlaceCount, walk
from gridguard.screening import RuleSetVersionConflict, screen
from test_rules_screening import CAMPAIGN, facts, place_tree

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
TEXT = DOC.read_text("utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TEXT, flags=re.S)


def test_the_worked_example_of_the_day_arithmetic_runs() -> None:
    (block,) = [b for b in _blocks("python") if "ObservationWindow" in b]
    assert "dt.date(2020, 1, 21)" in block
    assert "dt.date(2020, 2, 5)" in block
    exec(compile(block, str(DOC), "exec"), {})


def test_the_count_rules_load_and_count_what_they_say() -> None:
    (block,) = [b for b in _blocks("toml") if "grid-cluster" in b]
    header = 'id = "doc"\nversion = "1"\ntitle = { en = "Doc", zh = "文档" }\n'
    rule_set = parse_rule_set(header + block)
    counts = {
        rule.id: [(n.level, n.per) for n in walk(rule.condition) if isinstance(n, PlaceCount)]
        for rule in rule_set.rules
    }
    assert counts == {
        "grid-cluster": [("grid", None)],
        "stairwell-households": [("stairwell", "household")],
    }


def test_the_refusal_reads_as_documented(tmp_path: Path) -> None:
    (block,) = [b for b in _blocks("console") if "first ran on" in b]
    documented = next(line for line in block.splitlines() if line.startswith("error: "))
    pattern = re.escape(documented.removeprefix("error: "))
    pattern = re.sub(r"[0-9a-f]{4}…", "[0-9a-f]{64}", pattern)
    text = """
id = "huayuan-2020"
version = "2020.2"
title = { en = "Huayuan", zh = "华苑" }
[[rules]]
id = "fever"
title = { en = "Fever", zh = "发热" }
line = "door_to_door"
when = "temperature >= 37.3"
then = [{ classify = "medium" }]
"""
    with gridguard.open(tmp_path / "doc.db") as ws:
        ws.add(place_tree())
        ws.record(facts())
        screen(ws, parse_rule_set(text), campaign_id=CAMPAIGN, day=dt.date(2020, 1, 30))
        with pytest.raises(RuleSetVersionConflict) as caught:
            screen(ws, parse_rule_set(text.replace("37.3", "37.5")), campaign_id=CAMPAIGN)
    assert re.fullmatch(pattern, str(caught.value)), (pattern, str(caught.value))
