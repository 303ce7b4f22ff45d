"""``gridguard import``, ``match`` and ``targets``, and the demo's targeting step."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import attrs
from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main
from gridguard.demo import DEMO_STEPS, DemoContext, QuietProgress
from gridguard.demo._targeting import LIST_FILE, targeting
from gridguard.model import GB11643
from gridguard.synth import huayuan


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


def number(born: dt.date, seq: int) -> str:
    first17 = f"442000{born:%Y%m%d}{seq:03d}"
    return first17 + GB11643.check_character(first17)


CHEN = number(dt.date(1960, 3, 7), 11)


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "gbk") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)
    return path


def register_files(folder: Path) -> dict[str, Path]:
    return {
        "areas": write(folder / "areas.csv", ["编号", "名称", "级别", "上级编号"], [
            ["zs", "中山市", "市", ""],
            ["hy", "华苑社区", "社区", "zs"],
            ["g1", "第一网格", "网格", "hy"],
        ]),
        "buildings": write(folder / "buildings.csv", ["楼幢编号", "所属网格", "楼幢名称"], [
            ["b3", "g1", "牡丹阁3幢"],
        ]),
        "stairwells": write(
            folder / "stairwells.csv", ["楼梯编号", "楼幢编号", "楼梯", "层数", "每层户数"], [
                ["s1", "b3", "1梯", "7", "2"],
            ]
        ),
        "households": write(
            folder / "households.csv", ["户编号", "楼梯编号", "楼层", "门牌", "地址"], [
                ["h101", "s1", "1", "101", "牡丹阁3幢101"],
                ["h102", "s1", "1", "102", "牡丹阁3幢102"],
            ]
        ),
        "persons": write(folder / "persons.csv", ["户编号", "姓名", "身份证号", "手机号"], [
            ["h101", "陈建国", CHEN, "138 0013 8000"],
            ["h102", "李芳", CHEN[:-1] + "0" if CHEN[-1] != "0" else CHEN[:-1] + "1", ""],
            ["h102", "赵六", "", "13900139000"],
        ]),
    }  # fmt: skip


def test_import_match_and_targets_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "gg.db")
    assert run("init", "--db", db).exit_code == 0
    files = register_files(tmp_path)
    for kind, path in files.items():
        result = run("import", kind, str(path), "--db", db)
        assert result.exit_code == (1 if kind == "persons" else 0), result.output
    assert "新增 2" in result.output
    assert "拒绝 1" in result.output
    assert f"{tmp_path / 'persons.errors.csv'}\n" in result.output  # whole, never broken
    assert "错误报告:" in result.output

    again = run("import", "persons", str(files["persons"]), "--db", db, "--json")
    summary = json.loads(again.output)
    assert (summary["inserted"], summary["unchanged"], summary["rejected"]) == (0, 2, 1)
    assert summary["encoding"] == "gb18030"

    listed = write(
        tmp_path / "旅客.csv",
        ["姓名", "身份证号", "手机号", "到达日期"],
        [["CHEN JIANGUO", CHEN, "", "2020-01-20"], ["赵 六", "", "139-0013-9000", "2020-01-22"]],
    )
    matched = run(
        "match",
        str(listed),
        "--source",
        "railway-0124",
        "--db",
        db,
        "--date",
        "2020-01-25",
        "--json",
    )
    assert matched.exit_code == 0, matched.output
    summary = json.loads(matched.output)
    assert (summary["list_rows"], summary["matched"], summary["review_queue"]) == (2, 2, 0)
    assert summary["by_pass"] == {"identity": 1, "phone_name": 1, "fuzzy_identity": 0}

    shown = run("targets", "--grid", "g1", "--db", db, "--json")
    assert shown.exit_code == 0, shown.output
    targets = json.loads(shown.output)
    assert [t["rank"] for t in targets] == [1, 2]
    assert {t["household_id"] for t in targets} == {"h101", "h102"}
    assert targets[0]["priority"] >= targets[1]["priority"]
    assert targets[0]["address"].startswith("牡*")  # masked by default
    assert "丹" not in targets[0]["address"]
    assert all(t["grid_id"] == "g1" for t in targets)
    unmasked = json.loads(run("targets", "--grid", "g1", "--db", db, "--json", "--unmask").output)
    assert unmasked[0]["address"].startswith("牡丹阁3幢")

    table = run("targets", "--db", db)
    assert table.exit_code == 0
    assert "h101" in table.output
    unknown = run("targets", "--grid", "g9", "--db", db, "--json")
    assert unknown.exit_code == 2
    assert "unknown grid 'g9'; did you mean 'g1'?" in unknown.stderr


def test_import_parallel_validates_in_a_second_process_with_the_same_outcome(
    tmp_path: Path,
) -> None:
    """``--parallel`` (a second process) stores and refuses what one process does."""
    outcomes = []
    for parallel in (False, True):
        db = str(tmp_path / f"gg-{parallel}.db")
        assert run("init", "--db", db).exit_code == 0
        for kind, path in register_files(tmp_path).items():
            extra = ["--parallel"] if parallel and kind == "persons" else []
            result = run("import", kind, str(path), "--db", db, "--json", *extra)
        assert result.exit_code == 1, result.output  # one row refused
        summary = json.loads(result.output)
        summary.pop("seconds")
        outcomes.append(summary)
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0]["inserted"], outcomes[0]["rejected"]) == (2, 1)
    refused = run("import", "register", str(tmp_path / "persons.csv"), "--parallel")
    assert refused.exit_code == 2
    assert "--parallel: not for `import register`" in refused.stderr


def test_command_line_failures_are_one_red_line(tmp_path: Path) -> None:
    db = str(tmp_path / "gg.db")
    assert run("init", "--db", db).exit_code == 0
    files = register_files(tmp_path)
    bad_header = write(tmp_path / "p.csv", ["姓名"], [["陈建国"]])
    for args, word in [
        (["import", "persons", str(bad_header), "--db", db], "household_id"),
        (["import", "areas", str(tmp_path / "missing.csv"), "--db", db], "no such file"),
        (["import", "areas", str(files["areas"]), "--db", db, "--encoding", "x"], "encoding"),
        (["match", str(files["persons"]), "--source", "s", "--db", db], "top-level areas"),
    ]:
        result = run(*args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("error: ")
        assert word in lines[0]
    run("import", "areas", str(files["areas"]), "--db", db)
    run("import", "buildings", str(files["buildings"]), "--db", db)
    run("import", "stairwells", str(files["stairwells"]), "--db", db)
    run("import", "households", str(files["households"]), "--db", db)
    strict = run("import", "persons", str(files["persons"]), "--db", db, "--all-or-nothing")
    assert strict.exit_code == 2
    assert "nothing imported" in strict.stderr
    with gridguard.open(db) as ws:
        assert ws.count(gridguard.Person) == 0
    bad_date = run("match", str(files["persons"]), "--source", "s", "--db", db, "--date", "x")
    assert bad_date.exit_code == 2
    assert "is not a date" in bad_date.output


def test_the_commands_are_listed_and_load_lazily() -> None:
    listed = run("--help")
    for name in ("import", "match", "targets"):
        assert name in listed.output
    code = (
        "import sys, gridguard.cli._targeting; "
        "print(sorted(m for m in sys.modules if m.startswith('gridguard.targeting')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- the demo step ------------------------------------------------------------------------------


def test_the_demo_receives_a_list_on_day_one(tmp_path: Path) -> None:
    # Right after the place tree and the workspace's notification configuration, before
    # any visit: the list arrives on day one.
    assert DEMO_STEPS.index("gridguard.demo._targeting:targeting") == (
        DEMO_STEPS.index("gridguard.demo._notify:configure") + 1
    )
    assert DEMO_STEPS.index("gridguard.demo._notify:configure") == (
        DEMO_STEPS.index("gridguard.demo:build_huayuan") + 1
    )
    scenario = huayuan(2020)
    with gridguard.open(tmp_path / "huayuan.db") as ws:
        scenario.load(ws)
        ctx = DemoContext(
            ws=ws, scenario=scenario, seed=2020, out=tmp_path / "out", progress=QuietProgress()
        )
        targeting(ctx)
        summary = dict(ctx.summary)
        labels = {key: label for key, label, _ in ctx.rows}
        ctx_again = attrs.evolve(ctx, summary={}, rows=[])
        targeting(ctx_again)  # the same list again: nothing changes
    assert summary["list_rows"] == 300
    assert 0.8 * 300 <= summary["matched"] <= 0.9 * 300
    assert summary["matched"] + summary["review_queue"] == 300
    assert 0 < summary["targets"] <= summary["matched"]
    assert ctx_again.summary == summary
    for key in ("list_rows", "matched", "review_queue", "targets"):
        english, chinese = labels[key].rsplit(" ", 1)
        assert english.isascii()
        assert not chinese.isascii()
    assert (tmp_path / "out" / LIST_FILE).read_bytes().decode("gb18030").startswith("姓名")
