"""Acceptance: a sweep day driven over HTTP against a live server equals the same day in Python."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_world import (
    DAY,
    DOCTOR,
    bearer,
    build_store,
    copy_store,
    live_server,
    local,
    make_token,
    without_time,
)

import gridguard
from gridguard.model import CheckIn, HealthReport, Screening, Visit
from gridguard.reporting import daily_report

V1, V2, V3, S1, C1, R1 = (uuid.UUID(int=n) for n in range(101, 107))


def visit_bodies() -> list[dict[str, Any]]:
    return [
        {
            "id": str(V1),
            "at": local(9).isoformat(),
            "household_id": "h1",
            "team_id": "t1",
            "outcome": "screened",
            "screenings": [
                {
                    "id": str(S1),
                    "at": local(9).isoformat(),
                    "person_id": "p2",
                    "temperature": 36.5,
                    "symptoms": [],
                }
            ],
        },
        {
            "id": str(V2),
            "at": local(9, 10).isoformat(),
            "household_id": "h2",
            "team_id": "t1",
            "outcome": "not_home",
        },
        {
            "id": str(V3),
            "at": local(15).isoformat(),
            "household_id": "h2",
            "channel": "phone",
            "outcome": "screened",
        },
    ]


CHECKIN = {"id": str(C1), "at": local(8).isoformat(), "building_id": "b1", "observer_id": "p2"}
REPORT = {"id": str(R1), "at": local(10).isoformat(), "person_id": "p1", "temperature": 38.1}


def drive_python(url: str) -> dict[str, Any]:
    """The same day through the Python API, for the same principal."""
    from gridguard.quarantine import record_reports
    from gridguard.serialization import from_dict
    from gridguard.sweep import Sweep, VisitRecord
    from gridguard.watch import record_checkins

    with gridguard.open(url, principal=DOCTOR) as ws:
        records = []
        for body in visit_bodies():
            data = dict(body)
            screenings = [from_dict(Screening, s) for s in data.pop("screenings", [])]
            records.append(VisitRecord(from_dict(Visit, data), screenings))
        assert not Sweep(ws).record(records).errors
        assert not record_checkins(ws, [from_dict(CheckIn, CHECKIN)]).errors
        record_reports(ws, [from_dict(HealthReport, REPORT)])
        return daily_report(ws, area="c1", day=DAY).to_dict("en")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("acceptance")
    base = folder / "base.db"
    build_store(base)
    return base, folder


def test_a_sweep_day_over_http_equals_the_python_api(stores: tuple[Path, Path]) -> None:
    base, folder = stores
    expected = drive_python(copy_store(base, folder / "python.db"))
    url = copy_store(base, folder / "http.db")
    tokens = folder / "tokens.json"
    token = make_token(url, tokens, DOCTOR)
    with (
        live_server(url, tokens) as server,
        httpx.Client(base_url=server, headers=bearer(token)) as client,
    ):
        visits = client.post("/visits", json=visit_bodies())
        assert visits.status_code == 201, visits.text
        assert visits.json()["visits"] == {"written": 3, "unchanged": 0}
        assert visits.json()["screenings"] == {"written": 1, "unchanged": 0}
        checkin = client.post("/checkins", json=CHECKIN)
        assert checkin.status_code == 201, checkin.text
        report = client.post("/health-reports", json=REPORT)
        assert report.status_code == 201, report.text
        assert report.json()["referrals"] == 1

        # A retried POST stores once: the same facts again are 200, nothing written.
        again = client.post("/visits", json=visit_bodies())
        assert again.status_code == 200, again.text
        assert again.json()["visits"] == {"written": 0, "unchanged": 3}
        assert client.post("/checkins", json=CHECKIN).status_code == 200
        assert client.post("/health-reports", json=REPORT).status_code == 200

        daily = client.get(
            "/reports/daily", params={"area": "c1", "day": DAY.isoformat(), "lang": "en"}
        )
        assert daily.status_code == 200, daily.text
        got = daily.json()
    assert without_time(got) == without_time(expected)
    figures = {
        item["key"]: item["value"]
        for section in got["sections"]
        for block in section["blocks"]
        if block["type"] == "figures"
        for item in block["items"]
    }
    # The day's facts are all there: three visits, the check-in, the fever's referral and alert.
    assert figures["visits"] == 3
    assert figures["households_visited"] == 2
    assert figures["checkins"] == 1
    assert figures["quarantine_active"] == 1
    assert figures["tasks_open"] == 1
    assert figures["alerts"] == 1


def test_the_same_id_with_other_content_is_409_with_the_stored_version(
    stores: tuple[Path, Path],
) -> None:
    base, folder = stores
    url = copy_store(base, folder / "conflict.db")
    tokens = folder / "tokens-conflict.json"
    token = make_token(url, tokens, DOCTOR)
    with (
        live_server(url, tokens) as server,
        httpx.Client(base_url=server, headers=bearer(token)) as client,
    ):
        first = visit_bodies()[1]
        assert client.post("/visits", json=first).status_code == 201
        other = {**first, "outcome": "refused"}
        clash = client.post("/visits", json=other)
        assert clash.status_code == 409, clash.text
        assert clash.headers["content-type"] == "application/problem+json"
        body = clash.json()
        assert body["status"] == 409
        assert body["type"] == "/problems/conflict"
        assert body["stored"]["id"] == first["id"]
        assert body["stored"]["outcome"] == "not_home"
        assert body["errors"][0]["path"] == "$.id"
        # Nothing changed: the stored visit is still the first one.
        stored = client.get(f"/visits/{first['id']}")
        assert stored.status_code == 200
        assert stored.json()["outcome"] == "not_home"
        # Health reports and check-ins: a conflict names the stored version too.
        assert client.post("/checkins", json=CHECKIN).status_code == 201
        moved = client.post("/checkins", json={**CHECKIN, "at": local(8, 30).isoformat()})
        assert moved.status_code == 409
        assert moved.json()["stored"]["at"].startswith("2020-01-30T00:00")
        assert client.post("/health-reports", json=REPORT).status_code == 201
        hotter = client.post("/health-reports", json={**REPORT, "temperature": 39.0})
        assert hotter.status_code == 409
        assert hotter.json()["stored"]["temperature"] == 38.1
