"""Importing a population register: areas, buildings, stairwells, households, persons.

:func:`import_file` reads a CSV file (UTF-8, UTF-8 with BOM, GBK/GB18030,
detected or given) or any format an importer plugin reads (``.xlsx``
through ``gridguard-xlsx``), maps its columns by their English or Chinese
headers, validates every row, and writes the good ones; each bad row goes
to an error report beside the input (``<name>.errors.csv``, UTF-8 with a
BOM so that Excel opens it) with its row number, column, masked value and
the reason. With ``all_or_nothing`` a single bad row keeps the whole file
out.

Rows without an ``id`` column get one derived from their natural key (a
person's identity number, a household's stairwell, floor and door...), so
importing the same file again changes nothing: registry entries are
upserted, and their version goes up only when a row really changed.

The whole file is one transaction, streamed in batches: memory stays flat
whatever its size, and an interrupted import leaves nothing behind. A CSV
batch of households or persons is validated a column at a time
(``gridguard.targeting._bulk``), the rows that need it row by row with
the same refusals. On SQLite the batches are inserted as already validated
rows, reading stored rows back only when some were there already; a large
file reads its parents' jurisdictions once, not once a batch, and writes
its common batches a column at a time. Asked to (``parallel=True``), a CSV
file is validated in a second process while this one writes: shorter on an
idle machine, dearer in CPU time. Other backends look stored rows up one id
at a time.
"""

from __future__ import annotations

import csv
import gc
import json
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import attrs

from ..errors import ConfigError, ValidationError, Violation
from ..masking import mask_text
from ..model import Area, AreaLevel, Building, Household, Person, Stairwell
from ..report._format import neutralise
from ..storage.capabilities import EncryptedFields, RawConnection
from ..storage.schema import Reference, Row, TableSpec, spec_for
from . import _bulk
from . import fields as cell
from ._indexes import drop_match_indexes, restore_match_indexes
from ._packed import Packed, unpack
from ._producer import RELAXED_GC, Batch, batches_from_process
from ._producer import batches as local_batches
from .fields import RESIDENCIES, SEXES, derived_id
from .reasons import in_lang
from .tables import (
    ID_NUMBER_ALIASES,
    BadRow,
    CellColumns,
    Layout,
    Table,
    clean,
    layout,
    open_table,
)

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["BATCH_SIZE", "KINDS", "ImportResult", "Kind", "import_file", "report_path_for"]

BATCH_SIZE = 5000
"""Rows validated and written together."""
PARALLEL_FROM_BYTES = 8 << 20
"""From this file size up, an import reads the jurisdictions of all stored parents once
(see :data:`WHOLE_PARENTS_UP_TO`) and writes its common batches a column at a time."""
REINDEX_FROM_BYTES = 32 << 20
"""A persons file this large drops the match indexes while loading and rebuilds them after."""

WHOLE_PARENTS_UP_TO = 3_000_000
"""A large file reads the jurisdictions of all stored parents once, if there are at most
this many (about 100 bytes each in memory); otherwise those of each batch's parents."""

Progress = Callable[[int], None]


def _required(field: str, value: str | None) -> str:
    if value is None:
        raise cell.CellError(field, "", "required, but the cell is empty")
    return value


LEVELS = {
    **{level.value: level.value for level in AreaLevel},
    "市": "city", "区": "district", "县": "district", "镇": "town", "乡": "town",
    "街道": "town", "社区": "community", "居委会": "community", "村": "village",
    "村委会": "village", "网格": "grid", "村小组": "village_group",
    "村民小组": "village_group", "小区": "compound", "新村": "compound",
}  # fmt: skip


# -- one validator per kind: cells in field order -> a stored row ---------------------------------
# Cells arrive stripped, blank ones as None, and already checked for spreadsheet formulas.


_ident = cell.is_identifier
_control = cell.SUSPECT.search


def _person(v: Sequence[str | None]) -> Row:
    """A person row; the common well-formed case takes no function call it can avoid."""
    pid, household_id, name, rid, phone, sex, birth, residency = v
    if household_id is None or not _ident(household_id):
        cell.read_identifier("household_id", _required("household_id", household_id))
    if name is None or _control(name):
        cell.read_text("name", _required("name", name), personal=True)
    born_from_id = sex_bit = None
    if rid is not None:
        fast = cell.fast_resident_id(rid) if cell.builtin_cn() else None
        if fast is None:
            rid, born_from_id, sex_bit = cell.read_resident_id("resident_id", rid)
        else:
            rid, born_from_id = fast
            sex_bit = int(rid[16]) % 2
    if phone is not None:
        phone = cell.fast_phone(phone) or cell.read_phone("phone", phone)
    if sex is not None:
        sex = SEXES.get(sex) or cell.parse_enum("sex", sex, SEXES)
    if birth is not None and (birth != born_from_id or birth > cell.today_iso()):
        shown = birth
        birth = cell.parse_date("birth_date", birth, personal=True).isoformat()
        if birth > cell.today_iso():
            raise cell.CellError("birth_date", mask_text(shown, 4), "must not be in the future")
        if born_from_id is not None and birth != born_from_id:
            raise cell.CellError(
                "birth_date",
                mask_text(shown, 4),
                "does not match the birth date in the identity number",
            )
    if sex is not None and sex_bit is not None and (sex == "male") != (sex_bit == 1):
        raise cell.CellError("sex", repr(v[5]), "does not match the sex in the identity number")
    if residency is None:
        residency = "resident"
    else:
        residency = RESIDENCIES.get(residency) or cell.parse_enum(
            "residency", residency, RESIDENCIES
        )
    if pid is not None:
        if not _ident(pid):
            cell.read_identifier("id", pid)
    elif rid is not None:
        pid = derived_id("p", "CN:" + rid if ":" not in rid else rid)
    else:
        pid = derived_id("p", household_id, name, birth)
    return (pid, household_id, name, rid, phone, sex, birth, residency)


