"""The bulk import's short ways give what the row-by-row checks give, row for row.

A batch of households or persons is validated column by column
(``gridguard.targeting._bulk``), CSV lines are split a block at a time where
that reads them as ``csv`` does, and a large file reads its parents'
jurisdictions once: each is held here to the slow, exact path on hostile
as well as well-formed input.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gridguard
from gridguard import Area, AreaLevel, Building, Household, Person, Stairwell
from gridguard.importers import text as text_module
from gridguard.importers.text import csv_chunks, csv_records
from gridguard.model import GB11643, normalize_phone
from gridguard.targeting import _bulk, _packed, import_file, tables
from gridguard.targeting._producer import Collect
from gridguard.targeting.fields import derived_id, derived_ids
from gridguard.targeting.importing import KINDS, _Rows, validate_batch, validate_rows
from gridguard.targeting.tables import layout
from strategies import cn_mobile_numbers, names


def _number(born: dt.date, seq: int) -> str:
    first17 = f"442000{born:%Y%m%d}{seq:03d}"
    return first17 + GB11643.check_character(first17)


@st.composite
def person_cells(draw: st.DrawFn) -> list[str]:
    """A persons row as a CSV holds it: mostly well formed, often not."""
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)))
    seq = draw(st.integers(0, 999))
    rid = _number(born, seq)
    male = seq % 2 == 1
    bad_rid = rid[:17] + ("0" if rid[17] != "0" else "1")
    return [
        draw(st.sampled_from(["", "p-1", "p 2", "p-3", "=p"])),
        draw(st.sampled_from(["h1", "h2", "", "h 3", "h/4"])),
        draw(names() | st.sampled_from(["", "a\x07b", "\u202eevil", "x" * 201, " 王五 "])),
        draw(
            st.sampled_from(
                [rid, rid, rid.lower(), "", bad_rid, rid[:17], "44200019990231001X", " " + rid]
            )
        ),
        draw(
            cn_mobile_numbers().map(lambda p: p[3:])
            | st.sampled_from(
                ["", "12", "138 0013 8000", "１３７００１３７０００", "+8613800138000"]
            )
            | st.builds(lambda r: f"1{r:010d}", st.integers(0, 10**10 - 1))
        ),
        draw(st.sampled_from(["", "男" if male else "女", "male", "female", "F", "?"])),
        draw(
            st.sampled_from(
                ["", born.isoformat(), f"{born:%Y/%m/%d}", "2099-01-01", "1990-02-30", "x"]
            )
        ),
        draw(st.sampled_from(["", "常住", "tenant", "访客", "Tenant", "?"])),
    ]


@st.composite
def household_cells(draw: st.DrawFn) -> list[str]:
    return [
        draw(st.sampled_from(["", "h-1", "h 2", "h-3"])),
        draw(st.sampled_from(["s1", "s2", "", "s 3", "-s"])),
        draw(st.sampled_from(["1", "7", "200", "201", "-1", "3楼", "", "x", "٣"])),
        draw(st.sampled_from(["101", "", "1\x0002", "=1+1"])),
        draw(st.sampled_from(["中山市东区1幢101", "", "a\u202eb", "y" * 201])),
        draw(
            cn_mobile_numbers().map(lambda p: p[3:])
            | st.sampled_from(["", "12", "138 0013 8000", "@SUM(A1)"])
        ),
    ]


PERSON_HEADER = ["人员编号", "户编号", "姓名", "身份证号", "手机号", "性别", "出生日期", "居住类型"]
HOUSEHOLD_HEADER = ["户编号", "楼梯编号", "楼层", "门牌", "地址", "联系电话"]


def _both_ways(kind: str, header: list[str], rows: list[list[str]]) -> None:
    spec = KINDS[kind]
    lay = layout(header, spec.fields, spec.aliases, spec.required, source=kind)
    chunk: list[tuple[int, Any]] = [(n + 2, cells) for n, cells in enumerate(rows)]
    slow, fast = Collect(), Collect()
    expected = [
        i for i in validate_rows(_Rows(chunk, False), lay, spec, slow) if i.__class__ is tuple
    ]
    got = validate_batch(chunk, _Rows(chunk, False), lay, spec, fast)
    assert got == expected
    assert fast.problems == slow.problems  # the same rows refused, with the same words


@settings(max_examples=120, deadline=None)
@given(st.lists(person_cells(), min_size=1, max_size=40), st.booleans())
def test_persons_in_bulk_are_the_rows_the_row_validator_gives(
    rows: list[list[str]], with_ids: bool
) -> None:
    header = PERSON_HEADER if with_ids else PERSON_HEADER[1:]
    _both_ways("persons", header, [r if with_ids else r[1:] for r in rows])


@settings(max_examples=120, deadline=None)
@given(st.lists(person_cells().map(lambda r: [r[0], "h1", "张三", *r[3:]]), min_size=1))
def test_persons_with_plain_identity_numbers_in_bulk(rows: list[list[str]]) -> None:
    """Batches whose identity numbers are all given take the column-at-a-time way."""
    _both_ways("persons", PERSON_HEADER, rows)


@settings(max_examples=120, deadline=None)
@given(st.lists(household_cells(), min_size=1, max_size=40))
def test_households_in_bulk_are_the_rows_the_row_validator_gives(rows: list[list[str]]) -> None:
    _both_ways("households", HOUSEHOLD_HEADER, rows)


@given(st.sampled_from(["p", "h"]), st.text(max_size=5), st.lists(st.text(max_size=30)))
def test_ids_derived_for_a_batch_are_those_derived_one_by_one(
    prefix: str, head: str, keys: list[str]
) -> None:
    assert derived_ids(prefix, head, keys) == [derived_id(prefix, head + k) for k in keys]


def test_the_phone_prefix_cache_is_exact_for_the_mobile_pattern() -> None:
    """Phonenumbers' CN mobile pattern tells 11-digit numbers apart by their first
    ``PREFIX_DIGITS`` digits only: whatever follows, every prefix gets one answer."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata is not None
    assert metadata.mobile is not None
    pattern = re.compile(str(metadata.mobile.national_number_pattern))
    tail = 11 - _bulk.PREFIX_DIGITS
    suffixes = ["0" * tail, "9" * tail, "5" * tail, "1234567890"[:tail], "9876543210"[:tail]]
    mixed = 0
    for n in range(10 ** (_bulk.PREFIX_DIGITS - 1)):
        prefix = f"1{n:0{_bulk.PREFIX_DIGITS - 1}d}"
        answers = {pattern.fullmatch(prefix + s) is not None for s in suffixes}
        mixed += len(answers) > 1
    assert mixed == 0


