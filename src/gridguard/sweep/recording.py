"""Recording the sweep: visits with the screening answers of the persons they screened.

A record is one visit and its screenings. Each record is checked against the
store and the campaign: the household must exist in the campaign's scope,
the team must be one of the campaign's, the time one of its days, and every
screened person a member of the visited household. A bad record is reported
with its line and stored not at all; the good records of the same batch are
stored together. Recording is idempotent: a visit without an ``id`` gets
one derived from what it is (campaign, household, channel, time, team), so
recording the same file twice stores nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..builtins.formats import CsvImporter, JsonLinesImporter, json_lines
from ..errors import ConfigError, ConflictError, ValidationError, Violation
from ..importers.columns import VISIT_HEADERS, VISIT_VALUES, canonical_row, split_list
from ..masking import mask_name
from ..model import Building, Household, Person, Screening, Stairwell, Team, Visit, VisitOutcome
from ..serialization import from_dict

if TYPE_CHECKING:
    from ..importers import Importer
    from ..storage.base import SaveResult
    from .context import CampaignContext
    from .workflow import Sweep

__all__ = [
    "CSV_COLUMNS",
    "BatchReport",
    "RecordError",
    "RecordReport",
    "VisitRecord",
    "parse_rows",
    "record",
    "record_file",
    "screening_id",
    "store_batch",
    "visit_id",
]

NAMESPACE = uuid.UUID("5b0c3f4e-8f1d-5d0a-9c51-7a2f2b3c6d10")
"""Namespace of the ids derived for visits and screenings recorded without one."""

VISIT_COLUMNS = (
    "id",
    "at",
    "household_id",
    "outcome",
    "channel",
    "team_id",
    "campaign_id",
    "note",
    "recorded_by",
)
SCREENING_COLUMNS = (
    "person_id",
    "screening_id",
    "temperature",
    "symptoms",
    "trip_destination",
    "trip_departed",
    "trip_returned",
    "exposure_kind",
    "exposure_last_contact",
    "exposure_note",
)
CSV_COLUMNS = VISIT_COLUMNS + SCREENING_COLUMNS
"""The columns a CSV file of visits may have: one row per screened person (or per visit).

Chinese headers and values are read too (``gridguard.importers.columns.VISIT_HEADERS``):
``户编号``, ``结果`` with ``筛查``/``不在家``/``拒绝``/``空置``... A row may name its
household by ``地址`` (the stored address) and its person by ``姓名`` instead of ids.
"""
NAME_COLUMNS = ("address", "person_name")
"""Columns that name a household (by address) or a person (by name) instead of an id."""


def visit_id(campaign_id: str, visit: Visit) -> uuid.UUID:
    """The id of a visit recorded without one: the same visit always gets the same id."""
    key = ":".join(
        (
            "visit",
            campaign_id,
            visit.household_id,
            visit.channel.value,
            visit.at.isoformat(),
            visit.team_id or "",
        )
    )
    return uuid.uuid5(NAMESPACE, key)


def screening_id(visit: uuid.UUID, person_id: str) -> uuid.UUID:
    """The id of a screening recorded without one: one per person and visit."""
    return uuid.uuid5(NAMESPACE, f"screening:{visit}:{person_id}")


def _screenings(value: Iterable[Screening]) -> tuple[Screening, ...]:
    return tuple(value)


def _violations(value: Iterable[Violation]) -> tuple[Violation, ...]:
    return tuple(value)


def _errors(value: Iterable[RecordError]) -> tuple[RecordError, ...]:
    return tuple(value)


@attrs.frozen
class VisitRecord:
    """A visit with the screenings of the persons it screened, and the line it came from."""

    visit: Visit
    screenings: tuple[Screening, ...] = attrs.field(default=(), converter=_screenings)
    line: int | None = None
    """Where the record starts in its file (or its position in a batch)."""


@attrs.frozen
class RecordError:
    """Why a record was not stored: the line it came from and each rule it broke."""

    line: int
    violations: tuple[Violation, ...] = attrs.field(converter=_violations)

    def __str__(self) -> str:
        return f"line {self.line}: " + "; ".join(str(v) for v in self.violations)

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON data: its line and, per rule broken, the path, value and rule."""
        return {
            "line": self.line,
            "problems": [
                {"path": v.path, "value": v.value, "rule": v.rule} for v in self.violations
            ],
        }