def _household(v: Sequence[str | None]) -> Row:
    """A household row; like :func:`_person`, the well-formed case takes the short way."""
    hid, stairwell_id, floor_text, door, address, phone = v
    if stairwell_id is None or not _ident(stairwell_id):
        cell.read_identifier("stairwell_id", _required("stairwell_id", stairwell_id))
    if floor_text is not None and floor_text.isascii() and floor_text.isdigit():
        floor = int(floor_text)
        if floor > 200:
            cell.parse_int("floor", floor_text, -5, 200)
    else:
        floor = cell.parse_int("floor", _required("floor", floor_text), -5, 200)
    if door is None or _control(door):
        cell.read_text("door", _required("door", door))
    if address is None or _control(address):
        cell.read_text("address", _required("address", address), personal=True)
    if phone is not None:
        phone = cell.fast_phone(phone) or cell.read_phone("phone", phone)
    if hid is not None:
        if not _ident(hid):
            cell.read_identifier("id", hid)
    else:
        hid = derived_id("h", stairwell_id, str(floor), door)
    return (hid, stairwell_id, floor, door, address, phone)


def _model_row(cls: type[Any], values: Mapping[str, Any]) -> Row:
    """Build the model object (the model validates it) and return its stored row."""
    try:
        obj = cls(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.violations[0]
        field = first.path.removeprefix("$.").split(".")[0].split("[")[0] or "id"
        raise cell.CellError(field, first.value, first.rule) from None
    return spec_for(cls).encode(obj)


def _area(v: Sequence[str | None]) -> Row:
    name = _required("name", v[1])
    level = cell.parse_enum("level", _required("level", v[2]), LEVELS)
    parent = v[3]
    aid = v[0] or derived_id("a", v[4] or "", parent, name if v[4] is None else None)
    return _model_row(
        Area, {"id": aid, "name": name, "level": level, "parent_id": parent, "code": v[4]}
    )


def _building(v: Sequence[str | None]) -> Row:
    area_id = _required("area_id", v[1])
    name = _required("name", v[2])
    managed = False if v[4] is None else cell.parse_bool("managed", v[4])
    bid = v[0] or derived_id("b", area_id, v[3], name)
    return _model_row(
        Building,
        {
            "id": bid,
            "area_id": area_id,
            "name": name,
            "compound": v[3],
            "managed": managed,
            "observer_id": v[5],
        },
    )


def _stairwell(v: Sequence[str | None]) -> Row:
    building_id = _required("building_id", v[1])
    name = _required("name", v[2])
    floors = cell.parse_int("floors", _required("floors", v[3]), 1, 200)
    doors = cell.parse_int("doors_per_floor", _required("doors_per_floor", v[4]), 1, 50)
    sid = v[0] or derived_id("s", building_id, name)
    return _model_row(
        Stairwell,
        {
            "id": sid,
            "building_id": building_id,
            "name": name,
            "floors": floors,
            "doors_per_floor": doors,
        },
    )


@attrs.frozen
class Kind:
    """What can be imported: a stored class, its header aliases and its row validator."""

    name: str
    cls: type[Any]
    required: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]]
    validate: Callable[[Sequence[str | None]], Row]
    label: str
    """English and Chinese, for people."""
    bulk: Callable[[Sequence[Sequence[str | None]]], list[Row | None]] | None = None
    """A batch's columns (in field order) -> each row as :attr:`validate` gives it, or
    ``None`` for a row to take through :attr:`validate` (see ``targeting._bulk``)."""

    @property
    def fields(self) -> tuple[str, ...]:
        return spec_for(self.cls).column_names


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "areas",
            Area,
            ("name", "level"),
            {
                "id": ("area_id", "编号", "区域编号", "区划编号"),
                "name": ("名称", "区域名称", "名字"),
                "level": ("级别", "层级", "类型", "区域级别"),
                "parent_id": ("parent", "上级编号", "上级", "上级区域", "所属区域"),
                "code": ("区划代码", "行政区划代码", "代码"),
            },
            _area,
            "areas 区域",
        ),
        Kind(
            "buildings",
            Building,
            ("area_id", "name"),
            {
                "id": ("building_id", "楼幢编号", "楼栋编号", "编号"),
                "area_id": ("grid_id", "grid", "网格编号", "所属网格", "网格", "区域编号"),
                "name": ("楼幢名称", "楼栋名称", "楼幢", "楼栋", "名称"),
                "compound": ("小区", "小区名称", "新村", "所属小区"),
                "managed": ("有物业", "物业管理", "物业"),
                "observer_id": ("observer", "观察员编号", "楼幢观察员编号", "楼幢观察员"),
            },
            _building,
            "buildings 楼幢",
        ),
        Kind(
            "stairwells",
            Stairwell,
            ("building_id", "name", "floors", "doors_per_floor"),
            {
                "id": ("stairwell_id", "楼梯编号", "单元编号", "编号"),
                "building_id": ("building", "楼幢编号", "楼栋编号", "所属楼幢"),
                "name": ("楼梯", "单元", "楼梯名称", "单元名称", "名称"),
                "floors": ("层数", "楼层数", "总层数"),
                "doors_per_floor": ("doors", "每层户数", "梯户数", "每层门数"),
            },
            _stairwell,
            "stairwells 楼梯",
        ),
        Kind(
            "households",
            Household,
            ("stairwell_id", "floor", "door", "address"),
            {
                "id": ("household_id", "户编号", "户号", "户id", "家庭编号", "户档案编号"),
                "stairwell_id": ("stairwell", "楼梯编号", "单元编号", "所属楼梯"),
                "floor": ("楼层", "层", "所在楼层"),
                "door": ("门牌", "门牌号", "房号", "房间号", "室", "门号"),
                "address": ("地址", "住址", "详细地址", "现住址", "居住地址"),
                "phone": ("telephone", "tel", "电话", "联系电话", "户主电话", "家庭电话"),
            },
            _household,
            "households 户",
            _bulk.households,
        ),
        Kind(
            "persons",
            Person,
            ("household_id", "name"),
            {
                "id": ("person_id", "人员编号", "个人编号", "人员id"),
                "household_id": ("household", "户编号", "户号", "户id", "家庭编号", "户档案编号"),
                "name": ("姓名", "名字", "全名"),
                "resident_id": ("id_number", *ID_NUMBER_ALIASES),
                "phone": (
                    "mobile",
                    "tel",
                    "telephone",
                    "电话",
                    "手机",
                    "手机号",
                    "手机号码",
                    "联系电话",
                    "联系方式",
                ),
                "sex": ("gender", "性别"),
                "birth_date": ("birthdate", "birthday", "date_of_birth", "dob", "出生日期", "生日"),
                "residency": ("居住类型", "人员类型", "人员类别", "居住状态", "户籍类型"),
            },
            _person,
            "persons 人员",
            lambda columns: _bulk.persons(columns, cell.builtin_cn()),
        ),
    )
}
"""The kinds ``gridguard import`` reads, parents before children."""


