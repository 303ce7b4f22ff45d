"""The commands a campaign needs: campaign, team, review, point, task, followup, plan --targets.

Each test builds a small community from a flat register with the command
line alone, then drives one group of commands.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main
from gridguard.model import Household, Person, Task
from gridguard.model.identity import GB11643

HEADER = ["网格", "小区", "楼栋", "单元", "楼层", "房号", "户主姓名", "与户主关系", "姓名", "性别",
          "身份证号码", "联系电话", "居住类型"]  # fmt: skip


def number(born: str, seq: int) -> str:
    first17 = f"442000{born}{seq:03d}"
    return first17 + GB11643.check_character(first17)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "gbk") -> str:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "gg.db")
    ok("init", "--db", path)
    areas = write_csv(
        tmp_path / "areas.csv",
        ["编号", "名称", "级别", "上级编号"],
        [["zs", "中山市", "市", ""], ["hy", "华苑社区", "社区", "zs"],
         ["hy-g3", "第三村小组", "村小组", "hy"]],
        "utf-8",
    )  # fmt: skip
    ok("import", "areas", areas, "--db", path)
    mudan = ["第一网格", "百苑新村", "牡丹阁3幢", "1"]
    register = write_csv(
        tmp_path / "花名册.csv",
        HEADER,
        [
            [*mudan, "3", "302", "陈建国", "本人", "陈建国", "男", number("19650312", 11),
             "13800138000", "户籍"],
            [*mudan, "3", "302", "陈建国", "配偶", "李芳", "女", number("19680101", 22), "",
             "户籍"],
            [*mudan, "5", "501", "王五", "本人", "王五", "男", number("19700101", 33),
             "13900139000", "租住"],
            ["第二网格", "", "桂花楼", "", "2", "201", "赵六", "本人", "赵六", "男", "",
             "13700137000", "户籍"],
        ],
    )  # fmt: skip
    ok("import", "register", register, "--db", path, "--community", "hy")
    ok("campaign", "create", "hy-2020", "--db", path, "--name", "华苑社区一级响应",
       "--scope", "hy", "--date", "2020-01-25", "--outbreak", "武汉:4201")  # fmt: skip
    return path


def household(db: str, address: str) -> Household:
    with gridguard.open(db) as ws:
        (found,) = ws.find(Household, address=address)
    return found


def test_campaign_create_list_show_and_close(db: str) -> None:
    listed = json.loads(ok("campaign", "list", "--db", db, "--json").output)
    assert [c["id"] for c in listed] == ["hy-2020"]
    assert listed[0]["outbreak_areas"] == [{"name": "武汉", "code": "4201"}]
    ok("campaign", "close", "hy-2020", "--db", db, "--date", "2020-02-20")
    shown = json.loads(ok("campaign", "show", "hy-2020", "--db", db, "--json").output)
    assert (shown["start"], shown["end"]) == ("2020-01-25", "2020-02-20")
    unknown = run("campaign", "show", "hy-2021", "--db", db)
    assert unknown.exit_code == 2
    assert "unknown campaign 'hy-2021'; did you mean 'hy-2020'?" in unknown.stderr
    bad_scope = run("campaign", "create", "x", "--db", db, "--name", "x", "--scope", "hz",
                    "--date", "2020-01-25")  # fmt: skip
    assert bad_scope.exit_code == 2
    assert "unknown area 'hz'" in bad_scope.stderr


def teams_file(tmp_path: Path) -> str:
    return write_csv(
        tmp_path / "teams.csv",
        ["小分队", "网格", "姓名", "角色", "联系电话", "党员"],
        [
            ["第一小分队", "第一网格", "张三", "社区干部", "13800000001", "是"],
            ["第一小分队", "第一网格", "李四", "医生", "13800000002", ""],
            ["第一小分队", "第一网格", "王警官", "民警", "13800000003", ""],
            ["第二小分队", "第二网格", "赵一", "社区干部", "", ""],
            ["第二小分队", "第二网格", "钱二", "医生", "", ""],
        ],
    )


def test_team_import_checks_the_named_policy(db: str, tmp_path: Path) -> None:
    path = teams_file(tmp_path)
    refused = run("team", "import", path, "--db", db, "--area", "hy", "--policy", "three")
    assert refused.exit_code == 2
    assert "第二小分队" in refused.stderr
    assert "needs at least 1 police" in refused.stderr
    with gridguard.open(db) as ws:
        assert ws.count(gridguard.Team) == 0  # nothing stored
    done = ok("team", "import", path, "--db", db, "--area", "hy")
    assert "小分队 2 个，成员 5 人" in done.output
    again = ok("team", "import", path, "--db", db, "--area", "hy")
    assert "新增或更新 0" in again.output
    teams = json.loads(ok("team", "list", "--db", db, "--json").output)
    first = next(t for t in teams if t["name"] == "第一小分队")
    assert [m["role"] for m in first["members"]] == ["cadre", "doctor", "police"]
    assert first["members"][0]["name"] == "张*"  # masked
    assert first["home_grid_id"] is not None
    plan = run("plan", "--db", db, "--policy", "three", "--date", "2020-01-25")
    assert plan.exit_code == 2
    assert "第二小分队" not in plan.stderr  # teams are named by id in the plan's check
    assert "needs at least 1 police" in plan.stderr


def test_team_create_with_members_by_name_and_role(db: str) -> None:
    ok("team", "create", "t1", "--db", db, "--name", "第一小分队", "--area", "hy",
       "--home-grid", "第一网格", "--member", "张三:社区干部", "--member", "李四:医生:13800000002",
       "--member", "王警官:民警", "--policy", "three")  # fmt: skip
    short = run("team", "create", "t2", "--db", db, "--name", "二", "--area", "hy",
                "--member", "赵一:社区干部", "--policy", "three")  # fmt: skip
    assert short.exit_code == 2
    assert "needs at least 3 members" in short.stderr
    role = run("team", "create", "t3", "--db", db, "--name", "三", "--area", "hy",
               "--member", "赵一:厨师")  # fmt: skip
    assert role.exit_code == 2
    assert "unknown role '厨师'" in role.stderr


def test_plan_with_targets_puts_the_target_stairwell_first(db: str, tmp_path: Path) -> None:
    ok("team", "import", teams_file(tmp_path), "--db", db, "--area", "hy")
    listed = write_csv(
        tmp_path / "旅客.csv",
        ["姓名", "联系电话", "抵中日期", "来源地"],
        [["赵六", "13700137000", "2020-01-20", "武汉"]],
    )
    ok("match", listed, "--source", "railway-0124", "--db", db, "--date", "2020-01-25")
    plain = json.loads(
        ok("plan", "--db", db, "--teams", "1", "--capacity", "1", "--date", "2020-01-25",
           "--json").output
    )  # fmt: skip
    targeted = json.loads(
        ok("plan", "--db", db, "--teams", "1", "--capacity", "1", "--date", "2020-01-25",
           "--targets", "--json").output
    )  # fmt: skip
    zhao = household(db, "桂花楼201")

    def first_stop(plan: dict[str, Any]) -> str:
        return str(plan["plan"][0]["assignments"][0]["stops"][0]["stairwell"])

    assert first_stop(targeted) == zhao.stairwell_id
    assert first_stop(plain) != zhao.stairwell_id


def test_review_offers_residents_by_name_without_identity_number(db: str, tmp_path: Path) -> None:
    listed = write_csv(
        tmp_path / "名单.csv",
        ["姓名", "联系电话", "抵中日期"],
        [["王五", "13500135000", "2020-01-21"]],  # no number, a new phone
    )
    matched = json.loads(
        ok("match", listed, "--source", "contacts-0126", "--db", db, "--json").output
    )
    assert matched["review_queue"] == 1
    queue = json.loads(ok("review", "list", "--db", db, "--json").output)
    (row,) = queue
    wang = household(db, "百苑新村牡丹阁3幢1单元501")
    (candidate,) = row["candidates"]
    assert candidate["household_id"] == wang.id
    assert candidate["name"] == "王*"
    with gridguard.open(db) as ws:
        (person,) = ws.find(Person, household_id=wang.id)
    unknown = run("review", "accept", "zzzz", person.id, "--db", db)
    assert unknown.exit_code == 2
    assert "unknown review row 'zzzz'" in unknown.stderr
    ok("review", "accept", row["id"], person.id, "--db", db, "--date", "2020-01-25")
    assert json.loads(ok("review", "list", "--db", db, "--json").output) == []
    targets = json.loads(ok("targets", "--db", db, "--json").output)
    assert [t["household_id"] for t in targets] == [wang.id]


def test_review_reject_takes_the_row_off_the_queue(db: str, tmp_path: Path) -> None:
    listed = write_csv(tmp_path / "l.csv", ["姓名", "抵中日期"], [["孙悟空", "2020-01-21"]])
    ok("match", listed, "--source", "s1", "--db", db)
    (row,) = json.loads(ok("review", "list", "--db", db, "--json").output)
    assert row["candidates"] == []
    ok("review", "reject", row["id"], "--db", db, "--note", "查无此人")
    assert "没有待核对的行" in ok("review", "list", "--db", db).output


def test_visits_in_chinese_followups_and_tasks_that_close_themselves(
    db: str, tmp_path: Path
) -> None:
    ok("team", "import", teams_file(tmp_path), "--db", db, "--area", "hy")
    visits = write_csv(
        tmp_path / "走访.csv",
        ["时间", "地址", "结果", "方式", "小分队", "姓名", "体温", "症状"],
        [
            ["2020-01-26 15:00", "百苑新村牡丹阁3幢1单元302", "筛查", "上门", "第一小分队",
             "陈建国", "36.5", ""],
            ["2020-01-26 15:00", "百苑新村牡丹阁3幢1单元302", "筛查", "上门", "第一小分队",
             "李芳", "36.6", "咳嗽、乏力"],
            ["2020-01-26 15:10", "百苑新村牡丹阁3幢1单元501", "不在家", "上门", "第一小分队",
             "", "", ""],
            ["2020-01-26 15:20", "桂花楼201", "拒绝", "上门", "第一小分队", "", "", ""],
            ["2020-01-26 15:30", "桂花楼999", "空置", "上门", "第一小分队", "", "", ""],
        ],
    )  # fmt: skip
    recorded = run("visit", "record", visits, "--db", db)
    assert recorded.exit_code == 1
    assert "接受 3，拒收 1" in recorded.output
    assert "line 6: $.address: no household has this address" in recorded.stderr
    with gridguard.open(db) as ws:
        li = next(p for p in ws.find(Person) if p.name == "李芳")
        (screening,) = ws.find(gridguard.Screening, person_id=li.id)
    assert set(screening.symptoms) == {"咳嗽", "乏力"}
    phone = json.loads(ok("followup", "list", "--db", db, "--json").output)
    assert [f["household_id"] for f in phone] == [household(db, "百苑新村牡丹阁3幢1单元501").id]
    assert phone[0]["phone"] == "+86139****9000"
    refused = json.loads(ok("followup", "list", "--db", db, "--refused", "--json").output)
    assert [f["household_id"] for f in refused] == [household(db, "桂花楼201").id]

    ok("observer", "assign", "牡丹阁3幢", "陈建国", "--db", db)
    checkins = write_csv(
        tmp_path / "报平安.csv",
        ["时间", "楼栋", "观察员", "状态", "异常", "人数", "备注", "地址"],
        [
            ["2020-01-27 09:00", "牡丹阁3幢", "陈建国", "异常", "迁入", "2", "新搬来",
             "百苑新村牡丹阁3幢1单元501"],
        ],
    )  # fmt: skip
    ok("checkin", "record", checkins, "--db", db)
    tasks = json.loads(ok("task", "list", "--db", db, "--json").output)["tasks"]
    (visit_task,) = [t for t in tasks if t["kind"] == "visit"]
    assert visit_task["due"] == "2020-01-27T09:00+08:00"  # in the campaign's time zone
    later = write_csv(
        tmp_path / "走访2.csv",
        ["时间", "地址", "结果", "小分队", "姓名", "体温"],
        [["2020-01-28 10:00", "百苑新村牡丹阁3幢1单元501", "筛查", "第一小分队", "王五", "36.4"]],
    )
    assert "1 项任务已由这些走访完成" in ok("visit", "record", later, "--db", db).output
    with gridguard.open(db) as ws:
        assert ws.find(Task, id=visit_task["id"])[0].status.value == "done"
    assert json.loads(ok("followup", "list", "--db", db, "--json").output) == []


def test_task_close_by_hand(db: str, tmp_path: Path) -> None:
    ok("observer", "assign", "牡丹阁3幢", "陈建国", "--db", db)
    checkins = write_csv(
        tmp_path / "c.csv",
        ["时间", "楼栋", "观察员", "异常", "地址"],
        [["2020-01-27 09:00", "牡丹阁3幢", "陈建国", "有症状", "百苑新村牡丹阁3幢1单元302"]],
    )
    ok("checkin", "record", checkins, "--db", db)
    (call,) = json.loads(ok("task", "list", "--db", db, "--json").output)["tasks"]
    assert call["kind"] == "phone_call"
    missing = run("task", "close", call["id"][:-1] + "0", "--db", db)
    assert missing.exit_code == 2
    assert "did you mean" in missing.stderr
    ok("task", "close", call["id"], "--db", db)
    assert json.loads(ok("task", "list", "--db", db, "--json").output)["tasks"] == []


def test_monitoring_points(db: str) -> None:
    with gridguard.open(db) as ws:
        wang = next(p for p in ws.find(Person) if p.name == "王五")
    ok("point", "add", "pt-3", "--db", db, "--area", "hy-g3", "--name", "第三村小组健康监测点",
       "--observer", wang.id)  # fmt: skip
    assert json.loads(ok("point", "list", "--db", db, "--json").output)[0]["observer_id"] == wang.id
    first = ok("point", "report", "pt-3", "--db", db, "--observer", wang.id,
               "--at", "2020-01-26T08:00")  # fmt: skip
    assert "2020-01-26 08:00+08:00: 已记录" in first.output  # read in the campaign's zone
    again = ok("point", "report", "pt-3", "--db", db, "--observer", wang.id,
               "--at", "2020-01-26T08:00")  # fmt: skip
    assert "已有" in again.output
    wrong = run("point", "add", "pt-4", "--db", db, "--area", "hy", "--name", "x")
    assert wrong.exit_code == 2
    assert "must be a village group" in wrong.stderr
    silent = json.loads(
        ok("checkin", "missing", "--points", "--date", "2020-01-27", "--db", db, "--json").output
    )
    assert [m["id"] for m in silent["missing"]] == ["pt-3"]


def test_an_unknown_column_of_a_visit_or_check_in_file_is_the_header_line(
    db: str, tmp_path: Path
) -> None:
    visits = write_csv(
        tmp_path / "v.csv",
        ["时间", "地址", "结果", "体温度"],
        [["2020-01-26 15:00", "x", "筛查", "1"]],
    )
    refused = run("visit", "record", visits, "--db", db)
    assert refused.exit_code == 2
    assert "line 1: unknown column" in refused.stderr
    assert "体温度" in refused.stderr
    checkins = write_csv(
        tmp_path / "c.csv", ["时间", "楼栋", "天气"], [["2020-01-27 09:00", "x", "晴"]]
    )
    refused = run("checkin", "record", checkins, "--db", db)
    assert refused.exit_code == 2
    assert "line 1: unknown column" in refused.stderr