@attrs.frozen
class BatchReport:
    """What a batch of records did: how many came, and how many were accepted."""

    records: int
    accepted: int

    @property
    def rejected(self) -> int:
        return self.records - self.accepted

    def _counts(self) -> dict[str, Any]:
        """The head of :meth:`to_dict`."""
        return {"records": self.records, "accepted": self.accepted, "rejected": self.rejected}


@attrs.frozen
class RecordReport(BatchReport):
    """What a batch of visit records did."""

    visits_written: int = 0
    visits_unchanged: int = 0
    screenings_written: int = 0
    screenings_unchanged: int = 0
    errors: tuple[RecordError, ...] = attrs.field(default=(), converter=_errors)

    @property
    def changed(self) -> bool:
        """Whether anything new was stored."""
        return bool(self.visits_written or self.screenings_written)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._counts(),
            "visits": {"written": self.visits_written, "unchanged": self.visits_unchanged},
            "screenings": {
                "written": self.screenings_written,
                "unchanged": self.screenings_unchanged,
            },
            "errors": [e.to_dict() for e in self.errors],
        }


# -- checking against the store --------------------------------------------------------------


@attrs.frozen
class _Known:
    """What the store knows about the ids a batch names."""

    households: Mapping[str, str]
    """Household id -> the area its building stands in."""
    persons: Mapping[str, str]
    """Person id -> household id."""
    teams: Mapping[str, str]
    """Team id -> the area it belongs to."""
    inside: frozenset[str] = frozenset()
    """Areas of those households that lie in the campaign's scope."""
    served: frozenset[str] = frozenset()
    """Areas of those teams that the campaign serves."""


def _known(ctx: CampaignContext, records: list[VisitRecord]) -> _Known:
    households = {r.visit.household_id for r in records}
    persons = {s.person_id for r in records for s in r.screenings}
    teams = {r.visit.team_id for r in records if r.visit.team_id}
    if ctx.runs_sql:
        sql = (
            "SELECT h.id, b.area_id FROM households h "
            "JOIN stairwells s ON s.id = h.stairwell_id "
            "JOIN buildings b ON b.id = s.building_id WHERE h.id IN ({marks})"
        )
        found_h = {str(h): str(a) for h, a in ctx._lookup(sql, households)}
        sql = "SELECT id, household_id FROM persons WHERE id IN ({marks})"
        found_p = {str(p): str(h) for p, h in ctx._lookup(sql, persons)}
    else:
        found_h, found_p = {}, {}
        with ctx.ws._transaction(write=False) as uow:
            for household_id in households:
                household = uow.get(Household, household_id)
                stairwell = household and uow.get(Stairwell, household.stairwell_id)
                building = stairwell and uow.get(Building, stairwell.building_id)
                if building:
                    found_h[household_id] = building.area_id
            for person_id in persons:
                person = uow.get(Person, person_id)
                if person is not None:
                    found_p[person_id] = person.household_id
    if ctx.runs_sql:
        sql = "SELECT id, area_id FROM teams WHERE id IN ({marks})"
        found_t = {str(t): str(a) for t, a in ctx._lookup(sql, teams)}
    else:
        with ctx.ws._transaction(write=False) as uow:
            found_t = {t: team.area_id for t in teams if (team := uow.get(Team, t)) is not None}
    if not ctx.ws.guard.everywhere:
        # Outside the principal's scope is unknown to her: no existence oracle.
        inside_h = ctx.ws.in_scope(Household, found_h)
        inside_p = ctx.ws.in_scope(Person, found_p)
        found_h = {h: a for h, a in found_h.items() if h in inside_h}
        found_p = {p: h for p, h in found_p.items() if p in inside_p}
    inside, served = ctx.placed({*found_h.values(), *found_t.values()})
    return _Known(found_h, found_p, found_t, inside, served)


