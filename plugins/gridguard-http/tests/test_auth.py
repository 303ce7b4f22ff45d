"""Who is calling: tokens, a trusted gateway, the hook; scope exactly as in Python; audited."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import click
import gridguard_http
import pytest
from click.testing import CliRunner
from gridguard_http.app import Settings, create_app
from gridguard_http.auth import TokenStore, gateway_headers
from http_world import DOCTOR, bearer, build_store, local
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import gridguard
from gridguard import Principal, Role
from gridguard.model import Area, AreaLevel, Building, Household, Person, Stairwell

KEY = b"k" * 32


@pytest.fixture
def store(tmp_path: Path) -> str:
    return build_store(tmp_path / "s.db")


def client_for(url: str, tokens: Path, **kw: Any) -> TestClient:
    app = create_app(Settings(db=url, tokens=str(tokens), **kw))
    return TestClient(app, raise_server_exceptions=False)


def test_no_credentials_is_401_problem(store: str, tmp_path: Path) -> None:
    with client_for(store, tmp_path / "t.json") as client:
        got = client.get("/households")
    assert got.status_code == 401
    assert got.headers["content-type"] == "application/problem+json"
    assert got.headers["www-authenticate"].startswith("Bearer")
    assert got.json()["type"] == "/problems/unauthenticated"


def test_token_command_makes_a_hashed_token_that_works(store: str, tmp_path: Path) -> None:
    tokens = tmp_path / "t.json"
    cli = click.Group("gridguard")
    gridguard_http.register_commands(cli)
    run = CliRunner().invoke(
        cli,
        [
            "token",
            "create",
            "--db",
            store,
            "--tokens",
            str(tokens),
            "--role",
            "grid_worker",
            "--area",
            "g1",
        ],
    )
    assert run.exit_code == 0, run.output
    token = run.stdout.strip().splitlines()[0]
    assert token.startswith("ggt_")
    assert token not in tokens.read_text()  # only its hash is kept
    with client_for(store, tokens) as client:
        got = client.get("/households", headers=bearer(token))
        assert got.status_code == 200
        assert sorted(h["id"] for h in got.json()["items"]) == ["h1", "h2"]
        assert client.get("/households", headers=bearer(token + "x")).status_code == 401
    listing = CliRunner().invoke(cli, ["token", "list", "--db", store, "--tokens", str(tokens)])
    token_id = listing.stdout.split('"id": "')[1].split('"')[0]
    revoke = CliRunner().invoke(
        cli, ["token", "revoke", "--db", store, "--tokens", str(tokens), token_id]
    )
    assert revoke.exit_code == 0
    with client_for(store, tokens) as client:
        assert client.get("/households", headers=bearer(token)).status_code == 401


def test_gateway_mode_trusts_only_a_fresh_good_signature(store: str, tmp_path: Path) -> None:
    worker = Principal(name="王芳", role=Role.GRID_WORKER, area_id="g1")
    with client_for(store, tmp_path / "t.json", gateway_key=KEY) as client:
        good = gateway_headers(KEY, worker, "GET", "/households")
        got = client.get("/households", headers=good)
        assert got.status_code == 200
        assert sorted(h["id"] for h in got.json()["items"]) == ["h1", "h2"]
        forged = gateway_headers(b"x" * 32, worker, "GET", "/households")
        assert client.get("/households", headers=forged).status_code == 401
        other_path = gateway_headers(KEY, worker, "GET", "/persons")
        assert client.get("/households", headers=other_path).status_code == 401
        stale = gateway_headers(KEY, worker, "GET", "/households", now=time.time() - 3600)
        assert client.get("/households", headers=stale).status_code == 401
    # Without a key the gateway header is not trusted at all.
    with client_for(store, tmp_path / "t.json") as client:
        assert client.get("/households", headers=good).status_code == 401


class Campus:
    """An embedder's own authenticator: a header naming a building observer."""

    @gridguard.hookimpl
    def authenticate(self, credentials: Any) -> Principal | None:
        building = credentials.headers.get("x-campus-building")
        if building is None:
            return None
        return Principal(name="观察员", role=Role.BUILDING_OBSERVER, building_id=building)


