"""The conventions every command keeps: no silent success, one exit-code scheme, one option name.

Each case below once reported success on a mistyped ``--db`` (a new, empty
database) or read an unknown id as "nothing to do".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


MISSING_DB_COMMANDS = [
    ("notify", "dispatch"),
    ("notify", "status"),
    ("notify", "digest"),
    ("purge",),
    ("audit", "verify"),
    ("audit", "show"),
    ("targets",),
    ("screen",),
    ("plan",),
    ("coverage",),
    ("observer", "coverage"),
    ("quarantine", "census"),
]


@pytest.mark.parametrize("command", MISSING_DB_COMMANDS, ids=" ".join)
def test_a_missing_database_is_refused_and_named(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "typo.db"
    result = run(*command, "--db", str(db))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: no database at ")
    assert str(db) in result.stderr
    assert not db.exists()


def test_import_and_match_refuse_a_missing_database(tmp_path: Path) -> None:
    data = tmp_path / "areas.csv"
    data.write_text("id,name,level\nzs,中山市,city\n", encoding="utf-8")
    db = tmp_path / "typo.db"
    for args in (
        ("import", "areas", str(data)),
        ("import", "register", str(data), "--community", "hy"),
        ("match", str(data), "--source", "s"),
    ):
        result = run(*args, "--db", str(db))
        assert result.exit_code == 2, result.output
        assert "no database at" in result.stderr
    assert not db.exists()


@pytest.fixture
def store(tmp_path: Path) -> str:
    db = str(tmp_path / "gg.db")
    with gridguard.open(db) as ws:
        ws.add(
            [
                gridguard.Area(id="zs", name="中山市", level="city"),
                gridguard.Area(id="xf", name="西区", level="community", parent_id="zs"),
                gridguard.Area(id="xf-g1", name="第一网格", level="grid", parent_id="xf"),
                gridguard.Area(id="xf-g2", name="第二网格", level="grid", parent_id="xf"),
            ]
        )
    return db


def test_an_unknown_grid_is_an_error_with_a_suggestion(store: str) -> None:
    result = run("targets", "--grid", "xf-g9", "--db", store)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown grid 'xf-g9'; did you mean 'xf-g1' or 'xf-g2'?"
    assert "No targets" not in result.output


def test_a_grid_by_its_name_is_offered_by_id(store: str) -> None:
    result = run("targets", "--grid", "第一网格", "--db", store)
    assert result.exit_code == 2
    assert "did you mean 'xf-g1' (第一网格)?" in result.stderr
    close = run("targets", "--grid", "第三网格", "--db", store)
    assert "did you mean 'xf-g1' (第一网格) or 'xf-g2' (第二网格)?" in close.stderr


def test_an_area_of_another_level_is_not_a_grid(store: str) -> None:
    result = run("targets", "--grid", "xf", "--db", store)
    assert result.exit_code == 2
    assert "'xf' is a community, not a grid" in result.stderr


def test_unknown_campaign_household_and_person_are_named(store: str) -> None:
    for args, word in [
        (("coverage", "--campaign", "cp-2020"), "unknown campaign 'cp-2020'"),
        (("show", "household", "h-1"), "unknown household 'h-1'"),
        (("show", "person", "p-1"), "unknown person 'p-1'"),
        (("quarantine", "report", "--person", "p-1", "--temperature", "36.5"), "unknown person"),
    ]:
        result = run(*args, "--db", store)
        assert result.exit_code == 2, result.output
        assert word in result.stderr


def test_no_campaign_says_how_to_make_one(store: str) -> None:
    result = run("plan", "--db", store)
    assert result.exit_code == 2
    assert "gridguard campaign create" in result.stderr


def test_one_name_per_idea(store: str) -> None:
    for args in (
        ("screen", "--day", "2020-01-30"),
        ("notify", "digest", "--day", "2020-01-30"),
        ("quarantine", "census", "--day", "2020-01-30"),
        ("quarantine", "check", "--now", "2020-01-30T08:00"),
        ("show", "person", "p1", "--unmasked"),
        ("match", "x.csv", "--source", "s", "--on", "2020-01-30"),
    ):
        result = run(*args, "--db", store)
        assert result.exit_code == 2
        assert "No such option" in result.output
    bad_day = run("quarantine", "census", "--date", "30.1.2020", "--db", store)
    assert bad_day.exit_code == 2
    assert "'30.1.2020' is not a date YYYY-MM-DD" in bad_day.output


def test_rows_refused_exit_1_and_the_rest_is_stored(store: str, tmp_path: Path) -> None:
    data = tmp_path / "areas.csv"
    data.write_text(
        "id,name,level,parent_id\nxf-g3,第三网格,grid,xf\nxf-g4,第四网格,grid,nowhere\n",
        encoding="utf-8",
    )
    result = run("import", "areas", str(data), "--db", store)
    assert result.exit_code == 1, result.output
    assert "新增 1" in result.output
    assert "拒绝 1" in result.output
    clean = tmp_path / "clean.csv"
    clean.write_text("id,name,level,parent_id\nxf-g5,第五网格,grid,xf\n", encoding="utf-8")
    assert run("import", "areas", str(clean), "--db", store).exit_code == 0
