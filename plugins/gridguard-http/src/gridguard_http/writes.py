"""Writing facts with the client's ids, through the recording workflows.

A POST carries one fact or an array of them, each with its client-chosen
``id``; the same fact again stores nothing (``200``), the same id with other
content is ``409`` with the stored version. Out-of-scope references are
answered as unknown ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from gridguard import Workspace
from gridguard.errors import AccessDenied, ConflictError, NotFoundError, ValidationError, Violation
from gridguard.model import (
    Building,
    CheckIn,
    HealthReport,
    Household,
    Person,
    Screening,
    ServiceRequest,
    Visit,
)
from gridguard.serialization import from_dict

from .problems import Problem
from .reads import exists, plain
from .routing import MAX_BATCH, Call, Reply, T

__all__ = [
    "in_one_transaction",
    "post_checkins",
    "post_health_reports",
    "post_service_requests",
    "post_visits",
]


def _batch(body: Any) -> tuple[list[Any], bool]:
    """The items of a POST body (one object, or an array of them) and whether it was an array."""
    if isinstance(body, list):
        if len(body) > MAX_BATCH:
            raise ValidationError.single(
                "$", f"{len(body)} items", f"at most {MAX_BATCH} in one request"
            )
        return body, True
    if isinstance(body, dict):
        return [body], False
    raise ValidationError.single(
        "$", type(body).__name__, "must be an object or an array of objects"
    )


def _parse(
    cls: type[Any],
    items: Sequence[Any],
    many: bool,
    prepare: Callable[[dict[str, Any], str], Any] | None = None,
) -> list[Any]:
    """Each item as a ``cls`` with its client-chosen ``id``: every problem, or the records."""
    out: list[Any] = []
    problems: list[Violation] = []
    for n, item in enumerate(items):
        where = f"$[{n}]" if many else "$"
        if not isinstance(item, dict):
            problems.append(Violation(where, type(item).__name__, "must be an object"))
            continue
        if "id" not in item:
            problems.append(
                Violation(
                    f"{where}.id", "", "required: a client-chosen UUID, so that a retry stores once"
                )
            )
            continue
        try:
            out.append(prepare(item, where) if prepare else from_dict(cls, item, where))
        except ValidationError as exc:
            problems.extend(exc.violations)
    if problems:
        raise ValidationError(problems)
    return out


def _stored(ws: Workspace, cls: type[Any], ids: Iterable[str]) -> list[dict[str, Any]]:
    """The stored versions of facts ``ids`` that the caller may read."""
    out = []
    for id in ids:
        try:
            out.append(plain(ws.get(cls, id), masked=True))
        except (NotFoundError, AccessDenied):
            continue
    return out


def _outcome(
    ws: Workspace,
    cls: type[Any],
    report: dict[str, Any],
    errors: Sequence[Any],
    written: int,
    ids: Sequence[str],
    many: bool,
) -> Reply:
    """The reply to a POST of facts from its workflow's report.

    Good records are stored even when others in the batch are not (as a
    visit file is recorded); the reply says which failed and why, and a
    retry of the whole batch stores nothing twice.
    """
    if not errors:
        return Reply(201 if written else 200, report)
    conflicts = [
        e for e in errors if any(v.path == "$.id" and v.value == ids[e.line] for v in e.violations)
    ]
    flat = [
        {
            "path": v.prefixed(f"$[{e.line}]").path if many else v.path,
            "value": v.value,
            "rule": v.rule,
        }
        for e in errors
        for v in e.violations
    ]
    extra: dict[str, Any] = {"errors": flat, "report": report}
    if conflicts and len(conflicts) == len(errors):
        stored = _stored(ws, cls, [ids[e.line] for e in conflicts])
        extra["stored"] = stored if many else (stored[0] if stored else None)
        return _raise(
            Problem(
                "conflict",
                "the same id is stored with other content",
                "此编号已存储了不同的内容",
                extra,
            )
        )
    return _raise(
        Problem(
            "validation",
            f"{len(errors)} record(s) not stored",
            f"{len(errors)} 条记录未存储",
            extra,
        )
    )


def _raise(problem: Problem) -> Reply:
    raise problem


def _hidden(ws: Workspace, cls: type[Any], ids: set[str]) -> set[str]:
    """Those of ``ids`` the caller cannot see: answered as unknown, like ids that do not exist."""
    return ids - ws.in_scope(cls, ids)


class _Redo(Exception):
    """Roll the request's transaction back and record again on the workflow's own terms."""


def in_one_transaction(ws: Workspace, record: Callable[[], T], failed: Callable[[T], bool]) -> T:
    """``record()`` inside one write transaction; on any reported failure, rolled back and redone.

    A recording workflow opens several short transactions of its own (its
    audit entry, its look-ups, its writes); joined into one they cost one
    commit. When a record fails the workflow stores the good ones and
    reports the bad ones, and the partly written batch must not be committed
    as it stands: the joint transaction is rolled back and the workflow run
    again on its own, which gives exactly the answer it gives in Python.
    """
    try:
        with ws.atomic():
            result = record()
            if failed(result):
                raise _Redo
        return result
    except _Redo:
        return record()


def post_visits(ws: Workspace, call: Call) -> Reply:
    from gridguard.sweep import Sweep, VisitRecord
    from gridguard.sweep.recording import screening_id

    items, many = _batch(call.body)

    def prepare(item: dict[str, Any], where: str) -> VisitRecord:
        data = dict(item)
        screenings = data.pop("screenings", [])
        visit = from_dict(Visit, data, where)
        if not isinstance(screenings, list):
            raise ValidationError.single(
                f"{where}.screenings", type(screenings).__name__, "must be an array"
            )
        parsed = []
        for k, s in enumerate(screenings):
            if isinstance(s, dict) and "id" not in s and isinstance(s.get("person_id"), str):
                s = {**s, "id": str(screening_id(visit.id, s["person_id"]))}
            parsed.append(from_dict(Screening, s, f"{where}.screenings[{k}]"))
        return VisitRecord(visit, parsed)

    records: list[VisitRecord] = _parse(Visit, items, many, prepare)
    hidden = _hidden(ws, Household, {r.visit.household_id for r in records})
    keep = [
        VisitRecord(r.visit, r.screenings, line=n)
        for n, r in enumerate(records)
        if r.visit.household_id not in hidden
    ]
    from gridguard.sweep import RecordError

    result = in_one_transaction(
        ws,
        lambda: Sweep(ws, call.query.get("campaign")).record(keep),
        lambda report: bool(report.errors),
    )
    errors = list(result.errors) + [
        RecordError(
            n, [Violation("$.household_id", repr(r.visit.household_id), "unknown household")]
        )
        for n, r in enumerate(records)
        if r.visit.household_id in hidden
    ]
    errors.sort(key=lambda e: e.line)
    report = result.to_dict()
    report["records"] = len(records)
    report["rejected"] = len(records) - result.accepted
    report["errors"] = [e.to_dict() for e in errors]
    return _outcome(
        ws,
        Visit,
        report,
        errors,
        result.visits_written + result.screenings_written,
        [str(r.visit.id) for r in records],
        many,
    )


def post_checkins(ws: Workspace, call: Call) -> Reply:
    from gridguard.watch import record_checkins
    from gridguard.watch.checkins import CheckInError

    items, many = _batch(call.body)
    checkins: list[CheckIn] = _parse(CheckIn, items, many)
    hidden = _hidden(ws, Building, {c.building_id for c in checkins})
    keep = [(n, c) for n, c in enumerate(checkins) if c.building_id not in hidden]
    result = in_one_transaction(
        ws, lambda: record_checkins(ws, keep), lambda report: bool(report.errors)
    )
    errors = list(result.errors) + [
        CheckInError(n, [Violation("$.building_id", repr(c.building_id), "unknown building")])
        for n, c in enumerate(checkins)
        if c.building_id in hidden
    ]
    errors.sort(key=lambda e: e.line)
    report = result.to_dict()
    report["records"] = len(checkins)
    report["rejected"] = len(checkins) - result.accepted
    report["errors"] = [e.to_dict() for e in errors]
    return _outcome(
        ws, CheckIn, report, errors, result.written, [str(c.id) for c in checkins], many
    )


def _all_or_nothing(
    ws: Workspace,
    cls: type[Any],
    facts: Sequence[Any],
    many: bool,
    store: Callable[[], dict[str, Any]],
) -> Reply:
    """A workflow that stores a whole batch or none: a conflict names the stored versions."""
    try:
        report = store()
    except ConflictError:
        clashing = []
        for fact in facts:
            try:
                if ws.get(cls, str(fact.id)) != fact:
                    clashing.append(str(fact.id))
            except (NotFoundError, AccessDenied):
                continue
        stored = _stored(ws, cls, clashing)
        raise Problem(
            "conflict",
            "the same id is stored with other content",
            "此编号已存储了不同的内容",
            {"stored": stored if many else (stored[0] if stored else None)},
        ) from None
    except ValidationError as exc:
        raise ValidationError([v if many else _single(v) for v in exc.violations]) from None
    return Reply(201 if report["written"] else 200, report)


def _single(v: Violation) -> Violation:
    if v.path.startswith("$[0]"):
        return Violation("$" + v.path[4:], v.value, v.rule)
    return v


def post_health_reports(ws: Workspace, call: Call) -> Reply:
    from gridguard.quarantine import record_reports

    items, many = _batch(call.body)
    reports: list[HealthReport] = _parse(HealthReport, items, many)
    hidden = _hidden(ws, Person, {r.person_id for r in reports})
    if hidden:
        raise ValidationError(
            [
                Violation(
                    f"$[{n}].person_id" if many else "$.person_id",
                    repr(r.person_id),
                    "no such person",
                )
                for n, r in enumerate(reports)
                if r.person_id in hidden
            ]
        )

    def store() -> dict[str, Any]:
        result = record_reports(ws, reports, campaign_id=call.query.get("campaign"))
        return attrs.asdict(result)

    return _all_or_nothing(ws, HealthReport, reports, many, store)


def post_service_requests(ws: Workspace, call: Call) -> Reply:
    from gridguard.services import request_service

    items, many = _batch(call.body)
    requests: list[ServiceRequest] = _parse(ServiceRequest, items, many)
    hidden = _hidden(ws, Household, {r.household_id for r in requests})
    if hidden:
        raise ValidationError(
            [
                Violation(
                    f"$[{n}].household_id" if many else "$.household_id",
                    repr(r.household_id),
                    "unknown household",
                )
                for n, r in enumerate(requests)
                if r.household_id in hidden
            ]
        )

    def store() -> dict[str, Any]:
        before = {str(r.id) for r in requests if exists(ws, ServiceRequest, str(r.id))}
        with ws.atomic():
            for r in requests:
                request_service(
                    ws,
                    household_id=r.household_id,
                    service=r.service,
                    note=r.note,
                    at=r.at,
                    recorded_by=r.recorded_by,
                    id=r.id,
                    campaign_id=call.query.get("campaign"),
                )
        written = len({str(r.id) for r in requests} - before)
        return {"written": written, "unchanged": len(requests) - written}

    return _all_or_nothing(ws, ServiceRequest, requests, many, store)