@st.composite
def phones_written_apart(draw: st.DrawFn) -> str:
    """An 11-digit number (a mobile or not) as people write it: spaces or hyphens between
    or around its digits, some digits full width, now and then something else."""
    digits = draw(
        cn_mobile_numbers().map(lambda p: p[3:])
        | st.builds(lambda r: f"1{r:010d}", st.integers(0, 10**10 - 1))
        | st.builds(lambda r: f"{r:011d}", st.integers(0, 10**11 - 1))
    )
    out = []
    for d in digits:
        out.append(draw(st.sampled_from(["", "", "", " ", "-", "  ", " - ", "(", ".", "\u3000"])))
        out.append(chr(0xFF10 + int(d)) if draw(st.integers(0, 4)) == 0 else d)
    out.append(draw(st.sampled_from(["", "", "-", "x", "1"])))
    return "".join(out).strip()


@settings(max_examples=500, deadline=None)
@given(st.lists(phones_written_apart(), min_size=1, max_size=20))
def test_phones_written_apart_in_bulk_are_what_phonenumbers_reads(values: list[str]) -> None:
    """A phone the bulk check takes is the E.164 number ``phonenumbers`` reads from it; the
    rest go the long way (which reads or refuses them there)."""
    got = _bulk._phones(values)
    for value, phone in zip(values, got, strict=True):
        if phone is _bulk._MISS:
            continue
        assert phone == normalize_phone(value)


def test_mobiles_with_spaces_hyphens_or_full_width_digits_take_the_short_way() -> None:
    """The spellings the register's files hold go in bulk, not row by row."""
    values = ["138 0013 8000", "138-0013-8000", "１３８００１３８０００", "1 3 8 0 0 1 3 8 0 0 0"]
    assert _bulk._phones(values) == ["+8613800138000"] * 4
    assert _bulk._phones(["010 1234 5678", "138 0013 800", "138.0013.8000"]) == [_bulk._MISS] * 3


