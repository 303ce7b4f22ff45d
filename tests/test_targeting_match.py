"""Matching outside lists: the cascade, the review queue, targets, and the noisy list."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gridguard
from gridguard import Area, AreaLevel, Building, Household, Person, Stairwell
from gridguard.errors import ConfigError, ValidationError
from gridguard.model import GB11643
from gridguard.synth import huayuan
from gridguard.targeting import (
    ListEntry,
    Match,
    MatchPass,
    ReviewItem,
    Target,
    compute_targets,
    match_list,
    noisy_list,
    planner_priorities,
    ranked_targets,
    resolve_review,
    review_queue,
    targets_for_planner,
)
from gridguard.targeting._indexes import drop_match_indexes
from gridguard.targeting.matching import SqlFinder

LIST_HEADER = ["姓名", "身份证号", "手机号", "到达日期", "出发地"]
DAY = dt.date(2020, 1, 25)


def number(born: dt.date, seq: int, region: str = "442000") -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + GB11643.check_character(first17)


CHEN = number(dt.date(1960, 3, 7), 11)
LI = number(dt.date(1962, 5, 1), 22)
ZHANG = number(dt.date(1975, 8, 9), 31)
HUANG = number(dt.date(1980, 11, 30), 41)
OUYANG = number(dt.date(1990, 2, 3), 52)


def register() -> list[Any]:
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="hy"),
        Area(id="g2", name="第二网格", level=AreaLevel.GRID, parent_id="hy"),
        Building(id="b1", area_id="g1", name="1幢"),
        Building(id="b2", area_id="g2", name="2幢"),
        Stairwell(id="s1", building_id="b1", name="1梯", floors=6, doors_per_floor=2),
        Stairwell(id="s2", building_id="b2", name="1梯", floors=6, doors_per_floor=2),
        Household(id="h1", stairwell_id="s1", floor=1, door="101", address="1幢101"),
        Household(id="h2", stairwell_id="s1", floor=2, door="201", address="1幢201"),
        Household(id="h3", stairwell_id="s2", floor=1, door="101", address="2幢101"),
        Person(id="chen", household_id="h1", name="陈建国", resident_id=CHEN, phone="13800138000"),
        Person(id="chen-son", household_id="h1", name="陈小明", phone="13800138000"),
        Person(id="li", household_id="h2", name="李芳", resident_id=LI, phone="13900139000"),
        Person(id="zhang", household_id="h2", name="张伟", resident_id=ZHANG),
        Person(id="huang", household_id="h3", name="黄丽", resident_id=HUANG, phone="13700137000"),
        Person(id="ouyang", household_id="h3", name="欧阳娜娜", resident_id=OUYANG),
    ]


def typo(text: str, at: int) -> str:
    return text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1 :]


def write_list(path: Path, rows: list[list[str]], encoding: str = "gb18030") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        out = csv.writer(handle)
        out.writerow(LIST_HEADER)
        out.writerows(rows)
    return path


CASES = [
    # row 2: pass 1, the same valid number (the name in pinyin)
    ["CHEN JIANGUO", CHEN, "", "2020-01-20", "武汉"],
    # row 3: pass 2, the phone and a homophone of the name, no number
    ["李 芳", "", "139 0013 9000", "2020-01-22", "武汉"],
    # row 4: pass 3, a mistyped number, no phone
    ["张伟", typo(ZHANG, 9), "", "2020-01-18", "武汉"],
    # row 5: pass 3, two digits swapped
    ["欧阳娜娜", OUYANG[:10] + OUYANG[11] + OUYANG[10] + OUYANG[12:], "", "", "武汉"],
    # row 6: review, nobody has this number or phone
    ["王五", number(dt.date(1970, 1, 1), 99, "420106"), "13600136000", "2020-01-19", "武汉"],
    # row 7: review, the phone is the family's but the name is someone else's
    ["陈大文", "", "13800138000", "2020-01-21", "武汉"],
    # row 8: review, no number and no phone
    ["赵六", "", "", "2020-01-23", "武汉"],
    # row 9: pass 3 for a dropped digit
    ["黄丽", HUANG[:5] + HUANG[6:], "", "2020-01-24", "武汉"],
]


@pytest.fixture(params=["sqlite", "memory"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    target = tmp_path / "gg.db" if request.param == "sqlite" else "memory://"
    with gridguard.open(target) as workspace:
        workspace.add(register())
        yield workspace


def links(ws: Any, list_id: str) -> dict[int, set[tuple[str, MatchPass]]]:
    with ws.transaction(write=False) as uow:
        rows = {e.id: e.row for e in uow.find(ListEntry, where={"list_id": list_id})}
        out: dict[int, set[tuple[str, MatchPass]]] = {}
        for m in uow.find(Match):
            if m.entry_id in rows:
                out.setdefault(rows[m.entry_id], set()).add((m.person_id, m.match_pass))
    return out


def test_each_pass_of_the_cascade(ws: Any, tmp_path: Path) -> None:
    path = write_list(tmp_path / "list.csv", CASES)
    result = match_list(ws, path, source="railway-0124", on=DAY)
    found = links(ws, result.list_id)
    assert found == {
        2: {("chen", MatchPass.IDENTITY)},
        3: {("li", MatchPass.PHONE_NAME)},
        4: {("zhang", MatchPass.FUZZY_IDENTITY)},
        5: {("ouyang", MatchPass.FUZZY_IDENTITY)},
        9: {("huang", MatchPass.FUZZY_IDENTITY)},
    }
    assert dict(result.by_pass) == {"identity": 1, "phone_name": 1, "fuzzy_identity": 3}
    assert (result.rows, result.entries, result.matched, result.review_queue) == (8, 8, 5, 3)
    with ws.transaction(write=False) as uow:
        matches = list(uow.find(Match))
        reviews = {r.entry_id: r for r in uow.find(ReviewItem)}
    assert all(m.source == "railway-0124" and 0.5 <= m.score <= 1.0 for m in matches)
    scores = {m.person_id: m.score for m in matches}
    assert scores["chen"] == 0.95  # a pinyin name is a little less than the same name
    assert scores["zhang"] == pytest.approx(1.0 - 0.05)  # one edit
    queued = {q.row: q for q in review_queue(ws)}
    assert set(queued) == {6, 7, 8}
    assert "nobody in the register" in queued[6].reason
    assert "no name there is close enough" in queued[7].reason
    assert {c.person_id for c in queued[7].candidates} == {"chen", "chen-son"}
    assert "no identity number or phone" in queued[8].reason
    assert queued[6].name == "王*"  # the queue shows personal data masked
    assert len(reviews) == 3


def test_matching_the_same_list_again_changes_nothing(ws: Any, tmp_path: Path) -> None:
    path = write_list(tmp_path / "list.csv", CASES)
    first = match_list(ws, path, source="railway-0124", on=DAY)

    def facts() -> tuple[int, int, int, list[Any]]:
        with ws.transaction(write=False) as uow:
            return (
                uow.count(ListEntry),
                uow.count(Match),
                uow.count(ReviewItem),
                sorted((t.id, ws.version(Target, t.id)) for t in uow.find(Target)),
            )

    before = facts()
    again = match_list(ws, path, source="railway-0124", on=DAY)
    assert facts() == before
    assert (again.new_entries, sum(again.by_pass.values())) == (0, 0)
    assert (again.matched, again.review_queue, again.targets) == (
        first.matched,
        first.review_queue,
        first.targets,
    )


def test_a_new_version_of_a_list_only_adds_its_new_rows(ws: Any, tmp_path: Path) -> None:
    match_list(ws, write_list(tmp_path / "v1.csv", CASES[:2]), source="railway-0124", on=DAY)
    result = match_list(ws, write_list(tmp_path / "v2.csv", CASES[:3]), source="railway-0124")
    assert (result.entries, result.new_entries, result.matched) == (3, 1, 3)
    assert dict(result.by_pass) == {"identity": 0, "phone_name": 0, "fuzzy_identity": 1}


def test_unusable_rows_are_reported_and_the_rest_is_matched(ws: Any, tmp_path: Path) -> None:
    rows = [
        CASES[0],
        ["李四", "", '=HYPERLINK("x")', "", ""],
        ["", "", "", "2020-01-20", "武汉"],
        ["李芳", "", "139 0013 9000", "2099-01-01", ""],
        ["李芳", "", "12345", "", ""],
        CASES[0],
    ]
    path = write_list(tmp_path / "list.csv", rows)
    result = match_list(ws, path, source="railway-0124", on=DAY)
    assert result.report is not None
    with open(result.report, encoding="utf-8-sig", newline="") as handle:
        report = {int(r[0]): r[3] for r in list(csv.reader(handle))[1:]}
    assert set(report) == {3, 4, 5, 6, 7}
    assert "spreadsheet formula" in report[3]
    assert "nothing to match on" in report[4]
    assert "must not be in the future" in report[5]
    assert "kept without it" in report[6]  # a bad phone is dropped, the row kept
    assert "duplicate row" in report[7]
    assert (result.rows, result.entries, result.rejected) == (6, 2, 5)


def test_a_list_without_a_name_number_or_phone_column_is_refused(ws: Any, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("到达日期,出发地\n2020-01-20,武汉\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="name, identity number or phone column"):
        match_list(ws, path, source="railway-0124")


def test_the_receiving_area_defaults_to_the_only_top_area(ws: Any, tmp_path: Path) -> None:
    path = write_list(tmp_path / "list.csv", CASES[:1])
    assert match_list(ws, path, source="a").matched == 1
    ws.add([Area(id="fs", name="佛山市", level=AreaLevel.CITY)])
    with pytest.raises(ConfigError, match="--area"):
        match_list(ws, path, source="b")
    assert match_list(ws, path, source="b", area_id="hy").matched == 1


# -- targets ----------------------------------------------------------------------------------


def test_targets_rank_households_by_exposure_recency_and_people(ws: Any, tmp_path: Path) -> None:
    arrivals = write_list(
        tmp_path / "arrivals.csv",
        [
            ["陈建国", CHEN, "", "2020-01-10", "武汉"],  # outside the 14-day window on the 25th
            ["黄丽", HUANG, "", "2020-01-24", "武汉"],
            ["欧阳娜娜", OUYANG, "", "2020-01-24", "武汉"],
        ],
    )
    contacts = write_list(tmp_path / "contacts.csv", [["张伟", ZHANG, "", "2020-01-20", ""]])
    match_list(ws, arrivals, source="railway", on=DAY)
    match_list(ws, contacts, source="case-7", exposure="confirmed_case", on=DAY)
    ranked = ranked_targets(ws)
    assert [t.household_id for t in ranked] == ["h2", "h3", "h1"]
    h2, h3, h1 = ranked
    assert h2.sources == ("case-7",)
    assert h3.persons == ("huang", "ouyang") or h3.persons == ("ouyang", "huang")
    assert h3.priority > 60 * 1.5  # two recent arrivals: more than one
    assert h1.priority < 60 * 0.5  # arrived 15 days ago: outside the window
    assert [t.grid_id for t in ranked] == ["g1", "g2", "g1"]
    assert [t.household_id for t in ranked_targets(ws, "g1")] == ["h2", "h1"]
    assert ranked_targets(ws, "g1", limit=1)[0].household_id == "h2"
    assert targets_for_planner(ws) == ["h2", "h3", "h1"]
    priorities = planner_priorities(ws)
    assert priorities["h2"] > priorities["h3"] > priorities["h1"] >= 1
    assert "pass 1 identity" in h2.reasons[0]
    # Recomputing with nothing new changes no target's version.
    versions = {t.id: ws.version(Target, t.id) for t in ranked}
    compute_targets(ws, on=DAY)
    assert {t.id: ws.version(Target, t.id) for t in ranked} == versions


def test_a_review_decision_becomes_a_manual_match_and_a_target(ws: Any, tmp_path: Path) -> None:
    path = write_list(tmp_path / "list.csv", CASES)
    match_list(ws, path, source="railway-0124", on=DAY)
    queued = {q.row: q for q in review_queue(ws)}
    resolve_review(ws, queued[7].entry_id, "chen-son", note="the son, phoned", on=DAY)
    resolve_review(ws, queued[8].entry_id, None, note="not a resident")
    assert {q.row for q in review_queue(ws)} == {6}
    with ws.transaction(write=False) as uow:
        manual = [m for m in uow.find(Match) if m.match_pass is MatchPass.MANUAL]
    assert [(m.person_id, m.score) for m in manual] == [("chen-son", 1.0)]
    h1 = next(t for t in ranked_targets(ws) if t.household_id == "h1")
    assert set(h1.persons) == {"chen", "chen-son"}
    with pytest.raises(ValidationError, match="no such list row"):
        resolve_review(ws, "00000000-0000-0000-0000-000000000000", None)


def test_the_sweep_planner_takes_the_targets_first(tmp_path: Path) -> None:
    from gridguard.sweep import Sweep

    scenario = huayuan(7)
    people = [(p.id, p.name, str(p.resident_id), p.phone) for p in scenario.persons if p.phone]
    with gridguard.open(tmp_path / "gg.db") as ws:
        scenario.load(ws)
        path = noisy_list(people, size=30, seed=7).write_csv(tmp_path / "list.csv")
        match_list(ws, path, source="railway", on=scenario.campaign.start)
        sweep = Sweep(ws, scenario.campaign.id)
        plan = sweep.plan(sweep.roster([1]), targets=planner_priorities(ws))
        first = plan.shifts[0].assignments[0].stops[0]
        targeted = {ws.get(Household, h).stairwell_id for h in targets_for_planner(ws)}
        assert first.stairwell_id in targeted
        assert first.priority >= 1


# -- at scale: blocking runs in the database, and the noisy list ------------------------------


def test_the_blocking_queries_use_the_indexes(tmp_path: Path) -> None:
    with gridguard.open(tmp_path / "gg.db") as ws:
        ws.add(register())
        with ws.transaction() as uow:
            finder = SqlFinder(uow)
            assert finder.indexes_built is False  # the schema has them (migration 6)
            assert finder.by_numbers({CHEN})[CHEN][0].id == "chen"
            assert [p.id for p in finder.by_blocks({typo(CHEN, 15)})[typo(CHEN, 15)]] == ["chen"]
            plans = {
                name: " ".join(str(r) for r in uow.query("EXPLAIN QUERY PLAN " + sql, ('["x"]',)))
                for name, sql in [
                    ("numbers", SqlFinder.NUMBERS_SQL),
                    ("phones", SqlFinder.PHONES_SQL),
                    ("blocks", SqlFinder.BLOCKS_SQL),
                ]
            }
            # A bulk load killed between dropping and rebuilding them: the first match mends it.
            assert drop_match_indexes(uow) == ["persons_resident_id", "persons_phone"]
            assert SqlFinder(uow).indexes_built
            assert SqlFinder(uow).indexes_built is False
    assert "USING INDEX persons_resident_id (resident_id=?)" in plans["numbers"]
    assert "USING INDEX persons_phone (phone=?)" in plans["phones"]
    assert "USING INDEX persons_resident_id (resident_id>? AND resident_id<?)" in plans["blocks"]
    assert "SCAN p" not in " ".join(plans.values())  # never a scan of the register


def test_the_noisy_list_is_deterministic() -> None:
    people = [
        (
            f"p{n}",
            "陈建国",
            number(dt.date(1960, 1, 1) + dt.timedelta(days=n), 11),
            "+8613800138000",
        )
        for n in range(200)
    ]
    one = noisy_list(people, size=100, seed=3)
    assert one == noisy_list(people, size=100, seed=3)
    assert one != noisy_list(people, size=100, seed=4)
    assert sum(r.truth is None for r in one.rows) == 10
    assert sum(r.id_number == "" for r in one.rows) >= 15


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_precision_and_recall_on_the_noisy_list(tmp_path: Path, backend: str) -> None:
    """The cascade's quality on a Huayuan list (the city-scale figures are in the benchmark)."""
    scenario = huayuan(2020)
    people = [
        (p.id, p.name, str(p.resident_id), p.phone)
        for p in scenario.persons
        if p.resident_id is not None and p.phone is not None
    ]
    travellers = noisy_list(people, size=1500, seed=11)
    path = travellers.write_csv(tmp_path / "list.csv")
    target = tmp_path / "gg.db" if backend == "sqlite" else "memory://"
    with gridguard.open(target) as ws:
        scenario.load(ws)
        result = match_list(ws, path, source="railway", on=scenario.campaign.start)
        scores = travellers.score(ws, result.list_id)
    assert scores.precision >= 0.999
    assert scores.recall >= 0.97
    assert result.matched + result.review_queue == result.entries == 1500


def test_memory_and_sqlite_link_the_same_rows(tmp_path: Path) -> None:
    scenario = huayuan(5)
    people = [(p.id, p.name, str(p.resident_id), p.phone) for p in scenario.persons if p.phone]
    path = noisy_list(people, size=400, seed=5).write_csv(tmp_path / "list.csv")
    seen = []
    for target in ("memory://", tmp_path / "gg.db"):
        with gridguard.open(target) as ws:
            scenario.load(ws)
            result = match_list(ws, path, source="railway", on=scenario.campaign.start)
            seen.append(
                (
                    links(ws, result.list_id),
                    sorted((q.row, q.reason) for q in review_queue(ws)),
                    [(t.household_id, t.priority) for t in ranked_targets(ws)],
                )
            )
    assert seen[0] == seen[1]
