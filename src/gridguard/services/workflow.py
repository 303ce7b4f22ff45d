"""Service requests of quarantined households, from asking to done.

Only a household with someone under an active quarantine order (on the
request's local day) may ask; anything else is a
:class:`~gridguard.errors.ValidationError` and nothing is stored. A request
is due by its latest assignment's ``due``, or, unassigned, the policy's
``service_due_hours`` after it was made; open past that, it is overdue.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConflictError, NotFoundError, ValidationError
from ..masking import mask_id_number, mask_phone
from ..model import Household, Person, ServiceKind, ServiceRequest, Team, TeamKind
from ..model.assessments import stable_id
from ..model.quarantine import QuarantinePolicy
from ..model.services import ServiceAssignment, ServiceCompletion
from ..quarantine._db import instant, policy_for, sql_for
from ..quarantine.reports import covering, orders_for_households

if TYPE_CHECKING:
    from ..notifications.settings import NotifySettings
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = [
    "OpenRequest",
    "assign_service",
    "complete_service",
    "open_requests",
    "overdue",
    "request_service",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_service(
    ws: Workspace,
    *,
    household_id: str,
    service: ServiceKind | str,
    note: str = "",
    at: dt.datetime | None = None,
    recorded_by: str | None = None,
    id: uuid.UUID | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
    notify: NotifySettings | None = None,
) -> ServiceRequest:
    """Record a request from a quarantined household (a retry with the same ``id`` is a no-op).

    The household's grid worker and team leader are told (topic
    ``service_request``, routed with ``notify``, by default the workspace's
    configuration), in the same transaction. Needs the ``service.request``
    operation on the household (a service volunteer, a grid worker, the
    community).
    """
    request = ServiceRequest(
        id=id or uuid.uuid4(),
        at=at or _now(),
        household_id=household_id,
        service=service,
        note=note,
        recorded_by=recorded_by,
    )
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        ws.authorize_known("service.request", Household, [household_id])  # unknown = outside
        household = uow.get(Household, household_id)
        if household is None:
            raise ValidationError.single("$.household_id", repr(household_id), "no such household")
        day = pol.local_date(request.at)
        orders = orders_for_households(ws, uow, [household_id]).get(household_id, [])
        if covering(orders, None, day) is None:
            raise ValidationError.single(
                "$.household_id",
                repr(household_id),
                f"nobody in it is under an active quarantine order on {day.isoformat()}",
            )
        saved = uow.save_facts(ServiceRequest, [request])
        if saved.written:
            _tell(ws, uow, request, notify, campaign_id)
    return request


def _tell(
    ws: Workspace,
    uow: UnitOfWork,
    request: ServiceRequest,
    notify: NotifySettings | None,
    campaign_id: str | None,
) -> None:
    """Route the request to who serves the household (one message per holder and channel)."""
    from ..notifications.config import settings_for
    from ..notifications.routing import Event, Router

    router = Router.for_workspace(ws, settings_for(ws, notify, campaign_id=campaign_id))
    event = Event(
        topic="service_request",
        key=str(request.id),
        at=request.at,
        household_id=request.household_id,
        values={"service": request.service.value, "note": mask_numbers(request.note)},
    )
    router.notify(uow, [event])


def _request(
    ws: Workspace, uow: UnitOfWork, request_id: uuid.UUID | str, action: str
) -> ServiceRequest:
    """The request ``request_id``, once ``action`` is allowed on it (unknown looks like outside)."""
    ws.authorize_known(action, ServiceRequest, [str(request_id)])
    found = uow.get(ServiceRequest, str(request_id))
    if found is None:
        raise NotFoundError(f"no ServiceRequest with id {str(request_id)!r}")
    return found


def _completion_id(request_id: uuid.UUID) -> uuid.UUID:
    return stable_id("service-completion", str(request_id))


def assign_service(
    ws: Workspace,
    request_id: uuid.UUID | str,
    *,
    team_id: str | None = None,
    person_id: str | None = None,
    due: dt.datetime | None = None,
    at: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> ServiceAssignment:
    """Give an open request to a service team or a person, due at ``due``.

    The default due time is the policy's ``service_due_hours`` after the
    request. A team that is not a service team, an unknown person or a
    request already done is refused. Needs ``service.assign`` on the
    request (read and write access to service records, in scope); a person
    outside the scope is as good as unknown.
    """
    at = at or _now()
    with ws._transaction() as uow:
        pol = policy_for(uow, campaign_id, policy)
        request = _request(ws, uow, request_id, "service.assign")
        if uow.existing_ids(ServiceCompletion, {str(_completion_id(request.id))}):
            raise ConflictError(f"service request {request.id} is already done")
        if team_id is not None:
            team = uow.get(Team, team_id)
            if team is None:
                raise ValidationError.single("$.team_id", repr(team_id), "no such team")
            if team.kind is not TeamKind.SERVICE:
                raise ValidationError.single(
                    "$.team_id", repr(team_id), f"must be a service team (is {team.kind.value})"
                )
        if person_id is not None and (
            not ws.in_scope(Person, [person_id]) or uow.get(Person, person_id) is None
        ):
            raise ValidationError.single("$.person_id", repr(person_id), "no such person")
        due = due or request.at + dt.timedelta(hours=pol.service_due_hours)
        assignment = ServiceAssignment(
            id=stable_id("service-assignment", str(request.id), team_id, person_id, due),
            at=at,
            request_id=request.id,
            household_id=request.household_id,
            team_id=team_id,
            person_id=person_id,
            due=due,
        )
        stored = uow.get(ServiceAssignment, str(assignment.id))
        if stored is not None:
            return stored
        uow.save_facts(ServiceAssignment, [assignment])
    return assignment


def complete_service(
    ws: Workspace,
    request_id: uuid.UUID | str,
    *,
    note: str = "",
    at: dt.datetime | None = None,
    recorded_by: str | None = None,
) -> ServiceCompletion:
    """Record that a request was fulfilled; a request is done once (``service.done``)."""
    with ws._transaction() as uow:
        request = _request(ws, uow, request_id, "service.done")
        ident = _completion_id(request.id)
        if uow.existing_ids(ServiceCompletion, {str(ident)}):
            raise ConflictError(f"service request {request.id} is already done")
        done = ServiceCompletion(
            id=ident,
            at=at or _now(),
            request_id=request.id,
            household_id=request.household_id,
            note=note,
            recorded_by=recorded_by,
        )
        if done.at < request.at:
            raise ValidationError.single(
                "$.at", done.at.isoformat(), "must not be before the request"
            )
        uow.save_facts(ServiceCompletion, [done])
    return done


@attrs.frozen
class OpenRequest:
    """A request not done yet: whom it is assigned to (if anyone) and when it is due."""

    request_id: str
    household_id: str
    service: str
    note: str
    at: dt.datetime
    due: dt.datetime
    team_id: str | None
    person_id: str | None

    def as_dict(self, *, unmask: bool = False) -> dict[str, Any]:
        """The request as JSON-ready values; phone and identity numbers written into the
        note are masked unless ``unmask`` (what to buy stays readable)."""
        out = attrs.asdict(self)
        out["at"], out["due"] = self.at.isoformat(), self.due.isoformat()
        if not unmask:
            out["note"] = mask_numbers(self.note)
        return out


_NUMBER = re.compile(r"\+?\d[\d -]{9,}[\dXx]")
"""A run of digits long enough to be a phone or an identity number (spaces and dashes inside)."""


def mask_numbers(text: str) -> str:
    """``text`` with every phone or identity number in it masked (a free-text note)."""

    def masked(match: re.Match[str]) -> str:
        found = match.group(0)
        digits = re.sub(r"[ -]", "", found)
        return mask_id_number(digits) if len(digits) >= 15 else mask_phone(digits, national=True)

    return _NUMBER.sub(masked, text)


_OPEN_SQL = """
SELECT r.id, r.household_id, r.service, r.note, r.at, a.due, a.team_id, a.person_id
FROM service_requests r
LEFT JOIN service_assignments a ON a.id = (
    SELECT a2.id FROM service_assignments a2 WHERE a2.request_id = r.id
    ORDER BY a2.at DESC, a2.id DESC LIMIT 1
)
WHERE NOT EXISTS (SELECT 1 FROM service_completions c WHERE c.request_id = r.id)
"""


def open_requests(
    ws: Workspace,
    *,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> list[OpenRequest]:
    """Every request without a completion, oldest first, with its due time.

    Needs ``service.read``; only requests in the principal's scope are listed.
    """
    ws.authorize("service.read")
    with ws._transaction(write=False) as uow:
        pol = policy_for(uow, campaign_id, policy)
        default = dt.timedelta(hours=pol.service_due_hours)
        sql = sql_for(ws)
        out: list[OpenRequest] = []
        if sql is None:
            done = {str(c.request_id) for c in uow.find(ServiceCompletion)}
            latest: dict[str, ServiceAssignment] = {}
            for a in uow.find(ServiceAssignment):
                key = str(a.request_id)
                if key not in latest or (a.at, str(a.id)) > (latest[key].at, str(latest[key].id)):
                    latest[key] = a
            for r in uow.find(ServiceRequest):
                if str(r.id) in done:
                    continue
                got = latest.get(str(r.id))
                out.append(
                    OpenRequest(
                        str(r.id),
                        r.household_id,
                        r.service.value,
                        r.note,
                        r.at,
                        got.due if got else r.at + default,
                        got.team_id if got else None,
                        got.person_id if got else None,
                    )
                )
        else:
            for rid, hid, service, note, at, due, team, person in uow.query(sql.text(_OPEN_SQL)):
                made = instant(at)
                assert made is not None
                out.append(
                    OpenRequest(
                        str(rid),
                        str(hid),
                        str(service),
                        str(note),
                        made,
                        instant(due) or made + default,
                        team,
                        person,
                    )
                )
    inside = ws.in_scope(ServiceRequest, {o.request_id for o in out})
    return sorted((o for o in out if o.request_id in inside), key=lambda o: (o.at, o.request_id))


def overdue(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    campaign_id: str | None = None,
    policy: QuarantinePolicy | None = None,
) -> list[OpenRequest]:
    """Open requests whose due time is before ``now``, most overdue first."""
    now = now or _now()
    late = [o for o in open_requests(ws, campaign_id=campaign_id, policy=policy) if o.due < now]
    return sorted(late, key=lambda o: (o.due, o.request_id))
