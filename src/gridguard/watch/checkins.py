"""Recording observers' daily check-ins (报平安), from the API or a file.

Each check-in is checked against the store: the building must exist and
the person reporting must be its observer; a move-in or someone ill names
the household concerned, which must be in that building. A bad record is
reported with its line (or position) and nothing of it is stored; the good
records of the same batch go in together, with the work their anomalies
make (:mod:`gridguard.watch.anomalies`) in the same transaction.

Recording is idempotent: a check-in without an ``id`` gets one derived from
building, observer and time, so recording the same file twice stores
nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..builtins.formats import json_lines
from ..errors import ConfigError, ValidationError, Violation
from ..importers.columns import CHECKIN_HEADERS, CHECKIN_VALUES, canonical_row
from ..model import Building, CheckIn, Household, Person, Stairwell
from ..model.assessments import Task
from ..notifications.config import settings_for
from ..notifications.routing import Router
from ..notifications.settings import NotifySettings
from ..serialization import from_dict
from ..storage.base import unstored
from ..sweep.recording import BatchReport, RecordError, _importer, _read_rows, store_batch
from .anomalies import NEEDS_HOUSEHOLD, follow_up
from .missed import WatchSettings, watch_zone

if TYPE_CHECKING:
    from ..notifications.settings import NotifySettings
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "CSV_COLUMNS",
    "CheckInError",
    "CheckInReport",
    "checkin_id",
    "parse_rows",
    "record_checkins",
    "record_file",
]

NAMESPACE = uuid.UUID("0c6b7d1e-2f4a-5e3b-8d9c-1a2b3c4d5e6f")
"""Namespace of the ids derived for check-ins recorded without one."""

CHECKIN_COLUMNS = ("id", "at", "building_id", "observer_id", "status", "recorded_by")
ANOMALY_COLUMNS = ("anomaly_kind", "anomaly_count", "anomaly_note", "anomaly_household_id")
CSV_COLUMNS = CHECKIN_COLUMNS + ANOMALY_COLUMNS
"""Columns of a CSV file of check-ins: one row per anomaly (or one row for "all normal").

Chinese headers and values are read too (``gridguard.importers.columns.CHECKIN_HEADERS``):
``楼栋``, ``观察员``, ``状态`` 正常/异常, ``异常`` 陌生人/迁入/迁出/有症状... A row may name
its building by name (``楼栋``), its observer by name (``观察员``) and the household of an
anomaly by address (``地址``) instead of ids.
"""
NAME_COLUMNS = ("building_name", "observer_name", "anomaly_address")
"""Columns that name a building, an observer or a household instead of an id."""


def checkin_id(building_id: str, observer_id: str, at: dt.datetime) -> uuid.UUID:
    """The id of a check-in recorded without one: the same report, the same id."""
    return uuid.uuid5(NAMESPACE, f"{building_id}\x1f{observer_id}\x1f{at.isoformat()}")


CheckInError = RecordError
"""Why a check-in was not stored: its line (or position) and each rule it broke.

The sweep's :class:`~gridguard.sweep.recording.RecordError`: a file of check-ins is
read and reported the way a file of visits is.
"""


def _errors(value: Iterable[CheckInError]) -> tuple[CheckInError, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class CheckInReport(BatchReport):
    """What a batch of check-ins did, and the work its anomalies made."""

    written: int = 0
    unchanged: int = 0
    tasks: int = 0
    """Visit and phone-call tasks newly made from anomalies."""
    messages: int = 0
    """Messages newly enqueued (strangers and other anomalies, for the grid worker)."""
    errors: tuple[CheckInError, ...] = attrs.field(default=(), converter=_errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._counts(),
            "checkins": {"written": self.written, "unchanged": self.unchanged},
            "tasks": self.tasks,
            "messages": self.messages,
            "errors": [e.to_dict() for e in self.errors],
        }


# -- checking against the store --------------------------------------------------------------


class _Known:
    """Buildings and households a batch names, looked up once each."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._buildings: dict[str, Building | None] = {}
        self._households: dict[str, str | None] = {}

    def building(self, building_id: str) -> Building | None:
        if building_id not in self._buildings:
            self._buildings[building_id] = self.uow.get(Building, building_id)
        return self._buildings[building_id]

    def building_of(self, household_id: str) -> str | None:
        """The building a household lives in, or ``None`` for an unknown household."""
        if household_id not in self._households:
            found = None
            household = self.uow.get(Household, household_id)
            if household is not None:
                stairwell = self.uow.get(Stairwell, household.stairwell_id)
                found = None if stairwell is None else stairwell.building_id
            self._households[household_id] = found
        return self._households[household_id]


