"""The ``gridguard`` command, through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main

DEMO_KEYS = {
    "database",
    "seed",
    "seconds",
    "grids",
    "buildings",
    "stairwells",
    "households",
    "persons",
    "observers",
    "teams",
    "team_size",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


def assert_clean_failure(result: Result, *words: str) -> None:
    """Exit code 1, one red line on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output


def check_demo_summary(summary: dict[str, Any], database: Path) -> None:
    assert set(summary) >= DEMO_KEYS
    assert summary["stairwells"] == 430
    assert 4_000 <= summary["households"] <= 4_500
    assert 2.3 * summary["households"] <= summary["persons"] <= 2.9 * summary["households"]
    assert summary["teams"] == 20
    assert summary["team_size"] == 3
    assert summary["observers"] == summary["buildings"] > 100
    assert 8 <= summary["grids"] <= 10
    assert summary["seed"] == 2020
    assert summary["seconds"] > 0
    assert Path(summary["database"]) == database.resolve()


# -- version, help, plugins ------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"gridguard {gridguard.__version__}"


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("init", "plugins", "demo"):
        assert command in result.output


def test_plugins_json_lists_the_builtins() -> None:
    result = run("plugins", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    plugins = {p["name"]: p for p in info["plugins"]}
    storage = plugins["gridguard.builtins.storage"]
    assert storage["source"] == "builtin"
    assert "register_storage_backends" in storage["hooks"]
    assert {"memory", "sqlite"} <= set(storage["registers"]["storage_backends"])
    assert "register_lines_of_defense" in plugins["gridguard.builtins.lines"]["hooks"]
    assert isinstance(info["failures"], list)


def test_plugins_table() -> None:
    result = CliRunner().invoke(main, ["plugins"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "gridguard.builtins.storage" in result.output
    assert "register_storage_backends" in result.output
    assert "memory, sqlite" in result.output


# -- init ----------------------------------------------------------------------------------------


def test_init_creates_a_store(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    result = run("init", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert str(db) in result.output
    conn = sqlite3.connect(db)
    try:
        assert conn.execute(
            "SELECT value FROM gridguard_meta WHERE key = 'schema_version'"
        ).fetchone()
    finally:
        conn.close()
    again = run("init", "--db", str(db))  # migrating an up-to-date store is a no-op
    assert again.exit_code == 0


def test_init_into_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    assert_clean_failure(run("init", "--db", str(tmp_path / "nowhere" / "x.db")), "does not exist")


# -- demo ----------------------------------------------------------------------------------------


def test_demo_json_twice(tmp_path: Path) -> None:
    for _ in range(2):  # the second run starts the database afresh
        result = run("demo", "--json", "--out", str(tmp_path))
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        summary = json.loads(result.stdout)  # one JSON object: no report text around it
        check_demo_summary(summary, tmp_path / "huayuan.db")
        assert Path(summary["daily_report_text"]).is_file()
    with gridguard.open(tmp_path / "huayuan.db") as ws:
        assert ws.counts()["stairwells"] == 430


def test_demo_table(tmp_path: Path) -> None:
    result = run("demo", "--out", str(tmp_path / "out"), "--lang", "en")
    assert result.exit_code == 0, result.output
    for label in ("Stairwells", "Households", "Sweep teams", "430"):
        assert label in result.output
    assert (tmp_path / "out" / "huayuan.db").exists()
    # the head of the last day's daily report follows the summary; the file holds all of it
    assert "Daily situation report" in result.output
    assert "Lines of defense" in result.output
    assert "Quarantine" not in result.output.split("Daily situation report", 1)[1]
    assert list((tmp_path / "out").glob("daily-*.txt"))


def test_demo_seed_and_db(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    result = run("demo", "--json", "--db", str(db), "--seed", "7")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["seed"] == 7
    assert summary["stairwells"] == 430
    assert Path(summary["database"]) == db.resolve()


def test_demo_db_in_a_missing_folder(tmp_path: Path) -> None:
    result = run("demo", "--json", "--db", str(tmp_path / "missing" / "demo.db"))
    assert_clean_failure(result, "does not exist")
    assert result.stdout == ""


def test_demo_db_that_is_a_folder(tmp_path: Path) -> None:
    assert_clean_failure(run("demo", "--db", str(tmp_path)), "folder")


def test_demo_refuses_a_foreign_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    assert_clean_failure(run("demo", "--db", str(db)), "did not create")
    conn = sqlite3.connect(db)
    try:  # left untouched
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("accounts",)]
    finally:
        conn.close()


def test_demo_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, " * 100)
    assert_clean_failure(run("demo", "--db", str(notes)), "not a SQLite database")
    assert notes.read_text().startswith("not a database")


def test_demo_overwrites_an_empty_file(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    result = run("demo", "--json", "--db", str(db))
    assert result.exit_code == 0, result.output


# -- real processes -------------------------------------------------------------------------------


def test_python_m_gridguard_demo(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gridguard", "demo", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bars when stderr is not a terminal
    assert len(done.stdout.strip().splitlines()) == 1  # exactly one JSON object
    check_demo_summary(json.loads(done.stdout), tmp_path / "huayuan.db")


def test_python_m_gridguard_error_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gridguard", "demo", "--db", str(tmp_path / "no" / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("module", ["click", "rich"])
def test_import_gridguard_does_not_import_the_cli(module: str) -> None:
    code = f"import gridguard, sys; assert {module!r} not in sys.modules, 'imported {module}'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_help_imports_neither_rich_nor_the_workspace() -> None:
    code = (
        "import sys\n"
        "from gridguard.cli import main\n"
        "try:\n"
        "    main(['--help'], prog_name='gridguard')\n"
        "except SystemExit:\n"
        "    pass\n"
        "for name in ('rich', 'gridguard.synth', 'gridguard.workspace', 'gridguard.storage'):\n"
        "    assert name not in sys.modules, name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True)