def _check(ctx: CampaignContext, rec: VisitRecord, known: _Known) -> list[Violation]:
    """Every way ``rec`` breaks the campaign's rules (empty when it may be stored)."""
    campaign = ctx.campaign
    visit = rec.visit
    found: list[Violation] = []
    if visit.campaign_id is not None and visit.campaign_id != campaign.id:
        found.append(
            Violation(
                "$.campaign_id", repr(visit.campaign_id), f"not this campaign ({campaign.id})"
            )
        )
    area = known.households.get(visit.household_id)
    if area is None:
        found.append(Violation("$.household_id", repr(visit.household_id), "unknown household"))
    elif area not in known.inside:
        found.append(
            Violation(
                "$.household_id",
                repr(visit.household_id),
                f"household outside the scope of campaign {campaign.id}",
            )
        )
    if visit.team_id is not None:
        team_area = known.teams.get(visit.team_id)
        if team_area is None:
            found.append(Violation("$.team_id", repr(visit.team_id), "unknown team"))
        elif team_area not in known.served:
            found.append(
                Violation("$.team_id", repr(visit.team_id), f"team not in campaign {campaign.id}")
            )
    if not ctx.in_window(visit.at):
        last = campaign.end.isoformat() if campaign.end else "open"
        found.append(
            Violation(
                "$.at",
                visit.at.astimezone(campaign.zone).isoformat(),
                f"outside campaign {campaign.id} ({campaign.start.isoformat()} to {last}, "
                f"{campaign.time_zone})",
            )
        )
    if rec.screenings and visit.outcome is not VisitOutcome.SCREENED:
        found.append(
            Violation(
                "$.screenings",
                f"{len(rec.screenings)} screenings",
                f"only a screened visit has screenings (outcome is {visit.outcome.value})",
            )
        )
    seen: set[str] = set()
    for n, screening in enumerate(rec.screenings):
        where = f"$.screenings[{n}]"
        home = known.persons.get(screening.person_id)
        if home is None:
            found.append(
                Violation(f"{where}.person_id", repr(screening.person_id), "unknown person")
            )
        elif home != visit.household_id:
            found.append(
                Violation(
                    f"{where}.person_id",
                    repr(screening.person_id),
                    f"not a member of household {visit.household_id}",
                )
            )
        if screening.person_id in seen:
            found.append(
                Violation(
                    f"{where}.person_id", repr(screening.person_id), "screened twice in one visit"
                )
            )
        seen.add(screening.person_id)
        if screening.visit_id is not None and screening.visit_id != visit.id:
            found.append(
                Violation(f"{where}.visit_id", str(screening.visit_id), "not this record's visit")
            )
    return found


def _tagged(campaign_id: str, rec: VisitRecord) -> list[Any]:
    """The record's facts, the visit tagged with the campaign and its screenings with the visit."""
    visit = rec.visit
    if visit.campaign_id is None:
        visit = attrs.evolve(visit, campaign_id=campaign_id)
    screenings = [
        s if s.visit_id is not None else attrs.evolve(s, visit_id=visit.id) for s in rec.screenings
    ]
    return [visit, *screenings]


def record(sweep: Sweep, records: Iterable[VisitRecord]) -> RecordReport:
    """Check and store ``records``: the good ones together, the bad ones reported per line.

    A record whose visit or screening ids are already stored with other
    content is reported as a conflict; the same content again is
    ``unchanged``.
    """
    sweep.ws.authorize("sweep.record")
    ctx = sweep.context
    batch = list(records)
    known = _known(ctx, batch)
    errors: list[RecordError] = []
    good: list[tuple[int, list[Any]]] = []
    for n, rec in enumerate(batch):
        line = rec.line if rec.line is not None else n
        problems = _check(ctx, rec, known)
        if problems:
            errors.append(RecordError(line, problems))
        else:
            good.append((line, _tagged(ctx.campaign.id, rec)))
    totals = {Visit: [0, 0], Screening: [0, 0]}

    def store(facts: list[Any]) -> None:
        with sweep.ws._transaction():
            results: list[tuple[type[Any], SaveResult]] = [
                (cls, sweep.ws.record([f for f in facts if type(f) is cls]))
                for cls in (Visit, Screening)
            ]
        for cls, result in results:
            totals[cls][0] += result.written
            totals[cls][1] += result.unchanged

    accepted, refused = store_batch(good, store)
    errors = sorted([*errors, *refused], key=lambda e: e.line)
    return RecordReport(
        records=len(batch),
        accepted=accepted,
        visits_written=totals[Visit][0],
        visits_unchanged=totals[Visit][1],
        screenings_written=totals[Screening][0],
        screenings_unchanged=totals[Screening][1],
        errors=errors,
    )