def _check(checkin: CheckIn, known: _Known) -> list[Violation]:
    building = known.building(checkin.building_id)
    if building is None:
        return [Violation("$.building_id", repr(checkin.building_id), "unknown building")]
    problems: list[Violation] = []
    if building.observer_id is None:
        problems.append(
            Violation(
                "$.observer_id",
                repr(checkin.observer_id),
                f"building {building.id} has no observer: assign one first",
            )
        )
    elif checkin.observer_id != building.observer_id:
        problems.append(
            Violation(
                "$.observer_id",
                repr(checkin.observer_id),
                f"not the observer of building {building.id}",
            )
        )
    for n, anomaly in enumerate(checkin.anomalies):
        path = f"$.anomalies[{n}].household_id"
        if anomaly.household_id is None:
            if anomaly.kind in NEEDS_HOUSEHOLD:
                problems.append(
                    Violation(path, "None", f"required for {anomaly.kind.value}: the household")
                )
            continue
        where = known.building_of(anomaly.household_id)
        if where is None:
            problems.append(Violation(path, repr(anomaly.household_id), "unknown household"))
        elif where != building.id:
            problems.append(
                Violation(
                    path,
                    repr(anomaly.household_id),
                    f"not a household of building {building.id}",
                )
            )
    return problems


def record_checkins(
    ws: Workspace,
    checkins: Iterable[CheckIn] | Iterable[tuple[int, CheckIn]],
    *,
    notify: NotifySettings | None = None,
    settings: WatchSettings | None = None,
) -> CheckInReport:
    """Check and store ``checkins`` with the work their anomalies make.

    Needs the ``watch.checkin`` operation (check-in writers: a building
    observer, a grid worker, the community); a check-in for a building
    outside the principal's scope (another building than a building
    observer's own) is refused like any bad record, with its line.

    Items are check-ins, or ``(line, check-in)`` pairs from a file. Good
    records are stored together; a bad one is reported with its line and
    nothing of it is stored. A move-in becomes a visit task for the
    household (the next sweep plan picks it up), someone ill a doctor's
    phone call, a stranger a message to the grid worker. Re-recording the
    same check-ins stores and enqueues nothing new.
    """

    settings = settings or WatchSettings()
    router = Router(
        settings_for(ws, notify, campaign_id=settings.campaign),
        zone=watch_zone(ws, settings.campaign),
    )
    batch: list[tuple[int, CheckIn]] = [
        item if isinstance(item, tuple) else (n, item) for n, item in enumerate(checkins)
    ]
    errors: list[CheckInError] = []
    good: list[tuple[int, CheckIn]] = []
    ws.authorize("watch.checkin")
    inside = ws.in_scope(Building, {c.building_id for _, c in batch})
    with ws._transaction(write=False) as uow:
        known = _Known(uow)
        for line, checkin in batch:
            if checkin.building_id not in inside:
                where = f"outside {ws.principal.scope}: only its own building's observer reports"
                problems = [Violation("$.building_id", repr(checkin.building_id), where)]
            else:
                problems = _check(checkin, known)
            if problems:
                errors.append(CheckInError(line, problems))
            else:
                good.append((line, checkin))
    totals = {"written": 0, "unchanged": 0, "tasks": 0, "messages": 0}

    def store(items: list[CheckIn]) -> None:
        with ws._transaction() as uow:
            result = ws.record(items)
            names = {}
            for observer_id in {c.observer_id for c in items if c.anomalies}:
                person = uow.get(Person, observer_id)
                if person is not None:
                    names[observer_id] = person.name
            tasks, events = follow_up(items, names)
            new_tasks = unstored(uow, Task, tasks)
            if new_tasks:
                uow.put(Task, new_tasks)
            messages = router.notify(uow, events) if events else 0
        totals["written"] += result.written
        totals["unchanged"] += result.unchanged
        totals["tasks"] += len(new_tasks)
        totals["messages"] += messages

    accepted, refused = store_batch([(line, [c]) for line, c in good], store)
    errors = sorted([*errors, *refused], key=lambda e: e.line)
    return CheckInReport(records=len(batch), accepted=accepted, errors=errors, **totals)


