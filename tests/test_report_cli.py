"""``gridguard report``: every kind from the command line, formats from the reporter registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import gridguard
from gridguard.cli import main
from gridguard.testing import sample_facts, sample_records


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "r.db"
    with gridguard.open(path) as ws:
        ws.add(sample_records())
        ws.record(sample_facts())
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_report() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for kind in ("daily", "progress", "household", "person", "teams", "linelist"):
        assert kind in out


@pytest.mark.parametrize("kind", ["daily", "progress", "teams", "linelist"])
def test_area_reports_print_as_text(db: str, kind: str) -> None:
    code, out, err = run(kind, "--db", db, "--date", "2020-01-26", "--lang", "en")
    assert code == 0, err
    from gridguard.report.locale import label

    assert label(f"{kind}.title").en in out
    assert "2020-01-26" in out


def test_chinese_is_the_default(db: str) -> None:
    code, out, _ = run("daily", "--db", db, "--date", "2020-01-25", "--area", "c1")
    assert code == 0
    assert "疫情防控日报" in out
    assert "华苑社区" in out


def test_formats_come_from_the_registry_or_the_suffix(db: str, tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    code, _, err = run("daily", "--db", db, "--date", "2020-01-25", "--out", str(out))
    assert code == 0, err
    assert json.loads(out.read_text(encoding="utf-8"))["kind"] == "daily"
    assert "个人信息已遮盖" in err
    csv_out = tmp_path / "p.txt"
    code, _, _ = run("progress", "--db", db, "--format", "csv", "--out", str(csv_out))
    assert code == 0
    assert csv_out.read_bytes().startswith(b"\xef\xbb\xbf")
    code, _, err = run("daily", "--db", db, "--format", "pdf")
    assert code == 2
    assert "pdf" in err
    assert "csv" in err  # the known reporters are listed


def test_bad_area_and_day_are_one_line_errors(db: str) -> None:
    code, _, err = run("daily", "--db", db, "--area", "atlantis")
    assert code == 2
    assert "atlantis" in err
    code, _, err = run("daily", "--db", db, "--date", "2019-12-31")
    assert code == 2
    assert "$.day" in err
    assert "Traceback" not in err


def test_files_are_masked_unless_unmasked(db: str) -> None:
    code, out, _ = run("household", "h1", "--db", db, "--lang", "en")
    assert code == 0
    assert "陈建国" not in out
    assert "陈**" in out
    code, out, _ = run("person", "p1", "--db", db, "--unmask", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["masked"] is False
    assert "陈建国" in json.dumps(data, ensure_ascii=False)
    code, _, err = run("household", "nope", "--db", db)
    assert code == 2
    assert "nope" in err


def test_progress_and_linelist_take_their_own_options(db: str) -> None:
    code, out, err = run(
        "progress", "--db", db, "--date", "2020-01-26", "--plan-days", "2", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["meta"]["plan_days"] == "2"
    code, out, err = run("linelist", "--db", db, "--date", "2020-01-26", "--limit", "1")
    assert code == 0, err
    code, _, err = run("daily", "--db", db, "--limit", "1")
    assert code == 2  # not an option of the daily report
    assert "--limit" in err
