"""The input files of the campaign how-to (docs/campaign.md), made from a seed.

``python tests/campaign_files.py docs/examples/campaign`` writes them; the
test of the how-to checks that the files in docs/ are exactly what this
makes, so the two never drift apart. The register is what a community keeps:
one row per person, Chinese headers, saved by Excel as GBK, with the usual
mistakes (wrong check characters, a 性别 that disagrees with the number, a
row typed twice, a phone in full-width digits, a lower-case x).
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from gridguard.model.identity import GB11643

SEED = 2020
REGISTER_HEADER = ["网格", "小区", "楼栋", "单元", "楼层", "房号", "户主姓名", "与户主关系", "姓名",
                   "性别", "身份证号码", "联系电话", "居住类型"]  # fmt: skip
SURNAMES = [*"陈李黄张梁林刘吴罗何郑谢冯杨曾彭邓萧", "欧阳", "司徒"]
GIVEN = "建国明华芳丽英伟强军平秀兰桂珍玉志勇文静红霞海波小敏"
GRIDS = [
    ("第一网格", "百苑新村", ["牡丹阁1幢", "牡丹阁2幢", "牡丹阁3幢", "芙蓉阁1幢", "芙蓉阁2幢"]),
    ("第二网格", "桂花新村", ["桂花楼1幢", "桂花楼2幢", "桂花楼3幢", "兰苑1幢", "兰苑2幢"]),
]
UNITS, FLOORS, ROOMS = 2, 6, 2


def number(rng: random.Random, born_year: int, male: bool) -> str:
    born = f"{born_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    seq = rng.randrange(0, 999)
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"442000{born}{seq:03d}"
    return first17 + GB11643.check_character(first17)


def register_rows(seed: int = SEED) -> list[list[str]]:
    """The register's rows, the mistakes included (see the module's docstring)."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    for grid, compound, buildings in GRIDS:
        for building in buildings:
            for unit in range(1, UNITS + 1):
                for floor in range(1, FLOORS + 1):
                    for room in range(1, ROOMS + 1):
                        rows += _household(rng, grid, compound, building, unit, floor, room)
    # the usual mistakes
    for at in (11, 222, 433):  # a wrong check character: refused
        number_ = rows[at][10]
        rows[at][10] = number_[:-1] + ("0" if number_[-1] != "0" else "1")
    for at in (57, 301):  # 性别 disagrees with the number: stored, with a warning
        rows[at][9] = "女" if rows[at][9] == "男" else "男"
    rows[90][11] = "＋８６ １３９ ００１３ ９０９０"  # full-width +86: stored as +8613900139090
    x_rows = [r for r in rows if r[10].endswith("X")]
    if x_rows:
        x_rows[0][10] = x_rows[0][10][:-1] + "x"  # a lower-case x: stored with X
    rows.insert(150, list(rows[149]))  # a row typed twice: the second is refused
    return rows


def _household(
    rng: random.Random, grid: str, compound: str, building: str, unit: int, floor: int, room: int
) -> list[list[str]]:
    place = [grid, compound, building, str(unit), str(floor), f"{floor}{room:02d}"]
    size = rng.choice((1, 2, 2, 3, 3, 3, 4))
    surname = rng.choice(SURNAMES)
    names: list[str] = []
    while len(names) < size:
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in names:
            names.append(name)
    residency = rng.choice(("户籍", "户籍", "户籍", "租住"))
    rows = []
    for n, name in enumerate(names):
        male = n == 0 or rng.random() < 0.5
        year = rng.randint(1945, 1990) if n < 2 else rng.randint(1995, 2015)
        relation = ("本人", "配偶", "子女", "子女")[n]
        phone = f"13{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}" if n < 2 else ""
        rows.append([*place, names[0], relation, name, "男" if male else "女",
                     number(rng, year, male), phone, residency])  # fmt: skip
    return rows


