"""Validating a batch of households or persons column by column, the common rows in bulk.

The row validators of :mod:`gridguard.targeting.importing` check one row at
a time and name the first broken rule. Millions of rows are almost all well
formed, so here a batch's columns are checked at once, each by one regular
expression over the joined column where that is exact (identifiers, text
without control characters), and the rest (the identity number's check
digit and birth date, the phone's prefix, the sex and residency words) in
one tight pass. A row that passes every check gets the very row its row
validator gives; any other row comes back as ``None`` and goes through the
row validator, which refuses it with its field, masked value and rule, or
accepts it the long way (a landline, a date written ``2020/1/5``).
The tests hold both ways to the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter

from ..model._validate import BIDI_CONTROLS, MAX_NAME
from ..storage.schema import Row
from . import fields as cell
from .fields import RESIDENCIES, SEXES, derived_id, derived_ids

__all__ = ["households", "persons"]

Column = Sequence[str | None]

_IDENTS = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,127}\n)*").fullmatch
"""Identifiers, one a line: the model's id rule (:func:`~.fields.is_identifier`) on each."""
_SUSPECT_CHARS = re.compile(f"{cell.CONTROL.pattern}|{BIDI_CONTROLS.pattern}").search
"""A character that :func:`~.fields.read_text` refuses anywhere in a text."""
_CHECK = "10X98765432"
_PLAIN_IDS = re.compile(r"(?:[0-9]{17}[0-9X]\n)*").fullmatch
"""Identity numbers, one a line, each 17 ASCII digits and a digit or ``X``."""


def _identifiers(values: Column) -> list[bool]:
    """Which values are identifiers (``None`` is not); one regular expression when all are."""
    if None not in values:
        text = "\n".join(values)  # type: ignore[arg-type]  # no None, checked just above
        if text.count("\n") == len(values) - 1 and _IDENTS(text + "\n") is not None:
            return [True] * len(values)
    ident = cell.is_identifier
    return [v is not None and ident(v) for v in values]


def _optional_identifiers(values: Column) -> list[bool]:
    """Which values are blank or identifiers (an id column may be left out or blank)."""
    if None not in values:
        return _identifiers(values)
    ident = cell.is_identifier
    return [v is None or ident(v) for v in values]


def _texts(values: Column) -> list[bool]:
    """Which values :func:`~.fields.read_text` takes as they are (``None`` is refused)."""
    if (
        None not in values
        and _SUSPECT_CHARS("".join(values)) is None  # type: ignore[arg-type]
        and max(map(len, values), default=0) <= MAX_NAME  # type: ignore[arg-type]
    ):
        return [True] * len(values)
    suspect = cell.SUSPECT.search
    return [v is not None and suspect(v) is None for v in values]


PREFIX_DIGITS = 5
"""Phonenumbers' CN mobile pattern tells 11-digit numbers apart by their first five
digits at most (``1740[0-5]``, ``1610\\d``, else three): whether a number is a mobile
is cached by that prefix. A test holds the pattern to it."""
_PREFIXES: dict[str, bool] = {}


def _mobile_prefix(number: str) -> bool:
    """Whether the plain 11-digit ``number`` is a mainland mobile; cached by its prefix."""
    known = _PREFIXES[number[:PREFIX_DIGITS]] = cell.fast_phone(number) is not None
    return known


_MISS = object()

_WRITTEN_APART = str.maketrans(
    {" ": None, "-": None, **{chr(0xFF10 + d): str(d) for d in range(10)}}
)
"""What people put in a mobile number that ``phonenumbers`` reads past: spaces and
hyphens between the digits (``138 0013 8000``), full-width digits (``１３８...``)."""


def _phone(value: str) -> object:
    """E.164 for one mainland mobile, plain or written apart; ``_MISS`` for anything else."""
    if not (len(value) == 11 and value.isascii() and value.isdigit()):
        value = value.translate(_WRITTEN_APART)
        if not (len(value) == 11 and value.isascii() and value.isdigit()):
            return _MISS
    prefix = value[:PREFIX_DIGITS]
    known = _PREFIXES.get(prefix)
    if known is None:
        known = _mobile_prefix(value)
    return "+86" + value if known else _MISS


_NOT_ELEVEN_DIGITS = re.compile("^(?![0-9]{11}$).+$", re.MULTILINE)
"""A line of a joined column that is not blank and not 11 ASCII digits."""
_PREFIX = itemgetter(slice(0, PREFIX_DIGITS))