_values = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.text(max_size=6),
    st.sampled_from(["\x1f", "a\x1eb", "", "+8613800138000"]),
    st.booleans(),
)


@given(st.integers(1, 4).flatmap(lambda w: st.lists(st.tuples(*[_values] * w), max_size=8)))
def test_packed_rows_come_back_as_they_were(rows: list[tuple[Any, ...]]) -> None:
    """A batch goes to the writer packed, or as rows where packing could not keep it whole
    (an empty text, a separator in a value, a value neither text nor integer)."""
    numbered = [(n + 2, row) for n, row in enumerate(rows)]
    packed = _packed.pack(numbered)
    if packed is None:
        kinds = {type(v) for row in rows for v in row}
        texts = [v for row in rows for v in row if isinstance(v, str)]
        mixed = any(
            {type(v) for v in column} - {type(None)} == {int, str}
            for column in zip(*rows, strict=True)
        )
        assert (
            not rows
            or bool in kinds
            or mixed
            or any(v == "" or "\x1f" in v or "\x1e" in v for v in texts)
        )
        return
    numbers, columns = _packed.unpack(packed)
    assert list(zip(numbers, zip(*columns, strict=True), strict=True)) == numbered


# -- reading CSV a block at a time ---------------------------------------------------------------

_pieces = st.sampled_from(
    ["a", "b,c", ",", '"', '""', '"x,y"', "\n", "\r\n", "\r", "\x00", "中", " ", "=1", "\udc81"]
)


def _records(text: str, plain: bool, block: int, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(text_module, "_BLOCK_CHARS", block)
    if not plain:
        monkeypatch.setattr(text_module._Lines, "plain", lambda self: [])
    try:
        return list(csv_records(io.StringIO(text, newline="")))
    finally:
        monkeypatch.undo()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces=st.lists(_pieces, max_size=60), block=st.integers(1, 40))