# -- results and the error report ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportResult:
    """What an import did. ``rejected`` rows are in the error report, with their reasons."""

    kind: str
    path: Path
    format: str
    encoding: str | None
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    report: Path | None
    ignored_columns: tuple[str, ...] = ()
    committed: bool = True
    seconds: float = 0.0
    processes: int = 1
    """Python processes that read the file: 2 when it was validated in a second one."""

    def summary(self) -> dict[str, Any]:
        """Plain data for ``--json`` and logs."""
        return {
            "kind": self.kind,
            "file": str(self.path),
            "format": self.format,
            "encoding": self.encoding,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "committed": self.committed,
            "error_report": None if self.report is None else str(self.report),
            "ignored_columns": list(self.ignored_columns),
            "seconds": round(self.seconds, 3),
        }


REPORT_HEADER = ("row 行号", "column 列", "value 值", "reason 原因")


def report_path_for(path: Path) -> Path:
    """Where the error report of ``path`` goes: ``<stem>.errors.csv`` in the same folder."""
    return path.with_name(f"{path.stem}.errors.csv")


class ErrorReport:
    """The error report, written batch by batch in row order (UTF-8 with BOM, for Excel)."""

    def __init__(self, path: Path | None, lang: str = "en") -> None:
        self.path = path
        self.lang = lang
        self.count = 0
        self._handle: Any = None
        self._writer: Any = None
        self.first: list[Violation] = []
        self._pending: list[tuple[int, str, str, str]] = []
        if path is not None:
            path.unlink(missing_ok=True)  # a report from an earlier run would mislead

    def add(self, row: int, column: str, value: str, reason: str) -> None:
        """Note a problem; it is written with its batch, in row order, at :meth:`flush`."""
        self.count += 1
        if len(self.first) < 20:
            self.first.append(Violation(f"row {row}.{column}", value, reason))
        self._pending.append((row, column, value, reason))

    def flush(self) -> None:
        """Write the pending problems; a cell that a spreadsheet would run as a formula
        (a masked ``=cmd|...`` keeps its ``=``) is quoted as the CSV reporter quotes it."""
        pending, self._pending = sorted(self._pending, key=lambda p: p[0]), []
        if self.path is None or not pending:
            return

        if self._writer is None:
            self._handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._handle)
            self._writer.writerow(REPORT_HEADER)
        self._writer.writerows(
            (row, neutralise(column), neutralise(value), neutralise(in_lang(reason, self.lang)))
            for row, column, value, reason in pending
        )

    def close(self) -> Path | None:
        self.flush()
        if self._handle is not None:
            self._handle.close()
            return self.path
        return None


# -- writing: new rows, changed rows, duplicates -------------------------------------------------