def _phones(values: Column) -> list[object]:
    """E.164 for mainland mobiles, plain or written with spaces, hyphens or full-width
    digits; ``None`` for blanks, ``_MISS`` for the rest.

    The column is joined and searched once for what is not 11 plain digits; the
    plain numbers are then told mobile or not by their prefixes (a few
    thousand a batch, looked up in C), and only the others one by one.
    """
    texts: list[str] = (
        ["" if v is None else v for v in values] if None in values else values  # type: ignore[assignment]
    )
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:  # a value with a line break: one by one
        return [None if v is None else _phone(v) for v in values]
    odd: list[int] = []
    line = at = 0
    for found in _NOT_ELEVEN_DIGITS.finditer(joined):
        line += joined.count("\n", at, found.start())
        at = found.start()
        odd.append(line)
    prefixes = set(map(_PREFIX, texts))
    filler = "0" * (11 - PREFIX_DIGITS)
    for prefix in prefixes.difference(_PREFIXES):  # set less dict: a C loop over the set
        if len(prefix) == PREFIX_DIGITS and prefix.isascii() and prefix.isdigit():
            _mobile_prefix(prefix + filler)
    if False in map(_PREFIXES.get, prefixes):  # a plain number that is no mobile's
        return [None if v is None else _phone(v) for v in values]
    out: list[object] = [f"+86{v}" if v else None for v in texts]
    for i in odd:
        out[i] = _phone(texts[i])
    return out


_SEX_DIGIT = itemgetter(16)
"""The identity number's digit that is odd for a man."""
_BIRTH = itemgetter(slice(6, 14))
"""The birth date in an identity number, ``YYYYMMDD``."""
_DATES: dict[str, str | None] = {}
"""``YYYYMMDD`` -> its ISO date, or ``None`` when it is no calendar date (bounded cache)."""


def _iso(compact: str) -> str | None:
    if compact in _DATES:
        return _DATES[compact]
    found = cell.calendar_date(compact)
    if len(_DATES) < 200_000:
        _DATES[compact] = found
    return found