def store_batch(
    good: Sequence[tuple[int, Sequence[Any]]], store: Callable[[list[Any]], None]
) -> tuple[int, list[RecordError]]:
    """Store the facts of the ``good`` records in one call of ``store``, else record by record.

    ``good`` pairs each record's line with its facts. When the batch as a
    whole is refused (a conflict, a bad reference), each record is stored
    on its own so that the records at fault are found and the others
    still go in. Returns how many records were stored, and an error for
    each one that was not.
    """
    accepted = len(good)
    errors: list[RecordError] = []
    try:
        store([f for _, facts in good for f in facts])
    except (ConflictError, ValidationError):
        for line, facts in good:
            try:
                store(list(facts))
            except ConflictError as exc:
                accepted -= 1
                errors.append(RecordError(line, [Violation("$.id", str(facts[0].id), str(exc))]))
            except ValidationError as exc:
                accepted -= 1
                errors.append(RecordError(line, exc.violations))
    return accepted, errors


# -- reading files ---------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _local_time(ctx: CampaignContext, value: Any) -> Any:
    """A naive time in a file is the campaign's local time; anything else is left to the model."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=ctx.campaign.zone)
        return parsed
    return value


_DAYS = {"trips": ("departed", "returned"), "exposures": ("last_contact",)}
"""The day columns of a screening's trips and exposures."""


def _local_days(ctx: CampaignContext, screening: dict[str, Any]) -> None:
    """A time given for a day is, like any naive time in a file, the campaign's local time.

    The model then takes the day that time falls on there (the day written);
    a time with an offset is the model's to convert, as from the API.
    """
    for key, columns in _DAYS.items():
        items = screening.get(key)
        if isinstance(items, list):
            screening[key] = [
                {**item, **{c: _local_time(ctx, item[c]) for c in columns if c in item}}
                if isinstance(item, dict)
                else item
                for item in items
            ]


def _visit_record(ctx: CampaignContext, data: Mapping[str, Any], line: int) -> VisitRecord:
    """A record from one JSON object (a visit with a ``screenings`` list)."""
    data = dict(data)
    screenings = data.pop("screenings", None) or []
    if _blank(data.get("at")):
        raise ValidationError.single("$.at", "", "required: when the visit happened")
    data["at"] = _local_time(ctx, data["at"])
    given_id = not _blank(data.get("id"))
    if not given_id:
        data.pop("id", None)
    visit = from_dict(Visit, data)
    if not given_id:
        visit = attrs.evolve(visit, id=visit_id(ctx.campaign.id, visit))
    if not isinstance(screenings, list):
        raise ValidationError.single("$.screenings", type(screenings).__name__, "must be a list")
    problems: list[Violation] = []
    parsed: list[Screening] = []
    for n, item in enumerate(screenings):
        if not isinstance(item, dict):
            problems.append(
                Violation(f"$.screenings[{n}]", type(item).__name__, "must be an object")
            )
            continue
        item = dict(item)
        item.setdefault("at", visit.at)
        item.setdefault("visit_id", str(visit.id))
        if _blank(item.get("id")):
            item["id"] = str(screening_id(visit.id, str(item.get("person_id", ""))))
        item["at"] = _local_time(ctx, item["at"])
        _local_days(ctx, item)
        try:
            parsed.append(from_dict(Screening, item, path=f"$.screenings[{n}]"))
        except ValidationError as exc:
            problems += exc.violations
    if problems:
        raise ValidationError(problems)
    return VisitRecord(visit, tuple(parsed), line)


def _csv_screening(row: Mapping[str, Any]) -> dict[str, Any]:
    """The screening of one CSV row, as a JSON-like object."""
    out: dict[str, Any] = {"person_id": row["person_id"]}
    if not _blank(row.get("screening_id")):
        out["id"] = row["screening_id"]
    if not _blank(row.get("temperature")):
        out["temperature"] = row["temperature"]
    if not _blank(row.get("symptoms")):
        out["symptoms"] = split_list(str(row["symptoms"]))
    if not _blank(row.get("trip_destination")):
        trip = {"destination": row["trip_destination"]}
        for column, key in (("trip_departed", "departed"), ("trip_returned", "returned")):
            if not _blank(row.get(column)):
                trip[key] = row[column]
        out["trips"] = [trip]
    if not _blank(row.get("exposure_kind")):
        exposure = {"kind": row["exposure_kind"], "last_contact": row.get("exposure_last_contact")}
        if not _blank(row.get("exposure_note")):
            exposure["note"] = row["exposure_note"]
        out["exposures"] = [exposure]
    return out