def test_reading_plain_lines_in_blocks_gives_the_same_records(
    pieces: list[str], block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "h1,h2\r\n" + "".join(pieces)
    expected = _records(text, False, block, monkeypatch)
    assert _records(text, True, block, monkeypatch) == expected
    assert _records(text, True, 1 << 20, monkeypatch) == expected


@given(st.text(st.sampled_from('ab,"\x00\r\n中'), max_size=40), st.integers(0, 45))
def test_the_scan_for_what_is_not_plain_finds_what_the_expression_finds(text: str, at: int) -> None:
    found = text_module._NOT_PLAIN.search(text, at)
    assert text_module._not_plain(text, at) == (-1 if found is None else found.start())


def _rows_and_columns(
    text: str, block: int, size: int, checked: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], list[Any]]:
    """A file's rows read one by one (``_csv_rows``) and a column batch at a time."""
    monkeypatch.setattr(text_module, "_BLOCK_CHARS", block)
    try:
        records = csv_records(io.StringIO(text, newline=""))
        _, header = next(records)
        width = len(header)
        expected = list(tables._csv_rows(records, width, checked, "utf-8"))
        chunks = csv_chunks(io.StringIO(text, newline=""))
        next(chunks)
        got: list[Any] = []
        for batch in tables._column_batches(chunks, width, checked, "utf-8", size):
            assert 0 < batch.read <= size
            assert all(len(column) == len(batch.numbers) for column in batch.columns)
            rows = zip(*batch.columns, strict=True)
            got += [(n, list(cells)) for n, cells in zip(batch.numbers, rows, strict=True)]
            got += batch.bad
        return expected, sorted(got, key=lambda item: item[0])
    finally:
        monkeypatch.undo()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pieces=st.lists(_pieces | st.just("1,2,3\n") | st.just("x,,\n"), max_size=80),
    block=st.integers(1, 60),
    size=st.integers(1, 7),
    checked=st.booleans(),
)
def test_column_batches_hold_the_rows_read_one_by_one(
    pieces: list[str], block: int, size: int, checked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain runs split in one go, every other record row by row: the same rows, numbers
    and refusals as reading the file a row at a time, in batches of at most ``size``."""
    text = "h1,h2,h3\r\n" + "".join(pieces)
    expected, got = _rows_and_columns(text, block, size, checked, monkeypatch)
    assert got == expected


def test_a_large_plain_file_is_split_a_run_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of the header's width come out as columns, in batches of the size asked."""
    text = "a,b\n" + "".join(f"{n},x{n}\n" for n in range(1, 10_001))
    expected, got = _rows_and_columns(text, 1 << 20, 4_000, True, monkeypatch)
    assert got == expected
    assert got[-1] == (10_001, ["10000", "x10000"])


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("over", [0, 1, 5])
def test_long_lines_between_plain_ones_are_refused_alone(
    monkeypatch: pytest.MonkeyPatch, end: str, over: int
) -> None:
    """A line longer than the limit (its end not counted) is refused on its own."""
    long = "x" * (text_module.MAX_LINE_CHARS + over)
    text = end.join(["a,b", "1,2", long, "3,4", long, "5,6", long])
    if not over:  # at the limit: a row of its own
        got = _records(text, True, 1 << 20, monkeypatch)
        assert got == _records(text, False, 1 << 20, monkeypatch)
        assert [n for n, r in got if r == [long]] == [3, 5, 7]
        return
    for block in (3, 100, 1 << 20):
        expected = _records(text, False, block, monkeypatch)
        got = _records(text, True, block, monkeypatch)
        assert got == expected
        assert [n for n, r in got if not isinstance(r, list)] == [3, 5, 7]
        assert [r for _, r in got if isinstance(r, list)] == [
            ["a", "b"],
            ["1", "2"],
            ["3", "4"],
            ["5", "6"],
        ]


# -- references resolved once per file -----------------------------------------------------------


def _tree() -> list[Any]:
    return [
        Area(id="zs", name="中山市", level=AreaLevel.CITY),
        Area(id="hy", name="华苑社区", level=AreaLevel.COMMUNITY, parent_id="zs"),
        Area(id="g1", name="第一网格", level=AreaLevel.GRID, parent_id="hy"),
        Building(id="b3", area_id="g1", name="3幢"),
        Stairwell(id="s1", building_id="b3", name="1梯", floors=7, doors_per_floor=2),
        Household(id="h1", stairwell_id="s1", floor=1, door="101", address="3幢101"),
        Household(id="h2", stairwell_id="s1", floor=1, door="102", address="3幢102"),
    ]


@pytest.mark.parametrize("kind", ["persons", "households"])
def test_a_large_file_reads_its_parents_once_with_the_same_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    from gridguard.targeting import importing

    if kind == "persons":
        header = PERSON_HEADER[1:]
        rows = [
            ["h1", "陈", _number(dt.date(1960, 3, 7), 11), "", "", "", ""],
            ["h9", "孙", "", "", "", "", ""],  # no such household
            ["h2", "李", "", "13800138000", "", "", ""],
            ["h1", "陈", _number(dt.date(1960, 3, 7), 11), "", "", "", ""],  # a repeat
        ]
    else:
        header = HOUSEHOLD_HEADER
        rows = [
            ["h3", "s1", "2", "201", "3幢201", ""],
            ["h4", "s9", "2", "202", "3幢202", ""],  # no such stairwell
            ["h5", "s1", "3", "301", "3幢301", "13800138000"],
        ]
    path = tmp_path / f"{kind}.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    seen = []
    for whole in (False, True):
        monkeypatch.setattr(importing, "PARALLEL_FROM_BYTES", 0 if whole else 1 << 40)
        with gridguard.open(tmp_path / f"gg-{whole}.db") as ws:
            ws.add(_tree())
            result = import_file(ws, kind, path, parallel=False, batch_size=2)
            with open(result.report or path, encoding="utf-8-sig") as handle:
                report = handle.read()
            cls = Person if kind == "persons" else Household
            stored = sorted(repr(o) for o in ws.find(cls))
            seen.append((result.inserted, result.rejected, report, stored))
    assert seen[0] == seen[1]
    assert seen[0][1] == (2 if kind == "persons" else 1)
    assert "unknown" in seen[0][2]
