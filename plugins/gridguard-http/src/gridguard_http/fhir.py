"""FHIR R4 export: the store's places, households, persons and their facts as one Bundle.

The mapping (docs/fhir.md has the table):

* areas, buildings and stairwells are ``Location`` resources whose
  ``partOf`` climbs community > grid > building > stairwell;
* a household is a ``Group`` of its persons (``actual``), placed in its
  stairwell by a characteristic;
* a person is a ``Patient``; the resident identity number is an identifier
  with the :data:`IDENTITY_SYSTEM` system; name, number, phone and birth
  date are masked (a birth date cut to its year) unless unmasked;
* a temperature (a health report's or a screening's) is an ``Observation``
  with LOINC 8310-5 and a UCUM ``Cel`` quantity, each symptom an
  ``Observation`` with LOINC 75325-1;
* a screening result (assessment) is a ``RiskAssessment`` with its rule set
  and version as the method and the rules that fired as notes;
* a follow-up is a ``Task``; a quarantine order a ``Flag`` over its period.

Everything is read through the workspace, so the principal's scope holds
and health details are exported only for roles that may read them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from gridguard import Workspace
from gridguard.errors import ValidationError
from gridguard.masking import mask_id_number, mask_name, mask_phone
from gridguard.model import (
    Area,
    Assessment,
    Building,
    HealthReport,
    Household,
    Person,
    QuarantineOrder,
    Screening,
    Stairwell,
    Task,
)
from gridguard.reporting.scope import UNMASK as REPORT_UNMASK
from gridguard.security.access import Verb

__all__ = [
    "IDENTITY_SYSTEM",
    "LOINC",
    "RESOURCE_TYPES",
    "UCUM",
    "bundle",
    "parse_since",
]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
IDENTITY_SYSTEM = "urn:gb11643:resident-id"
"""The identifier system of resident identity numbers (GB 11643-1999); override per export."""
GRIDGUARD_SYSTEM = "urn:gridguard:id"
"""The system of gridguard's own ids (suffixed with the record type)."""
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
RESOURCE_TYPES = (
    "Location",
    "Group",
    "Patient",
    "Observation",
    "RiskAssessment",
    "Task",
    "Flag",
)
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RISK = {"none": "negligible", "low": "low", "medium": "moderate", "high": "high"}
_TASK_STATUS = {"open": "requested", "done": "completed", "cancelled": "cancelled"}


def fhir_id(prefix: str, id: str) -> str:
    """A FHIR id for a gridguard id: ``prefix-id`` when that is a valid FHIR id, else a hash."""
    candidate = f"{prefix}-{id}"
    if _FHIR_ID.match(candidate):
        return candidate
    return f"{prefix}-" + hashlib.sha256(id.encode()).hexdigest()[:40]