def _iso_date(text: str) -> bool:
    """Whether ``text`` is an ISO date as :func:`~.fields.parse_date` would give it back."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.isascii():
        return False
    compact = text[:4] + text[5:7] + text[8:]
    return compact.isdigit() and _iso(compact) == text


def persons(columns: Sequence[Column], builtin_cn: bool) -> list[Row | None]:
    """Person rows of :func:`~.importing._person` for the rows it takes the short way.

    ``columns``: the cells of each field (``id, household_id, name, resident_id,
    phone, sex, birth_date, residency``), stripped, blanks ``None``.
    ``builtin_cn``: the ``CN`` scheme is the builtin one, so that an identity
    number can be checked here; otherwise every row with one goes the long way.
    A batch whose identity numbers are all given and plain (17 digits and a
    digit or ``X``) is checked a column at a time; any other row by row.
    """
    pids, hids, names, rids, phones, sexes, births, residencies = columns
    n = len(rids)
    if not builtin_cn or None in rids:
        return _person_rows(columns, builtin_cn)
    joined = "\n".join(rids)  # type: ignore[arg-type]  # no None, checked above
    if len(joined) != 19 * n - 1 or _PLAIN_IDS(joined + "\n") is None:
        return _person_rows(columns, builtin_cn)
    bad: set[int] = set()

    def note(ok: list[bool]) -> None:
        if not all(ok):
            bad.update(i for i, good in enumerate(ok) if not good)

    note(_optional_identifiers(pids))
    note(_identifiers(hids))
    note(_texts(names))
    phone_out = _phones(phones)
    if _MISS in phone_out:
        bad.update(i for i, p in enumerate(phone_out) if p is _MISS)
    ids: list[str] = rids  # type: ignore[assignment]  # no None, checked above
    check = _CHECK
    note([check[2 * int(r[:17], 13) % 11] == r[17] for r in ids])
    compact = list(map(_BIRTH, ids))
    born: list[str | None] = list(map(_DATES.get, compact))
    if None in born:  # not a calendar date, or not looked up yet
        born = [_iso(c) if b is None else b for c, b in zip(compact, born, strict=True)]
    today = cell.today_iso()
    known: list[str] = born  # type: ignore[assignment]
    if None in born:
        note([b is not None for b in born])
        known = [b for b in born if b is not None]
    if known and (min(known) < "1850-01-01" or max(known) > today):
        note([b is None or "1850-01-01" <= b <= today for b in born])
    if births != born:
        note([b is None or b == o for b, o in zip(births, born, strict=True)])
    sex_of = SEXES.get
    if None in sexes:
        sex_out = [None if s is None else sex_of(s, "?") for s in sexes]
    else:
        sex_out = list(map(sex_of, sexes))  # type: ignore[arg-type]
        if None in sex_out:
            sex_out = [sex_of(s, "?") for s in sexes]  # type: ignore[arg-type]
    male = list(map("13579".__contains__, map(_SEX_DIGIT, ids)))
    if [s == "male" for s in sex_out] != male:
        note([s is None or (s == "male") == m for s, m in zip(sex_out, male, strict=True)])
    if "?" in sex_out:
        note([s != "?" for s in sex_out])
    if None in residencies:
        residency_out = ["resident" if r is None else RESIDENCIES.get(r) for r in residencies]
    else:
        residency_out = list(map(RESIDENCIES.get, residencies))  # type: ignore[arg-type]
    if None in residency_out:
        note([r is not None for r in residency_out])
    if None in pids:
        derived = derived_ids("p", "CN:", ids)
        pids = [d if p is None else p for p, d in zip(pids, derived, strict=True)]
    rows: list[Row | None] = list(
        zip(pids, hids, names, ids, phone_out, sex_out, births, residency_out, strict=True)
    )
    for i in bad:
        rows[i] = None
    return rows


def _person_rows(columns: Sequence[Column], builtin_cn: bool) -> list[Row | None]:
    """:func:`persons` row by row, for a batch whose identity numbers are not all plain."""
    pids, hids, names, rids, phones, sexes, births, residencies = columns
    pid_ok = _optional_identifiers(pids)
    hid_ok = _identifiers(hids)
    name_ok = _texts(names)
    phone_out = _phones(phones)
    today = cell.today_iso()
    sex_of = SEXES.get
    residency_of = RESIDENCIES.get
    check = _CHECK
    iso = _iso
    dates = _DATES.get
    miss = _MISS
    out: list[Row | None] = []
    add = out.append
    for pid, hid, name, rid, phone, sex, birth, residency, ok_p, ok_h, ok_n in zip(
        pids,
        hids,
        names,
        rids,
        phone_out,
        sexes,
        births,
        residencies,
        pid_ok,
        hid_ok,
        name_ok,
        strict=True,
    ):
        if not (ok_p and ok_h and ok_n) or phone is _MISS:
            add(None)
            continue
        if rid is not None:
            if not (
                builtin_cn
                and len(rid) == 18
                and rid.isascii()
                and rid[:17].isdigit()
                and check[2 * int(rid[:17], 13) % 11] == rid[17]
            ):
                add(None)
                continue
            found = dates(rid[6:14], miss)
            born = iso(rid[6:14]) if found is miss else found
            if not isinstance(born, str) or not ("1850-01-01" <= born <= today):
                add(None)
                continue
            if birth is not None and birth != born:
                add(None)
                continue
            if sex is not None:
                sex = sex_of(sex)
                if sex is None or (sex == "male") != (rid[16] in "13579"):
                    add(None)
                    continue
        else:
            if birth is not None and not (birth <= today and _iso_date(birth)):
                add(None)
                continue
            if sex is not None:
                sex = sex_of(sex)
                if sex is None:
                    add(None)
                    continue
        if residency is None:
            residency = "resident"
        else:
            residency = residency_of(residency)
            if residency is None:
                add(None)
                continue
        if pid is None:
            if rid is not None:
                pid = derived_id("p", "CN:" + rid)
            else:
                pid = derived_id("p", hid, name, birth)
        add((pid, hid, name, rid, phone, sex, birth, residency))
    return out


def households(columns: Sequence[Column]) -> list[Row | None]:
    """Household rows of :func:`~.importing._household` for the rows it takes the short way.

    ``columns``: the cells of ``id, stairwell_id, floor, door, address, phone``.
    """
    hids, stairwells, floors, doors, addresses, phones = columns
    hid_ok = _optional_identifiers(hids)
    stairwell_ok = _identifiers(stairwells)
    door_ok = _texts(doors)
    address_ok = _texts(addresses)
    phone_out = _phones(phones)
    out: list[Row | None] = []
    add = out.append
    for hid, stairwell, floor_text, door, address, phone, ok_h, ok_s, ok_d, ok_a in zip(
        hids,
        stairwells,
        floors,
        doors,
        addresses,
        phone_out,
        hid_ok,
        stairwell_ok,
        door_ok,
        address_ok,
        strict=True,
    ):
        if (
            not (ok_h and ok_s and ok_d and ok_a)
            or phone is _MISS
            or floor_text is None
            or not (floor_text.isascii() and floor_text.isdigit())
        ):
            add(None)
            continue
        floor = int(floor_text)
        if floor > 200:
            add(None)
            continue
        if hid is None:
            hid = derived_id("h", stairwell, str(floor), door)
        add((hid, stairwell, floor, door, address, phone))
    return out
