"""docs/campaign.md runs as written, and its figures agree with counts made from its files.

The how-to's console blocks are collected by sybil and run in order
(:mod:`doc_runner`) in a fresh folder holding a copy of
``docs/examples/campaign/``.
The figures are then checked against counts computed from the input files
with the csv module and the identity-number check alone, not with gridguard.
"""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import shutil
from pathlib import Path
from typing import Any

import pytest

import gridguard
from campaign_files import write_all
from doc_runner import new_namespace, run_page
from gridguard.model import (
    Building,
    Household,
    Person,
    QuarantineOrder,
    Screening,
    Stairwell,
    Task,
    Team,
)
from gridguard.model.identity import GB11643

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "campaign.md"
FILES = ROOT / "docs" / "examples" / "campaign"


def test_the_example_files_are_what_the_generator_makes(tmp_path: Path) -> None:
    write_all(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in FILES.iterdir() if p.suffix == ".csv")
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, FILES, made, shallow=False)
    assert (mismatch, errors) == ([], [])


@pytest.fixture
def campaign(tmp_path: Path) -> dict[str, Any]:
    work = tmp_path / "campaign"
    shutil.copytree(FILES, work)
    namespace = new_namespace(work)
    run_page(DOC, namespace)
    return namespace


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="gbk", newline="") as handle:
        return list(csv.DictReader(handle))


def valid(number: str) -> bool:
    number = number.strip().upper()
    return (
        len(number) == 18
        and number[:17].isdigit()
        and GB11643.check_character(number[:17]) == number[17]
    )


def test_the_campaign_how_to_runs_and_its_figures_agree_with_the_files(
    campaign: dict[str, Any],
) -> None:
    assert len(campaign["ran"]) >= 20
    commands = " ".join(campaign["ran"])
    for step in ("import register", "campaign create", "team import", "match", "review accept",
                 "plan --targets", "visit record", "checkin record", "screen", "quarantine",
                 "notify dispatch", "report daily"):  # fmt: skip
        assert step in commands
    register = read(FILES / "花名册.csv")
    assert len(register) >= 500
    seen: set[str] = set()
    stored = []
    for row in register:
        number = row["身份证号码"].upper()
        if valid(number) and number not in seen:
            seen.add(number)
            stored.append(row)
    place = ("网格", "小区", "楼栋", "单元", "房号")
    visits = read(FILES / "走访.csv")
    listed = read(FILES / "武汉来中山旅客.csv")
    register_phones = {r["联系电话"] for r in stored if r["联系电话"]}
    db = campaign["cwd"] / campaign["env"]["GRIDGUARD_DB"]
    with gridguard.open(db) as ws:
        # the register
        assert ws.count(Person) == len(stored)
        assert ws.count(Household) == len({tuple(r[k] for k in place) for r in stored})
        assert ws.count(Building) == len({(r["小区"], r["楼栋"]) for r in stored})
        assert ws.count(Stairwell) == len({(r["小区"], r["楼栋"], r["单元"]) for r in stored})
        assert ws.count(Team) == len({r["小分队"] for r in read(FILES / "小分队.csv")})
        # the outside list: by number, by phone, and one by hand after review
        by_number = [r for r in listed if r["身份证号码"] and r["身份证号码"] in seen]
        by_phone = [r for r in listed if not r["身份证号码"] and r["联系电话"] in register_phones]
        matched = len(by_number) + len(by_phone) + 1
        targets = gridguard.targeting.ranked_targets(ws, None)
        assert len(targets) == matched
        # the visits: every screened row is a screening; travellers back within 14 days
        screened = [v for v in visits if v["结果"] == "筛查"]
        assert ws.count(Screening) == len(screened)
        day = dt.date(2020, 1, 27)
        travellers = [
            v for v in screened
            if v["外出地点"] == "武汉"
            and 0 <= (day - dt.date.fromisoformat(v["返回日期"])).days <= 14
        ]  # fmt: skip
        orders = ws.find(QuarantineOrder)
        assert len(orders) == len(travellers)
        assert {o.kind.value for o in orders} == {"home"}
        # the follow-ups: not at home to phone, refused to escalate
        sweep = gridguard.sweep.Sweep(ws)
        assert len(sweep.phone_queue()) == sum(v["结果"] == "不在家" for v in visits)
        assert len(sweep.escalations()) == sum(v["结果"] == "拒绝" for v in visits)
        # the move-in the observer reported is a visit task, still open
        visit_tasks = [t for t in ws.find(Task) if t.kind.value == "visit"]
        moved = sum(r["异常"] == "迁入" for r in read(FILES / "报平安.csv"))
        assert len(visit_tasks) == moved
        assert {t.status.value for t in visit_tasks} == {"open"}
        fevers = [v for v in screened if v["体温"] and float(v["体温"]) >= 37.3]
        referrals = {t.person_id for t in ws.find(Task) if t.kind.value == "referral"}
        assert len(referrals) == len(fevers)
