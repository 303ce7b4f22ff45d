"""Importing a community's flat register: one row per person, the place tree built from it.

The register every Chinese community keeps is one table (CSV in UTF-8,
UTF-8 with a BOM or GBK/GB18030, or an Excel workbook through
``gridguard-xlsx``) with a row per person: 网格, 小区, 楼栋, 单元, 楼层, 房号,
户主姓名, 与户主关系, 姓名, 性别, 身份证号码, 联系电话, 居住类型.
:func:`import_register` builds, below a community that is already stored,
the grids, buildings (with their compound), stairwells, households (one per
address; the head's phone is the household's) and persons.

Ids are derived from the place names and identity numbers
(``gridguard.targeting.importing.derived_id``), so importing the same
register again changes nothing, a corrected row updates its person, and a
later register of the same community merges into what is stored. Chinese
names are welcome everywhere: they are part of the key, never the id.

Every row gets an outcome (stored, updated, unchanged, stored with warnings,
refused) with all of its problems, in English or Chinese, in a report beside
the file (``<name>.register.csv``). A 性别 or birth date that disagrees with
the identity number, an unknown region code and a number of a non-mainland
scheme are warnings: the number wins and both values are in the warning.
Columns that are neither known nor ignored on purpose stop the import before
anything is stored. The file is read in batches, and each batch is looked up
and written set-wise: memory stays flat and no row costs a round trip.
"""

from __future__ import annotations

import csv
import time
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConfigError, ValidationError
from ..masking import mask_id_number, mask_name, mask_phone
from ..model import Area, AreaLevel, Building, Household, Person, Stairwell
from ..storage.dialect import SqlDialect
from ..storage.schema import Row, TableSpec, spec_for
from . import fields as cell
from .fields import RESIDENCIES, SEXES, derived_id
from .reasons import zh as _zh
from .tables import BadRow, Table, clean, layout, normalise_header, open_table

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "OUTCOMES",
    "REGISTER_ALIASES",
    "REGISTER_FIELDS",
    "Problem",
    "RegisterResult",
    "RowOutcome",
    "import_register",
    "register_report_path",
]

BATCH_SIZE = 5000

REGISTER_FIELDS = (
    "grid",
    "compound",
    "building",
    "unit",
    "floor",
    "room",
    "address",
    "head_name",
    "relation",
    "name",
    "sex",
    "resident_id",
    "birth_date",
    "phone",
    "residency",
)
REGISTER_REQUIRED = ("grid", "building", "room", "name")
REGISTER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "grid": ("网格", "所属网格", "网格名称", "网格名", "grid_name"),
    "compound": ("小区", "小区名称", "新村", "小区/新村", "estate", "所属小区"),
    "building": ("楼栋", "楼幢", "楼号", "栋", "幢", "楼栋号", "楼幢名称", "楼栋名称"),
    "unit": ("单元", "楼梯", "梯", "单元号", "stairwell", "entrance"),
    "floor": ("楼层", "层", "所在楼层", "层数"),
    "room": ("房号", "门牌号", "房间号", "室", "门牌", "door", "room_number"),
    "address": ("地址", "住址", "详细地址", "现住址", "居住地址"),
    "head_name": ("户主姓名", "户主", "head", "head_of_household"),
    "relation": ("与户主关系", "关系", "relationship", "relation_to_head"),
    "name": ("姓名", "名字", "全名", "person_name"),
    "sex": ("性别", "gender"),
    "resident_id": (
        "id_number",
        "idnumber",
        "idcard",
        "身份证",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "证件号码",
        "证件号",
    ),
    "birth_date": ("birthdate", "birthday", "date_of_birth", "dob", "出生日期", "生日"),
    "phone": ("mobile", "tel", "telephone", "电话", "手机", "手机号", "手机号码", "联系电话"),
    "residency": ("居住类型", "人员类型", "人员类别", "居住状态", "户籍类型"),
}
"""Header spellings of a flat register, Chinese and English (the field name always matches)."""

HEAD_RELATIONS = frozenset(("本人", "户主", "self", "head"))

MAINLAND_REGIONS = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
    ]
)
"""The provinces' two-digit region codes (GB/T 2260)."""
NON_MAINLAND_REGIONS = {
    "71": "Taiwan 台湾",
    "81": "Hong Kong 香港",
    "82": "Macao 澳门",
    "83": "Taiwan residence permit 台湾居民居住证",
    "91": "foreigner's permanent residence 外国人永久居留",
}

