"""Linking an outside list to the register: a cascade of three passes, then review.

:func:`match_list` reads a list (CSV, or any importer plugin's format),
stores its rows as :class:`~gridguard.model.targeting.ListEntry` facts and links
each row to residents of the register:

1. **identity**: the same valid identity number (and a name that is not
   plainly someone else's);
2. **phone_name**: the same normalised phone number and a similar name
   (:func:`~gridguard.targeting.names.name_similarity`), clearly better than
   anyone else on that phone;
3. **fuzzy_identity**: an identity number at most two edits away (a typed
   digit wrong, two digits swapped, one dropped or doubled) inside a block
   of the register (same region and birth date; same birth date and a
   region on file within two digits; same region and a birth date one typo
   away) and a similar name.

Each link is a :class:`~gridguard.model.targeting.Match` fact with its pass, score
and the list's source; a row no pass could link goes to the manual review
queue (:class:`~gridguard.model.targeting.ReviewItem`) with the candidates it
came closest to. Matching the same list again changes nothing.

On SQLite the blocking runs in the database: the list's keys go in as one
JSON parameter and are joined against the ``persons`` indexes on identity
number and phone, which the first match creates. The register is never
compared row by row in Python. The memory backend builds the same lookups
in Python.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..errors import ConfigError, ValidationError
from ..masking import mask_id_number, mask_name, mask_phone
from ..model import Area, ExposureKind, Person
from ..model._masked import id_number_repr, name_repr, phone_repr
from ..model._validate import _IDENT
from ..model.targeting import (
    Candidate,
    ListEntry,
    Match,
    MatchPass,
    OutsideList,
    ReviewDecision,
    ReviewItem,
)
from ..storage.capabilities import EncryptedFields
from . import fields as cell
from ._indexes import MATCH_INDEXES
from .fields import derived_id
from .importing import ErrorReport, report_path_for
from .names import name_similarity, osa_distance
from .tables import ID_NUMBER_ALIASES, BadRow, clean, layout, normalise_header, open_table
from .targets import compute_targets

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace
    from ._blind import BlindFinder

__all__ = [
    "LIST_ALIASES",
    "MatchPolicy",
    "MatchResult",
    "match_list",
    "read_list",
    "resolve_review",
    "review_queue",
]

_NAMESPACE = uuid.UUID("5b0d3c59-6c1f-4c9e-a0f4-3f0cf1f1e7a2")

LIST_FIELDS = ("name", "id_number", "phone", "last_contact", "origin", "note")
LIST_ALIASES: Mapping[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "旅客姓名", "乘客姓名", "passenger", "passenger_name"),
    "id_number": ("resident_id", *ID_NUMBER_ALIASES),
    "phone": ("mobile", "tel", "telephone", "电话", "手机", "手机号", "手机号码", "联系电话"),
    "last_contact": (
        "arrival",
        "arrival_date",
        "arrived",
        "date",
        "contact_date",
        "到达日期",
        "抵达日期",
        "抵中日期",
        "抵达中山日期",
        "来中日期",
        "返回日期",
        "来中山日期",
        "到中山日期",
        "接触日期",
        "最后接触日期",
        "日期",
    ),
    "origin": ("from", "出发地", "来源地", "来自", "途经地", "始发地"),
    "note": ("remark", "remarks", "备注", "车次", "航班", "车次/航班"),
}
"""Header spellings of an outside list, English and Chinese."""


@attrs.frozen
class MatchPolicy:
    """The thresholds of the cascade; every number can be changed per campaign."""

    identity_name_floor: float = 0.3
    """Pass 1 links a number unless the names share almost nothing (a typo'd valid number)."""
    phone_name_min: float = 0.5
    """Pass 2: the least name similarity for a link through a phone."""
    fuzzy_name_min: float = 0.6
    """Pass 3: the least name similarity for a link through a nearby identity number."""
    margin: float = 0.2
    """Passes 2 and 3: how much better the best candidate must be than the next."""
    max_distance: int = 2
    """Pass 3: the most edits between the two identity numbers."""
    edit_penalty: float = 0.05
    """Pass 3: what each edit takes off the score."""


@attrs.frozen(kw_only=True)
class MatchResult:
    """What :func:`match_list` did."""

    list_id: str
    source: str
    rows: int
    """Rows read from the file."""
    entries: int
    """Distinct rows of the list (stored now or before)."""
    new_entries: int
    rejected: int
    """Rows that could not be used (in the error report)."""
    matched: int
    """Entries of the list linked to at least one resident (by any run)."""
    by_pass: Mapping[str, int]
    """Entries linked by this run, per pass."""
    review_queue: int
    """Entries of the list waiting for review."""
    targets: int
    """Targets (households) after recomputing them."""
    report: Path | None
    indexes_built: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "list": self.list_id,
            "source": self.source,
            "list_rows": self.rows,
            "entries": self.entries,
            "new_entries": self.new_entries,
            "rejected": self.rejected,
            "matched": self.matched,
            "by_pass": dict(self.by_pass),
            "review_queue": self.review_queue,
            "targets": self.targets,
            "error_report": None if self.report is None else str(self.report),
        }


