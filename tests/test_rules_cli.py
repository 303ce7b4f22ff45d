"""``gridguard screen`` and ``gridguard rules check``, run as a person would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.rules import Assessment
from test_rules_screening import DAY, facts, place_tree

RULES = """
id = "cli-rules"
version = "1"
title = { en = "CLI rules", zh = "命令行规则" }

[[rules]]
id = "fever"
title = { en = "Fever", zh = "发热" }
line = "door_to_door"
when = "temperature >= 37.3"
then = [{ classify = "medium" }, { refer = "fever_clinic" }]
"""


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    with gridguard.open(path) as ws:
        ws.add(place_tree())
        ws.record(facts())
    return path


def _assessments(path: Path) -> int:
    with gridguard.open(path) as ws, ws.transaction(write=False) as uow:
        return uow.count(Assessment)


def test_screen_json_prints_one_object_and_a_rerun_adds_nothing(store: Path) -> None:
    args = ["screen", "--db", str(store), "--date", DAY.isoformat(), "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["flagged_persons"] == 3
    assert summary["new_assessments"] == 3
    assert summary["rule_set"] == "cn-2020-national"
    again = json.loads(CliRunner().invoke(main, args).output)
    assert (again["new_assessments"], again["new_quarantine_orders"], again["new_tasks"]) == (
        0,
        0,
        0,
    )


def test_screen_prints_a_bilingual_table(store: Path) -> None:
    done = CliRunner().invoke(main, ["screen", "--db", str(store), "--date", DAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert "Flagged persons 标记人员: 3" in done.output
    assert "outbreak-area-travel" in done.output


def test_screen_with_a_rule_file(store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    args = [
        "screen",
        "--db",
        str(store),
        "--date",
        DAY.isoformat(),
        "--rules",
        str(rules),
        "--json",
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["by_rule"] == {"fever": 1}


def test_a_rule_set_that_fails_to_load_changes_nothing(store: Path, tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(RULES.replace("temperature >= 37.3", "temprature >= 37.3"), encoding="utf-8")
    done = CliRunner().invoke(
        main, ["screen", "--db", str(store), "--rules", str(rules), "--date", DAY.isoformat()]
    )
    assert done.exit_code == 2
    assert "did you mean 'temperature'?" in done.output
    assert "$.rules[0].when: rule 'fever', line 1 column 1" in done.output
    assert _assessments(store) == 0


def test_rules_check_explains_a_good_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    done = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert done.exit_code == 0, done.output
    assert "OK 通过: cli-rules 1" in done.output
    assert "when 条件: temperature >= 37.3" in done.output
    assert "then 动作: refer = fever_clinic" in done.output
    info = json.loads(CliRunner().invoke(main, ["rules", "check", str(rules), "--json"]).output)
    assert info["ok"] is True
    assert info["rules"][0]["needs_evidence"] is True


def test_rules_check_lists_every_problem(tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    bad = RULES.replace("temperature >= 37.3", "__import__('os').system('rm -rf /')")
    bad = bad.replace('{ refer = "fever_clinic" }', '{ refr = "fever_clinic" }')
    rules.write_text(bad, encoding="utf-8")
    done = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert done.exit_code == 1
    assert "2 problem(s)" in done.output
    assert "not allowed in conditions: attribute access" in done.output
    assert "unknown action 'refr'; did you mean 'refer'?" in done.output
    as_json = CliRunner().invoke(main, ["rules", "check", str(rules), "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["ok"] is False


def test_rules_check_of_the_builtin_file_passes() -> None:
    from importlib import resources

    path = resources.files("gridguard.rules") / "builtin.toml"
    done = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert done.exit_code == 0, done.output
    assert "stairwell-cluster" in done.output


def test_the_demo_step_reports_flagged_persons_and_orders(tmp_path: Path) -> None:
    import datetime as dt

    from gridguard.demo import DEMO_STEPS, DemoContext, QuietProgress, build_huayuan
    from gridguard.demo._screening import screen as demo_screen
    from gridguard.model import Screening, Trip
    from gridguard.synth import huayuan

    assert DEMO_STEPS.index("gridguard.demo._screening:screen") > DEMO_STEPS.index(
        "gridguard.demo._sweep:run_sweep"
    )
    scenario = huayuan(2020)
    with gridguard.open(tmp_path / "demo.db") as ws:
        ctx = DemoContext(
            ws=ws, scenario=scenario, seed=2020, out=tmp_path, progress=QuietProgress()
        )
        build_huayuan(ctx)
        demo_screen(ctx)  # no screenings yet: nobody is flagged
        assert (ctx.summary["flagged_persons"], ctx.summary["quarantine_orders"]) == (0, 0)
        person = scenario.persons[0]
        at = dt.datetime(2020, 1, 27, 8, tzinfo=dt.UTC)
        ws.record(
            [
                Screening(
                    person_id=person.id,
                    at=at,
                    trips=[Trip(destination="武汉", returned=dt.date(2020, 1, 21))],
                )
            ]
        )
        demo_screen(ctx)
    assert ctx.summary["flagged_persons"] >= 1  # the traveller, and their household
    assert ctx.summary["quarantine_orders"] == 1
    assert ctx.summary["screening_day"] == "2020-01-27"
    labels = {key: label for key, label, _ in ctx.rows}
    assert labels["flagged_persons"] == "Flagged persons 规则标记人员"
    assert labels["quarantine_orders"] == "Quarantine orders 隔离令"
