"""``gridguard screen`` and ``gridguard rules check``, run as a person would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    assert again["mode"] == "unchanged"
    full = json.loads(CliRunner().invoke(main, [*args, "--full"]).output)
    assert (full["mode"], full["flagged_persons"], full["new_assessments"]) == ("full", 3, 0)


def test_screen_prints_a_bilingual_table(store: Path) -> None:
    done = CliRunner().invoke(main, ["screen", "--db", str(store), "--date", DAY.isoformat()])
    assert done.exit_code == 0, done.output
    assert "标记人员: 3" in done.output
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
    assert "通过：cli-rules 1" in done.output
    assert "条件: temperature >= 37.3" in done.output
    assert "动作: refer = fever_clinic" in done.output
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
    assert "2 处问题" in done.output
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


def test_a_changed_rule_set_under_a_version_that_ran_is_refused(
    store: Path, tmp_path: Path
) -> None:
    """The first run stores the version's fingerprint; a changed file under it is refused."""
    import hashlib

    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    first_fingerprint = hashlib.sha256(RULES.encode()).hexdigest()
    args = ["screen", "--db", str(store), "--date", DAY.isoformat(), "--rules", str(rules)]
    assert CliRunner().invoke(main, [*args, "--json"]).exit_code == 0
    assert CliRunner().invoke(main, [*args, "--json"]).exit_code == 0, "the same file runs again"
    changed = RULES.replace("37.3", "37.5")
    rules.write_text(changed, encoding="utf-8")
    changed_fingerprint = hashlib.sha256(changed.encode()).hexdigest()
    before = _assessments(store)
    refused = CliRunner().invoke(main, [*args, "--json"])
    assert refused.exit_code == 2
    assert first_fingerprint in refused.output
    assert changed_fingerprint in refused.output
    assert "--new-version" in refused.output
    assert "'cli-rules' version '1'" in refused.output
    assert _assessments(store) == before, "a refused run writes nothing"

    as_new = CliRunner().invoke(main, [*args, "--new-version", "--json"])
    assert as_new.exit_code == 0, as_new.output
    assert json.loads(as_new.output)["rule_set_version"] == f"1+{changed_fingerprint[:12]}"
    rules.write_text(changed.replace('version = "1"', 'version = "2"'), encoding="utf-8")
    bumped = CliRunner().invoke(main, [*args, "--json"])
    assert bumped.exit_code == 0, bumped.output

    shown = json.loads(
        CliRunner().invoke(main, ["rules", "show", "--db", str(store), "--json"]).output
    )
    versions = [(v["rule_set_id"], v["version"], v["first_day"]) for v in shown["versions"]]
    assert ("cli-rules", "1", DAY.isoformat()) in versions
    assert ("cli-rules", f"1+{changed_fingerprint[:12]}", DAY.isoformat()) in versions
    assert ("cli-rules", "2", DAY.isoformat()) in versions
    first = next(v for v in shown["versions"] if v["version"] == "1")
    assert (first["fingerprint"], first["runs"]) == (first_fingerprint, 1)
    text = CliRunner().invoke(main, ["rules", "show", "--db", str(store), "--id", "cli-rules"])
    assert text.exit_code == 0, text.output
    assert f"cli-rules 1  {DAY.isoformat()}  (1 次)\n  指纹 {first_fingerprint}\n" in text.output


def test_the_version_check_is_the_same_from_python(store: Path) -> None:
    from gridguard.rules import parse_rule_set
    from gridguard.screening import RuleSetVersionConflict, screen, stored_versions

    with gridguard.open(store) as ws:
        screen(ws, parse_rule_set(RULES), day=DAY)
        changed = parse_rule_set(RULES.replace("medium", "high"))
        with pytest.raises(RuleSetVersionConflict) as caught:
            screen(ws, changed, day=DAY)
        assert caught.value.fingerprint == changed.digest
        assert caught.value.stored_fingerprint == parse_rule_set(RULES).digest
        assert [v.version for v in stored_versions(ws, "cli-rules")] == ["1"]


def test_the_demo_stored_its_version_and_refuses_a_changed_builtin(
    huayuan_demo: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """The demo ran the built-in rules; the built-in file changed under its version is refused."""
    import shutil
    from importlib import resources

    from gridguard.rules import builtin_rule_set

    summary, db = huayuan_demo
    copy = tmp_path / "huayuan.db"
    shutil.copy(db, copy)
    builtin = builtin_rule_set()
    shown = CliRunner().invoke(main, ["rules", "show", "--db", str(copy), "--json"])
    assert shown.exit_code == 0, shown.output
    (stored,) = json.loads(shown.output)["versions"]
    assert (stored["rule_set_id"], stored["version"], stored["fingerprint"]) == (
        builtin.id,
        builtin.version,
        builtin.digest,
    )
    assert stored["first_day"] == summary["screening_day"]
    text = (resources.files("gridguard.rules") / "builtin.toml").read_text("utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("fever_threshold = 37.3", "fever_threshold = 37.0"), "utf-8")
    day = ["--date", summary["screening_day"]]
    args = ["screen", "--db", str(copy), "--rules", str(changed), *day, "--json"]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2
    assert builtin.digest in refused.output
    same = CliRunner().invoke(main, ["screen", "--db", str(copy), *day, "--json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["new_assessments"] == 0, "the demo's rules run again as before"