# -- reading a list ---------------------------------------------------------------------------

_SPACES = re.compile(r"[\s\-]+")
_NUMBERISH = re.compile(r"[0-9X]{15,19}")


def fold_number(text: str) -> str:
    """An identity number as a list wrote it, folded: half-width, no spaces, upper case."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).upper()


def entry_id(list_id: str, row: Mapping[str, Any]) -> uuid.UUID:
    """A list row's id: the same row of the same list is the same entry, wherever it stands."""
    key = "\x1f".join(
        str(row.get(f) or "") for f in ("name", "id_number", "phone", "last_contact", "origin")
    )
    return uuid.uuid5(_NAMESPACE, f"{list_id}\x1f{key}")


def _list_row(values: Sequence[str | None]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """A list row's fields, and notes on cells that were dropped (not rejections)."""
    name, number, phone, last_contact, origin, note = values
    notes: list[tuple[str, str, str]] = []
    if name is not None:
        cell.read_text("name", name, personal=True)
    folded = None if number is None else fold_number(number)
    e164 = None
    if phone is not None:
        try:
            e164 = cell.read_phone("phone", phone)
        except cell.CellError as exc:
            notes.append(("phone", exc.shown, f"{exc.rule}; the row is kept without it"))
    day = None
    if last_contact is not None:
        day = cell.parse_date("last_contact", last_contact)
        if day > dt.date.today():
            raise cell.CellError("last_contact", repr(last_contact), "must not be in the future")
    if name is None and folded is None and e164 is None:
        raise cell.CellError("name", "", "nothing to match on: no name, identity number or phone")
    return (
        {
            "name": name,
            "id_number": folded,
            "phone": e164,
            "last_contact": day,
            "origin": origin or "",
            "note": note or "",
        },
        notes,
    )


def read_list(
    ws: Workspace,
    path: Path,
    list_id: str,
    *,
    format: str | None = None,
    encoding: str | None = None,
    report: ErrorReport,
    at: dt.datetime,
    ignore: Sequence[str] = (),
) -> tuple[list[ListEntry], int]:
    """The entries of a list file (duplicates and unusable rows reported), and rows read.

    A column that names no field and is not in ``ignore`` stops the import
    before anything is stored: a date column under an unknown header would
    otherwise be dropped, and every target would read "date unknown".
    """
    table = open_table(ws, path, format, encoding)
    try:
        lay = layout(table.header, LIST_FIELDS, LIST_ALIASES, (), source=path.name)
        accepted = {normalise_header(c) for c in ignore}
        unknown = [c for c in lay.ignored if normalise_header(c) not in accepted]
        if unknown:
            raise ValidationError.single(
                f"{path.name}:1",
                ", ".join(unknown),
                "unknown column(s), nothing stored: accept them with --ignore COLUMN "
                f"(known: {', '.join(LIST_FIELDS)} and their Chinese headers)",
            )
        if all(p is None for p in lay.positions[:3]):
            raise ValidationError.single(
                f"{path.name}:1",
                ", ".join(str(h) for h in table.header),
                "a list needs a name, identity number or phone column",
            )

        entries: list[ListEntry] = []
        first_row: dict[uuid.UUID, int] = {}
        rows = 0
        for number, cells in table.rows:
            rows += 1
            if isinstance(cells, BadRow):
                report.add(number, "", "", cells.reason)
                continue
            values = [None if p is None else clean(cells[p]) for p in lay.positions]
            try:
                for field, value in zip(LIST_FIELDS, values, strict=True):
                    if value is not None:
                        cell.check_formula(field, value)
                fields, notes = _list_row(values)
            except cell.CellError as exc:
                report.add(number, lay.column(exc.field), exc.shown, exc.rule)
                continue
            for field, shown, reason in notes:
                report.add(number, lay.column(field), shown, reason)
            eid = entry_id(list_id, fields)
            if eid in first_row:
                report.add(number, "", "", f"duplicate row: the same as row {first_row[eid]}")
                continue
            first_row[eid] = number
            entries.append(ListEntry(id=eid, at=at, list_id=list_id, row=number, **fields))
        return entries, rows
    finally:
        table.close()
        report.flush()


# -- finding candidates -----------------------------------------------------------------------


@attrs.frozen
class Resident:
    """What the cascade needs of a person."""

    id: str
    household_id: str
    name: str = attrs.field(repr=name_repr)
    resident_id: str | None = attrs.field(repr=id_number_repr)
    phone: str | None = attrs.field(repr=phone_repr)


class Finder(Protocol):
    """Candidate lookups for the cascade, in the database or in Python."""

    def by_numbers(self, numbers: Collection[str]) -> dict[str, list[Resident]]: ...

    def by_phones(self, phones: Collection[str]) -> dict[str, list[Resident]]: ...

    def by_blocks(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        """For each 18-character number: persons with its first 14 characters (region and
        birth date) whose last four differ from it in at most two places."""
        ...

    def regions(self) -> list[str]: ...


_COLUMNS = "p.id, p.household_id, p.name, p.resident_id, p.phone"


class SqlFinder:
    """Lookups as SQLite joins: the keys go in as one JSON array, the indexes do the rest."""

    CHUNK = 20_000

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.indexes_built = False
        present = {
            str(r[0])
            for r in uow.query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'persons'"
            )
        }
        for name, sql in MATCH_INDEXES.items():
            if name not in present:
                list(uow.query(sql))
                self.indexes_built = True
        self._regions: list[str] | None = None

    def _keyed(self, sql: str, keys: Collection[str]) -> dict[str, list[Resident]]:
        found: dict[str, list[Resident]] = defaultdict(list)
        ordered = sorted(keys)
        for start in range(0, len(ordered), self.CHUNK):
            chunk = json.dumps(ordered[start : start + self.CHUNK])
            for key, *person in self.uow.query(sql, (chunk,)):
                found[str(key)].append(Resident(*person))
        return found

    NUMBERS_SQL = (
        f"SELECT j.value, {_COLUMNS} FROM json_each(?) AS j "
        "CROSS JOIN persons AS p ON p.resident_id = j.value"
    )
    """Persons by identity number: one index seek per number of the JSON array."""
    PHONES_SQL = (
        f"SELECT j.value, {_COLUMNS} FROM json_each(?) AS j "
        "CROSS JOIN persons AS p ON p.phone = j.value"
    )
    """Persons by phone: one index seek per phone."""
    BLOCKS_SQL = (
        f"SELECT j.value, {_COLUMNS} FROM json_each(?) AS j CROSS JOIN persons AS p "
        "ON p.resident_id >= substr(j.value, 1, 14) "
        "AND p.resident_id < substr(j.value, 1, 14) || 'Z' "
        "WHERE "
        + " + ".join(
            f"(substr(p.resident_id, {i}, 1) <> substr(j.value, {i}, 1))" for i in range(15, 19)
        )
        + " <= 2"
    )
    """The block of a number N: the index range [N[:14], N[:14] + "Z") (identity numbers
    hold digits and X only), its last four characters compared on the index entries
    before any table row is read."""

    def by_numbers(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        return self._keyed(self.NUMBERS_SQL, numbers)

    def by_phones(self, phones: Collection[str]) -> dict[str, list[Resident]]:
        return self._keyed(self.PHONES_SQL, phones)

    def by_blocks(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        return self._keyed(self.BLOCKS_SQL, numbers)

    def regions(self) -> list[str]:
        """The region codes (first six digits) on file: one index seek each."""
        if self._regions is None:
            found: list[str] = []
            after = "0"
            while True:
                row = next(
                    self.uow.query(
                        "SELECT min(resident_id) FROM persons WHERE resident_id >= ?", (after,)
                    ),
                    (None,),
                )
                if row[0] is None or not str(row[0])[:6].isdigit():
                    break
                region = str(row[0])[:6]
                found.append(region)
                after = region + "Z"
            self._regions = found
        return self._regions


def _finder(ws: Workspace, uow: UnitOfWork, sql: bool) -> SqlFinder | PyFinder | BlindFinder:
    """SQL joins (on blind indexes when the store encrypts personal data), else Python."""
    store = ws._storage  # after the run was authorized as a whole-store operation
    fields = store.fields if isinstance(store, EncryptedFields) else None
    if sql and fields is not None:
        from ._blind import BlindFinder

        return BlindFinder(uow, fields)
    return SqlFinder(uow) if sql else PyFinder(uow)


class PyFinder:
    """The same lookups over every person, for a backend that runs no SQL (memory)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.numbers: dict[str, list[Resident]] = defaultdict(list)
        self.phones: dict[str, list[Resident]] = defaultdict(list)
        self.indexes_built = False
        for p in uow.find(Person):
            rid = None if p.resident_id is None else str(p.resident_id)
            person = Resident(p.id, p.household_id, p.name, rid, p.phone)
            if rid is not None:
                self.numbers[rid].append(person)
            if p.phone is not None:
                self.phones[p.phone].append(person)
        self.sorted = sorted(self.numbers)

    def by_numbers(self, numbers: Collection[str]) -> dict[str, list[Resident]]:
        return {n: self.numbers[n] for n in numbers if n in self.numbers}

    def by_phones(self, phones: Collection[str]) -> dict[str, list[Resident]]:
        return {p: self.phones[p] for p in phones if p in self.phones}

    def by_blocks(self, numbers: Collection[str]) -> dict[str, list[Resident]]:

        found: dict[str, list[Resident]] = {}
        for number in numbers:
            lo = bisect.bisect_left(self.sorted, number[:14])
            hi = bisect.bisect_left(self.sorted, number[:14] + "Z")
            hits = [
                p
                for n in self.sorted[lo:hi]
                if _hamming(n[14:18], number[14:18]) <= 2
                for p in self.numbers[n]
            ]
            if hits:
                found[number] = hits
        return found

    def regions(self) -> list[str]:
        return sorted({n[:6] for n in self.numbers if n[:6].isdigit()})


# -- the cascade ------------------------------------------------------------------------------


def _valid(number: str | None) -> str | None:
    """The canonical form of a valid CN identity number, else ``None``."""
    if number is None:
        return None
    fast = cell.fast_resident_id(number) if cell.builtin_cn() else None
    if fast is not None:
        return fast[0]
    try:
        return cell.read_resident_id("id_number", number)[0]
    except cell.CellError:
        return None


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def _check_ok(number: str) -> bool:
    return cell.fast_resident_id(number) is not None


def _neighbours(number: str, regions: Sequence[str]) -> set[str]:
    """Valid numbers one typing mistake away from ``number``, and region codes two away.

    One digit wrong or two neighbouring digits swapped anywhere (the check
    character rules out all but about one candidate per position), a
    dropped or doubled digit (a number of 17 or 19 characters), and, for
    the region code (the first six digits), any code on file at most two
    digits away. Every candidate is looked up exactly.
    """
    out: set[str] = set()
    if len(number) == 18:
        for i in range(18):
            for d in "0123456789X" if i == 17 else "0123456789":
                if d != number[i]:
                    out.add(number[:i] + d + number[i + 1 :])
            if i < 17 and number[i] != number[i + 1]:
                out.add(number[:i] + number[i + 1] + number[i] + number[i + 2 :])
        out.update(r + number[6:] for r in regions if 0 < _hamming(r, number[:6]) <= 2)
    elif len(number) == 17:
        for i in range(18):
            for d in "0123456789X" if i == 17 else "0123456789":
                out.add(number[:i] + d + number[i:])
    elif len(number) == 19:
        for i in range(19):
            out.add(number[:i] + number[i + 1 :])
    return {n for n in out if _check_ok(n)}


def id_distance(a: str, b: str, limit: int = 2) -> int:
    """The OSA distance between two identity numbers, or ``limit + 1`` when it is larger.

    Equal lengths are compared position by position first: a single
    difference is distance 1 and more than ``2 * limit`` differences is too
    far, without the full dynamic programme.
    """
    if len(a) == len(b):
        diffs = sum(x != y for x, y in zip(a, b, strict=True))
        if diffs <= 1:
            return diffs
        if diffs > 2 * limit:
            return limit + 1
    elif abs(len(a) - len(b)) > limit:
        return limit + 1
    return min(osa_distance(a, b), limit + 1)


@attrs.define
class _Entry:
    entry: ListEntry
    number: str | None
    """The valid canonical number, if the list's number is valid."""
    seen: dict[str, float] = attrs.field(factory=dict)
    """Candidates looked at: person id -> score."""
    reasons: list[str] = attrs.field(factory=list)
    links: list[tuple[Resident, MatchPass, float]] = attrs.field(factory=list)


def _sim(entry: ListEntry, person: Resident) -> float:
    return 1.0 if entry.name is None else name_similarity(entry.name, person.name)


def _pick(
    scored: list[tuple[float, float, Resident]], minimum: float, margin: float
) -> tuple[Resident, float] | None:
    """The best ``(name similarity, score, person)`` if it is good enough and stands out."""
    if not scored:
        return None
    scored.sort(key=lambda t: (-t[1], t[2].id))
    sim, score, best = scored[0]
    others = [s for s in scored[1:] if s[2].id != best.id]
    if sim < minimum or (others and scored[0][1] - others[0][1] < margin):
        return None
    return best, score


def cascade(entries: Sequence[ListEntry], finder: Finder, policy: MatchPolicy) -> list[_Entry]:
    """Run the three passes over ``entries``; each result holds its links or its reasons."""
    work = [_Entry(e, _valid(e.id_number)) for e in entries]

    # Pass 1: the same valid identity number.
    by_number = finder.by_numbers({w.number for w in work if w.number})
    for w in work:
        hits = by_number.get(w.number or "", [])
        for person in hits:
            sim = _sim(w.entry, person)
            w.seen[person.id] = max(w.seen.get(person.id, 0.0), sim)
            if sim >= policy.identity_name_floor:
                w.links.append((person, MatchPass.IDENTITY, round(sim, 4)))
        if hits and not w.links:
            w.reasons.append("the identity number is on file, but under another name")

    # Pass 2: the same phone and a similar name.
    todo = [w for w in work if not w.links and w.entry.phone and w.entry.name]
    by_phone = finder.by_phones({w.entry.phone for w in todo if w.entry.phone})
    for w in todo:
        scored = []
        for person in by_phone.get(w.entry.phone or "", []):
            if (
                w.number
                and person.resident_id
                and id_distance(w.number, person.resident_id, policy.max_distance)
                > policy.max_distance
            ):
                continue  # a different person who shares the phone
            sim = _sim(w.entry, person)
            w.seen[person.id] = max(w.seen.get(person.id, 0.0), sim)
            scored.append((sim, sim, person))
        picked = _pick(scored, policy.phone_name_min, policy.margin)
        if picked is not None:
            w.links.append((picked[0], MatchPass.PHONE_NAME, round(picked[1], 4)))
        elif scored:
            w.reasons.append("the phone is on file, but no name there is close enough")

    # Pass 3: an identity number at most two edits away, inside a block.
    todo = [
        w
        for w in work
        if not w.links
        and w.entry.name
        and w.entry.id_number
        and _NUMBERISH.fullmatch(w.entry.id_number)
    ]
    regions = finder.regions() if todo else []
    neighbours = {id(w): _neighbours(w.entry.id_number or "", regions) for w in todo}
    blocked = [w.entry.id_number or "" for w in todo if len(w.entry.id_number or "") == 18]
    by_block = finder.by_blocks(set(blocked))
    by_neighbour = finder.by_numbers({k for keys in neighbours.values() for k in keys})
    for w in todo:
        number = w.entry.id_number or ""
        pool: dict[str, Resident] = {p.id: p for p in by_block.get(number, ())}
        for key in neighbours[id(w)]:
            for person in by_neighbour.get(key, ()):
                pool[person.id] = person
        scored = []
        for person in pool.values():
            if person.resident_id is None:
                continue
            distance = id_distance(number, person.resident_id, policy.max_distance)
            if distance > policy.max_distance:
                continue
            sim = _sim(w.entry, person)
            score = max(0.0, sim - policy.edit_penalty * distance)
            w.seen[person.id] = max(w.seen.get(person.id, 0.0), score)
            scored.append((sim, score, person))
        picked = _pick(scored, policy.fuzzy_name_min, policy.margin)
        if picked is not None:
            w.links.append((picked[0], MatchPass.FUZZY_IDENTITY, round(picked[1], 4)))
        elif scored:
            w.reasons.append("a similar identity number is on file, but the name is not close")

    for w in work:
        if not w.links and not w.reasons:
            if not (w.entry.id_number or w.entry.phone):
                w.reasons.append("no identity number or phone to match on")
            elif not w.entry.name and not w.number:
                w.reasons.append("no name to confirm a phone or a mistyped identity number")
            else:
                w.reasons.append("nobody in the register has this identity number or phone")
    return work


# -- storing ------------------------------------------------------------------------------------


def list_id_for(source: str) -> str:
    """The id of the list called ``source``: readable when it can be, a hash otherwise."""
    slug = f"list-{source}"
    if _IDENT.match(slug):
        return slug
    return derived_id("list", source)


def _recorder(ws: Workspace) -> str | None:
    name = ws.principal.name
    return name if _IDENT.match(name) else None


def _default_area(ws: Workspace) -> str:
    roots = ws.find(Area, parent_id=None)
    if len(roots) != 1:
        raise ConfigError(
            f"say which area received the list (--area): the store has {len(roots)} top-level areas"
        )
    return roots[0].id


def _stored_ids(uow: UnitOfWork, cls: type[Any], ids: Sequence[str]) -> set[str]:
    return uow.existing_ids(cls, set(ids)) if ids else set()


def _settled(uow: UnitOfWork, entry_ids: Sequence[str], sql: bool) -> set[str]:
    """Entries already matched or queued for review (by an earlier run)."""
    if not entry_ids:
        return set()
    if sql:
        found: set[str] = set()
        for table in ("matches", "review_items"):
            found.update(
                str(r[0])
                for r in uow.query(
                    f"SELECT entry_id FROM {table} "
                    "WHERE entry_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(entry_ids)),),
                )
            )
        return found
    wanted = set(entry_ids)
    done = {str(m.entry_id) for m in uow.find(Match) if str(m.entry_id) in wanted}
    done |= {str(r.entry_id) for r in uow.find(ReviewItem) if str(r.entry_id) in wanted}
    return done


def _list_counts(uow: UnitOfWork, list_id: str, sql: bool) -> tuple[int, int, int]:
    """``(entries, matched entries, entries waiting for review)`` of a list."""
    if sql:
        row = next(
            uow.query(
                "SELECT count(*), "
                "count(*) FILTER (WHERE EXISTS "
                "(SELECT 1 FROM matches m WHERE m.entry_id = e.id)), "
                "count(*) FILTER (WHERE EXISTS "
                "(SELECT 1 FROM review_items r WHERE r.entry_id = e.id) "
                "AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.entry_id = e.id) "
                "AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.entry_id = e.id)) "
                "FROM list_entries e WHERE e.list_id = ?",
                (list_id,),
            )
        )
        return int(row[0]), int(row[1]), int(row[2])
    entries = {str(e.id) for e in uow.find(ListEntry, where={"list_id": list_id})}
    matched = {str(m.entry_id) for m in uow.find(Match)} & entries
    decided = {str(d.entry_id) for d in uow.find(ReviewDecision)}
    queued = {str(r.entry_id) for r in uow.find(ReviewItem)} & entries
    return len(entries), len(matched), len(queued - matched - decided)


def match_list(
    ws: Workspace,
    path: str | Path,
    *,
    source: str,
    area_id: str | None = None,
    exposure: ExposureKind | str = ExposureKind.OUTBREAK_AREA_ARRIVAL,
    received: dt.date | None = None,
    format: str | None = None,
    encoding: str | None = None,
    policy: MatchPolicy | None = None,
    report: bool | Path = True,
    on: dt.date | None = None,
    ignore: Sequence[str] = (),
) -> MatchResult:
    """Read the list at ``path`` as ``source``, link it to the register, and rank the targets.

    Everything happens in one transaction: the list and its rows are
    stored (rows already stored are kept as they are), every row not yet
    linked or queued goes through the cascade, matches and review items are
    recorded, and the targets are recomputed (priorities as of ``on``,
    default today). Rows that cannot be used are in the error report beside
    the file, as for :func:`~gridguard.targeting.importing.import_file`. ``area_id`` is
    the area that received the list (default: the one top-level area).
    """

    ws.authorize("targeting.match", "*")
    policy = policy or MatchPolicy()
    source_path = Path(path)
    now = dt.datetime.now(dt.UTC)
    target = report_path_for(source_path) if report is True else (report or None)
    errors = ErrorReport(target if isinstance(target, Path) else None)
    list_id = list_id_for(source)
    sql = ws.dialect.sqlite_sql
    try:
        with ws._transaction() as uow:
            area = area_id or _default_area(ws)
            outside = OutsideList(
                id=list_id,
                source=source,
                area_id=area,
                exposure=exposure,
                received=received or now.date(),
            )
            old = uow.get(OutsideList, list_id)
            if old is not None:  # the same source again keeps its first day and note
                outside = attrs.evolve(outside, received=old.received, note=old.note)
            uow.put(OutsideList, [outside])
            entries, rows = read_list(
                ws,
                source_path,
                list_id,
                format=format,
                encoding=encoding,
                report=errors,
                at=now,
                ignore=ignore,
            )
            recorder = _recorder(ws)
            if recorder is not None:
                entries = [attrs.evolve(e, recorded_by=recorder) for e in entries]
            ids = [str(e.id) for e in entries]
            stored = _stored_ids(uow, ListEntry, ids)
            new = [e for e in entries if str(e.id) not in stored]
            if new:
                uow.save_facts(ListEntry, new)
            settled = _settled(uow, ids, sql)
            pending = [e for e in entries if str(e.id) not in settled]
            finder = _finder(ws, uow, sql)
            results = cascade(pending, finder, policy)
            matches, reviews, by_pass = _facts(results, outside, now, recorder)
            if matches:
                uow.save_facts(Match, matches)
            if reviews:
                uow.save_facts(ReviewItem, reviews)
            targets = compute_targets(ws, on=on)
            total, matched, queued = _list_counts(uow, list_id, sql)
    finally:
        written = errors.close()
    return MatchResult(
        list_id=list_id,
        source=source,
        rows=rows,
        entries=total,
        new_entries=len(new),
        rejected=errors.count,
        matched=matched,
        by_pass=by_pass,
        review_queue=queued,
        targets=targets,
        report=written,
        indexes_built=finder.indexes_built,
    )


def _facts(
    results: Iterable[_Entry], outside: OutsideList, now: dt.datetime, recorder: str | None
) -> tuple[list[Match], list[ReviewItem], dict[str, int]]:
    matches: list[Match] = []
    reviews: list[ReviewItem] = []
    by_pass: dict[str, int] = {p.value: 0 for p in MatchPass if p is not MatchPass.MANUAL}
    for w in results:
        eid = w.entry.id
        if w.links:
            by_pass[w.links[0][1].value] += 1
            for person, how, score in w.links:
                matches.append(
                    Match(
                        id=uuid.uuid5(_NAMESPACE, f"match\x1f{eid}\x1f{person.id}"),
                        at=now,
                        recorded_by=recorder,
                        entry_id=eid,
                        person_id=person.id,
                        match_pass=how,
                        score=score,
                        source=outside.source,
                    )
                )
            continue
        best = sorted(w.seen.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        reviews.append(
            ReviewItem(
                id=uuid.uuid5(_NAMESPACE, f"review\x1f{eid}"),
                at=now,
                recorded_by=recorder,
                entry_id=eid,
                reason="; ".join(w.reasons),
                candidates=[Candidate(person_id=p, score=round(s, 4)) for p, s in best],
            )
        )
    return matches, reviews, by_pass


# -- the review queue -----------------------------------------------------------------------------


@attrs.frozen
class QueuedRow:
    """A row waiting for review, as a reviewer sees it (personal values masked)."""

    entry_id: uuid.UUID
    list_id: str
    row: int
    name: str = attrs.field(repr=name_repr)
    id_number: str = attrs.field(repr=id_number_repr)
    phone: str = attrs.field(repr=phone_repr)
    reason: str
    candidates: tuple[Candidate, ...]


def review_queue(ws: Workspace, list_id: str | None = None) -> list[QueuedRow]:
    """Rows waiting for review (no match, no decision), oldest list row first.

    Only rows of outside lists inside the principal's scope, for a role
    that reads targeting records; the read is audited.
    """

    with ws._transaction(write=False) as uow:
        items = list(uow.find(ReviewItem))
        matched = {m.entry_id for m in uow.find(Match)}
        decided = {d.entry_id for d in uow.find(ReviewDecision)}
        out = []
        for item in items:
            if item.entry_id in matched or item.entry_id in decided:
                continue
            entry = uow.get(ListEntry, str(item.entry_id))
            if entry is None or (list_id is not None and entry.list_id != list_id):
                continue
            out.append(
                QueuedRow(
                    entry_id=entry.id,
                    list_id=entry.list_id,
                    row=entry.row,
                    name=mask_name(entry.name or ""),
                    id_number=mask_id_number(entry.id_number or ""),
                    phone=mask_phone(entry.phone or ""),
                    reason=item.reason,
                    candidates=item.candidates,
                )
            )
    inside = ws.visible("targeting.review", OutsideList, {q.list_id for q in out})
    out = [q for q in out if q.list_id in inside]
    out.sort(key=lambda q: (q.list_id, q.row))
    return out


def resolve_review(
    ws: Workspace,
    entry_id: uuid.UUID | str,
    person_id: str | None = None,
    *,
    note: str = "",
    on: dt.date | None = None,
) -> ReviewDecision:
    """Decide a queued row: ``person_id`` is who it is (a manual match), ``None`` nobody on file.

    The decision is a fact; with a person it also records a
    :class:`~gridguard.model.targeting.Match` of pass ``manual`` and score 1, and
    the targets are recomputed, so it is for an unscoped principal only, as
    :func:`match_list` is.
    """

    ws.authorize("targeting.match", "*")
    eid = uuid.UUID(str(entry_id))
    now = dt.datetime.now(dt.UTC)
    recorder = _recorder(ws)
    with ws._transaction() as uow:
        entry = uow.get(ListEntry, str(eid))
        if entry is None:
            raise ValidationError.single("$.entry_id", str(eid), "no such list row")
        outside = uow.get(OutsideList, entry.list_id)
        assert outside is not None
        decision = ReviewDecision(
            id=uuid.uuid5(_NAMESPACE, f"decision\x1f{eid}\x1f{person_id or ''}"),
            at=now,
            recorded_by=recorder,
            entry_id=eid,
            person_id=person_id,
            note=note,
        )
        uow.save_facts(ReviewDecision, [decision])
        if person_id is not None:
            match = Match(
                id=uuid.uuid5(_NAMESPACE, f"match\x1f{eid}\x1f{person_id}"),
                at=now,
                recorded_by=recorder,
                entry_id=eid,
                person_id=person_id,
                match_pass=MatchPass.MANUAL,
                score=1.0,
                source=outside.source,
            )
            if uow.jurisdiction_of(Match, str(match.id)) is None:
                uow.save_facts(Match, [match])
            compute_targets(ws, on=on)
    return decision
