"""FHIR R4 export: mapping, masking and scope, the command, the routes; checked by FHIR models.

Every Bundle is validated twice:

- against FHIR R4 4.0.1, the version the export declares, with the models
  of ``fhirclient`` 4.x (generated from the 4.0.1 StructureDefinitions):
  each element must exist in its resource at 4.0.1 with its type and
  cardinality, required elements present, dates in their format;
- with ``fhir.resources``' R4B models (4.3), which also check the pattern
  of every primitive (``id``, ``code``, ``uri``...) that fhirclient leaves
  unchecked. For the elements exported here R4B and R4 agree.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import click
import gridguard_http
import pytest
from click.testing import CliRunner
from gridguard_http.app import Settings, create_app
from gridguard_http.auth import TokenStore
from gridguard_http.fhir import IDENTITY_SYSTEM, bundle
from http_world import DOCTOR, bearer, build_store, local
from starlette.testclient import TestClient

import gridguard
from gridguard import Principal, Role
from gridguard.model import HealthReport, Screening

R4B = pytest.importorskip("fhir.resources.R4B.bundle")
R4 = pytest.importorskip("fhirclient.models.bundle")


def validated(data: dict[str, Any]) -> Any:
    """The Bundle parsed by the FHIR R4 (4.0.1) and R4B models (raises on any invalid element)."""
    r4 = R4.Bundle(data, strict=True)
    assert len(r4.entry or []) == len(data.get("entry", []))
    for entry, parsed in zip(data.get("entry", []), r4.entry or [], strict=True):
        assert type(parsed.resource).__name__ == entry["resource"]["resourceType"]
    return R4B.Bundle.model_validate(data)


def test_the_r4_models_refuse_what_r4_does_not_have() -> None:
    """The 4.0.1 check has teeth: an unknown element, a missing required one, a bad date."""
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1990-01-02"}
    observation = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {}}
    bad = [
        {**patient, "shoeSize": 42},
        {**patient, "birthDate": "1990-13-45"},
        {k: v for k, v in observation.items() if k != "status"},
    ]
    validated({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]})
    for resource in bad:
        with pytest.raises(FHIRValidationError):
            R4.Bundle(
                {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]},
                strict=True,
            )


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
        for e in data["entry"]
    }


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = build_store(tmp_path / "s.db")
    with gridguard.open(url) as ws:
        ws.record(
            [
                Screening(
                    id=uuid.UUID(int=7),
                    at=local(9),
                    person_id="p1",
                    temperature=37.9,
                    symptoms=("cough",),
                ),
                HealthReport(id=uuid.UUID(int=8), at=local(10), person_id="p1", temperature=38.2),
            ]
        )
    return url


def test_the_mapping(store: str) -> None:
    with gridguard.open(store) as ws:
        data = bundle(ws, unmask=True)
    model = validated(data)
    assert model.type == "collection"
    found = by_id(data)
    # The place tree: community > grid > building > stairwell, by partOf.
    assert found["Location/stairwell-s1"]["partOf"]["reference"] == "Location/building-b1"
    assert found["Location/building-b1"]["partOf"]["reference"] == "Location/area-g1"
    assert found["Location/area-g1"]["partOf"]["reference"] == "Location/area-c1"
    # A household is a group of its persons.
    group = found["Group/household-h1"]
    assert {m["entity"]["reference"] for m in group["member"]} == {
        "Patient/person-p1",
        "Patient/person-p2",
    }
    assert group["actual"] is True
    # The identity number with the GB 11643 system.
    patient = found["Patient/person-p1"]
    [number] = [i for i in patient["identifier"] if i["system"] == IDENTITY_SYSTEM]
    with gridguard.open(store) as ws:
        assert number["value"] == str(ws.get(gridguard.Person, "p1").resident_id)
    # Temperatures: LOINC 8310-5 in UCUM Cel; symptoms as their own observations.
    temperature = found[f"Observation/report-{uuid.UUID(int=8)}"]
    assert temperature["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "8310-5",
        "display": "Body temperature",
    }
    assert temperature["valueQuantity"] == {
        "value": 38.2,
        "unit": "Cel",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    symptoms = [
        r
        for r in found.values()
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "75325-1"
    ]
    assert [s["valueCodeableConcept"]["text"] for s in symptoms] == ["cough"]
    # The quarantine order is a flag; the fever's referral (none yet) would be a task.
    flags = [r for r in found.values() if r["resourceType"] == "Flag"]
    assert len(flags) == 1
    assert flags[0]["subject"]["reference"] == "Patient/person-p1"


def test_masked_unless_unmasked(store: str) -> None:
    with gridguard.open(store) as ws:
        masked = by_id(bundle(ws))
        person = ws.get(gridguard.Person, "p1")
    patient = masked["Patient/person-p1"]
    text = json.dumps(patient, ensure_ascii=False)
    assert person.name not in text
    assert str(person.resident_id) not in text
    assert patient["birthDate"] == str(person.birth_date.year)
    validated({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]})


def test_scope_and_role_hold(store: str) -> None:
    worker = Principal(name="王芳", role=Role.GRID_WORKER, area_id="g1")
    with gridguard.open(store, principal=worker) as ws:
        data = bundle(ws)
    kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
    # No health details for a grid worker, and nothing of the other community.
    assert "Observation" not in kinds
    assert "Flag" not in kinds
    assert "Patient/person-p4" not in by_id(data)
    assert "Group/household-h3" not in by_id(data)
    validated(data)
    volunteer = Principal(name="志愿者", role=Role.SERVICE_VOLUNTEER, area_id="c1")
    with gridguard.open(store, principal=volunteer) as ws:
        kinds = Counter(e["resource"]["resourceType"] for e in bundle(ws)["entry"])
        assert kinds["Group"] == 2
        assert "Patient" not in kinds
        with pytest.raises(gridguard.AccessDenied):
            bundle(ws, unmask=True)


def test_the_export_command(store: str, tmp_path: Path) -> None:
    cli = click.Group("gridguard")
    gridguard_http.register_commands(cli)
    out = tmp_path / "b.json"
    run = CliRunner().invoke(
        cli, ["export", "fhir", "--db", store, "--area", "c2", "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    data = json.loads(out.read_text())
    validated(data)
    assert set(by_id(data)) >= {"Patient/person-p4", "Group/household-h3", "Location/area-c2"}
    assert "Patient/person-p1" not in by_id(data)
    since = CliRunner().invoke(cli, ["export", "fhir", "--db", store, "--since", "2020-01-31"])
    assert since.exit_code == 0
    assert not [
        e
        for e in json.loads(since.stdout)["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]


def test_the_routes(store: str, tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    token = TokenStore(tokens).create(DOCTOR)[1]
    with TestClient(create_app(Settings(db=store, tokens=str(tokens)))) as client:
        whole = client.get("/fhir", headers=bearer(token))
        patients = client.get("/fhir/Patient", headers=bearer(token))
        wrong = client.get("/fhir/Nope", headers=bearer(token))
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("application/fhir+json")
    validated(whole.json())
    assert {e["resource"]["resourceType"] for e in patients.json()["entry"]} == {"Patient"}
    assert patients.json()["entry"][0]["fullUrl"].startswith("http://testserver/fhir/Patient/")
    assert wrong.status_code == 422


@pytest.mark.slow
def test_the_demo_community_validates(tmp_path: Path) -> None:
    from demo_store import huayuan  # the suite's demo, built once per test process

    _, folder = huayuan()
    copy = tmp_path / "huayuan.db"  # a copy: the export's audit entries stay out of the demo's
    shutil.copyfile(folder / "huayuan.db", copy)
    with gridguard.open(copy) as ws:
        data = bundle(ws)
    kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
    assert kinds["Group"] == 4227
    assert kinds["Patient"] == 10951
    assert kinds["Observation"] > 0
    assert kinds["RiskAssessment"] > 0
    assert kinds["Task"] > 0
    model = validated(data)
    assert len(model.entry) == len(data["entry"])