# -- reading files ---------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _local_time(zone: dt.tzinfo, value: Any) -> Any:
    """A naive time in a file is the campaign's local time; anything else is left to the model."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    return value


def _checkin(zone: dt.tzinfo, data: Mapping[str, Any]) -> CheckIn:
    """A check-in from one JSON object; ``status`` follows from the anomalies when not given."""
    if not isinstance(data, Mapping):
        raise ValidationError.single("$", type(data).__name__, "must be an object")
    data = dict(data)
    if _blank(data.get("at")):
        raise ValidationError.single("$.at", "", "required: when the observer reported")
    data["at"] = _local_time(zone, data["at"])
    anomalies = data.get("anomalies") or []
    if _blank(data.get("status")):
        data["status"] = "anomalies" if anomalies else "all_normal"
    given_id = not _blank(data.get("id"))
    if not given_id:
        data.pop("id", None)
    checkin = from_dict(CheckIn, data)
    if not given_id:
        at = checkin.at
        checkin = attrs.evolve(checkin, id=checkin_id(checkin.building_id, checkin.observer_id, at))
    return checkin


def _csv_groups(
    rows: Iterable[tuple[int, dict[str, Any] | ValidationError]],
) -> Iterator[tuple[int, dict[str, Any] | ValidationError]]:
    """CSV rows grouped into check-ins: rows of one check-in share its id, or building and time.

    A row that could not be read (a :class:`ValidationError`) is passed on as it is.
    """
    groups: dict[tuple[str, ...], tuple[int, dict[str, Any]]] = {}
    for line, row in rows:
        if isinstance(row, ValidationError):
            yield line, row
            continue
        unknown = sorted(k for k in row if k not in CSV_COLUMNS)
        if unknown:
            raise ValidationError.single(  # a header's problem: line 1, nothing stored
                "line 1", ", ".join(unknown), f"unknown column (columns: {', '.join(CSV_COLUMNS)})"
            )
        head = {k: row[k] for k in CHECKIN_COLUMNS if not _blank(row.get(k))}
        key = (
            ("id", str(head["id"]))
            if "id" in head
            else tuple(str(head.get(k, "")) for k in ("building_id", "observer_id", "at"))
        )
        if key not in groups:
            groups[key] = (line, {**head, "anomalies": []})
        if not _blank(row.get("anomaly_kind")):
            anomaly: dict[str, Any] = {"kind": row["anomaly_kind"]}
            for column in ANOMALY_COLUMNS[1:]:
                if not _blank(row.get(column)):
                    anomaly[column.removeprefix("anomaly_")] = row[column]
            groups[key][1]["anomalies"].append(anomaly)
    yield from groups.values()


def parse_rows(
    zone: dt.tzinfo, rows: Iterable[tuple[int, Any]], *, grouped: bool
) -> tuple[list[tuple[int, CheckIn]], list[CheckInError]]:
    """Check-ins from file rows; ``grouped`` rows (CSV) are one per anomaly."""
    records: list[tuple[int, CheckIn]] = []
    errors: list[CheckInError] = []
    items: Iterable[tuple[int, Any]] = _csv_groups(rows) if grouped else rows
    for line, data in items:
        if isinstance(data, ValidationError):
            errors.append(CheckInError(line, data.violations))
            continue
        try:
            records.append((line, _checkin(zone, data)))
        except ValidationError as exc:
            errors.append(CheckInError(line, exc.violations))
    return records, errors


def _unique(
    found: list[str], what: str, value: str, path: str
) -> tuple[str | None, Violation | None]:
    if len(found) == 1:
        return found[0], None
    why = f"no {what} of this name" if not found else f"several {what}s have this name: give its id"
    return None, Violation(path, value, why)


def _by_name(
    ws: Workspace, rows: list[tuple[int, dict[str, Any]]]
) -> tuple[list[tuple[int, Any]], list[CheckInError]]:
    """Rows whose building, observer or anomaly household is named, given their ids.

    A building is found by its name (``牡丹阁3幢``, or the compound and name
    ``百苑新村牡丹阁3幢``), an observer by name among the persons who observe
    a building, a household by its stored address; each distinct name is
    looked up once. A name that matches nothing, or more than one, refuses
    its row.
    """
    from ..masking import mask_name

    if not any(any(not _blank(row.get(c)) for c in NAME_COLUMNS) for _, row in rows):
        return [(n, {k: v for k, v in r.items() if k not in NAME_COLUMNS}) for n, r in rows], []
    buildings = ws.find(Building)
    by_name: dict[str, list[str]] = {}
    for b in buildings:
        by_name.setdefault(b.name, []).append(b.id)
        if b.compound:
            by_name.setdefault(b.compound + b.name, []).append(b.id)
    observers = {b.observer_id for b in buildings if b.observer_id}
    people: dict[str, list[str]] = {}
    for pid in sorted(observers):
        person = ws.get(Person, pid)
        people.setdefault(person.name, []).append(pid)
    homes: dict[str, list[str]] = {}
    good: list[tuple[int, Any]] = []
    errors: list[CheckInError] = []
    for line, row in rows:
        row = dict(row)
        building = row.pop("building_name", None)
        observer = row.pop("observer_name", None)
        address = row.pop("anomaly_address", None)
        problems: list[Violation] = []
        if _blank(row.get("building_id")) and not _blank(building):
            text = str(building).strip()
            found, problem = _unique(by_name.get(text, []), "building", text, "$.building")
            row["building_id"] = found
            problems += [problem] if problem else []
        if _blank(row.get("observer_id")) and not _blank(observer):
            text = str(observer).strip()
            found, problem = _unique(
                people.get(text, []), "observer", mask_name(text), "$.observer"
            )
            row["observer_id"] = found
            problems += [problem] if problem else []
        if _blank(row.get("anomaly_household_id")) and not _blank(address):
            text = str(address).strip()
            if text not in homes:
                homes[text] = [h.id for h in ws.find(Household, address=text)]
            found, problem = _unique(homes[text], "household", text, "$.address")
            row["anomaly_household_id"] = found
            problems += [problem] if problem else []
        if problems:
            errors.append(CheckInError(line, problems))
        else:
            good.append((line, row))
    return good, errors


def record_file(
    ws: Workspace,
    path: str | Path,
    *,
    format: str | None = None,
    notify: NotifySettings | None = None,
    settings: WatchSettings | None = None,
) -> CheckInReport:
    """Record a file of check-ins: JSON lines, CSV (:data:`CSV_COLUMNS`) or any importer's format.

    A naive time is read in the campaign's time zone. A bad line (not JSON,
    a rule broken, not the building's observer, a time in the future) is
    reported with its line number and nothing of it is stored; the good
    lines are stored.
    """

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such file: {str(path)!r}")
    zone = watch_zone(ws, (settings or WatchSettings()).campaign)
    if format in (None, "jsonl") and path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows: list[tuple[int, Any]] = list(json_lines(path))
        grouped = False
    else:
        importer = _importer(ws, path, format)
        grouped = ".csv" in importer.suffixes
        try:
            rows = _read_rows(importer, path)
        except ValidationError:
            raise
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationError.single(path.name, "", f"cannot be read: {exc}") from None
    unnamed: list[CheckInError] = []
    if grouped:
        unread = [(n, r) for n, r in rows if isinstance(r, ValidationError)]  # lines not read
        table = [
            (n, canonical_row(r, CHECKIN_HEADERS, CHECKIN_VALUES))
            for n, r in rows
            if not isinstance(r, ValidationError)
        ]
        unknown = sorted({k for _, row in table for k in row} - {*CSV_COLUMNS, *NAME_COLUMNS})
        if unknown:
            known = ", ".join((*CSV_COLUMNS, *NAME_COLUMNS))
            raise ValidationError.single(  # a header's problem: line 1, nothing stored
                "line 1", ", ".join(unknown), f"unknown column (columns: {known})"
            )
        named, unnamed = _by_name(ws, table)
        rows = [*unread, *named]
    records, errors = parse_rows(zone, rows, grouped=grouped)
    errors = [*unnamed, *errors]
    report = record_checkins(ws, records, notify=notify, settings=settings)
    if not errors:
        return report
    return attrs.evolve(
        report,
        records=report.records + len(errors),
        errors=sorted([*report.errors, *errors], key=lambda e: e.line),
    )
