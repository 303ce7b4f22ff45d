"""Reading: pages and single records of a stored class, masked unless unmasked.

A :class:`Collection` exposes a stored class as ``/name`` (a page, in id
order, with a cursor) and ``/name/{id}``; registry entries also carry an
``ETag`` and take ``PUT`` with ``If-Match``. Everything is read through
:meth:`Workspace.find <gridguard.Workspace.find>` and
:meth:`~gridguard.Workspace.get`, so the caller's scope holds; an id outside
it is answered as one that does not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import attrs

from gridguard import Workspace
from gridguard.errors import AccessDenied, ConflictError, NotFoundError, ValidationError
from gridguard.masking import mask_id_number, mask_name, mask_phone, mask_text
from gridguard.model import (
    Area,
    Building,
    Campaign,
    Household,
    Person,
    Stairwell,
    Team,
)
from gridguard.security.access import Verb
from gridguard.serialization import from_dict, to_dict

from .problems import Problem
from .routing import DEFAULT_LIMIT, MAX_LIMIT, UNMASK, Call, Operation, Param, Reply

__all__ = ["MASKS", "Collection", "Empty", "exists", "narrowed", "not_found", "plain"]


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


def _fact_cursor(after: str) -> str:
    """A fact's cursor is the last UUID read; anything else is not a cursor of this API."""
    try:
        return str(uuid.UUID(after))
    except ValueError:
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
        return bool(ws.in_scope(Area, {area_id})) and exists(ws, Area, area_id)
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


def exists(ws: Workspace, cls: type[Any], id: str) -> bool:
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
        raise Empty
    return ws.narrow(area)


class Empty(Exception):
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
        except Empty:
            return Reply(200, {"items": [], "next": None})
        if (since is not None or until is not None) and not self.is_fact:
            return Reply(200, {"items": [], "next": None})
        if after is not None and self.is_fact:
            after = _fact_cursor(after)
        page = source.page(self.cls, after=after, limit=limit, since=since, until=until, **where)
        chunk = page.items
        cursor = None if page.next is None else _encode_cursor(page.next)
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
            raise not_found(self.cls, id) from None

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


def not_found(cls: type[Any], id: str) -> Problem:
    return Problem("not-found", f"no {cls.__name__} {id!r} here", f"此处没有 {cls.__name__} {id!r}")