STORED, UPDATED, UNCHANGED, WARNED, REFUSED = (
    "stored",
    "updated",
    "unchanged",
    "stored_with_warnings",
    "refused",
)
OUTCOMES: Mapping[str, tuple[str, str]] = {
    STORED: ("stored", "已存入"),
    UPDATED: ("updated", "已更新"),
    UNCHANGED: ("unchanged", "未变"),
    WARNED: ("stored with warnings", "已存入（有警告）"),
    REFUSED: ("refused", "拒绝"),
}
"""Each row's outcome, with its English and Chinese label."""


@attrs.frozen
class Problem:
    """One problem of a row: the column, the value as shown (masked), the message in en and zh."""

    column: str
    value: str
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


def _problem(column: str, value: str, en: str, zh: str | None = None) -> Problem:
    return Problem(column, value, en, zh if zh is not None else _zh(en))


@attrs.frozen
class RowOutcome:
    """What became of one row of the file."""

    line: int
    outcome: str
    person_id: str | None = None
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


@attrs.frozen(kw_only=True)
class RegisterResult:
    """What a register import did, counted by outcome and by kind of place."""

    path: Path
    format: str
    encoding: str | None
    community_id: str
    rows: int
    outcomes: Mapping[str, int]
    places: Mapping[str, int]
    """New grids, buildings, stairwells and households this import stored."""
    report: Path | None
    first_problems: tuple[tuple[int, str, str], ...] = ()
    """Up to 20 ``(line, outcome, message)`` of refused or warned rows, for the terminal."""
    seconds: float = 0.0

    @property
    def refused(self) -> int:
        return self.outcomes.get(REFUSED, 0)

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "file": str(self.path),
            "format": self.format,
            "encoding": self.encoding,
            "community": self.community_id,
            "rows": self.rows,
            **{k: self.outcomes.get(k, 0) for k in OUTCOMES},
            "places": dict(self.places),
            "report": None if self.report is None else str(self.report),
            "seconds": round(self.seconds, 3),
        }


def register_report_path(path: Path) -> Path:
    """Where the row-by-row report of ``path`` goes: ``<stem>.register.csv`` beside it."""
    return path.with_name(f"{path.stem}.register.csv")


# -- the header ---------------------------------------------------------------------------------


@attrs.frozen
class HeaderMap:
    """A mapping file's header spellings (``[columns]``) and the columns to ignore."""

    columns: Mapping[str, str] = attrs.field(factory=dict)
    ignore: tuple[str, ...] = ()


def read_mapping(path: str | Path | None) -> HeaderMap:
    """A TOML mapping file: ``[columns]`` header = field, and ``ignore = [...]``.

    ``"户籍所在地" = ""`` in ``[columns]`` ignores that column too.
    """
    if path is None:
        return HeaderMap()
    source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"mapping file {source.name}: {exc}") from None
    unknown = set(data) - {"columns", "ignore"}
    if unknown:
        raise ConfigError(
            f"mapping file {source.name}: unknown key(s) {', '.join(sorted(unknown))} "
            "(known: columns, ignore)"
        )
    columns = data.get("columns", {})
    ignore = data.get("ignore", [])
    if not isinstance(columns, dict) or not isinstance(ignore, list):
        raise ConfigError(f"mapping file {source.name}: [columns] is a table, ignore a list")
    bad = {str(v) for v in columns.values() if v and v not in REGISTER_FIELDS}
    if bad:
        raise ConfigError(
            f"mapping file {source.name}: unknown field(s) {', '.join(sorted(bad))} "
            f"(known: {', '.join(REGISTER_FIELDS)})"
        )
    mapped = {str(k): str(v) for k, v in columns.items() if v}
    dropped = [str(k) for k, v in columns.items() if not v]
    return HeaderMap(columns=mapped, ignore=(*map(str, ignore), *dropped))


def _layout(table: Table, mapping: HeaderMap, ignore: Sequence[str], source: str) -> Any:
    """The register's layout; unknown columns not ignored on purpose stop the import."""
    aliases: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in REGISTER_ALIASES.items()}
    for header, field in mapping.columns.items():
        aliases[field] = (*aliases.get(field, ()), header)
    lay = layout(table.header, REGISTER_FIELDS, aliases, REGISTER_REQUIRED, source=source)
    accepted = {normalise_header(c) for c in (*mapping.ignore, *ignore)}
    unknown = [c for c in lay.ignored if normalise_header(c) not in accepted]
    if unknown:
        raise ValidationError.single(
            f"{source}:1",
            ", ".join(unknown),
            "unknown column(s), nothing stored: name them in a mapping file (--mapping) "
            "or accept them with --ignore COLUMN",
        )
    return lay