def _csv_groups(
    rows: Iterable[tuple[int, dict[str, Any] | ValidationError]],
) -> Iterator[tuple[int, dict[str, Any] | ValidationError]]:
    """CSV rows grouped into visits: rows of one visit share its id, or household, time and team.

    A row that could not be read (a :class:`ValidationError`) is passed on as it is.
    """
    groups: dict[tuple[str, ...], tuple[int, dict[str, Any], list[str]]] = {}
    for line, row in rows:
        if isinstance(row, ValidationError):
            yield line, row
            continue
        unknown = sorted(k for k in row if k not in CSV_COLUMNS)
        if unknown:
            known = ", ".join(CSV_COLUMNS)
            raise ValidationError.single(  # a header's problem: line 1
                "line 1", ", ".join(unknown), f"unknown column (columns: {known})"
            )
        visit = {k: row[k] for k in VISIT_COLUMNS if not _blank(row.get(k))}
        key = (
            ("id", str(visit["id"]))
            if "id" in visit
            else tuple(str(visit.get(k, "")) for k in ("household_id", "at", "channel", "team_id"))
        )
        if key not in groups:
            groups[key] = (line, {**visit, "screenings": []}, [])
        first, data, disagree = groups[key]
        for column, value in visit.items():
            if data.get(column) != value:
                disagree.append(
                    f"line {line}: {column} is {value!r}, line {first} has {data.get(column)!r}"
                )
        if not _blank(row.get("person_id")):
            data["screenings"].append(_csv_screening(row))
    for first, data, disagree in groups.values():
        if disagree:
            yield (
                first,
                ValidationError(
                    [Violation("$", d, "rows of one visit must agree") for d in disagree]
                ),
            )
        else:
            yield first, data


def _by_name(
    ctx: CampaignContext, rows: list[tuple[int, dict[str, Any]]]
) -> tuple[list[tuple[int, dict[str, Any]]], list[RecordError]]:
    """Rows with a household named by ``address`` and a person by ``person_name`` given ids.

    A team may be named by its name (第一小分队) when no team has that id.
    Each distinct address is looked up once; a person's name is looked up
    among the members of their household. A name that matches nothing, or
    more than one, refuses its row.
    """
    ws = ctx.ws
    teams = {str(row["team_id"]) for _, row in rows if not _blank(row.get("team_id"))}
    with ws._transaction(write=False) as uow:
        unknown_teams = teams - uow.existing_ids(Team, teams)
    if unknown_teams:  # teams named by name (第一小分队)
        by_name: dict[str, list[str]] = {}
        for team in ws.find(Team):
            by_name.setdefault(team.name, []).append(team.id)
        renamed = {t: by_name[t][0] for t in unknown_teams if len(by_name.get(t, [])) == 1}
        for _, row in rows:
            if not _blank(row.get("team_id")):
                row["team_id"] = renamed.get(str(row["team_id"]), row["team_id"])
    if not any(any(not _blank(row.get(c)) for c in NAME_COLUMNS) for _, row in rows):
        return [(n, {k: v for k, v in r.items() if k not in NAME_COLUMNS}) for n, r in rows], []
    homes: dict[str, list[str]] = {}
    members: dict[str, list[Person]] = {}
    good: list[tuple[int, dict[str, Any]]] = []
    errors: list[RecordError] = []
    for line, row in rows:
        row = dict(row)
        address = row.pop("address", None)
        name = row.pop("person_name", None)
        problems: list[Violation] = []
        if _blank(row.get("household_id")) and not _blank(address):
            text = str(address).strip()
            if text not in homes:
                homes[text] = [h.id for h in ws.find(Household, address=text)]
            found = homes[text]
            if len(found) == 1:
                row["household_id"] = found[0]
            else:
                why = "no household has this address" if not found else "several households do"
                problems.append(Violation("$.address", text, why))
        household = row.get("household_id")
        if _blank(row.get("person_id")) and not _blank(name) and not _blank(household):
            hid = str(household)
            if hid not in members:
                members[hid] = ws.find(Person, household_id=hid)
            text = str(name).strip()
            found_people = [p.id for p in members[hid] if p.name == text]
            if len(found_people) == 1:
                row["person_id"] = found_people[0]
            else:
                why = (
                    "nobody of this name lives in the household"
                    if not found_people
                    else "several members have this name: give 人员编号"
                )
                problems.append(Violation("$.person_name", mask_name(text), why))
        if problems:
            errors.append(RecordError(line, problems))
        else:
            good.append((line, row))
    return good, errors