class _Writer:
    """Writes validated rows of one kind, telling new, changed, unchanged and duplicate rows apart.

    On SQLite a row stored by this import has a rowid above the table's
    largest rowid when the import began: that tells a duplicate row of the
    file from a row stored by an earlier import without keeping every id in
    memory. Other backends keep the ids written so far.
    """

    def __init__(
        self, uow: UnitOfWork, spec: TableSpec, sql: bool, whole_file: bool = False
    ) -> None:
        self.uow = uow
        self.spec = spec
        self.sql = sql
        self._whole_file = whole_file
        self._parents: dict[str, str] | None = None
        """Every stored parent's jurisdiction, read once for a large file (SQLite)."""
        self.inserted = self.updated = self.unchanged = 0
        self._updated_ids: set[str] = set()
        self._seen: set[str] = set()
        self._start = self._last = 0
        self._read_first = False
        self._conn: sqlite3.Connection | None = None
        if sql:
            self._start = self._last = self._max_rowid()
            conn = uow.connection if isinstance(uow, RawConnection) else None
            # encrypted columns go through load_rows
            fields = uow.fields if isinstance(uow, EncryptedFields) else None
            if (
                isinstance(conn, sqlite3.Connection)
                and spec.parent is not None
                and not spec.may_own_jurisdiction
                and (fields is None or spec.table not in fields.tables)
            ):
                self._conn = conn
                cols = ", ".join(f'"{c}"' for c in spec.column_names)
                marks = ", ".join("?" for _ in range(len(spec.columns) + 1))
                self._insert = (
                    f"INSERT INTO {spec.table} ({cols}, jurisdiction) VALUES ({marks}) "
                    "ON CONFLICT (id) DO NOTHING"
                )
                self._parent_at = spec.column_names.index(spec.parent.column)
                self._parent_table = spec_for(spec.parent.target).table

    def _max_rowid(self) -> int:
        row = next(self.uow.query(f"SELECT max(rowid) FROM {self.spec.table}"), (None,))
        return int(row[0] or 0)

    # lookups

    def _existing(self, cls: type[Any], ids: set[str]) -> set[str]:
        return self.uow.existing_ids(cls, ids) if ids else set()

    def _stored(self, ids: list[str], *, with_rowid: bool = False) -> dict[str, tuple[Any, Row]]:
        """``id -> (stored by this import, stored row)`` for the ids that are stored.

        ``with_rowid`` (SQLite) gives the row's rowid in place of "stored by this import".
        """
        spec = self.spec
        if self.sql:
            cols = ", ".join(f'"{c}"' for c in spec.column_names)
            found: dict[str, tuple[Any, Row]] = {}
            for record in self.uow.query(
                f"SELECT rowid, {cols} FROM {spec.table} "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            ):
                rowid = int(record[0])
                mark = rowid if with_rowid else rowid > self._start
                found[str(record[1])] = (mark, tuple(record[1:]))
            return found
        out: dict[str, tuple[Any, Row]] = {}
        for i in ids:
            obj = self.uow.get(spec.cls, i)
            if obj is not None:
                out[i] = (i in self._seen, spec.encode(obj))
        return out

    def _parent_levels(self, ids: set[str]) -> dict[str, AreaLevel]:
        levels = {}
        for i in ids:
            area = self.uow.get(Area, i)
            if area is not None:
                levels[i] = area.level
        return levels

    # the batch

    def write(
        self,
        batch: list[tuple[int, Row]] | Packed,
        report: Callable[[int, str, str, str], None],
    ) -> int:
        """Write ``batch`` (row number, row), or those rows packed (:mod:`._packed`); report
        and drop the rows that cannot go in.

        Returns how many rows were rejected. Each check has a fast path for
        the common batch in which every row passes it.
        """
        if self._by_columns():
            columns: Sequence[Sequence[Any]]
            if isinstance(batch, tuple):
                numbers, columns = unpack(batch)
            else:
                numbers = list(map(itemgetter(0), batch))
                columns = list(zip(*map(itemgetter(1), batch), strict=True))
            rejected = self._write_columns(numbers, columns, report)
            if rejected is not None:
                return rejected
            if isinstance(batch, tuple):
                batch = list(zip(numbers, zip(*columns, strict=True), strict=True))
        elif isinstance(batch, tuple):
            numbers, read = unpack(batch)
            batch = list(zip(numbers, zip(*read, strict=True), strict=True))
        rows = batch
        rejected = 0
        if len(set(map(itemgetter(0), map(itemgetter(1), rows)))) != len(rows):
            rows, bad = self._drop_repeats(rows, report)
            rejected += bad
        every = self._all_parents() if self._conn is not None else None
        if every is not None and len(self.spec.all_references) == 1:
            # Every stored parent is known: a membership test per row, no query.
            at = self._parent_at
            if not all(every.__contains__(row[at]) for _, row in rows):
                ref = self.spec.all_references[0]
                unknown = f"unknown {ref.target.__name__.lower()}"
                keep = []
                for item in rows:
                    parent = item[1][at]
                    if parent in every:
                        keep.append(item)
                    else:
                        report(item[0], ref.column, str(parent), unknown)
                        rejected += 1
                rows = keep
            return rejected + self._write_sqlite(rows, every, report)
        juris: dict[str, str] | None = None
        for ref in self.spec.all_references:
            if self._conn is not None and ref is self.spec.parent:
                juris = self._jurisdictions(rows)
                rows, bad = self._check_reference(rows, ref, report, set(juris))
            else:
                rows, bad = self._check_reference(rows, ref, report)
            rejected += bad
        if self.spec.cls is Area:
            rows, bad = self._check_area_levels(rows, report)
            rejected += bad

        if self._conn is not None and juris is not None:
            return rejected + self._write_sqlite(rows, juris, report)
        stored = self._stored([str(r[0]) for _, r in rows])
        if not stored:
            new = [row for _, row in rows]
            changed: list[Row] = []
        else:
            new, changed = [], []
            for number, row in rows:
                hit = stored.get(str(row[0]))
                if hit is None:
                    new.append(row)
                    continue
                by_us, old = hit
                rejected += self._sort_stored(number, row, old, by_us, changed, report)
        if new:
            self.inserted += self.uow.load_rows(self.spec.cls, new)
        self._update(changed)
        if not self.sql:
            self._seen.update(str(r[0]) for r in new)
        return rejected

    def _by_columns(self) -> bool:
        """Whether a batch may be written a column at a time (:meth:`_write_columns`): a
        large file on SQLite whose parents were read once, not a re-import."""
        return (
            self._conn is not None
            and not self._read_first
            and len(self.spec.all_references) == 1
            and self._all_parents() is not None
        )

    def _write_columns(
        self,
        numbers: list[int],
        columns: Sequence[Sequence[Any]],
        report: Callable[[int, str, str, str], None],
    ) -> int | None:
        """Write the common batch of a large file a column at a time: its keys not repeated,
        its parents on file, every row made in C. Returns how many rows were rejected, or
        ``None``, with nothing written, for a batch that goes row by row (a key repeated,
        a parent not on file)."""
        every = self._all_parents()
        assert every is not None  # (_by_columns)
        if len(set(columns[0])) != len(numbers):
            return None
        try:
            jurisdictions = list(map(every.__getitem__, columns[self._parent_at]))
        except KeyError:  # a parent not on file
            return None
        assert self._conn is not None
        before = self._last
        values = zip(*columns, jurisdictions, strict=True)
        added = self._conn.executemany(self._insert, values).rowcount
        self.inserted += added
        self._last = self._max_rowid() if added else before
        self._read_first = added < len(numbers) // 2
        if added == len(numbers):
            return 0
        rows = list(zip(numbers, zip(*columns, strict=True), strict=True))
        return self._settle(rows, before, report)

    def _all_parents(self) -> dict[str, str] | None:
        """``parent id -> jurisdiction`` of every stored parent, read once in one query,
        for a large file whose parents are not too many to hold; else ``None``."""
        if self._parents is None and self._whole_file:
            self._whole_file = False  # decided once
            table = self._parent_table
            count = next(self.uow.query(f"SELECT count(*) FROM {table}"), (0,))[0]
            if int(count) <= WHOLE_PARENTS_UP_TO:
                # Straight from the connection: a million parents are read in C, not a row
                # at a time through the store's generic reader.
                assert self._conn is not None
                self._parents = dict(self._conn.execute(f"SELECT id, jurisdiction FROM {table}"))
        return self._parents

    def _jurisdictions(self, rows: list[tuple[int, Row]]) -> dict[str, str]:
        """``parent id -> jurisdiction`` for the stored parents of ``rows``: one query, or
        none when every parent was read at the start (:meth:`_all_parents`)."""
        at = self._parent_at
        every = self._all_parents()
        if every is not None:
            get = every.get
            return {p: j for p in {row[at] for _, row in rows} if (j := get(p)) is not None}
        parents = sorted({str(v) for _, row in rows if (v := row[at]) is not None})
        return {
            str(i): str(j)
            for i, j in self.uow.query(
                f"SELECT id, jurisdiction FROM {self._parent_table} "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(parents),),
            )
        }

    def _write_sqlite(
        self,
        rows: list[tuple[int, Row]],
        juris: dict[str, str],
        report: Callable[[int, str, str, str], None],
    ) -> int:
        """Insert-if-absent in one ``executemany``, the jurisdiction bound from the parents.

        The common batch (every row new) costs one statement and no look-up;
        only when some rows were already stored are they read back, to tell
        an unchanged row, a changed one (updated) and a repeat of an earlier
        row of this file (reported) apart by their rowids. Once a batch turns
        out to be mostly stored rows (a re-import), the next ones read first
        and insert only the new rows.
        """
        assert self._conn is not None
        if not rows:
            return 0
        at = self._parent_at
        before = self._last
        stored: dict[str, tuple[Any, Row]] | None = None
        todo = rows
        if self._read_first:
            stored = self._stored([str(r[0]) for _, r in rows], with_rowid=True)
            todo = [(n, row) for n, row in rows if str(row[0]) not in stored]
        values = [(*row, juris[row[at]]) for _, row in todo]
        added = self._conn.executemany(self._insert, values).rowcount if todo else 0
        self.inserted += added
        self._last = self._max_rowid() if added else before
        self._read_first = added < len(rows) // 2
        if added == len(rows):
            return 0
        return self._settle(rows, before, report, None if added < len(todo) else stored)

    def _settle(
        self,
        rows: list[tuple[int, Row]],
        before: int,
        report: Callable[[int, str, str, str], None],
        stored: dict[str, tuple[Any, Row]] | None = None,
    ) -> int:
        """After an insert-if-absent of ``rows`` (rowids above ``before`` are its own), sort
        the rows it left out: unchanged, changed (updated), or repeats (reported).
        ``stored``: the rows stored before, if read already."""
        if stored is None:
            stored = self._stored([str(r[0]) for _, r in rows], with_rowid=True)
        changed: list[Row] = []
        rejected = 0
        for number, row in rows:
            hit = stored.get(str(row[0]))
            if hit is None or hit[0] > before:
                continue  # inserted just now
            rowid, old = hit
            rejected += self._sort_stored(number, row, old, rowid > self._start, changed, report)
        self._update(changed)
        return rejected

    def _sort_stored(
        self,
        number: int,
        row: Row,
        old: Row,
        by_this_file: bool,
        changed: list[Row],
        report: Callable[[int, str, str, str], None],
    ) -> int:
        """Sort a row whose id is stored: a repeat of an earlier row of this file
        (reported; returns 1), unchanged, or changed (added to ``changed``)."""
        key = str(row[0])
        if by_this_file or key in self._updated_ids:
            report(number, "id", key, "duplicate row: an earlier row of this file has this key")
            return 1
        if old == row:
            self.unchanged += 1
        else:
            changed.append(row)
            self._updated_ids.add(key)
        return 0

    def _update(self, changed: list[Row]) -> None:
        """Store the rows that change a stored entry, as registry updates."""
        if changed:
            decoded = [self.spec.decode(r) for r in changed]
            self.updated += self.uow.put(self.spec.cls, decoded).written

    @staticmethod
    def _drop_repeats(
        rows: list[tuple[int, Row]], report: Callable[[int, str, str, str], None]
    ) -> tuple[list[tuple[int, Row]], int]:
        """Keep the first row of each key in the batch; report the others."""
        first_at: dict[str, tuple[int, Row]] = {}
        keep: list[tuple[int, Row]] = []
        rejected = 0
        for number, row in rows:
            key = str(row[0])
            earlier = first_at.get(key)
            if earlier is not None:
                same = "the same as" if earlier[1] == row else "the same key as, but differs from,"
                report(number, "id", key, f"duplicate row: {same} row {earlier[0]}")
                rejected += 1
                continue
            first_at[key] = (number, row)
            keep.append((number, row))
        return keep, rejected

    def _check_reference(
        self,
        rows: list[tuple[int, Row]],
        ref: Reference,
        report: Callable[[int, str, str, str], None],
        found: set[str] | None = None,
    ) -> tuple[list[tuple[int, Row]], int]:
        """Drop rows whose reference is neither stored nor earlier in the batch (areas).

        ``found``: the referenced ids already known to be stored, if looked up.
        """
        index = self.spec.column_names.index(ref.column)
        wanted = {str(v) for _, r in rows if (v := r[index]) is not None}
        if found is None:
            found = self._existing(ref.target, wanted)
        if len(found) == len(wanted):
            return rows, 0
        keep: list[tuple[int, Row]] = []
        batch_ids: set[str] = set()
        rejected = 0
        for number, row in rows:
            value = row[index]
            ok = value is None or str(value) in found
            if not ok and ref.target is self.spec.cls and str(value) in batch_ids:
                ok = True
            if ok:
                keep.append((number, row))
                batch_ids.add(str(row[0]))
            else:
                report(number, ref.column, str(value), f"unknown {ref.target.__name__.lower()}")
                rejected += 1
        return keep, rejected

    def _check_area_levels(
        self, rows: list[tuple[int, Row]], report: Callable[[int, str, str, str], None]
    ) -> tuple[list[tuple[int, Row]], int]:
        names = self.spec.column_names
        level_at, parent_at = names.index("level"), names.index("parent_id")
        batch_levels = {str(r[0]): AreaLevel(r[level_at]) for _, r in rows}
        stored = self._parent_levels(
            {str(r[parent_at]) for _, r in rows if r[parent_at] is not None} - set(batch_levels)
        )
        keep, rejected = [], 0
        for number, row in rows:
            parent = row[parent_at]
            if parent is not None:
                parent_level = batch_levels.get(str(parent)) or stored.get(str(parent))
                level = AreaLevel(row[level_at])
                if parent_level is not None and parent_level.rank >= level.rank:
                    report(
                        number,
                        "level",
                        level.value,
                        f"must be below its parent's level ({parent_level.value})",
                    )
                    rejected += 1
                    continue
            keep.append((number, row))
        return keep, rejected


