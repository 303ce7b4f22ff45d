"""The resources: one :class:`Operation` per route, each a function of a workspace and a call.

Reads go through :meth:`Workspace.find <gridguard.Workspace.find>` and
:meth:`~gridguard.Workspace.get`, writes through the same workflows the
Python API offers (:class:`gridguard.sweep.Sweep`,
:func:`gridguard.watch.record_checkins`,
:func:`gridguard.quarantine.record_reports`, ...), so the principal's role
and scope are checked, and the call audited, exactly as in Python.

Facts are written with client-chosen ids: the same fact again is
``200`` (nothing new), a fact whose id is stored with other content ``409``
with the stored version. Registry entries carry an ``ETag`` (their version)
and are changed with ``PUT`` and ``If-Match``.

An id that does not exist and an id outside the caller's scope get the
same ``404``; a category the role may not read at all is ``403``.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from starlette.responses import JSONResponse, Response

from gridguard import Principal, Workspace
from gridguard.errors import AccessDenied, ConflictError, NotFoundError, ValidationError, Violation
from gridguard.masking import mask_id_number, mask_name, mask_phone, mask_text
from gridguard.model import (
    Area,
    Assessment,
    Building,
    Campaign,
    CheckIn,
    HealthReport,
    Household,
    Person,
    QuarantineOrder,
    Screening,
    ServiceRequest,
    Stairwell,
    Task,
    Team,
    Visit,
)
from gridguard.model.targeting import Target
from gridguard.reporting.scope import UNMASK as REPORT_UNMASK
from gridguard.security.access import Verb
from gridguard.serialization import from_dict, to_dict

from .problems import Problem
from .service import HTTP_READ

__all__ = ["OPERATIONS", "Call", "Collection", "Operation", "Reply"]

T = TypeVar("T")

MAX_BATCH = 1000
"""Most facts in one POST."""
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
UNMASK = REPORT_UNMASK
"""Reading names, phones and identity numbers in clear: the same operation as a report's
(``report.unmask``: whoever may read persons, inside her scope; audited)."""


@attrs.frozen(kw_only=True)
class Call:
    """One request as a handler sees it."""

    principal: Principal
    query: Mapping[str, str]
    path: Mapping[str, str]
    body: Any
    headers: Mapping[str, str]
    lang: str
    base: str = ""

    def flag(self, name: str) -> bool:
        value = self.query.get(name, "false").lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise ValidationError.single(f"$.query.{name}", repr(value), "must be true or false")
        return value in ("true", "1", "yes")


@attrs.frozen
class Reply:
    """What a handler answers: a status, a JSON body and headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = attrs.field(factory=dict)
    media_type: str = "application/json"
    raw: bytes | None = None

    def response(self, lang: str) -> Response:
        headers = {"Content-Language": lang, **self.headers}
        if self.raw is not None:
            return Response(self.raw, self.status, headers=headers, media_type=self.media_type)
        return JSONResponse(self.body, self.status, headers=headers, media_type=self.media_type)


@attrs.frozen(kw_only=True)
class Param:
    """A query parameter (for the OpenAPI document)."""

    name: str
    description: str
    schema: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "string"})


@attrs.frozen(kw_only=True)
class Operation:
    """One route: method, path, handler and what the OpenAPI document says of it."""

    method: str
    path: str
    name: str
    handler: Callable[[Workspace, Call], Reply]
    summary: str
    tag: str
    model: type[Any] | None = None
    """The attrs class of the resource (its schema)."""
    shape: str = "item"
    """``item``, ``page`` (a page of ``model``), ``write`` (POST of facts), ``report``, ``any``."""
    params: tuple[Param, ...] = ()
    write: bool = False
    statuses: tuple[int, ...] = ()

    @property
    def starlette_path(self) -> str:
        return self.path

    def run(self, ws: Workspace, call: Call) -> Reply:
        """Audit a read as ``http.read`` (writes are audited by the workflow), then handle it."""
        if not self.write:
            ws.authorize(HTTP_READ)
        return self.handler(ws, call)


# -- reading and masking -------------------------------------------------------------------