def parse_since(text: str | None) -> dt.datetime | None:
    """``--since``: an ISO date (midnight UTC) or an aware date-time."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single("$.since", repr(text), "an ISO date or date-time") from None
    if value.tzinfo is None:
        raise ValidationError.single("$.since", repr(text), "needs a time zone")
    return value


def _ident(kind: str, id: str) -> dict[str, str]:
    return {"system": f"{GRIDGUARD_SYSTEM}:{kind}", "value": id}


def _ref(kind: str, prefix: str, id: str) -> dict[str, str]:
    return {"reference": f"{kind}/{fhir_id(prefix, id)}"}


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _location(
    record: Any, prefix: str, physical: str, parent: dict[str, str] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Location",
        "id": fhir_id(prefix, record.id),
        "identifier": [_ident(prefix, record.id)],
        "status": "active",
        "mode": "instance",
        "name": record.name,
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": physical}]},
    }
    if isinstance(record, Area):
        out["description"] = record.level.value
    if parent is not None:
        out["partOf"] = parent
    return out


def _patient(person: Person, *, masked: bool, system: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id("person", person.id),
        "identifier": [_ident("person", person.id)],
        "name": [{"text": mask_name(person.name) if masked else person.name}],
    }
    if person.resident_id is not None:
        number = str(person.resident_id)
        out["identifier"].append(
            {
                "use": "official",
                "system": system,
                "value": mask_id_number(number) if masked else number,
            }
        )
    if person.phone:
        out["telecom"] = [
            {"system": "phone", "value": mask_phone(person.phone) if masked else person.phone}
        ]
    if person.sex is not None:
        out["gender"] = person.sex.value
    if person.birth_date is not None:
        out["birthDate"] = str(person.birth_date.year) if masked else person.birth_date.isoformat()
    return out


def _group(household: Household, members: list[Person], *, masked: bool) -> dict[str, Any]:
    from .reads import plain

    address = plain(household, masked=masked)["address"]
    out: dict[str, Any] = {
        "resourceType": "Group",
        "id": fhir_id("household", household.id),
        "identifier": [_ident("household", household.id)],
        "type": "person",
        "actual": True,
        "name": address,
        "quantity": len(members),
        "characteristic": [
            {
                "code": {"text": "stairwell"},
                "valueReference": _ref("Location", "stairwell", household.stairwell_id),
                "exclude": False,
            }
        ],
    }
    if members:
        out["member"] = [{"entity": _ref("Patient", "person", p.id)} for p in members]
    return out


def _temperature(prefix: str, fact: Any, at: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": fhir_id(prefix, str(fact.id)),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": "8310-5", "display": "Body temperature"}],
            "text": "Body temperature",
        },
        "subject": _ref("Patient", "person", fact.person_id),
        "effectiveDateTime": _instant(at),
        "valueQuantity": {
            "value": fact.temperature,
            "unit": "Cel",
            "system": UCUM,
            "code": "Cel",
        },
    }


def _symptoms(prefix: str, fact: Any) -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Observation",
            "id": fhir_id(f"{prefix}-s{n}", str(fact.id)),
            "status": "final",
            "code": {
                "coding": [{"system": LOINC, "code": "75325-1", "display": "Symptom"}],
                "text": "Symptom",
            },
            "subject": _ref("Patient", "person", fact.person_id),
            "effectiveDateTime": _instant(fact.at),
            "valueCodeableConcept": {"text": symptom},
        }
        for n, symptom in enumerate(fact.symptoms)
    ]


def _risk(assessment: Assessment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": fhir_id("assessment", str(assessment.id)),
        "status": "final",
        "method": {
            "coding": [
                {
                    "system": f"{GRIDGUARD_SYSTEM}:rule-set",
                    "code": assessment.rule_set_id,
                    "version": assessment.rule_set_version,
                }
            ],
            "text": f"{assessment.rule_set_id} {assessment.rule_set_version}",
        },
        "subject": _ref("Patient", "person", assessment.person_id),
        "occurrenceDateTime": _instant(assessment.at),
        "prediction": [
            {
                "qualitativeRisk": {
                    "coding": [{"system": RISK_PROBABILITY, "code": _RISK[assessment.risk.value]}],
                    "text": assessment.risk.value,
                }
            }
        ],
    }
    if assessment.screening_id is not None:
        out["basis"] = [_ref("Observation", "screening", str(assessment.screening_id))]
    notes = [f"{f.rule_id} ({f.line}): {f.why}".strip() for f in assessment.fired]
    if notes:
        out["note"] = [{"text": n} for n in notes]
    return out


def _task(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Task",
        "id": fhir_id("task", task.id),
        "identifier": [_ident("task", task.id)],
        "status": _TASK_STATUS[task.status.value],
        "intent": "order",
        "code": {"text": task.kind.value},
        "for": (
            _ref("Patient", "person", task.person_id)
            if task.person_id
            else _ref("Group", "household", task.household_id)
        ),
        "restriction": {"period": {"end": _instant(task.due)}},
    }
    if task.note:
        out["description"] = task.note
    return out


def _flag(order: QuarantineOrder) -> dict[str, Any]:
    active = order.status.value == "active"
    return {
        "resourceType": "Flag",
        "id": fhir_id("quarantine", order.id),
        "identifier": [_ident("quarantine", order.id)],
        "status": "active" if active else "inactive",
        "code": {"text": f"{order.kind.value} quarantine"},
        "subject": (
            _ref("Patient", "person", order.person_id)
            if order.person_id
            else _ref("Group", "household", order.household_id)
        ),
        "period": {"start": order.start.isoformat(), "end": order.end.isoformat()},
    }


def _narrowed(ws: Workspace, area: str | None) -> Workspace:
    if area is None:
        return ws
    from .reads import Empty, narrowed
    from .routing import Call

    call = Call(
        principal=ws.principal, query={"area": area}, path={}, body=None, headers={}, lang="en"
    )
    try:
        return narrowed(ws, call)
    except Empty:
        raise ValidationError.single("$.area", repr(area), "no such area in scope") from None


def resources(
    ws: Workspace,
    *,
    area: str | None = None,
    since: dt.datetime | None = None,
    unmask: bool = False,
    identity_system: str = IDENTITY_SYSTEM,
    types: Iterable[str] = RESOURCE_TYPES,
) -> list[dict[str, Any]]:
    """The FHIR resources of everything the workspace's principal may read (in ``area``).

    Facts (observations, assessments) are those at or after ``since``;
    categories the role may not read are left out. ``unmask`` needs the
    same right as a report's (``report.unmask``) and is audited.
    """
    wanted = set(types)
    if unmask:
        ws.authorize(REPORT_UNMASK)
    source = _narrowed(ws, area)
    masked = not unmask
    out: list[dict[str, Any]] = []

    def readable(cls: type[Any]) -> bool:
        return source.guard.permitted(Verb.READ, cls)

    def recent(at: dt.datetime | None) -> bool:
        return since is None or (at is not None and at >= since)

    if "Location" in wanted and readable(Area):
        areas = sorted(source.find(Area), key=lambda a: (a.level.rank, a.id))
        known = {a.id for a in areas}
        for a in areas:
            parent = _ref("Location", "area", a.parent_id) if a.parent_id in known else None
            out.append(_location(a, "area", "jdn", parent))
        for b in sorted(source.find(Building), key=lambda b: b.id):
            out.append(_location(b, "building", "bu", _ref("Location", "area", b.area_id)))
        for s in sorted(source.find(Stairwell), key=lambda s: s.id):
            out.append(_location(s, "stairwell", "wi", _ref("Location", "building", s.building_id)))
    persons: list[Person] = []
    if ({"Group", "Patient"} & wanted) and readable(Person):
        persons = sorted(source.find(Person), key=lambda p: p.id)
    if "Group" in wanted and readable(Household):
        by_household: dict[str, list[Person]] = {}
        for p in persons:
            by_household.setdefault(p.household_id, []).append(p)
        for h in sorted(source.find(Household), key=lambda h: h.id):
            out.append(_group(h, by_household.get(h.id, []), masked=masked))
    if "Patient" in wanted:
        out += [_patient(p, masked=masked, system=identity_system) for p in persons]
    if "Observation" in wanted and readable(HealthReport):
        for r in sorted(source.find(HealthReport), key=lambda r: str(r.id)):
            if recent(r.at):
                if r.temperature is not None:
                    out.append(_temperature("report", r, r.at))
                out += _symptoms("report", r)
        for answer in sorted(source.find(Screening), key=lambda s: str(s.id)):
            if recent(answer.at):
                if answer.temperature is not None:
                    out.append(_temperature("screening", answer, answer.at))
                out += _symptoms("screening", answer)
    if "RiskAssessment" in wanted and readable(Assessment):
        out += [
            _risk(a)
            for a in sorted(source.find(Assessment), key=lambda a: str(a.id))
            if recent(a.at)
        ]
    if "Task" in wanted and readable(Task):
        out += [_task(t) for t in sorted(source.find(Task), key=lambda t: t.id)]
    if "Flag" in wanted and readable(QuarantineOrder):
        out += [_flag(o) for o in sorted(source.find(QuarantineOrder), key=lambda o: o.id)]
    return out


def bundle(
    ws: Workspace,
    *,
    area: str | None = None,
    since: dt.datetime | None = None,
    unmask: bool = False,
    base: str | None = None,
    identity_system: str = IDENTITY_SYSTEM,
    types: Iterable[str] = RESOURCE_TYPES,
) -> dict[str, Any]:
    """One ``collection`` Bundle of :func:`resources`; ``base`` makes each entry's ``fullUrl``."""
    found = resources(
        ws, area=area, since=since, unmask=unmask, identity_system=identity_system, types=types
    )
    entries = []
    for resource in found:
        entry: dict[str, Any] = {"resource": resource}
        if base is not None:
            entry["fullUrl"] = f"{base.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(dt.datetime.now(dt.UTC)),
        "meta": {
            "tag": [{"system": GRIDGUARD_SYSTEM, "code": "masked" if not unmask else "clear"}]
        },
        "entry": entries,
    }
