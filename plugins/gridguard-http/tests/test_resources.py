"""Resources: pages with cursors, filters by area and date, masking, ETags and If-Match, reports."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gridguard_http.app import Settings, create_app
from gridguard_http.auth import TokenStore
from http_world import DAY, bearer, build_store, local
from starlette.testclient import TestClient

import gridguard
from gridguard import LOCAL_ADMIN, Principal, Role
from gridguard.model import Visit

WORKER = Principal(name="王芳", role=Role.GRID_WORKER, area_id="g1")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = build_store(tmp_path / "s.db")
    with gridguard.open(url) as ws:
        ws.record(
            Visit(
                id=uuid.UUID(int=1000 + n),
                at=local(8, n, day=DAY - dt.timedelta(days=n % 3)),
                household_id=("h1", "h2", "h3")[n % 3],
                outcome="not_home",
            )
            for n in range(25)
        )
    tokens = tmp_path / "t.json"
    store = TokenStore(tokens)
    who = {
        "admin": store.create(LOCAL_ADMIN)[1],
        "worker": store.create(WORKER)[1],
        "volunteer": store.create(
            Principal(name="志愿者", role=Role.SERVICE_VOLUNTEER, area_id="c1")
        )[1],
    }
    app = create_app(Settings(db=url, tokens=str(tokens)))
    with TestClient(app) as client:
        yield client, who


def test_cursor_pages_cover_everything_once(world: tuple[TestClient, dict[str, str]]) -> None:
    client, who = world
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    pages = 0
    while True:
        page = client.get("/visits", params=params, headers=bearer(who["admin"]))
        assert page.status_code == 200
        body = page.json()
        seen += [v["id"] for v in body["items"]]
        pages += 1
        if body["next"] is None:
            assert "link" not in page.headers
            break
        assert 'rel="next"' in page.headers["link"]
        params = {"limit": 7, "cursor": body["next"]}
    assert pages == 4
    assert len(seen) == len(set(seen)) == 25
    assert seen == sorted(seen)


def test_filters_by_area_date_and_field(world: tuple[TestClient, dict[str, str]]) -> None:
    client, who = world
    admin = bearer(who["admin"])

    def ids(**params: Any) -> set[str]:
        got = client.get("/visits", params={"limit": 1000, **params}, headers=admin)
        assert got.status_code == 200, got.text
        return {v["household_id"] for v in got.json()["items"]}

    assert ids(area="c2") == {"h3"}
    assert ids(area="g1") == {"h1", "h2"}
    assert ids(household_id="h2") == {"h2"}
    day = client.get(
        "/visits",
        params={
            "since": "2020-01-29T16:00:00+00:00",
            "until": "2020-01-30T16:00:00+00:00",
            "limit": 1000,
        },
        headers=admin,
    )
    assert {v["id"] for v in day.json()["items"]} == {
        str(uuid.UUID(int=1000 + n)) for n in range(0, 25, 3)
    }
    # A worker's area filter outside her grid sees nothing, like an unknown area.
    worker = bearer(who["worker"])
    assert client.get("/visits", params={"area": "c2"}, headers=worker).json()["items"] == []
    assert client.get("/visits", params={"area": "nowhere"}, headers=worker).json()["items"] == []
    assert client.get("/visits", params={"colour": "red"}, headers=admin).status_code == 422


def test_persons_are_masked_unless_the_principal_may_unmask(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, who = world
    masked = client.get("/persons/p1", headers=bearer(who["worker"])).json()
    assert masked["name"] != "陈建国"
    assert masked["name"].startswith("陈")
    assert "*" in masked["resident_id"]
    assert len(masked["birth_date"]) == 4
    # Whoever may read persons may unmask them (audited), as with a report's unmask.
    unmask = {"unmask": "true"}
    clear = client.get("/persons/p1", params=unmask, headers=bearer(who["worker"])).json()
    assert clear["name"] == "陈建国"
    other = client.get("/persons/p4", params=unmask, headers=bearer(who["worker"]))
    assert other.status_code == 404
    household = client.get("/households/h1", headers=bearer(who["volunteer"])).json()
    assert household["phone"] != "13800138000"
    assert "*" in household["phone"]
    # A service volunteer reads households but not persons: she may not unmask them.
    refused = client.get("/households/h1", params=unmask, headers=bearer(who["volunteer"]))
    assert refused.status_code == 403


def test_registry_entries_carry_etags_and_need_if_match(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, who = world
    admin = bearer(who["admin"])
    got = client.get("/households/h2", params={"unmask": "true"}, headers=admin)
    etag = got.headers["etag"]
    changed = {**got.json(), "door": "202"}
    assert client.put("/households/h2", json=changed, headers=admin).status_code == 428
    done = client.put("/households/h2", json=changed, headers={**admin, "If-Match": etag})
    assert done.status_code == 200, done.text
    assert done.headers["etag"] != etag
    stale = client.put(
        "/households/h2", json={**changed, "door": "203"}, headers={**admin, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["etag"] == done.headers["etag"]
    assert client.get("/households/h2", headers=admin).json()["door"] == "202"
    # A worker cannot edit a household of another grid: answered as unknown.
    assert (
        client.put(
            "/households/h3", json=changed, headers={**bearer(who["worker"]), "If-Match": etag}
        ).status_code
        == 404
    )


def test_coverage_places_and_reports(world: tuple[TestClient, dict[str, str]]) -> None:
    client, who = world
    admin = bearer(who["admin"])
    coverage = client.get("/coverage", params={"by": "grid"}, headers=admin).json()["items"]
    assert {row["id"] for row in coverage} == {"g1", "g2"}
    areas = client.get("/areas", params={"parent_id": "east"}, headers=admin).json()["items"]
    assert {a["id"] for a in areas} == {"c1", "c2"}
    for kind in ("daily", "progress", "teams", "linelist"):
        got = client.get(
            f"/reports/{kind}", params={"area": "c1", "day": DAY.isoformat()}, headers=admin
        )
        assert got.status_code == 200, (kind, got.text)
        assert got.json()["kind"] == kind
    file = client.get("/reports/household", params={"id": "h1"}, headers=admin)
    assert file.status_code == 200
    html = client.get(
        "/reports/daily",
        params={"area": "c1", "day": DAY.isoformat(), "format": "html"},
        headers=admin,
    )
    try:
        import gridguard_html  # noqa: F401
    except ImportError:
        assert html.status_code == 406
    else:
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
    assert client.get("/reports/daily", params={"format": "pdf"}, headers=admin).status_code in (
        406,
        422,
    )


def test_service_requests_and_the_review_queue(
    world: tuple[TestClient, dict[str, str]],
) -> None:
    client, who = world
    request = {
        "id": str(uuid.uuid4()),
        "at": local(11).isoformat(),
        "household_id": "h1",
        "service": "groceries",
        "note": "大米",
    }
    volunteer = bearer(who["volunteer"])
    first = client.post("/service-requests", json=request, headers=volunteer)
    assert first.status_code == 201, first.text
    assert client.post("/service-requests", json=request, headers=volunteer).status_code == 200
    clash = client.post("/service-requests", json={**request, "note": "药"}, headers=volunteer)
    assert clash.status_code == 409
    assert clash.json()["stored"]["note"] == "大米"
    # h3 lies in the other community: answered as unknown.
    other = client.post(
        "/service-requests",
        json={**request, "id": str(uuid.uuid4()), "household_id": "h3"},
        headers=volunteer,
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["rule"] == "unknown household"
    listed = client.get("/service-requests", headers=volunteer).json()["items"]
    assert [r["id"] for r in listed] == [request["id"]]
    # The review queue reaches over the whole store: unscoped principals only.
    assert client.get("/review-queue", headers=bearer(who["admin"])).json() == {"items": []}
    assert client.get("/review-queue", headers=bearer(who["worker"])).status_code == 403