def _masked_household(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("address"):
        data["address"] = mask_text(data["address"], keep=len(data["address"]) // 3)
    if data.get("phone"):
        data["phone"] = mask_phone(data["phone"])
    return data


def _masked_person(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("name"):
        data["name"] = mask_name(data["name"])
    if data.get("resident_id"):
        data["resident_id"] = mask_id_number(data["resident_id"])
    if data.get("phone"):
        data["phone"] = mask_phone(data["phone"])
    if data.get("birth_date"):
        data["birth_date"] = data["birth_date"][:4]
    return data


MASKS: dict[type[Any], Callable[[dict[str, Any]], dict[str, Any]]] = {
    Household: _masked_household,
    Person: _masked_person,
}


def _unmask(ws: Workspace, call: Call, cls: type[Any]) -> bool:
    if cls not in MASKS or not call.flag("unmask"):
        return False
    ws.authorize(UNMASK)
    return True


def plain(record: Any, *, masked: bool) -> dict[str, Any]:
    """A record as JSON data, personal fields masked unless ``masked`` is false."""
    data: dict[str, Any] = to_dict(record)
    mask = MASKS.get(type(record))
    return mask(data) if masked and mask is not None else data


def _encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValidationError.single("$.query.cursor", "(invalid)", "not a cursor") from None


def _limit(call: Call) -> int:
    text = call.query.get("limit", str(DEFAULT_LIMIT))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError.single(
            "$.query.limit", repr(text), f"must be a whole number from 1 to {MAX_LIMIT}"
        )
    return int(text)


def _instant(call: Call, name: str) -> dt.datetime | None:
    text = call.query.get(name)
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time(), dt.UTC)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single(
            f"$.query.{name}", repr(text), "must be an ISO date or an aware date-time"
        ) from None
    if value.tzinfo is None:
        raise ValidationError.single(f"$.query.{name}", repr(text), "needs a time zone")
    return value


def _inside_area(ws: Workspace, area_id: str) -> bool:
    """Whether ``area_id`` is in the principal's own subtree (not merely an area above it)."""
    if ws.principal.building_id is not None:
        return False
    if ws.principal.area_id is None:
        return bool(ws.in_scope(Area, {area_id})) and _exists(ws, Area, area_id)
    current: str | None = area_id
    seen = 0
    while current is not None and seen < 32:
        if current == ws.principal.area_id:
            return True
        try:
            current = ws.get(Area, current).parent_id
        except (NotFoundError, AccessDenied):
            return False
        seen += 1
    return False


def _exists(ws: Workspace, cls: type[Any], id: str) -> bool:
    try:
        ws.version(cls, id) if cls in _REGISTRY else ws.get(cls, id)
    except (NotFoundError, AccessDenied):
        return False
    return True


def narrowed(ws: Workspace, call: Call) -> Workspace:
    """The workspace of the same caller narrowed to ``?area=`` (which must lie in her subtree).

    An area outside the subtree, or unknown, leaves nothing to see: the
    answer is an empty page, the same for both.
    """
    area = call.query.get("area")
    if area is None:
        return ws
    if not _inside_area(ws, area):
        raise _Empty
    who = Principal(name=ws.principal.name, role=ws.principal.role, area_id=area)
    return Workspace(
        ws.storage,
        principal=who,
        plugin_manager=ws.plugin_manager,
        registries=ws.registries,
        purpose=ws.purpose,
    )


class _Empty(Exception):
    """Nothing can match (the area filter lies outside the scope)."""


_REGISTRY = (Area, Building, Stairwell, Household, Person, Team, Campaign)


@attrs.frozen(kw_only=True)
class Collection:
    """A stored class exposed as ``/name`` (a page) and ``/name/{id}`` (one record)."""

    name: str
    cls: type[Any]
    tag: str
    filters: tuple[str, ...] = ()
    """Fields that may be given as query parameters (equality)."""
    editable: bool = False
    summary: str = ""

    @property
    def is_fact(self) -> bool:
        return "at" in attrs.fields_dict(self.cls) and self.cls not in _REGISTRY

    def page(self, ws: Workspace, call: Call) -> Reply:
        unknown = set(call.query) - {
            "area",
            "since",
            "until",
            "cursor",
            "limit",
            "unmask",
            *self.filters,
        }
        if unknown:
            name = sorted(unknown)[0]
            raise ValidationError.single(f"$.query.{name}", "", "unknown query parameter")
        limit = _limit(call)
        after = _decode_cursor(call.query["cursor"]) if "cursor" in call.query else None
        since, until = _instant(call, "since"), _instant(call, "until")
        masked = not _unmask(ws, call, self.cls)
        where = {k: call.query[k] for k in self.filters if k in call.query}
        try:
            source = narrowed(ws, call)
        except _Empty:
            return Reply(200, {"items": [], "next": None})
        rows = source.find(self.cls, **where)
        if since is not None or until is not None:
            rows = [r for r in rows if _when(r) is not None and _between(_when(r), since, until)]
        rows.sort(key=lambda r: str(r.id))
        if after is not None:
            rows = [r for r in rows if str(r.id) > after]
        chunk = rows[:limit]
        more = len(rows) > limit
        cursor = _encode_cursor(str(chunk[-1].id)) if more and chunk else None
        headers = {}
        if cursor is not None:
            headers["Link"] = f'<{call.base}/{self.name}?cursor={cursor}&limit={limit}>; rel="next"'
        body = {"items": [plain(r, masked=masked) for r in chunk], "next": cursor}
        return Reply(200, body, headers)

    def _guarded_get(self, ws: Workspace, id: str) -> Any:
        if not ws.guard.permitted(Verb.READ, self.cls):
            raise AccessDenied(f"{ws.principal} may not read {self.cls.__name__} records")
        try:
            key: Any = id
            if self.is_fact:
                key = str(uuid.UUID(id))
            return ws.get(self.cls, key)
        except (NotFoundError, AccessDenied, ValueError):
            raise _not_found(self.cls, id) from None

    def item(self, ws: Workspace, call: Call) -> Reply:
        id = call.path["id"]
        masked = not _unmask(ws, call, self.cls)
        record = self._guarded_get(ws, id)
        headers = {}
        if self.cls in _REGISTRY:
            headers["ETag"] = f'"{ws.version(self.cls, id)}"'
        return Reply(200, plain(record, masked=masked), headers)

    def replace(self, ws: Workspace, call: Call) -> Reply:
        id = call.path["id"]
        self._guarded_get(ws, id)
        match = call.headers.get("if-match")
        if match is None:
            raise Problem(
                "precondition-required", "send If-Match with the ETag read", "请附 If-Match"
            )
        try:
            expected = int(match.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise ValidationError.single(
                "$.headers.If-Match", repr(match), "not an ETag of this API"
            ) from None
        record = from_dict(self.cls, call.body)
        if str(record.id) != id:
            raise ValidationError.single(
                "$.id", repr(record.id), f"must be the id in the path ({id})"
            )
        try:
            version = ws.update(record, expected_version=expected)
        except ConflictError:
            current = ws.version(self.cls, id)
            raise Problem(
                "stale",
                f"changed since version {expected}: now {current}",
                f"自版本 {expected} 之后已被修改，当前版本 {current}",
                {"etag": f'"{current}"'},
            ) from None
        return Reply(200, plain(record, masked=False), {"ETag": f'"{version}"'})

    def operations(self) -> list[Operation]:
        params = (
            Param(
                name="limit",
                description=f"page size, 1 to {MAX_LIMIT}",
                schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            ),
            Param(name="cursor", description="the `next` of the previous page"),
            Param(name="area", description="only records in this area's subtree"),
            *(Param(name=f, description=f"equal to this {f}") for f in self.filters),
        )
        if self.is_fact:
            params += (
                Param(name="since", description="at or after (ISO date or date-time)"),
                Param(name="until", description="before (ISO date or date-time)"),
            )
        if self.cls in MASKS:
            params += (
                Param(
                    name="unmask",
                    description="names, phones and numbers in clear (audited)",
                    schema={"type": "boolean"},
                ),
            )
        ops = [
            Operation(
                method="GET",
                path=f"/{self.name}",
                name=f"list_{self.name}",
                handler=self.page,
                summary=f"A page of {self.summary or self.name}",
                tag=self.tag,
                model=self.cls,
                shape="page",
                params=params,
                statuses=(200, 401, 403, 422),
            ),
            Operation(
                method="GET",
                path=f"/{self.name}/{{id}}",
                name=f"get_{self.name}",
                handler=self.item,
                summary=f"One of the {self.summary or self.name}",
                tag=self.tag,
                model=self.cls,
                params=tuple(p for p in params if p.name == "unmask"),
                statuses=(200, 401, 403, 404),
            ),
        ]
        if self.editable:
            ops.append(
                Operation(
                    method="PUT",
                    path=f"/{self.name}/{{id}}",
                    name=f"put_{self.name}",
                    handler=self.replace,
                    summary=f"Change one of the {self.summary or self.name} (If-Match)",
                    tag=self.tag,
                    model=self.cls,
                    write=True,
                    statuses=(200, 401, 403, 404, 412, 422, 428),
                )
            )
        return ops


def _when(record: Any) -> dt.datetime | None:
    value = getattr(record, "at", None)
    return value if isinstance(value, dt.datetime) else None


def _between(at: dt.datetime | None, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    if at is None:
        return False
    return (since is None or at >= since) and (until is None or at < until)


def _not_found(cls: type[Any], id: str) -> Problem:
    return Problem("not-found", f"no {cls.__name__} {id!r} here", f"此处没有 {cls.__name__} {id!r}")


# -- writing facts -----------------------------------------------------------------------------


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
        e
        for e in errors
        if any(v.path == "$.id" and v.value == ids[e.line] for v in e.violations)
        and ws.storage is not None
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
        with ws.transaction():
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
        before = {str(r.id) for r in requests if _exists(ws, ServiceRequest, str(r.id))}
        with ws.transaction():
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


# -- derived state and reports ------------------------------------------------------------


def get_coverage(ws: Workspace, call: Call) -> Reply:
    from gridguard.sweep import Sweep

    by = call.query.get("by", "grid")
    rows = Sweep(ws, call.query.get("campaign")).coverage(by=by)
    return Reply(200, {"items": [to_dict(r) for r in rows]})


def get_report(ws: Workspace, call: Call) -> Reply:
    from gridguard.reporting import REPORT_KINDS, build_report

    kind = call.path["kind"]
    if kind not in REPORT_KINDS:
        raise ValidationError.single(
            "$.kind", repr(kind), f"must be one of: {', '.join(REPORT_KINDS)}"
        )
    fmt = call.query.get("format", "json")
    report = build_report(
        ws,
        kind,
        id=call.query.get("id"),
        area=call.query.get("area"),
        day=call.query.get("day"),
        campaign=call.query.get("campaign"),
        unmask=call.flag("unmask"),
    )
    lang = call.query.get("lang", call.lang)
    if fmt == "json":
        return Reply(200, report.to_dict(lang))
    reporters = ws.registries.reporters
    if fmt not in reporters:
        raise Problem(
            "not-acceptable", f"no {fmt!r} reporter installed", f"未安装 {fmt!r} 报表插件"
        )
    reporter = reporters.get(fmt)()
    out = reporter.render(report, lang=lang)
    data = out.encode("utf-8") if isinstance(out, str) else out
    return Reply(200, None, media_type=reporter.media_type, raw=data)


def get_review_queue(ws: Workspace, call: Call) -> Reply:
    """Outside-list rows waiting for review, masked.

    The queue is read over the whole store (list rows are not in any area
    until matched), so it needs the list matcher's right over the whole
    store (``targeting.match`` on ``WHOLE_STORE``), which only an unscoped
    principal has; the check is made here, as the workflow makes none.
    """
    from gridguard.targeting import review_queue
    from gridguard.workspace import WHOLE_STORE

    ws.authorize("targeting.match", WHOLE_STORE)
    rows = review_queue(ws, call.query.get("list_id"))
    return Reply(200, {"items": [to_dict(r) for r in rows]})


def get_fhir(ws: Workspace, call: Call) -> Reply:
    from .fhir import RESOURCE_TYPES, bundle, parse_since

    kind = call.path.get("type")
    if kind is not None and kind not in RESOURCE_TYPES:
        raise ValidationError.single(
            "$.type", repr(kind), f"must be one of: {', '.join(RESOURCE_TYPES)}"
        )
    data = bundle(
        ws,
        area=call.query.get("area"),
        since=parse_since(call.query.get("since")),
        unmask=call.flag("unmask"),
        base=f"{call.base}/fhir",
        types=RESOURCE_TYPES if kind is None else (kind,),
    )
    return Reply(200, data, media_type="application/fhir+json")


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        name="areas",
        cls=Area,
        tag="places",
        filters=("parent_id", "level"),
        editable=True,
        summary="areas of the place tree",
    ),
    Collection(
        name="buildings",
        cls=Building,
        tag="places",
        filters=("area_id",),
        editable=True,
        summary="buildings",
    ),
    Collection(
        name="stairwells",
        cls=Stairwell,
        tag="places",
        filters=("building_id",),
        editable=True,
        summary="stairwells",
    ),
    Collection(
        name="households",
        cls=Household,
        tag="people",
        filters=("stairwell_id",),
        editable=True,
        summary="households (masked)",
    ),
    Collection(
        name="persons",
        cls=Person,
        tag="people",
        filters=("household_id",),
        editable=True,
        summary="persons (masked)",
    ),
    Collection(name="teams", cls=Team, tag="people", filters=("area_id",), summary="teams"),
    Collection(name="campaigns", cls=Campaign, tag="people", summary="campaigns"),
    Collection(
        name="visits",
        cls=Visit,
        tag="facts",
        filters=("household_id", "team_id", "campaign_id"),
        summary="visits",
    ),
    Collection(
        name="checkins", cls=CheckIn, tag="facts", filters=("building_id",), summary="check-ins"
    ),
    Collection(
        name="health-reports",
        cls=HealthReport,
        tag="facts",
        filters=("person_id",),
        summary="health reports",
    ),
    Collection(
        name="service-requests",
        cls=ServiceRequest,
        tag="facts",
        filters=("household_id",),
        summary="service requests",
    ),
    Collection(
        name="screenings",
        cls=Screening,
        tag="facts",
        filters=("person_id",),
        summary="screening answers",
    ),
    Collection(
        name="assessments",
        cls=Assessment,
        tag="derived",
        filters=("person_id", "household_id", "campaign_id"),
        summary="screening results with the rules that fired",
    ),
    Collection(
        name="quarantine-orders",
        cls=QuarantineOrder,
        tag="derived",
        filters=("household_id", "person_id"),
        summary="quarantine orders",
    ),
    Collection(
        name="targets",
        cls=Target,
        tag="derived",
        filters=("grid_id", "household_id"),
        summary="priority screening targets",
    ),
    Collection(
        name="tasks",
        cls=Task,
        tag="derived",
        filters=("household_id", "kind", "status"),
        summary="follow-up tasks",
    ),
)


def _fact_post(
    name: str,
    cls: type[Any],
    handler: Callable[[Workspace, Call], Reply],
    summary: str,
    tag: str = "facts",
) -> Operation:
    return Operation(
        method="POST",
        path=f"/{name}",
        name=f"post_{name}",
        handler=handler,
        summary=summary,
        tag=tag,
        model=cls,
        shape="write",
        write=True,
        params=(
            Param(name="campaign", description="the campaign (default: the store's only one)"),
        ),
        statuses=(200, 201, 400, 401, 403, 409, 413, 415, 422),
    )


_FHIR_PARAMS = (
    Param(name="area", description="only this area's subtree"),
    Param(name="since", description="facts at or after (ISO date or date-time)"),
    Param(
        name="unmask",
        description="names and numbers in clear (audited)",
        schema={"type": "boolean"},
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    _fact_post(
        "visits", Visit, post_visits, "Record visits with their screenings (one, or an array)"
    ),
    _fact_post("checkins", CheckIn, post_checkins, "Record observers' check-ins"),
    _fact_post(
        "health-reports",
        HealthReport,
        post_health_reports,
        "Record health reports of persons in quarantine",
    ),
    _fact_post(
        "service-requests", ServiceRequest, post_service_requests, "Record service requests"
    ),
    *(op for c in COLLECTIONS for op in c.operations()),
    Operation(
        method="GET",
        path="/coverage",
        name="coverage",
        handler=get_coverage,
        summary="Sweep coverage by campaign, area, grid, building or stairwell",
        tag="derived",
        shape="any",
        params=(
            Param(name="by", description="campaign, area, grid, building or stairwell"),
            Param(name="campaign", description="the campaign"),
        ),
        statuses=(200, 401, 403, 422),
    ),
    Operation(
        method="GET",
        path="/review-queue",
        name="review_queue",
        handler=get_review_queue,
        summary="Outside-list rows waiting for review (masked; unscoped principals only)",
        tag="derived",
        shape="any",
        params=(Param(name="list_id", description="only this outside list"),),
        statuses=(200, 401, 403),
    ),
    Operation(
        method="GET",
        path="/fhir",
        name="fhir_bundle",
        handler=get_fhir,
        summary="Everything in scope as one FHIR R4 Bundle",
        tag="fhir",
        shape="fhir",
        params=_FHIR_PARAMS,
        statuses=(200, 401, 403, 422),
    ),
    Operation(
        method="GET",
        path="/fhir/{type}",
        name="fhir_type",
        handler=get_fhir,
        summary="One FHIR resource type (Location, Group, Patient...) as a Bundle",
        tag="fhir",
        shape="fhir",
        params=_FHIR_PARAMS,
        statuses=(200, 401, 403, 422),
    ),
    Operation(
        method="GET",
        path="/reports/{kind}",
        name="report",
        handler=get_report,
        summary="A report (daily, progress, teams, linelist, household, person): JSON, HTML, XLSX",
        tag="reports",
        shape="report",
        params=(
            Param(name="area", description="the area (area reports)"),
            Param(name="day", description="the local day, ISO date"),
            Param(name="id", description="the household or person (file reports)"),
            Param(name="campaign", description="the campaign"),
            Param(
                name="format",
                description="json (default), or a reporter's name such as html or xlsx",
            ),
            Param(name="lang", description="en or zh-CN (default: Accept-Language)"),
            Param(
                name="unmask", description="names in clear (audited)", schema={"type": "boolean"}
            ),
        ),
        statuses=(200, 401, 403, 404, 406, 422),
    ),
)
"""Every route of the application."""