# -- one row -------------------------------------------------------------------------------------


@attrs.frozen
class _Place:
    """The places a person row implies, by id and name."""

    community: str
    grid_id: str
    grid: str
    building_id: str
    compound: str | None
    building: str
    stairwell_id: str
    unit: str
    household_id: str
    floor: int
    room: str
    address: str
    head: bool


def _floor_of(room: str) -> int | None:
    """The floor a room number implies: ``302`` -> 3, ``1502`` -> 15, ``B101`` -> None."""
    digits = unicodedata.normalize("NFKC", room).strip()
    if digits.isdigit() and len(digits) >= 3:
        return int(digits[:-2])
    return None


def _region_warning(number: str) -> Problem | None:
    region = number[:2]
    if region in MAINLAND_REGIONS:
        return None
    if region in NON_MAINLAND_REGIONS:
        where = NON_MAINLAND_REGIONS[region]
        return Problem(
            "resident_id",
            mask_id_number(number),
            f"an identity number of a non-mainland scheme ({where}, region {region})",
            f"非内地证件号码（{where}，地区码{region}）",
        )
    return Problem(
        "resident_id",
        mask_id_number(number),
        f"unknown region code {region}",
        f"未知的地区码{region}",
    )


def _person_values(
    v: Mapping[str, str | None],
) -> tuple[dict[str, Any], list[Problem], list[Problem]]:
    """The person's fields from the row's cells, every error and every warning of them."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    out: dict[str, Any] = {}
    name = v["name"]
    if name is None:
        errors.append(_problem("name", "", "required, but the cell is empty"))
    else:
        try:
            out["name"] = cell.read_name("name", name)
        except cell.CellError as exc:
            errors.append(_problem("name", exc.shown, exc.rule))
    born_from_id: str | None = None
    sex_from_id: str | None = None
    rid = v["resident_id"]
    if rid is not None:
        try:
            number, born_from_id, bit = cell.read_resident_id("resident_id", rid)
        except cell.CellError as exc:
            errors.append(_problem("resident_id", exc.shown, exc.rule))
        else:
            out["resident_id"] = number
            sex_from_id = None if bit is None else ("male" if bit else "female")
            if ":" not in number:
                region = _region_warning(number)
                if region is not None:
                    warnings.append(region)
            else:
                warnings.append(
                    Problem(
                        "resident_id",
                        mask_id_number(number),
                        f"an identity number of a non-mainland scheme ({number.split(':')[0]})",
                        f"非内地证件号码（{number.split(':')[0]}）",
                    )
                )
    phone = v["phone"]
    if phone is not None:
        try:
            text = unicodedata.normalize("NFKC", phone)
            out["phone"] = cell.read_phone("phone", text)
        except cell.CellError as exc:
            errors.append(_problem("phone", mask_phone(phone), exc.rule))
    sex = v["sex"]
    if sex is not None:
        try:
            given = SEXES.get(sex) or cell.parse_enum("sex", sex, SEXES)
        except cell.CellError as exc:
            if sex_from_id is None:
                errors.append(_problem("sex", exc.shown, exc.rule))
            else:
                warnings.append(
                    _problem("sex", exc.shown, f"{exc.rule}; the identity number's is kept")
                )
        else:
            if sex_from_id is not None and given != sex_from_id:
                warnings.append(
                    Problem(
                        "sex",
                        f"{sex!r} / {sex_from_id}",
                        f"性别 {sex!r} disagrees with the identity number ({sex_from_id}); "
                        "the number's is kept",
                        f"性别“{sex}”与身份证号码（{'男' if sex_from_id == 'male' else '女'}）"
                        "不符，以身份证号码为准",
                    )
                )
            else:
                out["sex"] = given
    if sex_from_id is not None:
        out["sex"] = sex_from_id
    birth = v["birth_date"]
    if birth is not None:
        try:
            given_birth = cell.parse_date("birth_date", birth, personal=True).isoformat()
        except cell.CellError as exc:
            if born_from_id is None:
                errors.append(_problem("birth_date", exc.shown, exc.rule))
            else:
                warnings.append(
                    _problem("birth_date", exc.shown, f"{exc.rule}; the identity number's is kept")
                )
        else:
            if born_from_id is not None and given_birth != born_from_id:
                warnings.append(
                    Problem(
                        "birth_date",
                        f"{given_birth} / {born_from_id}",
                        f"birth date {given_birth} disagrees with the identity number "
                        f"({born_from_id}); the number's is kept",
                        f"出生日期{given_birth}与身份证号码（{born_from_id}）不符，以身份证号码为准",
                    )
                )
            elif given_birth > cell.today_iso():
                errors.append(_problem("birth_date", mask_name(birth), "must not be in the future"))
            else:
                out["birth_date"] = given_birth
    if born_from_id is not None:
        out["birth_date"] = born_from_id
    residency = v["residency"]
    if residency is None:
        out["residency"] = "resident"
    else:
        try:
            out["residency"] = RESIDENCIES.get(residency) or cell.parse_enum(
                "residency", residency, RESIDENCIES
            )
        except cell.CellError as exc:
            errors.append(_problem("residency", exc.shown, exc.rule))
    return out, errors, warnings


def _text(field: str, value: str | None, errors: list[Problem]) -> str | None:
    if value is None:
        return None
    try:
        return cell.read_text(field, value)
    except cell.CellError as exc:
        errors.append(_problem(field, exc.shown, exc.rule))
        return None


def _place(community: str, v: Mapping[str, str | None], errors: list[Problem]) -> _Place | None:
    """The grid, building, stairwell and household of a row (``None`` if one can't be told)."""
    parts = {}
    for field in ("grid", "building", "room"):
        value = _text(field, v[field], errors)
        if v[field] is None:
            errors.append(_problem(field, "", "required, but the cell is empty"))
        parts[field] = value
    compound = _text("compound", v["compound"], errors)
    unit = _text("unit", v["unit"], errors) or "1"
    floor: int | None = None
    if v["floor"] is not None:
        try:
            floor = cell.parse_int("floor", v["floor"], -5, 200)
        except cell.CellError as exc:
            errors.append(_problem("floor", exc.shown, exc.rule))
            return None
    elif parts["room"] is not None:
        floor = _floor_of(parts["room"])
        if floor is None or not -5 <= floor <= 200:
            errors.append(
                _problem(
                    "floor", "", "cannot tell the floor: give 楼层 or a room number such as 302"
                )
            )
            return None
    grid, building, room = parts["grid"], parts["building"], parts["room"]
    if grid is None or building is None or room is None or floor is None:
        return None
    unit_label = None if v["unit"] is None else (f"{unit}单元" if unit.isdigit() else unit)
    address = _text("address", v["address"], errors) or "".join(
        p for p in (compound, building, unit_label, room) if p
    )
    grid_id = derived_id("a", community, "grid", grid)
    building_id = derived_id("b", grid_id, compound or "", building)
    stairwell_id = derived_id("s", building_id, unit)
    household_id = derived_id("h", stairwell_id, str(floor), room)
    relation = (v["relation"] or "").strip().lower()
    head = relation in HEAD_RELATIONS or (
        v["head_name"] is not None and v["head_name"] == v["name"]
    )
    return _Place(
        community=community,
        grid_id=grid_id,
        grid=grid,
        building_id=building_id,
        compound=compound,
        building=building,
        stairwell_id=stairwell_id,
        unit=unit,
        household_id=household_id,
        floor=floor,
        room=room,
        address=address,
        head=head,
    )


# -- writing ---------------------------------------------------------------------------------------


def _stored(
    uow: UnitOfWork, spec: TableSpec, ids: Iterable[str], dialect: SqlDialect
) -> dict[str, Row]:
    """The stored rows of ``ids``, encoded as :meth:`TableSpec.encode` does.

    One query per 500 ids on a SQL backend; the memory backend is read in
    place. Rows come back decoded and encoded again, so that a date stored
    as a date (PostgreSQL) compares equal to its ISO text.
    """
    wanted = sorted(set(ids))
    found: dict[str, Row] = {}
    if not dialect.runs_sql:
        for i in wanted:
            obj = uow.get(spec.cls, i)
            if obj is not None:
                found[i] = spec.encode(obj)
        return found
    cols = ", ".join(f'"{c}"' for c in spec.column_names)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        query = dialect.text(f"SELECT {cols} FROM {spec.table} WHERE id IN ({marks})")
        for record in uow.query(query, chunk):
            found[str(record[0])] = spec.encode(spec.decode(tuple(record)))
    return found


class _Places:
    """Stores the places a batch implies, each once per import, set-wise."""

    def __init__(self, uow: UnitOfWork, dialect: SqlDialect) -> None:
        self.uow = uow
        self.dialect = dialect
        self.seen: dict[type[Any], set[str]] = {
            Area: set(),
            Building: set(),
            Stairwell: set(),
            Household: set(),
        }
        self.new = {"grids": 0, "buildings": 0, "stairwells": 0, "households": 0}
        self.doors: dict[str, dict[int, set[str]]] = {}
        """Per stairwell of this import: the rooms seen on each floor."""
        self.phones: dict[str, str] = {}
        """Households whose phone this import set from the head's row."""

    def _record(self, cls: type[Any], place: _Place, phone: str | None) -> Any:
        if cls is Area:
            return Area(
                id=place.grid_id, name=place.grid, level=AreaLevel.GRID, parent_id=place.community
            )
        if cls is Building:
            return Building(
                id=place.building_id,
                area_id=place.grid_id,
                name=place.building,
                compound=place.compound,
            )
        if cls is Stairwell:
            floors, doors = self._dimensions(place.stairwell_id)
            return Stairwell(
                id=place.stairwell_id,
                building_id=place.building_id,
                name=place.unit,
                floors=floors,
                doors_per_floor=doors,
            )
        return Household(
            id=place.household_id,
            stairwell_id=place.stairwell_id,
            floor=place.floor,
            door=place.room,
            address=place.address,
            phone=phone if place.head else None,
        )

    def write(self, places: list[tuple[_Place, str | None]]) -> None:
        """Insert the places not stored yet; give households their head's phone."""
        for place, _ in places:
            floors = self.doors.setdefault(place.stairwell_id, {})
            floors.setdefault(place.floor, set()).add(place.room)
        kinds: tuple[tuple[type[Any], str, Callable[[_Place], str]], ...] = (
            (Area, "grids", lambda p: p.grid_id),
            (Building, "buildings", lambda p: p.building_id),
            (Stairwell, "stairwells", lambda p: p.stairwell_id),
            (Household, "households", lambda p: p.household_id),
        )
        for cls, label, key_of in kinds:
            first: dict[str, tuple[_Place, str | None]] = {}
            for place, phone in places:
                key = key_of(place)
                if key in self.seen[cls]:
                    continue
                if key not in first or (cls is Household and place.head):
                    first[key] = (place, phone)
            if not first:
                continue
            stored = self.uow.existing_ids(cls, set(first))
            spec = spec_for(cls)
            new = [
                spec.encode(self._record(cls, place, phone))
                for key, (place, phone) in first.items()
                if key not in stored
            ]
            if new:
                self.uow.load_rows(cls, new)
                self.new[label] += len(new)
            self.seen[cls].update(first)
            if cls is Household:
                for key, (place, phone) in first.items():
                    if key not in stored and place.head and phone is not None:
                        self.phones[key] = phone
        self._head_phones(places)

    def _dimensions(self, stairwell_id: str) -> tuple[int, int]:
        floors = self.doors[stairwell_id]
        top = max(1, max(floors))
        doors = max(1, max(len(rooms) for rooms in floors.values()))
        return min(top, 200), min(doors, 50)

    def _head_phones(self, places: list[tuple[_Place, str | None]]) -> None:
        """A head's phone becomes the household's (a stored household's too)."""
        changed: dict[str, str] = {}
        for place, phone in places:
            hid = place.household_id
            if place.head and phone is not None and self.phones.get(hid) != phone:
                changed[hid] = phone
        if not changed:
            return
        spec = spec_for(Household)
        stored = _stored(self.uow, spec, changed, self.dialect)
        updates = []
        for hid, phone in changed.items():
            self.phones[hid] = phone
            row = stored.get(hid)
            if row is not None and row[5] != phone:
                updates.append(spec.decode((*row[:5], phone)))
        if updates:
            self.uow.put(Household, updates)

    def finish(self) -> None:
        """Grow the stairwells of this import to the floors and doors their rows show."""
        spec = spec_for(Stairwell)
        stored = _stored(self.uow, spec, self.doors, self.dialect)
        updates = []
        for sid, row in stored.items():
            floors, doors = self._dimensions(sid)
            grown = (*row[:3], max(int(row[3]), floors), max(int(row[4]), doors))
            if grown != tuple(row):
                updates.append(spec.decode(grown))
        if updates:
            self.uow.put(Stairwell, updates)


# -- the import ------------------------------------------------------------------------------------


def import_register(
    ws: Workspace,
    path: str | Path,
    *,
    community: str,
    format: str | None = None,
    encoding: str | None = None,
    mapping: str | Path | None = None,
    ignore: Sequence[str] = (),
    lang: str = "zh-CN",
    report: bool | Path = True,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> RegisterResult:
    """Import the flat register at ``path`` below the stored community ``community``.

    Unknown columns (neither known, nor in ``mapping``, nor in ``ignore``)
    raise :class:`~gridguard.errors.ValidationError` before anything is
    stored. Each row is stored, updated, unchanged, stored with warnings or
    refused; the report (``<name>.register.csv`` beside the file by default,
    ``report=False`` for none) lists every row with its outcome and all of
    its problems in ``lang`` (``zh-CN`` or ``en``). The whole file is one
    transaction.
    """
    started = time.perf_counter()
    ws.authorize("targeting.import", "*")
    source = Path(path)
    with ws._transaction(write=False) as uow:
        area = uow.get(Area, community)
    if area is None:
        raise ConfigError(f"unknown community {community!r}: import or add it first")
    if area.level not in (AreaLevel.COMMUNITY, AreaLevel.VILLAGE):
        raise ConfigError(f"{community!r} is a {area.level.value}, not a community or village")
    rules = read_mapping(mapping)
    table = open_table(ws, source, format, encoding)
    try:
        lay = _layout(table, rules, ignore, source.name)
    except BaseException:
        table.close()
        raise
    target = register_report_path(source) if report is True else (report or None)
    sink = _Report(target if isinstance(target, Path) else None, lang, lay)
    dialect = ws.dialect
    counts = dict.fromkeys(OUTCOMES, 0)
    rows_read = 0
    try:
        with ws._transaction() as uow:
            places = _Places(uow, dialect)
            people = _People(uow, dialect)
            batch: list[tuple[int, Any]] = []
            for number, cells in table.rows:
                rows_read += 1
                batch.append((number, cells))
                if len(batch) >= batch_size:
                    _run_batch(batch, lay, community, places, people, sink, counts)
                    if progress is not None:
                        progress(len(batch))
                    batch = []
                    cell.refresh_today()
            if batch:
                _run_batch(batch, lay, community, places, people, sink, counts)
                if progress is not None:
                    progress(len(batch))
            places.finish()
    finally:
        table.close()
        written = sink.close()
    return RegisterResult(
        path=source,
        format=table.format,
        encoding=table.encoding,
        community_id=community,
        rows=rows_read,
        outcomes=counts,
        places=dict(places.new),
        report=written,
        first_problems=tuple(sink.first),
        seconds=time.perf_counter() - started,
    )


class _People:
    """Sorts a batch's persons into new, changed and unchanged, and stores them set-wise."""

    def __init__(self, uow: UnitOfWork, dialect: SqlDialect) -> None:
        self.uow = uow
        self.dialect = dialect
        self.spec = spec_for(Person)
        self.first_line: dict[str, int] = {}
        """The line of each person id this import has stored, to name duplicates."""

    def write(self, rows: list[tuple[int, Row]]) -> dict[int, str]:
        """Store ``rows``; each line's outcome (``stored``, ``updated``, ``unchanged``)."""
        stored = _stored(self.uow, self.spec, (str(r[0]) for _, r in rows), self.dialect)
        outcome: dict[int, str] = {}
        new: list[Row] = []
        changed: list[Any] = []
        for line, row in rows:
            key = str(row[0])
            self.first_line[key] = line
            old = stored.get(key)
            if old is None:
                new.append(row)
                outcome[line] = STORED
            elif old == row:
                outcome[line] = UNCHANGED
            else:
                changed.append(self.spec.decode(row))
                outcome[line] = UPDATED
        if new:
            self.uow.load_rows(Person, new)
        if changed:
            self.uow.put(Person, changed)
        return outcome


def _run_batch(
    batch: list[tuple[int, Any]],
    lay: Any,
    community: str,
    places: _Places,
    people: _People,
    sink: _Report,
    counts: dict[str, int],
) -> None:
    """Validate, store and report one batch of rows."""
    valid: list[tuple[int, Row, list[Problem]]] = []
    implied: list[tuple[_Place, str | None]] = []
    batch_ids: dict[str, int] = {}
    for number, cells in batch:
        if isinstance(cells, BadRow):
            sink.add(RowOutcome(number, REFUSED, errors=(_problem("", "", cells.reason),)))
            counts[REFUSED] += 1
            continue
        values = {
            f: (None if p is None else clean(cells[p]))
            for f, p in zip(lay.fields, lay.positions, strict=True)
        }
        errors: list[Problem] = []
        place = _place(community, values, errors)
        person, person_errors, warnings = _person_values(values)
        errors.extend(person_errors)
        if errors or place is None:
            sink.add(RowOutcome(number, REFUSED, errors=tuple(errors), warnings=tuple(warnings)))
            counts[REFUSED] += 1
            continue
        household_id = place.household_id
        rid = person.get("resident_id")
        if rid is not None:
            pid = derived_id("p", "CN:" + rid if ":" not in rid else rid)
        else:
            pid = derived_id("p", household_id, person["name"], person.get("birth_date"))
        earlier = batch_ids.get(pid) or people.first_line.get(pid)
        if earlier is not None:
            shown = mask_id_number(rid) if rid else mask_name(person["name"])
            problem = _problem(
                "resident_id" if rid else "name",
                shown,
                f"duplicate person: the same as line {earlier}",
                f"重复人员：与第{earlier}行相同",
            )
            sink.add(RowOutcome(number, REFUSED, pid, errors=(problem,)))
            counts[REFUSED] += 1
            continue
        batch_ids[pid] = number
        row = (
            pid,
            household_id,
            person["name"],
            rid,
            person.get("phone"),
            person.get("sex"),
            person.get("birth_date"),
            person["residency"],
        )
        valid.append((number, row, warnings))
        implied.append((place, person.get("phone")))
    if implied:
        places.write(implied)
    outcome = people.write([(n, r) for n, r, _ in valid]) if valid else {}
    for number, row, warnings in valid:
        result = outcome[number]
        if warnings and result != UNCHANGED:
            result = WARNED
        sink.add(RowOutcome(number, result, str(row[0]), warnings=tuple(warnings)))
        counts[result] += 1
    sink.flush()


REPORT_HEADER = (
    "line 行号",
    "outcome 结果",
    "person 人员编号",
    "column 列",
    "value 值",
    "message 说明",
)


class _Report:
    """The row-by-row report (UTF-8 with BOM, for Excel): every row, every problem."""

    def __init__(self, path: Path | None, lang: str, lay: Any) -> None:
        self.path = path
        self.lang = lang
        self.lay = lay
        self.first: list[tuple[int, str, str]] = []
        self._pending: list[RowOutcome] = []
        self._handle: Any = None
        self._writer: Any = None
        if path is not None:
            path.unlink(missing_ok=True)

    def add(self, outcome: RowOutcome) -> None:
        self._pending.append(outcome)
        if len(self.first) < 20 and (outcome.errors or outcome.warnings):
            text = "; ".join(
                f"{self._column(p.column)}: {p.text(self.lang)}"
                for p in (*outcome.errors, *outcome.warnings)
            )
            self.first.append((outcome.line, outcome.outcome, text))

    def _column(self, field: str) -> str:
        if not field:
            return ""
        if field in self.lay.fields:
            return str(self.lay.column(field))
        return field

    def _label(self, outcome: str) -> str:
        en, zh = OUTCOMES[outcome]
        return zh if self.lang.startswith("zh") else en

    def flush(self) -> None:
        pending, self._pending = sorted(self._pending, key=lambda o: o.line), []
        if self.path is None or not pending:
            return
        from ..report._format import neutralise

        if self._writer is None:
            self._handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._handle)
            self._writer.writerow(REPORT_HEADER)
        for o in pending:
            problems = (*o.errors, *o.warnings)
            label = self._label(o.outcome)
            if not problems:
                self._writer.writerow((o.line, label, o.person_id or "", "", "", ""))
            for p in problems:
                self._writer.writerow(
                    (
                        o.line,
                        label,
                        o.person_id or "",
                        neutralise(self._column(p.column)),
                        neutralise(p.value),
                        neutralise(p.text(self.lang)),
                    )
                )

    def close(self) -> Path | None:
        self.flush()
        if self._handle is not None:
            self._handle.close()
            return self.path
        return None