def _importer(ws: Any, path: Path, format: str | None) -> Importer:
    registry = ws.registries.importers
    if format is not None:
        importer: Importer = registry.get(format)()
        return importer
    for name in registry.names():
        candidate: Importer = registry.get(name)()
        if any(path.name.lower().endswith(s) for s in candidate.suffixes):
            return candidate
    raise ConfigError(
        f"no importer reads {path.name!r}: name a format ({', '.join(registry.names())})"
    )


def parse_rows(
    ctx: CampaignContext,
    rows: Iterable[tuple[int, dict[str, Any] | ValidationError]],
    *,
    grouped: bool,
) -> tuple[list[VisitRecord], list[RecordError]]:
    """Records from importer rows; ``grouped`` rows (CSV) are one per screened person.

    A row that is a :class:`ValidationError` (a line that could not be read)
    is reported as it is.
    """
    records: list[VisitRecord] = []
    errors: list[RecordError] = []
    items: Iterable[tuple[int, dict[str, Any] | ValidationError]] = rows
    if grouped:  # table rows, one per screened person; a line that could not be read: its error
        table: list[tuple[int, dict[str, Any]]] = []
        for line, row in rows:
            if isinstance(row, ValidationError):
                errors.append(RecordError(line, row.violations))
            else:
                table.append((line, canonical_row(row, VISIT_HEADERS, VISIT_VALUES)))
        unknown = sorted({k for _, row in table for k in row} - {*CSV_COLUMNS, *NAME_COLUMNS})
        if unknown:
            known = ", ".join((*CSV_COLUMNS, *NAME_COLUMNS))
            raise ValidationError.single(  # a header's problem: line 1, nothing stored
                "line 1", ", ".join(unknown), f"unknown column (columns: {known})"
            )
        named, unnamed = _by_name(ctx, table)
        errors += unnamed
        items = _csv_groups(named)
    for line, data in items:
        if isinstance(data, ValidationError):
            errors.append(RecordError(line, data.violations))
            continue
        try:
            records.append(_visit_record(ctx, data, line))
        except ValidationError as exc:
            errors.append(RecordError(line, exc.violations))
    return records, errors


def _read_rows(importer: Importer, path: Path) -> list[tuple[int, Any]]:
    """The rows of ``path``; from the builtin JSON-lines and CSV importers, bad lines as errors."""

    if type(importer) is JsonLinesImporter:
        return list(json_lines(path))
    if type(importer) is CsvImporter:
        return list(importer.rows(path))
    return list(importer.read(path))


def record_file(sweep: Sweep, path: str | Path, *, format: str | None = None) -> RecordReport:
    """Record a file of visits (JSON lines, CSV, or any importer's format).

    Each JSON line is a visit with a ``screenings`` list; a CSV file has one
    row per screened person (:data:`CSV_COLUMNS`), the visit's columns
    repeated. A naive time is read in the campaign's time zone. A record
    that breaks a rule, or a JSON line that is not a JSON object at all (a
    line torn by a crash, a typo), is reported with its line number and the
    rest is stored.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such file: {str(path)!r}")
    importer = _importer(sweep.ws, path, format)
    grouped = ".csv" in importer.suffixes
    try:
        rows = _read_rows(importer, path)
    except ValidationError:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError.single(path.name, "", f"cannot be read: {exc}") from None
    records, errors = parse_rows(sweep.context, rows, grouped=grouped)
    report = record(sweep, records)
    if not errors:
        return report
    return attrs.evolve(
        report,
        records=report.records + len(errors),
        errors=sorted([*report.errors, *errors], key=lambda e: e.line),
    )