def test_a_plugin_authenticates_through_the_hook_and_an_observer_sees_her_building(
    store: str, tmp_path: Path
) -> None:
    app = create_app(Settings(db=store, tokens=str(tmp_path / "t.json")), authenticators=[Campus()])
    with TestClient(app) as client:
        mine = {"X-Campus-Building": "b1"}
        assert [b["id"] for b in client.get("/buildings", headers=mine).json()["items"]] == ["b1"]
        assert client.get("/buildings/b1", headers=mine).status_code == 200
        other = client.get("/buildings/b2", headers=mine)
        unknown = client.get("/buildings/nope", headers=mine)
        assert other.status_code == unknown.status_code == 404
        # She files her own building's check-in, not another's (answered as an unknown building).
        checkin = {"id": str(uuid.uuid4()), "at": local(8).isoformat(), "observer_id": "p2"}
        assert (
            client.post(
                "/checkins", json={**checkin, "building_id": "b1"}, headers=mine
            ).status_code
            == 201
        )
        refused = client.post(
            "/checkins",
            json={**checkin, "id": str(uuid.uuid4()), "building_id": "b2"},
            headers=mine,
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["rule"] == "unknown building"
        # Nothing of the households is hers to read.
        assert client.get("/households", headers=mine).status_code == 403


def test_every_request_is_audited_with_its_principal_and_route(store: str, tmp_path: Path) -> None:
    from gridguard.security.audit import recent_entries

    tokens = tmp_path / "t.json"
    token = TokenStore(tokens).create(DOCTOR)[1]
    with client_for(store, tokens) as client:
        assert client.get("/areas", headers=bearer(token)).status_code == 200
        assert client.get("/households/h3", headers=bearer(token)).status_code == 404
    with gridguard.open(store) as ws:
        entries = recent_entries(ws, 10)
    mine = [e for e in entries if e.principal == DOCTOR.name]
    assert any(e.action == "http.read" and e.reason == "HTTP GET /areas" for e in mine)
    assert any(e.outcome == "denied" and "Household:h3" in e.target for e in mine)


# -- a grid's token cannot reach another grid: random place trees ---------------------------


@st.composite
def place_trees(draw: st.DrawFn) -> list[Any]:
    records: list[Any] = [Area(id="city", name="市", level=AreaLevel.CITY)]
    communities = draw(st.integers(1, 3))
    n = 0
    for c in range(communities):
        records.append(Area(id=f"c{c}", name="社区", level=AreaLevel.COMMUNITY, parent_id="city"))
        for g in range(draw(st.integers(1, 3))):
            grid = f"c{c}g{g}"
            records.append(Area(id=grid, name="网格", level=AreaLevel.GRID, parent_id=f"c{c}"))
            for b in range(draw(st.integers(0, 2))):
                building = f"{grid}b{b}"
                records.append(Building(id=building, area_id=grid, name="楼"))
                records.append(
                    Stairwell(
                        id=f"{building}s",
                        building_id=building,
                        name="1梯",
                        floors=3,
                        doors_per_floor=2,
                    )
                )
                for h in range(draw(st.integers(1, 2))):
                    n += 1
                    records.append(
                        Household(
                            id=f"h{n}",
                            stairwell_id=f"{building}s",
                            floor=1,
                            door=f"10{h}",
                            address=f"地址{n}",
                        )
                    )
                    records.append(Person(id=f"p{n}", household_id=f"h{n}", name="张三"))
    return records


def _grid_of(records: list[Any]) -> dict[str, str]:
    """Household and person id -> the grid it lies in."""
    stairwell_grid = {}
    building_grid = {r.id: r.area_id for r in records if isinstance(r, Building)}
    for r in records:
        if isinstance(r, Stairwell):
            stairwell_grid[r.id] = building_grid[r.building_id]
    out = {}
    for r in records:
        if isinstance(r, Household):
            out[r.id] = stairwell_grid[r.stairwell_id]
    for r in records:
        if isinstance(r, Person):
            out[r.id] = out[r.household_id]
    return out


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=place_trees(), pick=st.integers(0, 100))
def test_a_grid_token_reaches_nothing_of_another_grid(
    tree: list[Any], pick: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import datetime as dt

    from gridguard.model import Campaign

    folder = tmp_path_factory.mktemp("tree")
    url = f"sqlite:///{folder / 's.db'}"
    grids = [r.id for r in tree if isinstance(r, Area) and r.level is AreaLevel.GRID]
    mine = grids[pick % len(grids)]
    communities = [r.id for r in tree if isinstance(r, Area) and r.level is AreaLevel.COMMUNITY]
    with gridguard.open(url) as ws:
        ws.add(
            [
                *tree,
                Campaign(id="cmp", name="c", scope=tuple(communities), start=dt.date(2020, 1, 25)),
            ]
        )
    where = _grid_of(tree)
    tokens = folder / "t.json"
    token = TokenStore(tokens).create(Principal(name="w", role=Role.GRID_WORKER, area_id=mine))[1]
    with client_for(url, tokens) as client:
        auth = bearer(token)
        seen = {
            h["id"]
            for h in client.get("/households", headers=auth, params={"limit": 1000}).json()["items"]
        }
        assert seen == {k for k, g in where.items() if g == mine and k.startswith("h")}
        persons = {
            p["id"]
            for p in client.get("/persons", headers=auth, params={"limit": 1000}).json()["items"]
        }
        assert persons == {k for k, g in where.items() if g == mine and k.startswith("p")}
        unknown = client.get("/households/h-none", headers=auth)
        for key, grid in where.items():
            kind = "households" if key.startswith("h") else "persons"
            got = client.get(f"/{kind}/{key}", headers=auth)
            if grid == mine:
                assert got.status_code == 200
                continue
            # Out of scope answers exactly as an id that does not exist.
            assert got.status_code == unknown.status_code == 404
            assert got.json()["title"] == unknown.json()["title"]
            assert got.json()["detail"].replace(key, "X") == unknown.json()["detail"].replace(
                "h-none", "X"
            ).replace("Household", "Person" if kind == "persons" else "Household")
            if kind == "households":
                visit = {
                    "id": str(uuid.uuid4()),
                    "at": local(9).isoformat(),
                    "household_id": key,
                    "outcome": "not_home",
                }
                wrote = client.post("/visits", json=visit, headers=auth)
                never = client.post(
                    "/visits", json={**visit, "household_id": "h-none"}, headers=auth
                )
                assert wrote.status_code == never.status_code == 422
                assert wrote.json()["errors"][0]["rule"] == never.json()["errors"][0]["rule"]
    with gridguard.open(url) as ws:
        from gridguard.model import Visit

        stored = ws.find(Visit)
    assert all(where[v.household_id] == mine for v in stored)


class EntryPointStyle:
    """An authenticator loaded with the other plugins, before the hook is known."""

    @gridguard.hookimpl(optionalhook=True)
    def authenticate(self, credentials: Any) -> Principal | None:
        if credentials.headers.get("x-sso") != "ok":
            return None
        return Principal(name="单点登录", role=Role.GRID_WORKER, area_id="g2")


def test_an_authenticator_loaded_with_the_plugins_is_asked(store: str, tmp_path: Path) -> None:
    from gridguard.plugins import get_plugin_manager

    pm = get_plugin_manager(plugins=[EntryPointStyle()])
    app = create_app(Settings(db=store, tokens=str(tmp_path / "t.json")), plugin_manager=pm)
    with TestClient(app) as client:
        got = client.get("/households", headers={"X-SSO": "ok"})
        assert got.status_code == 200
        assert [h["id"] for h in got.json()["items"]] == ["h3"]
        assert client.get("/households", headers={"X-SSO": "no"}).status_code == 401