# -- the import -------------------------------------------------------------------------------


def _cells(table: Table | _Rows, lay: Layout) -> Callable[[list[Any]], list[str | None]]:
    """Cells in field order, cleaned; CSV cells are text already, so only stripped."""
    positions = lay.positions
    if table.keyed:

        def pick(cells: list[Any]) -> list[str | None]:
            return [None if p is None else clean(cells[p]) for p in positions]

        return pick
    present = [p for p in positions if p is not None]
    if len(present) == len(positions):

        def pick_all(cells: list[Any]) -> list[str | None]:
            return [cells[p].strip() or None for p in present]

        return pick_all

    def pick_text(cells: list[Any]) -> list[str | None]:
        return [None if p is None else (cells[p].strip() or None) for p in positions]

    return pick_text


_MAYBE_FORMULA = re.compile("(?:^|\x00)\\s*[=@+-]")
"""A cell that starts like a formula; the cells of such a row are then checked one by one."""


def validate_rows(
    table: Table | _Rows, lay: Layout, kind: Kind, report: Any
) -> Iterable[tuple[int, Row] | int]:
    """Validated rows, or the row number of a rejected one (``report.add`` told why)."""
    pick = _cells(table, lay)
    fields = lay.fields
    validate = kind.validate
    maybe_formula = _MAYBE_FORMULA.search
    keyed = table.keyed
    for number, cells in table.rows:
        if isinstance(cells, BadRow):
            report.add(number, "", "", cells.reason)
            yield number
            continue
        values = pick(cells)
        try:
            if maybe_formula("\x00".join(map(str, cells)) if keyed else "\x00".join(cells)):
                for field, value in zip(fields, values, strict=True):
                    if value is not None:
                        cell.check_formula(field, value)
            row = validate(values)
        except cell.CellError as exc:
            report.add(number, lay.column(exc.field), exc.shown, exc.rule)
            yield number
            continue
        yield number, row


