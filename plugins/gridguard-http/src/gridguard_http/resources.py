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

from collections.abc import Callable
from typing import Any

from gridguard import Workspace
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

from .derived import get_coverage, get_fhir, get_report, get_review_queue
from .reads import Collection, plain
from .routing import Call, Operation, Param, Reply
from .writes import post_checkins, post_health_reports, post_service_requests, post_visits

__all__ = [
    "COLLECTIONS",
    "OPERATIONS",
    "Call",
    "Collection",
    "Operation",
    "Param",
    "Reply",
    "plain",
]

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