def address(row: list[str]) -> str:
    """The address the register import gives a row's household."""
    return f"{row[1]}{row[2]}{row[3]}单元{row[5]}"


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str = "gbk") -> None:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_all(folder: Path, seed: int = SEED) -> None:
    """Write every input file of the how-to into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = register_rows(seed)
    write(folder / "areas.csv", ["编号", "名称", "级别", "上级编号"],
          [["zs", "中山市", "市", ""], ["zs-east", "东区", "区", "zs"],
           ["hy", "华苑社区", "社区", "zs-east"], ["wgs", "五桂山村", "村", "zs-east"],
           ["wgs-vg1", "一组", "村小组", "wgs"]], "utf-8")  # fmt: skip
    write(folder / "花名册.csv", REGISTER_HEADER, rows)
    write(folder / "小分队.csv", ["小分队", "网格", "姓名", "角色", "联系电话", "党员"], [
        ["第一小分队", "第一网格", "张卫东", "社区干部", "13800000001", "是"],
        ["第一小分队", "第一网格", "李医生", "医生", "13800000002", ""],
        ["第一小分队", "第一网格", "王警官", "民警", "13800000003", ""],
        ["第二小分队", "第二网格", "赵红", "社区干部", "13800000004", "是"],
        ["第二小分队", "第二网格", "钱医生", "医生", "13800000005", ""],
        ["第二小分队", "第二网格", "孙警官", "民警", "13800000006", ""],
    ])  # fmt: skip
    # the outside list: passengers from Wuhan, arrived in Zhongshan (抵中日期)
    traveller = [rows[30], rows[120], rows[260], rows[400]]  # by identity number
    by_phone = rows[200]  # no number, the register's phone
    moved = rows[330]  # no number, a new phone: waits for review, found by name
    listed = [[r[8], r[10].upper(), "", "2020-01-2" + str(n), "武汉", "G1024"]
              for n, r in enumerate(traveller)]  # fmt: skip
    listed.append([by_phone[8], "", by_phone[11], "2020-01-22", "武汉", "G1024"])
    listed.append([moved[8], "", "13512345678", "2020-01-23", "武汉", "D2206"])
    listed.append(["欧阳无名", "", "", "2020-01-23", "武汉", "D2206"])  # nobody on file
    list_header = ["姓名", "身份证号码", "联系电话", "抵中日期", "来源地", "车次"]
    write(folder / "武汉来中山旅客.csv", list_header, listed)
    # the first afternoon's visits, recorded in Chinese
    visits = []
    for n, person in enumerate([*traveller, by_phone, moved]):
        household = [r for r in rows if address(r) == address(person) and r is not rows[150]]
        for member in dict.fromkeys(r[8] for r in household):
            fever = "37.8" if member == person[8] and n == 0 else "36.5"
            trip = ("武汉", f"2020-01-2{min(n, 3)}") if member == person[8] else ("", "")
            visits.append(["2020-01-26 15:00", address(person), "筛查", "上门", "第一小分队",
                           member, fever, "咳嗽" if fever != "36.5" else "", *trip])  # fmt: skip
    visits.append(["2020-01-26 15:30", address(rows[0]), "不在家", "上门", "第一小分队",
                   "", "", "", "", ""])  # fmt: skip
    visits.append(["2020-01-26 15:40", address(rows[5]), "拒绝", "上门", "第一小分队",
                   "", "", "", "", ""])  # fmt: skip
    visit_header = ["时间", "地址", "结果", "方式", "小分队", "姓名", "体温", "症状", "外出地点",
                    "返回日期"]  # fmt: skip
    write(folder / "走访.csv", visit_header, visits)
    observer = rows[0]
    checkin_header = ["时间", "楼栋", "观察员", "状态", "异常", "人数", "备注", "地址"]
    write(folder / "报平安.csv", checkin_header, [
        ["2020-01-27 09:00", observer[2], observer[8], "正常", "", "", "", ""],
        ["2020-01-28 09:00", observer[2], observer[8], "异常", "迁入", "2", "新搬来一户",
         address(rows[2])],
    ])  # fmt: skip


if __name__ == "__main__":
    write_all(Path(sys.argv[1]))