def validate_batch(
    chunk: Sequence[tuple[int, list[Any] | BadRow]],
    table: Table | _Rows,
    lay: Layout,
    kind: Kind,
    report: Any,
) -> list[tuple[int, Row]]:
    """The valid rows of ``chunk`` (row number, row); ``report.add`` told why of the others.

    A CSV batch of a kind with a bulk validator is checked column by column
    (``targeting._bulk``); the rows that do not pass there, and every row of other
    kinds and formats, go through :func:`validate_rows`'s row by row checks,
    which name the field, the masked value and the rule.
    """
    bulk = kind.bulk
    if bulk is None or table.keyed or not chunk:
        items = validate_rows(_Rows(chunk, table.keyed), lay, kind, report)
        return [item for item in items if not isinstance(item, int)]
    good = [(n, c) for n, c in chunk if c.__class__ is not BadRow]
    if len(good) < len(chunk):
        for number, cells in chunk:
            if isinstance(cells, BadRow):
                report.add(number, "", "", cells.reason)
    if not good:
        return []
    numbers = [n for n, _ in good]
    cells_list: list[list[str]] = [c for _, c in good]  # type: ignore[misc]  # no BadRow
    read = {p: list(map(itemgetter(p), cells_list)) for p in lay.positions if p is not None}
    return _validate_columns(numbers, read, lay, kind, report)


def validate_columns(
    batch: CellColumns, table: Table, lay: Layout, kind: Kind, report: Any
) -> list[tuple[int, Row]]:
    """:func:`validate_batch` of a batch read a column at a time
    (:attr:`~.tables.Table.column_batches`)."""
    for number, bad in batch.bad:
        report.add(number, "", "", bad.reason)
    if not batch.numbers:
        return []
    if kind.bulk is None:
        rows: list[tuple[int, list[Any] | BadRow]] = list(
            zip(batch.numbers, map(list, zip(*batch.columns, strict=True)), strict=True)
        )
        return validate_batch(rows, table, lay, kind, report)
    read = {p: batch.columns[p] for p in lay.positions if p is not None}
    return _validate_columns(batch.numbers, read, lay, kind, report)


def _validate_columns(
    numbers: list[int],
    read: dict[int, list[str]],
    lay: Layout,
    kind: Kind,
    report: Any,
) -> list[tuple[int, Row]]:
    """Rows ``numbers`` of a batch whose cells in column ``p`` of the file are ``read[p]``:
    stripped, checked a column at a time (``kind.bulk``), the others row by row."""
    assert kind.bulk is not None
    bulk = kind.bulk
    columns: list[list[str | None]] = []
    for position in lay.positions:
        if position is None:
            columns.append([None] * len(numbers))
            continue
        stripped = list(map(str.strip, read[position]))
        columns.append(
            cast("list[str | None]", stripped) if all(stripped) else [v or None for v in stripped]
        )
    suspect = _formula_rows(lay.fields, columns)
    rows = bulk(columns)
    if not suspect and None not in rows:
        return list(zip(numbers, rows, strict=True))  # type: ignore[arg-type]
    out: list[tuple[int, Row]] = []
    validate, fields = kind.validate, lay.fields
    for i, (number, row) in enumerate(zip(numbers, rows, strict=True)):
        if row is not None and i not in suspect:
            out.append((number, row))
            continue
        values = [column[i] for column in columns]
        try:
            if i in suspect:
                for field, value in zip(fields, values, strict=True):
                    if value is not None:
                        cell.check_formula(field, value)
            out.append((number, validate(values) if row is None else row))
        except cell.CellError as exc:
            report.add(number, lay.column(exc.field), exc.shown, exc.rule)
    return out


def _formula_rows(fields: Sequence[str], columns: Sequence[Sequence[str | None]]) -> set[int]:
    """The rows with a field value that starts like a formula (:func:`.fields.check_formula`
    refuses it unless free text or a number): a few substring searches per column."""
    suspect: set[int] = set()
    for field, column in zip(fields, columns, strict=True):
        if field in cell.FREE_TEXT:
            continue
        present = column if None not in column else [v for v in column if v is not None]
        text = "\n" + "\n".join(present)  # type: ignore[arg-type]  # no None
        if "\n=" in text or "\n@" in text or "\n+" in text or "\n-" in text:
            suspect.update(i for i, v in enumerate(column) if v is not None and v[0] in "=@+-")
    return suspect


class _Rows:
    """A batch of a table's rows, read as a table by :func:`validate_rows`."""

    def __init__(self, rows: Sequence[tuple[int, list[Any] | BadRow]], keyed: bool) -> None:
        self.rows = rows
        self.keyed = keyed


def _row_of(violation: Violation) -> int:
    """The row number in a report violation's path (``row 12.phone``)."""
    head = violation.path.split(".", 1)[0]
    return int(head.removeprefix("row ")) if head.startswith("row ") else 0


def import_file(
    ws: Workspace,
    kind: str,
    path: str | Path,
    *,
    format: str | None = None,
    encoding: str | None = None,
    all_or_nothing: bool = False,
    progress: Progress | None = None,
    report: bool | Path = True,
    batch_size: int = BATCH_SIZE,
    parallel: bool = False,
    lang: str = "en",
) -> ImportResult:
    """Import ``path`` as records of ``kind`` into ``ws``.

    ``kind`` is ``areas``, ``buildings``, ``stairwells``, ``households`` or
    ``persons``; parents must be stored (or come earlier in the same file
    for areas). Good rows are written and bad rows reported (row number,
    column, masked value, reason) in the error report: by default
    ``<name>.errors.csv`` beside the file, ``report=False`` writes none, a
    path writes there; its reasons are in ``lang`` (``en``, or ``zh-CN`` as
    ``gridguard import`` writes by default, like the register's report).
    With ``all_or_nothing`` any bad row raises
    :class:`ValidationError` and nothing is written. A file that cannot be
    read as a table at all (no header, a required column missing) raises
    :class:`ValidationError` before anything is written. ``progress`` is
    called with the number of rows just read, batch by batch.

    ``parallel`` validates a CSV file in a second process while this one
    writes. For a large file on an idle machine
    with two cores that takes about a quarter less time, for about a tenth
    more CPU time in all (the rows pass from one process to the other, and
    two busy cores run each a little slower); on a machine whose other cores
    are busy it takes longer than one process. The figures are in the
    performance guide.
    """
    started = time.perf_counter()
    ws.authorize("targeting.import", "*")
    try:
        spec_kind = KINDS[kind]
    except KeyError:
        raise ConfigError(f"cannot import {kind!r}: choose one of {', '.join(KINDS)}") from None
    source = Path(path)
    table = open_table(ws, source, format, encoding)
    try:
        lay = layout(
            table.header,
            spec_kind.fields,
            spec_kind.aliases,
            spec_kind.required,
            source=source.name,
        )
    except BaseException:
        table.close()
        raise
    sql = ws.dialect.sqlite_sql
    size = source.stat().st_size
    parallel = (
        parallel
        and bool(sys.executable)
        and table.format == "csv"
        and table.encoding is not None
        and cell.builtin_cn()
    )
    batches: Iterator[Batch]
    if parallel:
        table.close()
        assert table.encoding is not None
        batches = batches_from_process(kind, source, table.encoding, table.checked, batch_size)
    else:
        batches = local_batches(table, lay, spec_kind, batch_size)
    target = report_path_for(source) if report is True else (report or None)
    errors = ErrorReport(target if isinstance(target, Path) else None, lang)
    spec = spec_for(spec_kind.cls)
    rows_read = 0
    committed = False
    thresholds = gc.get_threshold()
    gc.set_threshold(*RELAXED_GC)  # batches of rows, freed as they are written, hold no cycles
    try:
        # Every batch's references are checked before it is written (a look-up, or the
        # parents read once): the store's row-by-row checks would only repeat them.
        with ws._transaction(bulk=True) as uow:
            reindex: list[str] = []
            if sql and spec_kind.cls is Person and size >= REINDEX_FROM_BYTES:
                reindex = drop_match_indexes(uow)
            writer = _Writer(uow, spec, sql, whole_file=size >= PARALLEL_FROM_BYTES)

            def report_write(number: int, field: str, value: str, reason: str) -> None:
                errors.add(number, lay.column(field), value, reason)

            for rows, problems, seen in batches:
                rows_read += seen
                for problem in problems:
                    errors.add(*problem)
                if rows:
                    writer.write(rows, report_write)
                errors.flush()
                if progress is not None:
                    progress(seen)
            restore_match_indexes(uow, reindex)
            if all_or_nothing and errors.count:
                raise ValidationError(
                    [
                        Violation(
                            source.name, str(errors.count), "rows rejected: nothing imported"
                        ),
                        *sorted(errors.first, key=_row_of),
                    ]
                )
        committed = True
    finally:
        gc.set_threshold(*thresholds)
        close = getattr(batches, "close", None)
        if close is not None:
            close()
        table.close()
        written = errors.close()
    return ImportResult(
        kind=kind,
        path=source,
        format=table.format,
        encoding=table.encoding,
        rows=rows_read,
        inserted=writer.inserted,
        updated=writer.updated,
        unchanged=writer.unchanged,
        rejected=errors.count,
        report=written,
        ignored_columns=lay.ignored,
        committed=committed,
        seconds=time.perf_counter() - started,
        processes=2 if parallel else 1,
    )
